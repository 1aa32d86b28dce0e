/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_rx.h"

#include <uct/api/uct_def.h>
#include <string.h>


void uct_tcp_zc_rx_init(uct_tcp_zc_rx_t *rx, int accepted, size_t max_am)
{
    rx->state        = UCT_TCP_ZC_RX_HELLO;
    rx->accepted     = accepted;
    rx->peer_closed  = 0;
    rx->data_port    = 0;
    rx->data_conn    = 0;
    rx->external     = 0;
    rx->max_am       = max_am;
    rx->remaining    = 0;
    rx->answers_owed = 0;
}

static uct_tcp_zc_rx_event_t
uct_tcp_zc_rx_error(uct_tcp_zc_rx_t *rx, uct_tcp_zc_rx_msg_t *msg,
                    const char *error)
{
    rx->state     = UCT_TCP_ZC_RX_ERROR;
    msg->consumed = 0;
    msg->error    = error;
    return UCT_TCP_ZC_RX_EV_ERROR;
}

/* The status which a hello may have on this side of the connection */
static int uct_tcp_zc_rx_hello_status_ok(const uct_tcp_zc_rx_t *rx,
                                         uint8_t status)
{
    if (rx->accepted) {
        return status == UCT_TCP_ZC_HELLO_CONNECT;
    }

    return (status == UCT_TCP_ZC_HELLO_ACCEPT) ||
           (status == UCT_TCP_ZC_HELLO_REJECT_SIMULT) ||
           (status == UCT_TCP_ZC_HELLO_REJECT_VERSION);
}

static uct_tcp_zc_rx_event_t
uct_tcp_zc_rx_parse_hello(uct_tcp_zc_rx_t *rx, const void *buf, size_t length,
                          uct_tcp_zc_rx_msg_t *msg)
{
    uct_tcp_zc_hello_t *hello = &msg->hello;

    /* magic and version first: a hello of another version has another
     * size */
    if (length < UCT_TCP_ZC_HELLO_PREFIX) {
        return UCT_TCP_ZC_RX_EV_NONE;
    }

    memset(hello, 0, sizeof(*hello));
    memcpy(hello, buf, UCT_TCP_ZC_HELLO_PREFIX);
    if (hello->magic != UCT_TCP_ZC_MAGIC) {
        return uct_tcp_zc_rx_error(rx, msg, "hello magic");
    } else if (hello->version != UCT_TCP_ZC_VERSION) {
        rx->state     = UCT_TCP_ZC_RX_ERROR;
        msg->consumed = UCT_TCP_ZC_HELLO_PREFIX;
        return UCT_TCP_ZC_RX_EV_VERSION;
    } else if (length < sizeof(*hello)) {
        return UCT_TCP_ZC_RX_EV_NONE;
    }

    memcpy(hello, buf, sizeof(*hello));
    if (!uct_tcp_zc_rx_hello_status_ok(rx, hello->status)) {
        return uct_tcp_zc_rx_error(rx, msg, "hello status");
    } else if ((hello->sa_family != AF_INET) &&
               (hello->sa_family != AF_INET6)) {
        return uct_tcp_zc_rx_error(rx, msg, "hello address family");
    } else if ((hello->flags & ~UCT_TCP_ZC_HELLO_FLAG_TO_EP) ||
               (!rx->accepted && (hello->flags != 0))) {
        return uct_tcp_zc_rx_error(rx, msg, "hello flags");
    }

    /* a refusal ends the stream */
    rx->state     = ((hello->status == UCT_TCP_ZC_HELLO_CONNECT) ||
                     (hello->status == UCT_TCP_ZC_HELLO_ACCEPT)) ?
                            UCT_TCP_ZC_RX_HDR : UCT_TCP_ZC_RX_ERROR;
    msg->consumed = sizeof(*hello);
    return UCT_TCP_ZC_RX_EV_HELLO;
}

/* Data of a PUT or GET response follow, on this connection or (flag) on
 * the peer's data connection */
static uct_tcp_zc_rx_event_t
uct_tcp_zc_rx_data_begin(uct_tcp_zc_rx_t *rx, uct_tcp_zc_rx_msg_t *msg,
                         size_t consumed, uint64_t length,
                         uct_tcp_zc_rx_event_t event)
{
    if (msg->hdr.flags & ~UCT_TCP_ZC_HDR_FLAG_DATA_CONN) {
        return uct_tcp_zc_rx_error(rx, msg, "header flags");
    }

    rx->external = !!(msg->hdr.flags & UCT_TCP_ZC_HDR_FLAG_DATA_CONN);
    if (rx->external && (!rx->data_conn || (length == 0))) {
        /* no data connection to take them from, or nothing to take */
        return uct_tcp_zc_rx_error(rx, msg, "data on the data connection");
    }

    rx->state     = UCT_TCP_ZC_RX_DATA;
    rx->remaining = length;
    msg->consumed = consumed;
    return event;
}

