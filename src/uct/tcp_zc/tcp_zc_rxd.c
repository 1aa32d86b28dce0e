/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc.h"
#include "tcp_zc_dc.h"

#include <ucs/sys/string.h>
#include <sys/socket.h>


/*
 * Receive driver of a connection over the pure parser (tcp_zc_rx.c): reads
 * the socket, hands the bytes to the parser and acts on what it returns;
 * PUT and GET data go straight to their destination.
 */


/* Reads of the receive buffer per connection and progress call: one, as
 * UCX's tcp does, so a progress call hands over at most a segment of
 * messages (PUT and GET data go straight to the user's memory) */
#define UCT_TCP_ZC_RX_FILLS_MAX 1


/* Active messages of at least this fraction of a segment are offered to the
 * handler to keep (UCT_CB_PARAM_FLAG_DESC): it keeps the whole receive
 * buffer with them */
#define UCT_TCP_ZC_AM_DESC_FRACTION 4

/* What a read of the socket returned: bytes read, 0 if none was available,
 * or -1 if the connection failed (and maybe was freed) */
static ssize_t uct_tcp_zc_conn_recv_result(uct_tcp_zc_conn_t *conn,
                                           ssize_t ret)
{
    if (ret > 0) {
        return ret;
    } else if (ret == 0) {
        if ((conn->state == UCT_TCP_ZC_CONN_HELLO) && !conn->accepted) {
            /* a peer of another protocol version closes at the hello */
            uct_tcp_zc_conn_fail(conn, UCS_ERR_UNREACHABLE,
                                 UCS_LOG_LEVEL_ERROR,
                                 "closed by the peer before its hello (a "
                                 "tcp_zc of another protocol version?)");
        } else {
            uct_tcp_zc_conn_fail(conn, UCS_ERR_ENDPOINT_TIMEOUT,
                                 (conn->ep != NULL) ? UCS_LOG_LEVEL_DIAG :
                                                      UCS_LOG_LEVEL_DEBUG,
                                 "closed by the peer");
        }
        return -1;
    } else if ((errno == EAGAIN) || (errno == EWOULDBLOCK)) {
        return 0;
    }

    uct_tcp_zc_conn_io_failed(conn, "recv", errno);
    return -1;
}

static ssize_t uct_tcp_zc_conn_recv(uct_tcp_zc_conn_t *conn, void *buf,
                                    size_t length)
{
    return uct_tcp_zc_conn_recv_result(
            conn, uct_tcp_zc_socket_recv(conn->fd, buf, length));
}

/* Read into the receive buffer; *drained_p tells whether the read was short,
 * so the socket had no more data */
static ssize_t uct_tcp_zc_conn_rx_fill(uct_tcp_zc_conn_t *conn, int *drained_p)
{
    size_t size = uct_tcp_zc_conn_rx_buf_size(conn->iface);
    ssize_t ret;

    if (uct_tcp_zc_conn_rx_buf_get(conn) != UCS_OK) {
        uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY, UCS_LOG_LEVEL_ERROR,
                             "no memory for a receive buffer");
        return -1;
    }

    if (conn->rx.head == conn->rx.tail) {
        conn->rx.head = conn->rx.tail = 0;
    } else if (conn->rx.head > 0) {
        memmove(conn->rx.buf, conn->rx.buf + conn->rx.head,
                conn->rx.tail - conn->rx.head);
        conn->rx.tail -= conn->rx.head;
        conn->rx.head  = 0;
    }

    ucs_assert(conn->rx.tail < size);
    ret = uct_tcp_zc_conn_recv(conn, conn->rx.buf + conn->rx.tail,
                               size - conn->rx.tail);
    if (ret > 0) {
        *drained_p     = (ret < (ssize_t)(size - conn->rx.tail));
        conn->rx.tail += ret;
        if (conn->iface->config.delay_ack) {
            uct_tcp_zc_socket_delay_ack(conn->fd);
        }
    }

    return ret;
}

/*
 * An active message handler keeps the data of the message which ends at the
 * head of the receive buffer: the buffer goes with it, and the bytes after
 * the message move to a new one.
 */
