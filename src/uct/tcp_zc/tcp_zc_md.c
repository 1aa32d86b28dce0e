/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc.h"
#include "tcp_zc_caps.h"
#include "tcp_zc_netdev.h"

#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/vfs.h>
#include <unistd.h>


/* f_type of a dmabuf's file system (linux/magic.h) */
#ifndef DMA_BUF_MAGIC
#  define DMA_BUF_MAGIC 0x444d4142
#endif


/* memh->state: the handle was deregistered; the other bits count the
 * accesses held between uct_tcp_zc_md_access_lock() and _unlock() */
#define UCT_TCP_ZC_MEMH_DEAD     UCS_BIT(31)


static ucs_config_field_t uct_tcp_zc_md_config_table[] = {
    {"", "", NULL, ucs_offsetof(uct_tcp_zc_md_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_md_config_table)},

    {"AF_PRIO", "inet,inet6",
     "Address families which the transport uses, in order of preference.\n"
     "An interface is used with the first family for which it has an address.\n"
     "Allowed values: inet, inet6.",
     ucs_offsetof(uct_tcp_zc_md_config_t, af_prio),
     UCS_CONFIG_TYPE_STRING_ARRAY},

#if UCT_TCP_ZC_HAVE_DMABUF
    {"DMABUF", "auto",
     "Registration of device memory as a dmabuf (UCT_MD_FLAG_REG_DMABUF), so\n"
     "UCP hands GPU memory to tcp_zc for zero-copy rendezvous. auto: on where\n"
     "every network device tcp_zc serves passes the devmem send checks of\n"
     "ucx_tcp_zc_caps (never with a loopback device); y: on (for tests);\n"
     "n: off, UCP stages device memory through host memory.",
     ucs_offsetof(uct_tcp_zc_md_config_t, dmabuf),
     UCS_CONFIG_TYPE_TERNARY_AUTO},
#endif

    {NULL}
};


static ucs_status_t uct_tcp_zc_md_query(uct_md_h md, uct_tcp_zc_md_attr_t *attr)
{
    uct_tcp_zc_md_attr_init(attr);

    /* Registration records the region, so remote accesses can be checked;
     * zcopy operations get its memory handle */
    UCT_TCP_ZC_MD_CAP(attr, flags)            = UCT_MD_FLAG_REG |
                                                UCT_MD_FLAG_NEED_MEMH |
                                                UCT_MD_FLAG_NEED_RKEY |
                                                UCT_TCP_ZC_MD_FLAG_INVALIDATE;
    if (ucs_derived_of(md, uct_tcp_zc_md_t)->config.dmabuf) {
        /* registers a dmabuf of any memory type; never exports one */
        UCT_TCP_ZC_MD_CAP(attr, flags) |= UCT_TCP_ZC_MD_FLAG_REG_DMABUF;
    }

    UCT_TCP_ZC_MD_CAP(attr, reg_mem_types)    = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    UCT_TCP_ZC_MD_CAP(attr, access_mem_types) = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    UCT_TCP_ZC_MD_CAP(attr, max_reg)          = ULONG_MAX;
    uct_tcp_zc_md_attr_set_cache_mem_types(attr,
                                           UCS_BIT(UCS_MEMORY_TYPE_HOST));
    attr->rkey_packed_size                    = sizeof(uct_tcp_zc_packed_rkey_t);
    /* a registration is an entry in a hash table: pages are pinned by the
     * kernel when it sends, as for a copy */
    attr->reg_cost                            = ucs_linear_func_make(0, 0);
    return UCS_OK;
}

static void uct_tcp_zc_md_read_lock(uct_tcp_zc_md_t *md)
{
    int UCS_V_UNUSED ret = pthread_rwlock_rdlock(&md->memhs_lock);

    ucs_assertv(ret == 0, "pthread_rwlock_rdlock() failed: %d", ret);
}

static void uct_tcp_zc_md_write_lock(uct_tcp_zc_md_t *md)
{
    int UCS_V_UNUSED ret = pthread_rwlock_wrlock(&md->memhs_lock);

    ucs_assertv(ret == 0, "pthread_rwlock_wrlock() failed: %d", ret);
}

static void uct_tcp_zc_md_unlock(uct_tcp_zc_md_t *md)
{
    int UCS_V_UNUSED ret = pthread_rwlock_unlock(&md->memhs_lock);

    ucs_assertv(ret == 0, "pthread_rwlock_unlock() failed: %d", ret);
}

/* bind-tx of a dmabuf registration on one device */
struct uct_tcp_zc_memh_txb {
    uct_tcp_zc_memh_txb_t       *next;
    int                         ifindex;
    ucs_status_t                status;  /* UCS_OK: bound */
    uct_tcp_zc_netdev_binding_t *binding;
};


