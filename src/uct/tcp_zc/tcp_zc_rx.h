/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_RX_H
#define UCT_TCP_ZC_RX_H

#include "tcp_zc_proto.h"


/*
 * Receive-side parser of a tcp_zc byte stream.
 *
 * A pure function over a byte buffer and a small state: no socket, no
 * allocation, no logging, so that it can be tested and fuzzed alone. The
 * socket code reads bytes, hands them to uct_tcp_zc_rx_parse() and acts on
 * what it returns; every byte from the peer is checked here first.
 *
 * A stream starts with the peer's hello: the connecting side's on an
 * accepted connection, the accepting side's answer on a connection which
 * this side opened. A hello of another protocol version is reported as such
 * (UCT_TCP_ZC_RX_EV_VERSION), so the socket code can tell the peer. Then both
 * sides send requests and answers.
 *
 * The data of a PUT and of a GET response follow their headers; the parser
 * returns them as UCT_TCP_ZC_RX_EV_DATA pieces of the buffer, the last one
 * flagged, or the socket code reads them straight to their destination and
 * reports that with uct_tcp_zc_rx_data_consumed(). Every PUT and GET response
 * is followed by data events ending with a last one, even when it has no
 * data. Where the header says that the data come on the peer's data
 * connection (only where this side has a data port: rx->data_port), the
 * parser waits (UCT_TCP_ZC_RX_EV_NONE, nothing consumed) until the socket
 * code reported all of them consumed from there, so that the messages after
 * it are handled in order.
 *
 * The parser counts the requests which this side owes an answer (PUT, GET
 * request); the socket code reports each answer fully written with
 * uct_tcp_zc_rx_answer_sent(). A peer with more than
 * UCT_TCP_ZC_RMA_OUTSTANDING_MAX such requests breaks the protocol, so a peer
 * which does not read its answers holds a bounded amount of memory. Whether
 * an answer matches a request of this side is the socket code's to check.
 *
 * After an error, or a hello which ends the connection, the parser stays in
 * the error state.
 */


typedef enum {
    UCT_TCP_ZC_RX_HELLO, /* waiting for the peer's hello */
    UCT_TCP_ZC_RX_HDR,   /* waiting for a complete message header */
    UCT_TCP_ZC_RX_DATA,  /* data of a PUT or GET response follow */
    UCT_TCP_ZC_RX_ERROR  /* the peer broke the protocol, or the stream
                            ended */
} uct_tcp_zc_rx_state_t;


typedef enum {
    UCT_TCP_ZC_RX_EV_NONE,      /* more bytes are needed, nothing consumed */
    UCT_TCP_ZC_RX_EV_HELLO,     /* hello of the peer: msg->hello */
    UCT_TCP_ZC_RX_EV_VERSION,   /* hello of another protocol version:
                                   msg->hello.version; the stream ends */
    UCT_TCP_ZC_RX_EV_AM,        /* active message: msg->hdr, msg->data */
    UCT_TCP_ZC_RX_EV_PUT,       /* PUT request: msg->hdr, msg->rma; data
                                   follow */
    UCT_TCP_ZC_RX_EV_GET_REQ,   /* GET request: msg->hdr, msg->rma */
    UCT_TCP_ZC_RX_EV_KEEPALIVE, /* keepalive probe */
    UCT_TCP_ZC_RX_EV_EP_CLOSED, /* no more requests from the peer */
    UCT_TCP_ZC_RX_EV_DATA_CONN, /* the peer's data connection: msg->dc */
    UCT_TCP_ZC_RX_EV_PUT_ACK,   /* answer to a PUT */
    UCT_TCP_ZC_RX_EV_GET_RESP,  /* answer to a GET: msg->hdr; data follow */
    UCT_TCP_ZC_RX_EV_RMA_ERROR, /* answer to a PUT or GET: failed */
    UCT_TCP_ZC_RX_EV_DATA,      /* msg->data, msg->length bytes of data;
                                   msg->last if they are the last ones */
    UCT_TCP_ZC_RX_EV_ERROR      /* protocol error: msg->error */
} uct_tcp_zc_rx_event_t;


