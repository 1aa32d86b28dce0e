/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_caps.h"
#include "tcp_zc_ethtool.h"
#include "tcp_zc_netdev.h"
#include "tcp_zc_tx.h"
#include "tcp_zc_uapi.h"

#include <ucs/debug/log.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>
#include <ucs/sys/compiler_def.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/udmabuf.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>


/* A memfd to offer bind-rx/bind-tx: never a dmabuf, so never bound */
#define UCT_TCP_ZC_CAPS_MEMFD_SIZE 4096


static const struct {
    const char *name;
    unsigned   paths;
} uct_tcp_zc_reqs[] = {
    [UCT_TCP_ZC_REQ_SO_ZEROCOPY]   = {"so-zerocopy",
                                      UCT_TCP_ZC_PATH_MSG_ZEROCOPY |
                                      UCT_TCP_ZC_PATH_DEVMEM_TX},
    [UCT_TCP_ZC_REQ_URING_SEND_ZC] = {"io_uring-send-zc",
                                      UCT_TCP_ZC_PATH_URING},
    [UCT_TCP_ZC_REQ_URING_REPORT]  = {"io_uring-copied-report",
                                      UCT_TCP_ZC_PATH_URING},
    [UCT_TCP_ZC_REQ_NETDEV_FAMILY] = {"netdev-family",
                                      UCT_TCP_ZC_PATH_DEVMEM_RX |
                                      UCT_TCP_ZC_PATH_DEVMEM_TX},
    [UCT_TCP_ZC_REQ_QUEUE_GET_OP]  = {"netdev-queue-get",
                                      UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_BIND_RX_OP]    = {"netdev-bind-rx-op",
                                      UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_BIND_TX_OP]    = {"netdev-bind-tx-op",
                                      UCT_TCP_ZC_PATH_DEVMEM_TX},
    [UCT_TCP_ZC_REQ_RX_QUEUES]     = {"rx-queues", UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_HEADER_SPLIT]  = {"header-split",
                                      UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_HDS_THRESH]    = {"hds-thresh", UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_NTUPLE]        = {"ntuple", UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_RSS]           = {"rss", UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_BIND_RX]       = {"bind-rx", UCT_TCP_ZC_PATH_DEVMEM_RX},
    [UCT_TCP_ZC_REQ_BIND_TX]       = {"bind-tx", UCT_TCP_ZC_PATH_DEVMEM_TX}
};


static void uct_tcp_zc_caps_set(uct_tcp_zc_caps_t *caps, uct_tcp_zc_req_t req,
                                uct_tcp_zc_req_state_t state, const char *fmt,
                                ...) UCS_F_PRINTF(4, 5);

static void uct_tcp_zc_caps_set(uct_tcp_zc_caps_t *caps, uct_tcp_zc_req_t req,
                                uct_tcp_zc_req_state_t state, const char *fmt,
                                ...)
{
    va_list ap;

    caps->reqs[req].state = state;
    va_start(ap, fmt);
    vsnprintf(caps->reqs[req].reason, sizeof(caps->reqs[req].reason), fmt,
              ap);
    va_end(ap);
}

/* A kernel refusal: a missing privilege is not a missing feature */
static void uct_tcp_zc_caps_set_err(uct_tcp_zc_caps_t *caps,
                                    uct_tcp_zc_req_t req, const char *what,
                                    const uct_tcp_zc_genl_err_t *err)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 64];

    uct_tcp_zc_genl_err_str(err, buf, sizeof(buf));
    if ((err->error == EPERM) || (err->error == EACCES)) {
        uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_UNKNOWN,
                            "%s needs CAP_NET_ADMIN: %s", what, buf);
    } else {
        uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_NO, "%s: %s",
                            what, buf);
    }
}

