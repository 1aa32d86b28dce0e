/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_DMRX_H
#define UCT_TCP_ZC_DMRX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Devmem TCP receive, the pure part: the walk over the control messages of
 * one recvmsg(MSG_SOCK_DEVMEM), which yields the fragments of the received
 * bytes in stream order with every field checked against the RX pool, and
 * the batching of the fragments' tokens for SO_DEVMEM_DONTNEED. No socket,
 * allocation or logging: the socket calls are in tcp_zc_devmem.c. Fuzzed by
 * test/fuzz/fuzz_dmrx.c.
 */


/* Kernel interface (include/uapi/linux/uio.h, Linux 6.12): the payload of
 * SCM_DEVMEM_DMABUF and SCM_DEVMEM_LINEAR, and the ranges of
 * SO_DEVMEM_DONTNEED. Own names: Debian 12's headers have neither */
typedef struct uct_tcp_zc_dmabuf_cmsg {
    uint64_t frag_offset; /* offset of the fragment in the dmabuf */
    uint32_t frag_size;   /* bytes of the fragment */
    uint32_t frag_token;  /* token to return with SO_DEVMEM_DONTNEED */
    uint32_t dmabuf_id;   /* binding id of the dmabuf */
    uint32_t flags;       /* reserved */
} uct_tcp_zc_dmabuf_cmsg_t;

typedef struct uct_tcp_zc_dmabuf_token {
    uint32_t token_start;
    uint32_t token_count;
} uct_tcp_zc_dmabuf_token_t;


/* Tokens are nonzero and below 2^31 (the kernel's xa_limit_31b from 1) */
#define UCT_TCP_ZC_DMRX_TOKEN_MAX        0x7fffffffu
/* SO_DEVMEM_DONTNEED: at most 128 ranges and 1024 tokens per call (the
 * kernel refuses more ranges, and frees no more tokens) */
#define UCT_TCP_ZC_DMRX_DONTNEED_RANGES  128
#define UCT_TCP_ZC_DMRX_DONTNEED_TOKENS  1024


/* The RX pool which the socket's queue is bound to */
typedef struct uct_tcp_zc_dmrx_pool {
    uint32_t dmabuf_id; /* binding id (bind-rx answer) */
    uint64_t size;      /* bytes of the dmabuf */
} uct_tcp_zc_dmrx_pool_t;


/* A fragment of received bytes */
typedef struct uct_tcp_zc_dmrx_frag {
    uint64_t offset; /* device fragment: offset in the pool */
    uint32_t size;   /* bytes */
    uint32_t token;  /* device fragment: its token; 0 for linear bytes */
} uct_tcp_zc_dmrx_frag_t;

/* A fragment is in the pool (token != 0) or linear: its bytes are the next
 * ones of the iov */
#define uct_tcp_zc_dmrx_frag_is_linear(_frag) ((_frag)->token == 0)


/* What a walk found wrong; the first violation stops it */
typedef enum {
    UCT_TCP_ZC_DMRX_OK = 0,
    UCT_TCP_ZC_DMRX_ERR_CTRUNC,     /* MSG_CTRUNC: the control data was cut */
    UCT_TCP_ZC_DMRX_ERR_CMSG_LEN,   /* cmsg_len too small or past the end */
    UCT_TCP_ZC_DMRX_ERR_PAYLOAD,    /* devmem cmsg of another size */
    UCT_TCP_ZC_DMRX_ERR_FRAG_SIZE,  /* fragment of 0 bytes */
    UCT_TCP_ZC_DMRX_ERR_DMABUF_ID,  /* fragment of another dmabuf */
    UCT_TCP_ZC_DMRX_ERR_RANGE,      /* fragment not inside the pool */
    UCT_TCP_ZC_DMRX_ERR_TOKEN,      /* token 0 or >= 2^31 */
    UCT_TCP_ZC_DMRX_ERR_LINEAR,     /* linear bytes beyond the iov */
    UCT_TCP_ZC_DMRX_ERR_TOTAL,      /* fragments' bytes != received bytes */
    UCT_TCP_ZC_DMRX_ERR_TOO_MANY,   /* more fragments than the output array */
    UCT_TCP_ZC_DMRX_ERR_LAST
} uct_tcp_zc_dmrx_status_t;


/* Result of a walk */
typedef struct uct_tcp_zc_dmrx_result {
    unsigned num_frags;    /* fragments written */
    uint64_t linear_bytes; /* of them, bytes in the iov */
    uint64_t device_bytes; /* of them, bytes in the pool */
    unsigned devmem_cmsgs; /* devmem cmsgs seen (0: ordinary data) */
} uct_tcp_zc_dmrx_result_t;


