/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc.h"

#include <ucs/async/async.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>
#include <arpa/inet.h>
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


static size_t uct_tcp_zc_conn_rx_buf_size(const uct_tcp_zc_iface_t *iface)
{
    return UCT_TCP_ZC_RX_BUF_SIZE(iface->config.seg_size);
}

static const char *uct_tcp_zc_conn_str(const uct_tcp_zc_conn_t *conn,
                                       char *buf, size_t max)
{
    char addr_str[UCS_SOCKADDR_STRING_LEN];

    ucs_snprintf_zero(buf, max, "%s conn %p fd %d %s %s",
                      conn->accepted ? "accepted" : "ep", conn, conn->fd,
                      conn->accepted ? "from" : "to",
                      ucs_sockaddr_str((const struct sockaddr*)&conn->peer_addr,
                                       addr_str, sizeof(addr_str)));
    return buf;
}

/* A receive buffer, while bytes are buffered */
static ucs_status_t uct_tcp_zc_conn_rx_buf_get(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_iface_t *iface = conn->iface;

    if (conn->rx.elem != NULL) {
        return UCS_OK;
    }

    conn->rx.elem = ucs_mpool_get_inline(&iface->rx_mp);
    if (conn->rx.elem == NULL) {
        ucs_error("failed to allocate tcp_zc receive buffer");
        return UCS_ERR_NO_MEMORY;
    }

    conn->rx.buf  = UCS_PTR_BYTE_OFFSET(conn->rx.elem, iface->rx_buf_offset);
    conn->rx.head = 0;
    conn->rx.tail = 0;
    return UCS_OK;
}

/* Nothing is buffered: an idle connection holds no buffer */
static void uct_tcp_zc_conn_rx_buf_put(uct_tcp_zc_conn_t *conn)
{
    if (conn->rx.elem != NULL) {
        ucs_mpool_put_inline(conn->rx.elem);
        conn->rx.elem = NULL;
        conn->rx.buf  = NULL;
    }
}

void uct_tcp_zc_rx_buf_release(uct_recv_desc_t *self, void *desc)
{
    ucs_mpool_put_inline(ucs_container_of(self, uct_tcp_zc_rx_buf_t,
                                          release));
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

static void uct_tcp_zc_conn_list_add(uct_tcp_zc_conn_t *conn)
{
    ucs_async_context_t *async = conn->iface->super.worker->async;

    UCS_ASYNC_BLOCK(async);
    ucs_list_add_tail(&conn->iface->conn_list, &conn->list);
    UCS_ASYNC_UNBLOCK(async);
}

/*
 * A socket for the connection: non-blocking, with the iface's options, in
 * the event set. A connecting socket waits for writability to learn the
 * result; accepted connections are added by the async thread, so conn must be
 * complete before its events may be handled.
 */
static ucs_status_t uct_tcp_zc_conn_attach_fd(uct_tcp_zc_conn_t *conn, int fd,
                                              uct_tcp_zc_conn_state_t state)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    ucs_status_t status;

    status = ucs_sys_fcntl_modfl(fd, O_NONBLOCK, 0);
    if (status != UCS_OK) {
        return status;
    }

    if (iface->config.nodelay) {
        status = ucs_socket_setopt(fd, IPPROTO_TCP, TCP_NODELAY,
                                   &iface->config.nodelay,
                                   sizeof(iface->config.nodelay));
        if (status != UCS_OK) {
            return status;
        }
    }

    /* keepalive and user timeout, on both sides of a connection */
    status = uct_tcp_zc_iface_set_sockopts(iface, fd);
    if (status != UCS_OK) {
        return status;
    }

    conn->fd     = fd;
    conn->state  = state;
    conn->events = UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR;
    if (state == UCT_TCP_ZC_CONN_CONNECTING) {
        conn->events |= UCS_EVENT_SET_EVWRITE;
    }

    uct_tcp_zc_conn_zcopy_init(conn);
    status = ucs_event_set_add(iface->event_set, fd, conn->events, conn);
    if (status != UCS_OK) {
        conn->fd    = -1;
        conn->state = UCT_TCP_ZC_CONN_IDLE;
        return status;
    }

    return UCS_OK;
}

