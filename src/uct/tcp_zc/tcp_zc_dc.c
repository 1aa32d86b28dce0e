/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_dc.h"
#include "tcp_zc_devmem.h"

#include <ucs/async/async.h>
#include <ucs/sys/sock.h>
#include <ucs/sys/string.h>
#include <sys/socket.h>


/* Data connections which the peer opened and did not announce yet, per
 * iface: more are refused */
#define UCT_TCP_ZC_DC_UNMATCHED_MAX  256

/* Smallest PUT which goes on the data connection: below it, devmem gains
 * less than its extra header costs */
#define UCT_TCP_ZC_DC_MIN_LENGTH     4096


static const char *uct_tcp_zc_dc_peer_str(const uct_tcp_zc_dc_t *dc)
{
    static __thread char buf[UCS_SOCKADDR_STRING_LEN];

    return ucs_sockaddr_str((const struct sockaddr*)&dc->peer_addr, buf,
                            sizeof(buf));
}

static void uct_tcp_zc_dc_events(void *arg, ucs_event_set_types_t events);

static uct_tcp_zc_dc_t *uct_tcp_zc_dc_create(uct_tcp_zc_iface_t *iface,
                                             int fd)
{
    uct_tcp_zc_dc_t *dc = ucs_calloc(1, sizeof(*dc), "tcp_zc data conn");

    if (dc == NULL) {
        ucs_error("failed to allocate a tcp_zc data connection");
        return NULL;
    }

    dc->event_cb = uct_tcp_zc_dc_events;
    dc->fd       = fd;
    dc->iface    = iface;
    ucs_queue_head_init(&dc->tx_queue);
    return dc;
}

static void uct_tcp_zc_dc_set_events(uct_tcp_zc_dc_t *dc,
                                     ucs_event_set_types_t events)
{
    if (events == dc->events) {
        return;
    }

    if (ucs_event_set_mod(dc->iface->event_set, dc->fd, events, dc) !=
        UCS_OK) {
        ucs_error("tcp_zc data conn %p fd %d: event set change failed", dc,
                  dc->fd);
    }
    dc->events = events;
}

int uct_tcp_zc_dc_wanted(const uct_tcp_zc_conn_t *conn, int src_device,
                         int dst_device, size_t length)
{
    return (conn->dc.peer_port != 0) &&
           (length >= UCT_TCP_ZC_DC_MIN_LENGTH) &&
           (src_device || dst_device || conn->iface->dc.all_data);
}

ucs_status_t uct_tcp_zc_dc_connect(uct_tcp_zc_conn_t *conn,
                                   uint16_t *port_p)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    struct sockaddr_storage local;
    socklen_t local_len = sizeof(local);
    uct_tcp_zc_dc_t *dc;
    ucs_status_t status;
    size_t addr_len;
    int fd;

    status = uct_tcp_zc_socket_create(conn->peer_addr.ss_family, SOCK_STREAM,
                                      &fd);
    if (status != UCS_OK) {
        return status;
    }

    dc = uct_tcp_zc_dc_create(iface, fd);
    if (dc == NULL) {
        close(fd);
        return UCS_ERR_NO_MEMORY;
    }

    dc->conn      = conn;
    dc->peer_addr = conn->peer_addr;
    status        = ucs_sockaddr_set_port((struct sockaddr*)&dc->peer_addr,
                                          ntohs(conn->dc.peer_port));
    if (status != UCS_OK) {
        goto err_free;
    }

    status = ucs_sockaddr_sizeof((struct sockaddr*)&dc->peer_addr,
                                 &addr_len);
    if (status != UCS_OK) {
        goto err_free;
    }

    status = ucs_socket_set_buffer_size(fd, iface->config.sockopt.sndbuf,
                                        iface->config.sockopt.rcvbuf);
    if (status != UCS_OK) {
        goto err_free;
    }

    status = ucs_sys_fcntl_modfl(fd, O_NONBLOCK, 0);
    if (status != UCS_OK) {
        goto err_free;
    }

    if (iface->devmem.tx) {
        /* devmem sends leave by the device which the dmabuf is bound to */
        if ((setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface->if_name,
                        strlen(iface->if_name)) == 0) &&
            (uct_tcp_zc_errqueue_enable(fd) == UCS_OK)) {
            dc->devmem = 1;
        } else {
            ucs_diag("tcp_zc conn %p: data connection without devmem send: "
                     "binding to %s: %m", conn, iface->if_name);
        }
    }

    if ((connect(fd, (struct sockaddr*)&dc->peer_addr, addr_len) != 0) &&
        (errno != EINPROGRESS)) {
        ucs_diag("tcp_zc conn %p: connect of the data connection to %s "
                 "failed: %m", conn, uct_tcp_zc_dc_peer_str(dc));
        status = UCS_ERR_UNREACHABLE;
        goto err_free;
    }

    /* the kernel chose the source port at connect */
    if ((getsockname(fd, (struct sockaddr*)&local, &local_len) != 0) ||
        (ucs_sockaddr_get_port((struct sockaddr*)&local, port_p) !=
         UCS_OK)) {
        ucs_error("tcp_zc conn %p: no source port of the data connection: "
                  "%m", conn);
        status = UCS_ERR_IO_ERROR;
        goto err_free;
    }

    dc->events = UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR;
    status     = ucs_event_set_add(iface->event_set, fd, dc->events, dc);
    if (status != UCS_OK) {
        goto err_free;
    }

    conn->dc.tx = dc;
    ucs_debug("tcp_zc conn %p: data connection fd %d from port %u to %s",
              conn, fd, *port_p, uct_tcp_zc_dc_peer_str(dc));
    return UCS_OK;