/**
 * Walk the control data of one recvmsg(MSG_SOCK_DEVMEM) which returned
 * `bytes` (> 0) with `msg_flags`, into frags[0..max_frags) in stream order:
 * each SCM_DEVMEM_DMABUF fragment checked against the pool (its dmabuf id,
 * a nonzero size, offset + size inside the pool without overflow, a token
 * in 1 .. 2^31-1), each SCM_DEVMEM_LINEAR a nonzero count of bytes at the
 * next position of the iov (at most iov_len in all), and the total equal to
 * `bytes`. Data without any devmem cmsg is ordinary data (the flow is not on
 * a bound queue): one linear fragment of `bytes`. Other control messages
 * are skipped. The control data may be unaligned.
 */
uct_tcp_zc_dmrx_status_t
uct_tcp_zc_dmrx_walk(const void *control, size_t controllen, int msg_flags,
                     size_t bytes, size_t iov_len,
                     const uct_tcp_zc_dmrx_pool_t *pool,
                     uct_tcp_zc_dmrx_frag_t *frags, unsigned max_frags,
                     uct_tcp_zc_dmrx_result_t *result);

/** Short name of a walk status, e.g. "dmabuf id" */
const char *uct_tcp_zc_dmrx_status_str(uct_tcp_zc_dmrx_status_t status);


/**
 * Tokens to return with one SO_DEVMEM_DONTNEED: consecutive tokens are
 * coalesced into ranges; at most 128 ranges and 1024 tokens.
 */
typedef struct uct_tcp_zc_dmrx_tokens {
    uct_tcp_zc_dmabuf_token_t ranges[UCT_TCP_ZC_DMRX_DONTNEED_RANGES];
    unsigned                  num_ranges;
    unsigned                  num_tokens;
} uct_tcp_zc_dmrx_tokens_t;


static inline void uct_tcp_zc_dmrx_tokens_init(uct_tcp_zc_dmrx_tokens_t *t)
{
    t->num_ranges = 0;
    t->num_tokens = 0;
}

/* Whether no token can be added before the batch is returned */
static inline int
uct_tcp_zc_dmrx_tokens_full(const uct_tcp_zc_dmrx_tokens_t *t)
{
    return (t->num_tokens >= UCT_TCP_ZC_DMRX_DONTNEED_TOKENS) ||
           (t->num_ranges >= UCT_TCP_ZC_DMRX_DONTNEED_RANGES);
}

/**
 * Add the token of a device fragment whose bytes were copied out of the
 * pool: call it only then. Returns 1 if it was added, 0 if the batch is full
 * (return the batch first, then add again), -1 if it is no token (0 or
 * above UCT_TCP_ZC_DMRX_TOKEN_MAX). A token which extends the last range
 * joins it even when all ranges are used.
 */
int uct_tcp_zc_dmrx_tokens_add(uct_tcp_zc_dmrx_tokens_t *t, uint32_t token);

/**
 * Cursor over the bytes of one walked receive, in stream order: device
 * fragments are read from the CPU mapping of the pool, linear ones from the
 * iov the receive filled.
 */
typedef struct uct_tcp_zc_dmrx_cursor {
    const uct_tcp_zc_dmrx_frag_t *frags;
    unsigned                     num_frags;
    const uint8_t                *pool;       /* CPU mapping of the pool */
    const uint8_t                *linear;     /* the receive's iov bytes */
    unsigned                     frag;        /* current fragment */
    uint32_t                     frag_off;    /* its bytes consumed */
    uint64_t                     linear_off;  /* linear bytes consumed */
    uint32_t                     pending;     /* token of a copied fragment
                                                 the batch had no room for */
} uct_tcp_zc_dmrx_cursor_t;

void uct_tcp_zc_dmrx_cursor_init(uct_tcp_zc_dmrx_cursor_t *cursor,
                                 const uct_tcp_zc_dmrx_frag_t *frags,
                                 unsigned num_frags, const void *pool,
                                 const void *linear);

/**
 * Copy the next bytes of the stream, up to len, to dest; the token of a
 * device fragment goes into the batch once all its bytes are copied, never
 * before. Returns the bytes copied: fewer than len when the stream ended,
 * or when the batch is full: return the batch (SO_DEVMEM_DONTNEED) and call
 * again (a token copied but not yet in a batch is kept in the cursor).
 */
size_t uct_tcp_zc_dmrx_copy(uct_tcp_zc_dmrx_cursor_t *cursor, void *dest,
                            size_t len, uct_tcp_zc_dmrx_tokens_t *tokens);

/* Whether every byte was copied and every token is in a batch */
static inline int
uct_tcp_zc_dmrx_cursor_done(const uct_tcp_zc_dmrx_cursor_t *cursor)
{
    return (cursor->frag >= cursor->num_frags) && (cursor->pending == 0);
}

/* Bytes of the SO_DEVMEM_DONTNEED option value of the batch */
static inline size_t
uct_tcp_zc_dmrx_tokens_optlen(const uct_tcp_zc_dmrx_tokens_t *t)
{
    return t->num_ranges * sizeof(t->ranges[0]);
}

#endif