ucs_status_t uct_tcp_zc_conn_create(uct_tcp_zc_iface_t *iface, int fd,
                                    const struct sockaddr_storage *peer_addr,
                                    uct_tcp_zc_conn_t **conn_p)
{
    uct_tcp_zc_conn_t *conn;
    ucs_status_t status;

    conn = ucs_calloc(1, sizeof(*conn), "tcp_zc conn");
    if (conn == NULL) {
        ucs_error("failed to allocate tcp_zc connection");
        return UCS_ERR_NO_MEMORY;
    }

    conn->fd       = -1;
    conn->state    = UCT_TCP_ZC_CONN_IDLE;
    conn->iface    = iface;
    conn->match    = UCT_TCP_ZC_CONN_MATCH_NONE;
    conn->accepted = (fd != -1);
    if (peer_addr != NULL) {
        conn->peer_addr = *peer_addr;
    }
    ucs_queue_head_init(&conn->tx_queue);
    ucs_queue_head_init(&conn->answer_queue);
    ucs_queue_head_init(&conn->wait_queue);
    ucs_queue_head_init(&conn->zc_queue);
    uct_tcp_zc_rx_init(&conn->rx.parser, conn->accepted,
                       iface->config.seg_size);

    if (fd != -1) {
        status = uct_tcp_zc_conn_attach_fd(conn, fd, UCT_TCP_ZC_CONN_HELLO);
        if (status != UCS_OK) {
            ucs_free(conn);
            return status;
        }
    }

    uct_tcp_zc_conn_list_add(conn);
    *conn_p = conn;
    return UCS_OK;
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
           ucs_queue_is_empty(&conn->wait_queue) &&
           ucs_queue_is_empty(&conn->zc_queue);
}

static void uct_tcp_zc_tx_free(uct_tcp_zc_iface_t *iface, uct_tcp_zc_tx_t *tx)
{
    if (tx->memh != NULL) {
        uct_tcp_zc_md_access_put(uct_tcp_zc_iface_md(iface), tx->memh);
    }
    ucs_free(tx->bounce);
    ucs_mpool_put_inline(tx);
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

/* Leave endpoint matching */
static void uct_tcp_zc_conn_match_remove(uct_tcp_zc_conn_t *conn)
{
    if (conn->match == UCT_TCP_ZC_CONN_MATCH_NONE) {
        return;
    }

    ucs_conn_match_remove_elem(&conn->iface->conn_match, &conn->match_elem,
                               (conn->match == UCT_TCP_ZC_CONN_MATCH_EXP) ?
                                       UCS_CONN_MATCH_QUEUE_EXP :
                                       UCS_CONN_MATCH_QUEUE_UNEXP);
    conn->match = UCT_TCP_ZC_CONN_MATCH_NONE;
}

static void uct_tcp_zc_conn_match_insert(uct_tcp_zc_conn_t *conn,
                                         uct_tcp_zc_conn_match_t match)
{
    ucs_assert(conn->match == UCT_TCP_ZC_CONN_MATCH_NONE);
    if (ucs_conn_match_insert(&conn->iface->conn_match, &conn->peer_key,
                              conn->conn_id, &conn->match_elem,
                              (match == UCT_TCP_ZC_CONN_MATCH_EXP) ?
                                      UCS_CONN_MATCH_QUEUE_EXP :
                                      UCS_CONN_MATCH_QUEUE_UNEXP)) {
        conn->match = match;
    }
}

static void uct_tcp_zc_conn_fail(uct_tcp_zc_conn_t *conn, ucs_status_t status,
                                 ucs_log_level_t log_level,
                                 const char *reason);

/* Only the socket: the connection's queues stay */
static void uct_tcp_zc_conn_close_fd(uct_tcp_zc_conn_t *conn)
{
    if (conn->fd != -1) {
        ucs_event_set_del(conn->iface->event_set, conn->fd);
        ucs_close_fd(&conn->fd);
    }

    conn->events = 0;
    uct_tcp_zc_conn_rx_buf_put(conn);
    uct_tcp_zc_rx_init(&conn->rx.parser, conn->accepted,
                       conn->iface->config.seg_size);
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

    uct_tcp_zc_conn_match_remove(conn);
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
    conn->tx_cur = NULL;
    if (conn->zc.uring_dirty) {
        ucs_list_del(&conn->zc.uring_list);
        conn->zc.uring_dirty = 0;
    }
    uct_tcp_zc_conn_purge_queue(conn, &conn->tx_queue, linger, status);
    uct_tcp_zc_conn_purge_queue(conn, &conn->answer_queue, linger, status);
    uct_tcp_zc_conn_purge_queue(conn, &conn->wait_queue, linger, status);
    conn->rma_outstanding = 0;
    conn->rma_written     = 0;
    uct_tcp_zc_conn_purge_queue(conn, &conn->zc_queue, linger, status);
}

void uct_tcp_zc_conn_close(uct_tcp_zc_conn_t *conn, ucs_status_t status)
{
    uct_tcp_zc_conn_close_common(conn, status, 1);
}

/* What the connection still waits for completes now; its memory stays */
static void uct_tcp_zc_conn_cleanup(uct_tcp_zc_conn_t *conn,
                                    ucs_status_t status)
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

    uct_tcp_zc_conn_rx_buf_put(conn);
    ucs_free(conn->zc.ids);
    conn->zc.ids = NULL;
}

