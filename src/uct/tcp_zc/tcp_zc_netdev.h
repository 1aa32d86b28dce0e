/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_NETDEV_H
#define UCT_TCP_ZC_NETDEV_H

#include "tcp_zc_genl.h"

/*
 * Client of the kernel's "netdev" generic netlink family (tcp_zc_netdev.c):
 * queues of a device, and dmabuf bindings for devmem TCP (bind-rx, bind-tx).
 */

struct nl_msg;


typedef enum {
    UCT_TCP_ZC_NETDEV_QUEUE_RX = 0,
    UCT_TCP_ZC_NETDEV_QUEUE_TX = 1
} uct_tcp_zc_netdev_queue_type_t;


typedef struct uct_tcp_zc_netdev_queue {
    uint32_t                       id;
    uct_tcp_zc_netdev_queue_type_t type;
    uint32_t                       napi_id;  /* 0 if none */
    uint32_t                       dmabuf;   /* binding id, 0 if not bound */
} uct_tcp_zc_netdev_queue_t;


/* A dmabuf binding: owns its netlink socket, closing it unbinds */
typedef struct uct_tcp_zc_netdev_binding uct_tcp_zc_netdev_binding_t;


/** Open the netdev family (socket, family id, its operations) */
ucs_status_t uct_tcp_zc_netdev_open(uct_tcp_zc_genl_t *genl,
                                    uct_tcp_zc_genl_err_t *err);

/** Whether the kernel has the netdev command, e.g. NETDEV_CMD_BIND_RX */
int uct_tcp_zc_netdev_has_op(const uct_tcp_zc_genl_t *genl, uint8_t cmd);

/**
 * queue-get dump of a device: *queues_p (ucs_free) with *count_p entries,
 * RX queues first, each type by id.
 */
ucs_status_t uct_tcp_zc_netdev_queue_get(uct_tcp_zc_genl_t *genl, int ifindex,
                                         uct_tcp_zc_netdev_queue_t **queues_p,
                                         unsigned *count_p,
                                         uct_tcp_zc_genl_err_t *err);

/**
 * Bind a dmabuf to RX queues of a device. The binding gets a netlink socket
 * of its own, on which nothing else is sent; the dmabuf fd may be closed
 * after. Errors: the kernel's errno and extack in err, logged.
 */
ucs_status_t uct_tcp_zc_netdev_bind_rx(int ifindex, const uint32_t *queue_ids,
                                       unsigned num_queues, int dmabuf_fd,
                                       uct_tcp_zc_netdev_binding_t **binding_p,
                                       uct_tcp_zc_genl_err_t *err);

/** Bind a dmabuf for devmem TX on a device */
ucs_status_t uct_tcp_zc_netdev_bind_tx(int ifindex, int dmabuf_fd,
                                       uct_tcp_zc_netdev_binding_t **binding_p,
                                       uct_tcp_zc_genl_err_t *err);

/** The kernel's id of the binding (dmabuf_id of devmem cmsgs) */
uint32_t
uct_tcp_zc_netdev_binding_id(const uct_tcp_zc_netdev_binding_t *binding);

/** Unbind: closes the binding's socket */
void uct_tcp_zc_netdev_binding_destroy(uct_tcp_zc_netdev_binding_t *binding);

/*
 * Message building, exposed for unit tests: append the attributes of a
 * bind-rx / bind-tx request to msg.
 */
int uct_tcp_zc_netdev_put_bind_rx(struct nl_msg *msg, int ifindex,
                                  const uint32_t *queue_ids,
                                  unsigned num_queues, int dmabuf_fd);
int uct_tcp_zc_netdev_put_bind_tx(struct nl_msg *msg, int ifindex,
                                  int dmabuf_fd);

#endif
