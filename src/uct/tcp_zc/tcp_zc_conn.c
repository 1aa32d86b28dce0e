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


/* Reads of the receive buffer per connection and progress call: one, as
 * UCX's tcp does, so a progress call hands over at most a segment of
 * messages (PUT and GET data go straight to the user's memory) */
#define UCT_TCP_ZC_RX_FILLS_MAX 1


/* Re-probes which find copies again double the time to the next one, up to
 * this many times */
#define UCT_TCP_ZC_REPROBE_BACKOFF_MAX 6


/* Consecutive ids reported copied which turn zero-copy off on a socket */
#define UCT_TCP_ZC_COPIED_MAX 8


/* Longest time a closed connection's socket stays open for the kernel to
 * release the pages of its zero-copy sends, in seconds (the connection was
 * aborted, so the kernel dropped its send queue) */
#define UCT_TCP_ZC_LINGER_TIMEOUT 1.0


static void uct_tcp_zc_conn_uring_mark(uct_tcp_zc_conn_t *conn);


static UCS_F_ALWAYS_INLINE uct_tcp_zc_md_t *
uct_tcp_zc_iface_md(const uct_tcp_zc_iface_t *iface)
{
    return ucs_derived_of(iface->super.md, uct_tcp_zc_md_t);
}


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
    uct_tcp_zc_rx_init(&conn->rx.parser, ep == NULL, iface->config.seg_size);
    conn->rx.put_memh   = NULL;
    conn->hello_pending = 0;
    conn->rx.head  = 0;
    conn->rx.tail  = 0;
    ucs_queue_head_init(&conn->tx_queue);
    ucs_queue_head_init(&conn->ans_queue);
    conn->rma_outstanding = 0;
    ucs_queue_head_init(&conn->zc_queue);
    uct_tcp_zc_conn_zcopy_init(conn);

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

    /* keepalive and user timeout, on both sides of a connection */
    status = uct_tcp_zc_iface_set_sockopts(iface, fd);
    if (status != UCS_OK) {
        goto err_free;
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
           ucs_queue_is_empty(&conn->ans_queue) &&
           ucs_queue_is_empty(&conn->zc_queue);
}

static void uct_tcp_zc_tx_free(uct_tcp_zc_iface_t *iface, uct_tcp_zc_tx_t *tx)
{
    if (tx->memh != NULL) {
        uct_tcp_zc_md_access_put(uct_tcp_zc_iface_md(iface), tx->memh);
    }
    ucs_free(tx->bounce);
    ucs_free(tx);
}

/* Complete a descriptor which left the queues. Within the events of a
 * progress call, the callback runs after them: it may destroy the endpoint
 * whose connection is being handled */
static void uct_tcp_zc_tx_completed(uct_tcp_zc_iface_t *iface,
                                    uct_tcp_zc_tx_t *tx, ucs_status_t status)
{
    if ((tx->comp != NULL) && iface->in_progress) {
        tx->status = status;
        ucs_queue_push(&iface->comp_queue, &tx->queue);
        return;
    }

    if (tx->comp != NULL) {
        uct_invoke_completion(tx->comp, status);
    }
    uct_tcp_zc_tx_free(iface, tx);
}

/* Complete the sends of closed connections, at iface close once io_uring
 * is torn down */
void uct_tcp_zc_conn_release_orphans(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_tx_t *tx;

    ucs_queue_for_each_extract(tx, &iface->zc.orphans, queue, 1) {
        uct_tcp_zc_tx_completed(iface, tx, tx->status);
    }
}

void uct_tcp_zc_conn_dispatch_completions(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_tx_t *tx;

    ucs_assert(!iface->in_progress);
    ucs_queue_for_each_extract(tx, &iface->comp_queue, queue, 1) {
        uct_tcp_zc_tx_completed(iface, tx, tx->status);
    }
}

/* Whether the kernel released every zero-copy page of tx */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_tx_zc_done(const uct_tcp_zc_conn_t *conn, const uct_tcp_zc_tx_t *tx)
{
    return (tx->zc_notifs == 0) && !(tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY) &&
           (!(tx->flags & UCT_TCP_ZC_TX_FLAG_ZCID) ||
            uct_tcp_zc_zcid_is_done(&conn->zc.ids->ids, tx->zc_last));
}

/*
 * Complete the operations of a closing connection. Descriptors which
 * io_uring still uses complete now, and are freed when io_uring lets go.
 */
static void uct_tcp_zc_conn_purge_queue(uct_tcp_zc_conn_t *conn,
                                        ucs_queue_head_t *queue,
                                        uct_tcp_zc_linger_t *linger,
                                        ucs_status_t status)
{
    uct_tcp_zc_tx_t *tx;

    ucs_queue_for_each_extract(tx, queue, queue, 1) {
        if ((linger != NULL) && (tx->flags & UCT_TCP_ZC_TX_FLAG_ZCID) &&
            !uct_tcp_zc_zcid_is_done(&linger->ids->ids, tx->zc_last)) {
            /* its pages are in the socket which lingers */
            tx->status = status;
            ucs_queue_push(&linger->queue, &tx->queue);
            continue;
        }

        if ((tx->zc_notifs == 0) && !(tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY)) {
            uct_tcp_zc_tx_completed(conn->iface, tx, status);
            continue;
        }

        /* io_uring still sends from the user's pages: complete when it
         * releases them, or when the endpoint goes */
        tx->status = status;
        tx->owner  = conn;
        tx->conn   = NULL;
        ucs_queue_push(&conn->iface->zc.orphans, &tx->queue);
    }
}

/* A notification of MSG_ZEROCOPY ids of a closing connection */
static void
uct_tcp_zc_conn_drain_notif(void *arg, const uct_tcp_zc_zc_notif_t *notif)
{
    uct_tcp_zc_conn_zcids_t *ids = arg;

    (void)uct_tcp_zc_zcid_complete(&ids->ids, notif->lo, notif->hi);
}

/* Closing with zero-copy sends outstanding: wait a little for the kernel to
 * release their pages, then abort the connection, which frees its send
 * buffers at once */
static int uct_tcp_zc_conn_uring_holds(const ucs_queue_head_t *queue)
{
    uct_tcp_zc_tx_t *tx;

    ucs_queue_for_each(tx, queue, queue) {
        if ((tx->zc_notifs > 0) || (tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY)) {
            return 1;
        }
    }

    return 0;
}

