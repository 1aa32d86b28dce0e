/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc.h"

#include <ucs/sys/sock.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>


/*
 * Socket helpers: non-blocking reads and writes, and the options of a
 * connection's socket.
 */

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

/* Read from the socket into the buffer, as recv() without blocking: bytes
 * read, 0 if the peer closed, -1 with errno (EAGAIN: nothing to read) */
ssize_t uct_tcp_zc_socket_recv(int fd, void *buf, size_t length)
{
    ssize_t ret;

    do {
        ret = recv(fd, buf, length, MSG_DONTWAIT);
    } while ((ret < 0) && (errno == EINTR));

    return ret;
}

/*
 * The kernel acknowledges at once ("quick ack") on a socket which does not
 * send data back soon: ask it again to delay, after each read, since it
 * returns to quick acks by itself.
 */
void uct_tcp_zc_socket_delay_ack(int fd)
{
    int quickack = 0;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &quickack,
                     sizeof(quickack));
}

/* Options of a connection socket, connecting or accepted: non-blocking, no
 * Nagle delay if asked, keepalive and user timeout */
ucs_status_t uct_tcp_zc_socket_set_options(int fd, int nodelay,
                                           const uct_tcp_zc_keepalive_t *ka,
                                           int user_timeout)
{
    const struct {
        int        optname;
        const int *value; /* 0: the system default */
    } keepalive[] = {
        {TCP_KEEPIDLE,  &ka->idle},
        {TCP_KEEPINTVL, &ka->intvl},
        {TCP_KEEPCNT,   &ka->cnt}
    };
    const int on = 1;
    ucs_status_t status;
    unsigned i;

    status = ucs_sys_fcntl_modfl(fd, O_NONBLOCK, 0);
    if (status != UCS_OK) {
        return status;
    }

    if (nodelay) {
        status = ucs_socket_setopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
                                   sizeof(nodelay));
        if (status != UCS_OK) {
            return status;
        }
    }

    if (ka->enable) {
        for (i = 0; i < ucs_static_array_size(keepalive); ++i) {
            if (*keepalive[i].value <= 0) {
                continue;
            }

            status = ucs_socket_setopt(fd, IPPROTO_TCP, keepalive[i].optname,
                                       keepalive[i].value, sizeof(int));
            if (status != UCS_OK) {
                return status;
            }
        }

        status = ucs_socket_setopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on,
                                   sizeof(on));
        if (status != UCS_OK) {
            return status;
        }
    }

#ifdef TCP_USER_TIMEOUT
    if (user_timeout >= 0) {
        return ucs_socket_setopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
                                 &user_timeout, sizeof(int));
    }
#endif

    return UCS_OK;
}
