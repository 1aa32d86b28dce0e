/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc.h"
#include "tcp_zc_dc.h"

#include <uct/tcp/tcp.h>
#include <ucs/async/async.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>
#include <ucs/sys/uid.h>
#include <netinet/tcp.h>
#include <dirent.h>


/* Kernel limits of the keepalive socket options (MAX_TCP_KEEPIDLE,
 * MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT in include/net/tcp.h) */
#define UCT_TCP_ZC_KEEPALIVE_TIME_MAX 32767 /* seconds */
#define UCT_TCP_ZC_KEEPALIVE_CNT_MAX  127


static const char *uct_tcp_zc_engine_names[] = {
    [UCT_TCP_ZC_ENGINE_AUTO]     = "auto",
    [UCT_TCP_ZC_ENGINE_ERRQUEUE] = "errqueue",
    [UCT_TCP_ZC_ENGINE_URING]    = "uring",
    [UCT_TCP_ZC_ENGINE_NONE]     = "none",
    [UCT_TCP_ZC_ENGINE_LAST]     = NULL
};


#ifdef ENABLE_STATS
static ucs_stats_class_t uct_tcp_zc_iface_stats_class = {
    .name          = "tcp_zc_iface",
    .num_counters  = UCT_TCP_ZC_IFACE_STAT_LAST,
    .class_id      = UCS_STATS_CLASS_ID_INVALID,
    .counter_names = {
        [UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS]     = "zcopy_sends",
        [UCT_TCP_ZC_IFACE_STAT_ZCOPY_BYTES]     = "zcopy_bytes",
        [UCT_TCP_ZC_IFACE_STAT_COPIED_BYTES]    = "copied_bytes",
        [UCT_TCP_ZC_IFACE_STAT_FALLBACK_NOBUFS] = "fallback_nobufs",
        [UCT_TCP_ZC_IFACE_STAT_FALLBACK_BUSY]   = "fallback_busy",
        [UCT_TCP_ZC_IFACE_STAT_FALLBACK_COPIED] = "fallback_copied",
        [UCT_TCP_ZC_IFACE_STAT_FALLBACK_UNSUPP] = "fallback_unsupported",
        [UCT_TCP_ZC_IFACE_STAT_REPROBE]         = "reprobe",
        [UCT_TCP_ZC_IFACE_STAT_DC_TX_BYTES]     = "data_conn_tx_bytes",
        [UCT_TCP_ZC_IFACE_STAT_DC_RX_BYTES]     = "data_conn_rx_bytes",
        [UCT_TCP_ZC_IFACE_STAT_DEVMEM_RX_BYTES] = "devmem_rx_bytes",
        [UCT_TCP_ZC_IFACE_STAT_DEVMEM_FRAGS]    = "devmem_frags",
        [UCT_TCP_ZC_IFACE_STAT_DEVMEM_TOKENS]   = "devmem_tokens",
        [UCT_TCP_ZC_IFACE_STAT_DEVMEM_TX_BYTES] = "devmem_tx_bytes",
        [UCT_TCP_ZC_IFACE_STAT_DEVMEM_STAGED_BYTES] = "devmem_staged_bytes"
    }
};
#endif