static void uct_tcp_zc_conn_drain_zcopy(uct_tcp_zc_conn_t *conn)
{
    struct linger linger = {.l_onoff = 1, .l_linger = 0};
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};

    if (conn->zc.ids != NULL) {
        /* what the kernel released already */
        (void)uct_tcp_zc_errqueue_read(conn->fd, uct_tcp_zc_conn_drain_notif,
                                       conn->zc.ids);
        if (uct_tcp_zc_zcid_outstanding(&conn->zc.ids->ids) == 0) {
            return;
        }
    } else if (!uct_tcp_zc_conn_uring_holds(&conn->tx_queue) &&
               !uct_tcp_zc_conn_uring_holds(&conn->zc_queue)) {
        return;
    }

    /* the operations are canceled: abort the connection, which makes the
     * kernel drop its send queue and the pages it holds at once, instead of
     * keeping them until the peer reads (or forever, if it is gone); a
     * connect to AF_UNSPEC resets it now, while the socket stays open for
     * the notifications */
    ucs_debug("tcp_zc conn %p fd %d: aborting with zero-copy sends "
              "outstanding", conn, conn->fd);
    (void)setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &linger,
                     sizeof(linger));
    (void)connect(conn->fd, &unspec, sizeof(unspec));
    /* io_uring requests keep the socket open: make them fail */
    shutdown(conn->fd, SHUT_RDWR);
    if (conn->zc.ids != NULL) {
        (void)uct_tcp_zc_errqueue_read(conn->fd, uct_tcp_zc_conn_drain_notif,
                                       conn->zc.ids);
    }
}

/*
 * The kernel still holds pages of MSG_ZEROCOPY sends of a connection which
 * failed: its socket stays open, without events, until their notifications
 * came, so that those sends complete only after the kernel let go of the
 * user's pages. Returns the lingering socket, or NULL if none is needed (or
 * no memory: the sends complete at once).
 */
static uct_tcp_zc_linger_t *uct_tcp_zc_conn_linger(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_linger_t *linger;

    if ((conn->zc.ids == NULL) ||
        (uct_tcp_zc_zcid_outstanding(&conn->zc.ids->ids) == 0)) {
        return NULL;
    }

    linger = ucs_malloc(sizeof(*linger), "tcp_zc linger");
    if (linger == NULL) {
        return NULL;
    }

    linger->conn     = conn;
    linger->fd       = conn->fd;
    linger->ids      = conn->zc.ids;
    linger->deadline = ucs_get_time() +
                       ucs_time_from_sec(UCT_TCP_ZC_LINGER_TIMEOUT);
    ucs_queue_head_init(&linger->queue);
    ucs_list_add_tail(&conn->iface->zc.lingering, &linger->list);
    conn->fd        = -1;
    conn->zc.ids    = NULL;
    conn->zc.linger = linger;
    return linger;
}

/* Complete the sends of a lingering socket which the kernel released, or
 * all of them; close it when none is left */
static void uct_tcp_zc_linger_progress(uct_tcp_zc_iface_t *iface,
                                       uct_tcp_zc_linger_t *linger, int force)
{
    uct_tcp_zc_tx_t *tx;

    (void)uct_tcp_zc_errqueue_read(linger->fd, uct_tcp_zc_conn_drain_notif,
                                   linger->ids);
    force = force || (ucs_get_time() > linger->deadline);
    while (!ucs_queue_is_empty(&linger->queue)) {
        tx = ucs_queue_head_elem_non_empty(&linger->queue, uct_tcp_zc_tx_t,
                                           queue);
        if (!force &&
            !uct_tcp_zc_zcid_is_done(&linger->ids->ids, tx->zc_last)) {
            return;
        }

        ucs_queue_pull_non_empty(&linger->queue);
        uct_tcp_zc_tx_completed(iface, tx, tx->status);
    }

    linger->conn->zc.linger = NULL;
    ucs_list_del(&linger->list);
    ucs_close_fd(&linger->fd);
    ucs_free(linger->ids);
    ucs_free(linger);
}

void uct_tcp_zc_conn_progress_lingering(uct_tcp_zc_iface_t *iface, int force)
{
    uct_tcp_zc_linger_t *linger, *tmp;

    ucs_list_for_each_safe(linger, tmp, &iface->zc.lingering, list) {
        uct_tcp_zc_linger_progress(iface, linger, force);
    }
}

/*
 * Close the socket; outstanding operations complete with the given status.
 * Zero-copy sends of a connection which failed (may_linger) complete when
 * the kernel released their pages; UCT completes every operation of an
 * endpoint within its destroy, so there the connection is aborted, which
 * makes the kernel drop its send queue, and they complete at once.
 */
static void uct_tcp_zc_conn_close_common(uct_tcp_zc_conn_t *conn,
                                         ucs_status_t status, int may_linger)
{
    uct_tcp_zc_linger_t *linger = NULL;
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
        uct_tcp_zc_conn_drain_zcopy(conn);
        if (may_linger) {
            linger = uct_tcp_zc_conn_linger(conn);
        }
        if (linger == NULL) {
            ucs_close_fd(&conn->fd);
        }
    }

    conn->state  = UCT_TCP_ZC_CONN_FAILED;
    conn->events = 0;
    if (conn->zc.uring_dirty) {
        ucs_list_del(&conn->zc.uring_list);
        conn->zc.uring_dirty = 0;
    }
    uct_tcp_zc_conn_purge_queue(conn, &conn->tx_queue, linger, status);
    uct_tcp_zc_conn_purge_queue(conn, &conn->ans_queue, linger, status);
    conn->rma_outstanding = 0;
    uct_tcp_zc_conn_purge_queue(conn, &conn->zc_queue, linger, status);
}

void uct_tcp_zc_conn_close(uct_tcp_zc_conn_t *conn, ucs_status_t status)
{
    uct_tcp_zc_conn_close_common(conn, status, 1);
}