err_free:
    ucs_free(dc);
    close(fd);
    return status;
}

/* Notifications of devmem sends: the kernel let go of dmabuf pages, which
 * nothing waits for (the peer's answer completes the operation) */
static void uct_tcp_zc_dc_zc_notif(void *arg,
                                   const uct_tcp_zc_zc_notif_t *notif)
{
}

/* Send from the dmabuf: iov bases are its offsets. A device which refuses
 * it makes the data connection send with the CPU from then on. */
static ssize_t uct_tcp_zc_dc_send_devmem(uct_tcp_zc_dc_t *dc,
                                         uct_tcp_zc_tx_t *tx)
{
    struct iovec iov[UCT_TCP_ZC_MAX_IOV];
    unsigned i, count = tx->iovcnt - tx->iov_index;
    ssize_t ret;

    for (i = 0; i < count; ++i) {
        iov[i].iov_base = UCS_PTR_BYTE_OFFSET(
                tx->iov[tx->iov_index + i].iov_base, tx->devmem_delta);
        iov[i].iov_len  = tx->iov[tx->iov_index + i].iov_len;
    }

    ret = uct_tcp_zc_devmem_sendv(dc->fd, iov, count, tx->devmem_binding);
    if (ret > 0) {
        UCT_TCP_ZC_IFACE_STAT(dc->iface, DEVMEM_TX_BYTES, ret);
        return ret;
    } else if ((ret == 0) || (errno == ENOBUFS)) {
        /* full, or notifications to read first (the error events) */
        uct_tcp_zc_errqueue_read(dc->fd, uct_tcp_zc_dc_zc_notif, dc);
        return 0;
    } else if ((errno != EINVAL) && (errno != ENODEV) &&
               (errno != EOPNOTSUPP)) {
        return ret;
    }

    ucs_diag("tcp_zc %s: devmem send refused (%m): the data connection to "
             "%s sends with the CPU", dc->iface->if_name,
             uct_tcp_zc_dc_peer_str(dc));
    dc->devmem  = 0;
    tx->flags  &= ~UCT_TCP_ZC_TX_FLAG_DEVMEM;
    return uct_tcp_zc_socket_sendv(dc->fd, tx->iov + tx->iov_index, count, 0);
}

