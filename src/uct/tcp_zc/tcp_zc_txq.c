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


/*
 * Send queue of a connection: requests and answers, answers first at every
 * message boundary, requests which wait for answers, flush markers.
 */

/* The answer of the PUT or GET at the head of the wait queue arrived */
uct_tcp_zc_tx_t *uct_tcp_zc_conn_pull_answered(uct_tcp_zc_conn_t *conn)
{
    ucs_assert(conn->rma_outstanding > 0);
    ucs_assert(conn->rma_written > 0);
    --conn->rma_outstanding;
    --conn->rma_written;
    return ucs_queue_pull_elem_non_empty(&conn->wait_queue, uct_tcp_zc_tx_t,
                                         queue);
}

/* Complete flush markers at the head of the wait queue */
void uct_tcp_zc_conn_complete_flushes(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx;

    while (!ucs_queue_is_empty(&conn->wait_queue)) {
        tx = ucs_queue_head_elem_non_empty(&conn->wait_queue,
                                           uct_tcp_zc_tx_t, queue);
        if (tx->kind != UCT_TCP_ZC_TX_FLUSH) {
            break;
        }

        ucs_queue_pull_non_empty(&conn->wait_queue);
        uct_tcp_zc_conn_tx_done(conn, tx);
    }
}

/* A descriptor is fully written: complete it or wait for the answer */
static void uct_tcp_zc_conn_tx_sent(uct_tcp_zc_conn_t *conn,
                                    uct_tcp_zc_tx_t *tx)
{
    switch (tx->kind) {
    case UCT_TCP_ZC_TX_ANSWER:
        uct_tcp_zc_rx_answer_sent(&conn->rx.parser);
        /* fall through */
    case UCT_TCP_ZC_TX_SEND:
    case UCT_TCP_ZC_TX_NOTICE:
        uct_tcp_zc_conn_tx_done(conn, tx);
        break;
    default:
        ucs_queue_push(&conn->wait_queue, &tx->queue);
        uct_tcp_zc_conn_complete_flushes(conn);
        break;
    }
}

static UCS_F_ALWAYS_INLINE ucs_queue_head_t *
uct_tcp_zc_conn_tx_queue(uct_tcp_zc_conn_t *conn, uct_tcp_zc_tx_kind_t kind)
{
    return uct_tcp_zc_tx_is_answer(kind) ? &conn->answer_queue :
                                           &conn->tx_queue;
}

/*
 * The next descriptor to write: the message which is partly written, else
 * answers before requests, so that an answer waits at most for one message
 * (PUT and GET are cut into messages of UCT_TCP_ZC_RMA_SEG_SIZE); PUT and
 * GET requests only while the peer may receive more of them.
 */
static uct_tcp_zc_tx_t *uct_tcp_zc_conn_tx_next(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx;

    if (conn->tx_cur != NULL) {
        return conn->tx_cur;
    }

    if (!ucs_queue_is_empty(&conn->answer_queue)) {
        tx = ucs_queue_head_elem_non_empty(&conn->answer_queue,
                                           uct_tcp_zc_tx_t, queue);
    } else if (!ucs_queue_is_empty(&conn->tx_queue)) {
        tx = ucs_queue_head_elem_non_empty(&conn->tx_queue, uct_tcp_zc_tx_t,
                                           queue);
        if (uct_tcp_zc_tx_is_rma(tx->kind)) {
            if (conn->rma_written >= conn->iface->config.max_rma_outstanding) {
                return NULL;
            }
            ++conn->rma_written;
        }
    } else {
        return NULL;
    }

    if (ucs_unlikely(tx->dc_tx != NULL)) {
        /* its data go on the data connection, in header order */
        uct_tcp_zc_dc_push(conn->dc.tx, tx->dc_tx);
        tx->dc_tx = NULL;
    }

    conn->tx_cur = tx;
    return tx;
}

