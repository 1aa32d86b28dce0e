/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_MD_H
#define UCT_TCP_ZC_MD_H

#include "tcp_zc_compat.h"

#include <ucs/datastruct/khash.h>
#include <ucs/memory/memory_type.h>
#include <ucs/type/status.h>
#include <pthread.h>
#include <stdint.h>


#define UCT_TCP_ZC_AF_PRIO_MAX   2

/* A registration's key: random, nonzero; bit 63 says that the region is a
 * dmabuf registration (device memory), so a peer learns it from the rkey */
#define UCT_TCP_ZC_KEY_FLAG_DMABUF  (1ull << 63)


/* Memory handle flags */
enum {
    /* registered from a dmabuf: dmabuf_fd and dmabuf_offset are valid */
    UCT_TCP_ZC_MEMH_FLAG_DMABUF       = UCS_BIT(0),
    /* registered with remote PUT or GET access (or no access flags) */
    UCT_TCP_ZC_MEMH_FLAG_RMA          = UCS_BIT(1)
};


/* bind-tx of a dmabuf registration on one device (tcp_zc_md.c) */
typedef struct uct_tcp_zc_memh_txb uct_tcp_zc_memh_txb_t;


/**
 * Memory handle of a registered memory region: host memory, or a dmabuf.
 *
 * Remote accesses take a reference (refcount) for the lifetime of a request
 * and hold an access (state) around each socket call which reads or writes
 * the region; deregistration marks the handle dead and waits only for held
 * accesses. The struct is freed by the last of deregistration and the
 * accesses' references; a deregistration with invalidation calls its
 * completion at that moment.
 */
typedef struct uct_tcp_zc_memh {
    void              *address;      /* host address, or the device's
                                        virtual address of a dmabuf region */
    size_t            length;
    uint64_t          key;           /* identifies the registration to remote
                                        peers: random, nonzero, bit 63 =
                                        UCT_TCP_ZC_KEY_FLAG_DMABUF */
    /* both accessed with atomic builtins only */
    uint32_t          refcount;      /* 1 for the registration + 1 per access
                                        reference (uct_tcp_zc_md_access_get) */
    uint32_t          state;         /* dead flag | number of accesses held
                                        (uct_tcp_zc_md_access_lock) */
    uint32_t          flags;         /* UCT_TCP_ZC_MEMH_FLAG_*, set at
                                        registration, never changed */
    ucs_memory_type_t mem_type;      /* of the registration's memory */
    int               dmabuf_fd;     /* the md's own dup() of the dmabuf, or
                                        -1 (closed at deregistration) */
    uint64_t          dmabuf_offset; /* offset of address in the dmabuf */
    uct_completion_t  *inv_comp;     /* deregistration with invalidation:
                                        called when the last reference goes */
    int               inv_packed;    /* the key was packed with the
                                        invalidation flag of mkey_pack */
    uct_tcp_zc_memh_txb_t *tx_bindings; /* bind-tx per device, dropped
                                           with the last reference; guarded
                                           by the md's txb_lock */
} uct_tcp_zc_memh_t;


/**
 * Packed remote key: the registration's key, which the target checks each
 * access against (address and length come with each request). 8 bytes, as
 * UCX's generic tests of invalidation expect.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_packed_rkey {
    uint64_t key;
} uct_tcp_zc_packed_rkey_t;


/**
 * Unpacked remote key.
 */
typedef struct uct_tcp_zc_rkey {
    uint64_t key;
} uct_tcp_zc_rkey_t;


KHASH_MAP_INIT_INT64(uct_tcp_zc_memh, uct_tcp_zc_memh_t*);
/* dmabuf registrations by their address, to tell a memory handle which a
 * caller passes apart from others without reading it */
KHASH_SET_INIT_INT64(uct_tcp_zc_memh_ptr);


typedef struct uct_tcp_zc_md_config {
    uct_md_config_t                         super;
    UCS_CONFIG_STRING_ARRAY_FIELD(af)       af_prio;
#if UCT_TCP_ZC_HAVE_DMABUF
    ucs_ternary_auto_value_t                dmabuf;
#endif
} uct_tcp_zc_md_config_t;