static void uct_tcp_zc_caps_send(uct_tcp_zc_caps_t *caps)
{
    int send_zc, report, fd;
    ucs_status_t status;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_SO_ZEROCOPY,
                            UCT_TCP_ZC_REQ_STATE_UNKNOWN, "socket(): %m");
    } else {
        status = uct_tcp_zc_errqueue_enable(fd);
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_SO_ZEROCOPY,
                            (status == UCS_OK) ? UCT_TCP_ZC_REQ_STATE_YES :
                                                 UCT_TCP_ZC_REQ_STATE_NO,
                            "setsockopt(SO_ZEROCOPY) on a TCP socket %s",
                            (status == UCS_OK) ? "accepted" :
                                                 ucs_status_string(status));
        close(fd);
    }

    status = uct_tcp_zc_uring_probe(&send_zc, &report);
    if (status != UCS_OK) {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_URING_SEND_ZC,
                            UCT_TCP_ZC_REQ_STATE_UNKNOWN, "io_uring probe: %s",
                            ucs_status_string(status));
        return;
    }

    uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_URING_SEND_ZC,
                        send_zc ? UCT_TCP_ZC_REQ_STATE_YES :
                                  UCT_TCP_ZC_REQ_STATE_NO,
                        send_zc ? "IORING_OP_SENDMSG_ZC in the io_uring probe" :
                                  "no io_uring, or no IORING_OP_SENDMSG_ZC "
                                  "(Linux 6.1)");
    if (send_zc) {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_URING_REPORT,
                            report ? UCT_TCP_ZC_REQ_STATE_YES :
                                     UCT_TCP_ZC_REQ_STATE_NO,
                            report ? "IORING_SEND_ZC_REPORT_USAGE accepted" :
                                     "IORING_SEND_ZC_REPORT_USAGE refused with "
                                     "EINVAL (Linux 6.2)");
    } else {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_URING_REPORT,
                            UCT_TCP_ZC_REQ_STATE_NO, "no io_uring SENDMSG_ZC");
    }
}

/* Queues of the device: at least two RX queues, one to bind and one for
 * the other traffic */
static void uct_tcp_zc_caps_queues(uct_tcp_zc_caps_t *caps,
                                   uct_tcp_zc_genl_t *netdev)
{
    uct_tcp_zc_netdev_queue_t *queues;
    uct_tcp_zc_genl_err_t err;
    unsigned i, count, num_rx;
    ucs_status_t status;

    status = uct_tcp_zc_netdev_queue_get(netdev, caps->ifindex, &queues,
                                         &count, &err);
    if (status != UCS_OK) {
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_RX_QUEUES, "queue-get",
                                &err);
        return;
    }

    for (i = 0, num_rx = 0; i < count; ++i) {
        num_rx += (queues[i].type == UCT_TCP_ZC_NETDEV_QUEUE_RX);
    }
    ucs_free(queues);

    caps->num_rx_queues = num_rx;
    uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_RX_QUEUES,
                        (num_rx >= 2) ? UCT_TCP_ZC_REQ_STATE_YES :
                                        UCT_TCP_ZC_REQ_STATE_NO,
                        "%u RX queue(s); devmem binds one, another takes "
                        "the rest of the traffic", num_rx);
}

static void uct_tcp_zc_caps_netdev(uct_tcp_zc_caps_t *caps)
{
    static const struct {
        uct_tcp_zc_req_t req;
        uint8_t          cmd;
        const char       *name;
    } ops[] = {
        {UCT_TCP_ZC_REQ_QUEUE_GET_OP, NETDEV_CMD_QUEUE_GET, "queue-get"},
        {UCT_TCP_ZC_REQ_BIND_RX_OP,   NETDEV_CMD_BIND_RX,   "bind-rx"},
        {UCT_TCP_ZC_REQ_BIND_TX_OP,   NETDEV_CMD_BIND_TX,   "bind-tx"}
    };
    uct_tcp_zc_genl_t netdev;
    uct_tcp_zc_genl_err_t err;
    ucs_status_t status;
    unsigned i;
    int has;

    status = uct_tcp_zc_netdev_open(&netdev, &err);
    if (status != UCS_OK) {
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_NETDEV_FAMILY,
                                "netdev generic netlink family", &err);
        for (i = 0; i < ucs_static_array_size(ops); ++i) {
            uct_tcp_zc_caps_set(caps, ops[i].req, UCT_TCP_ZC_REQ_STATE_NO,
                                "no netdev family");
        }
        return;
    }

    uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_NETDEV_FAMILY,
                        UCT_TCP_ZC_REQ_STATE_YES, "family id %d version %u",
                        netdev.family_id, netdev.version);
    for (i = 0; i < ucs_static_array_size(ops); ++i) {
        has = uct_tcp_zc_netdev_has_op(&netdev, ops[i].cmd);
        uct_tcp_zc_caps_set(caps, ops[i].req,
                            has ? UCT_TCP_ZC_REQ_STATE_YES :
                                  UCT_TCP_ZC_REQ_STATE_NO,
                            "netdev command %s (%u) %s", ops[i].name,
                            ops[i].cmd,
                            has ? "in the kernel's family" :
                                  "missing from the kernel's family");
    }

    if (caps->reqs[UCT_TCP_ZC_REQ_QUEUE_GET_OP].state ==
        UCT_TCP_ZC_REQ_STATE_YES) {
        uct_tcp_zc_caps_queues(caps, &netdev);
    } else {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_RX_QUEUES,
                            UCT_TCP_ZC_REQ_STATE_UNKNOWN, "no queue-get");
    }

    uct_tcp_zc_genl_close(&netdev);
}