/* Write the rest of this side's hello; 1 when done, 0 if not yet, -1 with
 * errno on a socket error */
int uct_tcp_zc_conn_write_hello(uct_tcp_zc_conn_t *conn)
{
    struct iovec iov;
    ssize_t sent;

    iov.iov_base = UCS_PTR_BYTE_OFFSET(&conn->hello,
                                       sizeof(conn->hello) - conn->hello_left);
    iov.iov_len  = conn->hello_left;
    sent         = uct_tcp_zc_socket_sendv(conn->fd, &iov, 1, 0);
    if (sent < 0) {
        return -1;
    }

    conn->hello_left -= sent;
    return conn->hello_left == 0;
}

/*
 * Write this side's hello and queued descriptors until the socket is full.
 * Returns UCS_OK, or an error status if the connection failed (and maybe
 * was freed).
 */
ucs_status_t uct_tcp_zc_conn_progress_tx(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_md_t *md = uct_tcp_zc_iface_md(conn->iface);
    uct_tcp_zc_tx_t *tx;
    int ret, locked;

    if (conn->hello_left > 0) {
        ret = uct_tcp_zc_conn_write_hello(conn);
        if (ret < 0) {
            uct_tcp_zc_conn_io_failed(conn, "sendmsg", errno);
            return UCS_ERR_ENDPOINT_TIMEOUT;
        } else if (ret == 0) {
            return uct_tcp_zc_conn_set_events(conn, conn->events |
                                                    UCS_EVENT_SET_EVWRITE);
        }
    }

    if (conn->state != UCT_TCP_ZC_CONN_CONNECTED) {
        /* requests wait for the peer's hello */
        return uct_tcp_zc_conn_set_events(conn, conn->events &
                                                ~UCS_EVENT_SET_EVWRITE);
    }

    while ((tx = uct_tcp_zc_conn_tx_next(conn)) != NULL) {
        /* a GET answer reads the region while it has bytes to write (not
         * once io_uring sends it, or when only its result is due: the
         * region may be gone by then, legitimately) */
        locked = (tx->memh != NULL) &&
                 !(tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY) &&
                 (tx->iov_index < tx->iovcnt);
        if (locked && !uct_tcp_zc_md_access_lock(md, tx->memh)) {
            uct_tcp_zc_conn_fail(conn, UCS_ERR_IO_ERROR, UCS_LOG_LEVEL_ERROR,
                                 "GET from a memory region deregistered "
                                 "meanwhile");
            return UCS_ERR_IO_ERROR;
        }

        ret = uct_tcp_zc_conn_tx_write(conn, tx);
        if (locked) {
            uct_tcp_zc_md_access_unlock(md, tx->memh);
        }
        if (ret < 0) {
            uct_tcp_zc_conn_io_failed(conn, "sendmsg", errno);
            return UCS_ERR_ENDPOINT_TIMEOUT;
        } else if (ret == 0) {
            /* io_uring completes it, or the socket is full */
            return uct_tcp_zc_conn_set_events(
                    conn, (tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY) ?
                                  (conn->events & ~UCS_EVENT_SET_EVWRITE) :
                                  (conn->events | UCS_EVENT_SET_EVWRITE));
        }

        ucs_queue_pull_non_empty(uct_tcp_zc_conn_tx_queue(conn, tx->kind));
        conn->tx_cur = NULL;
        uct_tcp_zc_conn_tx_sent(conn, tx);
    }

    uct_tcp_zc_conn_set_events(conn, conn->events & ~UCS_EVENT_SET_EVWRITE);
    if ((conn->ep != NULL) && ucs_queue_is_empty(&conn->tx_queue)) {
        conn->iface->conn_ops->tx_ready(conn->ep);
    }

    return UCS_OK;
}