/*
 * Free a connection which has no endpoint. Within the events of a progress
 * call, a later event of the same call may name it: it is freed after them.
 */
static void uct_tcp_zc_conn_release(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_iface_t *iface  = conn->iface;
    ucs_async_context_t *async = iface->super.worker->async;

    ucs_assert(conn->ep == NULL);
    uct_tcp_zc_conn_cleanup(conn, UCS_ERR_CANCELED);

    UCS_ASYNC_BLOCK(async);
    ucs_list_del(&conn->list);
    UCS_ASYNC_UNBLOCK(async);

    if (iface->in_progress) {
        ucs_list_add_tail(&iface->conn_graveyard, &conn->list);
    } else {
        ucs_free(conn);
    }
}

void uct_tcp_zc_conn_free_released(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_conn_t *conn, *tmp;

    ucs_list_for_each_safe(conn, tmp, &iface->conn_graveyard, list) {
        ucs_list_del(&conn->list);
        ucs_free(conn);
    }
}

/* Close every connection, at iface close */
void uct_tcp_zc_conn_destroy_all(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_conn_t *conn, *tmp;

    ucs_list_for_each_safe(conn, tmp, &iface->conn_list, list) {
        ucs_assert(conn->ep == NULL);
        uct_tcp_zc_conn_release(conn);
    }
}

/*
 * The connection failed: close it and tell its endpoint. A connection without
 * an endpoint is freed, so the caller must not touch conn afterwards.
 */
