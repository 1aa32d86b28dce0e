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
#include <ucs/sys/math.h>
#include <sys/socket.h>


/*
 * Zero-copy bookkeeping of a connection, beside the two engines: which sends
 * go zero-copy, which completed (MSG_ZEROCOPY ids, io_uring notifications),
 * the fallback to copies, and the zero-copy sends of a closing connection.
 */


/* Re-probes which find copies again double the time to the next one, up to
 * this many times */
#define UCT_TCP_ZC_REPROBE_BACKOFF_MAX 6


/* Consecutive ids reported copied which turn zero-copy off on a socket */
#define UCT_TCP_ZC_COPIED_MAX 8


/* Longest time a closed connection's socket stays open for the kernel to
 * release the pages of its zero-copy sends, in seconds (the connection was
 * aborted, so the kernel dropped its send queue) */
#define UCT_TCP_ZC_LINGER_TIMEOUT 1.0

/* Whether the kernel released every zero-copy page of tx */
int
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
void uct_tcp_zc_conn_purge_queue(uct_tcp_zc_conn_t *conn,
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

void uct_tcp_zc_conn_drain_zcopy(uct_tcp_zc_conn_t *conn)
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
               !uct_tcp_zc_conn_uring_holds(&conn->answer_queue) &&
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
uct_tcp_zc_linger_t *uct_tcp_zc_conn_linger(uct_tcp_zc_conn_t *conn)
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
void uct_tcp_zc_linger_progress(uct_tcp_zc_iface_t *iface,
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
 * Complete what the kernel released from the zcopy queue. A flush marker
 * there completes when everything queued before it did.
 */
void uct_tcp_zc_conn_progress_zc_queue(uct_tcp_zc_conn_t *conn)
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
        uct_tcp_zc_tx_completed(conn->iface, tx, tx->status);
    }
}

/* An operation got what it waited for from the peer, or needed nothing:
 * complete it, or let it wait for the kernel to release its pages */
void uct_tcp_zc_conn_tx_done(uct_tcp_zc_conn_t *conn,
                                    uct_tcp_zc_tx_t *tx)
{
    if ((tx->kind == UCT_TCP_ZC_TX_FLUSH) ?
                ucs_queue_is_empty(&conn->zc_queue) :
                uct_tcp_zc_tx_zc_done(conn, tx)) {
        uct_tcp_zc_tx_completed(conn->iface, tx, tx->status);
    } else {
        ucs_queue_push(&conn->zc_queue, &tx->queue);
    }
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
int uct_tcp_zc_conn_zcopy_ok(uct_tcp_zc_conn_t *conn)
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
int uct_tcp_zc_conn_tx_write(uct_tcp_zc_conn_t *conn,
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

/* Have the connection progressed after io_uring completions */
void uct_tcp_zc_conn_uring_mark(uct_tcp_zc_conn_t *conn)
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