static uct_tcp_zc_tx_t *uct_tcp_zc_conn_tx_alloc(uct_tcp_zc_conn_t *conn,
                                                 size_t data_len,
                                                 uct_tcp_zc_tx_kind_t kind,
                                                 uct_completion_t *comp)
{
    uct_tcp_zc_tx_t *tx;

    /* headers, or all of a short or bcopy message */
    tx = ucs_mpool_get_inline((data_len <= UCT_TCP_ZC_TX_HDRS_MAX) ?
                              &conn->iface->tx_mp :
                              &conn->iface->tx_bcopy_mp);
    if (tx == NULL) {
        ucs_error("failed to allocate tcp_zc send descriptor");
        return NULL;
    }

    if (uct_tcp_zc_tx_is_rma(kind)) {
        ++conn->rma_outstanding;
    }

    tx->kind           = kind;
    tx->flags          = 0;
    tx->comp           = comp;
    tx->status         = UCS_OK;
    tx->owner          = NULL;
    tx->memh           = NULL;
    tx->dc_tx          = NULL;
    tx->conn           = conn;
    tx->zc_notifs      = 0;
    tx->zc_notif_bytes = 0;
    tx->iovcnt         = 0;
    tx->iov_index      = 0;
    tx->get_iovcnt     = 0;
    tx->unpack_cb      = NULL;
    tx->bounce         = NULL;
    memset(&tx->msg, 0, sizeof(tx->msg));
    return tx;
}

/* Whether a message of this kind completes once written */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_tx_is_send(uct_tcp_zc_tx_kind_t kind)
{
    return (kind == UCT_TCP_ZC_TX_SEND) || uct_tcp_zc_tx_is_answer(kind);
}

/* A message was written at once, without a descriptor */
static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_conn_sent_at_once(uct_tcp_zc_conn_t *conn,
                             uct_tcp_zc_tx_kind_t kind)
{
    if (kind == UCT_TCP_ZC_TX_ANSWER) {
        uct_tcp_zc_rx_answer_sent(&conn->rx.parser);
    }
}

/* Whether a message of this kind may be written now, keeping the order of
 * the messages queued before it */
static int uct_tcp_zc_conn_can_write(const uct_tcp_zc_conn_t *conn,
                                     uct_tcp_zc_tx_kind_t kind)
{
    if ((conn->state != UCT_TCP_ZC_CONN_CONNECTED) || (conn->tx_cur != NULL) ||
        !ucs_queue_is_empty(&conn->answer_queue)) {
        return 0;
    }

    return uct_tcp_zc_tx_is_answer(kind) ||
           (ucs_queue_is_empty(&conn->tx_queue) &&
            (!uct_tcp_zc_tx_is_rma(kind) ||
             (conn->rma_written < conn->iface->config.max_rma_outstanding)));
}

/**
 * Send a message made of a header block and user data: directly if nothing
 * is queued, else (or for the rest of a partial write) from a descriptor.
 *
 * @param hdr, hdr_len    Headers; copied into the descriptor if queued.
 * @param iov, iovcnt     Data; referenced by the descriptor if queued.
 * @param zcopy           Whether the data may be sent zero-copy: it stays
 *                        untouched until the operation completes.
 * @param kind, comp      What completes the operation.
 * @param tx_p            If not NULL, the descriptor of an operation which
 *                        is queued or waits for an answer (always, for PUT
 *                        and GET); an answer written at once has none.
 *
 * @return UCS_OK if sent and complete, UCS_INPROGRESS if queued,
 *         or an error.
 */
