/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_COMPAT_H
#define UCT_TCP_ZC_COMPAT_H

/*
 * The only place which knows that UCX versions differ. tcp_zc supports
 * UCX 1.13.x (Debian 12) and UCX >= 1.22 (master). Everything below maps the
 * few internal UCT interfaces which changed between them to one shape.
 */

#include <uct/api/version.h>
#include <uct/api/v2/uct_v2.h>
#include <uct/base/uct_md.h>
#include <uct/base/uct_iface.h>
#include <uct/base/uct_component.h>
#include <ucs/arch/cpu.h>
#include <ucs/datastruct/mpool.h>
#include <ucs/sys/sock.h>
#include <ucs/sys/stubs.h>
#include <net/if.h>

#if UCT_API >= UCT_VERSION(1, 22)
#  define UCT_TCP_ZC_API_V2 1
#elif (UCT_API >= UCT_VERSION(1, 13)) && (UCT_API < UCT_VERSION(1, 14))
#  define UCT_TCP_ZC_API_V2 0
#else
#  error "tcp_zc supports UCX 1.13.x and UCX >= 1.22"
#endif


#if UCT_TCP_ZC_API_V2

#include <ucs/sys/netlink.h>
#include <ucs/sys/ptr_arith.h>
#include <ucs/sys/string.h>
#include <ucs/sys/topo/base/topo.h>
#include <ucs/debug/memtrack_int.h>

/* Memory domain attributes: flat v2 structure */
typedef uct_md_attr_v2_t uct_tcp_zc_md_attr_t;
#define UCT_TCP_ZC_MD_CAP(_attr, _field) ((_attr)->_field)

static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_md_attr_init(uct_tcp_zc_md_attr_t *attr)
{
    uct_md_base_md_query(attr);
}

/* Memory types whose registrations UCP may keep in its registration cache */
static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_md_attr_set_cache_mem_types(uct_tcp_zc_md_attr_t *attr,
                                       uint64_t mem_types)
{
    attr->cache_mem_types = mem_types;
}

/* mem_reg: parameters structure, may carry a dmabuf */
typedef const uct_md_mem_reg_params_t *uct_tcp_zc_mem_reg_params_t;
#define UCT_TCP_ZC_MEM_REG_FLAGS(_params) \
    UCT_MD_MEM_REG_FIELD_VALUE(_params, flags, FIELD_FLAGS, 0)
#define UCT_TCP_ZC_MEM_REG_DMABUF_FD(_params) \
    UCT_MD_MEM_REG_FIELD_VALUE(_params, dmabuf_fd, FIELD_DMABUF_FD, \
                               UCT_DMABUF_FD_INVALID)
#define UCT_TCP_ZC_MEM_REG_DMABUF_OFFSET(_params) \
    UCT_MD_MEM_REG_FIELD_VALUE(_params, dmabuf_offset, \
                               FIELD_DMABUF_OFFSET, 0)

/* mkey_pack: address and length of the region are passed in */
#define UCT_TCP_ZC_MKEY_PACK_REGION_ARGS void *address, size_t length,

/* rkey_unpack: unpack parameters */
#define UCT_TCP_ZC_RKEY_UNPACK_PARAMS_ARG const uct_rkey_unpack_params_t *params,

/* md operations which exist only in the newer API */
#define UCT_TCP_ZC_MD_OPS_EXTRA \
    .mem_attach       = (uct_md_mem_attach_func_t) \
            ucs_empty_function_return_unsupported, \
    .mem_elem_pack    = (uct_md_mem_elem_pack_func_t) \
            ucs_empty_function_return_unsupported, \
    .mem_elem_release = (uct_md_mem_elem_release_func_t)ucs_empty_function,

/* component fields which exist only in the newer API */
#define UCT_TCP_ZC_COMPONENT_EXTRA .rkey_compare = uct_base_rkey_compare,

/*
 * Reachability: the transport implements the v2 function; UCP calls it from
 * the internal ops, the public op is the base one.
 */
#define UCT_TCP_ZC_IFACE_REACHABLE_V1_DEFINE(_reachable_v2)
#define UCT_TCP_ZC_IFACE_OPS_REACHABLE(_reachable_v2) \
    .iface_is_reachable = uct_base_iface_is_reachable,
#define uct_tcp_zc_iface_scope_is_reachable uct_iface_scope_is_reachable