/* Write queued data; UCS_OK, or the connection failed */
static ucs_status_t uct_tcp_zc_dc_progress_tx(uct_tcp_zc_dc_t *dc)
{
    uct_tcp_zc_tx_t *tx;
    ssize_t ret;

    uct_tcp_zc_md_t *md = uct_tcp_zc_iface_md(dc->iface);
    int err;

    while (!ucs_queue_is_empty(&dc->tx_queue)) {
        tx  = ucs_queue_head_elem_non_empty(&dc->tx_queue, uct_tcp_zc_tx_t,
                                            queue);
        /* a GET answer reads a registered region: still registered */
        if ((tx->memh != NULL) && !uct_tcp_zc_md_access_lock(md, tx->memh)) {
            uct_tcp_zc_conn_fail(dc->conn, UCS_ERR_IO_ERROR,
                                 UCS_LOG_LEVEL_ERROR, "GET from a memory "
                                 "region deregistered meanwhile");
            return UCS_ERR_IO_ERROR;
        }

        if ((tx->flags & UCT_TCP_ZC_TX_FLAG_DEVMEM) && dc->devmem) {
            ret = uct_tcp_zc_dc_send_devmem(dc, tx);
        } else {
            ret = uct_tcp_zc_socket_sendv(dc->fd, tx->iov + tx->iov_index,
                                          tx->iovcnt - tx->iov_index, 0);
        }

        err = errno;
        if (tx->memh != NULL) {
            uct_tcp_zc_md_access_unlock(md, tx->memh);
        }
        errno = err;
        if ((ret == 0) || ((ret < 0) && (errno == ENOTCONN))) {
            /* full, or still connecting */
            uct_tcp_zc_dc_set_events(dc, UCS_EVENT_SET_EVREAD |
                                         UCS_EVENT_SET_EVWRITE |
                                         UCS_EVENT_SET_EVERR);
            return UCS_OK;
        } else if (ret < 0) {
            uct_tcp_zc_conn_io_failed(dc->conn, "send on the data "
                                                "connection", errno);
            return UCS_ERR_IO_ERROR;
        }

        UCT_TCP_ZC_IFACE_STAT(dc->iface, DC_TX_BYTES, ret);
        if (!uct_tcp_zc_tx_advance(tx, ret)) {
            continue;
        }

        ucs_queue_pull_non_empty(&dc->tx_queue);
        uct_tcp_zc_tx_free(dc->iface, tx);
    }

    uct_tcp_zc_dc_set_events(dc, UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR);
    return UCS_OK;
}

uct_tcp_zc_tx_t *uct_tcp_zc_dc_tx_get(uct_tcp_zc_conn_t *conn,
                                     const struct iovec *iov, unsigned iovcnt,
                                     uct_tcp_zc_memh_t *memh)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    uct_tcp_zc_tx_t *tx       = ucs_mpool_get_inline(&iface->tx_mp);
    size_t length             = 0;
    unsigned i;

    if (tx == NULL) {
        ucs_error("failed to allocate tcp_zc data connection descriptor");
        return NULL;
    }

    ucs_assert(iovcnt <= UCT_TCP_ZC_MAX_IOV);
    memcpy(tx->iov, iov, sizeof(*iov) * iovcnt);
    tx->iovcnt    = iovcnt;
    tx->iov_index = 0;
    tx->dc_tx     = NULL;
    tx->memh      = NULL;
    tx->bounce    = NULL;
    tx->flags     = 0;
    if (memh == NULL) {
        return tx;
    }

    for (i = 0; i < iovcnt; ++i) {
        length += iov[i].iov_len;
    }

    /* from the dmabuf where this side's device sends from it; else the CPU
     * reads the registration's address (where its memory is mapped) */
    if (conn->dc.tx->devmem &&
        (uct_tcp_zc_md_memh_bind_tx(uct_tcp_zc_iface_md(iface), memh,
                                    iface->devmem.ifindex,
                                    &tx->devmem_binding) == UCS_OK)) {
        tx->flags        |= UCT_TCP_ZC_TX_FLAG_DEVMEM;
        tx->devmem_delta  = uct_tcp_zc_memh_dmabuf_offset(memh, 0);
    } else {
        UCT_TCP_ZC_IFACE_STAT(iface, DEVMEM_STAGED_BYTES, length);
    }

    return tx;
}