static void uct_tcp_zc_conn_fail(uct_tcp_zc_conn_t *conn, ucs_status_t status,
                                 ucs_log_level_t log_level, const char *reason)
{
    char str[256];

    ucs_log(log_level, "tcp_zc %s: %s",
            uct_tcp_zc_conn_str(conn, str, sizeof(str)), reason);

    if (conn->ep != NULL) {
        uct_tcp_zc_conn_close(conn, status);
        conn->iface->conn_ops->failed(conn->ep, status);
    } else {
        uct_tcp_zc_conn_release(conn);
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

/* The peer speaks another protocol version */
static void uct_tcp_zc_conn_version_error(uct_tcp_zc_conn_t *conn,
                                          unsigned version)
{
    char reason[128];

    ucs_snprintf_zero(reason, sizeof(reason), "the peer speaks tcp_zc "
                      "protocol version %u, this side version %u", version,
                      UCT_TCP_ZC_VERSION);
    uct_tcp_zc_conn_fail(conn, UCS_ERR_UNREACHABLE, UCS_LOG_LEVEL_ERROR,
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
        uct_tcp_zc_tx_completed(conn->iface, tx, tx->status);
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
        uct_tcp_zc_tx_completed(conn->iface, tx, tx->status);
    } else {
        ucs_queue_push(&conn->zc_queue, &tx->queue);
    }
}

/* The answer of the PUT or GET at the head of the wait queue arrived */
static uct_tcp_zc_tx_t *uct_tcp_zc_conn_pull_answered(uct_tcp_zc_conn_t *conn)
{
    ucs_assert(conn->rma_outstanding > 0);
    ucs_assert(conn->rma_written > 0);
    --conn->rma_outstanding;
    --conn->rma_written;
    return ucs_queue_pull_elem_non_empty(&conn->wait_queue, uct_tcp_zc_tx_t,
                                         queue);
}

/* Complete flush markers at the head of the wait queue */
static void uct_tcp_zc_conn_complete_flushes(uct_tcp_zc_conn_t *conn)
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
        uct_tcp_zc_conn_tx_done(conn, tx);
        break;
    default:
        ucs_queue_push(&conn->wait_queue, &tx->queue);
        uct_tcp_zc_conn_complete_flushes(conn);
        break;
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

static UCS_F_ALWAYS_INLINE int uct_tcp_zc_tx_is_rma(uct_tcp_zc_tx_kind_t kind)
{
    return (kind == UCT_TCP_ZC_TX_PUT) || (kind == UCT_TCP_ZC_TX_GET);
}

static UCS_F_ALWAYS_INLINE ucs_queue_head_t *
uct_tcp_zc_conn_tx_queue(uct_tcp_zc_conn_t *conn, uct_tcp_zc_tx_kind_t kind)
{
    return (kind == UCT_TCP_ZC_TX_ANSWER) ? &conn->answer_queue :
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

    conn->tx_cur = tx;
    return tx;
}

/* Write the rest of this side's hello; 1 when done, 0 if not yet, -1 with
 * errno on a socket error */
static int uct_tcp_zc_conn_write_hello(uct_tcp_zc_conn_t *conn)
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

    ucs_assert(data_len <= UCT_TCP_ZC_TX_HDRS_MAX);
    tx = ucs_mpool_get_inline(&conn->iface->tx_mp);
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
    return (kind == UCT_TCP_ZC_TX_SEND) || (kind == UCT_TCP_ZC_TX_ANSWER);
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

    return (kind == UCT_TCP_ZC_TX_ANSWER) ||
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

/* Answer a request of the peer; UCS_OK if sent or queued */
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
                                  iovcnt > 0, UCT_TCP_ZC_TX_ANSWER, NULL,
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

/*
 * The kernel acknowledges at once ("quick ack") on a socket which does not
 * send data back soon: ask it again to delay, after each read, since it
 * returns to quick acks by itself.
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
        if (conn->rx.discard) {
            /* the receive buffer is empty: a sink */
            if (uct_tcp_zc_conn_rx_buf_get(conn) != UCS_OK) {
                uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY,
                                     UCS_LOG_LEVEL_ERROR,
                                     "no memory for a receive buffer");
                return -1;
            }

            length = ucs_min(uct_tcp_zc_conn_rx_buf_size(conn->iface),
                             uct_tcp_zc_rx_data_left(&conn->rx.parser));
            ret    = uct_tcp_zc_conn_recv(conn, conn->rx.buf, length);
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

/*
 * Connection setup and endpoint matching
 */

static void uct_tcp_zc_conn_hello_init(uct_tcp_zc_conn_t *conn,
                                       uint8_t status, uint8_t flags)
{
    const uct_tcp_zc_peer_key_t *key = &conn->iface->key;

    memset(&conn->hello, 0, sizeof(conn->hello));
    conn->hello.magic     = UCT_TCP_ZC_MAGIC;
    conn->hello.version   = UCT_TCP_ZC_VERSION;
    conn->hello.status    = status;
    conn->hello.flags     = flags;
    conn->hello.sa_family = key->sa_family;
    conn->hello.port      = key->port;
    conn->hello.conn_id   = (status == UCT_TCP_ZC_HELLO_CONNECT) ?
                            conn->conn_id : 0;
    memcpy(conn->hello.addr, key->addr, sizeof(conn->hello.addr));
    conn->hello_left      = sizeof(conn->hello);
}

void uct_tcp_zc_peer_key_init(uct_tcp_zc_peer_key_t *key,
                              const struct sockaddr *addr)
{
    memset(key, 0, sizeof(*key));
    key->sa_family = addr->sa_family;
    if (addr->sa_family == AF_INET6) {
        key->port = ((const struct sockaddr_in6*)addr)->sin6_port;
        memcpy(key->addr, &((const struct sockaddr_in6*)addr)->sin6_addr,
               sizeof(struct in6_addr));
    } else {
        key->port = ((const struct sockaddr_in*)addr)->sin_port;
        memcpy(key->addr, &((const struct sockaddr_in*)addr)->sin_addr,
               sizeof(struct in_addr));
    }
}

static void uct_tcp_zc_peer_key_from_hello(uct_tcp_zc_peer_key_t *key,
                                           const uct_tcp_zc_hello_t *hello)
{
    memset(key, 0, sizeof(*key));
    key->sa_family = hello->sa_family;
    key->port      = hello->port;
    memcpy(key->addr, hello->addr,
           (hello->sa_family == AF_INET6) ? sizeof(struct in6_addr) :
                                            sizeof(struct in_addr));
}

/**
 * Open the connection of an endpoint.
 *
 * @param conn       Idle connection of the endpoint.
 * @param peer_addr  Listener of the peer's iface.
 * @param conn_id    Connection id: the sequence number of this iface's
 *                   endpoints to that iface (CONNECT_TO_IFACE), or the peer
 *                   endpoint's id (to_ep).
 * @param to_ep      Whether the peer's endpoint waits for this connection.
 *
 * @return UCS_OK, or the error of the connection, which then failed.
 */
ucs_status_t uct_tcp_zc_conn_connect(uct_tcp_zc_conn_t *conn,
                                     const struct sockaddr_storage *peer_addr,
                                     uint64_t conn_id, int to_ep)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    uct_tcp_zc_conn_state_t state;
    ucs_status_t status;
    size_t addr_len;
    int fd, ret;

    conn->peer_addr = *peer_addr;
    conn->conn_id   = conn_id;
    uct_tcp_zc_peer_key_init(&conn->peer_key,
                             (const struct sockaddr*)peer_addr);
    uct_tcp_zc_conn_hello_init(conn, UCT_TCP_ZC_HELLO_CONNECT,
                               to_ep ? UCT_TCP_ZC_HELLO_FLAG_TO_EP : 0);

    status = ucs_sockaddr_sizeof((const struct sockaddr*)peer_addr,
                                 &addr_len);
    if (status != UCS_OK) {
        return status;
    }

    status = uct_tcp_zc_socket_create(peer_addr->ss_family, SOCK_STREAM, &fd);
    if (status != UCS_OK) {
        return status;
    }

    status = ucs_socket_set_buffer_size(fd, iface->config.sockopt.sndbuf,
                                        iface->config.sockopt.rcvbuf);
    if (status != UCS_OK) {
        goto err_close;
    }

    status = ucs_sys_fcntl_modfl(fd, O_NONBLOCK, 0);
    if (status != UCS_OK) {
        goto err_close;
    }

    ret = connect(fd, (const struct sockaddr*)peer_addr, addr_len);
    if (ret == 0) {
        state = UCT_TCP_ZC_CONN_HELLO;
    } else if (errno == EINPROGRESS) {
        state = UCT_TCP_ZC_CONN_CONNECTING;
    } else {
        ucs_diag("tcp_zc conn %p: connect to %s failed: %m", conn,
                 ucs_sockaddr_str((const struct sockaddr*)peer_addr,
                                  ucs_alloca(UCS_SOCKADDR_STRING_LEN),
                                  UCS_SOCKADDR_STRING_LEN));
        status = UCS_ERR_UNREACHABLE;
        goto err_close;
    }

    status = uct_tcp_zc_conn_attach_fd(conn, fd, state);
    if (status != UCS_OK) {
        goto err_close;
    }

    if (!to_ep) {
        /* an endpoint of the peer may connect to this iface at once */
        uct_tcp_zc_conn_match_insert(conn, UCT_TCP_ZC_CONN_MATCH_EXP);
    }

    ucs_debug("tcp_zc conn %p: fd %d %s to %s, id 0x%" PRIx64, conn, fd,
              (state == UCT_TCP_ZC_CONN_HELLO) ? "connected" : "connecting",
              ucs_sockaddr_str((const struct sockaddr*)peer_addr,
                               ucs_alloca(UCS_SOCKADDR_STRING_LEN),
                               UCS_SOCKADDR_STRING_LEN), conn_id);
    if (state == UCT_TCP_ZC_CONN_HELLO) {
        uct_tcp_zc_conn_progress_tx(conn);
    }
    return UCS_OK;

err_close:
    close(fd);
    conn->state = UCT_TCP_ZC_CONN_FAILED;
    return status;
}