static void uct_tcp_zc_caps_rings(uct_tcp_zc_caps_t *caps,
                                  uct_tcp_zc_genl_t *ethtool)
{
    static const char *split_names[] = {"unknown", "disabled", "enabled"};
    uct_tcp_zc_ethtool_rings_t rings;
    uct_tcp_zc_genl_err_t err;
    ucs_status_t status;

    status = uct_tcp_zc_ethtool_rings_get(ethtool, caps->ifindex, &rings,
                                          &err);
    if (status != UCS_OK) {
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_HEADER_SPLIT,
                                "ethtool rings-get", &err);
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_HDS_THRESH,
                                "ethtool rings-get", &err);
        return;
    }

    if (rings.tcp_data_split < 0) {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_HEADER_SPLIT,
                            UCT_TCP_ZC_REQ_STATE_NO,
                            "the driver reports no tcp-data-split: no header "
                            "split");
    } else {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_HEADER_SPLIT,
                            (rings.tcp_data_split ==
                             ETHTOOL_TCP_DATA_SPLIT_ENABLED) ?
                                    UCT_TCP_ZC_REQ_STATE_YES :
                                    UCT_TCP_ZC_REQ_STATE_NO,
                            "tcp-data-split %s",
                            split_names[ucs_min(rings.tcp_data_split, 2)]);
    }

    if (!rings.hds_thresh_valid) {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_HDS_THRESH,
                            UCT_TCP_ZC_REQ_STATE_NO,
                            "the driver reports no hds-thresh");
    } else {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_HDS_THRESH,
                            (rings.hds_thresh == 0) ?
                                    UCT_TCP_ZC_REQ_STATE_YES :
                                    UCT_TCP_ZC_REQ_STATE_NO,
                            "hds-thresh %u (max %u), devmem needs 0",
                            rings.hds_thresh, rings.hds_thresh_max);
    }
}

static void uct_tcp_zc_caps_steering(uct_tcp_zc_caps_t *caps)
{
    uct_tcp_zc_genl_err_t err;
    uint32_t *table, queue;
    ucs_status_t status;
    int enabled, excludes;
    uint64_t rule_table;
    unsigned size, count;

    /* the rule table tells a driver without ntuple filters from one where
     * they are off */
    status = uct_tcp_zc_ethtool_ntuple_count(caps->if_name, &count,
                                             &rule_table, &err);
    if (status != UCS_OK) {
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_NTUPLE,
                                "ntuple filters (rule count)", &err);
    } else if (uct_tcp_zc_ethtool_ntuple_enabled(caps->if_name, &enabled,
                                                 &err) != UCS_OK) {
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_NTUPLE,
                                "ntuple feature flag", &err);
    } else {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_NTUPLE,
                            enabled ? UCT_TCP_ZC_REQ_STATE_YES :
                                      UCT_TCP_ZC_REQ_STATE_NO,
                            "ntuple filters %s, %u rules in a table of %"
                            PRIu64, enabled ? "on" : "off (ntuple feature)",
                            count, rule_table);
    }

    if (caps->num_rx_queues < 2) {
        uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_RSS, UCT_TCP_ZC_REQ_STATE_NO,
                            "fewer than 2 RX queues");
        return;
    }

    status = uct_tcp_zc_ethtool_rss_get(caps->if_name, &table, &size, &err);
    if (status != UCS_OK) {
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_RSS,
                                "ethtool RSS indirection table", &err);
        return;
    }

    /* devmem binds the last RX queue */
    queue    = caps->num_rx_queues - 1;
    excludes = uct_tcp_zc_ethtool_rss_excludes(table, size, &queue, 1);
    uct_tcp_zc_caps_set(caps, UCT_TCP_ZC_REQ_RSS,
                        excludes ? UCT_TCP_ZC_REQ_STATE_YES :
                                   UCT_TCP_ZC_REQ_STATE_NO,
                        "the default RSS context (%u entries) %s RX queue %u",
                        size, excludes ? "excludes" : "spreads over", queue);
    ucs_free(table);
}