void uct_tcp_zc_dc_push(uct_tcp_zc_dc_t *dc, uct_tcp_zc_tx_t *tx)
{
    /* written from the socket's events: the caller may be writing conn */
    ucs_queue_push(&dc->tx_queue, &tx->queue);
    uct_tcp_zc_dc_set_events(dc, UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVWRITE |
                                 UCS_EVENT_SET_EVERR);
}

/* Attach a data connection of the peer to conn, and let its data in */
static void uct_tcp_zc_dc_attach(uct_tcp_zc_conn_t *conn,
                                 uct_tcp_zc_dc_t *dc)
{
    UCS_ASYNC_BLOCK(conn->iface->super.worker->async);
    ucs_list_del(&dc->list);
    --conn->iface->dc.num_unmatched;
    UCS_ASYNC_UNBLOCK(conn->iface->super.worker->async);

    ucs_debug("tcp_zc conn %p: data connection fd %d from %s", conn, dc->fd,
              uct_tcp_zc_dc_peer_str(dc));
    dc->conn     = conn;
    conn->dc.rx  = dc;
    uct_tcp_zc_dc_set_events(dc, UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR);
}

/* Whether dc is the data connection which the peer announced on conn */
static int uct_tcp_zc_dc_is_announced(const uct_tcp_zc_conn_t *conn,
                                      const uct_tcp_zc_dc_t *dc)
{
    uint16_t port;

    return (conn->dc.rx == NULL) && (conn->dc.rx_port != 0) &&
           (conn->state != UCT_TCP_ZC_CONN_FAILED) &&
           (ucs_sockaddr_get_port((const struct sockaddr*)&dc->peer_addr,
                                  &port) == UCS_OK) &&
           (htons(port) == conn->dc.rx_port) &&
           (ucs_sockaddr_ip_cmp((const struct sockaddr*)&dc->peer_addr,
                                (const struct sockaddr*)&conn->peer_addr) ==
            0);
}

void uct_tcp_zc_dc_announced(uct_tcp_zc_conn_t *conn, uint16_t port)
{
    uct_tcp_zc_iface_t *iface = conn->iface;
    uct_tcp_zc_dc_t *dc, *found = NULL;

    conn->dc.rx_port = port;
    UCS_ASYNC_BLOCK(iface->super.worker->async);
    ucs_list_for_each(dc, &iface->dc.unmatched, list) {
        if (uct_tcp_zc_dc_is_announced(conn, dc)) {
            found = dc;
            break;
        }
    }
    UCS_ASYNC_UNBLOCK(iface->super.worker->async);

    if (found != NULL) {
        uct_tcp_zc_dc_attach(conn, found);
    }
}

/* Events of a data connection which is not matched yet: it is announced
 * now, or it waits without events until it is */
static void uct_tcp_zc_dc_unmatched_events(uct_tcp_zc_dc_t *dc)
{
    uct_tcp_zc_iface_t *iface = dc->iface;
    uct_tcp_zc_conn_t *conn, *found = NULL;

    UCS_ASYNC_BLOCK(iface->super.worker->async);
    ucs_list_for_each(conn, &iface->conn_list, list) {
        if (uct_tcp_zc_dc_is_announced(conn, dc)) {
            found = conn;
            break;
        }
    }
    UCS_ASYNC_UNBLOCK(iface->super.worker->async);

    if (found == NULL) {
        uct_tcp_zc_dc_set_events(dc, 0);
        return;
    }

    uct_tcp_zc_dc_attach(found, dc);
    /* the receive driver may wait for its data */
    found->event_cb(found, UCS_EVENT_SET_EVREAD);
}