/* A key for a new registration: random, so that a peer cannot guess the keys
 * of other registrations from its own, and nonzero; 63 random bits, bit 63
 * is the region's kind (flag, UCT_TCP_ZC_KEY_FLAG_DMABUF or 0) */
static ucs_status_t uct_tcp_zc_md_random_key(uint64_t flag, uint64_t *key_p)
{
    uint64_t key;
    ssize_t ret;

    do {
        ret = getrandom(&key, sizeof(key), 0);
        if (ret == sizeof(key)) {
            key &= ~UCT_TCP_ZC_KEY_FLAG_DMABUF;
            if (key != 0) {
                *key_p = key | flag;
                return UCS_OK;
            }
        } else if ((ret >= 0) || (errno != EINTR)) {
            /* a read of at most 256 bytes is never short once the random
             * pool is initialized */
            ucs_error("tcp_zc: getrandom(%zu) returned %zd: %m", sizeof(key),
                      ret);
            return UCS_ERR_IO_ERROR;
        }
    } while (1);
}

/* Drop a reference; the last one (of the registration or of an access)
 * completes an invalidation and frees the handle */
static void uct_tcp_zc_memh_put(uct_tcp_zc_memh_t *memh)
{
    uct_tcp_zc_memh_txb_t *txb;
    uct_completion_t *comp;

    if (__atomic_sub_fetch(&memh->refcount, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }

    comp = memh->inv_comp;
    /* sends in flight hold references: the bindings are unused now */
    while (memh->tx_bindings != NULL) {
        txb               = memh->tx_bindings;
        memh->tx_bindings = txb->next;
        if (txb->binding != NULL) {
            uct_tcp_zc_netdev_binding_destroy(txb->binding);
        }
        ucs_free(txb);
    }

    if (memh->dmabuf_fd >= 0) {
        close(memh->dmabuf_fd);
    }
    ucs_free(memh);

    if (comp != NULL) {
        uct_invoke_completion(comp, UCS_OK);
    }
}

/* Check a dmabuf and take the md's own descriptor of it: UCP closes its own
 * right after the registration */
static ucs_status_t
uct_tcp_zc_md_dmabuf_dup(int fd, uint64_t offset, size_t length,
                         ucs_log_level_t level, int *fd_p)
{
    struct statfs fs;
    off_t size;
    int dup_fd;

    if (fstatfs(fd, &fs) != 0) {
        ucs_log(level, "tcp_zc: dmabuf registration: fstatfs(fd %d) failed: "
                "%m", fd);
        return UCS_ERR_INVALID_PARAM;
    }

    if (fs.f_type != DMA_BUF_MAGIC) {
        ucs_log(level, "tcp_zc: dmabuf registration: fd %d is not a dmabuf "
                "(file system type 0x%lx)", fd, (unsigned long)fs.f_type);
        return UCS_ERR_INVALID_PARAM;
    }

    /* a dmabuf's size is its end (it keeps no file position) */
    size = lseek(fd, 0, SEEK_END);
    if (size < 0) {
        ucs_log(level, "tcp_zc: dmabuf registration: lseek(fd %d, SEEK_END) "
                "failed: %m", fd);
        return UCS_ERR_INVALID_PARAM;
    }

    if ((offset > (uint64_t)size) || (length > ((uint64_t)size - offset))) {
        ucs_log(level, "tcp_zc: dmabuf registration: offset %" PRIu64
                " length %zu is beyond the end of the dmabuf (fd %d, %lld "
                "bytes)", offset, length, fd, (long long)size);
        return UCS_ERR_INVALID_PARAM;
    }

    dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
        ucs_log(level, "tcp_zc: dmabuf registration: dup of fd %d failed: "
                "%m", fd);
        return UCS_ERR_IO_ERROR;
    }

    *fd_p = dup_fd;
    return UCS_OK;
}

