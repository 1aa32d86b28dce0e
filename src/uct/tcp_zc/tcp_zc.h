/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_H
#define UCT_TCP_ZC_H

#include "tcp_zc_compat.h"

#include <uct/tcp/tcp_base.h>
#include <net/if.h>


#define UCT_TCP_ZC_NAME          "tcp_zc"
#define UCT_TCP_ZC_CONFIG_PREFIX "TCP_ZC_"
#define UCT_TCP_ZC_AF_PRIO_MAX   2


/* Device address flags */
enum {
    /* The address is a loopback one: it carries a network namespace id
     * instead of an IP address */
    UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK = UCS_BIT(0)
};


/**
 * Device address: address family and IP address of the network interface
 * (or, for loopback, the network namespace), packed with the length which the
 * family needs.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_device_addr {
    uint8_t  flags;
    uint8_t  sa_family;
    /* followed by struct in_addr, struct in6_addr or ucs_sys_ns_t */
} uct_tcp_zc_device_addr_t;


/**
 * Interface address: the port of the interface listener.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_iface_addr {
    uint16_t port; /* network byte order */
} uct_tcp_zc_iface_addr_t;


/**
 * Memory handle of a registered host memory region.
 */
typedef struct uct_tcp_zc_memh {
    void     *address;
    size_t   length;
    uint64_t key;     /* identifies the registration to remote peers */
} uct_tcp_zc_memh_t;


/**
 * Packed remote key: what a peer needs to address a registered region and
 * what the target needs to check such an access.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_packed_rkey {
    uint64_t address;
    uint64_t length;
    uint64_t key;
} uct_tcp_zc_packed_rkey_t;


/**
 * Unpacked remote key.
 */
typedef struct uct_tcp_zc_rkey {
    uint64_t address;
    uint64_t length;
    uint64_t key;
} uct_tcp_zc_rkey_t;


typedef struct uct_tcp_zc_md_config {
    uct_md_config_t                         super;
    UCS_CONFIG_STRING_ARRAY_FIELD(af)       af_prio;
} uct_tcp_zc_md_config_t;


typedef struct uct_tcp_zc_md {
    uct_md_t            super;
    struct {
        sa_family_t     af_prio_list[UCT_TCP_ZC_AF_PRIO_MAX];
        unsigned        af_prio_count;
    } config;
    uint64_t            next_key;  /* key of the next registration */
} uct_tcp_zc_md_t;


typedef struct uct_tcp_zc_iface_config {
    uct_iface_config_t             super;
    uct_tcp_send_recv_buf_config_t sockopt;
    unsigned long                  listen_backlog;
    size_t                         zcopy_thresh;
} uct_tcp_zc_iface_config_t;


typedef struct uct_tcp_zc_iface {
    uct_base_iface_t            super;
    char                        if_name[IFNAMSIZ];
    struct sockaddr_storage     if_addr;   /* interface address */
    int                         is_loopback;
    int                         listen_fd;
    uint16_t                    listen_port; /* host byte order */
    struct {
        uct_tcp_send_recv_buf_config_t sockopt;
        size_t                         zcopy_thresh;
    } config;
} uct_tcp_zc_iface_t;


extern uct_component_t uct_tcp_zc_component;

#endif