ucs_status_t
uct_tcp_zc_conn_send(uct_tcp_zc_conn_t *conn, const void *hdr, size_t hdr_len,
                     const struct iovec *iov, unsigned iovcnt, int zcopy,
                     uct_tcp_zc_tx_kind_t kind, uct_completion_t *comp,
                     uct_tcp_zc_tx_t **tx_p)
{
    struct iovec vec[UCT_TCP_ZC_MAX_IOV + 3];
    uct_tcp_zc_tx_t *tx;
    unsigned i, vec_cnt;
    size_t total;
    ssize_t sent;
    int can_send, ret;

    ucs_assert(iovcnt <= UCT_TCP_ZC_MAX_IOV + 1);

    vec[0].iov_base = (void*)hdr;
    vec[0].iov_len  = hdr_len;
    vec_cnt         = 1;
    total           = hdr_len;
    for (i = 0; i < iovcnt; ++i) {
        if (iov[i].iov_len != 0) {
            vec[vec_cnt++]  = iov[i];
            total          += iov[i].iov_len;
        }
    }

    can_send = uct_tcp_zc_conn_can_write(conn, kind);
    /* zero-copy pays off only for large data; the kernel may send from the
     * pages of the headers too, so they must live in a descriptor */
    zcopy    = zcopy && (conn->iface->zc.engine != UCT_TCP_ZC_ENGINE_NONE) &&
               ((total - hdr_len) >= conn->iface->zc.thresh);
    if (zcopy && can_send && !uct_tcp_zc_conn_zcopy_ok(conn)) {
        /* this connection sends with copies now: no descriptor needed */
        zcopy = 0;
    }
    sent     = 0;
    if (can_send && !zcopy) {
        sent = uct_tcp_zc_socket_sendv(conn->fd, vec, vec_cnt, 0);
        if (sent < 0) {
            uct_tcp_zc_conn_io_failed(conn, "sendmsg", errno);
            return UCS_ERR_ENDPOINT_TIMEOUT;
        }

        if (uct_tcp_zc_tx_is_send(kind) && (sent == (ssize_t)total)) {
            /* all written at once and nothing to wait for */
            uct_tcp_zc_conn_sent_at_once(conn, kind);
            return UCS_OK;
        }
    }

    tx = uct_tcp_zc_conn_tx_alloc(conn, hdr_len, kind, comp);
    if (tx == NULL) {
        if (sent > 0) {
            /* the stream holds part of a message: it cannot go on */
            uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY, UCS_LOG_LEVEL_ERROR,
                                 "no memory for a partly written message");
        }
        return UCS_ERR_NO_MEMORY;
    }

    if (can_send && uct_tcp_zc_tx_is_rma(kind)) {
        ++conn->rma_written;
    }

    /* headers are copied, data is referenced */
    memcpy(tx->data, hdr, hdr_len);
    vec[0].iov_base = tx->data;
    memcpy(tx->iov, vec, sizeof(*vec) * vec_cnt);
    tx->iovcnt = vec_cnt;
    if (zcopy) {
        tx->flags |= UCT_TCP_ZC_TX_FLAG_ZCOPY;
    }

    if (can_send && zcopy) {
        ret = uct_tcp_zc_conn_tx_write(conn, tx);
        if (ret < 0) {
            /* a failed first write used no zero-copy id */
            ucs_mpool_put_inline(tx);
            uct_tcp_zc_conn_io_failed(conn, "sendmsg", errno);
            return UCS_ERR_ENDPOINT_TIMEOUT;
        }
    } else {
        ret = uct_tcp_zc_tx_advance(tx, sent);
    }

    if (ret == 0) {
        ucs_queue_push(uct_tcp_zc_conn_tx_queue(conn, kind), &tx->queue);
        if (can_send) {
            /* the head of its queue, partly written */
            conn->tx_cur = tx;
            if (!(tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY)) {
                uct_tcp_zc_conn_set_events(conn, conn->events |
                                                 UCS_EVENT_SET_EVWRITE);
            }
        }
    } else if (uct_tcp_zc_tx_is_send(kind) &&
               uct_tcp_zc_tx_zc_done(conn, tx)) {
        /* written with a copy after all: complete now */
        ucs_mpool_put_inline(tx);
        uct_tcp_zc_conn_sent_at_once(conn, kind);
        return UCS_OK;
    } else {
        /* all written at once; waits for its answer or for the kernel */
        uct_tcp_zc_conn_tx_sent(conn, tx);
    }

    if (tx_p != NULL) {
        *tx_p = tx;
    }
    return UCS_INPROGRESS;
}