static ucs_status_t uct_tcp_zc_conn_rx_buf_keep(uct_tcp_zc_conn_t *conn,
                                                void *data)
{
    uct_tcp_zc_rx_buf_t *kept = conn->rx.elem;
    const uint8_t *rest       = conn->rx.buf + conn->rx.head;
    size_t rest_len           = conn->rx.tail - conn->rx.head;
    void *desc                = UCS_PTR_BYTE_OFFSET(data,
                                                    -conn->iface->rx_headroom);

    kept->release.cb     = uct_tcp_zc_rx_buf_release;
    uct_recv_desc(desc)  = &kept->release;
    conn->rx.elem        = NULL;
    if (rest_len == 0) {
        conn->rx.buf = NULL;
        return UCS_OK;
    }

    if (uct_tcp_zc_conn_rx_buf_get(conn) != UCS_OK) {
        return UCS_ERR_NO_MEMORY;
    }

    memcpy(conn->rx.buf, rest, rest_len);
    conn->rx.tail = rest_len;
    return UCS_OK;
}

/* The next destination entry of PUT or GET response data */
static struct iovec *uct_tcp_zc_conn_rx_iov(uct_tcp_zc_conn_t *conn)
{
    while (conn->rx.iov->iov_len == 0) {
        ucs_assert(conn->rx.iovcnt > 1);
        ++conn->rx.iov;
        --conn->rx.iovcnt;
    }

    return conn->rx.iov;
}

/*
 * Right before PUT data is written to the target memory: whether the region
 * is still registered, and then it stays so until uct_tcp_zc_conn_rx_unlock().
 * If it was deregistered meanwhile, no byte goes to memory which was given
 * back: the rest of the data is dropped, and the PUT answered with an error.
 */
static int uct_tcp_zc_conn_rx_lock(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_md_t *md = uct_tcp_zc_iface_md(conn->iface);

    if ((conn->rx.put_memh == NULL) ||
        uct_tcp_zc_md_access_lock(md, conn->rx.put_memh)) {
        return 1;
    }

    ucs_debug("tcp_zc conn %p fd %d: PUT into a memory region deregistered "
              "meanwhile", conn, conn->fd);
    uct_tcp_zc_md_access_put(md, conn->rx.put_memh);
    conn->rx.put_memh = NULL;
    conn->rx.discard  = 1;
    return 0;
}

static void uct_tcp_zc_conn_rx_unlock(uct_tcp_zc_conn_t *conn)
{
    if (conn->rx.put_memh != NULL) {
        uct_tcp_zc_md_access_unlock(uct_tcp_zc_iface_md(conn->iface),
                                    conn->rx.put_memh);
    }
}

/* Data of a PUT or GET response from the receive buffer */
static void uct_tcp_zc_conn_rx_copy(uct_tcp_zc_conn_t *conn, const void *data,
                                    size_t length)
{
    struct iovec *iov;
    size_t chunk;

    if (conn->rx.discard || !uct_tcp_zc_conn_rx_lock(conn)) {
        return;
    }

    while (length > 0) {
        iov   = uct_tcp_zc_conn_rx_iov(conn);
        chunk = ucs_min(iov->iov_len, length);
        memcpy(iov->iov_base, data, chunk);
        iov->iov_base = UCS_PTR_BYTE_OFFSET(iov->iov_base, chunk);
        iov->iov_len -= chunk;
        data          = UCS_PTR_BYTE_OFFSET(data, chunk);
        length       -= chunk;
    }

    uct_tcp_zc_conn_rx_unlock(conn);
}

/* Read data of the current message, from the socket or (external) the
 * peer's data connection, as recv() does; buf NULL drops them */
static ssize_t uct_tcp_zc_conn_rx_read(uct_tcp_zc_conn_t *conn, int external,
                                       void *buf, size_t length)
{
    if (external) {
        return uct_tcp_zc_dc_recv(conn, buf, length);
    }

    return uct_tcp_zc_socket_recv(conn->fd, (buf != NULL) ? buf :
                                            conn->rx.buf, length);
}

/*
 * Data of a PUT or GET response straight to its destination, from the socket
 * or, where the header said so, from the peer's data connection; bulk data,
 * so read on until the socket is empty: more may have come since the last
 * read. Returns 1 when all data arrived, 0 if more is needed, -1 if the
 * connection failed.
 */
