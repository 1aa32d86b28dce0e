/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include <uct/tcp_zc/tcp_zc_dmrx.h>
#include <uct/tcp_zc/tcp_zc_uapi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>


/*
 * Fuzz target: uct_tcp_zc_dmrx_walk(), the walk over the control data of a
 * recvmsg(MSG_SOCK_DEVMEM), and the token batches of SO_DEVMEM_DONTNEED fed
 * with the fragments it returns.
 *
 * Input: a header of 22 bytes (little endian): u8 msg_flags (bit 0:
 * MSG_CTRUNC), u32 bytes received, u32 iov length, u8 room for fragments,
 * u32 pool dmabuf id, u64 pool size; then the control data, in a heap block
 * of exactly its size (AddressSanitizer sees any read beyond it). The walk
 * is repeated at another alignment and must give the same result; a
 * successful walk's fragments must add up and lie in the pool.
 */


#define FUZZ_HDR_LEN 22
#define FUZZ_MAX_FRAGS 256


#define FUZZ_CHECK(_cond, ...) \
    do { \
        if (!(_cond)) { \
            fprintf(stderr, "fuzz_dmrx: check failed: %s: ", #_cond); \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)


static uint64_t fuzz_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n-- > 0) {
        v = (v << 8) | p[n];
    }
    return v;
}

static void fuzz_dmrx_check_ok(const uct_tcp_zc_dmrx_frag_t *frags,
                               const uct_tcp_zc_dmrx_result_t *result,
                               const uct_tcp_zc_dmrx_pool_t *pool,
                               size_t bytes, size_t iov_len,
                               unsigned max_frags)
{
    uint64_t linear = 0, device = 0;
    uct_tcp_zc_dmrx_tokens_t t;
    unsigned i, added = 0;
    unsigned long counted;
    int ret;

    FUZZ_CHECK(result->num_frags <= max_frags, "%u frags", result->num_frags);
    FUZZ_CHECK(result->num_frags > 0, "no fragment of %zu bytes", bytes);
    uct_tcp_zc_dmrx_tokens_init(&t);
    for (i = 0; i < result->num_frags; ++i) {
        FUZZ_CHECK(frags[i].size > 0, "frag %u empty", i);
        if (uct_tcp_zc_dmrx_frag_is_linear(&frags[i])) {
            linear += frags[i].size;
            continue;
        }

        device += frags[i].size;
        FUZZ_CHECK((frags[i].offset <= pool->size) &&
                   (frags[i].size <= (pool->size - frags[i].offset)),
                   "frag %u at %llu+%u outside a pool of %llu", i,
                   (unsigned long long)frags[i].offset, frags[i].size,
                   (unsigned long long)pool->size);
        FUZZ_CHECK(frags[i].token <= UCT_TCP_ZC_DMRX_TOKEN_MAX, "token %u",
                   frags[i].token);

        /* the tokens go back in batches */
        ret = uct_tcp_zc_dmrx_tokens_add(&t, frags[i].token);
        if (ret == 0) {
            FUZZ_CHECK(uct_tcp_zc_dmrx_tokens_full(&t), "refused, not full");
            uct_tcp_zc_dmrx_tokens_init(&t);
            ret = uct_tcp_zc_dmrx_tokens_add(&t, frags[i].token);
        }
        FUZZ_CHECK(ret == 1, "token %u not added: %d", frags[i].token, ret);
        ++added;

        FUZZ_CHECK(t.num_ranges <= UCT_TCP_ZC_DMRX_DONTNEED_RANGES,
                   "%u ranges", t.num_ranges);
        FUZZ_CHECK(t.num_tokens <= UCT_TCP_ZC_DMRX_DONTNEED_TOKENS,
                   "%u tokens", t.num_tokens);
        FUZZ_CHECK((t.ranges[t.num_ranges - 1].token_start +
                    t.ranges[t.num_ranges - 1].token_count - 1) ==
                   frags[i].token, "last range does not end with %u",
                   frags[i].token);
        counted = 0;
        for (ret = 0; ret < (int)t.num_ranges; ++ret) {
            FUZZ_CHECK(t.ranges[ret].token_count > 0, "empty range");
            counted += t.ranges[ret].token_count;
        }
        FUZZ_CHECK(counted == t.num_tokens, "%lu in ranges, %u counted",
                   counted, t.num_tokens);
    }

    FUZZ_CHECK(linear == result->linear_bytes, "linear %llu != %llu",
               (unsigned long long)linear,
               (unsigned long long)result->linear_bytes);
    FUZZ_CHECK(device == result->device_bytes, "device %llu != %llu",
               (unsigned long long)device,
               (unsigned long long)result->device_bytes);
    FUZZ_CHECK(linear + device == bytes, "%llu + %llu != %zu",
               (unsigned long long)linear, (unsigned long long)device, bytes);
    FUZZ_CHECK(linear <= iov_len, "linear %llu > iov %zu",
               (unsigned long long)linear, iov_len);
    if (result->devmem_cmsgs == 0) {
        FUZZ_CHECK((result->num_frags == 1) && (device == 0),
                   "ordinary data in %u frags", result->num_frags);
    }
}

/* The stream copied out through a cursor, in chunks of varying sizes with a
 * flush of the token batch whenever the copy stops short, against the
 * fragments laid end to end; every device token goes back exactly once */
static void fuzz_dmrx_check_copy(const uct_tcp_zc_dmrx_frag_t *frags,
                                 const uct_tcp_zc_dmrx_result_t *result,
                                 const uct_tcp_zc_dmrx_pool_t *pool,
                                 size_t bytes, uint8_t seed)
{
    uint8_t *pool_mem, *linear, *expect, *out;
    uct_tcp_zc_dmrx_cursor_t cursor;
    uct_tcp_zc_dmrx_tokens_t t;
    unsigned i, device_frags = 0, returned = 0, preloaded;
    size_t pos, lin, n, want, iter;

    if ((pool->size > 65536) || (bytes > (1 << 20))) {
        return;
    }

    pool_mem = malloc(pool->size + 1);
    linear   = malloc(result->linear_bytes + 1);
    expect   = malloc(bytes + 1);
    out      = malloc(bytes + 1);
    if ((pool_mem == NULL) || (linear == NULL) || (expect == NULL) ||
        (out == NULL)) {
        abort();
    }

    for (i = 0; i < pool->size; ++i) {
        pool_mem[i] = (uint8_t)((i * 7) + 1);
    }
    for (i = 0; i < result->linear_bytes; ++i) {
        linear[i] = (uint8_t)((i * 13) + 5);
    }

    for (i = 0, pos = 0, lin = 0; i < result->num_frags; ++i) {
        if (uct_tcp_zc_dmrx_frag_is_linear(&frags[i])) {
            memcpy(expect + pos, linear + lin, frags[i].size);
            lin += frags[i].size;
        } else {
            memcpy(expect + pos, pool_mem + frags[i].offset, frags[i].size);
            ++device_frags;
        }
        pos += frags[i].size;
    }

    uct_tcp_zc_dmrx_cursor_init(&cursor, frags, result->num_frags, pool_mem,
                                linear);
    /* a batch with room for a few tokens only, so that it fills */
    uct_tcp_zc_dmrx_tokens_init(&t);
    t.ranges[0].token_start = 0x40000000;
    t.ranges[0].token_count = UCT_TCP_ZC_DMRX_DONTNEED_TOKENS - 1 -
                              (seed % 8);
    t.num_ranges            = 1;
    t.num_tokens            = t.ranges[0].token_count;
    preloaded               = t.num_tokens;
    for (pos = 0, iter = 0; !uct_tcp_zc_dmrx_cursor_done(&cursor); ++iter) {
        FUZZ_CHECK(iter < (4 * (bytes + device_frags + 2)), "no progress");
        want = 1 + ((seed + (iter * 37)) % 9000);
        if (want > (bytes - pos)) {
            want = bytes - pos;
        }
        n = uct_tcp_zc_dmrx_copy(&cursor, out + pos, want, &t);
        FUZZ_CHECK(n <= want, "%zu of %zu", n, want);
        pos += n;
        if ((n < want) || ((want == 0) &&
                           !uct_tcp_zc_dmrx_cursor_done(&cursor))) {
            /* the batch goes back */
            returned += t.num_tokens;
            uct_tcp_zc_dmrx_tokens_init(&t);
        }
    }

    returned += t.num_tokens;
    returned -= preloaded;
    FUZZ_CHECK(pos == bytes, "copied %zu of %zu", pos, bytes);
    FUZZ_CHECK(memcmp(out, expect, bytes) == 0, "stream differs");
    FUZZ_CHECK(returned == device_frags, "%u tokens returned, %u fragments",
               returned, device_frags);

    free(out);
    free(expect);
    free(linear);
    free(pool_mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uct_tcp_zc_dmrx_frag_t frags[FUZZ_MAX_FRAGS], frags2[FUZZ_MAX_FRAGS];
    uct_tcp_zc_dmrx_result_t result, result2;
    uct_tcp_zc_dmrx_status_t status, status2;
    uct_tcp_zc_dmrx_pool_t pool;
    size_t bytes, iov_len, len;
    unsigned max_frags, i;
    uint8_t *control, *shifted;
    int flags;

    if (size < FUZZ_HDR_LEN) {
        return 0;
    }

    flags          = (data[0] & 1) ? MSG_CTRUNC : 0;
    bytes          = fuzz_le(data + 1, 4);
    iov_len        = fuzz_le(data + 5, 4);
    max_frags      = data[9];
    pool.dmabuf_id = fuzz_le(data + 10, 4);
    pool.size      = fuzz_le(data + 14, 8);
    len            = size - FUZZ_HDR_LEN;

    control = malloc(len + 1);
    shifted = malloc(len + 8);
    if ((control == NULL) || (shifted == NULL)) {
        abort();
    }

    memcpy(control, data + FUZZ_HDR_LEN, len);
    memcpy(shifted + 3, data + FUZZ_HDR_LEN, len);

    status = uct_tcp_zc_dmrx_walk(control, len, flags, bytes, iov_len, &pool,
                                  frags, max_frags, &result);
    FUZZ_CHECK((unsigned)status < UCT_TCP_ZC_DMRX_ERR_LAST, "status %d",
               status);
    FUZZ_CHECK(strcmp(uct_tcp_zc_dmrx_status_str(status), "?") != 0,
               "status %d without a name", status);
    FUZZ_CHECK(result.num_frags <= max_frags, "%u frags in room for %u",
               result.num_frags, max_frags);

    /* the same at another alignment */
    status2 = uct_tcp_zc_dmrx_walk(shifted + 3, len, flags, bytes, iov_len,
                                   &pool, frags2, max_frags, &result2);
    FUZZ_CHECK(status == status2, "status %d, shifted %d", status, status2);
    FUZZ_CHECK((result.num_frags == result2.num_frags) &&
               (result.linear_bytes == result2.linear_bytes) &&
               (result.device_bytes == result2.device_bytes) &&
               (result.devmem_cmsgs == result2.devmem_cmsgs),
               "results differ");
    for (i = 0; i < result.num_frags; ++i) {
        FUZZ_CHECK((frags[i].offset == frags2[i].offset) &&
                   (frags[i].size == frags2[i].size) &&
                   (frags[i].token == frags2[i].token),
                   "fragment %u differs", i);
    }

    if (status == UCT_TCP_ZC_DMRX_OK) {
        fuzz_dmrx_check_ok(frags, &result, &pool, bytes, iov_len, max_frags);
        fuzz_dmrx_check_copy(frags, &result, &pool, bytes, data[0] >> 1);
    }

    free(shifted);
    free(control);
    return 0;
}