static ucs_status_t
uct_tcp_zc_md_mem_reg(uct_md_h tl_md, void *address, size_t length,
                      uct_tcp_zc_mem_reg_params_t params, uct_mem_h *memh_p)
{
    uct_tcp_zc_md_t *md        = ucs_derived_of(tl_md, uct_tcp_zc_md_t);
    uint64_t flags             = UCT_TCP_ZC_MEM_REG_FLAGS(params);
    int dmabuf_fd              = UCT_TCP_ZC_MEM_REG_DMABUF_FD(params);
    ucs_memory_type_t mem_type = UCT_TCP_ZC_MEM_REG_MEM_TYPE(params);
    ucs_log_level_t level      = (flags & UCT_MD_MEM_FLAG_HIDE_ERRORS) ?
                                         UCS_LOG_LEVEL_DEBUG :
                                         UCS_LOG_LEVEL_ERROR;
    uct_tcp_zc_memh_t *memh;
    ucs_status_t status;
    khiter_t iter;
    int ret;

    memh = ucs_malloc(sizeof(*memh), "uct_tcp_zc_memh_t");
    if (memh == NULL) {
        ucs_error("failed to allocate tcp_zc memory handle");
        return UCS_ERR_NO_MEMORY;
    }

    memh->address       = address;
    memh->length        = length;
    memh->refcount      = 1; /* the registration's; published by the lock */
    memh->state         = 0;
    memh->flags         = 0;
    memh->mem_type      = mem_type;
    memh->dmabuf_fd     = -1;
    memh->dmabuf_offset = 0;
    memh->inv_comp      = NULL;
    memh->inv_packed    = 0;
    memh->tx_bindings   = NULL;

    /* all but atomic-only registrations (no remote access flags: all) */
    if ((flags & UCT_MD_MEM_ACCESS_RMA) ||
        !(flags & UCT_MD_MEM_ACCESS_REMOTE_ATOMIC)) {
        memh->flags |= UCT_TCP_ZC_MEMH_FLAG_RMA;
    }

    if (dmabuf_fd != UCT_DMABUF_FD_INVALID) {
        if (!md->config.dmabuf) {
            ucs_log(level, "tcp_zc: dmabuf registration of %p..%p: dmabuf "
                    "registration is off (UCX_" UCT_TCP_ZC_CONFIG_PREFIX
                    "DMABUF)", address, UCS_PTR_BYTE_OFFSET(address, length));
            status = UCS_ERR_UNSUPPORTED;
            goto err_free;
        }

        memh->dmabuf_offset = UCT_TCP_ZC_MEM_REG_DMABUF_OFFSET(params);
        status = uct_tcp_zc_md_dmabuf_dup(dmabuf_fd, memh->dmabuf_offset,
                                          length, level, &memh->dmabuf_fd);
        if (status != UCS_OK) {
            goto err_free;
        }

        memh->flags |= UCT_TCP_ZC_MEMH_FLAG_DMABUF;
    } else if (!(UCS_BIT(mem_type) & UCS_MEMORY_TYPES_CPU_ACCESSIBLE)) {
        ucs_log(level, "tcp_zc: cannot register %s memory %p..%p without a "
                "dmabuf: tcp_zc registers host memory, and device memory only "
                "as a dmabuf (UCX_" UCT_TCP_ZC_CONFIG_PREFIX "DMABUF)",
                ucs_memory_type_names[mem_type], address,
                UCS_PTR_BYTE_OFFSET(address, length));
        status = UCS_ERR_UNSUPPORTED;
        goto err_free;
    }

    /* a new key while the drawn one is in use (once in 2^63 / registrations
     * drawn keys); the random read is not done under the lock */
    do {
        status = uct_tcp_zc_md_random_key(uct_tcp_zc_memh_is_dmabuf(memh) ?
                                                  UCT_TCP_ZC_KEY_FLAG_DMABUF :
                                                  0,
                                          &memh->key);
        if (status != UCS_OK) {
            goto err_close;
        }

        uct_tcp_zc_md_write_lock(md);
        iter = kh_put(uct_tcp_zc_memh, &md->memhs, memh->key, &ret);
        if (ret == UCS_KH_PUT_KEY_PRESENT) {
            uct_tcp_zc_md_unlock(md);
        }
    } while (ret == UCS_KH_PUT_KEY_PRESENT);

    if (ret == UCS_KH_PUT_FAILED) {
        uct_tcp_zc_md_unlock(md);
        ucs_error("failed to add tcp_zc memory handle to the registry");
        status = UCS_ERR_NO_MEMORY;
        goto err_close;
    }

    kh_value(&md->memhs, iter) = memh;
    if (uct_tcp_zc_memh_is_dmabuf(memh)) {
        kh_put(uct_tcp_zc_memh_ptr, &md->dmabuf_memhs, (uintptr_t)memh, &ret);
        if (ret == UCS_KH_PUT_FAILED) {
            kh_del(uct_tcp_zc_memh, &md->memhs, iter);
            uct_tcp_zc_md_unlock(md);
            ucs_error("failed to add tcp_zc dmabuf handle to the registry");
            status = UCS_ERR_NO_MEMORY;
            goto err_close;
        }
        __atomic_store_n(&md->num_dmabuf, kh_size(&md->dmabuf_memhs),
                         __ATOMIC_RELAXED);
    }
    uct_tcp_zc_md_unlock(md);

    *memh_p = memh;
    return UCS_OK;

err_close:
    if (memh->dmabuf_fd >= 0) {
        close(memh->dmabuf_fd);
    }
err_free:
    ucs_free(memh);
    return status;
}