/* PUT or GET request: owes the peer an answer */
static uct_tcp_zc_rx_event_t
uct_tcp_zc_rx_parse_rma(uct_tcp_zc_rx_t *rx, const void *buf, size_t length,
                        uct_tcp_zc_rx_msg_t *msg)
{
    const uct_tcp_zc_hdr_t *hdr = &msg->hdr;
    uct_tcp_zc_rma_hdr_t *rma   = &msg->rma;
    size_t consumed             = sizeof(*hdr) + sizeof(*rma);

    if (hdr->am_id != 0) {
        return uct_tcp_zc_rx_error(rx, msg, "am_id of an RMA request");
    } else if (rx->answers_owed >= UCT_TCP_ZC_RMA_OUTSTANDING_MAX) {
        return uct_tcp_zc_rx_error(rx, msg, "requests without an answer");
    } else if (length < consumed) {
        return UCT_TCP_ZC_RX_EV_NONE;
    }

    memcpy(rma, UCS_PTR_BYTE_OFFSET(buf, sizeof(*hdr)), sizeof(*rma));
    if (rma->length > UCT_TCP_ZC_RMA_MAX_LENGTH) {
        return uct_tcp_zc_rx_error(rx, msg, "RMA length");
    } else if (rma->address + rma->length < rma->address) {
        return uct_tcp_zc_rx_error(rx, msg, "RMA address");
    }

    if (hdr->type == UCT_TCP_ZC_MSG_GET_REQ) {
        if (hdr->length != 0) {
            return uct_tcp_zc_rx_error(rx, msg, "GET request length");
        } else if (hdr->flags & ~UCT_TCP_ZC_HDR_FLAG_DEVICE_DEST) {
            return uct_tcp_zc_rx_error(rx, msg, "header flags");
        }

        ++rx->answers_owed;
        msg->consumed = consumed;
        return UCT_TCP_ZC_RX_EV_GET_REQ;
    }

    if (rma->length != hdr->length) {
        return uct_tcp_zc_rx_error(rx, msg, "PUT length");
    }

    ++rx->answers_owed;
    return uct_tcp_zc_rx_data_begin(rx, msg, consumed, rma->length,
                                    UCT_TCP_ZC_RX_EV_PUT);
}

/* A message without payload */
static uct_tcp_zc_rx_event_t
uct_tcp_zc_rx_parse_empty(uct_tcp_zc_rx_t *rx, uct_tcp_zc_rx_msg_t *msg,
                          uct_tcp_zc_rx_event_t event, const char *error)
{
    if ((msg->hdr.am_id != 0) || (msg->hdr.length != 0) ||
        (msg->hdr.flags != 0)) {
        return uct_tcp_zc_rx_error(rx, msg, error);
    }

    msg->consumed = sizeof(msg->hdr);
    return event;
}

/* The peer's data connection to this side's data port: once */
static uct_tcp_zc_rx_event_t
uct_tcp_zc_rx_parse_data_conn(uct_tcp_zc_rx_t *rx, const void *buf,
                              size_t length, uct_tcp_zc_rx_msg_t *msg)
{
    uct_tcp_zc_dc_hdr_t *dc = &msg->dc;
    size_t consumed         = sizeof(msg->hdr) + sizeof(*dc);

    if ((msg->hdr.am_id != 0) || (msg->hdr.length != 0) ||
        (msg->hdr.flags != 0)) {
        return uct_tcp_zc_rx_error(rx, msg, "data connection header");
    } else if (!rx->data_port || rx->data_conn) {
        return uct_tcp_zc_rx_error(rx, msg, "data connection without a "
                                            "data port, or a second one");
    } else if (length < consumed) {
        return UCT_TCP_ZC_RX_EV_NONE;
    }

    memcpy(dc, UCS_PTR_BYTE_OFFSET(buf, sizeof(msg->hdr)), sizeof(*dc));
    if ((dc->port == 0) || (dc->reserved[0] != 0) ||
        (dc->reserved[1] != 0) || (dc->reserved[2] != 0)) {
        return uct_tcp_zc_rx_error(rx, msg, "data connection port");
    }

    rx->data_conn = 1;
    msg->consumed = consumed;
    return UCT_TCP_ZC_RX_EV_DATA_CONN;
}

