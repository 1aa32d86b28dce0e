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
#include "tcp_zc_devmem.h"
#include "tcp_zc_ethtool.h"
#include "tcp_zc_netdev.h"
#include "tcp_zc_uapi.h"

#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <ucs/sys/sys.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Device memory TCP of an iface: whether its device meets every requirement
 * (UCX_TCP_ZC_DEVMEM), the NIC setup which the iface may make and undoes
 * (UCX_TCP_ZC_DEVMEM_SETUP); and the socket calls of the devmem data path
 * (tcp_zc_devmem.h): every devmem control message goes through here.
 */


#define UCT_TCP_ZC_DEVMEM_PATHS \
    (UCT_TCP_ZC_PATH_DEVMEM_RX | UCT_TCP_ZC_PATH_DEVMEM_TX)

/* What the iface asks of its device: the devmem requirements, SO_ZEROCOPY
 * for devmem send, and bind probes with a small udmabuf (bound and let go at
 * once; a memfd where the kernel has no udmabuf, which kernels refuse
 * before or after their device checks) */
#define UCT_TCP_ZC_DEVMEM_CAPS \
    (UCT_TCP_ZC_CAPS_SEND | UCT_TCP_ZC_CAPS_DEVMEM | \
     UCT_TCP_ZC_CAPS_PROBE_BIND | UCT_TCP_ZC_CAPS_PROBE_DMABUF)


/* Unbind and free the RX pool of an iface, and its steering rule */
static void uct_tcp_zc_devmem_pool_free(uct_tcp_zc_iface_t *iface)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 64];
    uct_tcp_zc_genl_err_t err;

    if (iface->devmem.rule_set) {
        if (uct_tcp_zc_ethtool_ntuple_delete(iface->if_name,
                                             iface->devmem.rule_location,
                                             &err) != UCS_OK) {
            ucs_diag("tcp_zc %s: removing the ntuple rule of data port %u: "
                     "%s", iface->if_name, iface->dc.port,
                     uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));
        }
        iface->devmem.rule_set = 0;
    }

    if (iface->dc.pool != NULL) {
        uct_tcp_zc_devmem_pool_destroy(iface->dc.pool);
        ucs_free(iface->dc.pool);
        iface->dc.pool = NULL;
    }
}

/* Requirements the setup mode can meet by changing the NIC */
static int uct_tcp_zc_devmem_setup_helps(const uct_tcp_zc_caps_t *caps)
{
    static const uct_tcp_zc_req_t settable[] = {
        UCT_TCP_ZC_REQ_HEADER_SPLIT, UCT_TCP_ZC_REQ_HDS_THRESH,
        UCT_TCP_ZC_REQ_NTUPLE, UCT_TCP_ZC_REQ_RSS
    };
    unsigned i;

    if (caps->num_rx_queues < 2) {
        return 0;
    }

    for (i = 0; i < ucs_static_array_size(settable); ++i) {
        if (caps->reqs[settable[i]].state != UCT_TCP_ZC_REQ_STATE_YES) {
            return 1;
        }
    }

    return 0;
}

static ucs_status_t
uct_tcp_zc_devmem_setup(uct_tcp_zc_iface_t *iface, uct_tcp_zc_caps_t *caps,
                        uint32_t queue)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 64];
    uct_tcp_zc_genl_err_t err;
    ucs_status_t status;

    status = uct_tcp_zc_ethtool_setup(iface->if_name, caps->ifindex, queue,
                                      iface->if_addr.ss_family,
                                      iface->dc.port, &iface->devmem.setup,
                                      &err);
    if (status != UCS_OK) {
        ucs_diag("tcp_zc %s: devmem NIC setup failed, the device is left as "
                 "it was: %s", iface->if_name,
                 uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));
        return status;
    }

    ucs_debug("tcp_zc %s: set up for devmem on RX queue %u, data port %u",
              iface->if_name, queue, iface->dc.port);
    return uct_tcp_zc_caps_query(iface->if_name, UCT_TCP_ZC_DEVMEM_CAPS,
                                 caps);
}

/* The local rank of this process on its host, as MPI launchers say it;
 * 0 if none does */
