/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc.h"
#include "tcp_zc_tx.h"
#include "tcp_zc_uapi.h"

#include <netinet/in.h>


/*
 * MSG_ZEROCOPY sends and their completion notifications, read from the
 * socket error queue.
 */


/* Notifications read from one socket per call */
#define UCT_TCP_ZC_ERRQUEUE_READ_MAX 64


ucs_status_t uct_tcp_zc_errqueue_enable(int fd)
{
    int one = 1;

    if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0) {
        return UCS_OK;
    }

    if ((errno == ENOPROTOOPT) || (errno == EOPNOTSUPP) ||
        (errno == EINVAL)) {
        return UCS_ERR_UNSUPPORTED;
    }

    ucs_error("setsockopt(fd=%d, SO_ZEROCOPY) failed: %m", fd);
    return UCS_ERR_IO_ERROR;
}

/*
 * Send with MSG_ZEROCOPY. Returns as uct_tcp_zc_socket_sendv(); -1 with
 * errno ENOBUFS means the kernel had no memory to track the pages: nothing
 * was sent and no id was used.
 */
ssize_t uct_tcp_zc_errqueue_sendv(int fd, const struct iovec *iov,
                                  unsigned iovcnt)
{
    return uct_tcp_zc_socket_sendv(fd, iov, iovcnt, MSG_ZEROCOPY);
}

/**
 * Parse a message read from the error queue.
 *
 * @return UCS_OK if it is a zero-copy notification, UCS_ERR_NO_ELEM if it is
 *         some other socket error report, UCS_ERR_INVALID_PARAM if it is
 *         malformed or truncated.
 */
ucs_status_t uct_tcp_zc_errqueue_parse(const struct msghdr *msg,
                                       uct_tcp_zc_zc_notif_t *notif)
{
    const struct sock_extended_err *serr;
    struct cmsghdr *cmsg;

    if (msg->msg_flags & MSG_CTRUNC) {
        return UCS_ERR_INVALID_PARAM;
    }

    cmsg = CMSG_FIRSTHDR((struct msghdr*)msg);
    if (cmsg == NULL) {
        return UCS_ERR_INVALID_PARAM;
    }

    /* AF_INET6 sockets report at the IPv6 level, also for IPv4 peers */
    if (!((cmsg->cmsg_level == SOL_IP) && (cmsg->cmsg_type == IP_RECVERR)) &&
        !((cmsg->cmsg_level == SOL_IPV6) &&
          (cmsg->cmsg_type == IPV6_RECVERR))) {
        return UCS_ERR_NO_ELEM;
    }

    /* shorter than an extended error, or longer than the control buffer */
    if ((cmsg->cmsg_len < CMSG_LEN(sizeof(*serr))) ||
        (cmsg->cmsg_len > msg->msg_controllen)) {
        return UCS_ERR_INVALID_PARAM;
    }

    serr = (const struct sock_extended_err*)CMSG_DATA(cmsg);
    if ((serr->ee_origin != SO_EE_ORIGIN_ZEROCOPY) || (serr->ee_errno != 0)) {
        return UCS_ERR_NO_ELEM;
    }

    notif->lo     = serr->ee_info;
    notif->hi     = serr->ee_data;
    notif->copied = !!(serr->ee_code & SO_EE_CODE_ZEROCOPY_COPIED);
    return UCS_OK;
}

/**
 * Read the notifications which the error queue of fd holds, a bounded number
 * of them, and pass each to cb.
 *
 * @return the number of notifications read, or -1 with errno if the socket
 *         failed.
 */
int uct_tcp_zc_errqueue_read(int fd, uct_tcp_zc_errqueue_cb_t cb, void *arg)
{
    union {
        struct cmsghdr align; /* cmsg headers are read in place */
        char           buf[CMSG_SPACE(sizeof(struct sock_extended_err)) +
                           CMSG_SPACE(sizeof(struct sockaddr_in6))];
    } control;
    struct msghdr msg;
    uct_tcp_zc_zc_notif_t notif;
    ucs_status_t status;
    int count, i;
    ssize_t ret;

    count = 0;
    for (i = 0; i < UCT_TCP_ZC_ERRQUEUE_READ_MAX; ++i) {
        memset(&msg, 0, sizeof(msg));
        msg.msg_control    = control.buf;
        msg.msg_controllen = sizeof(control.buf);

        ret = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (ret < 0) {
            if (errno == EINTR) {
                continue;
            }

            if ((errno == EAGAIN) || (errno == EWOULDBLOCK)) {
                break;
            }

            return -1;
        }

        status = uct_tcp_zc_errqueue_parse(&msg, &notif);
        if (status == UCS_OK) {
            cb(arg, &notif);
            ++count;
        } else {
            /* IP_RECVERR is not enabled, so nothing else is expected */
            ucs_diag("tcp_zc fd %d: ignoring an error queue message which is "
                     "not a zero-copy notification (%s)", fd,
                     ucs_status_string(status));
        }
    }

    return count;
}