/**
 * Wait for the peer's endpoint to connect (CONNECT_TO_EP, where the peer is
 * the side which connects): the connection with this id, if it came already,
 * is taken at once.
 */
void uct_tcp_zc_conn_expect(uct_tcp_zc_conn_t *conn,
                            const struct sockaddr_storage *peer_addr,
                            uint64_t conn_id)
{
    ucs_conn_match_elem_t *elem;

    conn->peer_addr = *peer_addr;
    conn->conn_id   = conn_id;
    uct_tcp_zc_peer_key_init(&conn->peer_key,
                             (const struct sockaddr*)peer_addr);

    elem = ucs_conn_match_get_elem(&conn->iface->conn_match, &conn->peer_key,
                                   conn_id, UCS_CONN_MATCH_QUEUE_UNEXP, 1);
    if (elem != NULL) {
        uct_tcp_zc_conn_adopt(ucs_container_of(elem, uct_tcp_zc_conn_t,
                                               match_elem), conn);
        return;
    }

    uct_tcp_zc_conn_match_insert(conn, UCT_TCP_ZC_CONN_MATCH_EXP);
}

/**
 * An endpoint takes a connection which the peer opened instead of its own,
 * with the requests which wait there; its own one goes.
 *
 * @param conn  The connection which the peer opened, without endpoint.
 * @param mine  The endpoint's connection.
 */
void uct_tcp_zc_conn_adopt(uct_tcp_zc_conn_t *conn, uct_tcp_zc_conn_t *mine)
{
    uct_tcp_zc_ep_t *ep = mine->ep;
    uct_tcp_zc_tx_t *tx;

    ucs_assert(conn->ep == NULL);
    ucs_debug("tcp_zc conn %p fd %d: takes the endpoint %p of conn %p fd %d",
              conn, conn->fd, ep, mine, mine->fd);
    /* the caller took both out of their matching queues */
    conn->match = UCT_TCP_ZC_CONN_MATCH_NONE;
    mine->match = UCT_TCP_ZC_CONN_MATCH_NONE;

    /* nothing was written on mine: its requests wait for the handshake */
    ucs_queue_for_each(tx, &mine->tx_queue, queue) {
        tx->conn = conn;
    }
    ucs_queue_splice(&conn->tx_queue, &mine->tx_queue);
    conn->rma_outstanding = mine->rma_outstanding;
    mine->rma_outstanding = 0;
    conn->peer_addr       = mine->peer_addr;
    conn->ep              = ep;
    mine->ep              = NULL;
    uct_tcp_zc_conn_release(mine);
    conn->iface->conn_ops->moved(ep, conn);

    if (conn->state == UCT_TCP_ZC_CONN_CONNECTED) {
        uct_tcp_zc_conn_progress_tx(conn);
    }
}