/* The connection's endpoint goes: what it still waits for completes now */
void uct_tcp_zc_conn_cleanup(uct_tcp_zc_conn_t *conn, ucs_status_t status)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    ucs_queue_iter_t iter;
    uct_tcp_zc_tx_t *tx;

    uct_tcp_zc_conn_close_common(conn, status, 0);
    if (conn->zc.linger != NULL) {
        uct_tcp_zc_linger_progress(iface, conn->zc.linger, 1);
    }

    /* io_uring frees them when it lets go */
    ucs_queue_for_each(tx, &iface->zc.orphans, queue) {
        if (tx->owner != conn) {
            continue;
        }

        if (tx->comp != NULL) {
            uct_invoke_completion(tx->comp, tx->status);
            tx->comp = NULL;
        }
        tx->owner = NULL;
    }

    /* destroyed from a callback within the events of a progress call: its
     * completions do not wait for the events to end */
    ucs_queue_for_each_safe(tx, iter, &iface->comp_queue, queue) {
        if (tx->conn == conn) {
            ucs_queue_del_iter(&iface->comp_queue, iter);
            uct_invoke_completion(tx->comp, tx->status);
            uct_tcp_zc_tx_free(iface, tx);
        }
    }

    if (conn->rx.put_memh != NULL) {
        uct_tcp_zc_md_access_put(uct_tcp_zc_iface_md(iface),
                                 conn->rx.put_memh);
        conn->rx.put_memh = NULL;
    }

    ucs_free(conn->rx.buf);
    conn->rx.buf = NULL;
    ucs_free(conn->zc.ids);
    conn->zc.ids = NULL;
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

/*
 * Complete what the kernel released from the zcopy queue. A flush marker
 * there completes when everything queued before it did.
 */
static void uct_tcp_zc_conn_progress_zc_queue(uct_tcp_zc_conn_t *conn)
{
    ucs_queue_head_t done;
    ucs_queue_iter_t iter;
    uct_tcp_zc_tx_t *tx;
    int is_first;

    ucs_queue_head_init(&done);
    is_first = 1;
    ucs_queue_for_each_safe(tx, iter, &conn->zc_queue, queue) {
        if ((tx->kind == UCT_TCP_ZC_TX_FLUSH) ?
                    is_first : uct_tcp_zc_tx_zc_done(conn, tx)) {
            ucs_queue_del_iter(&conn->zc_queue, iter);
            ucs_queue_push(&done, &tx->queue);
        } else {
            is_first = 0;
        }
    }

    /* completion callbacks may send on this connection */
    ucs_queue_for_each_extract(tx, &done, queue, 1) {
        uct_tcp_zc_tx_completed(conn->iface, tx, UCS_OK);
    }
}

/* An operation got what it waited for from the peer, or needed nothing:
 * complete it, or let it wait for the kernel to release its pages */
static void uct_tcp_zc_conn_tx_done(uct_tcp_zc_conn_t *conn,
                                    uct_tcp_zc_tx_t *tx)
{
    if ((tx->kind == UCT_TCP_ZC_TX_FLUSH) ?
                ucs_queue_is_empty(&conn->zc_queue) :
                uct_tcp_zc_tx_zc_done(conn, tx)) {
        uct_tcp_zc_tx_completed(conn->iface, tx, UCS_OK);
    } else {
        ucs_queue_push(&conn->zc_queue, &tx->queue);
    }
}

/* The answer of the PUT or GET at the head of the answer queue arrived */
static uct_tcp_zc_tx_t *uct_tcp_zc_conn_pull_answered(uct_tcp_zc_conn_t *conn)
{
    ucs_assert(conn->rma_outstanding > 0);
    --conn->rma_outstanding;
    return ucs_queue_pull_elem_non_empty(&conn->ans_queue, uct_tcp_zc_tx_t,
                                         queue);
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
        uct_tcp_zc_conn_tx_done(conn, tx);
    }
}

