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
#include <ucs/sys/string.h>
#include <arpa/inet.h>
#include <sys/socket.h>


/*
 * Connection setup: connecting, the handshake of hellos, endpoint matching
 * (one connection per pair of endpoints, simultaneous connects), an endpoint
 * which goes, and the socket events of a connection.
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
    conn->hello.data_port = htons(conn->iface->dc.port);
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

    if (!to_ep && memcmp(&conn->peer_key, &iface->key, sizeof(iface->key))) {
        /* an endpoint of the peer may connect to this iface at once (an
         * endpoint of this iface to itself is both ends) */
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

    /* where the data of device memory go */
    conn->dc.peer_port = hello->data_port;
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
    uct_tcp_zc_rx_event_t hello_event;
    uct_tcp_zc_hello_t hello;
    int ret;

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
        while ((ret = uct_tcp_zc_conn_progress_rx(conn, &hello_event,
                                                  &hello)) > 0) {
            if (uct_tcp_zc_conn_rx_hello(conn, hello_event, &hello) < 0) {
                return;
            }
        }

        if (ret < 0) {
            return;
        }

        if ((conn->tx_cur == NULL) && !ucs_queue_is_empty(&conn->tx_queue) &&
            (uct_tcp_zc_conn_progress_tx(conn) != UCS_OK)) {
            /* answers made room for requests which waited */
            return;
        }

        if ((conn->ep != NULL) && !uct_tcp_zc_conn_rma_blocked(conn) &&
            (conn->state == UCT_TCP_ZC_CONN_CONNECTED)) {
            /* answers made room for the operations waiting to be sent
             * (also for ones which callbacks of these messages queued) */
            conn->iface->conn_ops->tx_ready(conn->ep);
        }
    }

    if ((events & UCS_EVENT_SET_EVWRITE) &&
        ((conn->state == UCT_TCP_ZC_CONN_CONNECTED) ||
         (conn->state == UCT_TCP_ZC_CONN_HELLO))) {
        uct_tcp_zc_conn_progress_tx(conn);
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
