/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc.h"

#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>
#include <sys/socket.h>


/*
 * Connection: socket I/O, the receive state machine and the send queue.
 */


/* Socket reads per connection and progress call */
#define UCT_TCP_ZC_RX_FILLS_MAX 16


/* Headers which precede the data of a received message */
#define UCT_TCP_ZC_RX_HDRS_MAX \
    (sizeof(uct_tcp_zc_hdr_t) + sizeof(uct_tcp_zc_rma_hdr_t))


static size_t uct_tcp_zc_conn_rx_buf_size(const uct_tcp_zc_iface_t *iface)
{
    return UCT_TCP_ZC_RX_HDRS_MAX + iface->config.seg_size;
}

static const char *uct_tcp_zc_conn_str(const uct_tcp_zc_conn_t *conn,
                                       char *buf, size_t max)
{
    char addr_str[UCS_SOCKADDR_STRING_LEN];

    ucs_snprintf_zero(buf, max, "%s conn %p fd %d %s %s",
                      (conn->ep != NULL) ? "ep" : "accepted", conn, conn->fd,
                      (conn->ep != NULL) ? "to" : "from",
                      ucs_sockaddr_str((const struct sockaddr*)&conn->peer_addr,
                                       addr_str, sizeof(addr_str)));
    return buf;
}

ucs_status_t uct_tcp_zc_conn_init(uct_tcp_zc_conn_t *conn,
                                  uct_tcp_zc_iface_t *iface,
                                  uct_tcp_zc_ep_t *ep, int fd,
                                  uct_tcp_zc_conn_state_t state)
{
    ucs_status_t status;

    conn->fd       = fd;
    conn->state    = state;
    conn->iface    = iface;
    conn->ep       = ep;
    conn->events   = 0;
    conn->rx.state      = (ep == NULL) ? UCT_TCP_ZC_RX_HELLO :
                                         UCT_TCP_ZC_RX_HDR;
    conn->hello_pending = 0;
    conn->rx.head  = 0;
    conn->rx.tail  = 0;
    ucs_queue_head_init(&conn->tx_queue);
    ucs_queue_head_init(&conn->ans_queue);

    conn->rx.buf = ucs_malloc(uct_tcp_zc_conn_rx_buf_size(iface),
                              "tcp_zc rx buffer");
    if (conn->rx.buf == NULL) {
        ucs_error("failed to allocate tcp_zc receive buffer");
        return UCS_ERR_NO_MEMORY;
    }

    status = ucs_sys_fcntl_modfl(fd, O_NONBLOCK, 0);
    if (status != UCS_OK) {
        goto err_free;
    }

    if (iface->config.nodelay) {
        status = ucs_socket_setopt(fd, IPPROTO_TCP, TCP_NODELAY,
                                   &iface->config.nodelay,
                                   sizeof(iface->config.nodelay));
        if (status != UCS_OK) {
            goto err_free;
        }
    }

    /* a connecting socket waits for writability to learn the result;
     * accepted connections are added by the async thread, so conn must be
     * complete before its events may be handled */
    conn->events = UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR;
    if (state == UCT_TCP_ZC_CONN_CONNECTING) {
        conn->events |= UCS_EVENT_SET_EVWRITE;
    }

    status = ucs_event_set_add(iface->event_set, fd, conn->events, conn);
    if (status != UCS_OK) {
        goto err_free;
    }

    return UCS_OK;

err_free:
    ucs_free(conn->rx.buf);
    return status;
}

ucs_status_t uct_tcp_zc_conn_set_events(uct_tcp_zc_conn_t *conn,
                                        ucs_event_set_types_t events)
{
    ucs_status_t status;

    if ((conn->events == events) || (conn->state == UCT_TCP_ZC_CONN_FAILED)) {
        return UCS_OK;
    }

    status = ucs_event_set_mod(conn->iface->event_set, conn->fd, events, conn);
    if (status == UCS_OK) {
        conn->events = events;
    }

    return status;
}