/* A descriptor is fully written: complete it or wait for the answer */
static void uct_tcp_zc_conn_tx_sent(uct_tcp_zc_conn_t *conn,
                                    uct_tcp_zc_tx_t *tx)
{
    if (conn->ep == NULL) {
        /* accepted connections send answers only */
        uct_tcp_zc_rx_answer_sent(&conn->rx.parser);
    }

    if (tx->kind == UCT_TCP_ZC_TX_SEND) {
        uct_tcp_zc_conn_tx_done(conn, tx);
    } else {
        ucs_queue_push(&conn->ans_queue, &tx->queue);
        uct_tcp_zc_conn_complete_flushes(conn);
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
 * Write an iov to a socket without blocking.
 *
 * @return bytes written (maybe 0), or -1 with errno on a socket error.
 */
ssize_t uct_tcp_zc_socket_sendv(int fd, const struct iovec *iov,
                                unsigned iovcnt, int flags)
{
    struct msghdr msg = {
        .msg_iov    = (struct iovec*)iov,
        .msg_iovlen = iovcnt
    };
    ssize_t ret;

    do {
        ret = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT | flags);
    } while ((ret < 0) && (errno == EINTR));

    if ((ret < 0) && ((errno == EAGAIN) || (errno == EWOULDBLOCK))) {
        return 0;
    }

    return ret;
}

/* Zero-copy setup of a new connection */
void uct_tcp_zc_conn_zcopy_init(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_iface_t *iface = conn->iface;

    conn->zc.ids          = NULL;
    conn->zc.linger       = NULL;
    conn->zc.uring_dirty  = 0;
    conn->zc.uring_err    = 0;
    conn->zc.copied       = 0;
    conn->zc.reprobe_time = 0;
    conn->zc.reprobes     = 0;
    conn->zc.enabled      = (iface->zc.engine != UCT_TCP_ZC_ENGINE_NONE);

    if ((iface->zc.engine == UCT_TCP_ZC_ENGINE_ERRQUEUE) &&
        (uct_tcp_zc_errqueue_enable(conn->fd) != UCS_OK)) {
        /* the iface checked that the kernel has SO_ZEROCOPY */
        conn->zc.enabled = 0;
        UCT_TCP_ZC_IFACE_STAT(iface, FALLBACK_UNSUPP, 1);
    }
}

/* Whether the next send of zero-copy eligible data goes zero-copy */
static int uct_tcp_zc_conn_zcopy_ok(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_iface_t *iface = conn->iface;

    if (ucs_unlikely(!conn->zc.enabled)) {
        if ((conn->zc.reprobe_time == 0) ||
            (ucs_get_time() < conn->zc.reprobe_time)) {
            return 0;
        }

        /* the path may have changed: try zero-copy again; one more copied
         * send is enough to tell it did not */
        conn->zc.enabled      = 1;
        conn->zc.copied       = UCT_TCP_ZC_COPIED_MAX - 1;
        conn->zc.reprobe_time = 0;
        UCT_TCP_ZC_IFACE_STAT(iface, REPROBE, 1);
    }

    if (iface->zc.engine != UCT_TCP_ZC_ENGINE_ERRQUEUE) {
        return 1;
    }

    if (ucs_unlikely(conn->zc.ids == NULL)) {
        conn->zc.ids = ucs_malloc(sizeof(*conn->zc.ids), "tcp_zc zcids");
        if (conn->zc.ids == NULL) {
            return 0;
        }

        /* the first MSG_ZEROCOPY send of a socket has id 0 */
        uct_tcp_zc_zcid_init(&conn->zc.ids->ids, 0);
    }

    if (!uct_tcp_zc_zcid_can_send(&conn->zc.ids->ids)) {
        UCT_TCP_ZC_IFACE_STAT(iface, FALLBACK_BUSY, 1);
        return 0;
    }

    return 1;
}

/* The kernel released the pages of count zero-copy sends, of bytes in all */
static void uct_tcp_zc_conn_zc_released(uct_tcp_zc_conn_t *conn,
                                        size_t bytes, unsigned count,
                                        int copied)
{
    uct_tcp_zc_iface_t *iface = conn->iface;

    if (!copied) {
        conn->zc.copied   = 0;
        conn->zc.reprobes = 0;
        return;
    }

    UCT_TCP_ZC_IFACE_STAT(iface, COPIED_BYTES, bytes);
    if ((iface->zc.mode == UCS_YES) || !conn->zc.enabled) {
        return;
    }

    /* the kernel copies anyway (a local peer, a device without scatter-
     * gather): zero-copy only adds the cost of notifications */
    conn->zc.copied += count;
    if (conn->zc.copied >= UCT_TCP_ZC_COPIED_MAX) {
        conn->zc.enabled      = 0;
        conn->zc.reprobe_time = ucs_get_time() + (iface->zc.reprobe_interval
                                                  << conn->zc.reprobes);
        conn->zc.reprobes     = ucs_min(conn->zc.reprobes + 1,
                                        UCT_TCP_ZC_REPROBE_BACKOFF_MAX);
        UCT_TCP_ZC_IFACE_STAT(iface, FALLBACK_COPIED, 1);
        ucs_debug("tcp_zc conn %p fd %d: the kernel copied %u zero-copy "
                  "sends in a row, sending with copies", conn, conn->fd,
                  conn->zc.copied);
    }
}

static void uct_tcp_zc_conn_errqueue_notif(void *arg,
                                           const uct_tcp_zc_zc_notif_t *notif)
{
    uct_tcp_zc_conn_t *conn = arg;
    uint32_t count          = notif->hi - notif->lo + 1;
    size_t bytes            = 0;
    uint32_t i;

    if ((conn->zc.ids == NULL) ||
        (uct_tcp_zc_zcid_complete(&conn->zc.ids->ids, notif->lo, notif->hi) !=
         UCS_OK)) {
        ucs_error("tcp_zc conn %p fd %d: unexpected zero-copy notification "
                  "[%u, %u]", conn, conn->fd, notif->lo, notif->hi);
        return;
    }

    for (i = 0; i < count; ++i) {
        bytes += conn->zc.ids->bytes[(notif->lo + i) % UCT_TCP_ZC_ZCID_WINDOW];
    }

    uct_tcp_zc_conn_zc_released(conn, bytes, count, notif->copied);
}

/* Read zero-copy notifications and complete what they released */
void uct_tcp_zc_conn_progress_errqueue(uct_tcp_zc_conn_t *conn)
{
    if (conn->zc.ids == NULL) {
        return;
    }

    if (uct_tcp_zc_errqueue_read(conn->fd, uct_tcp_zc_conn_errqueue_notif,
                                 conn) < 0) {
        /* a socket error: the receive path reports it */
        ucs_debug("tcp_zc conn %p fd %d: reading the error queue failed: %m",
                  conn, conn->fd);
    }

    uct_tcp_zc_conn_progress_zc_queue(conn);
}

/* Send with MSG_ZEROCOPY, or with a copy if the kernel has no memory to
 * track the pages */
static ssize_t uct_tcp_zc_conn_sendv_errqueue(uct_tcp_zc_conn_t *conn,
                                              uct_tcp_zc_tx_t *tx,
                                              const struct iovec *iov,
                                              unsigned iovcnt)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    ssize_t sent;
    uint32_t id;

    sent = uct_tcp_zc_errqueue_sendv(conn->fd, iov, iovcnt);
    if (sent > 0) {
        id = uct_tcp_zc_zcid_sent(&conn->zc.ids->ids);
        conn->zc.ids->bytes[id % UCT_TCP_ZC_ZCID_WINDOW] = sent;
        tx->zc_last  = id;
        tx->flags   |= UCT_TCP_ZC_TX_FLAG_ZCID;
        UCT_TCP_ZC_IFACE_STAT(iface, ZCOPY_SENDS, 1);
        UCT_TCP_ZC_IFACE_STAT(iface, ZCOPY_BYTES, sent);
    } else if ((sent < 0) && (errno == ENOBUFS)) {
        /* nothing was sent and no id was used */
        UCT_TCP_ZC_IFACE_STAT(iface, FALLBACK_NOBUFS, 1);
        sent = uct_tcp_zc_socket_sendv(conn->fd, iov, iovcnt, 0);
    }

    return sent;
}

/*
 * Write what the socket takes of tx.
 *
 * @return 1 if tx is fully written, 0 if not yet (or io_uring is sending
 *         it), -1 with errno on a socket error.
 */
static int uct_tcp_zc_conn_tx_write(uct_tcp_zc_conn_t *conn,
                                    uct_tcp_zc_tx_t *tx)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    const struct iovec *iov   = &tx->iov[tx->iov_index];
    unsigned iovcnt           = tx->iovcnt - tx->iov_index;
    ucs_status_t status;
    ssize_t sent;

    if (tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY) {
        return 0;
    }

    if (tx->iov_index == tx->iovcnt) {
        return 1;
    }

    if (!(tx->flags & UCT_TCP_ZC_TX_FLAG_ZCOPY) ||
        !uct_tcp_zc_conn_zcopy_ok(conn)) {
        sent = uct_tcp_zc_socket_sendv(conn->fd, iov, iovcnt, 0);
    } else if (iface->zc.engine == UCT_TCP_ZC_ENGINE_ERRQUEUE) {
        sent = uct_tcp_zc_conn_sendv_errqueue(conn, tx, iov, iovcnt);
    } else {
        tx->msg.msg_iov    = (struct iovec*)iov;
        tx->msg.msg_iovlen = iovcnt;
        tx->conn           = conn;
        status = uct_tcp_zc_uring_sendmsg(iface->zc.uring, conn->fd, &tx->msg,
                                          tx);
        if (status == UCS_OK) {
            tx->flags |= UCT_TCP_ZC_TX_FLAG_BUSY;
            ++tx->zc_notifs;
            return 0;
        }

        /* the ring is full */
        UCT_TCP_ZC_IFACE_STAT(iface, FALLBACK_BUSY, 1);
        sent = uct_tcp_zc_socket_sendv(conn->fd, iov, iovcnt, 0);
    }

    if (sent < 0) {
        return -1;
    }

    return uct_tcp_zc_tx_advance(tx, sent);
}

