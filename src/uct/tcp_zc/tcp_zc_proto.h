/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_PROTO_H
#define UCT_TCP_ZC_PROTO_H

#include <ucs/sys/compiler_def.h>
#include <ucs/type/status.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>


/*
 * Wire protocol of a tcp_zc connection.
 *
 * The connecting side starts with a hello which identifies it (protocol,
 * version, its own iface address), sent with its first request so that an
 * idle connection wakes nobody up. Then requests: active messages, PUT
 * (header + data written to the target memory), GET requests and keepalive
 * probes. The accepting side answers on the same socket, in request order:
 * one PUT acknowledgement per PUT once its data is in the target memory, and
 * one GET response (header + data) per GET request.
 *
 * Every message starts with uct_tcp_zc_hdr_t; PUT and GET carry a second,
 * type-specific header. All fields are in host byte order: both sides of a
 * connection run on the same architecture (UCX does not mix byte orders).
 */


/* Protocol version, carried in the hello and in every message header */
#define UCT_TCP_ZC_VERSION 1
#define UCT_TCP_ZC_MAGIC   0x317a6370637475ull /* "utcpcz1" */


typedef enum {
    UCT_TCP_ZC_MSG_AM       = 1, /* active message, payload = user data */
    UCT_TCP_ZC_MSG_PUT      = 2, /* put header + data */
    UCT_TCP_ZC_MSG_PUT_ACK  = 3, /* data of one PUT is in target memory */
    UCT_TCP_ZC_MSG_GET_REQ  = 4, /* get header */
    UCT_TCP_ZC_MSG_GET_RESP = 5, /* data of one GET */
    UCT_TCP_ZC_MSG_KEEPALIVE = 6, /* no payload, no answer */
    UCT_TCP_ZC_MSG_LAST
} uct_tcp_zc_msg_type_t;


/* First bytes of a connection, from the connecting side */
typedef struct UCS_S_PACKED uct_tcp_zc_hello {
    uint64_t magic;     /* UCT_TCP_ZC_MAGIC */
    uint8_t  version;   /* UCT_TCP_ZC_VERSION */
    uint8_t  sa_family; /* address family of the connecting iface */
    uint16_t port;      /* listener port of the connecting iface, network order */
    uint32_t reserved;
    uint8_t  addr[16];  /* IP address of the connecting iface */
} uct_tcp_zc_hello_t;


/* Header of every message */
typedef struct UCS_S_PACKED uct_tcp_zc_hdr {
    uint8_t  type;    /* uct_tcp_zc_msg_type_t */
    uint8_t  am_id;   /* active message id, 0 for other types */
    uint8_t  version; /* UCT_TCP_ZC_VERSION */
    uint8_t  reserved;
    uint32_t length;  /* bytes of data which follow the header(s) */
} uct_tcp_zc_hdr_t;


/* Follows uct_tcp_zc_hdr_t of PUT and GET_REQ */
typedef struct UCS_S_PACKED uct_tcp_zc_rma_hdr {
    uint64_t address; /* target address */
    uint64_t key;     /* registration key from the rkey */
    uint64_t length;  /* GET_REQ: bytes requested; PUT: equal to hdr.length */
} uct_tcp_zc_rma_hdr_t;


/* Largest data length of one PUT, GET or GET response */
#define UCT_TCP_ZC_RMA_MAX_LENGTH (1ul << 30)


/*
 * Largest number of PUT and GET requests which one connection may have
 * without an answer: a requester waits for answers before it sends more, so
 * the target reads requests at all times and holds a bounded number of
 * answers for a peer which does not read them.
 */
#define UCT_TCP_ZC_RMA_OUTSTANDING_MAX 1024

#endif