/**
 * Open this side's data connection to the peer, and announce it: the
 * announcement goes with the answers, so it is ahead of every header of
 * data on it, requests and answers.
 */
ucs_status_t uct_tcp_zc_conn_dc_open(uct_tcp_zc_conn_t *conn)
{
    struct {
        uct_tcp_zc_hdr_t    hdr;
        uct_tcp_zc_dc_hdr_t dc;
    } UCS_S_PACKED msg;
    ucs_status_t status;
    uint16_t port;

    status = uct_tcp_zc_dc_connect(conn, &port);
    if (status != UCS_OK) {
        return status;
    }

    memset(&msg, 0, sizeof(msg));
    msg.hdr.type    = UCT_TCP_ZC_MSG_DATA_CONN;
    msg.hdr.version = UCT_TCP_ZC_VERSION;
    msg.dc.port     = htons(port);
    status          = uct_tcp_zc_conn_send(conn, &msg, sizeof(msg), NULL, 0,
                                           0, UCT_TCP_ZC_TX_NOTICE, NULL,
                                           NULL);
    return UCS_STATUS_IS_ERR(status) ? status : UCS_OK;
}

/**
 * Send a message whose data go on this side's data connection (dc_tx, which
 * this takes): they are queued there when the header starts on conn.
 */
ucs_status_t uct_tcp_zc_conn_send_dc(uct_tcp_zc_conn_t *conn,
                                     const void *hdr, size_t hdr_len,
                                     uct_tcp_zc_tx_t *dc_tx,
                                     uct_tcp_zc_tx_kind_t kind,
                                     uct_completion_t *comp)
{
    uct_tcp_zc_tx_t *tx = NULL;
    ucs_status_t status;

    if (uct_tcp_zc_conn_can_write(conn, kind)) {
        uct_tcp_zc_dc_push(conn->dc.tx, dc_tx);
        return uct_tcp_zc_conn_send(conn, hdr, hdr_len, NULL, 0, 0, kind,
                                    comp, NULL);
    }

    status = uct_tcp_zc_conn_send(conn, hdr, hdr_len, NULL, 0, 0, kind, comp,
                                  &tx);
    if (UCS_STATUS_IS_ERR(status)) {
        uct_tcp_zc_tx_free(conn->iface, dc_tx);
        return status;
    }

    tx->dc_tx = dc_tx;
    return status;
}

/* Answer a request of the peer; UCS_OK if sent or queued */
ucs_status_t
uct_tcp_zc_conn_send_answer(uct_tcp_zc_conn_t *conn,
                            const uct_tcp_zc_hdr_t *hdr,
                            const struct iovec *iov, unsigned iovcnt,
                            uct_tcp_zc_memh_t *memh)
{
    uct_tcp_zc_md_t *md = uct_tcp_zc_iface_md(conn->iface);
    uct_tcp_zc_tx_t *tx = NULL;
    ucs_status_t status;
    int dmabuf;

    if ((memh != NULL) && !uct_tcp_zc_md_access_lock(md, memh)) {
        uct_tcp_zc_md_access_put(md, memh);
        uct_tcp_zc_conn_fail(conn, UCS_ERR_IO_ERROR, UCS_LOG_LEVEL_ERROR,
                             "GET from a memory region deregistered "
                             "meanwhile");
        return UCS_ERR_IO_ERROR;
    }

    /* the pages of a dmabuf mapping are no user pages, which zero-copy
     * sends pin: the CPU copies them */
    dmabuf = (memh != NULL) && uct_tcp_zc_memh_is_dmabuf(memh);
    if (dmabuf) {
        UCT_TCP_ZC_IFACE_STAT(conn->iface, DEVMEM_STAGED_BYTES, hdr->length);
    }

    status = uct_tcp_zc_conn_send(conn, hdr, sizeof(*hdr), iov, iovcnt,
                                  (iovcnt > 0) && !dmabuf,
                                  UCT_TCP_ZC_TX_ANSWER, NULL,
                                  (memh != NULL) ? &tx : NULL);
    if (memh != NULL) {
        uct_tcp_zc_md_access_unlock(md, memh);
        if (status == UCS_INPROGRESS) {
            /* the descriptor reads the region until it is written */
            tx->memh = memh;
        } else {
            uct_tcp_zc_md_access_put(md, memh);
        }
    }

    return UCS_STATUS_IS_ERR(status) ? status : UCS_OK;
}