/*
 * Write queued descriptors until the socket is full.
 * Returns UCS_OK, or an error status if the connection failed (and maybe
 * was freed).
 */
ucs_status_t uct_tcp_zc_conn_progress_tx(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_tx_t *tx;
    int ret, locked;

    while (!ucs_queue_is_empty(&conn->tx_queue)) {
        tx  = ucs_queue_head_elem_non_empty(&conn->tx_queue, uct_tcp_zc_tx_t,
                                            queue);
        /* a GET answer reads the region while it has bytes to write (not
         * once io_uring sends it, or when only its result is due: the
         * region may be gone by then, legitimately) */
        locked = (tx->memh != NULL) &&
                 !(tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY) &&
                 (tx->iov_index < tx->iovcnt);
        if (locked &&
            !uct_tcp_zc_md_access_lock(uct_tcp_zc_iface_md(conn->iface),
                                       tx->memh)) {
            uct_tcp_zc_conn_fail(conn, UCS_ERR_IO_ERROR, UCS_LOG_LEVEL_ERROR,
                                 "GET from a memory region deregistered "
                                 "meanwhile");
            return UCS_ERR_IO_ERROR;
        }

        ret = uct_tcp_zc_conn_tx_write(conn, tx);
        if (locked) {
            uct_tcp_zc_md_access_unlock(uct_tcp_zc_iface_md(conn->iface),
                                        tx->memh);
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

        ucs_queue_pull_non_empty(&conn->tx_queue);
        uct_tcp_zc_conn_tx_sent(conn, tx);
    }

    uct_tcp_zc_conn_set_events(conn, conn->events & ~UCS_EVENT_SET_EVWRITE);
    if (conn->ep != NULL) {
        uct_tcp_zc_ep_tx_drained(conn->ep);
    }

    return UCS_OK;
}

static uct_tcp_zc_tx_t *uct_tcp_zc_conn_tx_alloc(uct_tcp_zc_conn_t *conn,
                                                 size_t data_len,
                                                 uct_tcp_zc_tx_kind_t kind,
                                                 uct_completion_t *comp)
{
    uct_tcp_zc_tx_t *tx;

    tx = ucs_malloc(sizeof(*tx) + data_len, "tcp_zc tx");
    if (tx == NULL) {
        ucs_error("failed to allocate tcp_zc send descriptor");
        return NULL;
    }

    if ((kind == UCT_TCP_ZC_TX_PUT) || (kind == UCT_TCP_ZC_TX_GET)) {
        ++conn->rma_outstanding;
    }

    tx->kind           = kind;
    tx->flags          = 0;
    tx->comp           = comp;
    tx->status         = UCS_OK;
    tx->owner          = NULL;
    tx->memh           = NULL;
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

/**
 * Send a message made of a header block and user data: directly if nothing
 * is queued, else (or for the rest of a partial write) from a descriptor.
 *
 * @param hdr, hdr_len    Headers; copied into the descriptor if queued.
 * @param iov, iovcnt     Data; referenced by the descriptor if queued.
 * @param zcopy           Whether the data may be sent zero-copy: it stays
 *                        untouched until the operation completes.
 * @param kind, comp      What completes the operation.
 * @param tx_p            If not NULL, the descriptor is always created (the
 *                        operation waits for an answer) and returned.
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
    size_t pre_len = conn->hello_pending ? sizeof(conn->hello) : 0;
    struct iovec vec[UCT_TCP_ZC_MAX_IOV + 3];
    uct_tcp_zc_tx_t *tx;
    unsigned i, vec_cnt;
    size_t total;
    ssize_t sent;
    int can_send, ret;

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
    /* zero-copy pays off only for large data; the kernel may send from the
     * pages of the headers too, so they must live in a descriptor */
    zcopy    = zcopy && (conn->iface->zc.engine != UCT_TCP_ZC_ENGINE_NONE) &&
               ((total - pre_len - hdr_len) >= conn->iface->zc.thresh);
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

        if ((kind == UCT_TCP_ZC_TX_SEND) && (sent == (ssize_t)total)) {
            /* all written at once and nothing to wait for */
            conn->hello_pending = 0;
            return UCS_OK;
        }
    }

    tx = uct_tcp_zc_conn_tx_alloc(conn, pre_len + hdr_len, kind, comp);
    if (tx == NULL) {
        if (sent > 0) {
            /* the stream holds part of a message: it cannot go on */
            uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY, UCS_LOG_LEVEL_ERROR,
                                 "no memory for a partly written message");
        }
        return UCS_ERR_NO_MEMORY;
    }

    /* headers (and hello) are copied, data is referenced */
    memcpy(tx->data, vec[0].iov_base, pre_len);
    memcpy(tx->data + pre_len, hdr, hdr_len);
    if (pre_len > 0) {
        vec[0].iov_base = tx->data;
    }
    vec[(pre_len > 0) ? 1 : 0].iov_base = tx->data + pre_len;
    memcpy(tx->iov, vec, sizeof(*vec) * vec_cnt);
    tx->iovcnt = vec_cnt;
    if (zcopy) {
        tx->flags |= UCT_TCP_ZC_TX_FLAG_ZCOPY;
    }

    if (can_send && zcopy) {
        ret = uct_tcp_zc_conn_tx_write(conn, tx);
        if (ret < 0) {
            /* a failed first write used no zero-copy id */
            ucs_free(tx);
            uct_tcp_zc_conn_io_failed(conn, "sendmsg", errno);
            return UCS_ERR_ENDPOINT_TIMEOUT;
        }

    } else {
        ret = uct_tcp_zc_tx_advance(tx, sent);
    }

    /* the hello now precedes the rest in the stream */
    conn->hello_pending = 0;

    if (ret == 0) {
        ucs_queue_push(&conn->tx_queue, &tx->queue);
        if (can_send && !(tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY)) {
            uct_tcp_zc_conn_set_events(conn,
                                       conn->events | UCS_EVENT_SET_EVWRITE);
        }
    } else if ((kind == UCT_TCP_ZC_TX_SEND) &&
               uct_tcp_zc_tx_zc_done(conn, tx)) {
        /* written with a copy after all: complete now */
        ucs_free(tx);
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

/* Answer a request of the peer on an accepted connection; UCS_OK if sent or
 * queued */
static ucs_status_t
uct_tcp_zc_conn_send_answer(uct_tcp_zc_conn_t *conn,
                            const uct_tcp_zc_hdr_t *hdr,
                            const struct iovec *iov, unsigned iovcnt,
                            uct_tcp_zc_memh_t *memh)
{
    uct_tcp_zc_md_t *md = uct_tcp_zc_iface_md(conn->iface);
    uct_tcp_zc_tx_t *tx = NULL;
    ucs_status_t status;

    if ((memh != NULL) && !uct_tcp_zc_md_access_lock(md, memh)) {
        uct_tcp_zc_md_access_put(md, memh);
        uct_tcp_zc_conn_fail(conn, UCS_ERR_IO_ERROR, UCS_LOG_LEVEL_ERROR,
                             "GET from a memory region deregistered "
                             "meanwhile");
        return UCS_ERR_IO_ERROR;
    }

    status = uct_tcp_zc_conn_send(conn, hdr, sizeof(*hdr), iov, iovcnt,
                                  iovcnt > 0, UCT_TCP_ZC_TX_SEND, NULL,
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

    if (status == UCS_OK) {
        /* written at once; else when its descriptor is */
        uct_tcp_zc_rx_answer_sent(&conn->rx.parser);
    }

    return UCS_STATUS_IS_ERR(status) ? status : UCS_OK;
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

    tx = uct_tcp_zc_conn_tx_alloc(conn, 0, UCT_TCP_ZC_TX_FLUSH, comp);
    if (tx == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    if (ucs_queue_is_empty(&conn->tx_queue)) {
        uct_tcp_zc_conn_tx_sent(conn, tx);
    } else {
        ucs_queue_push(&conn->tx_queue, &tx->queue);
    }

    return UCS_INPROGRESS;
}

/*
 * Receive side
 */

/* Read from the socket into the buffer; returns bytes read, 0 if none is
 * available, or -1 if the connection failed (and maybe was freed) */
static ssize_t uct_tcp_zc_socket_recv(int fd, void *buf, size_t length)
{
    ssize_t ret;

    do {
        ret = recv(fd, buf, length, MSG_DONTWAIT);
    } while ((ret < 0) && (errno == EINTR));

    return ret;
}

/* What a read of the socket returned: bytes read, 0 if none was available,
 * or -1 if the connection failed (and maybe was freed) */
static ssize_t uct_tcp_zc_conn_recv_result(uct_tcp_zc_conn_t *conn,
                                           ssize_t ret)
{
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

static ssize_t uct_tcp_zc_conn_recv(uct_tcp_zc_conn_t *conn, void *buf,
                                    size_t length)
{
    return uct_tcp_zc_conn_recv_result(
            conn, uct_tcp_zc_socket_recv(conn->fd, buf, length));
}

/*
 * The kernel acknowledges at once ("quick ack") on a socket which does not
 * send data back, and our answers go on the other connection: ask it again
 * to delay, after each read, since it returns to quick acks by itself.
 */
static void uct_tcp_zc_conn_delay_ack(uct_tcp_zc_conn_t *conn)
{
    int quickack = 0;

    if (conn->iface->config.delay_ack) {
        (void)setsockopt(conn->fd, IPPROTO_TCP, TCP_QUICKACK, &quickack,
                         sizeof(quickack));
    }
}

/* Read into the receive buffer; *drained_p tells whether the read was short,
 * so the socket had no more data */
static ssize_t uct_tcp_zc_conn_rx_fill(uct_tcp_zc_conn_t *conn, int *drained_p)
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
        *drained_p     = (ret < (ssize_t)(size - conn->rx.tail));
        conn->rx.tail += ret;
        uct_tcp_zc_conn_delay_ack(conn);
    }

    return ret;
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
 * If it was deregistered meanwhile, the connection fails (and may be freed):
 * no byte goes to memory which was given back.
 */
static int uct_tcp_zc_conn_rx_lock(uct_tcp_zc_conn_t *conn)
{
    if ((conn->rx.put_memh == NULL) ||
        uct_tcp_zc_md_access_lock(uct_tcp_zc_iface_md(conn->iface),
                                  conn->rx.put_memh)) {
        return 1;
    }

    uct_tcp_zc_conn_fail(conn, UCS_ERR_IO_ERROR, UCS_LOG_LEVEL_ERROR,
                         "PUT into a memory region deregistered meanwhile");
    return 0;
}

static void uct_tcp_zc_conn_rx_unlock(uct_tcp_zc_conn_t *conn)
{
    if (conn->rx.put_memh != NULL) {
        uct_tcp_zc_md_access_unlock(uct_tcp_zc_iface_md(conn->iface),
                                    conn->rx.put_memh);
    }
}

/* Data of a PUT or GET response from the receive buffer; returns 0, or -1
 * if conn failed */
static int uct_tcp_zc_conn_rx_copy(uct_tcp_zc_conn_t *conn, const void *data,
                                   size_t length)
{
    struct iovec *iov;
    size_t chunk;

    if (!uct_tcp_zc_conn_rx_lock(conn)) {
        return -1;
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
    return 0;
}

/*
 * Data of a PUT or GET response straight from the socket to its destination;
 * bulk data, so read on until the socket is empty: more may have come since
 * the last read. Returns 1 when all data arrived, 0 if more is needed, -1 if
 * the connection failed.
 */
static int uct_tcp_zc_conn_rx_direct(uct_tcp_zc_conn_t *conn)
{
    struct iovec *iov;
    size_t length;
    ssize_t ret;
    int err;

    for (;;) {
        iov    = uct_tcp_zc_conn_rx_iov(conn);
        length = ucs_min(iov->iov_len,
                         uct_tcp_zc_rx_data_left(&conn->rx.parser));
        if (!uct_tcp_zc_conn_rx_lock(conn)) {
            return -1;
        }

        ret   = uct_tcp_zc_socket_recv(conn->fd, iov->iov_base, length);
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

/* Data of a PUT arrived: acknowledge it */
static ucs_status_t uct_tcp_zc_conn_put_done(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_hdr_t ack = {
        .type    = UCT_TCP_ZC_MSG_PUT_ACK,
        .version = UCT_TCP_ZC_VERSION
    };

    return uct_tcp_zc_conn_send_answer(conn, &ack, NULL, 0, NULL);
}

/* Response data of a GET arrived: complete the head of the answer queue */
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
    if (conn->ep == NULL) {
        if (conn->rx.put_memh != NULL) {
            uct_tcp_zc_md_access_put(uct_tcp_zc_iface_md(conn->iface),
                                     conn->rx.put_memh);
            conn->rx.put_memh = NULL;
        }
        return (uct_tcp_zc_conn_put_done(conn) == UCS_OK) ? 0 : -1;
    }

    uct_tcp_zc_conn_get_done(conn);
    return 0;
}

/* Handle a PUT or GET request; returns 0 on success, -1 if conn failed */
static int uct_tcp_zc_conn_rx_rma(uct_tcp_zc_conn_t *conn,
                                  uct_tcp_zc_rx_event_t event,
                                  const uct_tcp_zc_rma_hdr_t *rma)
{
    uct_tcp_zc_hdr_t resp = {
        .type    = UCT_TCP_ZC_MSG_GET_RESP,
        .version = UCT_TCP_ZC_VERSION
    };
    uct_tcp_zc_memh_t *memh;
    struct iovec iov;
    void *ptr;

    if ((rma->length == 0) && (rma->key == 0)) {
        /* an empty access without a remote key (UCT_INVALID_RKEY, which
         * UCT allows for it) touches nothing; keys are never 0 */
        ptr  = NULL;
        memh = NULL;
    } else if (uct_tcp_zc_md_access_get(uct_tcp_zc_iface_md(conn->iface),
                                        rma->key, rma->address, rma->length,
                                        &ptr, &memh) != UCS_OK) {
        uct_tcp_zc_conn_protocol_error(conn, "remote access outside of a "
                                             "registered memory region");
        return -1;
    }

    if (event == UCT_TCP_ZC_RX_EV_PUT) {
        /* the data which follows goes straight to the target memory */
        conn->rx.put_memh         = memh;
        conn->rx.put_iov.iov_base = ptr;
        conn->rx.put_iov.iov_len  = rma->length;
        conn->rx.iov              = &conn->rx.put_iov;
        conn->rx.iovcnt           = 1;
        return 0;
    }

    /* GET: answer with the data, sent from the target memory */
    resp.length  = rma->length;
    iov.iov_base = ptr;
    iov.iov_len  = rma->length;
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
    if (ucs_queue_is_empty(&conn->tx_queue)) {
        return;
    }

    tx = ucs_queue_head_elem_non_empty(&conn->tx_queue, uct_tcp_zc_tx_t,
                                       queue);
    if (((tx->kind == UCT_TCP_ZC_TX_PUT) || (tx->kind == UCT_TCP_ZC_TX_GET)) &&
        ((tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY) ||
         (tx->iov_index == tx->iovcnt))) {
        ucs_queue_pull_non_empty(&conn->tx_queue);
        ucs_queue_push(&conn->ans_queue, &tx->queue);
        /* the requests after it may be written now */
        uct_tcp_zc_conn_uring_mark(conn);
    }
}

/* Handle an answer header on a connection this side opened */
static int uct_tcp_zc_conn_rx_answer(uct_tcp_zc_conn_t *conn,
                                     uct_tcp_zc_rx_event_t event,
                                     const uct_tcp_zc_hdr_t *hdr)
{
    uct_tcp_zc_tx_kind_t expected = (event == UCT_TCP_ZC_RX_EV_PUT_ACK) ?
                                            UCT_TCP_ZC_TX_PUT :
                                            UCT_TCP_ZC_TX_GET;
    uct_tcp_zc_tx_t *tx;

    if (ucs_queue_is_empty(&conn->ans_queue) &&
        (conn->iface->zc.uring != NULL)) {
        /* the answer may overtake the result of the io_uring send of its
         * request */
        uct_tcp_zc_conn_uring_answered(conn);
    }

    if (ucs_queue_is_empty(&conn->ans_queue)) {
        uct_tcp_zc_conn_protocol_error(conn, "answer without a request");
        return -1;
    }

    tx = ucs_queue_head_elem_non_empty(&conn->ans_queue, uct_tcp_zc_tx_t,
                                       queue);
    if (tx->kind != expected) {
        uct_tcp_zc_conn_protocol_error(conn, "answer type");
        return -1;
    }

    if (expected == UCT_TCP_ZC_TX_PUT) {
        uct_tcp_zc_conn_pull_answered(conn);
        uct_tcp_zc_conn_tx_done(conn, tx);
        uct_tcp_zc_conn_complete_flushes(conn);
        return 0;
    }

    if (hdr->length != tx->get_length) {
        uct_tcp_zc_conn_protocol_error(conn, "GET response length");
        return -1;
    }

    conn->rx.iov    = tx->get_iov;
    conn->rx.iovcnt = tx->get_iovcnt;
    return 0;
}

/*
 * Handle the next item at the head of the receive buffer.
 * Returns 1 if handled, 0 if more bytes are needed, -1 if conn failed.
 */
static int uct_tcp_zc_conn_rx_msg(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_rx_msg_t msg;
    uct_tcp_zc_rx_event_t event;

    event = uct_tcp_zc_rx_parse(&conn->rx.parser,
                                conn->rx.buf + conn->rx.head,
                                conn->rx.tail - conn->rx.head, &msg);
    conn->rx.head += msg.consumed;

    switch (event) {
    case UCT_TCP_ZC_RX_EV_NONE:
        return 0;
    case UCT_TCP_ZC_RX_EV_HELLO:
        conn->hello = msg.hello;
        ucs_debug("tcp_zc conn %p fd %d: hello from iface port %u", conn,
                  conn->fd, ntohs(conn->hello.port));
        return 1;
    case UCT_TCP_ZC_RX_EV_AM:
        uct_iface_trace_am(&conn->iface->super, UCT_AM_TRACE_TYPE_RECV,
                           msg.hdr.am_id, msg.data, msg.length, "RECV fd %d",
                           conn->fd);
        /* no descriptor is offered to the handler: it returns UCS_OK */
        (void)uct_iface_invoke_am(&conn->iface->super, msg.hdr.am_id,
                                  (void*)msg.data, msg.length, 0);
        return 1;
    case UCT_TCP_ZC_RX_EV_PUT:
    case UCT_TCP_ZC_RX_EV_GET_REQ:
        return (uct_tcp_zc_conn_rx_rma(conn, event, &msg.rma) == 0) ? 1 : -1;
    case UCT_TCP_ZC_RX_EV_PUT_ACK:
    case UCT_TCP_ZC_RX_EV_GET_RESP:
        return (uct_tcp_zc_conn_rx_answer(conn, event, &msg.hdr) == 0) ? 1 :
                                                                        -1;
    case UCT_TCP_ZC_RX_EV_KEEPALIVE:
        return 1;
    case UCT_TCP_ZC_RX_EV_DATA:
        if (uct_tcp_zc_conn_rx_copy(conn, msg.data, msg.length) < 0) {
            return -1;
        } else if (!msg.last) {
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
static int uct_tcp_zc_conn_progress_rx(uct_tcp_zc_conn_t *conn)
{
    unsigned fills = 0;
    int drained    = 0; /* a short read emptied the socket */
    ssize_t ret;
    int done;

    for (;;) {
        done = uct_tcp_zc_conn_rx_msg(conn);
        if (done < 0) {
            return -1;
        } else if (done > 0) {
            continue;
        }

        if (uct_tcp_zc_rx_data_left(&conn->rx.parser) > 0) {
            /* the buffer is empty and data follow */
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
    int rma_blocked;

    if (conn->state == UCT_TCP_ZC_CONN_CONNECTING) {
        if (events & (UCS_EVENT_SET_EVWRITE | UCS_EVENT_SET_EVERR)) {
            uct_tcp_zc_conn_connected(conn);
        }
        return;
    }

    if (conn->state != UCT_TCP_ZC_CONN_CONNECTED) {
        return;
    }

    /* zero-copy notifications make the socket report an error event until
     * they are read, whether or not data is waiting too */
    if (events & UCS_EVENT_SET_EVERR) {
        uct_tcp_zc_conn_progress_errqueue(conn);
        if (conn->state != UCT_TCP_ZC_CONN_CONNECTED) {
            return;
        }
    }

    if (events & (UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR)) {
        rma_blocked = uct_tcp_zc_conn_rma_blocked(conn);
        if (uct_tcp_zc_conn_progress_rx(conn) < 0) {
            return;
        }

        if (rma_blocked && !uct_tcp_zc_conn_rma_blocked(conn) &&
            (conn->ep != NULL)) {
            /* answers made room for the operations waiting to be sent */
            uct_tcp_zc_ep_tx_drained(conn->ep);
        }
    }

    if ((events & UCS_EVENT_SET_EVWRITE) &&
        (conn->state == UCT_TCP_ZC_CONN_CONNECTED)) {
        uct_tcp_zc_conn_progress_tx(conn);
    }
}

/* Have the connection progressed after io_uring completions */
static void uct_tcp_zc_conn_uring_mark(uct_tcp_zc_conn_t *conn)
{
    if (!conn->zc.uring_dirty) {
        conn->zc.uring_dirty = 1;
        ucs_list_add_tail(&conn->iface->zc.uring_dirty, &conn->zc.uring_list);
    }
}

/*
 * A completion of an io_uring zero-copy send. It only updates state: it may
 * come while a connection handles received data, so what follows (sending
 * more, completing operations, failing the connection) is left to
 * uct_tcp_zc_conn_uring_progress().
 */
void uct_tcp_zc_conn_uring_comp(void *arg, const uct_tcp_zc_uring_comp_t *comp)
{
    uct_tcp_zc_iface_t *iface = arg;
    uct_tcp_zc_tx_t *tx       = comp->user_data;
    uct_tcp_zc_conn_t *conn   = tx->conn;
    size_t bytes;

    if (comp->notif) {
        ucs_assert(tx->zc_notifs > 0);
        bytes               = tx->zc_notif_bytes / tx->zc_notifs;
        tx->zc_notif_bytes -= bytes;
        --tx->zc_notifs;
        if (conn != NULL) {
            uct_tcp_zc_conn_zc_released(conn, bytes, 1, comp->copied);
        }
    } else {
        tx->flags &= ~UCT_TCP_ZC_TX_FLAG_BUSY;
        if (!comp->more) {
            /* no notification follows */
            --tx->zc_notifs;
        }

        if (comp->res > 0) {
            tx->zc_notif_bytes += comp->more ? comp->res : 0;
            UCT_TCP_ZC_IFACE_STAT(iface, ZCOPY_SENDS, 1);
            UCT_TCP_ZC_IFACE_STAT(iface, ZCOPY_BYTES, comp->res);
            if (conn != NULL) {
                uct_tcp_zc_tx_advance(tx, comp->res);
            }
        } else if ((comp->res == -ENOMEM) || (comp->res == -ENOBUFS)) {
            /* the pages could not be pinned (an unprivileged user's
             * locked-memory limit) and nothing was sent: send it with a
             * copy, as the error queue engine does */
            tx->flags &= ~UCT_TCP_ZC_TX_FLAG_ZCOPY;
            UCT_TCP_ZC_IFACE_STAT(iface, FALLBACK_NOBUFS, 1);
        } else if ((comp->res < 0) && (conn != NULL)) {
            conn->zc.uring_err = -comp->res;
        }
    }

    if (conn != NULL) {
        uct_tcp_zc_conn_uring_mark(conn);
    } else if ((tx->zc_notifs == 0) &&
               !(tx->flags & UCT_TCP_ZC_TX_FLAG_BUSY)) {
        /* its connection closed and completed it: free it now that io_uring
         * let go */
        ucs_queue_remove(&iface->zc.orphans, &tx->queue);
        uct_tcp_zc_tx_completed(iface, tx, tx->status);
    }
}

/* Follow up io_uring completions: send more, complete what the kernel
 * released */
void uct_tcp_zc_conn_uring_progress(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_conn_t *conn;

    while (!ucs_list_is_empty(&iface->zc.uring_dirty)) {
        conn = ucs_list_extract_head(&iface->zc.uring_dirty,
                                     uct_tcp_zc_conn_t, zc.uring_list);
        conn->zc.uring_dirty = 0;
        if (conn->state != UCT_TCP_ZC_CONN_CONNECTED) {
            continue;
        }

        if (conn->zc.uring_err != 0) {
            uct_tcp_zc_conn_io_failed(conn, "io_uring sendmsg_zc",
                                      conn->zc.uring_err);
            continue;
        }

        if (uct_tcp_zc_conn_progress_tx(conn) == UCS_OK) {
            uct_tcp_zc_conn_progress_zc_queue(conn);
        }
    }
}
