/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_tx.h"

#include <ucs/debug/assert.h>
#include <errno.h>
#include <unistd.h>
#include <ucs/debug/log.h>
#include <string.h>
#include <ucs/debug/memtrack_int.h>
#include <liburing.h>
#include "tcp_zc_uapi.h"


/*
 * io_uring zero-copy sends (IORING_OP_SENDMSG_ZC). Every request completes
 * twice: with its result, then with a notification that the kernel released
 * the buffers.
 */


/* Completions handled per reap call */
#define UCT_TCP_ZC_URING_REAP_MAX 64


struct uct_tcp_zc_uring {
    struct io_uring ring;
    unsigned        inflight; /* completions not yet reaped */
};


ucs_status_t uct_tcp_zc_uring_create(unsigned entries,
                                     uct_tcp_zc_uring_t **ring_p)
{
    struct io_uring_params params = {};
    struct io_uring_probe *probe;
    uct_tcp_zc_uring_t *ring;
    ucs_status_t status;
    int ret;

    ring = ucs_calloc(1, sizeof(*ring), "tcp_zc io_uring");
    if (ring == NULL) {
        ucs_error("failed to allocate tcp_zc io_uring");
        return UCS_ERR_NO_MEMORY;
    }

    ret = io_uring_queue_init_params(entries, &ring->ring, &params);
    if (ret < 0) {
        ucs_diag("tcp_zc: io_uring_queue_init(%u) failed: %s", entries,
                 strerror(-ret));
        status = UCS_ERR_UNSUPPORTED;
        goto err_free;
    }

    probe = io_uring_get_probe_ring(&ring->ring);
    if ((probe == NULL) ||
        !io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC)) {
        ucs_diag("tcp_zc: the kernel has no io_uring SENDMSG_ZC");
        status = UCS_ERR_UNSUPPORTED;
        goto err_free_probe;
    }

    io_uring_free_probe(probe);
    *ring_p = ring;
    return UCS_OK;

err_free_probe:
    if (probe != NULL) {
        io_uring_free_probe(probe);
    }
    io_uring_queue_exit(&ring->ring);
err_free:
    ucs_free(ring);
    return status;
}

void uct_tcp_zc_uring_destroy(uct_tcp_zc_uring_t *ring)
{
    io_uring_queue_exit(&ring->ring);
    ucs_free(ring);
}

/* Readable while completions are pending */
int uct_tcp_zc_uring_event_fd(const uct_tcp_zc_uring_t *ring)
{
    return ring->ring.ring_fd;
}

unsigned uct_tcp_zc_uring_inflight(const uct_tcp_zc_uring_t *ring)
{
    return ring->inflight;
}

/*
 * Submit a zero-copy sendmsg of msg, which must stay valid until the result
 * completion. MSG_WAITALL makes the kernel send it all unless the connection
 * fails. MSG_EOR keeps the next send out of this one's last packet: the
 * kernel links the notification of a send which it appends to the previous
 * one's and reports it copied (seen over virtio-net: 8-12 of 512 16 KiB
 * sends with 4 in flight, none with MSG_EOR).
 */
ucs_status_t uct_tcp_zc_uring_sendmsg(uct_tcp_zc_uring_t *ring, int fd,
                                      const struct msghdr *msg,
                                      void *user_data)
{
    struct io_uring_sqe *sqe;
    int ret;

    /* the result and the notification must find room in the completion
     * queue: the kernel does not drop them, it keeps an overflow list which
     * grows while nobody reaps */
    if ((ring->inflight + 2) > ring->ring.cq.ring_entries) {
        return UCS_ERR_NO_RESOURCE;
    }

    sqe = io_uring_get_sqe(&ring->ring);
    if (sqe == NULL) {
        return UCS_ERR_NO_RESOURCE;
    }

    io_uring_prep_sendmsg_zc(sqe, fd, msg,
                             MSG_NOSIGNAL | MSG_WAITALL | MSG_EOR);
    sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
    io_uring_sqe_set_data(sqe, user_data);

    ret = io_uring_submit(&ring->ring);
    if (ret < 0) {
        /* the request stays in the submission queue, where the next submit
         * would send it after the caller sent the same bytes with a copy:
         * make it a no-op which names no descriptor (without SQPOLL the
         * kernel reads it only when entered) */
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, NULL);
        ++ring->inflight;
        ucs_diag("tcp_zc: io_uring_submit failed: %s", strerror(-ret));
        return UCS_ERR_IO_ERROR;
    }

    /* the result, and a notification unless the result says otherwise */
    ring->inflight += 2;
    return UCS_OK;
}