/* Whether reachability is asked over the network, not on the same device */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_iface_scope_is_network(const uct_iface_is_reachable_params_t *params)
{
    return UCS_PARAM_VALUE(UCT_IFACE_IS_REACHABLE_FIELD, params, scope, SCOPE,
                           UCT_IFACE_REACHABILITY_SCOPE_NETWORK) ==
           UCT_IFACE_REACHABILITY_SCOPE_NETWORK;
}

/* Whether a network interface has the best route to a peer address: the
 * route check of UCX's tcp */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_iface_route_is_best(const char *if_name,
                               const struct sockaddr *peer_addr)
{
    unsigned if_index = if_nametoindex(if_name);

    return (if_index != 0) && ucs_netlink_is_best_route(if_index, peer_addr);
}
/* connect_to_ep is an internal v2 operation; the public one calls it */
ucs_status_t uct_tcp_zc_ep_connect_to_ep(uct_ep_h tl_ep,
                                         const uct_device_addr_t *dev_addr,
                                         const uct_ep_addr_t *ep_addr);

static UCS_F_MAYBE_UNUSED ucs_status_t
uct_tcp_zc_ep_connect_to_ep_v2(uct_ep_h tl_ep,
                               const uct_device_addr_t *dev_addr,
                               const uct_ep_addr_t *ep_addr,
                               const uct_ep_connect_to_ep_params_t *params)
{
    return uct_tcp_zc_ep_connect_to_ep(tl_ep, dev_addr, ep_addr);
}
#define UCT_TCP_ZC_EP_CONNECT_TO_EP uct_base_ep_connect_to_ep

/* The endpoint address which ep_is_connected names, if any */
#define UCT_TCP_ZC_EP_IS_CONNECTED_EP_ADDR(_params) \
    (((_params)->field_mask & UCT_EP_IS_CONNECTED_FIELD_EP_ADDR) ? \
     (_params)->ep_addr : NULL)

#define UCT_TCP_ZC_IFACE_INTERNAL_OPS_EXTRA(_reachable_v2, _is_connected) \
    .iface_query_v2        = uct_iface_base_query_v2, \
    .ep_connect_to_ep_v2   = uct_tcp_zc_ep_connect_to_ep_v2, \
    .iface_is_reachable_v2 = _reachable_v2, \
    .ep_is_connected       = _is_connected, \
    .ep_get_device_ep      = (uct_ep_get_device_ep_func_t) \
            ucs_empty_function_return_unsupported, \
    .ep_put_sgl_zcopy      = (uct_ep_put_sgl_zcopy_func_t) \
            ucs_empty_function_return_unsupported, \
    .ep_get_sgl_zcopy      = (uct_ep_get_sgl_zcopy_func_t) \
            ucs_empty_function_return_unsupported, \
    .ep_outstanding_purge  = (uct_ep_outstanding_purge_func_t) \
            ucs_empty_function_return_unsupported,

/* iface flag which tells UCP the transport crosses hosts */
#define UCT_TCP_ZC_IFACE_FLAG_INTER_NODE UCT_IFACE_FLAG_INTER_NODE

/* The system device of a network interface (its PCI function, below a
 * VLAN or bond), as UCX's tcp finds it, so that UCP knows its distance to
 * memory and to other devices */
static UCS_F_MAYBE_UNUSED ucs_sys_device_t
uct_tcp_zc_netif_sys_device(const char *if_name)
{
    const unsigned name_priority = 10;
    ucs_sys_device_t sys_dev     = UCS_SYS_DEVICE_ID_UNKNOWN;
    const char *sysfs_path;
    char *lowest_path, *path_buffer;

    if (ucs_string_alloc_path_buffer(&lowest_path, "lowest_path") !=
        UCS_OK) {
        return sys_dev;
    }

    if ((ucs_string_alloc_path_buffer(&path_buffer, "path_buffer") ==
         UCS_OK)) {
        if (ucs_netif_get_lowest_device_path(if_name, lowest_path,
                                             PATH_MAX) == UCS_OK) {
            sysfs_path = ucs_topo_resolve_sysfs_path(lowest_path,
                                                     path_buffer);
            sys_dev    = ucs_topo_get_sysfs_dev(if_name, sysfs_path,
                                                name_priority);
            if (sys_dev != UCS_SYS_DEVICE_ID_UNKNOWN) {
                ucs_topo_sys_device_set_class(sys_dev,
                                              UCS_TOPO_DEVICE_CLASS_NET);
            }
        }
        ucs_free(path_buffer);
    }

    ucs_free(lowest_path);
    return sys_dev;
}

