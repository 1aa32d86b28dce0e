/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_CAPS_H
#define UCT_TCP_ZC_CAPS_H

#include <ucs/debug/log_def.h>
#include <ucs/type/status.h>
#include <net/if.h>

/*
 * Capability report: for a network device, every requirement of each tcp_zc
 * path, with yes/no and the reason (the kernel's error text, a missing
 * operation, a missing privilege). Read-only: a bind probe uses a memfd,
 * which the kernel can never bind, so no device changes.
 */


/* The paths of tcp_zc */
enum {
    UCT_TCP_ZC_PATH_MSG_ZEROCOPY = UCS_BIT(0), /* MSG_ZEROCOPY send engine */
    UCT_TCP_ZC_PATH_URING        = UCS_BIT(1), /* io_uring send engine */
    UCT_TCP_ZC_PATH_DEVMEM_RX    = UCS_BIT(2), /* devmem TCP receive */
    UCT_TCP_ZC_PATH_DEVMEM_TX    = UCS_BIT(3)  /* devmem TCP transmit */
};


typedef enum {
    UCT_TCP_ZC_REQ_SO_ZEROCOPY,
    UCT_TCP_ZC_REQ_URING_SEND_ZC,
    UCT_TCP_ZC_REQ_URING_REPORT,
    UCT_TCP_ZC_REQ_NETDEV_FAMILY,
    UCT_TCP_ZC_REQ_QUEUE_GET_OP,
    UCT_TCP_ZC_REQ_BIND_RX_OP,
    UCT_TCP_ZC_REQ_BIND_TX_OP,
    UCT_TCP_ZC_REQ_RX_QUEUES,
    UCT_TCP_ZC_REQ_HEADER_SPLIT,
    UCT_TCP_ZC_REQ_HDS_THRESH,
    UCT_TCP_ZC_REQ_NTUPLE,
    UCT_TCP_ZC_REQ_RSS,
    UCT_TCP_ZC_REQ_BIND_RX,
    UCT_TCP_ZC_REQ_BIND_TX,
    UCT_TCP_ZC_REQ_LAST
} uct_tcp_zc_req_t;


typedef enum {
    UCT_TCP_ZC_REQ_STATE_NO,
    UCT_TCP_ZC_REQ_STATE_YES,
    UCT_TCP_ZC_REQ_STATE_UNKNOWN /* not found out, the reason says why */
} uct_tcp_zc_req_state_t;


typedef struct uct_tcp_zc_req_result {
    uct_tcp_zc_req_state_t state;
    char                   reason[256];
} uct_tcp_zc_req_result_t;


typedef struct uct_tcp_zc_caps {
    char                    if_name[IFNAMSIZ];
    int                     ifindex;
    unsigned                num_rx_queues; /* 0 if not known */
    uct_tcp_zc_req_result_t reqs[UCT_TCP_ZC_REQ_LAST];
} uct_tcp_zc_caps_t;


/* What to query */
enum {
    UCT_TCP_ZC_CAPS_SEND       = UCS_BIT(0), /* the send engines */
    UCT_TCP_ZC_CAPS_DEVMEM     = UCS_BIT(1), /* the devmem requirements */
    UCT_TCP_ZC_CAPS_PROBE_BIND = UCS_BIT(2), /* bind-rx/tx with a memfd */
    /* with PROBE_BIND: a real bind of a udmabuf, released at once */
    UCT_TCP_ZC_CAPS_PROBE_DMABUF = UCS_BIT(3)
};


/** Fill caps for a device; requirements not queried stay UNKNOWN */
ucs_status_t uct_tcp_zc_caps_query(const char *if_name, unsigned flags,
                                   uct_tcp_zc_caps_t *caps);

/** Short name of a requirement, e.g. "header-split" */
const char *uct_tcp_zc_req_name(uct_tcp_zc_req_t req);

/** The paths (UCT_TCP_ZC_PATH_*) which need a requirement */
unsigned uct_tcp_zc_req_paths(uct_tcp_zc_req_t req);

/** Name of a path, e.g. "devmem-rx" */
const char *uct_tcp_zc_path_name(unsigned path);

/** Whether every requirement of a path (one UCT_TCP_ZC_PATH_*) is met */
int uct_tcp_zc_caps_path_ok(const uct_tcp_zc_caps_t *caps, unsigned path);

/** Log the requirements of a path which are not met, at a level */
void uct_tcp_zc_caps_log_missing(const uct_tcp_zc_caps_t *caps, unsigned path,
                                 ucs_log_level_t level);

#endif