typedef struct uct_tcp_zc_md {
    uct_md_t            super;
    struct {
        sa_family_t     af_prio_list[UCT_TCP_ZC_AF_PRIO_MAX];
        unsigned        af_prio_count;
        int             dmabuf; /* UCT_MD_FLAG_REG_DMABUF is on */
    } config;
    /* registrations by key, to check remote accesses; memhs_lock guards
     * the hash (lookups by progress threads, changes by registering ones) */
    pthread_rwlock_t    memhs_lock;
    khash_t(uct_tcp_zc_memh) memhs;
    khash_t(uct_tcp_zc_memh_ptr) dmabuf_memhs; /* guarded by memhs_lock */
    uint32_t            num_dmabuf;   /* its size, read without the lock */
    pthread_mutex_t     txb_lock;  /* bind-tx lists of the memory handles */
} uct_tcp_zc_md_t;


extern uct_component_t uct_tcp_zc_component;


/* Whether a remote key names a dmabuf (device memory) registration */
static UCS_F_ALWAYS_INLINE int uct_tcp_zc_key_is_dmabuf(uint64_t key)
{
    return !!(key & UCT_TCP_ZC_KEY_FLAG_DMABUF);
}

/* Whether a registration is of a dmabuf */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_memh_is_dmabuf(const uct_tcp_zc_memh_t *memh)
{
    return !!(memh->flags & UCT_TCP_ZC_MEMH_FLAG_DMABUF);
}

/* Offset in the dmabuf of an address inside a dmabuf registration (for the
 * iov bases of a devmem send) */
static UCS_F_ALWAYS_INLINE uint64_t
uct_tcp_zc_memh_dmabuf_offset(const uct_tcp_zc_memh_t *memh, uint64_t address)
{
    return memh->dmabuf_offset + (address - (uintptr_t)memh->address);
}


/**
 * Whether memh, as a caller passed it in an iov (which UCP may fill with
 * another md's handle), is a dmabuf registration of this md. Never reads
 * memh; costs nothing while the md has no dmabuf registration.
 */
int uct_tcp_zc_md_is_dmabuf_memh(uct_tcp_zc_md_t *md, uct_mem_h memh);

/* md: remote accesses to registered memory (see tcp_zc_md.c) */
ucs_status_t uct_tcp_zc_md_check_access(uct_tcp_zc_md_t *md, uint64_t key,
                                        uint64_t address, uint64_t length,
                                        void **ptr_p);
ucs_status_t uct_tcp_zc_md_access_get(uct_tcp_zc_md_t *md, uint64_t key,
                                      uint64_t address, uint64_t length,
                                      void **ptr_p,
                                      uct_tcp_zc_memh_t **memh_p);
int uct_tcp_zc_md_access_lock(uct_tcp_zc_md_t *md, uct_tcp_zc_memh_t *memh);
void uct_tcp_zc_md_access_unlock(uct_tcp_zc_md_t *md,
                                 uct_tcp_zc_memh_t *memh);
void uct_tcp_zc_md_access_put(uct_tcp_zc_md_t *md, uct_tcp_zc_memh_t *memh);

/**
 * The bind-tx binding of a dmabuf registration on a device (ifindex), for the
 * SCM_DEVMEM_DMABUF cmsg of a devmem send (uct_tcp_zc_devmem_tx_cmsg()):
 * bound at the first call per (registration, device), kept until the
 * registration's last reference goes (deregistration, or later the end of
 * the last access which holds a reference: call this only while holding one
 * from uct_tcp_zc_md_access_get(), or the registration itself). A refusal is
 * kept too, so a device without netmem TX is asked once per registration:
 * UCS_ERR_UNSUPPORTED (stage the bytes through host memory instead);
 * UCS_ERR_INVALID_PARAM for a registration which is not a dmabuf.
 * Thread safe.
 */
ucs_status_t uct_tcp_zc_md_memh_bind_tx(uct_tcp_zc_md_t *md,
                                        uct_tcp_zc_memh_t *memh, int ifindex,
                                        uint32_t *binding_id_p);

/**
 * Whether UCX_TCP_ZC_DMABUF=auto would turn dmabuf registration on: every
 * network device tcp_zc serves (those active for a family of af_prio) passes
 * the devmem send checks of the capability report. On failure *reason (of
 * size max) names the first device which does not and why.
 */
int uct_tcp_zc_md_dmabuf_auto(const sa_family_t *af_prio, unsigned af_count,
                              char *reason, size_t max);

#endif