static int uct_tcp_zc_conn_rx_direct(uct_tcp_zc_conn_t *conn)
{
    int external = uct_tcp_zc_rx_data_external(&conn->rx.parser);
    struct iovec *iov;
    size_t length;
    ssize_t ret;
    int err;

    for (;;) {
        if (conn->rx.discard) {
            /* the receive buffer (or the data connection's) is a sink */
            length = uct_tcp_zc_rx_data_left(&conn->rx.parser);
            if (!external) {
                if (uct_tcp_zc_conn_rx_buf_get(conn) != UCS_OK) {
                    uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY,
                                         UCS_LOG_LEVEL_ERROR,
                                         "no memory for a receive buffer");
                    return -1;
                }
                length = ucs_min(uct_tcp_zc_conn_rx_buf_size(conn->iface),
                                 length);
            }

            ret = uct_tcp_zc_conn_recv_result(
                    conn, uct_tcp_zc_conn_rx_read(conn, external, NULL,
                                                  length));
            if (ret <= 0) {
                return (int)ret;
            } else if (uct_tcp_zc_rx_data_consumed(&conn->rx.parser, ret)) {
                return 1;
            }
            continue;
        }

        if (!uct_tcp_zc_conn_rx_lock(conn)) {
            continue;
        }

        iov    = uct_tcp_zc_conn_rx_iov(conn);
        length = ucs_min(iov->iov_len,
                         uct_tcp_zc_rx_data_left(&conn->rx.parser));

        ret   = uct_tcp_zc_conn_rx_read(conn, external, iov->iov_base,
                                        length);
        err   = errno;
        uct_tcp_zc_conn_rx_unlock(conn);
        errno = err;
        ret   = uct_tcp_zc_conn_recv_result(conn, ret);
        if (ret <= 0) {
            return (int)ret;
        }

        iov->iov_base = UCS_PTR_BYTE_OFFSET(iov->iov_base, ret);
        iov->iov_len -= ret;
        if (uct_tcp_zc_rx_data_consumed(&conn->rx.parser, ret)) {
            return 1;
        }
    }
}

/* Response data of a GET arrived: complete the head of the wait queue */
static void uct_tcp_zc_conn_get_done(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx = uct_tcp_zc_conn_pull_answered(conn);

    if (tx->unpack_cb != NULL) {
        tx->unpack_cb(tx->unpack_arg, tx->bounce, tx->get_length);
    }

    uct_tcp_zc_conn_tx_done(conn, tx);
    uct_tcp_zc_conn_complete_flushes(conn);
}

/* The last data of a PUT or GET response arrived; returns 0, or -1 if conn
 * failed */
static int uct_tcp_zc_conn_rx_data_done(uct_tcp_zc_conn_t *conn)
{
    int discard;

    if (!conn->rx.put) {
        uct_tcp_zc_conn_get_done(conn);
        return 0;
    }

    discard           = conn->rx.discard;
    conn->rx.put      = 0;
    conn->rx.discard  = 0;
    if (conn->rx.put_memh != NULL) {
        uct_tcp_zc_md_access_put(uct_tcp_zc_iface_md(conn->iface),
                                 conn->rx.put_memh);
        conn->rx.put_memh = NULL;
    }

    return (uct_tcp_zc_conn_send_empty_answer(
                    conn, discard ? UCT_TCP_ZC_MSG_RMA_ERROR :
                                    UCT_TCP_ZC_MSG_PUT_ACK) == UCS_OK) ?
                   0 : -1;
}