/* The checks of a deregistration with invalidation */
static ucs_status_t
uct_tcp_zc_md_invalidate_check(const uct_tcp_zc_memh_t *memh,
                               const uct_completion_t *comp)
{
    if (comp == NULL) {
        return UCS_ERR_INVALID_PARAM;
    }

    /* tcp_zc has no atomics: nothing but RMA accesses to invalidate */
    if (!(memh->flags & UCT_TCP_ZC_MEMH_FLAG_RMA)) {
        return UCS_ERR_UNSUPPORTED;
    }

    if (UCT_TCP_ZC_INVALIDATE_NEEDS_PACK &&
        !__atomic_load_n(&memh->inv_packed, __ATOMIC_RELAXED)) {
        return UCS_ERR_INVALID_PARAM;
    }

    return UCS_OK;
}

static ucs_status_t
uct_tcp_zc_md_mem_dereg(uct_md_h tl_md, const uct_md_mem_dereg_params_t *params)
{
    uct_tcp_zc_md_t *md = ucs_derived_of(tl_md, uct_tcp_zc_md_t);
    uct_tcp_zc_memh_t *memh;
    uct_completion_t *comp;
    ucs_status_t status;
    khiter_t iter;

    UCT_MD_MEM_DEREG_CHECK_PARAMS(params, 1);

    memh = params->memh;
    if (UCT_MD_MEM_DEREG_FIELD_VALUE(params, flags, FIELD_FLAGS, 0) &
        UCT_MD_MEM_DEREG_FLAG_INVALIDATE) {
        comp   = UCT_MD_MEM_DEREG_FIELD_VALUE(params, comp, FIELD_COMPLETION,
                                              NULL);
        status = uct_tcp_zc_md_invalidate_check(memh, comp);
        if (status != UCS_OK) {
            return status;
        }

        /* called by the last reference: the accesses which found the region
         * before now (their requests) are over then, and no later one finds
         * it. Published by the release of the reference below */
        memh->inv_comp = comp;
    }

    /* no new access finds the registration */
    uct_tcp_zc_md_write_lock(md);
    iter = kh_get(uct_tcp_zc_memh, &md->memhs, memh->key);
    ucs_assert(iter != kh_end(&md->memhs));
    kh_del(uct_tcp_zc_memh, &md->memhs, iter);
    iter = kh_get(uct_tcp_zc_memh_ptr, &md->dmabuf_memhs, (uintptr_t)memh);
    if (iter != kh_end(&md->dmabuf_memhs)) {
        kh_del(uct_tcp_zc_memh_ptr, &md->dmabuf_memhs, iter);
        __atomic_store_n(&md->num_dmabuf, kh_size(&md->dmabuf_memhs),
                         __ATOMIC_RELAXED);
    }
    uct_tcp_zc_md_unlock(md);

    /* accesses which hold a reference fail to lock it from now on; wait for
     * those which hold it now: each ends after one socket call, which does
     * not block (the sockets are non-blocking). The caller of this function
     * cannot hold one itself: nothing is called between lock and unlock */
    if (__atomic_fetch_or(&memh->state, UCT_TCP_ZC_MEMH_DEAD,
                          __ATOMIC_ACQ_REL) != 0) {
        while (__atomic_load_n(&memh->state, __ATOMIC_ACQUIRE) !=
               UCT_TCP_ZC_MEMH_DEAD) {
            sched_yield();
        }
    }

    uct_tcp_zc_memh_put(memh);
    return UCS_OK;
}

ucs_status_t uct_tcp_zc_md_memh_bind_tx(uct_tcp_zc_md_t *md,
                                        uct_tcp_zc_memh_t *memh, int ifindex,
                                        uint32_t *binding_id_p)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 64];
    uct_tcp_zc_genl_err_t err;
    uct_tcp_zc_memh_txb_t *txb;
    ucs_status_t status;

    if (!uct_tcp_zc_memh_is_dmabuf(memh)) {
        return UCS_ERR_INVALID_PARAM;
    }

    pthread_mutex_lock(&md->txb_lock);
    for (txb = memh->tx_bindings; txb != NULL; txb = txb->next) {
        if (txb->ifindex == ifindex) {
            goto out;
        }
    }

    txb = ucs_malloc(sizeof(*txb), "uct_tcp_zc_memh_txb_t");
    if (txb == NULL) {
        pthread_mutex_unlock(&md->txb_lock);
        ucs_error("tcp_zc: failed to allocate a bind-tx entry");
        return UCS_ERR_NO_MEMORY;
    }

    txb->ifindex = ifindex;
    txb->binding = NULL;
    status       = uct_tcp_zc_netdev_bind_tx(ifindex, memh->dmabuf_fd,
                                             &txb->binding, &err);
    if (status == UCS_OK) {
        txb->status = UCS_OK;
        ucs_debug("tcp_zc: dmabuf registration %p..%p bound for devmem TX "
                  "on ifindex %d: binding id %u", memh->address,
                  UCS_PTR_BYTE_OFFSET(memh->address, memh->length), ifindex,
                  uct_tcp_zc_netdev_binding_id(txb->binding));
    } else {
        txb->status = UCS_ERR_UNSUPPORTED;
        ucs_debug("tcp_zc: dmabuf registration %p..%p: no devmem TX on "
                  "ifindex %d, its bytes are staged: bind-tx: %s",
                  memh->address,
                  UCS_PTR_BYTE_OFFSET(memh->address, memh->length), ifindex,
                  uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));
    }

    txb->next         = memh->tx_bindings;
    memh->tx_bindings = txb;