int uct_tcp_zc_conn_is_idle(const uct_tcp_zc_conn_t *conn)
{
    return ucs_queue_is_empty(&conn->tx_queue) &&
           ucs_queue_is_empty(&conn->ans_queue);
}

/* Complete a descriptor which left the queues */
static void uct_tcp_zc_tx_completed(uct_tcp_zc_tx_t *tx, ucs_status_t status)
{
    if (tx->comp != NULL) {
        uct_invoke_completion(tx->comp, status);
    }
    ucs_free(tx->bounce);
    ucs_free(tx);
}

static void uct_tcp_zc_conn_purge_queue(ucs_queue_head_t *queue,
                                        ucs_status_t status)
{
    uct_tcp_zc_tx_t *tx;

    ucs_queue_for_each_extract(tx, queue, queue, 1) {
        uct_tcp_zc_tx_completed(tx, status);
    }
}

/* Close the socket; outstanding operations complete with the given status */
void uct_tcp_zc_conn_close(uct_tcp_zc_conn_t *conn, ucs_status_t status)
{
    char buf[256];
    unsigned i;

    if (conn->fd != -1) {
        ucs_event_set_del(conn->iface->event_set, conn->fd);
        /* closing with unread data would send a reset, which drops what
         * this side wrote and the peer did not get yet: read answers that
         * are already here, a bounded number of times */
        for (i = 0; i < 64; ++i) {
            if (recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0) {
                break;
            }
        }
        ucs_close_fd(&conn->fd);
    }

    conn->state  = UCT_TCP_ZC_CONN_FAILED;
    conn->events = 0;
    uct_tcp_zc_conn_purge_queue(&conn->tx_queue, status);
    uct_tcp_zc_conn_purge_queue(&conn->ans_queue, status);
}

void uct_tcp_zc_conn_cleanup(uct_tcp_zc_conn_t *conn, ucs_status_t status)
{
    uct_tcp_zc_conn_close(conn, status);
    ucs_free(conn->rx.buf);
    conn->rx.buf = NULL;
}

/*
 * The connection failed: close it and tell its owner. Accepted connections
 * are freed, so the caller must not touch conn afterwards.
 */
static void uct_tcp_zc_conn_fail(uct_tcp_zc_conn_t *conn, ucs_status_t status,
                                 ucs_log_level_t log_level, const char *reason)
{
    char str[256];

    ucs_log(log_level, "tcp_zc %s: %s",
            uct_tcp_zc_conn_str(conn, str, sizeof(str)), reason);

    if (conn->ep != NULL) {
        uct_tcp_zc_conn_close(conn, status);
        uct_tcp_zc_ep_failed(conn->ep, status);
    } else {
        uct_tcp_zc_iface_conn_failed(conn);
    }
}

static void uct_tcp_zc_conn_io_failed(uct_tcp_zc_conn_t *conn,
                                      const char *op, int err)
{
    char reason[128];

    ucs_snprintf_zero(reason, sizeof(reason), "%s failed: %s", op,
                      strerror(err));
    uct_tcp_zc_conn_fail(conn, UCS_ERR_ENDPOINT_TIMEOUT,
                         (conn->ep != NULL) ? UCS_LOG_LEVEL_DIAG :
                                              UCS_LOG_LEVEL_DEBUG,
                         reason);
}

static void uct_tcp_zc_conn_protocol_error(uct_tcp_zc_conn_t *conn,
                                           const char *reason)
{
    char msg[128];

    ucs_snprintf_zero(msg, sizeof(msg), "protocol error: %s", reason);
    uct_tcp_zc_conn_fail(conn, UCS_ERR_IO_ERROR, UCS_LOG_LEVEL_ERROR, msg);
}