/* Handle a PUT or GET request; returns 0 on success, -1 if conn failed */
static int uct_tcp_zc_conn_rx_rma(uct_tcp_zc_conn_t *conn,
                                  uct_tcp_zc_rx_event_t event,
                                  const uct_tcp_zc_hdr_t *hdr,
                                  const uct_tcp_zc_rma_hdr_t *rma)
{
    uct_tcp_zc_hdr_t resp = {
        .type    = UCT_TCP_ZC_MSG_GET_RESP,
        .version = UCT_TCP_ZC_VERSION
    };
    uct_tcp_zc_memh_t *memh;
    ucs_status_t status;
    struct iovec iov;
    void *ptr;

    if ((rma->length == 0) && (rma->key == 0)) {
        /* an empty access without a remote key (UCT_INVALID_RKEY, which
         * UCT allows for it) touches nothing; keys are never 0 */
        ptr    = NULL;
        memh   = NULL;
        status = UCS_OK;
    } else {
        status = uct_tcp_zc_md_access_get(uct_tcp_zc_iface_md(conn->iface),
                                          rma->key, rma->address,
                                          rma->length, &ptr, &memh);
    }

    if (status != UCS_OK) {
        /* not registered, or not any more: that operation fails, the
         * connection goes on */
        ucs_debug("tcp_zc conn %p fd %d: %s of %" PRIu64 " bytes at 0x%"
                  PRIx64 " key 0x%" PRIx64 " outside of a registered memory "
                  "region", conn, conn->fd,
                  (event == UCT_TCP_ZC_RX_EV_PUT) ? "PUT" : "GET",
                  rma->length, rma->address, rma->key);
        if (event == UCT_TCP_ZC_RX_EV_PUT) {
            conn->rx.put     = 1;
            conn->rx.discard = 1;
            return 0;
        }

        return (uct_tcp_zc_conn_send_empty_answer(
                        conn, UCT_TCP_ZC_MSG_RMA_ERROR) == UCS_OK) ? 0 : -1;
    }

    if (event == UCT_TCP_ZC_RX_EV_PUT) {
        /* the data which follows goes straight to the target memory */
        conn->rx.put              = 1;
        conn->rx.put_memh         = memh;
        conn->rx.put_iov.iov_base = ptr;
        conn->rx.put_iov.iov_len  = rma->length;
        conn->rx.iov              = &conn->rx.put_iov;
        conn->rx.iovcnt           = 1;
        return 0;
    }

    /* GET: answer with the data, sent from the target memory; those from or
     * to device memory on the data connection, where the peer has one */
    resp.length  = rma->length;
    iov.iov_base = ptr;
    iov.iov_len  = rma->length;
    if (uct_tcp_zc_dc_wanted(conn,
                             (memh != NULL) && uct_tcp_zc_memh_is_dmabuf(memh),
                             hdr->flags & UCT_TCP_ZC_HDR_FLAG_DEVICE_DEST,
                             rma->length)) {
        resp.flags = UCT_TCP_ZC_HDR_FLAG_DATA_CONN;
        return (uct_tcp_zc_conn_send_answer_dc(conn, &resp, &iov, memh) ==
                UCS_OK) ? 0 : -1;
    }

    return (uct_tcp_zc_conn_send_answer(conn, &resp, &iov, 1, memh) ==
            UCS_OK) ? 0 : -1;
}

/*
 * An answer came while the request at the head of the send queue waits for
 * the io_uring result of its send: the peer got the whole request, so it now
 * waits for its answer, and completes once the result and the notification
 * came through the event set too.
 */
static void uct_tcp_zc_conn_uring_answered(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx;

    uct_tcp_zc_uring_reap(conn->iface->zc.uring, uct_tcp_zc_conn_uring_comp,
                          conn->iface);
    tx = conn->tx_cur;
    if ((tx != NULL) && uct_tcp_zc_tx_is_rma(tx->kind) &&
        ((tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY) ||
         (tx->iov_index == tx->iovcnt))) {
        ucs_queue_pull_non_empty(&conn->tx_queue);
        ucs_queue_push(&conn->wait_queue, &tx->queue);
        conn->tx_cur = NULL;
        /* the requests after it may be written now */
        uct_tcp_zc_conn_uring_mark(conn);
    }
}