static unsigned uct_tcp_zc_devmem_local_rank(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK",
                                 "MPI_LOCALRANKID", "SLURM_LOCALID",
                                 "PMIX_LOCAL_RANK"};
    const char *value;
    unsigned i;

    for (i = 0; i < ucs_static_array_size(vars); ++i) {
        value = getenv(vars[i]);
        if ((value != NULL) && (*value != '\0')) {
            return strtoul(value, NULL, 10);
        }
    }

    return 0;
}

/*
 * The RX queues to bind: UCX_TCP_ZC_DEVMEM_QUEUES "auto" is the last queue
 * less the local rank (each rank of a host its own), else "N" or "N-M".
 * Queue 0 stays for the rest of the traffic.
 */
static ucs_status_t uct_tcp_zc_devmem_queues(const uct_tcp_zc_iface_t *iface,
                                             const char *spec,
                                             unsigned num_rx_queues,
                                             uint32_t *first_p,
                                             unsigned *count_p)
{
    unsigned rank, first, last;
    char *end;

    if (num_rx_queues < 2) {
        return UCS_ERR_UNSUPPORTED;
    }

    if (!strcmp(spec, "auto")) {
        rank = uct_tcp_zc_devmem_local_rank();
        if (rank >= num_rx_queues - 1) {
            return UCS_ERR_UNSUPPORTED;
        }

        *first_p = num_rx_queues - 1 - rank;
        *count_p = 1;
        return UCS_OK;
    }

    first = strtoul(spec, &end, 10);
    last  = first;
    if (*end == '-') {
        last = strtoul(end + 1, &end, 10);
    }

    if ((end == spec) || (*end != '\0') || (first == 0) || (last < first) ||
        (last >= num_rx_queues)) {
        ucs_error("tcp_zc %s: invalid UCX_" UCT_TCP_ZC_CONFIG_PREFIX
                  "DEVMEM_QUEUES '%s': 'auto', 'N' or 'N-M', 1 <= N <= M < "
                  "%u", iface->if_name, spec, num_rx_queues);
        return UCS_ERR_INVALID_PARAM;
    }

    *first_p = first;
    *count_p = last - first + 1;
    return UCS_OK;
}

/* Why no RX queue is left for this process */
static void uct_tcp_zc_devmem_queues_log(const uct_tcp_zc_iface_t *iface,
                                         unsigned num_rx_queues,
                                         ucs_log_level_t level)
{
    ucs_log(level, "tcp_zc %s: devmem is off: no RX queue for this process "
            "(%u queues, queue 0 is shared, local rank %u)", iface->if_name,
            num_rx_queues, uct_tcp_zc_devmem_local_rank());
}

/* Steer the data port to the bound queue: one ntuple rule of the iface */
static ucs_status_t uct_tcp_zc_devmem_steer(uct_tcp_zc_iface_t *iface,
                                            uint32_t queue,
                                            ucs_log_level_t level)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 64];
    uct_tcp_zc_ethtool_ntuple_rule_t rule;
    uct_tcp_zc_genl_err_t err;
    ucs_status_t status;

    rule.location = 0;
    rule.family   = iface->if_addr.ss_family;
    rule.dst_port = iface->dc.port;
    rule.queue    = queue;
    status        = uct_tcp_zc_ethtool_ntuple_insert(iface->if_name, &rule,
                                                     &err);
    if (status != UCS_OK) {
        ucs_log(level, "tcp_zc %s: devmem receive is off: the ntuple rule "
                "from data port %u to RX queue %u: %s", iface->if_name,
                iface->dc.port, queue,
                uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));
        return UCS_ERR_UNSUPPORTED;
    }

    iface->devmem.rule_location = rule.location;
    iface->devmem.rule_set      = 1;
    return UCS_OK;
}