static void uct_tcp_zc_dc_events(void *arg, ucs_event_set_types_t events)
{
    uct_tcp_zc_dc_t *dc = arg;
    uct_tcp_zc_conn_t *conn = dc->conn;
    char byte;
    ssize_t ret;

    if (conn == NULL) {
        uct_tcp_zc_dc_unmatched_events(dc);
    } else if (dc == conn->dc.rx) {
        /* data of a message which the receive driver may wait for */
        conn->event_cb(conn, UCS_EVENT_SET_EVREAD);
    } else if ((events & UCS_EVENT_SET_EVERR) && dc->devmem &&
               (uct_tcp_zc_errqueue_read(dc->fd, uct_tcp_zc_dc_zc_notif,
                                         dc) > 0)) {
        /* notifications, and maybe room for more devmem sends */
        uct_tcp_zc_dc_progress_tx(dc);
    } else if (events & UCS_EVENT_SET_EVWRITE) {
        uct_tcp_zc_dc_progress_tx(dc);
    } else {
        /* this side's data connection carries nothing to it: the peer
         * closed it, or broke the protocol */
        ret = recv(dc->fd, &byte, sizeof(byte), MSG_DONTWAIT | MSG_PEEK);
        if ((ret < 0) && ((errno == EAGAIN) || (errno == EWOULDBLOCK))) {
            return;
        } else if (ret > 0) {
            uct_tcp_zc_conn_protocol_error(conn, "data on this side's data "
                                                 "connection");
        } else if (ret == 0) {
            uct_tcp_zc_conn_fail(conn, UCS_ERR_ENDPOINT_TIMEOUT,
                                 UCS_LOG_LEVEL_DIAG, "data connection "
                                 "closed by the peer");
        } else {
            uct_tcp_zc_conn_io_failed(conn, "data connection", errno);
        }
    }
}

/* Receive from a devmem data connection: fragments in the RX pool are
 * copied out and their tokens returned, linear bytes come through the
 * scratch buffer */
static ssize_t uct_tcp_zc_dc_recv_devmem(uct_tcp_zc_conn_t *conn, void *buf,
                                         size_t length)
{
    uct_tcp_zc_iface_t *iface     = conn->iface;
    uct_tcp_zc_devmem_pool_t *pool = iface->dc.pool;
    size_t controllen             = iface->dc.control_len;
    uct_tcp_zc_dmrx_result_t result;
    uct_tcp_zc_dmrx_cursor_t cursor;
    unsigned freed, i, device_frags = 0;
    uct_tcp_zc_dmrx_status_t walk;
    struct iovec iov;
    ucs_status_t status;
    size_t copied, done;
    int msg_flags;
    ssize_t ret;

    iov.iov_base = iface->dc.scratch;
    iov.iov_len  = ucs_min(length, UCT_TCP_ZC_DC_SCRATCH_SIZE);
    ret          = uct_tcp_zc_devmem_recvmsg(conn->dc.rx->fd, &iov, 1,
                                             iface->dc.control, &controllen,
                                             &msg_flags);
    if (ret <= 0) {
        return ret;
    }

    walk = uct_tcp_zc_dmrx_walk(iface->dc.control, controllen, msg_flags,
                                ret, iov.iov_len, &pool->desc,
                                iface->dc.frags, UCT_TCP_ZC_DC_FRAGS_MAX,
                                &result);
    if (walk != UCT_TCP_ZC_DMRX_OK) {
        /* the kernel's answer, not the peer's bytes: this connection
         * cannot go on, the iface can */
        ucs_error("tcp_zc conn %p: devmem receive of %zd bytes: bad control "
                  "data (%s)", conn, ret, uct_tcp_zc_dmrx_status_str(walk));
        errno = EPROTO;
        return -1;
    }

    uct_tcp_zc_dmrx_cursor_init(&cursor, iface->dc.frags, result.num_frags,
                                pool->map, iface->dc.scratch);
    for (done = 0; !uct_tcp_zc_dmrx_cursor_done(&cursor); done += copied) {
        /* dropped data go to the second half of the scratch buffer */
        copied = uct_tcp_zc_dmrx_copy(&cursor,
                                      (buf == NULL) ?
                                      iface->dc.scratch +
                                      UCT_TCP_ZC_DC_SCRATCH_SIZE + done :
                                      UCS_PTR_BYTE_OFFSET(buf, done),
                                      ret - done, &iface->dc.tokens);
        if (uct_tcp_zc_dmrx_cursor_done(&cursor) ||
            uct_tcp_zc_dmrx_tokens_full(&iface->dc.tokens)) {
            /* their bytes are copied: the fragments go back */
            status = uct_tcp_zc_devmem_tokens_return(conn->dc.rx->fd,
                                                     &iface->dc.tokens,
                                                     &freed);
            if (status != UCS_OK) {
                errno = EIO;
                return -1;
            }
            UCT_TCP_ZC_IFACE_STAT(iface, DEVMEM_TOKENS, freed);
        }
    }

    for (i = 0; i < result.num_frags; ++i) {
        device_frags += !uct_tcp_zc_dmrx_frag_is_linear(&iface->dc.frags[i]);
    }

    UCT_TCP_ZC_IFACE_STAT(iface, DEVMEM_RX_BYTES, result.device_bytes);
    UCT_TCP_ZC_IFACE_STAT(iface, DEVMEM_FRAGS, device_frags);
    return ret;
}