/**
 * Connect an endpoint to a peer's iface (CONNECT_TO_IFACE). The n-th endpoint
 * of this iface to that iface pairs with the n-th endpoint of the peer to
 * this one: a connection which that endpoint opened already is taken.
 */
ucs_status_t
uct_tcp_zc_conn_connect_iface(uct_tcp_zc_conn_t *conn,
                              const struct sockaddr_storage *peer_addr)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    ucs_conn_match_elem_t *elem;
    uct_tcp_zc_peer_key_t key;
    ucs_conn_sn_t sn;

    uct_tcp_zc_peer_key_init(&key, (const struct sockaddr*)peer_addr);
    sn   = ucs_conn_match_get_next_sn(&iface->conn_match, &key);
    elem = ucs_conn_match_get_elem(&iface->conn_match, &key, sn,
                                   UCS_CONN_MATCH_QUEUE_UNEXP, 1);
    if (elem == NULL) {
        return uct_tcp_zc_conn_connect(conn, peer_addr, sn, 0);
    }

    conn->peer_addr = *peer_addr;
    uct_tcp_zc_conn_adopt(ucs_container_of(elem, uct_tcp_zc_conn_t,
                                           match_elem), conn);
    return UCS_OK;
}

static const void *
uct_tcp_zc_conn_match_get_address(const ucs_conn_match_elem_t *elem)
{
    return &ucs_container_of(elem, uct_tcp_zc_conn_t, match_elem)->peer_key;
}

static ucs_conn_sn_t
uct_tcp_zc_conn_match_get_sn(const ucs_conn_match_elem_t *elem)
{
    return ucs_container_of(elem, uct_tcp_zc_conn_t, match_elem)->conn_id;
}

static const char *
uct_tcp_zc_conn_match_address_str(const ucs_conn_match_ctx_t *conn_match_ctx,
                                  const void *address, char *str,
                                  size_t max_size)
{
    const uct_tcp_zc_peer_key_t *key = address;
    char addr_str[UCS_SOCKADDR_STRING_LEN];

    ucs_snprintf_zero(str, max_size, "%s:%u",
                      inet_ntop(key->sa_family, key->addr, addr_str,
                                sizeof(addr_str)),
                      ntohs(key->port));
    return str;
}

static void
uct_tcp_zc_conn_match_purge(ucs_conn_match_ctx_t *conn_match_ctx,
                            ucs_conn_match_elem_t *elem)
{
    /* connections leave matching before the iface closes */
    ucs_container_of(elem, uct_tcp_zc_conn_t, match_elem)->match =
            UCT_TCP_ZC_CONN_MATCH_NONE;
}

const ucs_conn_match_ops_t uct_tcp_zc_conn_match_ops = {
    .get_address = uct_tcp_zc_conn_match_get_address,
    .get_conn_sn = uct_tcp_zc_conn_match_get_sn,
    .address_str = uct_tcp_zc_conn_match_address_str,
    .purge_cb    = uct_tcp_zc_conn_match_purge
};

/*
 * Of two connections which two endpoints opened to each other at once, the
 * one which the iface with the lower address opened stays: both sides come
 * to the same result.
 */
static int uct_tcp_zc_conn_peer_wins(const uct_tcp_zc_conn_t *conn)
{
    return memcmp(&conn->peer_key, &conn->iface->key,
                  sizeof(conn->peer_key)) < 0;
}

/* Write this side's hello at once: the socket is new, so it takes it */
static void uct_tcp_zc_conn_send_hello(uct_tcp_zc_conn_t *conn,
                                       uint8_t status)
{
    uct_tcp_zc_conn_hello_init(conn, status, 0);
    (void)uct_tcp_zc_conn_write_hello(conn);
}

