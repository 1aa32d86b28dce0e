/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_netdev.h"
#include "tcp_zc_uapi.h"

#include <ucs/debug/log.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/math.h>
#include <ucs/sys/string.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <errno.h>
#include <stdlib.h>


/*
 * The kernel's "netdev" generic netlink family: queues of a device, and
 * dmabuf bindings for devmem TCP. The kernel ties a binding to the netlink
 * socket which created it: there is no unbind command, closing the socket
 * unbinds. So each binding opens a socket of its own, sends its bind request
 * on it and nothing else, and keeps it until the binding is destroyed.
 */


struct uct_tcp_zc_netdev_binding {
    uct_tcp_zc_genl_t genl;    /* the socket which owns the binding */
    uint32_t          id;      /* the kernel's binding id, 0 until bound */
    int               ifindex;
    const char        *op;     /* "bind-rx", "bind-tx" */
};


/* A growing array of the queues of a queue-get dump */
typedef struct uct_tcp_zc_netdev_queues {
    int                       ifindex;
    uct_tcp_zc_netdev_queue_t *queues;
    unsigned                  count;
    unsigned                  max;
} uct_tcp_zc_netdev_queues_t;


static const struct nla_policy
uct_tcp_zc_netdev_queue_policy[NETDEV_A_QUEUE_DMABUF + 1] = {
    [NETDEV_A_QUEUE_ID]      = { .type = NLA_U32 },
    [NETDEV_A_QUEUE_IFINDEX] = { .type = NLA_U32 },
    [NETDEV_A_QUEUE_TYPE]    = { .type = NLA_U32 },
    [NETDEV_A_QUEUE_NAPI_ID] = { .type = NLA_U32 },
    [NETDEV_A_QUEUE_DMABUF]  = { .type = NLA_U32 }
};

static const struct nla_policy
uct_tcp_zc_netdev_dmabuf_policy[NETDEV_A_DMABUF_ID + 1] = {
    [NETDEV_A_DMABUF_ID] = { .type = NLA_U32 }
};


ucs_status_t uct_tcp_zc_netdev_open(uct_tcp_zc_genl_t *genl,
                                    uct_tcp_zc_genl_err_t *err)
{
    return uct_tcp_zc_genl_open(genl, NETDEV_FAMILY_NAME, err);
}

int uct_tcp_zc_netdev_has_op(const uct_tcp_zc_genl_t *genl, uint8_t cmd)
{
    return uct_tcp_zc_genl_has_op(genl, cmd);
}

/* The kernel has the command: its family lists it (each netdev command came
 * with a kernel version, and some depend on the kernel's configuration) */
static ucs_status_t uct_tcp_zc_netdev_check_op(const uct_tcp_zc_genl_t *genl,
                                               uint8_t cmd, const char *op,
                                               uct_tcp_zc_genl_err_t *err)
{
    if (uct_tcp_zc_netdev_has_op(genl, cmd)) {
        return UCS_OK;
    }

    ucs_diag("netdev: the kernel has no %s command (%u)", op, cmd);
    if (err != NULL) {
        uct_tcp_zc_genl_err_init(err);
        /* what the kernel answers to a command it does not know */
        err->error = EOPNOTSUPP;
    }

    return UCS_ERR_UNSUPPORTED;
}