static ucs_config_field_t uct_tcp_zc_iface_config_table[] = {
    {"", "MAX_NUM_EPS=256", NULL,
     ucs_offsetof(uct_tcp_zc_iface_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_iface_config_table)},

    UCT_TCP_SEND_RECV_BUF_FIELDS(ucs_offsetof(uct_tcp_zc_iface_config_t,
                                              sockopt)),

    {"LISTEN_BACKLOG", "auto",
     "Backlog of the interface listening socket. auto means the system\n"
     "maximum (net.core.somaxconn).",
     ucs_offsetof(uct_tcp_zc_iface_config_t, listen_backlog),
     UCS_CONFIG_TYPE_ULUNITS},

    {"SEG_SIZE", "64k",
     "Largest active message: the receive segment, and the largest AM zcopy\n"
     "(user header and payload).",
     ucs_offsetof(uct_tcp_zc_iface_config_t, seg_size),
     UCS_CONFIG_TYPE_MEMUNITS},

    {"TX_SEG_SIZE", "8k",
     "Largest short and bcopy active message payload; at most SEG_SIZE. UCP\n"
     "limits the user header of its active messages by it, and packs that\n"
     "header into a buffer of UCX_SEG_SIZE (8k by default): keep it no\n"
     "larger than UCX_SEG_SIZE. PUT and GET bcopy go up to SEG_SIZE.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, tx_seg_size),
     UCS_CONFIG_TYPE_MEMUNITS},

    {"MAX_RMA_OUTSTANDING", "256",
     "Most PUT and GET operations per connection which wait for the peer's\n"
     "answer. Beyond it they return UCS_ERR_NO_RESOURCE until answers arrive:\n"
     "this bounds the memory held by GET buffers, and lets UCP queue its\n"
     "requests instead of writing them all to the socket. At most 1024: a\n"
     "target closes the connection of a peer with more.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, max_rma_outstanding),
     UCS_CONFIG_TYPE_UINT},

    {"DEVMEM", "auto",
     "Device memory TCP (devmem): NIC queues bound to a dmabuf, so payload\n"
     "moves between the NIC and device memory. y: required, a device which\n"
     "lacks a requirement fails the iface open and the error says which;\n"
     "auto: used where every requirement is met (UCX_LOG_LEVEL=debug tells\n"
     "which are missing); n: off. ucx_tcp_zc_caps reports the requirements.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, devmem),
     UCS_CONFIG_TYPE_TERNARY_AUTO},

    {"DEVMEM_SETUP", "n",
     "Let the iface set up its NIC for devmem where that is what is missing:\n"
     "header split on, hds-thresh 0, an ntuple rule from the iface's port to\n"
     "the last RX queue, the default RSS context without that queue. Exactly\n"
     "these changes are undone when the iface closes, or at once if a step\n"
     "fails. Needs CAP_NET_ADMIN.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, devmem_setup),
     UCS_CONFIG_TYPE_BOOL},

    {"DEVMEM_QUEUES", "auto",
     "RX queues which devmem receive binds its pool to: 'N' or 'N-M' (queue\n"
     "0 stays for the rest of the traffic), or auto: the last queue less the\n"
     "local rank of the process where an MPI launcher gives one, so that the\n"
     "ranks of a host take a queue each. The device's RSS table must leave\n"
     "them out (ucx_tcp_zc_caps --setup does that once for all).",
     ucs_offsetof(uct_tcp_zc_iface_config_t, devmem_queues),
     UCS_CONFIG_TYPE_STRING},

    {"DEVMEM_POOL_SIZE", "32m",
     "Bytes of the devmem RX pool, which the NIC fills with received payload\n"
     "until this side copied it out and gave the fragments back.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, devmem_pool_size),
     UCS_CONFIG_TYPE_MEMUNITS},

    {"DATA_CONN", "auto",
     "Payload-only data connections for PUT data from or to device memory\n"
     "(dmabuf registrations), beside each connection: a peer which sends such\n"
     "data opens one to this iface's data port. auto: where devmem receive is\n"
     "on, which steers the data port into the RX pool; y: also without\n"
     "devmem, and PUT data of host memory of at least 4 KiB go there too, so\n"
     "that bulk data never delay the messages of the connection; n: never.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, data_conn),
     UCS_CONFIG_TYPE_TERNARY_AUTO},

    {"NODELAY", "y",
     "Set TCP_NODELAY on data sockets: send small messages at once.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, nodelay), UCS_CONFIG_TYPE_BOOL},

    {"DELAY_ACK", "n",
     "Delay the TCP acknowledgments of received messages (TCP_QUICKACK off\n"
     "again after each read, one more system call per read). Requests and\n"
     "answers of both sides share one connection, so acknowledgments ride on\n"
     "the data of the other direction anyway. Off by default: the kernel\n"
     "completes a zero-copy send when the peer acknowledges its data, so\n"
     "delayed acknowledgments hold the sender's completions back.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, delay_ack), UCS_CONFIG_TYPE_BOOL},

    {"ZCOPY_THRESH", "16k",
     "Payloads of at least this size are sent from the user buffer with\n"
     "kernel zero-copy; smaller ones are copied, since a zero-copy\n"
     "completion notification costs more than copying them.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, zcopy_thresh),
     UCS_CONFIG_TYPE_MEMUNITS},

    {"ZCOPY", "auto",
     "Kernel zero-copy sends:\n"
     " n    - never: the kernel copies all data.\n"
     " y    - always, even where the kernel reports that it copied the data\n"
     "        anyway (a peer on this host, a device without scatter-gather).\n"
     " auto - a connection switches to copying sends when the kernel reports\n"
     "        copies, and tries zero-copy again after ZCOPY_REPROBE.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, zcopy),
     UCS_CONFIG_TYPE_TERNARY_AUTO},

    {"TX_ENGINE", "auto",
     "Zero-copy send engine:\n"
     " errqueue - sendmsg(MSG_ZEROCOPY), completions from the socket error\n"
     "            queue.\n"
     " uring    - io_uring SENDMSG_ZC requests and their notifications.\n"
     " auto     - errqueue if the kernel supports it, else uring.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, tx_engine),
     UCS_CONFIG_TYPE_ENUM(uct_tcp_zc_engine_names)},

    {"ZCOPY_REPROBE", "1s",
     "How long a connection which switched to copying sends (ZCOPY=auto)\n"
     "waits before it tries zero-copy again. Each try which finds copies\n"
     "again doubles the wait, up to 64 times this value.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, zcopy_reprobe),
     UCS_CONFIG_TYPE_TIME},

    {"URING_ENTRIES", "256",
     "Submission queue entries of the io_uring of the uring engine.",
     ucs_offsetof(uct_tcp_zc_iface_config_t, uring_entries),
     UCS_CONFIG_TYPE_UINT},

    {"KEEPIDLE", "10s",
     "How long a connection stays idle before TCP sends keepalive probes\n"
     "(TCP_KEEPIDLE, whole seconds, 1s .. 32767s). With KEEPINTVL and\n"
     "KEEPCNT it bounds how long a connection to a host which died goes\n"
     "unnoticed when nothing is sent. inf: no keepalive; auto: the system\n"
     "default (net.ipv4.tcp_keepalive_time).",
     ucs_offsetof(uct_tcp_zc_iface_config_t, keepidle),
     UCS_CONFIG_TYPE_TIME_UNITS},

    {"KEEPCNT", "auto",
     "Unanswered keepalive probes after which TCP drops the connection\n"
     "(TCP_KEEPCNT, 1 .. 127). inf: no keepalive; auto: the system default\n"
     "(net.ipv4.tcp_keepalive_probes).",
     ucs_offsetof(uct_tcp_zc_iface_config_t, keepcnt),
     UCS_CONFIG_TYPE_ULUNITS},

    {"KEEPINTVL", "2s",
     "Time between keepalive probes (TCP_KEEPINTVL, whole seconds,\n"
     "1s .. 32767s). inf: no keepalive; auto: the system default\n"
     "(net.ipv4.tcp_keepalive_intvl).",
     ucs_offsetof(uct_tcp_zc_iface_config_t, keepintvl),
     UCS_CONFIG_TYPE_TIME_UNITS},

    {"USER_TIMEOUT", "auto",
     "Longest time which sent data may stay unacknowledged, and keepalive\n"
     "probes unanswered, before TCP drops the connection (TCP_USER_TIMEOUT,\n"
     "1ms .. 2147483647ms): detects a host which died while data is in\n"
     "flight, which keepalive does not probe. auto: the system default\n"
     "(retransmissions for about 15 minutes, net.ipv4.tcp_retries2).",
     ucs_offsetof(uct_tcp_zc_iface_config_t, user_timeout),
     UCS_CONFIG_TYPE_TIME_UNITS},

    {NULL}
};


/* Length of the IP address (or host and namespace) which follows a device
 * address header */
static size_t uct_tcp_zc_device_addr_payload_length(uint8_t flags,
                                                    sa_family_t sa_family)
{
    if (flags & UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK) {
        return sizeof(uct_tcp_zc_device_addr_lo_t);
    }

    return (sa_family == AF_INET6) ? sizeof(struct in6_addr) :
                                     sizeof(struct in_addr);
}

static size_t uct_tcp_zc_iface_device_addr_length(uct_tcp_zc_iface_t *iface)
{
    return sizeof(uct_tcp_zc_device_addr_t) +
           uct_tcp_zc_device_addr_payload_length(
                   iface->is_loopback ? UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK :
                                        0,
                   iface->if_addr.ss_family);
}

/* This host and network namespace, as a loopback device address names them */
static void uct_tcp_zc_iface_local_host(uct_tcp_zc_device_addr_lo_t *lo)
{
    lo->sys_id = ucs_get_system_id();
    lo->net_ns = ucs_sys_get_ns(UCS_SYS_NS_TYPE_NET);
}

static ucs_status_t
uct_tcp_zc_iface_get_device_address(uct_iface_h tl_iface,
                                    uct_device_addr_t *addr)
{
    uct_tcp_zc_iface_t *iface = ucs_derived_of(tl_iface, uct_tcp_zc_iface_t);
    uct_tcp_zc_device_addr_t *dev_addr = (uct_tcp_zc_device_addr_t*)addr;
    uct_tcp_zc_device_addr_lo_t lo;

    dev_addr->flags     = 0;
    dev_addr->sa_family = iface->if_addr.ss_family;

    if (iface->is_loopback) {
        dev_addr->flags |= UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK;
        uct_tcp_zc_iface_local_host(&lo);
        memcpy(dev_addr + 1, &lo, sizeof(lo));
        return UCS_OK;
    }

    memcpy(dev_addr + 1,
           ucs_sockaddr_get_inet_addr((struct sockaddr*)&iface->if_addr),
           uct_tcp_zc_device_addr_payload_length(0, dev_addr->sa_family));
    return UCS_OK;
}

static ucs_status_t uct_tcp_zc_iface_get_address(uct_iface_h tl_iface,
                                                 uct_iface_addr_t *addr)
{
    uct_tcp_zc_iface_t *iface          = ucs_derived_of(tl_iface,
                                                        uct_tcp_zc_iface_t);
    uct_tcp_zc_iface_addr_t *iface_addr = (uct_tcp_zc_iface_addr_t*)addr;

    iface_addr->port = htons(iface->listen_port);
    return UCS_OK;
}

/* Not reachable: tell why, if the caller asked */
static int
uct_tcp_zc_iface_unreachable(const uct_iface_is_reachable_params_t *params,
                             const char *reason)
{
    if (ucs_test_all_flags(params->field_mask,
                           UCT_IFACE_IS_REACHABLE_FIELD_INFO_STRING |
                           UCT_IFACE_IS_REACHABLE_FIELD_INFO_STRING_LENGTH) &&
        (params->info_string != NULL) && (params->info_string_length > 0)) {
        ucs_strncpy_zero(params->info_string, reason,
                         params->info_string_length);
    }

    return 0;
}

static int
uct_tcp_zc_iface_is_reachable_v2(const uct_iface_h tl_iface,
                                 const uct_iface_is_reachable_params_t *params)
{
    uct_tcp_zc_iface_t *iface = ucs_derived_of(tl_iface, uct_tcp_zc_iface_t);
    const uct_tcp_zc_device_addr_t *dev_addr;
    uct_tcp_zc_device_addr_lo_t peer_lo, local_lo;
    struct sockaddr_storage peer_addr;
    int is_loopback;

    if (!(params->field_mask & UCT_IFACE_IS_REACHABLE_FIELD_DEVICE_ADDR) ||
        (params->device_addr == NULL)) {
        return uct_tcp_zc_iface_unreachable(params, "no device address");
    }

    dev_addr    = (const uct_tcp_zc_device_addr_t*)params->device_addr;
    is_loopback = !!(dev_addr->flags & UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK);
    if (dev_addr->flags & ~UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK) {
        return uct_tcp_zc_iface_unreachable(params, "unknown address flags");
    }

    if (dev_addr->sa_family != iface->if_addr.ss_family) {
        return uct_tcp_zc_iface_unreachable(params,
                                            "different address family");
    }

    if (is_loopback != iface->is_loopback) {
        return uct_tcp_zc_iface_unreachable(params, "loopback and network "
                                                    "addresses do not mix");
    }

    if (is_loopback) {
        /* loopback reaches only the same host and network namespace */
        memcpy(&peer_lo, dev_addr + 1, sizeof(peer_lo));
        uct_tcp_zc_iface_local_host(&local_lo);
        if (peer_lo.sys_id != local_lo.sys_id) {
            return uct_tcp_zc_iface_unreachable(params, "other host");
        }

        if (peer_lo.net_ns != local_lo.net_ns) {
            return uct_tcp_zc_iface_unreachable(params,
                                                "other network namespace");
        }
    } else if (uct_tcp_zc_iface_scope_is_network(params)) {
        /* as UCX's tcp: this interface must have the best route to the
         * peer's address */
        memset(&peer_addr, 0, sizeof(peer_addr));
        peer_addr.ss_family = dev_addr->sa_family;
        memcpy((void*)ucs_sockaddr_get_inet_addr((struct sockaddr*)&peer_addr),
               dev_addr + 1,
               uct_tcp_zc_device_addr_payload_length(0, dev_addr->sa_family));
        if (!uct_tcp_zc_iface_route_is_best(iface->if_name,
                                            (struct sockaddr*)&peer_addr)) {
            return uct_tcp_zc_iface_unreachable(params, "no best route to "
                                                        "the peer address");
        }
    }

    return uct_tcp_zc_iface_scope_is_reachable(tl_iface, params);
}

UCT_TCP_ZC_IFACE_REACHABLE_V1_DEFINE(uct_tcp_zc_iface_is_reachable_v2)

ucs_status_t
uct_tcp_zc_iface_peer_sockaddr(const uct_tcp_zc_iface_t *iface,
                               const uct_device_addr_t *dev_addr,
                               const uct_iface_addr_t *iface_addr,
                               struct sockaddr_storage *addr)
{
    const uct_tcp_zc_device_addr_t *peer_dev =
            (const uct_tcp_zc_device_addr_t*)dev_addr;
    const uct_tcp_zc_iface_addr_t *peer_iface =
            (const uct_tcp_zc_iface_addr_t*)iface_addr;
    size_t inet_addr_len;

    memset(addr, 0, sizeof(*addr));
    if (peer_dev->flags & UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK) {
        /* the peer is in this network namespace: use our loopback address */
        *addr = iface->if_addr;
    } else if ((peer_dev->sa_family == AF_INET) ||
               (peer_dev->sa_family == AF_INET6)) {
        addr->ss_family = peer_dev->sa_family;
        inet_addr_len   = uct_tcp_zc_device_addr_payload_length(
                0, peer_dev->sa_family);
        memcpy((void*)ucs_sockaddr_get_inet_addr((struct sockaddr*)addr),
               peer_dev + 1, inet_addr_len);
    } else {
        ucs_error("tcp_zc: invalid device address family %d",
                  peer_dev->sa_family);
        return UCS_ERR_INVALID_ADDR;
    }

    return ucs_sockaddr_set_port((struct sockaddr*)addr,
                                 ntohs(peer_iface->port));
}

static ucs_status_t uct_tcp_zc_iface_query(uct_iface_h tl_iface,
                                           uct_iface_attr_t *attr)
{
    uct_tcp_zc_iface_t *iface = ucs_derived_of(tl_iface, uct_tcp_zc_iface_t);
    size_t seg_size           = iface->config.seg_size;
    size_t tx_seg_size        = iface->config.tx_seg_size;
    ucs_status_t status;

    uct_base_iface_query(&iface->super, attr);

    status = uct_tcp_netif_caps(iface->if_name, &attr->latency.c,
                                &attr->bandwidth.shared);
    if (status != UCS_OK) {
        return status;
    }

    attr->device_addr_len = uct_tcp_zc_iface_device_addr_length(iface);
    attr->iface_addr_len  = sizeof(uct_tcp_zc_iface_addr_t);
    attr->ep_addr_len     = sizeof(uct_tcp_zc_ep_addr_t);
    attr->cap.flags       = UCT_IFACE_FLAG_CONNECT_TO_IFACE |
                            UCT_IFACE_FLAG_CONNECT_TO_EP |
                            UCT_IFACE_FLAG_AM_SHORT |
                            UCT_IFACE_FLAG_AM_BCOPY |
                            UCT_IFACE_FLAG_AM_ZCOPY |
                            UCT_IFACE_FLAG_PUT_SHORT |
                            UCT_IFACE_FLAG_PUT_BCOPY |
                            UCT_IFACE_FLAG_PUT_ZCOPY |
                            UCT_IFACE_FLAG_GET_BCOPY |
                            UCT_IFACE_FLAG_GET_ZCOPY |
                            UCT_IFACE_FLAG_PENDING |
                            UCT_IFACE_FLAG_CB_SYNC |
                            UCT_IFACE_FLAG_EP_CHECK |
                            UCT_IFACE_FLAG_ERRHANDLE_PEER_FAILURE |
                            UCT_TCP_ZC_IFACE_FLAG_INTER_NODE;
    attr->cap.event_flags = UCT_IFACE_FLAG_EVENT_SEND_COMP |
                            UCT_IFACE_FLAG_EVENT_RECV |
                            UCT_IFACE_FLAG_EVENT_FD;

    /* active messages: the 64-bit header of am_short counts */
    attr->cap.am.max_short       = tx_seg_size;
    attr->cap.am.max_bcopy       = tx_seg_size;
    attr->cap.am.min_zcopy       = 0;
    attr->cap.am.max_zcopy       = seg_size;
    attr->cap.am.max_hdr         = UCT_TCP_ZC_MAX_AM_HDR;
    attr->cap.am.max_iov         = UCT_TCP_ZC_MAX_IOV;
    attr->cap.am.opt_zcopy_align = 1;
    attr->cap.am.align_mtu       = 1;

    attr->cap.put.max_short       = seg_size;
    attr->cap.put.max_bcopy       = seg_size;
    attr->cap.put.min_zcopy       = 0;
    attr->cap.put.max_zcopy       = UCT_TCP_ZC_RMA_MAX_LENGTH;
    attr->cap.put.max_iov         = UCT_TCP_ZC_MAX_IOV;
    attr->cap.put.opt_zcopy_align = 1;
    attr->cap.put.align_mtu       = 1;

    attr->cap.get.max_bcopy       = seg_size;
    attr->cap.get.min_zcopy       = 0;
    attr->cap.get.max_zcopy       = UCT_TCP_ZC_RMA_MAX_LENGTH;
    attr->cap.get.max_iov         = UCT_TCP_ZC_MAX_IOV;
    attr->cap.get.opt_zcopy_align = 1;
    attr->cap.get.align_mtu       = 1;

    attr->bandwidth.dedicated = 0;
    attr->latency.m           = 0;
    attr->overhead            = 10e-6;
    attr->priority            = 0;
    return UCS_OK;
}

/* A configured time in whole milliseconds (rounded: the conversion from the
 * time units of the configuration is not exact) */
static uint64_t uct_tcp_zc_iface_time_msec(ucs_time_t value)
{
    return (uint64_t)(ucs_time_to_msec(value) + 0.5);
}

/* A keepalive time in whole seconds within the kernel's range: 0 for auto
 * (the system default), -1 for inf (no keepalive); fails for other values */
static ucs_status_t
uct_tcp_zc_iface_keepalive_time(const char *name, ucs_time_t value, int *sec_p)
{
    uint64_t sec;

    if (value == UCS_TIME_AUTO) {
        *sec_p = 0;
        return UCS_OK;
    } else if (value == UCS_TIME_INFINITY) {
        *sec_p = -1;
        return UCS_OK;
    }

    sec = uct_tcp_zc_iface_time_msec(value) / 1000;
    if ((sec < 1) || (sec > UCT_TCP_ZC_KEEPALIVE_TIME_MAX)) {
        ucs_error("tcp_zc: UCX_" UCT_TCP_ZC_CONFIG_PREFIX "%s %.3fs is out of "
                  "range: 1s .. %ds, inf (no keepalive) or auto (the system "
                  "default)", name, ucs_time_to_sec(value),
                  UCT_TCP_ZC_KEEPALIVE_TIME_MAX);
        return UCS_ERR_INVALID_PARAM;
    }

    *sec_p = (int)sec;
    return UCS_OK;
}

/* Check the keepalive and user timeout settings, and keep them as the socket
 * options take them */
static ucs_status_t
uct_tcp_zc_iface_sockopts_init(uct_tcp_zc_iface_t *iface,
                               const uct_tcp_zc_iface_config_t *config)
{
    uint64_t timeout_ms;
    ucs_status_t status;

    status = uct_tcp_zc_iface_keepalive_time("KEEPIDLE", config->keepidle,
                                             &iface->config.keepalive.idle);
    if (status != UCS_OK) {
        return status;
    }

    status = uct_tcp_zc_iface_keepalive_time("KEEPINTVL", config->keepintvl,
                                             &iface->config.keepalive.intvl);
    if (status != UCS_OK) {
        return status;
    }

    if (config->keepcnt == UCS_ULUNITS_AUTO) {
        iface->config.keepalive.cnt = 0;
    } else if (config->keepcnt == UCS_ULUNITS_INF) {
        iface->config.keepalive.cnt = -1;
    } else if ((config->keepcnt == 0) ||
               (config->keepcnt > UCT_TCP_ZC_KEEPALIVE_CNT_MAX)) {
        ucs_error("tcp_zc: UCX_" UCT_TCP_ZC_CONFIG_PREFIX "KEEPCNT %lu is out "
                  "of range: 1 .. %d, inf (no keepalive) or auto (the system "
                  "default)", config->keepcnt, UCT_TCP_ZC_KEEPALIVE_CNT_MAX);
        return UCS_ERR_INVALID_PARAM;
    } else {
        iface->config.keepalive.cnt = config->keepcnt;
    }

    /* as UCX's tcp: inf in any of them turns keepalive off */
    iface->config.keepalive.enable = (iface->config.keepalive.idle >= 0) &&
                                     (iface->config.keepalive.intvl >= 0) &&
                                     (iface->config.keepalive.cnt >= 0);

    iface->config.user_timeout = -1;
    if (config->user_timeout == UCS_TIME_AUTO) {
        return UCS_OK;
    } else if (config->user_timeout == UCS_TIME_INFINITY) {
        ucs_error("tcp_zc: UCX_" UCT_TCP_ZC_CONFIG_PREFIX "USER_TIMEOUT inf "
                  "is out of range: 1ms .. %dms, or auto (the system "
                  "default)", INT_MAX);
        return UCS_ERR_INVALID_PARAM;
    }

    timeout_ms = uct_tcp_zc_iface_time_msec(config->user_timeout);
    if ((timeout_ms < 1) || (timeout_ms > INT_MAX)) {
        ucs_error("tcp_zc: UCX_" UCT_TCP_ZC_CONFIG_PREFIX "USER_TIMEOUT "
                  "%.3fms is out of range: 1ms .. %dms, or auto (the system "
                  "default)", ucs_time_to_msec(config->user_timeout), INT_MAX);
        return UCS_ERR_INVALID_PARAM;
    }

#ifdef TCP_USER_TIMEOUT
    iface->config.user_timeout = (int)timeout_ms;
    return UCS_OK;
#else
    ucs_error("tcp_zc: UCX_" UCT_TCP_ZC_CONFIG_PREFIX "USER_TIMEOUT is set, "
              "but this system has no TCP_USER_TIMEOUT");
    return UCS_ERR_UNSUPPORTED;
#endif
}

/* Accept connections, from the async thread: a peer can connect while this
 * process is not progressing, and the listener stays out of the event set
 * so that only data wakes up the user */
static void uct_tcp_zc_iface_accept(int id, ucs_event_set_types_t events,
                                    void *arg)
{
    uct_tcp_zc_iface_t *iface = arg;
    struct sockaddr_storage peer_addr;
    uct_tcp_zc_conn_t *conn;
    ucs_status_t status;
    socklen_t addr_len;
    unsigned count;
    int fd;

    for (count = 0; count < UCT_TCP_ZC_MAX_EVENTS; ++count) {
        addr_len = sizeof(peer_addr);
        fd       = accept(iface->listen_fd, (struct sockaddr*)&peer_addr,
                          &addr_len);
        if (fd < 0) {
            if ((errno != EAGAIN) && (errno != EWOULDBLOCK) &&
                (errno != EINTR) && (errno != ECONNABORTED)) {
                ucs_error("tcp_zc: accept on %s failed: %m", iface->if_name);
            }
            return;
        }

        status = uct_tcp_zc_conn_create(iface, fd, &peer_addr, &conn);
        if (status != UCS_OK) {
            close(fd);
            return;
        }

        ucs_debug("tcp_zc iface %p: accepted fd %d", iface, fd);
    }
}

static void uct_tcp_zc_iface_conn_events(void *arg,
                                         ucs_event_set_types_t events)
{
    uct_tcp_zc_conn_handle_events(arg, events);
}

static void uct_tcp_zc_iface_handle_events(void *callback_data,
                                           ucs_event_set_types_t events,
                                           void *arg)
{
    uct_tcp_zc_iface_t *iface = arg;

    if (callback_data == iface) {
        /* the io_uring has completions */
        uct_tcp_zc_uring_reap(iface->zc.uring, uct_tcp_zc_conn_uring_comp,
                              iface);
        uct_tcp_zc_conn_uring_progress(iface);
        return;
    }

    /* a connection, or a data connection */
    (*(uct_tcp_zc_event_cb_t*)callback_data)(callback_data, events);
}

static unsigned uct_tcp_zc_iface_progress(uct_iface_h tl_iface)
{
    uct_tcp_zc_iface_t *iface = ucs_derived_of(tl_iface, uct_tcp_zc_iface_t);
    unsigned count            = UCT_TCP_ZC_MAX_EVENTS;
    ucs_status_t status;

    ucs_async_check_miss(iface->super.worker->async);
    iface->in_progress = 1;
    status = ucs_event_set_wait(iface->event_set, &count, 0,
                                uct_tcp_zc_iface_handle_events, iface);
    if (ucs_unlikely(UCS_STATUS_IS_ERR(status))) {
        ucs_error("tcp_zc iface %p: event set wait failed: %s", iface,
                  ucs_status_string(status));
        count = 0;
    }

    /* io_uring results which a receive path took early */
    if (ucs_unlikely(!ucs_list_is_empty(&iface->zc.uring_dirty))) {
        uct_tcp_zc_conn_uring_progress(iface);
    }

    /* the events are done: callbacks may destroy what they named */
    iface->in_progress = 0;
    if (ucs_unlikely(!ucs_list_is_empty(&iface->zc.lingering))) {
        uct_tcp_zc_conn_progress_lingering(iface, 0);
    }
    if (ucs_unlikely(!ucs_list_is_empty(&iface->ep_graveyard))) {
        uct_tcp_zc_ep_free_destroyed(iface);
    }
    if (ucs_unlikely(!ucs_list_is_empty(&iface->conn_graveyard))) {
        uct_tcp_zc_conn_free_released(iface);
    }
    if (!ucs_queue_is_empty(&iface->comp_queue)) {
        uct_tcp_zc_conn_dispatch_completions(iface);
    }

    return count;
}

static ucs_status_t uct_tcp_zc_iface_event_fd_get(uct_iface_h tl_iface,
                                                  int *fd_p)
{
    uct_tcp_zc_iface_t *iface = ucs_derived_of(tl_iface, uct_tcp_zc_iface_t);

    return ucs_event_set_fd_get(iface->event_set, fd_p);
}

static ucs_status_t uct_tcp_zc_iface_flush(uct_iface_h tl_iface,
                                           unsigned flags,
                                           uct_completion_t *comp)
{
    uct_tcp_zc_iface_t *iface = ucs_derived_of(tl_iface, uct_tcp_zc_iface_t);
    uct_tcp_zc_ep_t *ep;

    if (comp != NULL) {
        return UCS_ERR_UNSUPPORTED;
    }

    /* requests in a pending queue count as outstanding, as UCP flushes a
     * worker with iface flushes alone when they succeed; so do connections
     * which this side is setting up */
    ucs_list_for_each(ep, &iface->ep_list, list) {
        if ((ep->status == UCS_OK) &&
            (!uct_tcp_zc_conn_is_idle(ep->conn) ||
             uct_tcp_zc_conn_is_connecting(ep->conn) ||
             !ucs_queue_is_empty(&ep->pending_q))) {
            UCT_TL_IFACE_STAT_FLUSH_WAIT(&iface->super);
            return UCS_INPROGRESS;
        }
    }

    UCT_TL_IFACE_STAT_FLUSH(&iface->super);
    return UCS_OK;
}

static ucs_status_t
uct_tcp_zc_iface_set_address(uct_tcp_zc_iface_t *iface, uct_tcp_zc_md_t *md)
{
    struct sockaddr_storage netmask;
    ucs_status_t status;
    unsigned i;

    for (i = 0; i < md->config.af_prio_count; ++i) {
        status = ucs_netif_get_addr(iface->if_name, md->config.af_prio_list[i],
                                    (struct sockaddr*)&iface->if_addr,
                                    (struct sockaddr*)&netmask);
        if (status == UCS_OK) {
            iface->is_loopback = ucs_sockaddr_is_inaddr_loopback(
                    (struct sockaddr*)&iface->if_addr);
            return UCS_OK;
        }
    }

    ucs_error("tcp_zc: network interface %s has no address of an allowed "
              "family (UCX_" UCT_TCP_ZC_CONFIG_PREFIX "AF_PRIO)",
              iface->if_name);
    return UCS_ERR_NO_DEVICE;
}

static ucs_status_t uct_tcp_zc_iface_listen(uct_tcp_zc_iface_t *iface,
                                            unsigned long backlog)
{
    struct sockaddr_storage addr = iface->if_addr;
    socklen_t bound_addr_len;
    ucs_status_t status;
    size_t addr_len;

    status = ucs_sockaddr_sizeof((struct sockaddr*)&addr, &addr_len);
    if (status != UCS_OK) {
        return status;
    }

    status = ucs_sockaddr_set_port((struct sockaddr*)&addr, 0);
    if (status != UCS_OK) {
        return status;
    }

    if (backlog == UCS_ULUNITS_AUTO) {
        backlog = ucs_socket_max_conn();
    }

    status = ucs_socket_server_init((struct sockaddr*)&addr, addr_len,
                                    ucs_min(backlog, INT_MAX), 0, 0,
                                    &iface->listen_fd);
    if (status != UCS_OK) {
        return status;
    }

    /* Accepted sockets inherit the buffer sizes of the listener */
    status = ucs_socket_set_buffer_size(iface->listen_fd,
                                        iface->config.sockopt.sndbuf,
                                        iface->config.sockopt.rcvbuf);
    if (status != UCS_OK) {
        goto err_close;
    }

    bound_addr_len = sizeof(addr);
    status         = ucs_socket_getname(iface->listen_fd, &addr,
                                        &bound_addr_len);
    if (status != UCS_OK) {
        goto err_close;
    }

    status = ucs_sockaddr_get_port((struct sockaddr*)&addr,
                                   &iface->listen_port);
    if (status != UCS_OK) {
        goto err_close;
    }

    return UCS_OK;

err_close:
    ucs_close_fd(&iface->listen_fd);
    return status;
}

/* Choose the zero-copy send engine which the configuration and the kernel
 * allow */
static ucs_status_t
uct_tcp_zc_iface_zcopy_init(uct_tcp_zc_iface_t *iface,
                            const uct_tcp_zc_iface_config_t *config)
{
    uct_tcp_zc_engine_t engine = config->tx_engine;
    ucs_status_t status;

    if (config->zcopy == UCS_NO) {
        return UCS_OK;
    }

    if ((engine == UCT_TCP_ZC_ENGINE_AUTO) ||
        (engine == UCT_TCP_ZC_ENGINE_ERRQUEUE)) {
        /* accepted sockets inherit it */
        status = uct_tcp_zc_errqueue_enable(iface->listen_fd);
        if (status == UCS_OK) {
            iface->zc.engine = UCT_TCP_ZC_ENGINE_ERRQUEUE;
            goto out;
        } else if (status != UCS_ERR_UNSUPPORTED) {
            return status;
        }

        ucs_diag("tcp_zc: the kernel has no MSG_ZEROCOPY for TCP");
    }

    if ((engine == UCT_TCP_ZC_ENGINE_AUTO) ||
        (engine == UCT_TCP_ZC_ENGINE_URING)) {
        status = uct_tcp_zc_uring_create(config->uring_entries,
                                         &iface->zc.uring);
        if (status == UCS_OK) {
            status = ucs_event_set_add(iface->event_set,
                                       uct_tcp_zc_uring_event_fd(
                                               iface->zc.uring),
                                       UCS_EVENT_SET_EVREAD, iface);
            if (status != UCS_OK) {
                uct_tcp_zc_uring_destroy(iface->zc.uring);
                iface->zc.uring = NULL;
                return status;
            }

            iface->zc.engine = UCT_TCP_ZC_ENGINE_URING;
            goto out;
        } else if (status != UCS_ERR_UNSUPPORTED) {
            return status;
        }
    }

    UCT_TCP_ZC_IFACE_STAT(iface, FALLBACK_UNSUPP, 1);
    if (config->zcopy == UCS_YES) {
        ucs_error("tcp_zc: zero-copy send engine '%s' is not supported by "
                  "this kernel", uct_tcp_zc_engine_names[engine]);
        return UCS_ERR_UNSUPPORTED;
    }

    ucs_diag("tcp_zc: no zero-copy send engine, all sends are copied");
    return UCS_OK;

out:
    ucs_debug("tcp_zc: iface %p zero-copy engine %s, threshold %zu", iface,
              uct_tcp_zc_engine_names[iface->zc.engine], iface->zc.thresh);
    return UCS_OK;
}

/* Release the engine; the sends of closed connections complete */
static void uct_tcp_zc_iface_zcopy_cleanup(uct_tcp_zc_iface_t *iface)
{
    uint64_t *counters = iface->zc.counters;

    if (iface->zc.uring != NULL) {
        /* what io_uring released already; the connections were aborted, so
         * the kernel lets go of the rest at once */
        uct_tcp_zc_uring_reap(iface->zc.uring, uct_tcp_zc_conn_uring_comp,
                              iface);
        ucs_event_set_del(iface->event_set,
                          uct_tcp_zc_uring_event_fd(iface->zc.uring));
        /* cancels what is still in flight */
        uct_tcp_zc_uring_destroy(iface->zc.uring);
        iface->zc.uring = NULL;
    }

    uct_tcp_zc_conn_release_orphans(iface);
    uct_tcp_zc_conn_progress_lingering(iface, 1);

    ucs_debug("tcp_zc iface %p %s: zero-copy engine %s: %" PRIu64 " sends, "
              "%" PRIu64 " bytes, %" PRIu64 " bytes reported copied; "
              "fallbacks: enobufs %" PRIu64 " busy %" PRIu64 " copied %" PRIu64
              " unsupported %" PRIu64 "; reprobes %" PRIu64, iface,
              iface->if_name, uct_tcp_zc_engine_names[iface->zc.engine],
              counters[UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS],
              counters[UCT_TCP_ZC_IFACE_STAT_ZCOPY_BYTES],
              counters[UCT_TCP_ZC_IFACE_STAT_COPIED_BYTES],
              counters[UCT_TCP_ZC_IFACE_STAT_FALLBACK_NOBUFS],
              counters[UCT_TCP_ZC_IFACE_STAT_FALLBACK_BUSY],
              counters[UCT_TCP_ZC_IFACE_STAT_FALLBACK_COPIED],
              counters[UCT_TCP_ZC_IFACE_STAT_FALLBACK_UNSUPP],
              counters[UCT_TCP_ZC_IFACE_STAT_REPROBE]);
}

static UCS_CLASS_DECLARE_DELETE_FUNC(uct_tcp_zc_iface_t, uct_iface_t);

static uct_iface_ops_t uct_tcp_zc_iface_ops = {
    .ep_am_short              = uct_tcp_zc_ep_am_short,
    .ep_am_short_iov          = uct_tcp_zc_ep_am_short_iov,
    .ep_am_bcopy              = uct_tcp_zc_ep_am_bcopy,
    .ep_am_zcopy              = uct_tcp_zc_ep_am_zcopy,
    .ep_put_short             = uct_tcp_zc_ep_put_short,
    .ep_put_bcopy             = uct_tcp_zc_ep_put_bcopy,
    .ep_put_zcopy             = uct_tcp_zc_ep_put_zcopy,
    .ep_get_short             = (uct_ep_get_short_func_t)
            ucs_empty_function_return_unsupported,
    .ep_get_bcopy             = uct_tcp_zc_ep_get_bcopy,
    .ep_get_zcopy             = uct_tcp_zc_ep_get_zcopy,
    .ep_atomic_cswap64        = (uct_ep_atomic_cswap64_func_t)
            ucs_empty_function_return_unsupported,
    .ep_atomic_cswap32        = (uct_ep_atomic_cswap32_func_t)
            ucs_empty_function_return_unsupported,
    .ep_atomic32_post         = (uct_ep_atomic32_post_func_t)
            ucs_empty_function_return_unsupported,
    .ep_atomic64_post         = (uct_ep_atomic64_post_func_t)
            ucs_empty_function_return_unsupported,
    .ep_atomic32_fetch        = (uct_ep_atomic32_fetch_func_t)
            ucs_empty_function_return_unsupported,
    .ep_atomic64_fetch        = (uct_ep_atomic64_fetch_func_t)
            ucs_empty_function_return_unsupported,
    .ep_pending_add           = uct_tcp_zc_ep_pending_add,
    .ep_pending_purge         = uct_tcp_zc_ep_pending_purge,
    .ep_flush                 = uct_tcp_zc_ep_flush,
    .ep_fence                 = uct_base_ep_fence,
    .ep_check                 = uct_tcp_zc_ep_check,
    .ep_create                = UCS_CLASS_NEW_FUNC_NAME(uct_tcp_zc_ep_t),
    .ep_destroy               = uct_tcp_zc_ep_destroy,
    .ep_get_address           = uct_tcp_zc_ep_get_address,
    .ep_connect_to_ep         = UCT_TCP_ZC_EP_CONNECT_TO_EP,
    .iface_flush              = uct_tcp_zc_iface_flush,
    .iface_fence              = uct_base_iface_fence,
    .iface_progress_enable    = uct_base_iface_progress_enable,
    .iface_progress_disable   = uct_base_iface_progress_disable,
    .iface_progress           = uct_tcp_zc_iface_progress,
    .iface_event_fd_get       = uct_tcp_zc_iface_event_fd_get,
    /* sockets are polled level-triggered, and progress leaves no complete
     * message in receive buffers: the event fd tells all */
    .iface_event_arm          = (uct_iface_event_arm_func_t)
            ucs_empty_function_return_success,
    .iface_close              = UCS_CLASS_DELETE_FUNC_NAME(uct_tcp_zc_iface_t),
    .iface_query              = uct_tcp_zc_iface_query,
    .iface_get_device_address = uct_tcp_zc_iface_get_device_address,
    .iface_get_address        = uct_tcp_zc_iface_get_address,
    UCT_TCP_ZC_IFACE_OPS_REACHABLE(uct_tcp_zc_iface_is_reachable_v2)
};

static uct_iface_internal_ops_t uct_tcp_zc_iface_internal_ops = {
    .iface_estimate_perf   = uct_base_iface_estimate_perf,
    .iface_vfs_refresh     = (uct_iface_vfs_refresh_func_t)ucs_empty_function,
    .ep_query              = (uct_ep_query_func_t)
            ucs_empty_function_return_unsupported,
    .ep_invalidate         = (uct_ep_invalidate_func_t)
            ucs_empty_function_return_unsupported,
    UCT_TCP_ZC_IFACE_INTERNAL_OPS_EXTRA(uct_tcp_zc_iface_is_reachable_v2,
                                        uct_tcp_zc_ep_is_connected)
};

static ucs_mpool_ops_t uct_tcp_zc_iface_mpool_ops = {
    .chunk_alloc   = ucs_mpool_chunk_malloc,
    .chunk_release = ucs_mpool_chunk_free,
    .obj_init      = NULL,
    .obj_cleanup   = NULL
};

static UCS_CLASS_INIT_FUNC(uct_tcp_zc_iface_t, uct_md_h tl_md,
                           uct_worker_h worker,
                           const uct_iface_params_t *params,
                           const uct_iface_config_t *tl_config)
{
    const uct_tcp_zc_iface_config_t *config =
            ucs_derived_of(tl_config, uct_tcp_zc_iface_config_t);
    uct_tcp_zc_md_t *md = ucs_derived_of(tl_md, uct_tcp_zc_md_t);
    struct sockaddr_storage addr;
    ucs_status_t status;

    UCT_CHECK_PARAM(params->field_mask & UCT_IFACE_PARAM_FIELD_OPEN_MODE,
                    "UCT_IFACE_PARAM_FIELD_OPEN_MODE is not defined");
    if (!(params->open_mode & UCT_IFACE_OPEN_MODE_DEVICE)) {
        ucs_error("tcp_zc: only UCT_IFACE_OPEN_MODE_DEVICE is supported");
        return UCS_ERR_UNSUPPORTED;
    }

    UCS_CLASS_CALL_SUPER_INIT(
            uct_base_iface_t, &uct_tcp_zc_iface_ops,
            &uct_tcp_zc_iface_internal_ops, tl_md, worker, params,
            tl_config UCS_STATS_ARG(
                    (params->field_mask & UCT_IFACE_PARAM_FIELD_STATS_ROOT) ?
                            params->stats_root :
                            NULL) UCS_STATS_ARG(params->mode.device.dev_name));

    if ((config->seg_size == 0) ||
        (config->seg_size > UCT_TCP_ZC_RMA_MAX_LENGTH)) {
        ucs_error("tcp_zc: invalid UCX_" UCT_TCP_ZC_CONFIG_PREFIX
                  "SEG_SIZE %zu", config->seg_size);
        return UCS_ERR_INVALID_PARAM;
    }

    if ((config->tx_seg_size == 0) ||
        (config->tx_seg_size > config->seg_size)) {
        ucs_error("tcp_zc: invalid UCX_" UCT_TCP_ZC_CONFIG_PREFIX
                  "TX_SEG_SIZE %zu (1 .. SEG_SIZE %zu)", config->tx_seg_size,
                  config->seg_size);
        return UCS_ERR_INVALID_PARAM;
    }

    if ((config->max_rma_outstanding == 0) ||
        (config->max_rma_outstanding > UCT_TCP_ZC_RMA_OUTSTANDING_MAX)) {
        ucs_error("tcp_zc: UCX_" UCT_TCP_ZC_CONFIG_PREFIX
                  "MAX_RMA_OUTSTANDING %u is out of range (1 .. %u)",
                  config->max_rma_outstanding,
                  UCT_TCP_ZC_RMA_OUTSTANDING_MAX);
        return UCS_ERR_INVALID_PARAM;
    }

    ucs_strncpy_zero(self->if_name, params->mode.device.dev_name,
                     sizeof(self->if_name));
    self->listen_fd           = -1;
    self->config.sockopt      = config->sockopt;
    self->config.seg_size     = config->seg_size;
    self->config.tx_seg_size  = config->tx_seg_size;
    self->config.max_rma_outstanding = config->max_rma_outstanding;
    self->config.nodelay      = config->nodelay;
    self->config.delay_ack    = config->delay_ack;
    self->zc.engine           = UCT_TCP_ZC_ENGINE_NONE;
    self->zc.mode             = config->zcopy;
    self->zc.thresh           = ucs_max(config->zcopy_thresh, 1);
    self->zc.reprobe_interval = ucs_time_from_sec(config->zcopy_reprobe);
    self->zc.uring            = NULL;
    ucs_queue_head_init(&self->zc.orphans);
    ucs_list_head_init(&self->zc.lingering);
    self->in_progress = 0;
    ucs_queue_head_init(&self->comp_queue);
    ucs_list_head_init(&self->ep_graveyard);
    ucs_list_head_init(&self->zc.uring_dirty);
    memset(self->zc.counters, 0, sizeof(self->zc.counters));
    ucs_list_head_init(&self->ep_list);
    ucs_list_head_init(&self->conn_list);
    ucs_list_head_init(&self->conn_graveyard);
    self->next_ep_id = 1;
    self->conn_ops   = &uct_tcp_zc_ep_conn_ops;
    self->conn_event_cb = uct_tcp_zc_iface_conn_events;

    status = uct_tcp_zc_iface_sockopts_init(self, config);
    if (status != UCS_OK) {
        return status;
    }

    if ((config->zcopy == UCS_TRY) ||
        (config->tx_engine == UCT_TCP_ZC_ENGINE_NONE)) {
        ucs_error("tcp_zc: invalid UCX_" UCT_TCP_ZC_CONFIG_PREFIX "ZCOPY or "
                  "UCX_" UCT_TCP_ZC_CONFIG_PREFIX "TX_ENGINE value");
        return UCS_ERR_INVALID_PARAM;
    }

    status = UCS_STATS_NODE_ALLOC(&self->zc.stats,
                                  &uct_tcp_zc_iface_stats_class,
                                  self->super.stats, "-%p", self);
    if (status != UCS_OK) {
        return status;
    }

    status = uct_tcp_zc_iface_set_address(self, md);
    if (status != UCS_OK) {
        goto err_stats_free;
    }

    /* headers + am_short header + payload */
    self->tx_buf = ucs_malloc(sizeof(uct_tcp_zc_hdr_t) +
                              sizeof(uct_tcp_zc_rma_hdr_t) + sizeof(uint64_t) +
                              self->config.seg_size, "tcp_zc tx buffer");
    if (self->tx_buf == NULL) {
        ucs_error("failed to allocate tcp_zc send buffer");
        status = UCS_ERR_NO_MEMORY;
        goto err_stats_free;
    }

    status = ucs_event_set_create(&self->event_set);
    if (status != UCS_OK) {
        goto err_free_tx_buf;
    }

    status = uct_tcp_zc_iface_listen(self, config->listen_backlog);
    if (status != UCS_OK) {
        goto err_event_set_cleanup;
    }

    /* send descriptors; receive buffers with room for the user's headroom
     * before the data of any message */
    self->rx_headroom   = UCT_IFACE_PARAM_VALUE(params, rx_headroom,
                                                RX_HEADROOM, 0);
    self->rx_buf_offset = ucs_align_up_pow2(sizeof(uct_tcp_zc_rx_buf_t) +
                                            sizeof(uct_recv_desc_t*) +
                                            self->rx_headroom, 8);
    status = uct_tcp_zc_mpool_init(&self->tx_mp,
                                   sizeof(uct_tcp_zc_tx_t) +
                                   UCT_TCP_ZC_TX_HDRS_MAX, 64,
                                   &uct_tcp_zc_iface_mpool_ops, "tcp_zc_tx");
    if (status != UCS_OK) {
        goto err_close_listen_fd;
    }

    status = uct_tcp_zc_mpool_init(&self->tx_bcopy_mp,
                                   sizeof(uct_tcp_zc_tx_t) +
                                   UCT_TCP_ZC_TX_BCOPY_MAX(
                                           self->config.seg_size,
                                           self->config.tx_seg_size), 4,
                                   &uct_tcp_zc_iface_mpool_ops,
                                   "tcp_zc_tx_bcopy");
    if (status != UCS_OK) {
        goto err_tx_mp_cleanup;
    }

    status = uct_tcp_zc_mpool_init(&self->rx_mp, self->rx_buf_offset +
                                   UCT_TCP_ZC_RX_BUF_SIZE(
                                           self->config.seg_size), 8,
                                   &uct_tcp_zc_iface_mpool_ops, "tcp_zc_rx");
    if (status != UCS_OK) {
        goto err_tx_bcopy_mp_cleanup;
    }

    /* what the hellos of this iface say, and matching of its endpoints */
    addr = self->if_addr;
    ucs_sockaddr_set_port((struct sockaddr*)&addr, self->listen_port);
    uct_tcp_zc_peer_key_init(&self->key, (struct sockaddr*)&addr);
    ucs_conn_match_init(&self->conn_match, sizeof(self->key),
                        UCT_TCP_ZC_CONN_ID_EP - 1, &uct_tcp_zc_conn_match_ops);

    status = uct_tcp_zc_iface_zcopy_init(self, config);
    if (status != UCS_OK) {
        goto err_close_listen;
    }

    /* the data port: always with DATA_CONN=y; for devmem receive, which
     * steers it, where devmem may be on */
    self->dc.pool     = NULL;
    self->dc.enabled  = (config->data_conn == UCS_YES) ||
                        ((config->data_conn == UCS_AUTO) &&
                         (config->devmem != UCS_NO) && !self->is_loopback);
    self->dc.all_data = (config->data_conn == UCS_YES);
    status            = uct_tcp_zc_dc_iface_init(self);
    if (status != UCS_OK) {
        goto err_close_listen;
    }

    status = uct_tcp_zc_devmem_init(self, config);
    if (status != UCS_OK) {
        goto err_dc_cleanup;
    }

    if (self->dc.enabled && (self->dc.pool == NULL) &&
        (config->data_conn != UCS_YES)) {
        /* no devmem receive, so no data port */
        uct_tcp_zc_dc_iface_cleanup(self);
        self->dc.enabled = 0;
    }

    status = ucs_sys_fcntl_modfl(self->listen_fd, O_NONBLOCK, 0);
    if (status != UCS_OK) {
        goto err_dc_cleanup;
    }

    status = ucs_async_set_event_handler(self->super.worker->async->mode,
                                         self->listen_fd,
                                         UCS_EVENT_SET_EVREAD |
                                                 UCS_EVENT_SET_EVERR,
                                         uct_tcp_zc_iface_accept, self,
                                         self->super.worker->async);
    if (status != UCS_OK) {
        goto err_dc_cleanup;
    }

    ucs_debug("tcp_zc: iface %p on %s listens on port %u", self,
              self->if_name, self->listen_port);
    return UCS_OK;

err_dc_cleanup:
    uct_tcp_zc_devmem_cleanup(self);
    uct_tcp_zc_dc_iface_cleanup(self);
err_close_listen:
    ucs_conn_match_cleanup(&self->conn_match);
    if (self->zc.uring != NULL) {
        uct_tcp_zc_uring_destroy(self->zc.uring);
    }
    ucs_mpool_cleanup(&self->rx_mp, 1);
err_tx_bcopy_mp_cleanup:
    ucs_mpool_cleanup(&self->tx_bcopy_mp, 1);
err_tx_mp_cleanup:
    ucs_mpool_cleanup(&self->tx_mp, 1);
err_close_listen_fd:
    ucs_close_fd(&self->listen_fd);
err_event_set_cleanup:
    ucs_event_set_cleanup(self->event_set);
err_free_tx_buf:
    ucs_free(self->tx_buf);
err_stats_free:
    UCS_STATS_NODE_FREE(self->zc.stats);
    return status;
}

static UCS_CLASS_CLEANUP_FUNC(uct_tcp_zc_iface_t)
{
    uct_tcp_zc_ep_t *ep, *tmp_ep;

    uct_base_iface_progress_disable(&self->super.super,
                                    UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
    ucs_async_remove_handler(self->listen_fd, 1);

    ucs_list_for_each_safe(ep, tmp_ep, &self->ep_list, list) {
        ucs_warn("tcp_zc iface %p: destroying ep %p which is still open", self,
                 ep);
        UCS_CLASS_DELETE_FUNC_NAME(uct_tcp_zc_ep_t)(&ep->super.super);
    }

    uct_tcp_zc_conn_destroy_all(self);
    uct_tcp_zc_conn_free_released(self);
    uct_tcp_zc_dc_iface_cleanup(self);
    ucs_conn_match_cleanup(&self->conn_match);

    uct_tcp_zc_iface_zcopy_cleanup(self);
    uct_tcp_zc_devmem_cleanup(self);
    ucs_close_fd(&self->listen_fd);
    ucs_event_set_cleanup(self->event_set);
    ucs_mpool_cleanup(&self->rx_mp, 1);
    ucs_mpool_cleanup(&self->tx_bcopy_mp, 1);
    ucs_mpool_cleanup(&self->tx_mp, 1);
    ucs_free(self->tx_buf);
    UCS_STATS_NODE_FREE(self->zc.stats);
}

UCS_CLASS_DEFINE(uct_tcp_zc_iface_t, uct_base_iface_t);

static UCS_CLASS_DEFINE_NEW_FUNC(uct_tcp_zc_iface_t, uct_iface_t, uct_md_h,
                                 uct_worker_h, const uct_iface_params_t*,
                                 const uct_iface_config_t*);
static UCS_CLASS_DEFINE_DELETE_FUNC(uct_tcp_zc_iface_t, uct_iface_t);

static int uct_tcp_zc_netif_is_usable(const char *if_name,
                                      const uct_tcp_zc_md_t *md)
{
    unsigned i;

    for (i = 0; i < md->config.af_prio_count; ++i) {
        if (ucs_netif_is_active(if_name, md->config.af_prio_list[i])) {
            return 1;
        }
    }

    return 0;
}

static ucs_status_t
uct_tcp_zc_query_devices(uct_md_h tl_md,
                         uct_tl_device_resource_t **devices_p,
                         unsigned *num_devices_p)
{
    static const char *netdev_dir = "/sys/class/net";
    uct_tcp_zc_md_t *md           = ucs_derived_of(tl_md, uct_tcp_zc_md_t);
    uct_tl_device_resource_t *devices, *tmp;
    unsigned num_devices;
    struct dirent *entry;
    ucs_status_t status;
    DIR *dir;

    dir = opendir(netdev_dir);
    if (dir == NULL) {
        ucs_error("opendir(%s) failed: %m", netdev_dir);
        return UCS_ERR_IO_ERROR;
    }

    devices     = NULL;
    num_devices = 0;
    while ((entry = readdir(dir)) != NULL) {
        /* every network device is a symbolic link in that directory */
        if ((entry->d_type != DT_LNK) ||
            !uct_tcp_zc_netif_is_usable(entry->d_name, md)) {
            continue;
        }

        tmp = ucs_realloc(devices, sizeof(*devices) * (num_devices + 1),
                          "tcp_zc devices");
        if (tmp == NULL) {
            ucs_free(devices);
            status = UCS_ERR_NO_MEMORY;
            goto out_closedir;
        }

        devices = tmp;
        ucs_snprintf_zero(devices[num_devices].name,
                          sizeof(devices[num_devices].name), "%s",
                          entry->d_name);
        devices[num_devices].type       = UCT_DEVICE_TYPE_NET;
        devices[num_devices].sys_device = uct_tcp_zc_netif_sys_device(
                entry->d_name);
        ++num_devices;
    }

    *devices_p     = devices;
    *num_devices_p = num_devices;
    status         = UCS_OK;

out_closedir:
    closedir(dir);
    return status;
}

UCT_TL_DEFINE_ENTRY(&uct_tcp_zc_component, tcp_zc, uct_tcp_zc_query_devices,
                    uct_tcp_zc_iface_t, UCT_TCP_ZC_CONFIG_PREFIX,
                    uct_tcp_zc_iface_config_table, uct_tcp_zc_iface_config_t);

UCT_SINGLE_TL_INIT(&uct_tcp_zc_component, tcp_zc, ctor,,)