/* Complete flush markers at the head of the answer queue */
static void uct_tcp_zc_conn_complete_flushes(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx;

    while (!ucs_queue_is_empty(&conn->ans_queue)) {
        tx = ucs_queue_head_elem_non_empty(&conn->ans_queue, uct_tcp_zc_tx_t,
                                           queue);
        if (tx->kind != UCT_TCP_ZC_TX_FLUSH) {
            break;
        }

        ucs_queue_pull_non_empty(&conn->ans_queue);
        uct_tcp_zc_tx_completed(tx, UCS_OK);
    }
}

/* A descriptor is fully written: complete it or wait for the answer */
static void uct_tcp_zc_conn_tx_sent(uct_tcp_zc_conn_t *conn,
                                    uct_tcp_zc_tx_t *tx)
{
    if ((tx->kind == UCT_TCP_ZC_TX_SEND) ||
        ((tx->kind == UCT_TCP_ZC_TX_FLUSH) &&
         ucs_queue_is_empty(&conn->ans_queue))) {
        uct_tcp_zc_tx_completed(tx, UCS_OK);
    } else {
        ucs_queue_push(&conn->ans_queue, &tx->queue);
    }
}

/* Advance the iov of tx over sent bytes; returns whether all was sent */
static int uct_tcp_zc_tx_advance(uct_tcp_zc_tx_t *tx, size_t sent)
{
    struct iovec *iov;

    while (tx->iov_index < tx->iovcnt) {
        iov = &tx->iov[tx->iov_index];
        if (sent < iov->iov_len) {
            iov->iov_base  = UCS_PTR_BYTE_OFFSET(iov->iov_base, sent);
            iov->iov_len  -= sent;
            return 0;
        }

        sent -= iov->iov_len;
        ++tx->iov_index;
    }

    ucs_assert(sent == 0);
    return 1;
}

/**
 * Write an iov to the socket without blocking.
 *
 * @return bytes written (maybe 0), or -1 with errno on a socket error.
 */
