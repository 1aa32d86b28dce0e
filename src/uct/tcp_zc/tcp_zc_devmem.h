/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_DEVMEM_H
#define UCT_TCP_ZC_DEVMEM_H

#include "tcp_zc_dmrx.h"

#include <ucs/type/status.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * The socket calls of device memory TCP: every devmem control message goes
 * through these (tcp_zc_devmem.c); the checks of what the kernel returns are
 * the pure tcp_zc_dmrx.c.
 */


/* Control space for the cmsgs of a receive of `len` bytes: one per page
 * fragment and two more (the kernel never truncates, it stops early) */
#define UCT_TCP_ZC_DEVMEM_RX_CONTROL_LEN(_len) \
    (CMSG_SPACE(sizeof(uct_tcp_zc_dmabuf_cmsg_t)) * (((_len) / 4096) + 2))

/* Control space of a devmem send: one SCM_DEVMEM_DMABUF with the binding id */
#define UCT_TCP_ZC_DEVMEM_TX_CONTROL_LEN CMSG_SPACE(sizeof(uint32_t))


/**
 * recvmsg(MSG_SOCK_DEVMEM | MSG_DONTWAIT) into iov (where linear bytes go),
 * with the control data in control[0 .. *controllen_p); on return
 * *controllen_p is the control data's length and *msg_flags_p the message
 * flags. Returns the bytes received (0: the peer closed), or -1 with errno
 * (EAGAIN: nothing to read).
 */
ssize_t uct_tcp_zc_devmem_recvmsg(int fd, struct iovec *iov, size_t iovcnt,
                                  void *control, size_t *controllen_p,
                                  int *msg_flags_p);

/**
 * Return a batch of tokens (SO_DEVMEM_DONTNEED) and empty it. *freed_p (if
 * not NULL) is the number of fragments the kernel freed: unknown tokens are
 * skipped by the kernel, so it may be lower than the tokens in the batch.
 * UCS_ERR_IO_ERROR (with the errno logged) where the kernel refused.
 */
ucs_status_t uct_tcp_zc_devmem_tokens_return(int fd,
                                             uct_tcp_zc_dmrx_tokens_t *tokens,
                                             unsigned *freed_p);

/**
 * Send from a dmabuf which a bind-tx binding (binding_id) makes sendable on
 * the socket's device: sendmsg(MSG_ZEROCOPY) with one SCM_DEVMEM_DMABUF, iov
 * bases are offsets in the dmabuf. The socket has SO_ZEROCOPY and is bound
 * to that device. Returns as uct_tcp_zc_socket_sendv(): bytes sent, 0 if
 * the socket is full, -1 with errno (ENOBUFS: the error queue is full).
 */
ssize_t uct_tcp_zc_devmem_sendv(int fd, const struct iovec *iov,
                                unsigned iovcnt, uint32_t binding_id);

/**
 * Build the control message of a devmem send (sendmsg with MSG_ZEROCOPY on a
 * socket with SO_ZEROCOPY, iov bases are offsets in the dmabuf): one
 * SCM_DEVMEM_DMABUF carrying the bind-tx binding id. control must be
 * UCT_TCP_ZC_DEVMEM_TX_CONTROL_LEN bytes, suitably aligned for a cmsghdr;
 * returns the msg_controllen to use.
 */
size_t uct_tcp_zc_devmem_tx_cmsg(void *control, uint32_t binding_id);



struct uct_tcp_zc_netdev_binding;

/**
 * RX pool of devmem receive: a udmabuf made from a sealed memfd, mapped for
 * the CPU (fragments are copied out of it), bound to RX queues of a device
 * with bind-rx (the binding's netlink socket is the pool's: destroying the
 * pool unbinds, and the kernel restarts the queues).
 */
typedef struct uct_tcp_zc_devmem_pool {
    int                              dmabuf_fd;
    void                             *map;    /* CPU mapping, read-only */
    size_t                           size;
    struct uct_tcp_zc_netdev_binding *binding;
    uct_tcp_zc_dmrx_pool_t           desc;    /* binding id and size, for
                                                 uct_tcp_zc_dmrx_walk() */
} uct_tcp_zc_devmem_pool_t;

/**
 * Create an RX pool of `size` bytes (rounded up to pages) and bind it to
 * queues[0 .. num_queues) of the device. Errors, each with one message
 * which names the device and the reason, at diag level (the caller falls
 * back to ordinary receive):
 *  - UCS_ERR_UNSUPPORTED: the kernel has no /dev/udmabuf, the device
 *    cannot take a dmabuf (the kernel's reason), or the process lacks
 *    CAP_NET_ADMIN (EPERM), which bind-rx needs;
 *  - UCS_ERR_BUSY: a queue has a memory provider already (EEXIST: another
 *    process bound it, or an XDP program is attached);
 *  - UCS_ERR_IO_ERROR otherwise.
 */
ucs_status_t uct_tcp_zc_devmem_pool_create(const char *if_name, int ifindex,
                                           const uint32_t *queues,
                                           unsigned num_queues, size_t size,
                                           uct_tcp_zc_devmem_pool_t *pool);

/** Unbind and free an RX pool */
void uct_tcp_zc_devmem_pool_destroy(uct_tcp_zc_devmem_pool_t *pool);

/**
 * A udmabuf of `size` bytes of a new sealed memfd: the dmabuf fd, or -1 with
 * errno (ENOENT: the kernel has no /dev/udmabuf).
 */
int uct_tcp_zc_devmem_udmabuf_create(size_t size);

#endif
