/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_ZCID_H
#define UCT_TCP_ZC_ZCID_H

#include <ucs/sys/compiler_def.h>
#include <ucs/type/status.h>
#include <stdint.h>
#include <string.h>


/*
 * Tracking of MSG_ZEROCOPY notification ids of one socket.
 *
 * Every successful zero-copy send call consumes the next 32-bit id of the
 * socket. The kernel reports completed ids as inclusive ranges [lo, hi], which
 * may be coalesced, may wrap around 2^32 and may arrive out of order. A send
 * operation may use several ids and one id may carry several operations, so
 * an operation records the id of its last call and is complete once every id
 * up to that one has been reported: operations complete in the order they
 * were sent.
 *
 * The tracker keeps the lowest id not yet reported ("done"), and a bitmap of
 * ids above it which were reported out of order. At most
 * UCT_TCP_ZC_ZCID_WINDOW ids may be outstanding: the caller sends without
 * zero-copy while the window is full.
 */


/* Maximal number of outstanding ids of a socket */
#define UCT_TCP_ZC_ZCID_WINDOW 1024


typedef struct uct_tcp_zc_zcid {
    uint32_t next; /* id of the next zero-copy send call */
    uint32_t done; /* every id before this one was reported */
    /* ids in [done, next) reported out of order, indexed by id % WINDOW */
    uint64_t reported[UCT_TCP_ZC_ZCID_WINDOW / 64];
} uct_tcp_zc_zcid_t;


static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_zcid_init(uct_tcp_zc_zcid_t *zcid, uint32_t first_id)
{
    zcid->next = first_id;
    zcid->done = first_id;
    memset(zcid->reported, 0, sizeof(zcid->reported));
}

/* Number of ids sent and not yet reported */
static UCS_F_ALWAYS_INLINE uint32_t
uct_tcp_zc_zcid_outstanding(const uct_tcp_zc_zcid_t *zcid)
{
    return zcid->next - zcid->done;
}

/* Whether one more zero-copy send call may be issued */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_zcid_can_send(const uct_tcp_zc_zcid_t *zcid)
{
    return uct_tcp_zc_zcid_outstanding(zcid) < UCT_TCP_ZC_ZCID_WINDOW;
}

/* Account a successful zero-copy send call; returns the id it consumed */
static UCS_F_ALWAYS_INLINE uint32_t uct_tcp_zc_zcid_sent(uct_tcp_zc_zcid_t *zcid)
{
    return zcid->next++;
}

/* Whether id, and every id sent before it, were reported */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_zcid_is_done(const uct_tcp_zc_zcid_t *zcid, uint32_t id)
{
    /* serial comparison: id precedes done */
    return (int32_t)(id - zcid->done) < 0;
}

static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_zcid_test_bit(const uct_tcp_zc_zcid_t *zcid, uint32_t id)
{
    uint32_t bit = id % UCT_TCP_ZC_ZCID_WINDOW;

    return !!(zcid->reported[bit / 64] & (1ull << (bit % 64)));
}

static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_zcid_flip_bit(uct_tcp_zc_zcid_t *zcid, uint32_t id)
{
    uint32_t bit = id % UCT_TCP_ZC_ZCID_WINDOW;

    zcid->reported[bit / 64] ^= 1ull << (bit % 64);
}

/**
 * Account a notification of the inclusive id range [lo, hi].
 *
 * @return UCS_OK, or UCS_ERR_INVALID_PARAM if the range holds an id which was
 *         not sent or was already reported; the state is then unchanged.
 */
static inline ucs_status_t
uct_tcp_zc_zcid_complete(uct_tcp_zc_zcid_t *zcid, uint32_t lo, uint32_t hi)
{
    uint32_t outstanding = uct_tcp_zc_zcid_outstanding(zcid);
    uint32_t count       = hi - lo + 1;
    uint32_t offset      = lo - zcid->done;
    uint32_t i;

    if ((count == 0) || (offset >= outstanding) ||
        (count > outstanding - offset)) {
        return UCS_ERR_INVALID_PARAM;
    }

    if (offset == 0) {
        /* in order: skip the range, then whatever was reported after it */
        for (i = 1; i < count; ++i) {
            if (uct_tcp_zc_zcid_test_bit(zcid, lo + i)) {
                return UCS_ERR_INVALID_PARAM;
            }
        }

        zcid->done += count;
        while ((zcid->done != zcid->next) &&
               uct_tcp_zc_zcid_test_bit(zcid, zcid->done)) {
            uct_tcp_zc_zcid_flip_bit(zcid, zcid->done++);
        }

        return UCS_OK;
    }

    for (i = 0; i < count; ++i) {
        if (uct_tcp_zc_zcid_test_bit(zcid, lo + i)) {
            return UCS_ERR_INVALID_PARAM;
        }
    }

    for (i = 0; i < count; ++i) {
        uct_tcp_zc_zcid_flip_bit(zcid, lo + i);
    }

    return UCS_OK;
}

#endif
