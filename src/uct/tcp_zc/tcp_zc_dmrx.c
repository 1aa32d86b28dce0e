/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_dmrx.h"
#include "tcp_zc_uapi.h"

#include <string.h>
#include <sys/socket.h>


/* the kernel's layouts */
typedef char uct_tcp_zc_dmrx_cmsg_size_check
        [(sizeof(uct_tcp_zc_dmabuf_cmsg_t) == 24) ? 1 : -1];
typedef char uct_tcp_zc_dmrx_token_size_check
        [(sizeof(uct_tcp_zc_dmabuf_token_t) == 8) ? 1 : -1];


/* Check a device fragment against the pool */
static uct_tcp_zc_dmrx_status_t
uct_tcp_zc_dmrx_check_device(const uct_tcp_zc_dmabuf_cmsg_t *dm,
                             const uct_tcp_zc_dmrx_pool_t *pool)
{
    if (dm->frag_size == 0) {
        return UCT_TCP_ZC_DMRX_ERR_FRAG_SIZE;
    }

    if (dm->dmabuf_id != pool->dmabuf_id) {
        return UCT_TCP_ZC_DMRX_ERR_DMABUF_ID;
    }

    /* offset + size <= pool size, without overflow */
    if ((dm->frag_size > pool->size) ||
        (dm->frag_offset > (pool->size - dm->frag_size))) {
        return UCT_TCP_ZC_DMRX_ERR_RANGE;
    }

    if ((dm->frag_token == 0) ||
        (dm->frag_token > UCT_TCP_ZC_DMRX_TOKEN_MAX)) {
        return UCT_TCP_ZC_DMRX_ERR_TOKEN;
    }

    return UCT_TCP_ZC_DMRX_OK;
}

uct_tcp_zc_dmrx_status_t
uct_tcp_zc_dmrx_walk(const void *control, size_t controllen, int msg_flags,
                     size_t bytes, size_t iov_len,
                     const uct_tcp_zc_dmrx_pool_t *pool,
                     uct_tcp_zc_dmrx_frag_t *frags, unsigned max_frags,
                     uct_tcp_zc_dmrx_result_t *result)
{
    const char *buf = control;
    uct_tcp_zc_dmabuf_cmsg_t dm;
    uct_tcp_zc_dmrx_status_t status;
    uct_tcp_zc_dmrx_frag_t *frag;
    struct cmsghdr cmsg;
    uint64_t total;
    size_t offset;

    result->num_frags    = 0;
    result->linear_bytes = 0;
    result->device_bytes = 0;
    result->devmem_cmsgs = 0;

    if (msg_flags & MSG_CTRUNC) {
        return UCT_TCP_ZC_DMRX_ERR_CTRUNC;
    }

    for (offset = 0; (controllen - offset) >= sizeof(cmsg);
         offset += CMSG_ALIGN(cmsg.cmsg_len)) {
        memcpy(&cmsg, buf + offset, sizeof(cmsg));
        if ((cmsg.cmsg_len < sizeof(cmsg)) ||
            (cmsg.cmsg_len > (controllen - offset))) {
            return UCT_TCP_ZC_DMRX_ERR_CMSG_LEN;
        }

        if ((cmsg.cmsg_level != SOL_SOCKET) ||
            ((cmsg.cmsg_type != SCM_DEVMEM_DMABUF) &&
             (cmsg.cmsg_type != SCM_DEVMEM_LINEAR))) {
            /* not ours; the last one may end without its padding */
            if (CMSG_ALIGN(cmsg.cmsg_len) > (controllen - offset)) {
                break;
            }
            continue;
        }

        ++result->devmem_cmsgs;
        if (cmsg.cmsg_len != CMSG_LEN(sizeof(dm))) {
            return UCT_TCP_ZC_DMRX_ERR_PAYLOAD;
        }

        memcpy(&dm, buf + offset + CMSG_LEN(0), sizeof(dm));
        if (result->num_frags >= max_frags) {
            return UCT_TCP_ZC_DMRX_ERR_TOO_MANY;
        }

        frag = &frags[result->num_frags];
        if (cmsg.cmsg_type == SCM_DEVMEM_LINEAR) {
            if (dm.frag_size == 0) {
                return UCT_TCP_ZC_DMRX_ERR_FRAG_SIZE;
            }

            if (dm.frag_size > (iov_len - result->linear_bytes)) {
                return UCT_TCP_ZC_DMRX_ERR_LINEAR;
            }

            frag->offset          = 0;
            frag->token           = 0;
            result->linear_bytes += dm.frag_size;
        } else {
            status = uct_tcp_zc_dmrx_check_device(&dm, pool);
            if (status != UCT_TCP_ZC_DMRX_OK) {
                return status;
            }

            frag->offset          = dm.frag_offset;
            frag->token           = dm.frag_token;
            result->device_bytes += dm.frag_size;
        }

        frag->size = dm.frag_size;
        ++result->num_frags;

        if (CMSG_ALIGN(cmsg.cmsg_len) > (controllen - offset)) {
            break;
        }
    }

    if (result->devmem_cmsgs == 0) {
        /* ordinary data: all in the iov */
        if ((bytes == 0) || (bytes > iov_len) || (bytes > UINT32_MAX)) {
            return (bytes == 0) ? UCT_TCP_ZC_DMRX_ERR_TOTAL :
                                  UCT_TCP_ZC_DMRX_ERR_LINEAR;
        }

        if (max_frags == 0) {
            return UCT_TCP_ZC_DMRX_ERR_TOO_MANY;
        }

        frags[0].offset      = 0;
        frags[0].size        = bytes;
        frags[0].token       = 0;
        result->num_frags    = 1;
        result->linear_bytes = bytes;
        return UCT_TCP_ZC_DMRX_OK;
    }

    /* sizes are below 2^32 each, and at most controllen / 16 of them */
    total = result->linear_bytes + result->device_bytes;
    if (total != bytes) {
        return UCT_TCP_ZC_DMRX_ERR_TOTAL;
    }

    return UCT_TCP_ZC_DMRX_OK;
}