/* A memory pool of heap chunks */
static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_mpool_init(ucs_mpool_t *mp, size_t elem_size,
                      unsigned elems_per_chunk, ucs_mpool_ops_t *ops,
                      const char *name)
{
    ucs_mpool_params_t params;

    ucs_mpool_params_reset(&params);
    params.elem_size       = elem_size;
    params.alignment       = UCS_SYS_CACHE_LINE_SIZE;
    params.elems_per_chunk = elems_per_chunk;
    params.ops             = ops;
    params.name            = name;
    return ucs_mpool_init(&params, mp);
}

typedef uct_ep_is_connected_params_t uct_tcp_zc_ep_is_connected_params_t;

/* dmabuf registration (UCT_MD_FLAG_REG_DMABUF, UCX 1.14) */
#define UCT_TCP_ZC_HAVE_DMABUF 1
#define UCT_TCP_ZC_MD_FLAG_REG_DMABUF UCT_MD_FLAG_REG_DMABUF
#define UCT_TCP_ZC_MEM_REG_MEM_TYPE(_params) \
    UCT_MD_MEM_REG_FIELD_VALUE(_params, mem_type, FIELD_MEM_TYPE, \
                               UCS_MEMORY_TYPE_HOST)

/* Invalidation: of RMA accesses (tcp_zc has no atomics); a region can be
 * invalidated only if its key was packed with the flag, as UCX's generic
 * test of deregistration expects */
#define UCT_TCP_ZC_MD_FLAG_INVALIDATE        UCT_MD_FLAG_INVALIDATE_RMA
#define UCT_TCP_ZC_MKEY_PACK_FLAG_INVALIDATE UCT_MD_MKEY_PACK_FLAG_INVALIDATE_RMA
#define UCT_TCP_ZC_INVALIDATE_NEEDS_PACK     1

static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_socket_create(int domain, int type, int *fd_p)
{
    return ucs_socket_create(domain, type, 0, fd_p);
}

#else /* UCT_TCP_ZC_API_V2 */

typedef uct_md_attr_t uct_tcp_zc_md_attr_t;
#define UCT_TCP_ZC_MD_CAP(_attr, _field) ((_attr)->cap._field)

static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_md_attr_init(uct_tcp_zc_md_attr_t *attr)
{
    memset(attr, 0, sizeof(*attr));
    attr->cap.max_reg = ULONG_MAX;
    attr->reg_cost    = ucs_linear_func_make(0, 0);
    memset(&attr->local_cpus, 0xff, sizeof(attr->local_cpus));
}

/* 1.13: UCP caches registrations of every md */
static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_md_attr_set_cache_mem_types(uct_tcp_zc_md_attr_t *attr,
                                       uint64_t mem_types)
{
}

typedef unsigned uct_tcp_zc_mem_reg_params_t;
#define UCT_DMABUF_FD_INVALID                     (-1)
#define UCT_TCP_ZC_MEM_REG_FLAGS(_params)         (_params)
#define UCT_TCP_ZC_MEM_REG_DMABUF_FD(_params)     UCT_DMABUF_FD_INVALID
#define UCT_TCP_ZC_MEM_REG_DMABUF_OFFSET(_params) 0

#define UCT_TCP_ZC_MKEY_PACK_REGION_ARGS
#define UCT_TCP_ZC_RKEY_UNPACK_PARAMS_ARG

#define UCT_TCP_ZC_MD_OPS_EXTRA \
    .is_sockaddr_accessible = (uct_md_is_sockaddr_accessible_func_t) \
            ucs_empty_function_return_zero_int,

#define UCT_TCP_ZC_COMPONENT_EXTRA

/*
 * 1.13 has the v2 reachability parameters structure but calls the v1 op:
 * the v1 op builds the parameters and calls the v2-shaped implementation.
 */