out:
    status = txb->status;
    if (status == UCS_OK) {
        *binding_id_p = uct_tcp_zc_netdev_binding_id(txb->binding);
    }
    pthread_mutex_unlock(&md->txb_lock);
    return status;
}

/* Whether [address, address + length) lies in the region; overflow-safe. An
 * empty access may also start at the end of the region */
static int uct_tcp_zc_memh_contains(const uct_tcp_zc_memh_t *memh,
                                    uint64_t address, uint64_t length)
{
    uint64_t start = (uintptr_t)memh->address;

    return (address >= start) && (length <= memh->length) &&
           ((address - start) <= (memh->length - length));
}

/* Find the registration of a remote access and check the access against it;
 * call with the registry locked */
static uct_tcp_zc_memh_t *
uct_tcp_zc_md_access_find(uct_tcp_zc_md_t *md, uint64_t key,
                          uint64_t address, uint64_t length)
{
    uct_tcp_zc_memh_t *memh;
    khiter_t iter;

    iter = kh_get(uct_tcp_zc_memh, &md->memhs, key);
    if (iter == kh_end(&md->memhs)) {
        return NULL;
    }

    memh = kh_value(&md->memhs, iter);
    if (!uct_tcp_zc_memh_contains(memh, address, length)) {
        return NULL;
    }

    return memh;
}

/**
 * Check a remote access (of a PUT or GET request) against the registry: the
 * key names a registration and [address, address + length) lies inside its
 * region (a zero-length access too: it may start at the end of the region).
 * On success, *ptr_p is the local address and *memh_p the registration, with
 * a reference taken: the struct stays valid until uct_tcp_zc_md_access_put(),
 * even if the region is deregistered meanwhile; the memory itself may be
 * touched only between uct_tcp_zc_md_access_lock() and _unlock().
 * Returns UCS_ERR_INVALID_ADDR if the access is not allowed.
 */
ucs_status_t uct_tcp_zc_md_access_get(uct_tcp_zc_md_t *md, uint64_t key,
                                      uint64_t address, uint64_t length,
                                      void **ptr_p, uct_tcp_zc_memh_t **memh_p)
{
    uct_tcp_zc_memh_t *memh;

    uct_tcp_zc_md_read_lock(md);
    memh = uct_tcp_zc_md_access_find(md, key, address, length);
    if (memh == NULL) {
        uct_tcp_zc_md_unlock(md);
        return UCS_ERR_INVALID_ADDR;
    }

    /* the registration's reference is not dropped while the key is found */
    __atomic_add_fetch(&memh->refcount, 1, __ATOMIC_RELAXED);
    uct_tcp_zc_md_unlock(md);

    *ptr_p  = (void*)(uintptr_t)address;
    *memh_p = memh;
    return UCS_OK;
}

/**
 * Call right before each socket call which writes into or reads from the
 * region of memh (a reference from uct_tcp_zc_md_access_get()). Returns 1 if
 * the region is still registered: then it stays so until
 * uct_tcp_zc_md_access_unlock(), which must follow the socket call at once
 * (deregistration waits for it; nothing else may be called in between).
 * Returns 0 if the region was deregistered: the memory must not be touched,
 * and unlock is not called.
 */
int uct_tcp_zc_md_access_lock(uct_tcp_zc_md_t *md, uct_tcp_zc_memh_t *memh)
{
    if (ucs_likely(!(__atomic_add_fetch(&memh->state, 1, __ATOMIC_ACQUIRE) &
                     UCT_TCP_ZC_MEMH_DEAD))) {
        return 1;
    }

    __atomic_sub_fetch(&memh->state, 1, __ATOMIC_RELEASE);
    return 0;
}

void uct_tcp_zc_md_access_unlock(uct_tcp_zc_md_t *md, uct_tcp_zc_memh_t *memh)
{
    ucs_assert((__atomic_load_n(&memh->state, __ATOMIC_RELAXED) &
                ~UCT_TCP_ZC_MEMH_DEAD) != 0);
    __atomic_sub_fetch(&memh->state, 1, __ATOMIC_RELEASE);
}

