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
 * One TCP connection per pair of endpoints carries both directions: each
 * side sends requests (active messages, PUT: header + data written to the
 * target memory, GET requests, keepalive probes) and answers the peer's
 * requests on the same socket, in request order: one PUT acknowledgement per
 * PUT once its data is in the target memory, and one GET response (header +
 * data) per GET request; an access to memory which is not registered (any
 * more) is answered with an error instead, which fails that operation only.
 *
 * The connecting side starts with a hello which identifies it (protocol,
 * version, its own iface address, the connection id which both sides match
 * their endpoints with); the accepting side answers with a hello of its own
 * whose status accepts the connection or refuses it (another protocol
 * version; or two endpoints which connected to each other at once, where the
 * connection of the side with the lower address stays). Requests follow only
 * once the connection is accepted.
 *
 * An iface with device memory TCP receive (devmem) has a data port too, which
 * its hello names, and the NIC steers every connection to it into device
 * memory: a peer which sends it PUT data or GET responses from or to device
 * memory opens one data connection per connection to that port, says so on
 * the connection (DATA_CONN, with the data connection's source port), and
 * sends those data on it, in the order of their headers on the connection,
 * where a header flag says that the data come on the data connection. A data
 * connection carries such data only: with header split the NIC puts all of
 * its payload into device memory, where this side cannot parse headers.
 *
 * Every message starts with uct_tcp_zc_hdr_t; PUT, GET and DATA_CONN carry a
 * second, type-specific header. All fields are in host byte order: both sides of a
 * connection run on the same architecture (UCX does not mix byte orders).
 */


/* Protocol version, carried in the hello and in every message header */
#define UCT_TCP_ZC_VERSION 3
#define UCT_TCP_ZC_MAGIC   0x317a6370637475ull /* "utcpcz1" */


typedef enum {
    UCT_TCP_ZC_MSG_AM        = 1, /* active message, payload = user data */
    UCT_TCP_ZC_MSG_PUT       = 2, /* put header + data */
    UCT_TCP_ZC_MSG_PUT_ACK   = 3, /* data of one PUT is in target memory */
    UCT_TCP_ZC_MSG_GET_REQ   = 4, /* get header */
    UCT_TCP_ZC_MSG_GET_RESP  = 5, /* data of one GET */
    UCT_TCP_ZC_MSG_KEEPALIVE = 6, /* no payload, no answer */
    UCT_TCP_ZC_MSG_RMA_ERROR = 7, /* answer to a PUT or GET which touched
                                     no registered memory: no data */
    UCT_TCP_ZC_MSG_EP_CLOSED = 8, /* the sender has no endpoint on this
                                     connection any more: no more requests
                                     from it, it still answers */
    UCT_TCP_ZC_MSG_DATA_CONN = 9, /* data connection header: the sender's
                                     data connection to the receiver's data
                                     port; no answer */
    UCT_TCP_ZC_MSG_LAST
} uct_tcp_zc_msg_type_t;


/* Status of the accepting side's hello */
typedef enum {
    UCT_TCP_ZC_HELLO_CONNECT       = 0, /* connecting side's hello */
    UCT_TCP_ZC_HELLO_ACCEPT        = 1, /* requests may follow */
    UCT_TCP_ZC_HELLO_REJECT_SIMULT = 2, /* the endpoint pair uses the
                                           connection which the accepting
                                           side opened at the same time */
    UCT_TCP_ZC_HELLO_REJECT_VERSION = 3, /* another protocol version */
    UCT_TCP_ZC_HELLO_STATUS_LAST
} uct_tcp_zc_hello_status_t;


/* Hello flags */
enum {
    /* conn_id names an endpoint of the accepting side (CONNECT_TO_EP), not
     * the sequence number of the connecting side's endpoints to its iface */
    UCT_TCP_ZC_HELLO_FLAG_TO_EP = UCS_BIT(0)
};


/*
 * First bytes of each side of a connection. magic and version come first
 * and stay there in every version, so that a peer of another version is
 * told so.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_hello {
    uint64_t magic;     /* UCT_TCP_ZC_MAGIC */
    uint8_t  version;   /* UCT_TCP_ZC_VERSION */
    uint8_t  status;    /* uct_tcp_zc_hello_status_t */
    uint8_t  flags;     /* UCT_TCP_ZC_HELLO_FLAG_xx */
    uint8_t  sa_family; /* address family of the sender's iface */
    uint16_t port;      /* listener port of the sender's iface, network
                           order */
    uint16_t data_port; /* devmem data port of the sender's iface, network
                           order; 0: none */
    uint64_t conn_id;   /* connecting side: which endpoint pair */
    uint8_t  addr[16];  /* IP address of the sender's iface */
} uct_tcp_zc_hello_t;


/* Bytes of a hello which every version has: magic and version */
#define UCT_TCP_ZC_HELLO_PREFIX (sizeof(uint64_t) + sizeof(uint8_t))


/* Header of every message */
typedef struct UCS_S_PACKED uct_tcp_zc_hdr {
    uint8_t  type;    /* uct_tcp_zc_msg_type_t */
    uint8_t  am_id;   /* active message id, 0 for other types */
    uint8_t  version; /* UCT_TCP_ZC_VERSION */
    uint8_t  flags;   /* UCT_TCP_ZC_HDR_FLAG_xx */
    uint32_t length;  /* bytes of data of the message */
} uct_tcp_zc_hdr_t;


/* Message header flags */
enum {
    /* PUT, GET_RESP: the data come on the sender's data connection to the
     * receiver, not after the header(s); only to a peer with a data port */
    UCT_TCP_ZC_HDR_FLAG_DATA_CONN   = UCS_BIT(0),
    /* GET_REQ: the destination of the data is device memory */
    UCT_TCP_ZC_HDR_FLAG_DEVICE_DEST = UCS_BIT(1)
};


/* Follows uct_tcp_zc_hdr_t of DATA_CONN */
typedef struct UCS_S_PACKED uct_tcp_zc_dc_hdr {
    uint16_t port;        /* source port of the data connection, network
                             order */
    uint16_t reserved[3];
} uct_tcp_zc_dc_hdr_t;


/* Follows uct_tcp_zc_hdr_t of PUT and GET_REQ */
typedef struct UCS_S_PACKED uct_tcp_zc_rma_hdr {
    uint64_t address; /* target address */
    uint64_t key;     /* registration key from the rkey */
    uint64_t length;  /* GET_REQ: bytes requested; PUT: equal to hdr.length */
} uct_tcp_zc_rma_hdr_t;


/* Largest data length of one PUT, GET or GET response */
#define UCT_TCP_ZC_RMA_MAX_LENGTH (1ul << 30)


/* Largest data length of one PUT or GET message: longer operations are sent
 * as several, so that the answers which go the same way are never stuck
 * behind one long transfer */
#define UCT_TCP_ZC_RMA_SEG_SIZE   (1024ul * 1024)


/*
 * Largest number of PUT and GET requests which one connection may have
 * without an answer: a requester waits for answers before it sends more, so
 * the target reads requests at all times and holds a bounded number of
 * answers for a peer which does not read them.
 */
#define UCT_TCP_ZC_RMA_OUTSTANDING_MAX 1024

#endif