#define UCT_TCP_ZC_IFACE_REACHABLE_V1_DEFINE(_reachable_v2) \
    static int _reachable_v2##_v1(const uct_iface_h tl_iface, \
                                  const uct_device_addr_t *dev_addr, \
                                  const uct_iface_addr_t *iface_addr) \
    { \
        uct_iface_is_reachable_params_t params = { \
            .field_mask  = UCT_IFACE_IS_REACHABLE_FIELD_DEVICE_ADDR | \
                           UCT_IFACE_IS_REACHABLE_FIELD_IFACE_ADDR, \
            .device_addr = dev_addr, \
            .iface_addr  = iface_addr \
        }; \
        \
        return _reachable_v2(tl_iface, &params); \
    }
#define UCT_TCP_ZC_IFACE_OPS_REACHABLE(_reachable_v2) \
    .iface_is_reachable = _reachable_v2##_v1,

static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_iface_scope_is_reachable(const uct_iface_h iface,
                                    const uct_iface_is_reachable_params_t *params)
{
    return 1;
}

/* 1.13 has no reachability scope */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_iface_scope_is_network(const uct_iface_is_reachable_params_t *params)
{
    return 1;
}

/* UCX 1.13's tcp makes no route check, and its ucs has no route lookup: a
 * peer address without a route fails at connect */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_iface_route_is_best(const char *if_name,
                               const struct sockaddr *peer_addr)
{
    return 1;
}
#define UCT_TCP_ZC_IFACE_INTERNAL_OPS_EXTRA(_reachable_v2, _is_connected)

/* connect_to_ep is an iface operation */
ucs_status_t uct_tcp_zc_ep_connect_to_ep(uct_ep_h tl_ep,
                                         const uct_device_addr_t *dev_addr,
                                         const uct_ep_addr_t *ep_addr);
#define UCT_TCP_ZC_EP_CONNECT_TO_EP \
    (uct_ep_connect_to_ep_func_t)uct_tcp_zc_ep_connect_to_ep

/* 1.13 has no ep_is_connected, so none names an endpoint address */
#define UCT_TCP_ZC_EP_IS_CONNECTED_EP_ADDR(_params) \
    ((const uct_ep_addr_t*)NULL)

/* 1.13 has no ep_is_connected: the same shape of parameters */
typedef struct {
    uint64_t                field_mask;
    const uct_device_addr_t *device_addr;
    const uct_iface_addr_t  *iface_addr;
} uct_tcp_zc_ep_is_connected_params_t;

enum {
    UCT_EP_IS_CONNECTED_FIELD_DEVICE_ADDR = UCS_BIT(0),
    UCT_EP_IS_CONNECTED_FIELD_IFACE_ADDR  = UCS_BIT(1)
};

#define UCT_TCP_ZC_IFACE_FLAG_INTER_NODE 0

/* A memory pool of heap chunks */
static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_mpool_init(ucs_mpool_t *mp, size_t elem_size,
                      unsigned elems_per_chunk, ucs_mpool_ops_t *ops,
                      const char *name)
{
    return ucs_mpool_init(mp, 0, elem_size, 0, UCS_SYS_CACHE_LINE_SIZE,
                          elems_per_chunk, UINT_MAX, ops, name);
}

/* UCX 1.13 finds no system device of a network interface (its tcp reports
 * none either) */
static UCS_F_ALWAYS_INLINE ucs_sys_device_t
uct_tcp_zc_netif_sys_device(const char *if_name)
{
    return UCS_SYS_DEVICE_ID_UNKNOWN;
}

/* 1.13 has no dmabuf in UCT: UCP stages device memory through host memory */
#define UCT_TCP_ZC_HAVE_DMABUF 0
#define UCT_TCP_ZC_MD_FLAG_REG_DMABUF 0
#define UCT_TCP_ZC_MEM_REG_MEM_TYPE(_params) UCS_MEMORY_TYPE_HOST

/* Invalidation: one flag for all remote accesses */
#define UCT_TCP_ZC_MD_FLAG_INVALIDATE        UCT_MD_FLAG_INVALIDATE
#define UCT_TCP_ZC_MKEY_PACK_FLAG_INVALIDATE UCT_MD_MKEY_PACK_FLAG_INVALIDATE
#define UCT_TCP_ZC_INVALIDATE_NEEDS_PACK     0

static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_socket_create(int domain, int type, int *fd_p)
{
    return ucs_socket_create(domain, type, fd_p);
}

#endif /* UCT_TCP_ZC_API_V2 */

#endif