ucs_status_t uct_tcp_zc_devmem_init(uct_tcp_zc_iface_t *iface,
                                    const uct_tcp_zc_iface_config_t *config)
{
    ucs_ternary_auto_value_t mode = config->devmem;
    ucs_log_level_t level = (mode == UCS_YES) ? UCS_LOG_LEVEL_ERROR :
                                                UCS_LOG_LEVEL_DEBUG;
    ucs_status_t status, queue_status;
    uct_tcp_zc_caps_t caps;
    unsigned num_queues;
    uint32_t queue;

    iface->devmem.setup    = NULL;
    iface->devmem.rule_set = 0;
    iface->devmem.tx       = 0;
    iface->devmem.ifindex  = 0;
    iface->dc.pool         = NULL;
    if (mode == UCS_NO) {
        return UCS_OK;
    }

    if (iface->is_loopback) {
        ucs_log(level, "tcp_zc %s: devmem needs a NIC, this is a loopback "
                "device", iface->if_name);
        return (mode == UCS_YES) ? UCS_ERR_UNSUPPORTED : UCS_OK;
    } else if (!iface->dc.enabled) {
        ucs_log(level, "tcp_zc %s: devmem receive needs data connections "
                "(UCX_" UCT_TCP_ZC_CONFIG_PREFIX "DATA_CONN=n)",
                iface->if_name);
        return (mode == UCS_YES) ? UCS_ERR_UNSUPPORTED : UCS_OK;
    }

    status = uct_tcp_zc_caps_query(iface->if_name, UCT_TCP_ZC_DEVMEM_CAPS,
                                   &caps);
    if (status != UCS_OK) {
        return (mode == UCS_YES) ? status : UCS_OK;
    }

    queue_status = uct_tcp_zc_devmem_queues(iface, config->devmem_queues,
                                            caps.num_rx_queues, &queue,
                                            &num_queues);
    if (queue_status == UCS_ERR_INVALID_PARAM) {
        return queue_status;
    }

    if (config->devmem_setup && (queue_status == UCS_OK) &&
        uct_tcp_zc_devmem_setup_helps(&caps)) {
        status = uct_tcp_zc_devmem_setup(iface, &caps, queue);
        if ((status != UCS_OK) && (mode == UCS_YES)) {
            goto err_undo;
        }
    }

    iface->devmem.ifindex = caps.ifindex;
    iface->devmem.tx      = uct_tcp_zc_caps_path_ok(&caps,
                                                    UCT_TCP_ZC_PATH_DEVMEM_TX);
    if (!uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_DEVMEM_RX) ||
        ((mode == UCS_YES) && !iface->devmem.tx)) {
        ucs_log(level, "tcp_zc %s: devmem is off, missing:", iface->if_name);
        uct_tcp_zc_caps_log_missing(&caps, UCT_TCP_ZC_PATH_DEVMEM_RX, level);
        uct_tcp_zc_caps_log_missing(&caps, UCT_TCP_ZC_PATH_DEVMEM_TX, level);
        status = UCS_ERR_UNSUPPORTED;
        goto err_off;
    } else if (queue_status != UCS_OK) {
        uct_tcp_zc_devmem_queues_log(iface, caps.num_rx_queues, level);
        status = queue_status;
        goto err_off;
    }

    iface->dc.pool = ucs_malloc(sizeof(*iface->dc.pool), "tcp_zc devmem pool");
    if (iface->dc.pool == NULL) {
        status = UCS_ERR_NO_MEMORY;
        goto err_undo;
    }

    status = uct_tcp_zc_devmem_pool_create(iface->if_name, caps.ifindex,
                                           &queue, 1, config->devmem_pool_size,
                                           iface->dc.pool);
    if (status != UCS_OK) {
        ucs_free(iface->dc.pool);
        iface->dc.pool = NULL;
        goto err_off;
    }

    /* the setup made the rule; else this iface makes its own */
    if ((iface->devmem.setup == NULL) &&
        (uct_tcp_zc_devmem_steer(iface, queue, level) != UCS_OK)) {
        status = UCS_ERR_UNSUPPORTED;
        goto err_off;
    }

    ucs_debug("tcp_zc %s: devmem receive on RX queue %u (data port %u, pool "
              "of %zu bytes), devmem send %s", iface->if_name, queue,
              iface->dc.port, iface->dc.pool->size,
              iface->devmem.tx ? "on" : "off");
    return UCS_OK;

err_off:
    if (mode != UCS_YES) {
        /* a setup stays until the iface closes; the rest goes */
        uct_tcp_zc_devmem_pool_free(iface);
        iface->devmem.tx = 0;
        return UCS_OK;
    }