static int uct_tcp_zc_netdev_queue_cb(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_netdev_queues_t *queues = arg;
    struct nlattr *tb[NETDEV_A_QUEUE_DMABUF + 1];
    uct_tcp_zc_netdev_queue_t *queue;
    uint32_t type;
    void *ptr;

    if ((genlmsg_parse(nlmsg_hdr(msg), 0, tb, NETDEV_A_QUEUE_DMABUF,
                       uct_tcp_zc_netdev_queue_policy) < 0) ||
        (tb[NETDEV_A_QUEUE_ID] == NULL) || (tb[NETDEV_A_QUEUE_TYPE] == NULL)) {
        ucs_error("netdev: invalid queue-get reply for ifindex %d",
                  queues->ifindex);
        return UCS_ERR_IO_ERROR;
    }

    /* newer kernels may add queue types (e.g. for other providers) */
    type = nla_get_u32(tb[NETDEV_A_QUEUE_TYPE]);
    if ((type != NETDEV_QUEUE_TYPE_RX) && (type != NETDEV_QUEUE_TYPE_TX)) {
        return 0;
    }

    if ((tb[NETDEV_A_QUEUE_IFINDEX] != NULL) &&
        (nla_get_u32(tb[NETDEV_A_QUEUE_IFINDEX]) != queues->ifindex)) {
        return 0;
    }

    if (queues->count == queues->max) {
        queues->max = ucs_max(queues->max * 2, 8);
        ptr         = ucs_realloc(queues->queues,
                                  queues->max * sizeof(*queues->queues),
                                  "tcp_zc_netdev_queues");
        if (ptr == NULL) {
            ucs_error("netdev: failed to allocate %u queues", queues->max);
            return UCS_ERR_NO_MEMORY;
        }

        queues->queues = ptr;
    }

    queue          = &queues->queues[queues->count++];
    queue->id      = nla_get_u32(tb[NETDEV_A_QUEUE_ID]);
    queue->type    = (type == NETDEV_QUEUE_TYPE_RX) ?
                     UCT_TCP_ZC_NETDEV_QUEUE_RX : UCT_TCP_ZC_NETDEV_QUEUE_TX;
    queue->napi_id = (tb[NETDEV_A_QUEUE_NAPI_ID] != NULL) ?
                     nla_get_u32(tb[NETDEV_A_QUEUE_NAPI_ID]) : 0;
    queue->dmabuf  = (tb[NETDEV_A_QUEUE_DMABUF] != NULL) ?
                     nla_get_u32(tb[NETDEV_A_QUEUE_DMABUF]) : 0;
    return 0;
}

/* RX queues first, then TX; each type by id */
static int uct_tcp_zc_netdev_queue_cmp(const void *a, const void *b)
{
    const uct_tcp_zc_netdev_queue_t *qa = a;
    const uct_tcp_zc_netdev_queue_t *qb = b;

    if (qa->type != qb->type) {
        return (qa->type == UCT_TCP_ZC_NETDEV_QUEUE_RX) ? -1 : 1;
    }

    return (qa->id > qb->id) - (qa->id < qb->id);
}

ucs_status_t uct_tcp_zc_netdev_queue_get(uct_tcp_zc_genl_t *genl, int ifindex,
                                         uct_tcp_zc_netdev_queue_t **queues_p,
                                         unsigned *count_p,
                                         uct_tcp_zc_genl_err_t *err)
{
    uct_tcp_zc_netdev_queues_t queues;
    ucs_status_t status;
    struct nl_msg *msg;

    status = uct_tcp_zc_netdev_check_op(genl, NETDEV_CMD_QUEUE_GET,
                                        "queue-get", err);
    if (status != UCS_OK) {
        return status;
    }

    msg = uct_tcp_zc_genl_msg(genl, NETDEV_CMD_QUEUE_GET, NLM_F_DUMP);
    if ((msg == NULL) ||
        (nla_put_u32(msg, NETDEV_A_QUEUE_IFINDEX, ifindex) < 0)) {
        ucs_error("netdev: failed to build a queue-get request");
        nlmsg_free(msg);
        return UCS_ERR_NO_MEMORY;
    }

    queues.ifindex = ifindex;
    queues.queues  = NULL;
    queues.count   = 0;
    queues.max     = 0;
    status         = uct_tcp_zc_genl_request(genl, msg,
                                             uct_tcp_zc_netdev_queue_cb,
                                             &queues, err);
    if (status != UCS_OK) {
        ucs_free(queues.queues);
        return status;
    }

    qsort(queues.queues, queues.count, sizeof(*queues.queues),
          uct_tcp_zc_netdev_queue_cmp);
    *queues_p = queues.queues;
    *count_p  = queues.count;
    return UCS_OK;
}