/* Drop the reference of uct_tcp_zc_md_access_get() */
void uct_tcp_zc_md_access_put(uct_tcp_zc_md_t *md, uct_tcp_zc_memh_t *memh)
{
    uct_tcp_zc_memh_put(memh);
}

/**
 * The check of uct_tcp_zc_md_access_get() without a reference: the memory at
 * *ptr_p may be deregistered at any time after this returns. Kept for the
 * receive path until it uses the access functions.
 */
ucs_status_t uct_tcp_zc_md_check_access(uct_tcp_zc_md_t *md, uint64_t key,
                                        uint64_t address, uint64_t length,
                                        void **ptr_p)
{
    uct_tcp_zc_memh_t *memh;

    uct_tcp_zc_md_read_lock(md);
    memh = uct_tcp_zc_md_access_find(md, key, address, length);
    uct_tcp_zc_md_unlock(md);
    if (memh == NULL) {
        return UCS_ERR_INVALID_ADDR;
    }

    *ptr_p = (void*)(uintptr_t)address;
    return UCS_OK;
}

static ucs_status_t
uct_tcp_zc_md_mkey_pack(uct_md_h md, uct_mem_h tl_memh,
                        UCT_TCP_ZC_MKEY_PACK_REGION_ARGS
                        const uct_md_mkey_pack_params_t *params, void *buffer)
{
    uct_tcp_zc_memh_t *memh        = tl_memh;
    uct_tcp_zc_packed_rkey_t *rkey = buffer;

    if (UCS_PARAM_VALUE(UCT_MD_MKEY_PACK_FIELD, params, flags, FLAGS, 0) &
        UCT_TCP_ZC_MKEY_PACK_FLAG_INVALIDATE) {
        __atomic_store_n(&memh->inv_packed, 1, __ATOMIC_RELAXED);
    }

    rkey->key = memh->key;
    return UCS_OK;
}

static ucs_status_t
uct_tcp_zc_rkey_unpack(uct_component_t *component, const void *buffer,
                       UCT_TCP_ZC_RKEY_UNPACK_PARAMS_ARG
                       uct_rkey_t *rkey_p, void **handle_p)
{
    const uct_tcp_zc_packed_rkey_t *packed = buffer;
    uct_tcp_zc_rkey_t *rkey;

    rkey = ucs_malloc(sizeof(*rkey), "uct_tcp_zc_rkey_t");
    if (rkey == NULL) {
        ucs_error("failed to allocate tcp_zc remote key");
        return UCS_ERR_NO_MEMORY;
    }

    rkey->key = packed->key;
    *rkey_p   = (uintptr_t)rkey;
    *handle_p = rkey;
    return UCS_OK;
}

static ucs_status_t uct_tcp_zc_rkey_release(uct_component_t *component,
                                            uct_rkey_t rkey, void *handle)
{
    ucs_free(handle);
    return UCS_OK;
}

int uct_tcp_zc_md_is_dmabuf_memh(uct_tcp_zc_md_t *md, uct_mem_h memh)
{
    int found;

    if ((memh == UCT_MEM_HANDLE_NULL) ||
        (__atomic_load_n(&md->num_dmabuf, __ATOMIC_RELAXED) == 0)) {
        return 0;
    }

    uct_tcp_zc_md_read_lock(md);
    found = (kh_get(uct_tcp_zc_memh_ptr, &md->dmabuf_memhs, (uintptr_t)memh) !=
             kh_end(&md->dmabuf_memhs));
    uct_tcp_zc_md_unlock(md);
    return found;
}

static void uct_tcp_zc_md_close(uct_md_h tl_md)
{
    uct_tcp_zc_md_t *md = ucs_derived_of(tl_md, uct_tcp_zc_md_t);

    if (kh_size(&md->memhs) != 0) {
        ucs_warn("tcp_zc md %p: %u memory regions are still registered", md,
                 kh_size(&md->memhs));
    }

    kh_destroy_inplace(uct_tcp_zc_memh, &md->memhs);
    kh_destroy_inplace(uct_tcp_zc_memh_ptr, &md->dmabuf_memhs);
    pthread_rwlock_destroy(&md->memhs_lock);
    pthread_mutex_destroy(&md->txb_lock);
    ucs_free(md);
}

static uct_md_ops_t uct_tcp_zc_md_ops = {
    .close              = uct_tcp_zc_md_close,
    .query              = uct_tcp_zc_md_query,
    .mem_alloc          = (uct_md_mem_alloc_func_t)
            ucs_empty_function_return_unsupported,
    .mem_free           = (uct_md_mem_free_func_t)
            ucs_empty_function_return_unsupported,
    .mem_advise         = (uct_md_mem_advise_func_t)
            ucs_empty_function_return_unsupported,
    .mem_reg            = uct_tcp_zc_md_mem_reg,
    .mem_dereg          = uct_tcp_zc_md_mem_dereg,
    .mem_query          = (uct_md_mem_query_func_t)
            ucs_empty_function_return_unsupported,
    .mkey_pack          = uct_tcp_zc_md_mkey_pack,
    .detect_memory_type = (uct_md_detect_memory_type_func_t)
            ucs_empty_function_return_unsupported,
    UCT_TCP_ZC_MD_OPS_EXTRA
};

