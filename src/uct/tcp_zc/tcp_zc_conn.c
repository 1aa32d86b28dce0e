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
#include <sys/socket.h>


/*
 * Connection lifecycle: a connection and its socket, its receive buffer, its
 * place in endpoint matching, and how it closes or fails.
 */

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
ucs_status_t uct_tcp_zc_conn_rx_buf_get(uct_tcp_zc_conn_t *conn)
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
void uct_tcp_zc_conn_rx_buf_put(uct_tcp_zc_conn_t *conn)
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

/* The parser of a new stream: the peer may send data on a data connection
 * where this side has a data port */
static void uct_tcp_zc_conn_rx_init(uct_tcp_zc_conn_t *conn)
{
    uct_tcp_zc_rx_init(&conn->rx.parser, conn->accepted,
                       conn->iface->config.seg_size);
    conn->rx.parser.data_port = (conn->iface->dc.port != 0);
}

void uct_tcp_zc_dc_destroy(uct_tcp_zc_dc_t *dc)
{
    uct_tcp_zc_tx_t *tx;

    ucs_queue_for_each_extract(tx, &dc->tx_queue, queue, 1) {
        uct_tcp_zc_tx_free(dc->iface, tx);
    }

    ucs_event_set_del(dc->iface->event_set, dc->fd);
    close(dc->fd);
    ucs_free(dc);
}

/* Close the data connections: what was not written of this side's is
 * dropped with the operations it belongs to */
static void uct_tcp_zc_conn_dc_close(uct_tcp_zc_conn_t *conn)
{
    if (conn->dc.tx != NULL) {
        uct_tcp_zc_dc_destroy(conn->dc.tx);
        conn->dc.tx = NULL;
    }

    if (conn->dc.rx != NULL) {
        uct_tcp_zc_dc_destroy(conn->dc.rx);
        conn->dc.rx = NULL;
    }

    conn->dc.rx_port = 0;
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
ucs_status_t uct_tcp_zc_conn_attach_fd(uct_tcp_zc_conn_t *conn, int fd,
                                              uct_tcp_zc_conn_state_t state)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    ucs_status_t status;

    status = uct_tcp_zc_socket_set_options(fd, iface->config.nodelay,
                                           &iface->config.keepalive,
                                           iface->config.user_timeout);
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

    conn->event_cb = iface->conn_event_cb;
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
    uct_tcp_zc_conn_rx_init(conn);

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

/* Leave endpoint matching */
void uct_tcp_zc_conn_match_remove(uct_tcp_zc_conn_t *conn)
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

void uct_tcp_zc_conn_match_insert(uct_tcp_zc_conn_t *conn,
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

/* Only the socket: the connection's queues stay */
void uct_tcp_zc_conn_close_fd(uct_tcp_zc_conn_t *conn)
{
    if (conn->fd != -1) {
        ucs_event_set_del(conn->iface->event_set, conn->fd);
        ucs_close_fd(&conn->fd);
    }

    conn->events = 0;
    uct_tcp_zc_conn_rx_buf_put(conn);
    uct_tcp_zc_conn_rx_init(conn);
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

    uct_tcp_zc_conn_dc_close(conn);
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
void uct_tcp_zc_conn_release(uct_tcp_zc_conn_t *conn)
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
void uct_tcp_zc_conn_fail(uct_tcp_zc_conn_t *conn, ucs_status_t status,
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

void uct_tcp_zc_conn_io_failed(uct_tcp_zc_conn_t *conn,
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
void uct_tcp_zc_conn_version_error(uct_tcp_zc_conn_t *conn,
                                          unsigned version)
{
    char reason[128];

    ucs_snprintf_zero(reason, sizeof(reason), "the peer speaks tcp_zc "
                      "protocol version %u, this side version %u", version,
                      UCT_TCP_ZC_VERSION);
    uct_tcp_zc_conn_fail(conn, UCS_ERR_UNREACHABLE, UCS_LOG_LEVEL_ERROR,
                         reason);
}

void uct_tcp_zc_conn_protocol_error(uct_tcp_zc_conn_t *conn,
                                           const char *reason)
{
    char msg[128];

    ucs_snprintf_zero(msg, sizeof(msg), "protocol error: %s", reason);
    uct_tcp_zc_conn_fail(conn, UCS_ERR_IO_ERROR, UCS_LOG_LEVEL_ERROR, msg);
}