/* The hello of a peer which connected: match it with an endpoint */
static int uct_tcp_zc_conn_rx_hello_connect(uct_tcp_zc_conn_t *conn,
                                            const uct_tcp_zc_hello_t *hello)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    int to_ep = !!(hello->flags & UCT_TCP_ZC_HELLO_FLAG_TO_EP);
    ucs_conn_match_elem_t *elem;
    uct_tcp_zc_conn_t *mine;

    uct_tcp_zc_peer_key_from_hello(&conn->peer_key, hello);
    conn->conn_id = hello->conn_id;
    if (to_ep != !!(conn->conn_id & UCT_TCP_ZC_CONN_ID_EP)) {
        uct_tcp_zc_conn_protocol_error(conn, "hello connection id");
        return -1;
    }

    conn->state = UCT_TCP_ZC_CONN_CONNECTED;
    uct_tcp_zc_conn_hello_init(conn, UCT_TCP_ZC_HELLO_ACCEPT, 0);
    if (!to_ep && !memcmp(&conn->peer_key, &iface->key,
                          sizeof(conn->peer_key))) {
        /* an endpoint of this iface to itself: both ends are here */
        return (uct_tcp_zc_conn_progress_tx(conn) == UCS_OK) ? 1 : -1;
    }

    elem = ucs_conn_match_get_elem(&iface->conn_match, &conn->peer_key,
                                   conn->conn_id, UCS_CONN_MATCH_QUEUE_EXP,
                                   1);
    if (elem == NULL) {
        /* for an endpoint of this side to come */
        uct_tcp_zc_conn_match_insert(conn, UCT_TCP_ZC_CONN_MATCH_UNEXP);
        return (uct_tcp_zc_conn_progress_tx(conn) == UCS_OK) ? 1 : -1;
    }

    mine        = ucs_container_of(elem, uct_tcp_zc_conn_t, match_elem);
    mine->match = UCT_TCP_ZC_CONN_MATCH_NONE;
    if (!to_ep && !uct_tcp_zc_conn_peer_wins(conn)) {
        /* both connected at once, and this side's connection stays */
        ucs_debug("tcp_zc conn %p fd %d: refused, conn %p connects the same "
                  "endpoints", conn, conn->fd, mine);
        uct_tcp_zc_conn_match_insert(mine, UCT_TCP_ZC_CONN_MATCH_EXP);
        uct_tcp_zc_conn_send_hello(conn, UCT_TCP_ZC_HELLO_REJECT_SIMULT);
        uct_tcp_zc_conn_release(conn);
        return -1;
    }

    if (uct_tcp_zc_conn_progress_tx(conn) != UCS_OK) {
        /* failed and freed: the endpoint keeps waiting on its own */
        uct_tcp_zc_conn_match_insert(mine, UCT_TCP_ZC_CONN_MATCH_EXP);
        return -1;
    }

    uct_tcp_zc_conn_adopt(conn, mine);
    return 1;
}

/* The hello of a peer which accepted this side's connection */
static int uct_tcp_zc_conn_rx_hello_answer(uct_tcp_zc_conn_t *conn,
                                           const uct_tcp_zc_hello_t *hello)
{
    switch (hello->status) {
    case UCT_TCP_ZC_HELLO_ACCEPT:
        uct_tcp_zc_conn_match_remove(conn);
        conn->state = UCT_TCP_ZC_CONN_CONNECTED;
        return (uct_tcp_zc_conn_progress_tx(conn) == UCS_OK) ? 1 : -1;
    case UCT_TCP_ZC_HELLO_REJECT_SIMULT:
        /* the peer's connection comes instead; the endpoint's requests
         * wait here until then */
        ucs_debug("tcp_zc conn %p fd %d: the peer connects to this side "
                  "instead", conn, conn->fd);
        uct_tcp_zc_conn_close_fd(conn);
        conn->state = UCT_TCP_ZC_CONN_IDLE;
        return -1;
    default:
        uct_tcp_zc_conn_version_error(conn, hello->version);
        return -1;
    }
}

/* A hello of the peer; returns 1 if handled, -1 if conn is gone */
static int uct_tcp_zc_conn_rx_hello(uct_tcp_zc_conn_t *conn,
                                    uct_tcp_zc_rx_event_t event,
                                    const uct_tcp_zc_hello_t *hello)
{
    if (event == UCT_TCP_ZC_RX_EV_VERSION) {
        if (conn->accepted) {
            uct_tcp_zc_conn_send_hello(conn,
                                       UCT_TCP_ZC_HELLO_REJECT_VERSION);
        }
        uct_tcp_zc_conn_version_error(conn, hello->version);
        return -1;
    }

    return conn->accepted ? uct_tcp_zc_conn_rx_hello_connect(conn, hello) :
                            uct_tcp_zc_conn_rx_hello_answer(conn, hello);
}

/**
 * The endpoint of the connection goes. What it did not complete is canceled
 * and the connection closed; else the connection stays for the peer's
 * endpoint, told that no more requests come from this side, and closes when
 * the peer's endpoint goes too.
 */
void uct_tcp_zc_conn_detach(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_hdr_t hdr = {
        .type    = UCT_TCP_ZC_MSG_EP_CLOSED,
        .version = UCT_TCP_ZC_VERSION
    };

    conn->ep = NULL;
    if ((conn->state != UCT_TCP_ZC_CONN_CONNECTED) ||
        !uct_tcp_zc_conn_is_idle(conn) || conn->rx.parser.peer_closed ||
        (uct_tcp_zc_conn_send(conn, &hdr, sizeof(hdr), NULL, 0, 0,
                              UCT_TCP_ZC_TX_SEND, NULL, NULL) ==
         UCS_ERR_NO_MEMORY)) {
        uct_tcp_zc_conn_release(conn);
        return;
    }

    /* if sending failed, conn is gone already */
}