static ucs_status_t uct_tcp_zc_md_parse_af(const char *name, sa_family_t *af_p)
{
    if (!strcasecmp(name, "inet")) {
        *af_p = AF_INET;
    } else if (!strcasecmp(name, "inet6")) {
        *af_p = AF_INET6;
    } else {
        ucs_error("tcp_zc: invalid address family '%s' in "
                  "UCX_" UCT_TCP_ZC_CONFIG_PREFIX "AF_PRIO (inet, inet6)",
                  name);
        return UCS_ERR_INVALID_PARAM;
    }

    return UCS_OK;
}

/* Whether a device is no loopback one; if it is, why that is no good */
static int uct_tcp_zc_md_dmabuf_dev_not_lo(const char *if_name, char *reason,
                                           size_t max)
{
    struct ifreq ifr;

    if ((ucs_netif_ioctl(if_name, SIOCGIFFLAGS, &ifr) == UCS_OK) &&
        (ifr.ifr_flags & IFF_LOOPBACK)) {
        ucs_snprintf_zero(reason, max, "%s is a loopback device, which "
                          "cannot send device memory", if_name);
        return 0;
    }

    return 1;
}

/* Whether a device passes the devmem send checks; if not, why */
static int uct_tcp_zc_md_dmabuf_dev_ok(const char *if_name, char *reason,
                                       size_t max)
{
    uct_tcp_zc_caps_t caps;
    uct_tcp_zc_req_t req;

    /* a bind-tx probe offers a small udmabuf, let go at once */
    if (uct_tcp_zc_caps_query(if_name,
                              UCT_TCP_ZC_CAPS_SEND | UCT_TCP_ZC_CAPS_DEVMEM |
                              UCT_TCP_ZC_CAPS_PROBE_BIND |
                              UCT_TCP_ZC_CAPS_PROBE_DMABUF, &caps) != UCS_OK) {
        ucs_snprintf_zero(reason, max, "%s: capability query failed",
                          if_name);
        return 0;
    }

    if (uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_DEVMEM_TX)) {
        return 1;
    }

    for (req = 0; req < UCT_TCP_ZC_REQ_LAST; ++req) {
        if ((uct_tcp_zc_req_paths(req) & UCT_TCP_ZC_PATH_DEVMEM_TX) &&
            (caps.reqs[req].state != UCT_TCP_ZC_REQ_STATE_YES)) {
            ucs_snprintf_zero(reason, max, "%s: %s needs %s: %s", if_name,
                              uct_tcp_zc_path_name(UCT_TCP_ZC_PATH_DEVMEM_TX),
                              uct_tcp_zc_req_name(req),
                              caps.reqs[req].reason);
            break;
        }
    }

    return 0;
}

int uct_tcp_zc_md_dmabuf_auto(const sa_family_t *af_prio, unsigned af_count,
                              char *reason, size_t max)
{
    static const char *netdev_dir = "/sys/class/net";
    struct dirent *entry;
    unsigned i, count, pass;
    int active, ok;
    DIR *dir;

    dir = opendir(netdev_dir);
    if (dir == NULL) {
        ucs_snprintf_zero(reason, max, "opendir(%s) failed: %m", netdev_dir);
        return 0;
    }

    /* the devices of uct_tcp_zc_query_devices(): a loopback one first (no
     * query needed), then the capability checks of the others */
    ok    = 1;
    count = 0;
    for (pass = 0; ok && (pass < 2); ++pass) {
        rewinddir(dir);
        while (ok && ((entry = readdir(dir)) != NULL)) {
            if (entry->d_type != DT_LNK) {
                continue;
            }

            for (i = 0, active = 0; (i < af_count) && !active; ++i) {
                active = ucs_netif_is_active(entry->d_name, af_prio[i]);
            }

            if (!active) {
                continue;
            } else if (pass == 0) {
                ok = uct_tcp_zc_md_dmabuf_dev_not_lo(entry->d_name, reason,
                                                     max);
                ++count;
            } else {
                ok = uct_tcp_zc_md_dmabuf_dev_ok(entry->d_name, reason, max);
            }
        }
    }

    closedir(dir);
    if (ok && (count == 0)) {
        ucs_snprintf_zero(reason, max, "no active network device");
        return 0;
    }

    return ok;
}

