/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include <uct/tcp_zc/tcp_zc_zcid.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/*
 * Fuzz target: the MSG_ZEROCOPY id tracker (tcp_zc_zcid.h), driven by the
 * input through sends and notifications of id ranges (in order, out of order,
 * coalesced, repeated, foreign, wrapping around 2^32), and checked after every
 * step against a reference model: the send sequence numbers 0..nsent-1, the
 * id of each being start + seq (mod 2^32), and one flag per sequence number
 * which says whether its id was reported. A range is valid if and only if it
 * is not empty and every id in it was sent and not yet reported.
 *
 * Input: byte 0 selects the first id (0, 1: 2^32 - 1 - byte 1, so that the
 * ids wrap at once; 2: the next 4 bytes; 3: 2^31 - 1 - bytes 1..2), then
 * operations of one byte each with their arguments (see fuzz_zcid_step).
 */


/* Sends of one input at most */
#define FUZZ_ZCID_MAX_SENDS (1u << 16)


#define FUZZ_CHECK(_cond, ...) \
    do { \
        if (!(_cond)) { \
            fprintf(stderr, "fuzz_zcid: check failed: %s: ", #_cond); \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)


typedef struct {
    uint32_t start;         /* id of send sequence number 0 */
    uint32_t nsent;         /* sends so far */
    uint32_t done;          /* lowest sequence number not reported */
    uint32_t last_lo;       /* last range accepted, for repeating it */
    uint32_t last_hi;
    int      have_last;
    uint8_t  reported[FUZZ_ZCID_MAX_SENDS / 8];
} fuzz_zcid_model_t;


typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} fuzz_input_t;


static fuzz_zcid_model_t model;


/*
 * The tracker's functions, each on its own: they are what the fuzzer gets
 * coverage of. The harness below is not instrumented (its loops would cost
 * most of the time and say nothing about the tracker).
 */
#define FUZZ_API static __attribute__((noinline))

FUZZ_API void fuzz_api_init(uct_tcp_zc_zcid_t *zcid, uint32_t first_id)
{
    uct_tcp_zc_zcid_init(zcid, first_id);
}

FUZZ_API uint32_t fuzz_api_outstanding(const uct_tcp_zc_zcid_t *zcid)
{
    return uct_tcp_zc_zcid_outstanding(zcid);
}

FUZZ_API int fuzz_api_can_send(const uct_tcp_zc_zcid_t *zcid)
{
    return uct_tcp_zc_zcid_can_send(zcid);
}

FUZZ_API uint32_t fuzz_api_sent(uct_tcp_zc_zcid_t *zcid)
{
    return uct_tcp_zc_zcid_sent(zcid);
}

FUZZ_API int fuzz_api_is_done(const uct_tcp_zc_zcid_t *zcid, uint32_t id)
{
    return uct_tcp_zc_zcid_is_done(zcid, id);
}

FUZZ_API int fuzz_api_test_bit(const uct_tcp_zc_zcid_t *zcid, uint32_t id)
{
    return uct_tcp_zc_zcid_test_bit(zcid, id);
}

FUZZ_API ucs_status_t
fuzz_api_complete(uct_tcp_zc_zcid_t *zcid, uint32_t lo, uint32_t hi)
{
    return uct_tcp_zc_zcid_complete(zcid, lo, hi);
}

#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), \
                             apply_to = function)


static unsigned fuzz_input_byte(fuzz_input_t *in)
{
    return (in->p < in->end) ? *in->p++ : 0;
}

static uint32_t fuzz_input_u16(fuzz_input_t *in)
{
    uint32_t v = fuzz_input_byte(in);

    return v | (fuzz_input_byte(in) << 8);
}

static uint32_t fuzz_input_u32(fuzz_input_t *in)
{
    uint32_t v = fuzz_input_u16(in);

    return v | (fuzz_input_u16(in) << 16);
}

static int fuzz_model_is_reported(uint32_t seq)
{
    return !!(model.reported[seq / 8] & (1u << (seq % 8)));
}

/* Whether the id was sent and not yet reported */
static int fuzz_model_is_outstanding(uint32_t id)
{
    uint32_t seq = id - model.start;

    return (seq < model.nsent) && !fuzz_model_is_reported(seq);
}

static int fuzz_model_range_valid(uint32_t lo, uint32_t hi)
{
    uint32_t count = hi - lo + 1;
    uint32_t i;

    /* empty (hi = lo - 1: all 2^32 ids), or more ids than were sent */
    if ((count == 0) || (count > model.nsent)) {
        return 0;
    }

    for (i = 0; i < count; ++i) {
        if (!fuzz_model_is_outstanding(lo + i)) {
            return 0;
        }
    }

    return 1;
}

static void fuzz_model_report(uint32_t lo, uint32_t hi)
{
    uint32_t count = hi - lo + 1;
    uint32_t i, seq;

    for (i = 0; i < count; ++i) {
        seq                    = lo + i - model.start;
        model.reported[seq / 8] |= 1u << (seq % 8);
    }

    while ((model.done < model.nsent) && fuzz_model_is_reported(model.done)) {
        ++model.done;
    }

    model.last_lo   = lo;
    model.last_hi   = hi;
    model.have_last = 1;
}

/* Whether every id up to that of seq was reported */
static int fuzz_model_is_done(uint32_t seq)
{
    return seq < model.done;
}

static void fuzz_zcid_check(const uct_tcp_zc_zcid_t *zcid)
{
    uint32_t outstanding = model.nsent - model.done;

    FUZZ_CHECK(zcid->next == model.start + model.nsent, "next %u, sent %u",
               zcid->next, model.nsent);
    FUZZ_CHECK(fuzz_api_outstanding(zcid) == outstanding,
               "outstanding %u, model %u", fuzz_api_outstanding(zcid),
               outstanding);
    FUZZ_CHECK(fuzz_api_can_send(zcid) ==
               (outstanding < UCT_TCP_ZC_ZCID_WINDOW),
               "can_send %d with %u outstanding",
               fuzz_api_can_send(zcid), outstanding);
    if (model.done > 0) {
        FUZZ_CHECK(fuzz_api_is_done(zcid,
                                           model.start + model.done - 1),
                   "id of seq %u is not done", model.done - 1);
    }

    FUZZ_CHECK(!fuzz_api_is_done(zcid, model.start + model.done),
               "id of seq %u is done (sent %u)", model.done, model.nsent);
    FUZZ_CHECK(!fuzz_api_is_done(zcid, zcid->next), "next is done");
}

/* Expensive: every bit of the window, and every id sent */
static void fuzz_zcid_check_all(const uct_tcp_zc_zcid_t *zcid)
{
    uint32_t outstanding = model.nsent - model.done;
    uint32_t k, seq, first;
    int expected;

    for (k = 0; k < UCT_TCP_ZC_ZCID_WINDOW; ++k) {
        seq      = model.done + k;
        expected = (k < outstanding) && fuzz_model_is_reported(seq);
        FUZZ_CHECK(fuzz_api_test_bit(zcid, model.start + seq) ==
                   expected, "bit of seq %u (done %u, sent %u) is %d",
                   seq, model.done, model.nsent, !expected);
    }

    /* the ids sent recently, and the unsent ones after them (the tracker
     * compares ids as serial numbers, within 2^31 of done) */
    first = (model.done > 64) ? (model.done - 64) : 0;
    for (seq = first; seq < model.nsent; ++seq) {
        FUZZ_CHECK(fuzz_api_is_done(zcid, model.start + seq) ==
                   fuzz_model_is_done(seq), "is_done of seq %u (done %u)",
                   seq, model.done);
    }

    for (k = 0; k < 64; ++k) {
        FUZZ_CHECK(!fuzz_api_is_done(zcid, zcid->next + k),
                   "unsent id next + %u is done", k);
        FUZZ_CHECK(!fuzz_api_is_done(zcid, zcid->next + (k << 24)),
                   "unsent id next + %u is done", k << 24);
    }
}

static void fuzz_zcid_send(uct_tcp_zc_zcid_t *zcid, unsigned count)
{
    uint32_t id;

    while ((count-- > 0) && fuzz_api_can_send(zcid) &&
           (model.nsent < FUZZ_ZCID_MAX_SENDS)) {
        id = fuzz_api_sent(zcid);
        FUZZ_CHECK(id == model.start + model.nsent, "sent id %u, seq %u", id,
                   model.nsent);
        ++model.nsent;
    }
}

static void fuzz_zcid_complete(uct_tcp_zc_zcid_t *zcid, uint32_t lo,
                               uint32_t hi)
{
    int valid = fuzz_model_range_valid(lo, hi);
    uct_tcp_zc_zcid_t before;
    ucs_status_t status;

    before = *zcid;
    status = fuzz_api_complete(zcid, lo, hi);
    FUZZ_CHECK((status == UCS_OK) == valid,
               "range [%u, %u] (seq %u..%u, done %u, sent %u) returned %d",
               lo, hi, lo - model.start, hi - model.start, model.done,
               model.nsent, status);
    if (status == UCS_OK) {
        fuzz_model_report(lo, hi);
    } else {
        FUZZ_CHECK(status == UCS_ERR_INVALID_PARAM, "status %d", status);
        FUZZ_CHECK(memcmp(&before, zcid, sizeof(before)) == 0,
                   "rejected range [%u, %u] changed the state", lo, hi);
    }
}

/* The longest run of outstanding ids from the first one at or after seq */
static void fuzz_zcid_complete_run(uct_tcp_zc_zcid_t *zcid, uint32_t seq,
                                   uint32_t max)
{
    uint32_t end;

    while ((seq < model.nsent) && fuzz_model_is_reported(seq)) {
        ++seq;
    }

    if (seq >= model.nsent) {
        return;
    }

    for (end = seq + 1; (end < model.nsent) && (end - seq < max) &&
                        !fuzz_model_is_reported(end); ++end) {
    }

    fuzz_zcid_complete(zcid, model.start + seq, model.start + end - 1);
}

static void fuzz_zcid_step(uct_tcp_zc_zcid_t *zcid, fuzz_input_t *in)
{
    uint32_t outstanding = model.nsent - model.done;
    unsigned op          = fuzz_input_byte(in);
    uint32_t lo, len;

    switch (op % 10) {
    case 0:
        /* a few sends */
        fuzz_zcid_send(zcid, 1 + fuzz_input_byte(in) % 32);
        break;
    case 1:
        /* fill the window, and try one more */
        fuzz_zcid_send(zcid, UCT_TCP_ZC_ZCID_WINDOW + 1);
        break;
    case 2:
        /* in order: from the lowest outstanding id, maybe too far */
        len = 1 + fuzz_input_byte(in);
        fuzz_zcid_complete(zcid, model.start + model.done,
                           model.start + model.done + len - 1);
        break;
    case 3:
        /* out of order, coalesced: a run of outstanding ids */
        fuzz_zcid_complete_run(zcid,
                               model.done + fuzz_input_u16(in) %
                                            (outstanding + 1),
                               1 + fuzz_input_byte(in));
        break;
    case 4:
        /* near the window: any offset from done, any length, even empty */
        lo  = model.start + model.done + (int16_t)fuzz_input_u16(in);
        len = fuzz_input_u16(in);
        fuzz_zcid_complete(zcid, lo, lo + len - 1);
        break;
    case 5:
        /* anything */
        lo = fuzz_input_u32(in);
        fuzz_zcid_complete(zcid, lo, fuzz_input_u32(in));
        break;
    case 6:
        /* the last accepted range again, or a part of it */
        if (model.have_last) {
            lo = model.last_lo + fuzz_input_byte(in) % 4;
            fuzz_zcid_complete(zcid, lo,
                               model.last_hi - fuzz_input_byte(in) % 4);
        }
        break;
    case 7:
        /* a single id around the window */
        lo = model.start + model.done + fuzz_input_u16(in) % 2048 - 1024;
        fuzz_zcid_complete(zcid, lo, lo);
        break;
    case 8:
        /* the highest outstanding id, or a range ending at next */
        len = 1 + fuzz_input_byte(in) % 64;
        fuzz_zcid_complete(zcid, zcid->next - len, zcid->next - 1);
        break;
    default:
        /* kernel-like: everything outstanding, as one coalesced range */
        if (outstanding > 0) {
            fuzz_zcid_complete_run(zcid, model.done, UINT32_MAX);
        }
        break;
    }

    fuzz_zcid_check(zcid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, data + size};
    uct_tcp_zc_zcid_t zcid;
    unsigned steps;

    memset(&model, 0, sizeof(model));
    switch (fuzz_input_byte(&in) % 4) {
    case 0:
    case 1:
        model.start = UINT32_MAX - fuzz_input_byte(&in);
        break;
    case 2:
        model.start = fuzz_input_u32(&in);
        break;
    default:
        model.start = INT32_MAX - fuzz_input_u16(&in);
        break;
    }

    fuzz_api_init(&zcid, model.start);
    fuzz_zcid_check(&zcid);
    for (steps = 0; in.p < in.end; ++steps) {
        fuzz_zcid_step(&zcid, &in);
        if ((steps % 64) == 63) {
            fuzz_zcid_check_all(&zcid);
        }
    }

    fuzz_zcid_check_all(&zcid);
    return 0;
}

#pragma clang attribute pop