err_undo:
    uct_tcp_zc_devmem_cleanup(iface);
    return status;
}

void uct_tcp_zc_devmem_cleanup(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_devmem_pool_free(iface);
    iface->devmem.tx = 0;
    if (iface->devmem.setup != NULL) {
        uct_tcp_zc_ethtool_setup_undo(iface->devmem.setup);
        iface->devmem.setup = NULL;
    }
}

ssize_t uct_tcp_zc_devmem_recvmsg(int fd, struct iovec *iov, size_t iovcnt,
                                  void *control, size_t *controllen_p,
                                  int *msg_flags_p)
{
    struct msghdr msg;
    ssize_t ret;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov        = iov;
    msg.msg_iovlen     = iovcnt;
    msg.msg_control    = control;
    msg.msg_controllen = *controllen_p;

    ret = recvmsg(fd, &msg, MSG_SOCK_DEVMEM | MSG_DONTWAIT);
    if (ret < 0) {
        *controllen_p = 0;
        *msg_flags_p  = 0;
        return ret;
    }

    *controllen_p = msg.msg_controllen;
    *msg_flags_p  = msg.msg_flags;
    return ret;
}

ucs_status_t uct_tcp_zc_devmem_tokens_return(int fd,
                                             uct_tcp_zc_dmrx_tokens_t *tokens,
                                             unsigned *freed_p)
{
    int ret;

    if (tokens->num_ranges == 0) {
        ret = 0;
    } else {
        ret = setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, tokens->ranges,
                         uct_tcp_zc_dmrx_tokens_optlen(tokens));
        if (ret < 0) {
            ucs_error("tcp_zc: setsockopt(fd %d, SO_DEVMEM_DONTNEED, %u "
                      "ranges, %u tokens) failed: %m", fd, tokens->num_ranges,
                      tokens->num_tokens);
            return UCS_ERR_IO_ERROR;
        }
    }

    uct_tcp_zc_dmrx_tokens_init(tokens);
    if (freed_p != NULL) {
        *freed_p = ret;
    }
    return UCS_OK;
}

size_t uct_tcp_zc_devmem_tx_cmsg(void *control, uint32_t binding_id)
{
    struct cmsghdr *cmsg = control;

    memset(control, 0, UCT_TCP_ZC_DEVMEM_TX_CONTROL_LEN);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type  = SCM_DEVMEM_DMABUF;
    /* the kernel takes exactly CMSG_LEN(4) */
    cmsg->cmsg_len   = CMSG_LEN(sizeof(binding_id));
    memcpy(CMSG_DATA(cmsg), &binding_id, sizeof(binding_id));
    return UCT_TCP_ZC_DEVMEM_TX_CONTROL_LEN;
}

ssize_t uct_tcp_zc_devmem_sendv(int fd, const struct iovec *iov,
                                unsigned iovcnt, uint32_t binding_id)
{
    union {
        struct cmsghdr align;
        char           buf[UCT_TCP_ZC_DEVMEM_TX_CONTROL_LEN];
    } control;
    struct msghdr msg;
    ssize_t ret;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov        = (struct iovec*)iov;
    msg.msg_iovlen     = iovcnt;
    msg.msg_control    = control.buf;
    msg.msg_controllen = uct_tcp_zc_devmem_tx_cmsg(control.buf, binding_id);
    do {
        ret = sendmsg(fd, &msg, MSG_ZEROCOPY | MSG_NOSIGNAL | MSG_DONTWAIT);
    } while ((ret < 0) && (errno == EINTR));

    if ((ret < 0) && ((errno == EAGAIN) || (errno == EWOULDBLOCK))) {
        return 0;
    }

    return ret;
}

int uct_tcp_zc_devmem_udmabuf_create(size_t size)
{
    struct udmabuf_create create;
    int memfd, dev, fd, saved;

    memfd = memfd_create("tcp_zc devmem pool", MFD_CLOEXEC |
                                               MFD_ALLOW_SEALING);
    if (memfd < 0) {
        return -1;
    }

    /* udmabuf takes only memfds which cannot shrink */
    if ((ftruncate(memfd, size) != 0) ||
        (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) != 0)) {
        goto err_close;
    }

    dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        goto err_close;
    }

    memset(&create, 0, sizeof(create));
    create.memfd  = memfd;
    create.flags  = UDMABUF_FLAGS_CLOEXEC;
    create.offset = 0;
    create.size   = size;
    fd            = ioctl(dev, UDMABUF_CREATE, &create);
    saved         = errno;
    close(dev);
    /* the udmabuf holds the pages */
    close(memfd);
    errno = saved;
    return fd;

