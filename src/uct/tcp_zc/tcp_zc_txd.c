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


/*
 * Send descriptors: their completion, also deferred until the socket events
 * of a progress call are handled.
 */

void uct_tcp_zc_tx_free(uct_tcp_zc_iface_t *iface, uct_tcp_zc_tx_t *tx)
{
    if (tx->memh != NULL) {
        uct_tcp_zc_md_access_put(uct_tcp_zc_iface_md(iface), tx->memh);
    }
    if (tx->dc_tx != NULL) {
        /* its header never started */
        uct_tcp_zc_tx_free(iface, tx->dc_tx);
    }
    ucs_free(tx->bounce);
    ucs_mpool_put_inline(tx);
}

/* Complete a descriptor which left the queues. Within the events of a
 * progress call, the callback runs after them: it may destroy the endpoint
 * whose connection is being handled */
void uct_tcp_zc_tx_completed(uct_tcp_zc_iface_t *iface,
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

/* Advance the iov of tx over sent bytes; returns whether all was sent */
int uct_tcp_zc_tx_advance(uct_tcp_zc_tx_t *tx, size_t sent)
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