/* Handle an answer of the peer to a request of this side */
static int uct_tcp_zc_conn_rx_answer(uct_tcp_zc_conn_t *conn,
                                     uct_tcp_zc_rx_event_t event,
                                     const uct_tcp_zc_hdr_t *hdr)
{
    uct_tcp_zc_tx_t *tx;

    if (ucs_queue_is_empty(&conn->wait_queue) &&
        (conn->iface->zc.uring != NULL)) {
        /* the answer may overtake the result of the io_uring send of its
         * request */
        uct_tcp_zc_conn_uring_answered(conn);
    }

    if (ucs_queue_is_empty(&conn->wait_queue)) {
        uct_tcp_zc_conn_protocol_error(conn, "answer without a request");
        return -1;
    }

    tx = ucs_queue_head_elem_non_empty(&conn->wait_queue, uct_tcp_zc_tx_t,
                                       queue);
    switch (event) {
    case UCT_TCP_ZC_RX_EV_RMA_ERROR:
        ucs_debug("tcp_zc conn %p fd %d: the peer refused a %s outside of "
                  "its registered memory", conn, conn->fd,
                  (tx->kind == UCT_TCP_ZC_TX_PUT) ? "PUT" : "GET");
        uct_tcp_zc_conn_pull_answered(conn);
        tx->status = UCS_ERR_INVALID_ADDR;
        uct_tcp_zc_conn_tx_done(conn, tx);
        uct_tcp_zc_conn_complete_flushes(conn);
        return 0;
    case UCT_TCP_ZC_RX_EV_PUT_ACK:
        if (tx->kind != UCT_TCP_ZC_TX_PUT) {
            uct_tcp_zc_conn_protocol_error(conn, "answer type");
            return -1;
        }

        uct_tcp_zc_conn_pull_answered(conn);
        uct_tcp_zc_conn_tx_done(conn, tx);
        uct_tcp_zc_conn_complete_flushes(conn);
        return 0;
    default:
        if (tx->kind != UCT_TCP_ZC_TX_GET) {
            uct_tcp_zc_conn_protocol_error(conn, "answer type");
            return -1;
        } else if (hdr->length != tx->get_length) {
            uct_tcp_zc_conn_protocol_error(conn, "GET response length");
            return -1;
        }

        conn->rx.put    = 0;
        conn->rx.iov    = tx->get_iov;
        conn->rx.iovcnt = tx->get_iovcnt;
        return 0;
    }
}

/*
 * Handle the next item at the head of the receive buffer.
 * Returns 1 if handled, 0 if more bytes are needed, -1 if conn failed.
 */
static int uct_tcp_zc_conn_rx_msg(uct_tcp_zc_conn_t *conn,
                                  uct_tcp_zc_rx_event_t *hello_event,
                                  uct_tcp_zc_hello_t *hello)
{
    uct_tcp_zc_rx_msg_t msg;
    uct_tcp_zc_rx_event_t event;
    unsigned am_flags;

    if (conn->rx.elem == NULL) {
        /* nothing buffered */
        return 0;
    }

    event = uct_tcp_zc_rx_parse(&conn->rx.parser,
                                conn->rx.buf + conn->rx.head,
                                conn->rx.tail - conn->rx.head, &msg);
    conn->rx.head += msg.consumed;

    switch (event) {
    case UCT_TCP_ZC_RX_EV_NONE:
        return 0;
    case UCT_TCP_ZC_RX_EV_HELLO:
    case UCT_TCP_ZC_RX_EV_VERSION:
        /* for connection setup */
        *hello_event = event;
        *hello       = msg.hello;
        return 2;
    case UCT_TCP_ZC_RX_EV_AM:
        uct_iface_trace_am(&conn->iface->super, UCT_AM_TRACE_TYPE_RECV,
                           msg.hdr.am_id, msg.data, msg.length, "RECV fd %d",
                           conn->fd);
        /* the handler may keep the data of a large message, with the
         * buffer; a small one is cheaper to copy than a buffer to hold */
        am_flags = (msg.length >= (conn->iface->config.seg_size /
                                   UCT_TCP_ZC_AM_DESC_FRACTION)) ?
                   UCT_CB_PARAM_FLAG_DESC : 0;
        if ((uct_iface_invoke_am(&conn->iface->super, msg.hdr.am_id,
                                 (void*)msg.data, msg.length, am_flags) ==
             UCS_INPROGRESS) &&
            (uct_tcp_zc_conn_rx_buf_keep(conn, (void*)msg.data) != UCS_OK)) {
            uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY, UCS_LOG_LEVEL_ERROR,
                                 "no memory for a receive buffer");
            return -1;
        }
        return 1;
    case UCT_TCP_ZC_RX_EV_PUT:
    case UCT_TCP_ZC_RX_EV_GET_REQ:
        return (uct_tcp_zc_conn_rx_rma(conn, event, &msg.hdr, &msg.rma) ==
                0) ? 1 : -1;
    case UCT_TCP_ZC_RX_EV_PUT_ACK:
    case UCT_TCP_ZC_RX_EV_GET_RESP:
    case UCT_TCP_ZC_RX_EV_RMA_ERROR:
        return (uct_tcp_zc_conn_rx_answer(conn, event, &msg.hdr) == 0) ? 1 :
                                                                        -1;
    case UCT_TCP_ZC_RX_EV_KEEPALIVE:
        return 1;
    case UCT_TCP_ZC_RX_EV_DATA_CONN:
        uct_tcp_zc_dc_announced(conn, msg.dc.port);
        return 1;
    case UCT_TCP_ZC_RX_EV_EP_CLOSED:
        ucs_debug("tcp_zc conn %p fd %d: the peer's endpoint closed", conn,
                  conn->fd);
        if (conn->ep == NULL) {
            /* nobody uses the connection any more */
            uct_tcp_zc_conn_release(conn);
            return -1;
        }
        return 1;
    case UCT_TCP_ZC_RX_EV_DATA:
        uct_tcp_zc_conn_rx_copy(conn, msg.data, msg.length);
        if (!msg.last) {
            return 1;
        }
        return (uct_tcp_zc_conn_rx_data_done(conn) == 0) ? 1 : -1;
    default:
        uct_tcp_zc_conn_protocol_error(conn, msg.error);
        return -1;
    }
}