/* Answer a PUT or GET request without data */
static ucs_status_t uct_tcp_zc_conn_send_empty_answer(uct_tcp_zc_conn_t *conn,
                                                      uint8_t type)
{
    uct_tcp_zc_hdr_t hdr = {
        .type    = type,
        .version = UCT_TCP_ZC_VERSION
    };

    return uct_tcp_zc_conn_send_answer(conn, &hdr, NULL, 0, NULL);
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
static int uct_tcp_zc_conn_rx_msg(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_rx_msg_t msg;
    uct_tcp_zc_rx_event_t event;

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
        return uct_tcp_zc_conn_rx_hello(conn, event, &msg.hello);
    case UCT_TCP_ZC_RX_EV_AM:
        uct_iface_trace_am(&conn->iface->super, UCT_AM_TRACE_TYPE_RECV,
                           msg.hdr.am_id, msg.data, msg.length, "RECV fd %d",
                           conn->fd);
        /* the handler may keep the data, with the buffer */
        if ((uct_iface_invoke_am(&conn->iface->super, msg.hdr.am_id,
                                 (void*)msg.data, msg.length,
                                 UCT_CB_PARAM_FLAG_DESC) == UCS_INPROGRESS) &&
            (uct_tcp_zc_conn_rx_buf_keep(conn, (void*)msg.data) != UCS_OK)) {
            uct_tcp_zc_conn_fail(conn, UCS_ERR_NO_MEMORY, UCS_LOG_LEVEL_ERROR,
                                 "no memory for a receive buffer");
            return -1;
        }
        return 1;
    case UCT_TCP_ZC_RX_EV_PUT:
    case UCT_TCP_ZC_RX_EV_GET_REQ:
        return (uct_tcp_zc_conn_rx_rma(conn, event, &msg.rma) == 0) ? 1 : -1;
    case UCT_TCP_ZC_RX_EV_PUT_ACK:
    case UCT_TCP_ZC_RX_EV_GET_RESP:
    case UCT_TCP_ZC_RX_EV_RMA_ERROR:
        return (uct_tcp_zc_conn_rx_answer(conn, event, &msg.hdr) == 0) ? 1 :
                                                                        -1;
    case UCT_TCP_ZC_RX_EV_KEEPALIVE:
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
static int uct_tcp_zc_conn_rx_handle(uct_tcp_zc_conn_t *conn)
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

static int uct_tcp_zc_conn_progress_rx(uct_tcp_zc_conn_t *conn)
{
    int ret = uct_tcp_zc_conn_rx_handle(conn);

    if ((ret == 0) && (conn->rx.head == conn->rx.tail)) {
        /* all handled: the buffer goes back */
        uct_tcp_zc_conn_rx_buf_put(conn);
    }

    return ret;
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

    /* the hello goes first; requests wait for the peer's */
    conn->state = UCT_TCP_ZC_CONN_HELLO;
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

    if ((conn->state != UCT_TCP_ZC_CONN_CONNECTED) &&
        (conn->state != UCT_TCP_ZC_CONN_HELLO)) {
        return;
    }

    /* zero-copy notifications make the socket report an error event until
     * they are read, whether or not data is waiting too */
    if (events & UCS_EVENT_SET_EVERR) {
        uct_tcp_zc_conn_progress_errqueue(conn);
        if (conn->state == UCT_TCP_ZC_CONN_FAILED) {
            return;
        }
    }

    if (events & (UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR)) {
        rma_blocked = uct_tcp_zc_conn_rma_blocked(conn);
        if (uct_tcp_zc_conn_progress_rx(conn) < 0) {
            return;
        }

        if ((conn->tx_cur == NULL) && !ucs_queue_is_empty(&conn->tx_queue) &&
            (uct_tcp_zc_conn_progress_tx(conn) != UCS_OK)) {
            /* answers made room for requests which waited */
            return;
        }

        if (rma_blocked && !uct_tcp_zc_conn_rma_blocked(conn) &&
            (conn->ep != NULL)) {
            /* answers made room for the operations waiting to be sent */
            conn->iface->conn_ops->tx_ready(conn->ep);
        }
    }

    if ((events & UCS_EVENT_SET_EVWRITE) &&
        ((conn->state == UCT_TCP_ZC_CONN_CONNECTED) ||
         (conn->state == UCT_TCP_ZC_CONN_HELLO))) {
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