ssize_t uct_tcp_zc_dc_recv(uct_tcp_zc_conn_t *conn, void *buf, size_t length)
{
    uct_tcp_zc_dc_t *dc = conn->dc.rx;
    ssize_t ret;

    if (dc == NULL) {
        /* announced, but not accepted yet; or not announced yet */
        errno = EAGAIN;
        return -1;
    }

    if (conn->iface->dc.pool != NULL) {
        ret = uct_tcp_zc_dc_recv_devmem(conn, buf, length);
    } else if (buf == NULL) {
        ret = uct_tcp_zc_socket_recv(dc->fd, conn->iface->dc.scratch,
                                     ucs_min(length,
                                             UCT_TCP_ZC_DC_SCRATCH_SIZE));
    } else {
        ret = uct_tcp_zc_socket_recv(dc->fd, buf, length);
    }

    if (ret > 0) {
        UCT_TCP_ZC_IFACE_STAT(conn->iface, DC_RX_BYTES, ret);
    }
    return ret;
}

/* Accept data connections, from the async thread (as the iface listener):
 * they wait unmatched, until their connection announces them */
static void uct_tcp_zc_dc_accept(int id, ucs_event_set_types_t events,
                                 void *arg)
{
    uct_tcp_zc_iface_t *iface = arg;
    struct sockaddr_storage peer_addr;
    socklen_t addr_len;
    uct_tcp_zc_dc_t *dc;
    unsigned count;
    int fd;

    for (count = 0; count < UCT_TCP_ZC_MAX_EVENTS; ++count) {
        addr_len = sizeof(peer_addr);
        fd       = accept(iface->dc.listen_fd, (struct sockaddr*)&peer_addr,
                          &addr_len);
        if (fd < 0) {
            if ((errno != EAGAIN) && (errno != EWOULDBLOCK) &&
                (errno != EINTR) && (errno != ECONNABORTED)) {
                ucs_error("tcp_zc: accept on the data port of %s failed: %m",
                          iface->if_name);
            }
            return;
        }

        if (iface->dc.num_unmatched >= UCT_TCP_ZC_DC_UNMATCHED_MAX) {
            ucs_diag("tcp_zc %s: %u data connections wait for their "
                     "announcement: one more is refused", iface->if_name,
                     iface->dc.num_unmatched);
            close(fd);
            continue;
        }

        dc = uct_tcp_zc_dc_create(iface, fd);
        if ((dc == NULL) ||
            (ucs_sys_fcntl_modfl(fd, O_NONBLOCK, 0) != UCS_OK)) {
            ucs_free(dc);
            close(fd);
            return;
        }

        dc->peer_addr = peer_addr;
        dc->events    = UCS_EVENT_SET_EVREAD | UCS_EVENT_SET_EVERR;
        UCS_ASYNC_BLOCK(iface->super.worker->async);
        ucs_list_add_tail(&iface->dc.unmatched, &dc->list);
        ++iface->dc.num_unmatched;
        UCS_ASYNC_UNBLOCK(iface->super.worker->async);
        /* its first data, or an announcement before them, match it */
        if (ucs_event_set_add(iface->event_set, fd, dc->events, dc) !=
            UCS_OK) {
            ucs_error("tcp_zc %s: data connection not in the event set",
                      iface->if_name);
        }
        ucs_debug("tcp_zc %s: accepted data connection fd %d from %s",
                  iface->if_name, fd, uct_tcp_zc_dc_peer_str(dc));
    }
}