ssize_t uct_tcp_zc_conn_sendv(uct_tcp_zc_conn_t *conn,
                              const struct iovec *iov, unsigned iovcnt)
{
    struct msghdr msg = {
        .msg_iov    = (struct iovec*)iov,
        .msg_iovlen = iovcnt
    };
    ssize_t ret;

    do {
        ret = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while ((ret < 0) && (errno == EINTR));

    if ((ret < 0) && ((errno == EAGAIN) || (errno == EWOULDBLOCK))) {
        return 0;
    }

    return ret;
}

/*
 * Write queued descriptors until the socket is full.
 * Returns UCS_OK, or an error status if the connection failed (and maybe
 * was freed).
 */
ucs_status_t uct_tcp_zc_conn_progress_tx(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx;
    ssize_t sent;

    while (!ucs_queue_is_empty(&conn->tx_queue)) {
        tx = ucs_queue_head_elem_non_empty(&conn->tx_queue, uct_tcp_zc_tx_t,
                                           queue);
        if (tx->iov_index < tx->iovcnt) {
            sent = uct_tcp_zc_conn_sendv(conn, &tx->iov[tx->iov_index],
                                         tx->iovcnt - tx->iov_index);
            if (sent < 0) {
                uct_tcp_zc_conn_io_failed(conn, "sendmsg", errno);
                return UCS_ERR_ENDPOINT_TIMEOUT;
            }

            if (!uct_tcp_zc_tx_advance(tx, sent)) {
                return uct_tcp_zc_conn_set_events(
                        conn, conn->events | UCS_EVENT_SET_EVWRITE);
            }
        }

        ucs_queue_pull_non_empty(&conn->tx_queue);
        uct_tcp_zc_conn_tx_sent(conn, tx);
    }

    uct_tcp_zc_conn_set_events(conn, conn->events & ~UCS_EVENT_SET_EVWRITE);
    if (conn->ep != NULL) {
        uct_tcp_zc_ep_tx_drained(conn->ep);
    }

    return UCS_OK;
}

/**
 * Send a message made of a header block and user data: directly if nothing
 * is queued, else (or for the rest of a partial write) from a descriptor.
 *
 * @param hdr, hdr_len    Headers; copied into the descriptor if queued.
 * @param iov, iovcnt     Data; referenced by the descriptor if queued.
 * @param kind, comp      What completes the operation.
 * @param tx_p            If not NULL, the descriptor is always created (the
 *                        operation waits for an answer) and returned.
 *
 * @return UCS_OK if sent and complete, UCS_INPROGRESS if queued,
 *         or an error.
 */
ucs_status_t
uct_tcp_zc_conn_send(uct_tcp_zc_conn_t *conn, const void *hdr, size_t hdr_len,
                     const struct iovec *iov, unsigned iovcnt,
                     uct_tcp_zc_tx_kind_t kind, uct_completion_t *comp,
                     uct_tcp_zc_tx_t **tx_p)
{
    size_t pre_len = conn->hello_pending ? sizeof(conn->hello) : 0;
    struct iovec vec[UCT_TCP_ZC_MAX_IOV + 3];
    uct_tcp_zc_tx_t *tx;
    unsigned i, vec_cnt;
    size_t total;
    ssize_t sent;
    int can_send;

    ucs_assert(iovcnt <= UCT_TCP_ZC_MAX_IOV + 1);

    /* the hello, if not sent yet, and the headers */
    vec_cnt = 0;
    if (pre_len > 0) {
        vec[vec_cnt].iov_base   = &conn->hello;
        vec[vec_cnt++].iov_len  = pre_len;
    }
    vec[vec_cnt].iov_base   = (void*)hdr;
    vec[vec_cnt++].iov_len  = hdr_len;
    total                   = pre_len + hdr_len;
    for (i = 0; i < iovcnt; ++i) {
        if (iov[i].iov_len != 0) {
            vec[vec_cnt++]  = iov[i];
            total          += iov[i].iov_len;
        }
    }

    can_send = (conn->state == UCT_TCP_ZC_CONN_CONNECTED) &&
               ucs_queue_is_empty(&conn->tx_queue);
    sent     = 0;
    if (can_send) {
        sent = uct_tcp_zc_conn_sendv(conn, vec, vec_cnt);
        if (sent < 0) {
            uct_tcp_zc_conn_io_failed(conn, "sendmsg", errno);
            return UCS_ERR_ENDPOINT_TIMEOUT;
        }
    }

    if ((kind == UCT_TCP_ZC_TX_SEND) && (sent == (ssize_t)total)) {
        /* all written at once and nothing to wait for */
        conn->hello_pending = 0;
        return UCS_OK;
    }

    tx = ucs_malloc(sizeof(*tx) + pre_len + hdr_len, "tcp_zc tx");
    if (tx == NULL) {
        ucs_error("failed to allocate tcp_zc send descriptor");
        if (sent > 0) {
            /* the stream holds part of a message: it cannot go on */
            uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY, UCS_LOG_LEVEL_ERROR,
                                 "no memory for a partly written message");
        }
        return UCS_ERR_NO_MEMORY;
    }

    /* the hello now precedes the rest in the stream */
    conn->hello_pending = 0;

    /* headers (and hello) are copied, data is referenced */
    memcpy(tx->data, vec[0].iov_base, pre_len);
    memcpy(tx->data + pre_len, hdr, hdr_len);
    if (pre_len > 0) {
        vec[0].iov_base = tx->data;
    }
    vec[(pre_len > 0) ? 1 : 0].iov_base = tx->data + pre_len;
    memcpy(tx->iov, vec, sizeof(*vec) * vec_cnt);
    tx->kind       = kind;
    tx->comp       = comp;
    tx->iovcnt     = vec_cnt;
    tx->iov_index  = 0;
    tx->get_iovcnt = 0;
    tx->unpack_cb  = NULL;
    tx->bounce     = NULL;

    if (uct_tcp_zc_tx_advance(tx, sent)) {
        /* all written at once; waits for its answer, in order */
        ucs_queue_push(&conn->ans_queue, &tx->queue);
    } else {
        ucs_queue_push(&conn->tx_queue, &tx->queue);
        if (can_send) {
            uct_tcp_zc_conn_set_events(conn,
                                       conn->events | UCS_EVENT_SET_EVWRITE);
        }
    }

    if (tx_p != NULL) {
        *tx_p = tx;
    }
    return UCS_INPROGRESS;
}