static uct_tcp_zc_rx_event_t
uct_tcp_zc_rx_parse_request(uct_tcp_zc_rx_t *rx, const void *buf,
                            size_t length, uct_tcp_zc_rx_msg_t *msg)
{
    const uct_tcp_zc_hdr_t *hdr = &msg->hdr;

    if (rx->peer_closed) {
        return uct_tcp_zc_rx_error(rx, msg, "request after the endpoint "
                                            "closed");
    }

    switch (hdr->type) {
    case UCT_TCP_ZC_MSG_AM:
        if (hdr->flags != 0) {
            return uct_tcp_zc_rx_error(rx, msg, "header flags");
        } else if (hdr->am_id >= UCT_AM_ID_MAX) {
            return uct_tcp_zc_rx_error(rx, msg, "am_id");
        } else if (hdr->length > rx->max_am) {
            return uct_tcp_zc_rx_error(rx, msg, "active message length");
        } else if (length < (sizeof(*hdr) + hdr->length)) {
            return UCT_TCP_ZC_RX_EV_NONE;
        }

        msg->data     = UCS_PTR_BYTE_OFFSET(buf, sizeof(*hdr));
        msg->length   = hdr->length;
        msg->consumed = sizeof(*hdr) + hdr->length;
        return UCT_TCP_ZC_RX_EV_AM;
    case UCT_TCP_ZC_MSG_PUT:
    case UCT_TCP_ZC_MSG_GET_REQ:
        return uct_tcp_zc_rx_parse_rma(rx, buf, length, msg);
    case UCT_TCP_ZC_MSG_KEEPALIVE:
        return uct_tcp_zc_rx_parse_empty(rx, msg, UCT_TCP_ZC_RX_EV_KEEPALIVE,
                                         "keepalive header");
    default:
        rx->peer_closed = 1;
        return uct_tcp_zc_rx_parse_empty(rx, msg, UCT_TCP_ZC_RX_EV_EP_CLOSED,
                                         "endpoint closed header");
    }
}

uct_tcp_zc_rx_event_t uct_tcp_zc_rx_parse(uct_tcp_zc_rx_t *rx,
                                          const void *buf, size_t length,
                                          uct_tcp_zc_rx_msg_t *msg)
{
    msg->consumed = 0;

    switch (rx->state) {
    case UCT_TCP_ZC_RX_HELLO:
        return uct_tcp_zc_rx_parse_hello(rx, buf, length, msg);
    case UCT_TCP_ZC_RX_DATA:
        if (((length == 0) && (rx->remaining > 0)) || rx->external) {
            /* the data come from the socket, or the data connection */
            return UCT_TCP_ZC_RX_EV_NONE;
        }

        msg->data     = buf;
        msg->length   = (rx->remaining < length) ? rx->remaining : length;
        msg->consumed = msg->length;
        msg->last     = uct_tcp_zc_rx_data_consumed(rx, msg->length);
        return UCT_TCP_ZC_RX_EV_DATA;
    case UCT_TCP_ZC_RX_HDR:
        break;
    default:
        msg->error = "stream after a protocol error or its end";
        return UCT_TCP_ZC_RX_EV_ERROR;
    }

    if (length < sizeof(msg->hdr)) {
        return UCT_TCP_ZC_RX_EV_NONE;
    }

    memcpy(&msg->hdr, buf, sizeof(msg->hdr));
    if (msg->hdr.version != UCT_TCP_ZC_VERSION) {
        return uct_tcp_zc_rx_error(rx, msg, "header version");
    }

    switch (msg->hdr.type) {
    case UCT_TCP_ZC_MSG_AM:
    case UCT_TCP_ZC_MSG_PUT:
    case UCT_TCP_ZC_MSG_GET_REQ:
    case UCT_TCP_ZC_MSG_KEEPALIVE:
    case UCT_TCP_ZC_MSG_EP_CLOSED:
        return uct_tcp_zc_rx_parse_request(rx, buf, length, msg);
    case UCT_TCP_ZC_MSG_DATA_CONN:
        /* for requests and answers: also after EP_CLOSED */
        return uct_tcp_zc_rx_parse_data_conn(rx, buf, length, msg);
    case UCT_TCP_ZC_MSG_PUT_ACK:
        return uct_tcp_zc_rx_parse_empty(rx, msg, UCT_TCP_ZC_RX_EV_PUT_ACK,
                                         "PUT acknowledgement header");
    case UCT_TCP_ZC_MSG_RMA_ERROR:
        return uct_tcp_zc_rx_parse_empty(rx, msg, UCT_TCP_ZC_RX_EV_RMA_ERROR,
                                         "RMA error header");
    case UCT_TCP_ZC_MSG_GET_RESP:
        if (msg->hdr.am_id != 0) {
            return uct_tcp_zc_rx_error(rx, msg, "am_id of a GET response");
        } else if (msg->hdr.length > UCT_TCP_ZC_RMA_MAX_LENGTH) {
            return uct_tcp_zc_rx_error(rx, msg, "GET response length");
        }

        return uct_tcp_zc_rx_data_begin(rx, msg, sizeof(msg->hdr),
                                        msg->hdr.length,
                                        UCT_TCP_ZC_RX_EV_GET_RESP);
    default:
        return uct_tcp_zc_rx_error(rx, msg, "message type");
    }
}

int uct_tcp_zc_rx_data_consumed(uct_tcp_zc_rx_t *rx, size_t length)
{
    rx->remaining -= length;
    if (rx->remaining > 0) {
        return 0;
    }

    rx->state    = UCT_TCP_ZC_RX_HDR;
    rx->external = 0;
    return 1;
}

void uct_tcp_zc_rx_answer_sent(uct_tcp_zc_rx_t *rx)
{
    if (rx->answers_owed > 0) {
        --rx->answers_owed;
    }
}