/*
 * Receive and handle messages; returns -1 if conn failed. Every complete
 * message in the buffer is handled; the socket is read a bounded number of
 * times, so one busy connection does not starve the others (the socket stays
 * readable for the next progress).
 */
static int uct_tcp_zc_conn_rx_handle(uct_tcp_zc_conn_t *conn,
                                     uct_tcp_zc_rx_event_t *hello_event,
                                     uct_tcp_zc_hello_t *hello)
{
    unsigned fills = 0;
    int drained    = 0; /* a short read emptied the socket */
    ssize_t ret;
    int done;

    for (;;) {
        done = uct_tcp_zc_conn_rx_msg(conn, hello_event, hello);
        if ((done < 0) || (done == 2)) {
            return done;
        } else if (done > 0) {
            continue;
        }

        if (uct_tcp_zc_rx_data_left(&conn->rx.parser) > 0) {
            /* the buffer is empty and data follow, or the data come on
             * the data connection while messages wait in the buffer */
            done = uct_tcp_zc_conn_rx_direct(conn);
            if (done <= 0) {
                return done;
            } else if (uct_tcp_zc_conn_rx_data_done(conn) < 0) {
                return -1;
            }
            continue;
        }

        /* the buffer holds no complete message; the socket is level
         * triggered, so data which comes after a short read is reported */
        if (drained || (fills++ == UCT_TCP_ZC_RX_FILLS_MAX)) {
            return 0;
        }

        ret = uct_tcp_zc_conn_rx_fill(conn, &drained);
        if (ret <= 0) {
            return ret;
        }
    }
}

/**
 * Receive and handle the peer's messages, up to its hello, which the caller
 * handles (connection setup) before it calls again.
 *
 * @return 0 if the socket has no more for now, 1 at a hello (hello_event,
 *         hello), -1 if conn failed (and may be freed).
 */
int uct_tcp_zc_conn_progress_rx(uct_tcp_zc_conn_t *conn,
                                uct_tcp_zc_rx_event_t *hello_event,
                                uct_tcp_zc_hello_t *hello)
{
    int ret = uct_tcp_zc_conn_rx_handle(conn, hello_event, hello);

    if (ret == 2) {
        return 1;
    } else if ((ret == 0) && (conn->rx.head == conn->rx.tail)) {
        /* all handled: the buffer goes back */
        uct_tcp_zc_conn_rx_buf_put(conn);
    }

    return ret;
}