/* A udmabuf of a sealed memfd, -1 where the kernel has no /dev/udmabuf */
static int uct_tcp_zc_caps_udmabuf(int memfd)
{
    struct udmabuf_create create = {
        .memfd  = memfd,
        .flags  = UDMABUF_FLAGS_CLOEXEC,
        .offset = 0,
        .size   = UCT_TCP_ZC_CAPS_MEMFD_SIZE
    };
    int dev, fd;

    if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
        return -1;
    }

    dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        return -1;
    }

    fd = ioctl(dev, UDMABUF_CREATE, &create);
    close(dev);
    return fd;
}

/* Offer a memfd: a device which gets past the driver checks refuses it as
 * not a dmabuf. With UCT_TCP_ZC_CAPS_PROBE_DMABUF, a udmabuf where the kernel
 * has one: the kernel checks the queue (header split, hds-thresh, the queue
 * API) only with a dmabuf it can bind, and the binding goes away at once
 * (which restarts the queue twice). */
static void uct_tcp_zc_caps_bind(uct_tcp_zc_caps_t *caps, uct_tcp_zc_req_t req,
                                 unsigned flags)
{
    uct_tcp_zc_netdev_binding_t *binding;
    uct_tcp_zc_genl_err_t err;
    ucs_status_t status;
    uint32_t queue;
    int fd, dmabuf = -1;

    fd = memfd_create("tcp_zc caps", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if ((fd < 0) || (ftruncate(fd, UCT_TCP_ZC_CAPS_MEMFD_SIZE) != 0)) {
        uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_UNKNOWN,
                            "memfd_create: %m");
        goto out;
    }

    dmabuf = (flags & UCT_TCP_ZC_CAPS_PROBE_DMABUF) ?
                     uct_tcp_zc_caps_udmabuf(fd) : -1;
    if (dmabuf >= 0) {
        close(fd);
        fd = dmabuf;
    }

    queue  = (caps->num_rx_queues > 0) ? (caps->num_rx_queues - 1) : 0;
    status = (req == UCT_TCP_ZC_REQ_BIND_RX) ?
                     uct_tcp_zc_netdev_bind_rx(caps->ifindex, &queue, 1, fd,
                                               &binding, &err) :
                     uct_tcp_zc_netdev_bind_tx(caps->ifindex, fd, &binding,
                                               &err);
    if (status == UCS_OK) {
        /* a probe: let it go at once */
        uct_tcp_zc_netdev_binding_destroy(binding);
        uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_YES,
                            "the kernel bound a %s and let it go",
                            (dmabuf >= 0) ? "udmabuf" : "memfd");
    } else if ((dmabuf < 0) &&
               ((err.error == EBADF) ||
                ((err.error == EINVAL) &&
                 (strstr(err.msg, "dmabuf") != NULL)))) {
        /* past the device checks, stopped at the buffer */
        uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_YES,
                            "the device passed the kernel's checks; a memfd "
                            "was refused as not a dmabuf (%s)",
                            strerror(err.error));
    } else {
        uct_tcp_zc_caps_set_err(caps, req,
                                (req == UCT_TCP_ZC_REQ_BIND_RX) ? "bind-rx" :
                                                                  "bind-tx",
                                &err);
    }

out:
    if (fd >= 0) {
        close(fd);
    }
}