/* Queue a flush marker; UCS_OK if nothing is outstanding */
ucs_status_t uct_tcp_zc_conn_flush(uct_tcp_zc_conn_t *conn,
                                   uct_completion_t *comp)
{
    uct_tcp_zc_tx_t *tx;

    if (uct_tcp_zc_conn_is_idle(conn)) {
        return UCS_OK;
    }

    if (comp == NULL) {
        return UCS_INPROGRESS;
    }

    tx = ucs_malloc(sizeof(*tx), "tcp_zc flush");
    if (tx == NULL) {
        ucs_error("failed to allocate tcp_zc flush descriptor");
        return UCS_ERR_NO_MEMORY;
    }

    tx->kind       = UCT_TCP_ZC_TX_FLUSH;
    tx->comp       = comp;
    tx->iovcnt     = 0;
    tx->iov_index  = 0;
    tx->get_iovcnt = 0;
    tx->unpack_cb  = NULL;
    tx->bounce     = NULL;
    ucs_queue_push(ucs_queue_is_empty(&conn->tx_queue) ? &conn->ans_queue :
                                                         &conn->tx_queue,
                   &tx->queue);
    return UCS_INPROGRESS;
}

/*
 * Receive side
 */

/* Read from the socket into the buffer; returns bytes read, 0 if none is
 * available, or -1 if the connection failed (and maybe was freed) */
static ssize_t uct_tcp_zc_conn_recv(uct_tcp_zc_conn_t *conn, void *buf,
                                    size_t length)
{
    ssize_t ret;

    do {
        ret = recv(conn->fd, buf, length, MSG_DONTWAIT);
    } while ((ret < 0) && (errno == EINTR));

    if (ret > 0) {
        return ret;
    } else if (ret == 0) {
        uct_tcp_zc_conn_fail(conn, UCS_ERR_ENDPOINT_TIMEOUT,
                             (conn->ep != NULL) ? UCS_LOG_LEVEL_DIAG :
                                                  UCS_LOG_LEVEL_DEBUG,
                             "closed by the peer");
        return -1;
    } else if ((errno == EAGAIN) || (errno == EWOULDBLOCK)) {
        return 0;
    }

    uct_tcp_zc_conn_io_failed(conn, "recv", errno);
    return -1;
}

/* Fill the receive buffer with what the socket has */
static ssize_t uct_tcp_zc_conn_rx_fill(uct_tcp_zc_conn_t *conn)
{
    size_t size = uct_tcp_zc_conn_rx_buf_size(conn->iface);
    ssize_t ret;

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
        conn->rx.tail += ret;
    }

    return ret;
}

/*
 * Receive message data straight into conn->rx.iov: first what the buffer
 * holds, then from the socket. Returns 1 when all data arrived, 0 if more is
 * needed, -1 if the connection failed.
 */
static int uct_tcp_zc_conn_rx_data(uct_tcp_zc_conn_t *conn)
{
    struct iovec *iov;
    size_t length;
    ssize_t ret;

    while (conn->rx.remaining > 0) {
        ucs_assert(conn->rx.iovcnt > 0);
        iov    = conn->rx.iov;
        length = ucs_min(iov->iov_len, conn->rx.remaining);
        if (conn->rx.head < conn->rx.tail) {
            length = ucs_min(length, conn->rx.tail - conn->rx.head);
            memcpy(iov->iov_base, conn->rx.buf + conn->rx.head, length);
            conn->rx.head += length;
        } else {
            ret = uct_tcp_zc_conn_recv(conn, iov->iov_base, length);
            if (ret <= 0) {
                return (int)ret;
            }
            length = ret;
        }

        iov->iov_base       = UCS_PTR_BYTE_OFFSET(iov->iov_base, length);
        iov->iov_len       -= length;
        conn->rx.remaining -= length;
        if (iov->iov_len == 0) {
            ++conn->rx.iov;
            --conn->rx.iovcnt;
        }
    }

    return 1;
}