/**
 * Answer a GET request with data on the data connection, from memh (taken,
 * referenced): the data connection reads the region until it wrote them.
 */
ucs_status_t uct_tcp_zc_conn_send_answer_dc(uct_tcp_zc_conn_t *conn,
                                            const uct_tcp_zc_hdr_t *hdr,
                                            const struct iovec *iov,
                                            uct_tcp_zc_memh_t *memh)
{
    uct_tcp_zc_md_t *md = uct_tcp_zc_iface_md(conn->iface);
    uct_tcp_zc_tx_t *dc_tx;
    ucs_status_t status;

    if (conn->dc.tx == NULL) {
        status = uct_tcp_zc_conn_dc_open(conn);
        if (status != UCS_OK) {
            goto err_put;
        }
    }

    dc_tx = uct_tcp_zc_dc_tx_get(conn, iov, 1,
                                 ((memh != NULL) &&
                                  uct_tcp_zc_memh_is_dmabuf(memh)) ? memh :
                                                                     NULL);
    if (dc_tx == NULL) {
        status = UCS_ERR_NO_MEMORY;
        goto err_put;
    }

    dc_tx->memh = memh;
    status      = uct_tcp_zc_conn_send_dc(conn, hdr, sizeof(*hdr), dc_tx,
                                          UCT_TCP_ZC_TX_ANSWER, NULL);
    return UCS_STATUS_IS_ERR(status) ? status : UCS_OK;

err_put:
    if (memh != NULL) {
        uct_tcp_zc_md_access_put(md, memh);
    }
    uct_tcp_zc_conn_fail(conn, status, UCS_LOG_LEVEL_ERROR,
                         "no data connection for a GET answer");
    return status;
}

/* Answer a PUT or GET request without data */
ucs_status_t uct_tcp_zc_conn_send_empty_answer(uct_tcp_zc_conn_t *conn,
                                                      uint8_t type)
{
    uct_tcp_zc_hdr_t hdr = {
        .type    = type,
        .version = UCT_TCP_ZC_VERSION
    };

    return uct_tcp_zc_conn_send_answer(conn, &hdr, NULL, 0, NULL);
}

/* Queue a flush marker; UCS_OK if nothing is outstanding */
ucs_status_t uct_tcp_zc_conn_flush(uct_tcp_zc_conn_t *conn,
                                   uct_completion_t *comp)
{
    int connecting = uct_tcp_zc_conn_is_connecting(conn);
    uct_tcp_zc_tx_t *tx;

    if (uct_tcp_zc_conn_is_idle(conn) && !connecting) {
        return UCS_OK;
    }

    if (comp == NULL) {
        return UCS_INPROGRESS;
    }

    tx = uct_tcp_zc_conn_tx_alloc(conn, 0, UCT_TCP_ZC_TX_FLUSH, comp);
    if (tx == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    /* while connecting, the marker waits for the handshake */
    if (ucs_queue_is_empty(&conn->tx_queue) && !connecting) {
        uct_tcp_zc_conn_tx_sent(conn, tx);
    } else {
        ucs_queue_push(&conn->tx_queue, &tx->queue);
    }

    return UCS_INPROGRESS;
}