err_close:
    saved = errno;
    close(memfd);
    errno = saved;
    return -1;
}

ucs_status_t uct_tcp_zc_devmem_pool_create(const char *if_name, int ifindex,
                                           const uint32_t *queues,
                                           unsigned num_queues, size_t size,
                                           uct_tcp_zc_devmem_pool_t *pool)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 64];
    uct_tcp_zc_genl_err_t err;
    ucs_status_t status;

    pool->size      = ucs_align_up(size, ucs_get_page_size());
    pool->map       = MAP_FAILED;
    pool->binding   = NULL;
    pool->dmabuf_fd = uct_tcp_zc_devmem_udmabuf_create(pool->size);
    if (pool->dmabuf_fd < 0) {
        ucs_diag("tcp_zc %s: devmem RX pool of %zu bytes: udmabuf: %m%s",
                 if_name, pool->size,
                 (errno == ENOENT) ? " (the kernel has no /dev/udmabuf)" : "");
        return UCS_ERR_UNSUPPORTED;
    }

    pool->map = mmap(NULL, pool->size, PROT_READ, MAP_SHARED, pool->dmabuf_fd,
                     0);
    if (pool->map == MAP_FAILED) {
        ucs_diag("tcp_zc %s: devmem RX pool: mmap of the udmabuf failed: %m",
                 if_name);
        status = UCS_ERR_IO_ERROR;
        goto err_close;
    }

    status = uct_tcp_zc_netdev_bind_rx(ifindex, queues, num_queues,
                                       pool->dmabuf_fd, &pool->binding, &err);
    if (status != UCS_OK) {
        uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf));
        if (err.error == EEXIST) {
            ucs_diag("tcp_zc %s: devmem receive is off: RX queue %u%s already "
                     "has a memory provider (another process's devmem "
                     "binding, or an XDP program): %s", if_name, queues[0],
                     (num_queues > 1) ? " or another" : "", buf);
            status = UCS_ERR_BUSY;
        } else if (err.error == EPERM) {
            ucs_diag("tcp_zc %s: devmem receive is off: bind-rx needs "
                     "CAP_NET_ADMIN: %s", if_name, buf);
            status = UCS_ERR_UNSUPPORTED;
        } else {
            ucs_diag("tcp_zc %s: devmem receive is off: bind-rx: %s",
                     if_name, buf);
            status = ((err.error == EOPNOTSUPP) || (err.error == EINVAL) ||
                      (err.error == ENODATA)) ? UCS_ERR_UNSUPPORTED :
                                                UCS_ERR_IO_ERROR;
        }
        goto err_unmap;
    }

    pool->desc.dmabuf_id = uct_tcp_zc_netdev_binding_id(pool->binding);
    pool->desc.size      = pool->size;
    ucs_debug("tcp_zc %s: devmem RX pool of %zu bytes bound to %u queue(s) "
              "from %u, binding id %u", if_name, pool->size, num_queues,
              queues[0], pool->desc.dmabuf_id);
    return UCS_OK;

err_unmap:
    munmap(pool->map, pool->size);
    pool->map = MAP_FAILED;
err_close:
    close(pool->dmabuf_fd);
    pool->dmabuf_fd = -1;
    return status;
}

void uct_tcp_zc_devmem_pool_destroy(uct_tcp_zc_devmem_pool_t *pool)
{
    if (pool->binding != NULL) {
        uct_tcp_zc_netdev_binding_destroy(pool->binding);
        pool->binding = NULL;
    }

    if (pool->map != MAP_FAILED) {
        munmap(pool->map, pool->size);
        pool->map = MAP_FAILED;
    }

    if (pool->dmabuf_fd >= 0) {
        close(pool->dmabuf_fd);
        pool->dmabuf_fd = -1;
    }
}