/* Data of a PUT arrived: acknowledge it */
static ucs_status_t uct_tcp_zc_conn_put_done(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_hdr_t ack = {
        .type    = UCT_TCP_ZC_MSG_PUT_ACK,
        .version = UCT_TCP_ZC_VERSION
    };
    ucs_status_t status;

    status = uct_tcp_zc_conn_send(conn, &ack, sizeof(ack), NULL, 0,
                                  UCT_TCP_ZC_TX_SEND, NULL, NULL);
    return UCS_STATUS_IS_ERR(status) ? status : UCS_OK;
}

/* Response data of a GET arrived: complete the head of the answer queue */
static void uct_tcp_zc_conn_get_done(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx = ucs_queue_pull_elem_non_empty(&conn->ans_queue,
                                                        uct_tcp_zc_tx_t,
                                                        queue);

    if (tx->unpack_cb != NULL) {
        tx->unpack_cb(tx->unpack_arg, tx->bounce, tx->get_length);
    }

    uct_tcp_zc_tx_completed(tx, UCS_OK);
    uct_tcp_zc_conn_complete_flushes(conn);
}

/* Handle a PUT or GET request; returns 0 on success, -1 if conn failed */
static int uct_tcp_zc_conn_rx_rma(uct_tcp_zc_conn_t *conn,
                                  const uct_tcp_zc_hdr_t *hdr,
                                  const uct_tcp_zc_rma_hdr_t *rma)
{
    uct_tcp_zc_md_t *md = ucs_derived_of(conn->iface->super.md,
                                         uct_tcp_zc_md_t);
    uct_tcp_zc_hdr_t resp = {
        .type    = UCT_TCP_ZC_MSG_GET_RESP,
        .version = UCT_TCP_ZC_VERSION
    };
    struct iovec iov;
    ucs_status_t status;
    void *ptr;

    if (!uct_tcp_zc_rma_hdr_check(hdr, rma)) {
        uct_tcp_zc_conn_protocol_error(conn, "invalid RMA header");
        return -1;
    }

    if (rma->length == 0) {
        /* nothing is accessed: no registration needed */
        ptr = NULL;
    } else if (uct_tcp_zc_md_check_access(md, rma->key, rma->address,
                                          rma->length, &ptr) != UCS_OK) {
        uct_tcp_zc_conn_protocol_error(conn, "remote access outside of a "
                                             "registered memory region");
        return -1;
    }

    if (hdr->type == UCT_TCP_ZC_MSG_PUT) {
        /* the data which follows goes straight to the target memory */
        conn->rx.state          = UCT_TCP_ZC_RX_PUT_DATA;
        conn->rx.remaining      = rma->length;
        conn->rx.iovcnt         = 1;
        conn->rx.iov            = &conn->rx.put_iov;
        conn->rx.put_iov.iov_base = ptr;
        conn->rx.put_iov.iov_len  = rma->length;

        return 0;
    }

    /* GET: answer with the data, sent from the target memory */
    resp.length  = rma->length;
    iov.iov_base = ptr;
    iov.iov_len  = rma->length;
    status = uct_tcp_zc_conn_send(conn, &resp, sizeof(resp), &iov, 1,
                                  UCT_TCP_ZC_TX_SEND, NULL, NULL);
    return UCS_STATUS_IS_ERR(status) ? -1 : 0;
}