/* Wait up to timeout_usec for a completion, without taking it; entering
 * the kernel also runs the task work which posts completions */
int uct_tcp_zc_uring_wait(uct_tcp_zc_uring_t *ring, unsigned timeout_usec)
{
    struct __kernel_timespec ts = {
        .tv_sec  = timeout_usec / 1000000,
        .tv_nsec = (timeout_usec % 1000000) * 1000
    };
    struct io_uring_cqe *cqe;

    return io_uring_wait_cqe_timeout(&ring->ring, &cqe, &ts) == 0;
}

/* Pass pending completions to cb; returns how many */
unsigned uct_tcp_zc_uring_reap(uct_tcp_zc_uring_t *ring,
                               uct_tcp_zc_uring_cb_t cb, void *arg)
{
    uct_tcp_zc_uring_comp_t comp;
    struct io_uring_cqe *cqe;
    unsigned count;

    for (count = 0; count < UCT_TCP_ZC_URING_REAP_MAX; ++count) {
        if (io_uring_peek_cqe(&ring->ring, &cqe) != 0) {
            break;
        }

        comp.user_data = io_uring_cqe_get_data(cqe);
        if (comp.user_data == NULL) {
            /* a request which failed to submit, made a no-op */
            io_uring_cqe_seen(&ring->ring, cqe);
            --ring->inflight;
            continue;
        }

        comp.notif     = !!(cqe->flags & IORING_CQE_F_NOTIF);
        comp.more      = !!(cqe->flags & IORING_CQE_F_MORE);
        comp.res       = comp.notif ? 0 : cqe->res;
        comp.copied    = comp.notif &&
                         !!((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED);
        io_uring_cqe_seen(&ring->ring, cqe);

        ucs_assert(ring->inflight >= 1);
        ring->inflight -= (!comp.notif && !comp.more) ? 2 : 1;
        cb(arg, &comp);
    }

    return count;
}

/*
 * What the kernel's io_uring has for zero-copy sends, on a ring of its own:
 * SENDMSG_ZC, and the copied report (REPORT_USAGE, Linux 6.2). The flag is
 * checked when a request is prepared: a send on an unconnected socket fails
 * with EINVAL only if the kernel does not know it.
 */
ucs_status_t uct_tcp_zc_uring_probe(int *send_zc_p, int *report_p)
{
    static char byte;
    uct_tcp_zc_uring_t *ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    ucs_status_t status;
    int fd, ret;

    *send_zc_p = 0;
    *report_p  = 0;

    status = uct_tcp_zc_uring_create(4, &ring);
    if (status == UCS_ERR_UNSUPPORTED) {
        return UCS_OK;
    } else if (status != UCS_OK) {
        return status;
    }

    *send_zc_p = 1;
    fd         = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        ucs_error("tcp_zc: socket() failed: %m");
        status = UCS_ERR_IO_ERROR;
        goto out;
    }

    sqe = io_uring_get_sqe(&ring->ring);
    io_uring_prep_send_zc(sqe, fd, &byte, sizeof(byte), MSG_NOSIGNAL, 0);
    sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;

    ret = io_uring_submit_and_wait(&ring->ring, 1);
    if (ret >= 0) {
        ret = io_uring_peek_cqe(&ring->ring, &cqe);
    }
    if (ret < 0) {
        ucs_diag("tcp_zc: io_uring send probe failed: %s", strerror(-ret));
        status = UCS_ERR_IO_ERROR;
    } else {
        *report_p = (cqe->res != -EINVAL);
    }

    close(fd);
out:
    /* takes what is still in flight */
    uct_tcp_zc_uring_destroy(ring);
    return status;
}