ucs_status_t uct_tcp_zc_dc_iface_init(uct_tcp_zc_iface_t *iface)
{
    struct sockaddr_storage addr = iface->if_addr;
    socklen_t addr_len           = sizeof(addr);
    ucs_status_t status;
    size_t len;

    ucs_list_head_init(&iface->dc.unmatched);
    iface->dc.num_unmatched = 0;
    iface->dc.port          = 0;
    iface->dc.listen_fd     = -1;
    iface->dc.scratch       = NULL;
    iface->dc.control       = NULL;
    iface->dc.control_len   = 0;
    uct_tcp_zc_dmrx_tokens_init(&iface->dc.tokens);
    if (!iface->dc.enabled) {
        return UCS_OK;
    }

    /* linear bytes, and a sink for data which are dropped */
    iface->dc.scratch = ucs_malloc(2 * UCT_TCP_ZC_DC_SCRATCH_SIZE,
                                   "tcp_zc data conn scratch");
    if (iface->dc.scratch == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    /* the cmsgs of a devmem receive, where the iface has an RX pool */
    iface->dc.control_len =
            UCT_TCP_ZC_DEVMEM_RX_CONTROL_LEN(UCT_TCP_ZC_DC_SCRATCH_SIZE);
    iface->dc.control     = ucs_malloc(iface->dc.control_len,
                                       "tcp_zc devmem cmsgs");
    if (iface->dc.control == NULL) {
        status = UCS_ERR_NO_MEMORY;
        goto err_free;
    }

    status = ucs_sockaddr_sizeof((struct sockaddr*)&addr, &len);
    if (status != UCS_OK) {
        goto err_free;
    }

    ucs_sockaddr_set_port((struct sockaddr*)&addr, 0);
    status = ucs_socket_server_init((struct sockaddr*)&addr, len,
                                    ucs_socket_max_conn(), 0, 0,
                                    &iface->dc.listen_fd);
    if (status != UCS_OK) {
        goto err_free;
    }

    status = ucs_socket_set_buffer_size(iface->dc.listen_fd,
                                        iface->config.sockopt.sndbuf,
                                        iface->config.sockopt.rcvbuf);
    if (status != UCS_OK) {
        goto err_close;
    }

    if ((ucs_socket_getname(iface->dc.listen_fd, &addr, &addr_len) !=
         UCS_OK) ||
        (ucs_sockaddr_get_port((struct sockaddr*)&addr, &iface->dc.port) !=
         UCS_OK)) {
        status = UCS_ERR_IO_ERROR;
        goto err_close;
    }

    status = ucs_sys_fcntl_modfl(iface->dc.listen_fd, O_NONBLOCK, 0);
    if (status != UCS_OK) {
        goto err_close;
    }

    status = ucs_async_set_event_handler(iface->super.worker->async->mode,
                                         iface->dc.listen_fd,
                                         UCS_EVENT_SET_EVREAD |
                                                 UCS_EVENT_SET_EVERR,
                                         uct_tcp_zc_dc_accept, iface,
                                         iface->super.worker->async);
    if (status != UCS_OK) {
        goto err_close;
    }

    ucs_debug("tcp_zc: iface %p on %s: data port %u", iface,
              iface->if_name, iface->dc.port);
    return UCS_OK;

err_close:
    ucs_close_fd(&iface->dc.listen_fd);
    iface->dc.port = 0;
err_free:
    ucs_free(iface->dc.control);
    ucs_free(iface->dc.scratch);
    iface->dc.control = NULL;
    iface->dc.scratch = NULL;
    return status;
}

void uct_tcp_zc_dc_iface_cleanup(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_dc_t *dc, *tmp;

    if (iface->dc.listen_fd != -1) {
        ucs_async_remove_handler(iface->dc.listen_fd, 1);
        ucs_close_fd(&iface->dc.listen_fd);
    }

    ucs_list_for_each_safe(dc, tmp, &iface->dc.unmatched, list) {
        ucs_list_del(&dc->list);
        uct_tcp_zc_dc_destroy(dc);
    }
    iface->dc.num_unmatched = 0;
    iface->dc.port          = 0;
    ucs_free(iface->dc.control);
    ucs_free(iface->dc.scratch);
    iface->dc.control = NULL;
    iface->dc.scratch = NULL;
}