/* Handle an answer header on a connection this side opened */
static int uct_tcp_zc_conn_rx_answer(uct_tcp_zc_conn_t *conn,
                                     const uct_tcp_zc_hdr_t *hdr)
{
    uct_tcp_zc_tx_kind_t expected = (hdr->type == UCT_TCP_ZC_MSG_PUT_ACK) ?
                                            UCT_TCP_ZC_TX_PUT :
                                            UCT_TCP_ZC_TX_GET;
    uct_tcp_zc_tx_t *tx;

    if (ucs_queue_is_empty(&conn->ans_queue)) {
        uct_tcp_zc_conn_protocol_error(conn, "unexpected answer");
        return -1;
    }

    tx = ucs_queue_head_elem_non_empty(&conn->ans_queue, uct_tcp_zc_tx_t,
                                       queue);
    if (tx->kind != expected) {
        uct_tcp_zc_conn_protocol_error(conn, "answer of a wrong type");
        return -1;
    }

    if (expected == UCT_TCP_ZC_TX_PUT) {
        ucs_queue_pull_non_empty(&conn->ans_queue);
        uct_tcp_zc_tx_completed(tx, UCS_OK);
        uct_tcp_zc_conn_complete_flushes(conn);
        return 0;
    }

    if (hdr->length != tx->get_length) {
        uct_tcp_zc_conn_protocol_error(conn, "GET response length mismatch");
        return -1;
    }

    conn->rx.state     = UCT_TCP_ZC_RX_GET_DATA;
    conn->rx.remaining = hdr->length;
    conn->rx.iov       = tx->get_iov;
    conn->rx.iovcnt    = tx->get_iovcnt;
    return 0;
}

/*
 * Handle one complete message at the head of the receive buffer.
 * Returns 1 if handled, 0 if more bytes are needed, -1 if conn failed.
 */
static int uct_tcp_zc_conn_rx_msg(uct_tcp_zc_conn_t *conn)
{
    size_t avail       = conn->rx.tail - conn->rx.head;
    uint8_t *ptr       = conn->rx.buf + conn->rx.head;
    int is_request     = (conn->ep == NULL);
    uct_tcp_zc_hdr_t hdr;
    uct_tcp_zc_rma_hdr_t rma;
    ssize_t ext_len;
    ucs_status_t status;

    if (conn->rx.state == UCT_TCP_ZC_RX_HELLO) {
        if (avail < sizeof(conn->hello)) {
            return 0;
        }

        memcpy(&conn->hello, ptr, sizeof(conn->hello));
        if (!uct_tcp_zc_hello_check(&conn->hello)) {
            uct_tcp_zc_conn_protocol_error(conn, "invalid hello");
            return -1;
        }

        ucs_debug("tcp_zc conn %p fd %d: hello from iface port %u", conn,
                  conn->fd, ntohs(conn->hello.port));
        conn->rx.head  += sizeof(conn->hello);
        conn->rx.state  = UCT_TCP_ZC_RX_HDR;
        return 1;
    }

    if (avail < sizeof(hdr)) {
        return 0;
    }

    memcpy(&hdr, ptr, sizeof(hdr));
    ext_len = uct_tcp_zc_hdr_check(&hdr, is_request,
                                   conn->iface->config.seg_size);
    if (ext_len < 0) {
        uct_tcp_zc_conn_protocol_error(conn, "invalid message header");
        return -1;
    }

    if (hdr.type == UCT_TCP_ZC_MSG_AM) {
        if (avail < (sizeof(hdr) + hdr.length)) {
            return 0;
        }

        conn->rx.head += sizeof(hdr) + hdr.length;
        uct_iface_trace_am(&conn->iface->super, UCT_AM_TRACE_TYPE_RECV,
                           hdr.am_id, ptr + sizeof(hdr), hdr.length,
                           "RECV fd %d", conn->fd);
        status = uct_iface_invoke_am(&conn->iface->super, hdr.am_id,
                                     ptr + sizeof(hdr), hdr.length, 0);
        ucs_assert(status == UCS_OK);
        return 1;
    }

    if (avail < (sizeof(hdr) + ext_len)) {
        return 0;
    }

    conn->rx.head += sizeof(hdr) + ext_len;
    conn->rx.hdr   = hdr;

    switch (hdr.type) {
    case UCT_TCP_ZC_MSG_PUT:
    case UCT_TCP_ZC_MSG_GET_REQ:
        memcpy(&rma, ptr + sizeof(hdr), sizeof(rma));
        return (uct_tcp_zc_conn_rx_rma(conn, &hdr, &rma) == 0) ? 1 : -1;
    case UCT_TCP_ZC_MSG_PUT_ACK:
    case UCT_TCP_ZC_MSG_GET_RESP:
        return (uct_tcp_zc_conn_rx_answer(conn, &hdr) == 0) ? 1 : -1;
    case UCT_TCP_ZC_MSG_KEEPALIVE:
        return 1;
    default:
        ucs_fatal("unexpected message type %d", hdr.type);
    }
}

