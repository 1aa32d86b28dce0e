/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_TX_H
#define UCT_TCP_ZC_TX_H

#include <ucs/type/status.h>
#include <sys/socket.h>
#include <stdint.h>


/*
 * Zero-copy send engines. Each one wraps one kernel interface; the
 * connection code decides what is sent with which.
 */


/**
 * One MSG_ZEROCOPY notification: the inclusive range [lo, hi] of send call
 * ids whose pages the kernel released, and whether the kernel copied the
 * data (a hint only: the kernel does not merge this flag when it coalesces
 * ranges).
 */
typedef struct uct_tcp_zc_zc_notif {
    uint32_t lo;
    uint32_t hi;
    int      copied;
} uct_tcp_zc_zc_notif_t;


typedef void (*uct_tcp_zc_errqueue_cb_t)(void *arg,
                                         const uct_tcp_zc_zc_notif_t *notif);


/* MSG_ZEROCOPY with completions from the socket error queue
 * (tcp_zc_errqueue.c) */
ucs_status_t uct_tcp_zc_errqueue_enable(int fd);

ssize_t uct_tcp_zc_errqueue_sendv(int fd, const struct iovec *iov,
                                  unsigned iovcnt);

ucs_status_t uct_tcp_zc_errqueue_parse(const struct msghdr *msg,
                                       uct_tcp_zc_zc_notif_t *notif);

int uct_tcp_zc_errqueue_read(int fd, uct_tcp_zc_errqueue_cb_t cb, void *arg);


/* io_uring zero-copy send (tcp_zc_uring.c) */
typedef struct uct_tcp_zc_uring uct_tcp_zc_uring_t;


/**
 * A completion of an io_uring zero-copy send request: first its result
 * (bytes sent or -errno, more != 0 if a notification follows), then, as a
 * separate completion, the notification (notif != 0) that the kernel released
 * the buffers.
 */
typedef struct uct_tcp_zc_uring_comp {
    void *user_data;
    int  res;
    int  more;
    int  notif;
    int  copied;
} uct_tcp_zc_uring_comp_t;


typedef void (*uct_tcp_zc_uring_cb_t)(void *arg,
                                      const uct_tcp_zc_uring_comp_t *comp);


ucs_status_t uct_tcp_zc_uring_create(unsigned entries,
                                     uct_tcp_zc_uring_t **ring_p);

void uct_tcp_zc_uring_destroy(uct_tcp_zc_uring_t *ring);

int uct_tcp_zc_uring_event_fd(const uct_tcp_zc_uring_t *ring);

ucs_status_t uct_tcp_zc_uring_sendmsg(uct_tcp_zc_uring_t *ring, int fd,
                                      const struct msghdr *msg,
                                      void *user_data);

int uct_tcp_zc_uring_wait(uct_tcp_zc_uring_t *ring, unsigned timeout_usec);

unsigned uct_tcp_zc_uring_reap(uct_tcp_zc_uring_t *ring,
                               uct_tcp_zc_uring_cb_t cb, void *arg);

unsigned uct_tcp_zc_uring_inflight(const uct_tcp_zc_uring_t *ring);

/* Whether the kernel has io_uring SENDMSG_ZC, and its copied report */
ucs_status_t uct_tcp_zc_uring_probe(int *send_zc_p, int *report_p);

#endif