static void uct_tcp_zc_md_dmabuf_init(uct_tcp_zc_md_t *md,
                                      const uct_tcp_zc_md_config_t *md_config)
{
#if UCT_TCP_ZC_HAVE_DMABUF
    char reason[512];

    if (md_config->dmabuf == UCS_YES) {
        md->config.dmabuf = 1;
    } else if (md_config->dmabuf == UCS_NO) {
        md->config.dmabuf = 0;
    } else {
        md->config.dmabuf = uct_tcp_zc_md_dmabuf_auto(md->config.af_prio_list,
                                                      md->config.af_prio_count,
                                                      reason, sizeof(reason));
        if (!md->config.dmabuf) {
            ucs_debug("tcp_zc: dmabuf registration is off: %s", reason);
        }
    }
#else
    md->config.dmabuf = 0;
#endif
}

static ucs_status_t
uct_tcp_zc_md_open(uct_component_t *component, const char *md_name,
                   const uct_md_config_t *tl_md_config, uct_md_h *md_p)
{
    const uct_tcp_zc_md_config_t *md_config =
            ucs_derived_of(tl_md_config, uct_tcp_zc_md_config_t);
    pthread_rwlockattr_t lock_attr;
    uct_tcp_zc_md_t *md;
    ucs_status_t status;
    unsigned i;
    int ret;

    if ((md_config->af_prio.count == 0) ||
        (md_config->af_prio.count > UCT_TCP_ZC_AF_PRIO_MAX)) {
        ucs_error("tcp_zc: UCX_" UCT_TCP_ZC_CONFIG_PREFIX "AF_PRIO must "
                  "list 1 or 2 address families, got %u",
                  md_config->af_prio.count);
        return UCS_ERR_INVALID_PARAM;
    }

    md = ucs_calloc(1, sizeof(*md), "uct_tcp_zc_md_t");
    if (md == NULL) {
        ucs_error("failed to allocate tcp_zc memory domain");
        return UCS_ERR_NO_MEMORY;
    }

    md->super.ops            = &uct_tcp_zc_md_ops;
    md->super.component      = &uct_tcp_zc_component;
    md->config.af_prio_count = md_config->af_prio.count;

    for (i = 0; i < md->config.af_prio_count; ++i) {
        status = uct_tcp_zc_md_parse_af(md_config->af_prio.af[i],
                                        &md->config.af_prio_list[i]);
        if (status != UCS_OK) {
            goto err_free;
        }
    }

    /* lookups by several progress threads do not hold back registration
     * changes (no read lock is taken recursively) */
    pthread_rwlockattr_init(&lock_attr);
    pthread_rwlockattr_setkind_np(&lock_attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    ret = pthread_rwlock_init(&md->memhs_lock, &lock_attr);
    pthread_rwlockattr_destroy(&lock_attr);
    if (ret != 0) {
        ucs_error("tcp_zc: pthread_rwlock_init() failed: %s", strerror(ret));
        status = UCS_ERR_NO_RESOURCE;
        goto err_free;
    }

    kh_init_inplace(uct_tcp_zc_memh, &md->memhs);
    kh_init_inplace(uct_tcp_zc_memh_ptr, &md->dmabuf_memhs);
    md->num_dmabuf = 0;
    pthread_mutex_init(&md->txb_lock, NULL);
    uct_tcp_zc_md_dmabuf_init(md, md_config);
    *md_p = &md->super;
    return UCS_OK;

err_free:
    ucs_free(md);
    return status;
}

uct_component_t uct_tcp_zc_component = {
    .query_md_resources = uct_md_query_single_md_resource,
    .md_open            = uct_tcp_zc_md_open,
    .cm_open            = (uct_component_cm_open_func_t)
            ucs_empty_function_return_unsupported,
    .rkey_unpack        = uct_tcp_zc_rkey_unpack,
    .rkey_ptr           = (uct_component_rkey_ptr_func_t)
            ucs_empty_function_return_unsupported,
    .rkey_release       = uct_tcp_zc_rkey_release,
    .name               = UCT_TCP_ZC_NAME,
    .md_config          = {
        .name           = "TCP zero-copy memory domain",
        .prefix         = UCT_TCP_ZC_CONFIG_PREFIX,
        .table          = uct_tcp_zc_md_config_table,
        .size           = sizeof(uct_tcp_zc_md_config_t),
    },
    .cm_config          = UCS_CONFIG_EMPTY_GLOBAL_LIST_ENTRY,
    .tl_list            = UCT_COMPONENT_TL_LIST_INITIALIZER(
            &uct_tcp_zc_component),
    .flags              = 0,
    .md_vfs_init        = (uct_component_md_vfs_init_func_t)
            ucs_empty_function,
    UCT_TCP_ZC_COMPONENT_EXTRA
};