/*
 * Receive and handle messages; returns -1 if conn failed. Every complete
 * message in the buffer is handled; the socket is read a bounded number of
 * times, so one busy connection does not starve the others (the socket stays
 * readable for the next progress).
 */
static int uct_tcp_zc_conn_progress_rx(uct_tcp_zc_conn_t *conn)
{
    unsigned fills = 0;
    ssize_t ret;
    int done;

    for (;;) {
        if ((conn->rx.state == UCT_TCP_ZC_RX_PUT_DATA) ||
            (conn->rx.state == UCT_TCP_ZC_RX_GET_DATA)) {
            done = uct_tcp_zc_conn_rx_data(conn);
            if (done <= 0) {
                return done;
            }

            if (conn->rx.state == UCT_TCP_ZC_RX_PUT_DATA) {
                conn->rx.state = UCT_TCP_ZC_RX_HDR;
                if (uct_tcp_zc_conn_put_done(conn) != UCS_OK) {
                    return -1;
                }
            } else {
                conn->rx.state = UCT_TCP_ZC_RX_HDR;
                uct_tcp_zc_conn_get_done(conn);
            }
            continue;
        }

        done = uct_tcp_zc_conn_rx_msg(conn);
        if (done < 0) {
            return -1;
        } else if (done > 0) {
            continue;
        }

        /* the buffer holds no complete message */
        if (fills++ == UCT_TCP_ZC_RX_FILLS_MAX) {
            return 0;
        }

        ret = uct_tcp_zc_conn_rx_fill(conn);
        if (ret <= 0) {
            return ret;
        }
    }
}

static void uct_tcp_zc_conn_connected(uct_tcp_zc_conn_t *conn)
{
    int error       = 0;
    socklen_t len   = sizeof(error);
    char reason[128];

    if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) {
        error = errno;
    }

    if (error != 0) {
        ucs_snprintf_zero(reason, sizeof(reason), "connect failed: %s",
                          strerror(error));
        uct_tcp_zc_conn_fail(conn, UCS_ERR_UNREACHABLE, UCS_LOG_LEVEL_DIAG,
                             reason);
        return;
    }

    conn->state = UCT_TCP_ZC_CONN_CONNECTED;
    uct_tcp_zc_conn_progress_tx(conn);
}

void uct_tcp_zc_conn_handle_events(uct_tcp_zc_conn_t *conn,
                                   ucs_event_set_types_t events)
{
    if (conn->state == UCT_TCP_ZC_CONN_CONNECTING) {
        if (events & (UCS_EVENT_SET_EVWRITE | UCS_EVENT_SET_EVERR)) {
            uct_tcp_zc_conn_connected(conn);
        }
        return;
    }

    if (conn->state != UCT_TCP_ZC_CONN_CONNECTED) {
        return;
    }

    if (events & (UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR)) {
        if (uct_tcp_zc_conn_progress_rx(conn) < 0) {
            return;
        }
    }

    if ((events & UCS_EVENT_SET_EVWRITE) &&
        (conn->state == UCT_TCP_ZC_CONN_CONNECTED)) {
        uct_tcp_zc_conn_progress_tx(conn);
    }
}