typedef struct uct_tcp_zc_rx {
    uct_tcp_zc_rx_state_t state;
    int                   accepted;   /* the peer connected: its hello is a
                                         connecting one, else an answer */
    int                   peer_closed; /* EP_CLOSED came: no more requests */
    int                   data_port;  /* this side has a data port: the
                                         peer may use a data connection */
    int                   data_conn;  /* DATA_CONN came */
    int                   external;   /* DATA: the data come on the data
                                         connection */
    size_t                max_am;     /* largest active message payload */
    uint64_t              remaining;  /* DATA: bytes still to come */
    unsigned              answers_owed; /* requests not answered yet */
} uct_tcp_zc_rx_t;


typedef struct uct_tcp_zc_rx_msg {
    size_t                   consumed; /* bytes of the buffer used */
    uct_tcp_zc_hdr_t         hdr;
    uct_tcp_zc_hello_t       hello;
    uct_tcp_zc_rma_hdr_t     rma;
    uct_tcp_zc_dc_hdr_t      dc;
    const void               *data;   /* AM payload or DATA bytes */
    size_t                   length;  /* of data */
    int                      last;    /* DATA: no more data of the message */
    const char               *error;  /* ERROR: the field which is wrong */
} uct_tcp_zc_rx_msg_t;


/**
 * Initialize the parser of a connection.
 *
 * @param rx          Parser state.
 * @param accepted    Whether the peer connected (its hello opens the
 *                    connection) or this side did (the peer's hello answers
 *                    this side's).
 * @param max_am      Largest active message payload; the caller's buffer
 *                    must hold a message header and the larger of this many
 *                    bytes and an RMA header (and a hello).
 *
 * rx->data_port is 0: set it where this side has a data port.
 */
void uct_tcp_zc_rx_init(uct_tcp_zc_rx_t *rx, int accepted, size_t max_am);


/**
 * Parse the next item of the stream at the start of a buffer.
 *
 * @param rx      Parser state.
 * @param buf     Received bytes not consumed yet.
 * @param length  Number of bytes in buf.
 * @param msg     Filled with what was parsed; msg->consumed bytes of buf are
 *                used (0 for UCT_TCP_ZC_RX_EV_NONE and _ERROR), and msg->data
 *                points into buf.
 *
 * @return What was parsed.
 */
uct_tcp_zc_rx_event_t uct_tcp_zc_rx_parse(uct_tcp_zc_rx_t *rx,
                                          const void *buf, size_t length,
                                          uct_tcp_zc_rx_msg_t *msg);


/**
 * Account data which the caller received straight to its destination, or
 * from the data connection.
 *
 * @param rx      Parser state, in UCT_TCP_ZC_RX_DATA.
 * @param length  Bytes received, at most uct_tcp_zc_rx_data_left().
 *
 * @return Whether these were the last data of the message.
 */
int uct_tcp_zc_rx_data_consumed(uct_tcp_zc_rx_t *rx, size_t length);


/**
 * @return Data bytes of the current message still to come.
 */
static inline uint64_t uct_tcp_zc_rx_data_left(const uct_tcp_zc_rx_t *rx)
{
    return (rx->state == UCT_TCP_ZC_RX_DATA) ? rx->remaining : 0;
}


/**
 * @return Whether the data of the current message come on the data
 *         connection.
 */
static inline int uct_tcp_zc_rx_data_external(const uct_tcp_zc_rx_t *rx)
{
    return (rx->state == UCT_TCP_ZC_RX_DATA) && rx->external;
}


/**
 * An answer which the peer requested was fully written to the socket.
 */
void uct_tcp_zc_rx_answer_sent(uct_tcp_zc_rx_t *rx);

#endif