/* The device and the dmabuf, first attributes of both bind requests */
static int uct_tcp_zc_netdev_put_dmabuf(struct nl_msg *msg, int ifindex,
                                        int dmabuf_fd)
{
    int ret;

    ret = nla_put_u32(msg, NETDEV_A_DMABUF_IFINDEX, ifindex);
    if (ret < 0) {
        return ret;
    }

    return nla_put_u32(msg, NETDEV_A_DMABUF_FD, dmabuf_fd);
}

int uct_tcp_zc_netdev_put_bind_rx(struct nl_msg *msg, int ifindex,
                                  const uint32_t *queue_ids,
                                  unsigned num_queues, int dmabuf_fd)
{
    struct nlattr *nest;
    unsigned i;
    int ret;

    ret = uct_tcp_zc_netdev_put_dmabuf(msg, ifindex, dmabuf_fd);
    if (ret < 0) {
        return ret;
    }

    /* one QUEUES attribute per queue, not an array of them */
    for (i = 0; i < num_queues; ++i) {
        nest = nla_nest_start(msg, NETDEV_A_DMABUF_QUEUES);
        if (nest == NULL) {
            return -NLE_NOMEM;
        }

        /* the kernel refuses a nest without the flag; libnl sets it since
         * 3.5, older versions did not */
        nest->nla_type |= NLA_F_NESTED;

        ret = nla_put_u32(msg, NETDEV_A_QUEUE_ID, queue_ids[i]);
        if (ret < 0) {
            return ret;
        }

        ret = nla_put_u32(msg, NETDEV_A_QUEUE_TYPE, NETDEV_QUEUE_TYPE_RX);
        if (ret < 0) {
            return ret;
        }

        ret = nla_nest_end(msg, nest);
        if (ret < 0) {
            return ret;
        }
    }

    return 0;
}

int uct_tcp_zc_netdev_put_bind_tx(struct nl_msg *msg, int ifindex,
                                  int dmabuf_fd)
{
    return uct_tcp_zc_netdev_put_dmabuf(msg, ifindex, dmabuf_fd);
}

static int uct_tcp_zc_netdev_bind_cb(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_netdev_binding_t *binding = arg;
    struct nlattr *tb[NETDEV_A_DMABUF_ID + 1];

    if ((genlmsg_parse(nlmsg_hdr(msg), 0, tb, NETDEV_A_DMABUF_ID,
                       uct_tcp_zc_netdev_dmabuf_policy) < 0) ||
        (tb[NETDEV_A_DMABUF_ID] == NULL)) {
        ucs_error("netdev: %s reply for ifindex %d without a binding id",
                  binding->op, binding->ifindex);
        return UCS_ERR_IO_ERROR;
    }

    binding->id = nla_get_u32(tb[NETDEV_A_DMABUF_ID]);
    return 0;
}

static void uct_tcp_zc_netdev_bind_log_error(
        const uct_tcp_zc_netdev_binding_t *binding, int dmabuf_fd,
        const uct_tcp_zc_genl_err_t *err)
{
    char err_str[UCT_TCP_ZC_GENL_MSG_MAX + 128];

    /* a device without devmem support refuses: expected, so not an error */
    uct_tcp_zc_genl_err_str(err, err_str, sizeof(err_str));
    if ((err->error == EPERM) || (err->error == EACCES)) {
        ucs_diag("netdev %s of dmabuf fd %d on ifindex %d: %s: the process "
                 "lacks the privilege CAP_NET_ADMIN", binding->op, dmabuf_fd,
                 binding->ifindex, err_str);
    } else {
        ucs_diag("netdev %s of dmabuf fd %d on ifindex %d: %s", binding->op,
                 dmabuf_fd, binding->ifindex, err_str);
    }
}