const char *uct_tcp_zc_dmrx_status_str(uct_tcp_zc_dmrx_status_t status)
{
    static const char *names[] = {
        [UCT_TCP_ZC_DMRX_OK]            = "ok",
        [UCT_TCP_ZC_DMRX_ERR_CTRUNC]    = "control data truncated",
        [UCT_TCP_ZC_DMRX_ERR_CMSG_LEN]  = "cmsg length",
        [UCT_TCP_ZC_DMRX_ERR_PAYLOAD]   = "devmem cmsg payload size",
        [UCT_TCP_ZC_DMRX_ERR_FRAG_SIZE] = "empty fragment",
        [UCT_TCP_ZC_DMRX_ERR_DMABUF_ID] = "dmabuf id",
        [UCT_TCP_ZC_DMRX_ERR_RANGE]     = "fragment outside the pool",
        [UCT_TCP_ZC_DMRX_ERR_TOKEN]     = "token",
        [UCT_TCP_ZC_DMRX_ERR_LINEAR]    = "linear bytes beyond the buffer",
        [UCT_TCP_ZC_DMRX_ERR_TOTAL]     = "fragments do not add up to the "
                                          "bytes received",
        [UCT_TCP_ZC_DMRX_ERR_TOO_MANY]  = "too many fragments"
    };

    return ((unsigned)status < UCT_TCP_ZC_DMRX_ERR_LAST) ? names[status] :
                                                           "?";
}

int uct_tcp_zc_dmrx_tokens_add(uct_tcp_zc_dmrx_tokens_t *t, uint32_t token)
{
    uct_tcp_zc_dmabuf_token_t *last;

    if ((token == 0) || (token > UCT_TCP_ZC_DMRX_TOKEN_MAX)) {
        return -1;
    }

    if (t->num_tokens >= UCT_TCP_ZC_DMRX_DONTNEED_TOKENS) {
        return 0;
    }

    last = (t->num_ranges > 0) ? &t->ranges[t->num_ranges - 1] : NULL;
    if ((last != NULL) && ((last->token_start + last->token_count) == token)) {
        ++last->token_count;
    } else if (t->num_ranges >= UCT_TCP_ZC_DMRX_DONTNEED_RANGES) {
        return 0;
    } else {
        t->ranges[t->num_ranges].token_start = token;
        t->ranges[t->num_ranges].token_count = 1;
        ++t->num_ranges;
    }

    ++t->num_tokens;
    return 1;
}

void uct_tcp_zc_dmrx_cursor_init(uct_tcp_zc_dmrx_cursor_t *cursor,
                                 const uct_tcp_zc_dmrx_frag_t *frags,
                                 unsigned num_frags, const void *pool,
                                 const void *linear)
{
    cursor->frags      = frags;
    cursor->num_frags  = num_frags;
    cursor->pool       = pool;
    cursor->linear     = linear;
    cursor->frag       = 0;
    cursor->frag_off   = 0;
    cursor->linear_off = 0;
    cursor->pending    = 0;
}

size_t uct_tcp_zc_dmrx_copy(uct_tcp_zc_dmrx_cursor_t *cursor, void *dest,
                            size_t len, uct_tcp_zc_dmrx_tokens_t *tokens)
{
    uint8_t *out  = dest;
    size_t copied = 0;
    const uct_tcp_zc_dmrx_frag_t *frag;
    const uint8_t *src;
    size_t chunk;

    /* a token which did not fit into the last batch goes first */
    if (cursor->pending != 0) {
        if (uct_tcp_zc_dmrx_tokens_add(tokens, cursor->pending) == 0) {
            return 0;
        }
        cursor->pending = 0;
    }

    while ((copied < len) && (cursor->frag < cursor->num_frags)) {
        frag  = &cursor->frags[cursor->frag];
        chunk = frag->size - cursor->frag_off;
        if (chunk > (len - copied)) {
            chunk = len - copied;
        }

        if (uct_tcp_zc_dmrx_frag_is_linear(frag)) {
            src                 = cursor->linear + cursor->linear_off;
            cursor->linear_off += chunk;
        } else {
            src = cursor->pool + frag->offset + cursor->frag_off;
        }

        memcpy(out + copied, src, chunk);
        copied           += chunk;
        cursor->frag_off += chunk;
        if (cursor->frag_off < frag->size) {
            break;
        }

        /* the fragment is copied: its token may go back */
        cursor->frag_off = 0;
        ++cursor->frag;
        if (!uct_tcp_zc_dmrx_frag_is_linear(frag) &&
            (uct_tcp_zc_dmrx_tokens_add(tokens, frag->token) == 0)) {
            cursor->pending = frag->token;
            break;
        }
    }

    return copied;
}