static void uct_tcp_zc_caps_devmem(uct_tcp_zc_caps_t *caps, unsigned flags)
{
    uct_tcp_zc_genl_t ethtool;
    uct_tcp_zc_genl_err_t err;
    ucs_status_t status;
    uct_tcp_zc_req_t req;

    uct_tcp_zc_caps_netdev(caps);

    status = uct_tcp_zc_ethtool_open(&ethtool, &err);
    if (status != UCS_OK) {
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_HEADER_SPLIT,
                                "ethtool generic netlink family", &err);
        uct_tcp_zc_caps_set_err(caps, UCT_TCP_ZC_REQ_HDS_THRESH,
                                "ethtool generic netlink family", &err);
    } else {
        uct_tcp_zc_caps_rings(caps, &ethtool);
        uct_tcp_zc_genl_close(&ethtool);
    }

    uct_tcp_zc_caps_steering(caps);

    for (req = UCT_TCP_ZC_REQ_BIND_RX; req <= UCT_TCP_ZC_REQ_BIND_TX; ++req) {
        if (!(flags & UCT_TCP_ZC_CAPS_PROBE_BIND)) {
            uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_UNKNOWN,
                                "not probed");
        } else if (caps->reqs[(req == UCT_TCP_ZC_REQ_BIND_RX) ?
                                      UCT_TCP_ZC_REQ_BIND_RX_OP :
                                      UCT_TCP_ZC_REQ_BIND_TX_OP].state !=
                   UCT_TCP_ZC_REQ_STATE_YES) {
            uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_NO,
                                "the kernel has no such netdev command");
        } else {
            uct_tcp_zc_caps_bind(caps, req, flags);
        }
    }
}

ucs_status_t uct_tcp_zc_caps_query(const char *if_name, unsigned flags,
                                   uct_tcp_zc_caps_t *caps)
{
    uct_tcp_zc_req_t req;

    memset(caps, 0, sizeof(*caps));
    ucs_strncpy_zero(caps->if_name, if_name, sizeof(caps->if_name));
    for (req = 0; req < UCT_TCP_ZC_REQ_LAST; ++req) {
        uct_tcp_zc_caps_set(caps, req, UCT_TCP_ZC_REQ_STATE_UNKNOWN,
                            "not queried");
    }

    caps->ifindex = if_nametoindex(if_name);
    if (caps->ifindex == 0) {
        ucs_diag("tcp_zc: no network device %s: %m", if_name);
        return UCS_ERR_NO_DEVICE;
    }

    if (flags & UCT_TCP_ZC_CAPS_SEND) {
        uct_tcp_zc_caps_send(caps);
    }

    if (flags & UCT_TCP_ZC_CAPS_DEVMEM) {
        uct_tcp_zc_caps_devmem(caps, flags);
    }

    return UCS_OK;
}

const char *uct_tcp_zc_req_name(uct_tcp_zc_req_t req)
{
    return uct_tcp_zc_reqs[req].name;
}

unsigned uct_tcp_zc_req_paths(uct_tcp_zc_req_t req)
{
    return uct_tcp_zc_reqs[req].paths;
}

const char *uct_tcp_zc_path_name(unsigned path)
{
    switch (path) {
    case UCT_TCP_ZC_PATH_MSG_ZEROCOPY:
        return "msg-zerocopy";
    case UCT_TCP_ZC_PATH_URING:
        return "io_uring";
    case UCT_TCP_ZC_PATH_DEVMEM_RX:
        return "devmem-rx";
    case UCT_TCP_ZC_PATH_DEVMEM_TX:
        return "devmem-tx";
    default:
        return "?";
    }
}

int uct_tcp_zc_caps_path_ok(const uct_tcp_zc_caps_t *caps, unsigned path)
{
    uct_tcp_zc_req_t req;

    for (req = 0; req < UCT_TCP_ZC_REQ_LAST; ++req) {
        if ((uct_tcp_zc_reqs[req].paths & path) &&
            (caps->reqs[req].state != UCT_TCP_ZC_REQ_STATE_YES)) {
            return 0;
        }
    }

    return 1;
}

void uct_tcp_zc_caps_log_missing(const uct_tcp_zc_caps_t *caps, unsigned path,
                                 ucs_log_level_t level)
{
    uct_tcp_zc_req_t req;

    for (req = 0; req < UCT_TCP_ZC_REQ_LAST; ++req) {
        if ((uct_tcp_zc_reqs[req].paths & path) &&
            (caps->reqs[req].state != UCT_TCP_ZC_REQ_STATE_YES)) {
            ucs_log(level, "tcp_zc %s: %s needs %s: %s: %s", caps->if_name,
                    uct_tcp_zc_path_name(path), uct_tcp_zc_reqs[req].name,
                    (caps->reqs[req].state == UCT_TCP_ZC_REQ_STATE_NO) ?
                            "no" :
                            "unknown",
                    caps->reqs[req].reason);
        }
    }
}