/* bind-rx or bind-tx, on a socket of the binding's own */
static ucs_status_t
uct_tcp_zc_netdev_bind(uint8_t cmd, const char *op, int ifindex,
                       const uint32_t *queue_ids, unsigned num_queues,
                       int dmabuf_fd, uct_tcp_zc_netdev_binding_t **binding_p,
                       uct_tcp_zc_genl_err_t *err)
{
    uct_tcp_zc_netdev_binding_t *binding;
    uct_tcp_zc_genl_err_t local_err;
    ucs_status_t status;
    struct nl_msg *msg;
    int ret;

    if (err == NULL) {
        err = &local_err;
    }

    binding = ucs_calloc(1, sizeof(*binding), "tcp_zc_netdev_binding");
    if (binding == NULL) {
        ucs_error("netdev: failed to allocate a binding");
        return UCS_ERR_NO_MEMORY;
    }

    binding->ifindex = ifindex;
    binding->op      = op;

    status = uct_tcp_zc_netdev_open(&binding->genl, err);
    if (status == UCS_ERR_UNSUPPORTED) {
        ucs_diag("netdev %s on ifindex %d: the kernel has no netdev family",
                 op, ifindex);
        goto err_free;
    } else if (status != UCS_OK) {
        goto err_free;
    }

    status = uct_tcp_zc_netdev_check_op(&binding->genl, cmd, op, err);
    if (status != UCS_OK) {
        goto err_close;
    }

    msg = uct_tcp_zc_genl_msg(&binding->genl, cmd, 0);
    if (msg == NULL) {
        goto err_no_memory;
    }

    if (cmd == NETDEV_CMD_BIND_RX) {
        ret = uct_tcp_zc_netdev_put_bind_rx(msg, ifindex, queue_ids,
                                            num_queues, dmabuf_fd);
    } else {
        ret = uct_tcp_zc_netdev_put_bind_tx(msg, ifindex, dmabuf_fd);
    }

    if (ret < 0) {
        nlmsg_free(msg);
        goto err_no_memory;
    }

    status = uct_tcp_zc_genl_request(&binding->genl, msg,
                                     uct_tcp_zc_netdev_bind_cb, binding, err);
    if (status != UCS_OK) {
        if (err->error != 0) {
            uct_tcp_zc_netdev_bind_log_error(binding, dmabuf_fd, err);
        }
        goto err_close;
    }

    if (binding->id == 0) {
        ucs_error("netdev: %s on ifindex %d was acknowledged without a "
                  "reply", op, ifindex);
        status = UCS_ERR_IO_ERROR;
        goto err_close;
    }

    ucs_debug("netdev %s of dmabuf fd %d on ifindex %d (%u queues): binding "
              "id %u", op, dmabuf_fd, ifindex, num_queues, binding->id);
    *binding_p = binding;
    return UCS_OK;

err_no_memory:
    ucs_error("netdev: failed to build a %s request", op);
    err->error = ENOMEM;
    status     = UCS_ERR_NO_MEMORY;
err_close:
    /* unbinds whatever the kernel may have bound */
    uct_tcp_zc_genl_close(&binding->genl);
err_free:
    ucs_free(binding);
    return status;
}

ucs_status_t uct_tcp_zc_netdev_bind_rx(int ifindex, const uint32_t *queue_ids,
                                       unsigned num_queues, int dmabuf_fd,
                                       uct_tcp_zc_netdev_binding_t **binding_p,
                                       uct_tcp_zc_genl_err_t *err)
{
    return uct_tcp_zc_netdev_bind(NETDEV_CMD_BIND_RX, "bind-rx", ifindex,
                                  queue_ids, num_queues, dmabuf_fd, binding_p,
                                  err);
}

ucs_status_t uct_tcp_zc_netdev_bind_tx(int ifindex, int dmabuf_fd,
                                       uct_tcp_zc_netdev_binding_t **binding_p,
                                       uct_tcp_zc_genl_err_t *err)
{
    return uct_tcp_zc_netdev_bind(NETDEV_CMD_BIND_TX, "bind-tx", ifindex,
                                  NULL, 0, dmabuf_fd, binding_p, err);
}

uint32_t
uct_tcp_zc_netdev_binding_id(const uct_tcp_zc_netdev_binding_t *binding)
{
    return binding->id;
}

void uct_tcp_zc_netdev_binding_destroy(uct_tcp_zc_netdev_binding_t *binding)
{
    if (binding == NULL) {
        return;
    }

    ucs_debug("netdev: unbinding %s binding id %u on ifindex %d", binding->op,
              binding->id, binding->ifindex);
    uct_tcp_zc_genl_close(&binding->genl);
    ucs_free(binding);
}
