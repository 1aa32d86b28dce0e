/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_H
#define UCT_TCP_ZC_H

#include "tcp_zc_compat.h"
#include "tcp_zc_dmrx.h"
#include "tcp_zc_md.h"
#include "tcp_zc_proto.h"
#include "tcp_zc_rx.h"
#include "tcp_zc_tx.h"
#include "tcp_zc_zcid.h"

#include <uct/tcp/tcp_base.h>
#include <ucs/datastruct/conn_match.h>
#include <ucs/datastruct/khash.h>
#include <ucs/datastruct/list.h>
#include <ucs/datastruct/queue.h>
#include <ucs/sys/event_set.h>
#include <ucs/stats/stats.h>
#include <ucs/time/time.h>
#include <net/if.h>
#include <sys/uio.h>


#define UCT_TCP_ZC_NAME          "tcp_zc"
#define UCT_TCP_ZC_CONFIG_PREFIX "TCP_ZC_"
#define UCT_TCP_ZC_MAX_IOV       8ul /* user iov entries of a zcopy operation */
#define UCT_TCP_ZC_MAX_AM_HDR    128 /* user header of AM zcopy */
#define UCT_TCP_ZC_MAX_EVENTS    16  /* socket events handled per progress */


/* Device address flags */
enum {
    /* The address is a loopback one: it carries the host and the network
     * namespace (uct_tcp_zc_device_addr_lo_t) instead of an IP address */
    UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK = UCS_BIT(0)
};


/**
 * Device address: address family and IP address of the network interface
 * (or, for loopback, the host and network namespace), packed with the length
 * which the family needs.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_device_addr {
    uint8_t  flags;
    uint8_t  sa_family;
    /* followed by struct in_addr, struct in6_addr or
     * uct_tcp_zc_device_addr_lo_t */
} uct_tcp_zc_device_addr_t;


/**
 * What a loopback device address carries: a loopback interface reaches only
 * the processes of the same host in the same network namespace. Namespace ids
 * are inode numbers, the same for the initial namespace of every host, so the
 * host comes too.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_device_addr_lo {
    uint64_t sys_id; /* ucs_get_system_id(): the host (its boot id) */
    uint64_t net_ns; /* network namespace id */
} uct_tcp_zc_device_addr_lo_t;


/**
 * Interface address: the port of the interface listener.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_iface_addr {
    uint16_t port; /* network byte order */
} uct_tcp_zc_iface_addr_t;


/**
 * Endpoint address (CONNECT_TO_EP): the listener port of the endpoint's iface
 * and the endpoint's id, which the connecting side's hello names.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_ep_addr {
    uct_tcp_zc_iface_addr_t iface_addr;
    uint64_t                ep_id;
} uct_tcp_zc_ep_addr_t;


/**
 * Address of an iface as its hello carries it: the key of endpoint matching.
 */
typedef struct UCS_S_PACKED uct_tcp_zc_peer_key {
    uint8_t  sa_family;
    uint8_t  reserved;
    uint16_t port;     /* network byte order */
    uint8_t  addr[16];
} uct_tcp_zc_peer_key_t;


/* Endpoint ids of CONNECT_TO_EP have this bit, the sequence numbers of
 * CONNECT_TO_IFACE endpoints (ucs_conn_match_get_next_sn) do not */
#define UCT_TCP_ZC_CONN_ID_EP UCS_BIT(63)


/* the md (memory handles, keys, registry): tcp_zc_md.h */


/* Zero-copy send engine */
typedef enum {
    UCT_TCP_ZC_ENGINE_AUTO,
    UCT_TCP_ZC_ENGINE_ERRQUEUE, /* MSG_ZEROCOPY, notifications in the error
                                   queue of the socket */
    UCT_TCP_ZC_ENGINE_URING,    /* io_uring SENDMSG_ZC */
    UCT_TCP_ZC_ENGINE_NONE,     /* copying sends only */
    UCT_TCP_ZC_ENGINE_LAST
} uct_tcp_zc_engine_t;


/* Zero-copy send counters of an iface */
enum {
    UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS,    /* send calls made zero-copy */
    UCT_TCP_ZC_IFACE_STAT_ZCOPY_BYTES,    /* bytes sent zero-copy */
    UCT_TCP_ZC_IFACE_STAT_COPIED_BYTES,   /* of those, reported copied */
    UCT_TCP_ZC_IFACE_STAT_FALLBACK_NOBUFS, /* ENOBUFS: sent with a copy */
    UCT_TCP_ZC_IFACE_STAT_FALLBACK_BUSY,  /* id window or ring full */
    UCT_TCP_ZC_IFACE_STAT_FALLBACK_COPIED, /* sockets switched to copies */
    UCT_TCP_ZC_IFACE_STAT_FALLBACK_UNSUPP, /* no kernel support */
    UCT_TCP_ZC_IFACE_STAT_REPROBE,        /* zero-copy tried again */
    UCT_TCP_ZC_IFACE_STAT_DC_TX_BYTES,    /* sent on data connections */
    UCT_TCP_ZC_IFACE_STAT_DC_RX_BYTES,    /* received on data connections */
    UCT_TCP_ZC_IFACE_STAT_DEVMEM_RX_BYTES, /* of those, in the RX pool */
    UCT_TCP_ZC_IFACE_STAT_DEVMEM_FRAGS,   /* of those, RX pool fragments */
    UCT_TCP_ZC_IFACE_STAT_DEVMEM_TOKENS,  /* their tokens which the kernel
                                             took back */
    UCT_TCP_ZC_IFACE_STAT_DEVMEM_TX_BYTES, /* sent from dmabufs */
    UCT_TCP_ZC_IFACE_STAT_DEVMEM_STAGED_BYTES, /* of dmabufs, sent by the
                                                  CPU instead */
    UCT_TCP_ZC_IFACE_STAT_LAST
};


/* Keepalive options of a connection socket; 0: the system default */
typedef struct uct_tcp_zc_keepalive {
    int enable; /* SO_KEEPALIVE */
    int idle;   /* TCP_KEEPIDLE, seconds */
    int cnt;    /* TCP_KEEPCNT */
    int intvl;  /* TCP_KEEPINTVL, seconds */
} uct_tcp_zc_keepalive_t;


typedef struct uct_tcp_zc_iface_config {
    uct_iface_config_t             super;
    uct_tcp_send_recv_buf_config_t sockopt;
    unsigned long                  listen_backlog;
    size_t                         zcopy_thresh;
    size_t                         seg_size;
    size_t                         tx_seg_size;
    int                            nodelay;
    int                            delay_ack;
    ucs_ternary_auto_value_t       zcopy;
    uct_tcp_zc_engine_t            tx_engine;
    double                         zcopy_reprobe;
    unsigned                       uring_entries;
    unsigned                       max_rma_outstanding;
    ucs_ternary_auto_value_t       devmem;
    int                            devmem_setup;
    char                           *devmem_queues;
    size_t                         devmem_pool_size;
    ucs_ternary_auto_value_t       data_conn;
    ucs_time_t                     keepidle;
    unsigned long                  keepcnt;
    ucs_time_t                     keepintvl;
    ucs_time_t                     user_timeout;
} uct_tcp_zc_iface_config_t;


typedef enum {
    UCT_TCP_ZC_CONN_IDLE,       /* CONNECT_TO_EP endpoint, not connected yet;
                                   or waiting for the peer's connection */
    UCT_TCP_ZC_CONN_CONNECTING, /* non-blocking connect in progress */
    UCT_TCP_ZC_CONN_HELLO,      /* waiting for the peer's hello */
    UCT_TCP_ZC_CONN_CONNECTED,
    UCT_TCP_ZC_CONN_FAILED      /* socket closed after an error */
} uct_tcp_zc_conn_state_t;


/* Where a connection is in endpoint matching */
typedef enum {
    UCT_TCP_ZC_CONN_MATCH_NONE,
    UCT_TCP_ZC_CONN_MATCH_EXP,   /* an endpoint's, until the handshake */
    UCT_TCP_ZC_CONN_MATCH_UNEXP  /* accepted, for an endpoint to come */
} uct_tcp_zc_conn_match_t;


/* Kind of a send operation */
typedef enum {
    UCT_TCP_ZC_TX_SEND,      /* completes when sent */
    UCT_TCP_ZC_TX_ANSWER,    /* answer to the peer: completes when sent */
    UCT_TCP_ZC_TX_NOTICE,    /* goes with the answers, ahead of the
                                requests (DATA_CONN): completes when sent */
    UCT_TCP_ZC_TX_PUT,       /* completes on PUT_ACK */
    UCT_TCP_ZC_TX_GET,       /* completes on GET_RESP */
    UCT_TCP_ZC_TX_FLUSH      /* completes when all before it did */
} uct_tcp_zc_tx_kind_t;


/* Send descriptor flags */
enum {
    UCT_TCP_ZC_TX_FLAG_ZCOPY = UCS_BIT(0), /* payload may be sent zero-copy */
    UCT_TCP_ZC_TX_FLAG_ZCID  = UCS_BIT(1), /* zc_last is a MSG_ZEROCOPY id */
    UCT_TCP_ZC_TX_FLAG_BUSY  = UCS_BIT(2), /* io_uring send in flight */
    UCT_TCP_ZC_TX_FLAG_DEVMEM = UCS_BIT(3) /* data connection: sent from
                                              the dmabuf (devmem_binding,
                                              devmem_delta) */
};


typedef struct uct_tcp_zc_conn uct_tcp_zc_conn_t;


/* What the iface's event set calls: the first field of each object whose
 * socket is in it */
typedef void (*uct_tcp_zc_event_cb_t)(void *arg, ucs_event_set_types_t events);


/**
 * A send operation queued on a connection: not yet fully written to the
 * socket (tx queue), written and waiting for the peer's answer (answer
 * queue), or waiting for the kernel to release zero-copy pages (zcopy
 * queue). Headers and copied payload live in the descriptor until it
 * completes; zcopy payload stays in the user buffers.
 */
typedef struct uct_tcp_zc_tx {
    ucs_queue_elem_t      queue;
    uct_tcp_zc_tx_kind_t  kind;
    uint8_t               flags;
    uct_completion_t      *comp;
    ucs_status_t          status;     /* of a deferred completion */
    uct_tcp_zc_conn_t     *owner;     /* io_uring holds it after its
                                         connection closed: that one */
    uct_tcp_zc_memh_t     *memh;      /* GET answer: the registration which
                                         it reads, referenced */
    struct uct_tcp_zc_tx  *dc_tx;     /* its data, for the data connection
                                         when its header starts */
    /* devmem send: the bind-tx binding, and the offset in the dmabuf less
     * the address of the same byte */
    uint32_t              devmem_binding;
    uint64_t              devmem_delta;
    /* zero-copy: the connection (NULL once it closed), the last
     * MSG_ZEROCOPY id used, io_uring notifications still to come and the
     * bytes they cover, the io_uring request */
    uct_tcp_zc_conn_t     *conn;
    uint32_t              zc_last;
    unsigned              zc_notifs;
    size_t                zc_notif_bytes;
    struct msghdr         msg;
    unsigned              iovcnt;     /* entries in iov */
    unsigned              iov_index;  /* first entry not fully sent */
    struct iovec          iov[UCT_TCP_ZC_MAX_IOV + 3];
    /* GET: destination of the response data */
    struct iovec          get_iov[UCT_TCP_ZC_MAX_IOV];
    unsigned              get_iovcnt;
    size_t                get_length;
    /* GET bcopy: bounce buffer, unpacked with this callback */
    void                  *bounce;
    uct_unpack_callback_t unpack_cb;
    void                  *unpack_arg;
    /* headers, then copied payload */
    uint8_t               data[0];
} uct_tcp_zc_tx_t;


typedef struct uct_tcp_zc_iface uct_tcp_zc_iface_t;
typedef struct uct_tcp_zc_ep    uct_tcp_zc_ep_t;


/* Longest headers of a queued zero-copy message: an active message header
 * with the user's header */
#define UCT_TCP_ZC_TX_HDRS_MAX   (sizeof(uct_tcp_zc_hdr_t) + \
                                  UCT_TCP_ZC_MAX_AM_HDR)


/* Longest short or bcopy message: a PUT of a segment, or an active message
 * of a send segment */
#define UCT_TCP_ZC_TX_BCOPY_MAX(_seg_size, _tx_seg_size) \
    (sizeof(uct_tcp_zc_hdr_t) + sizeof(uct_tcp_zc_rma_hdr_t) + \
     ucs_max(_seg_size, _tx_seg_size))


/* Bytes of a receive buffer: a segment and the headers before it */
#define UCT_TCP_ZC_RX_BUF_SIZE(_seg_size) \
    (sizeof(uct_tcp_zc_hdr_t) + sizeof(uct_tcp_zc_rma_hdr_t) + (_seg_size))


/**
 * A receive buffer. An active message handler may keep the data of a
 * message (UCT_CB_PARAM_FLAG_DESC): the buffer goes with it, the connection
 * takes another, and the user gives it back with uct_iface_release_desc().
 * The bytes which the connection received start rx_buf_offset bytes into
 * the buffer, so that the headroom of the user and the pointer to release
 * fit before the data of any message.
 */
typedef struct uct_tcp_zc_rx_buf {
    uct_recv_desc_t       release;
} uct_tcp_zc_rx_buf_t;


/* MSG_ZEROCOPY ids of a connection, allocated when first used */
typedef struct uct_tcp_zc_conn_zcids {
    uct_tcp_zc_zcid_t ids;
    uint32_t          bytes[UCT_TCP_ZC_ZCID_WINDOW]; /* sent per id */
} uct_tcp_zc_conn_zcids_t;


/**
 * The socket of a closed connection, kept open until the kernel released the
 * pages of its MSG_ZEROCOPY sends, which complete then.
 */
typedef struct uct_tcp_zc_linger {
    ucs_list_link_t         list;     /* in the iface list of lingering */
    uct_tcp_zc_conn_t       *conn;    /* whose sends these are */
    int                     fd;
    uct_tcp_zc_conn_zcids_t *ids;
    ucs_queue_head_t        queue;    /* sends to complete */
    ucs_time_t              deadline; /* complete them then anyway */
} uct_tcp_zc_linger_t;


/**
 * What a connection tells the endpoint which uses it.
 */
typedef struct uct_tcp_zc_conn_ops {
    /* the connection takes new requests again */
    void (*tx_ready)(uct_tcp_zc_ep_t *ep);
    /* the connection failed: the endpoint fails with status */
    void (*failed)(uct_tcp_zc_ep_t *ep, ucs_status_t status);
    /* the endpoint uses this connection now, which the peer opened */
    void (*moved)(uct_tcp_zc_ep_t *ep, uct_tcp_zc_conn_t *conn);
} uct_tcp_zc_conn_ops_t;


/**
 * A TCP connection between two ifaces, for one pair of endpoints: each side
 * sends its requests and the answers to the peer's requests on it. The
 * endpoint of this side (ep) may be NULL: a connection which the peer opened
 * before an endpoint of this side came, or whose endpoint was destroyed while
 * the peer's still uses it.
 */
/**
 * A data connection (tcp_zc_dc.c): this side's to the peer's data port, or
 * the peer's, accepted on this side's data port (unmatched until its
 * connection announces it).
 */
typedef struct uct_tcp_zc_dc {
    uct_tcp_zc_event_cb_t   event_cb;  /* first: see uct_tcp_zc_event_cb_t */
    int                     fd;
    uct_tcp_zc_iface_t      *iface;
    uct_tcp_zc_conn_t       *conn;     /* NULL while unmatched */
    ucs_list_link_t         list;      /* in the iface list of unmatched */
    struct sockaddr_storage peer_addr;
    ucs_event_set_types_t   events;
    ucs_queue_head_t        tx_queue;  /* data to write */
    int                     devmem;    /* devmem sends: bound to the
                                          device, SO_ZEROCOPY */
} uct_tcp_zc_dc_t;


struct uct_tcp_zc_conn {
    uct_tcp_zc_event_cb_t   event_cb;  /* first: see uct_tcp_zc_event_cb_t */
    int                     fd;
    uct_tcp_zc_conn_state_t state;
    uct_tcp_zc_iface_t      *iface;
    uct_tcp_zc_ep_t         *ep;       /* NULL if none */
    ucs_event_set_types_t   events;    /* events registered for fd */
    ucs_list_link_t         list;      /* in the iface list of connections */
    struct sockaddr_storage peer_addr;
    /* endpoint matching: the peer's iface and the connection id */
    ucs_conn_match_elem_t   match_elem;
    uct_tcp_zc_conn_match_t match;
    uct_tcp_zc_peer_key_t   peer_key;
    uint64_t                conn_id;
    int                     accepted;  /* the peer connected */
    int                     ep_closed_sent; /* EP_CLOSED is written */
    /* requests not fully written; answers not fully written, which go
     * first; the message being written (NULL at a message boundary) */
    ucs_queue_head_t        tx_queue;
    ucs_queue_head_t        answer_queue;
    uct_tcp_zc_tx_t         *tx_cur;
    ucs_queue_head_t        wait_queue; /* written, waiting for an answer */
    unsigned                rma_outstanding; /* PUT/GET without answer */
    unsigned                rma_written; /* of those, started on the wire */
    ucs_queue_head_t        zc_queue;  /* the kernel holds zero-copy pages */
    struct {
        uct_tcp_zc_conn_zcids_t *ids;
        /* the socket which lingers after the connection failed */
        uct_tcp_zc_linger_t     *linger;
        /* io_uring completions to follow up (in the iface list), and the
         * error of a failed io_uring send */
        int                     uring_dirty;
        ucs_list_link_t         uring_list;
        int                     uring_err;
        int                     enabled;  /* zero-copy sends are on */
        unsigned                copied;   /* consecutive ids copied */
        ucs_time_t              reprobe_time; /* when to try again */
        unsigned                reprobes; /* which found copies again */
    } zc;
    /* data connections (tcp_zc_dc.c) */
    struct {
        uct_tcp_zc_dc_t     *tx;        /* this side's, to the peer */
        uct_tcp_zc_dc_t     *rx;        /* the peer's, to this side */
        uint16_t            peer_port;  /* the peer's data port, network
                                           order; 0: none */
        uint16_t            rx_port;    /* source port of the peer's, as
                                           announced; 0: not yet */
    } dc;
    /* this side's hello, sent first, and its bytes still to write */
    uct_tcp_zc_hello_t      hello;
    unsigned                hello_left;
    struct {
        uct_tcp_zc_rx_t       parser;  /* checks what the peer sends */
        uct_tcp_zc_rx_buf_t   *elem;   /* receive buffer, NULL while
                                          nothing is buffered */
        uint8_t               *buf;    /* its received bytes */
        size_t                head;    /* first byte not consumed */
        size_t                tail;    /* end of received bytes */
        /* PUT/GET data in progress: next destination */
        struct iovec          *iov;
        unsigned              iovcnt;
        struct iovec          put_iov;   /* PUT destination */
        uct_tcp_zc_memh_t     *put_memh; /* its registration, referenced */
        int                   put;       /* the data are a PUT's */
        int                   discard;   /* ... into no registered memory:
                                            dropped, answered with an
                                            error */
    } rx;
};


struct uct_tcp_zc_ep {
    uct_base_ep_t           super;
    uct_tcp_zc_conn_t       *conn;     /* the connection to the peer */
    ucs_queue_head_t        pending_q;
    int                     in_pending_dispatch;
    ucs_list_link_t         list;      /* in the iface list of endpoints */
    uint64_t                id;        /* CONNECT_TO_EP: the address */
    uint64_t                peer_id;   /* CONNECT_TO_EP: the peer's */
    ucs_status_t            status;    /* UCS_OK, or why the ep failed */
    uct_worker_cb_id_t      err_cb_id; /* deferred error report */
};


/* Bytes of a devmem receive from a data connection, and its fragments */
#define UCT_TCP_ZC_DC_SCRATCH_SIZE  (64ul * 1024)
#define UCT_TCP_ZC_DC_FRAGS_MAX     ((UCT_TCP_ZC_DC_SCRATCH_SIZE / 4096) + 2)


struct uct_tcp_zc_devmem_pool;


struct uct_tcp_zc_iface {
    uct_base_iface_t            super;
    char                        if_name[IFNAMSIZ];
    struct sockaddr_storage     if_addr;   /* interface address */
    int                         is_loopback;
    int                         listen_fd;
    uint16_t                    listen_port; /* host byte order */
    ucs_sys_event_set_t         *event_set;
    ucs_list_link_t             ep_list;
    /* handling events: completions wait in comp_queue, and destroyed
     * endpoints in ep_graveyard, until the events are done */
    int                         in_progress;
    ucs_queue_head_t            comp_queue;
    ucs_list_link_t             ep_graveyard;
    /* every connection (the async thread adds accepted ones), and closed
     * ones to free after the events */
    ucs_list_link_t             conn_list;
    ucs_list_link_t             conn_graveyard;
    ucs_conn_match_ctx_t        conn_match;
    uct_tcp_zc_peer_key_t       key;       /* this iface, as hellos say */
    uint64_t                    next_ep_id;
    const uct_tcp_zc_conn_ops_t *conn_ops; /* what connections tell eps */
    uct_tcp_zc_event_cb_t       conn_event_cb; /* connections' events */
    uint8_t                     *tx_buf;    /* short/bcopy staging */
    ucs_mpool_t                 tx_mp;      /* send descriptors: headers */
    ucs_mpool_t                 tx_bcopy_mp; /* ... with a short or bcopy
                                               message */
    ucs_mpool_t                 rx_mp;      /* receive buffers */
    size_t                      rx_headroom; /* before data kept by a
                                               handler */
    size_t                      rx_buf_offset; /* of the bytes in a buffer */
    struct {
        uct_tcp_send_recv_buf_config_t sockopt;
        size_t                         seg_size;
        size_t                         tx_seg_size;
        int                            nodelay;
        int                            delay_ack;
        unsigned                       max_rma_outstanding;
        /* socket options of every connection; 0 (user_timeout: -1): the
         * system default */
        uct_tcp_zc_keepalive_t         keepalive;
        int                            user_timeout; /* TCP_USER_TIMEOUT, ms */
    } config;
    struct {
        uct_tcp_zc_engine_t      engine;  /* NONE: zero-copy is off */
        ucs_ternary_auto_value_t mode;    /* YES: even if the kernel copies */
        size_t                   thresh;
        ucs_time_t               reprobe_interval;
        uct_tcp_zc_uring_t       *uring;
        /* connections with io_uring completions to follow up */
        ucs_list_link_t          uring_dirty;
        /* sends of closed connections which io_uring still holds */
        ucs_queue_head_t         orphans;
        /* sockets of closed connections whose zero-copy pages the kernel
         * still holds */
        ucs_list_link_t          lingering;
        uint64_t                 counters[UCT_TCP_ZC_IFACE_STAT_LAST];
        UCS_STATS_NODE_DECLARE(stats)
    } zc;
    struct {
        /* NIC changes of the setup mode, undone at close; NULL if none */
        struct uct_tcp_zc_ethtool_setup *setup;
        /* the ntuple rule of the data port, where the iface made it */
        int                             rule_set;
        uint32_t                        rule_location;
        int                             ifindex;
        int                             tx;  /* devmem send: netmem TX */
    } devmem;
    /* the data port and data connections (tcp_zc_dc.c) */
    struct {
        int                           enabled;  /* the iface has one */
        int                           all_data; /* PUT data of host memory
                                                   go there too */
        int                           listen_fd;
        uint16_t                      port;     /* host byte order */
        ucs_list_link_t               unmatched; /* accepted, announced
                                                    by no connection yet */
        unsigned                      num_unmatched;
        struct uct_tcp_zc_devmem_pool *pool;    /* devmem RX pool, or NULL */
        uint8_t                       *scratch; /* linear bytes; a sink */
        uint8_t                       *control; /* devmem cmsgs */
        size_t                        control_len;
        uct_tcp_zc_dmrx_frag_t        frags[UCT_TCP_ZC_DC_FRAGS_MAX];
        uct_tcp_zc_dmrx_tokens_t      tokens;
    } dc;
};


/* Count a zero-copy event of an iface */
#define UCT_TCP_ZC_IFACE_STAT(_iface, _counter, _value) \
    do { \
        (_iface)->zc.counters[UCT_TCP_ZC_IFACE_STAT_##_counter] += (_value); \
        UCS_STATS_UPDATE_COUNTER((_iface)->zc.stats, \
                                 UCT_TCP_ZC_IFACE_STAT_##_counter, (_value)); \
    } while (0)


extern uct_component_t uct_tcp_zc_component;


static UCS_F_ALWAYS_INLINE uct_tcp_zc_md_t *
uct_tcp_zc_iface_md(const uct_tcp_zc_iface_t *iface)
{
    return ucs_derived_of(iface->super.md, uct_tcp_zc_md_t);
}

static UCS_F_ALWAYS_INLINE size_t
uct_tcp_zc_conn_rx_buf_size(const uct_tcp_zc_iface_t *iface)
{
    return UCT_TCP_ZC_RX_BUF_SIZE(iface->config.seg_size);
}

/* Whether a message goes with the answers, ahead of the requests */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_tx_is_answer(uct_tcp_zc_tx_kind_t kind)
{
    return (kind == UCT_TCP_ZC_TX_ANSWER) || (kind == UCT_TCP_ZC_TX_NOTICE);
}

/* Whether a send descriptor is a PUT or GET request */
static UCS_F_ALWAYS_INLINE int uct_tcp_zc_tx_is_rma(uct_tcp_zc_tx_kind_t kind)
{
    return (kind == UCT_TCP_ZC_TX_PUT) || (kind == UCT_TCP_ZC_TX_GET);
}

/*
 * Connections, in layers: each file calls only the ones above it.
 */

/* socket helpers (tcp_zc_sock.c) */
ssize_t uct_tcp_zc_socket_sendv(int fd, const struct iovec *iov,
                                unsigned iovcnt, int flags);
ssize_t uct_tcp_zc_socket_recv(int fd, void *buf, size_t length);
void uct_tcp_zc_socket_delay_ack(int fd);
ucs_status_t uct_tcp_zc_socket_set_options(int fd, int nodelay,
                                           const uct_tcp_zc_keepalive_t *ka,
                                           int user_timeout);

/* send descriptors (tcp_zc_txd.c) */
void uct_tcp_zc_tx_free(uct_tcp_zc_iface_t *iface, uct_tcp_zc_tx_t *tx);
void uct_tcp_zc_tx_completed(uct_tcp_zc_iface_t *iface, uct_tcp_zc_tx_t *tx,
                             ucs_status_t status);
int uct_tcp_zc_tx_advance(uct_tcp_zc_tx_t *tx, size_t sent);
void uct_tcp_zc_conn_release_orphans(uct_tcp_zc_iface_t *iface);
void uct_tcp_zc_conn_dispatch_completions(uct_tcp_zc_iface_t *iface);

/* zero-copy bookkeeping (tcp_zc_zcopy.c) */
void uct_tcp_zc_conn_zcopy_init(uct_tcp_zc_conn_t *conn);
int uct_tcp_zc_conn_zcopy_ok(uct_tcp_zc_conn_t *conn);
int uct_tcp_zc_tx_zc_done(const uct_tcp_zc_conn_t *conn,
                          const uct_tcp_zc_tx_t *tx);
int uct_tcp_zc_conn_tx_write(uct_tcp_zc_conn_t *conn, uct_tcp_zc_tx_t *tx);
void uct_tcp_zc_conn_tx_done(uct_tcp_zc_conn_t *conn, uct_tcp_zc_tx_t *tx);
void uct_tcp_zc_conn_progress_zc_queue(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_progress_errqueue(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_uring_comp(void *arg,
                                const uct_tcp_zc_uring_comp_t *comp);
void uct_tcp_zc_conn_uring_mark(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_drain_zcopy(uct_tcp_zc_conn_t *conn);
uct_tcp_zc_linger_t *uct_tcp_zc_conn_linger(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_linger_progress(uct_tcp_zc_iface_t *iface,
                                uct_tcp_zc_linger_t *linger, int force);
void uct_tcp_zc_conn_progress_lingering(uct_tcp_zc_iface_t *iface,
                                        int force);
void uct_tcp_zc_conn_purge_queue(uct_tcp_zc_conn_t *conn,
                                 ucs_queue_head_t *queue,
                                 uct_tcp_zc_linger_t *linger,
                                 ucs_status_t status);

/* connection lifecycle (tcp_zc_conn.c) */
ucs_status_t uct_tcp_zc_conn_create(uct_tcp_zc_iface_t *iface, int fd,
                                    const struct sockaddr_storage *peer_addr,
                                    uct_tcp_zc_conn_t **conn_p);
ucs_status_t uct_tcp_zc_conn_attach_fd(uct_tcp_zc_conn_t *conn, int fd,
                                       uct_tcp_zc_conn_state_t state);
ucs_status_t uct_tcp_zc_conn_rx_buf_get(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_rx_buf_put(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_rx_buf_release(uct_recv_desc_t *self, void *desc);
ucs_status_t uct_tcp_zc_conn_set_events(uct_tcp_zc_conn_t *conn,
                                        ucs_event_set_types_t events);
int uct_tcp_zc_conn_is_idle(const uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_match_insert(uct_tcp_zc_conn_t *conn,
                                  uct_tcp_zc_conn_match_t match);
void uct_tcp_zc_conn_match_remove(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_close_fd(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_dc_destroy(uct_tcp_zc_dc_t *dc);
void uct_tcp_zc_conn_close(uct_tcp_zc_conn_t *conn, ucs_status_t status);
void uct_tcp_zc_conn_release(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_free_released(uct_tcp_zc_iface_t *iface);
void uct_tcp_zc_conn_destroy_all(uct_tcp_zc_iface_t *iface);
void uct_tcp_zc_conn_fail(uct_tcp_zc_conn_t *conn, ucs_status_t status,
                          ucs_log_level_t log_level, const char *reason);
void uct_tcp_zc_conn_io_failed(uct_tcp_zc_conn_t *conn, const char *op,
                               int err);
void uct_tcp_zc_conn_version_error(uct_tcp_zc_conn_t *conn,
                                   unsigned version);
void uct_tcp_zc_conn_protocol_error(uct_tcp_zc_conn_t *conn,
                                    const char *reason);

/* send queue and answers (tcp_zc_txq.c) */
ucs_status_t
uct_tcp_zc_conn_send(uct_tcp_zc_conn_t *conn, const void *hdr, size_t hdr_len,
                     const struct iovec *iov, unsigned iovcnt, int zcopy,
                     uct_tcp_zc_tx_kind_t kind, uct_completion_t *comp,
                     uct_tcp_zc_tx_t **tx_p);
ucs_status_t uct_tcp_zc_conn_dc_open(uct_tcp_zc_conn_t *conn);
ucs_status_t uct_tcp_zc_conn_send_dc(uct_tcp_zc_conn_t *conn,
                                     const void *hdr, size_t hdr_len,
                                     uct_tcp_zc_tx_t *dc_tx,
                                     uct_tcp_zc_tx_kind_t kind,
                                     uct_completion_t *comp);
ucs_status_t
uct_tcp_zc_conn_send_answer(uct_tcp_zc_conn_t *conn,
                            const uct_tcp_zc_hdr_t *hdr,
                            const struct iovec *iov, unsigned iovcnt,
                            uct_tcp_zc_memh_t *memh);
ucs_status_t uct_tcp_zc_conn_send_answer_dc(uct_tcp_zc_conn_t *conn,
                                            const uct_tcp_zc_hdr_t *hdr,
                                            const struct iovec *iov,
                                            uct_tcp_zc_memh_t *memh);
ucs_status_t uct_tcp_zc_conn_send_empty_answer(uct_tcp_zc_conn_t *conn,
                                               uint8_t type);
int uct_tcp_zc_conn_write_hello(uct_tcp_zc_conn_t *conn);
ucs_status_t uct_tcp_zc_conn_progress_tx(uct_tcp_zc_conn_t *conn);
ucs_status_t uct_tcp_zc_conn_flush(uct_tcp_zc_conn_t *conn,
                                   uct_completion_t *comp);
uct_tcp_zc_tx_t *uct_tcp_zc_conn_pull_answered(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_complete_flushes(uct_tcp_zc_conn_t *conn);

/* receive driver (tcp_zc_rxd.c) */
int uct_tcp_zc_conn_progress_rx(uct_tcp_zc_conn_t *conn,
                                uct_tcp_zc_rx_event_t *hello_event,
                                uct_tcp_zc_hello_t *hello);

/* connection setup and endpoint matching (tcp_zc_match.c) */
void uct_tcp_zc_peer_key_init(uct_tcp_zc_peer_key_t *key,
                              const struct sockaddr *addr);
ucs_status_t uct_tcp_zc_conn_connect(uct_tcp_zc_conn_t *conn,
                                     const struct sockaddr_storage *peer_addr,
                                     uint64_t conn_id, int to_ep);
ucs_status_t
uct_tcp_zc_conn_connect_iface(uct_tcp_zc_conn_t *conn,
                              const struct sockaddr_storage *peer_addr);
void uct_tcp_zc_conn_expect(uct_tcp_zc_conn_t *conn,
                            const struct sockaddr_storage *peer_addr,
                            uint64_t conn_id);
void uct_tcp_zc_conn_detach(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_handle_events(uct_tcp_zc_conn_t *conn,
                                   ucs_event_set_types_t events);
void uct_tcp_zc_conn_uring_progress(uct_tcp_zc_iface_t *iface);
extern const ucs_conn_match_ops_t uct_tcp_zc_conn_match_ops;

/* Whether this side's connect and handshake are under way: a flush waits
 * for them */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_conn_is_connecting(const uct_tcp_zc_conn_t *conn)
{
    return (conn->state == UCT_TCP_ZC_CONN_CONNECTING) ||
           ((conn->state == UCT_TCP_ZC_CONN_HELLO) && !conn->accepted);
}

/* Whether as many PUT/GET operations as allowed wait for their answers */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_conn_rma_blocked(const uct_tcp_zc_conn_t *conn)
{
    return conn->rma_outstanding >= conn->iface->config.max_rma_outstanding;
}

/* iface */
ucs_status_t
uct_tcp_zc_iface_peer_sockaddr(const uct_tcp_zc_iface_t *iface,
                               const uct_device_addr_t *dev_addr,
                               const uct_iface_addr_t *iface_addr,
                               struct sockaddr_storage *addr);

/* devmem of an iface (tcp_zc_devmem.c) */
ucs_status_t uct_tcp_zc_devmem_init(uct_tcp_zc_iface_t *iface,
                                    const uct_tcp_zc_iface_config_t *config);
void uct_tcp_zc_devmem_cleanup(uct_tcp_zc_iface_t *iface);

/* endpoints */
UCS_CLASS_DECLARE_NEW_FUNC(uct_tcp_zc_ep_t, uct_ep_t, const uct_ep_params_t*);
UCS_CLASS_DECLARE_DELETE_FUNC(uct_tcp_zc_ep_t, uct_ep_t);

void uct_tcp_zc_ep_destroy(uct_ep_h tl_ep);
void uct_tcp_zc_ep_free_destroyed(uct_tcp_zc_iface_t *iface);
extern const uct_tcp_zc_conn_ops_t uct_tcp_zc_ep_conn_ops;
ucs_status_t uct_tcp_zc_ep_am_short(uct_ep_h tl_ep, uint8_t am_id,
                                    uint64_t header, const void *payload,
                                    unsigned length);
ucs_status_t uct_tcp_zc_ep_am_short_iov(uct_ep_h tl_ep, uint8_t am_id,
                                        const uct_iov_t *iov, size_t iovcnt);
ssize_t uct_tcp_zc_ep_am_bcopy(uct_ep_h tl_ep, uint8_t am_id,
                               uct_pack_callback_t pack_cb, void *arg,
                               unsigned flags);
ucs_status_t uct_tcp_zc_ep_am_zcopy(uct_ep_h tl_ep, uint8_t am_id,
                                    const void *header, unsigned header_length,
                                    const uct_iov_t *iov, size_t iovcnt,
                                    unsigned flags, uct_completion_t *comp);
ucs_status_t uct_tcp_zc_ep_put_short(uct_ep_h tl_ep, const void *buffer,
                                     unsigned length, uint64_t remote_addr,
                                     uct_rkey_t rkey);
ssize_t uct_tcp_zc_ep_put_bcopy(uct_ep_h tl_ep, uct_pack_callback_t pack_cb,
                                void *arg, uint64_t remote_addr,
                                uct_rkey_t rkey);
ucs_status_t uct_tcp_zc_ep_put_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov,
                                     size_t iovcnt, uint64_t remote_addr,
                                     uct_rkey_t rkey, uct_completion_t *comp);
ucs_status_t uct_tcp_zc_ep_get_bcopy(uct_ep_h tl_ep,
                                     uct_unpack_callback_t unpack_cb,
                                     void *arg, size_t length,
                                     uint64_t remote_addr, uct_rkey_t rkey,
                                     uct_completion_t *comp);
ucs_status_t uct_tcp_zc_ep_get_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov,
                                     size_t iovcnt, uint64_t remote_addr,
                                     uct_rkey_t rkey, uct_completion_t *comp);
ucs_status_t uct_tcp_zc_ep_flush(uct_ep_h tl_ep, unsigned flags,
                                 uct_completion_t *comp);
ucs_status_t uct_tcp_zc_ep_pending_add(uct_ep_h tl_ep, uct_pending_req_t *req,
                                       unsigned flags);
void uct_tcp_zc_ep_pending_purge(uct_ep_h tl_ep,
                                 uct_pending_purge_callback_t cb, void *arg);
ucs_status_t uct_tcp_zc_ep_check(uct_ep_h tl_ep, unsigned flags,
                                 uct_completion_t *comp);
ucs_status_t uct_tcp_zc_ep_get_address(uct_ep_h tl_ep, uct_ep_addr_t *addr);
int uct_tcp_zc_ep_is_connected(const uct_ep_h tl_ep,
                               const uct_tcp_zc_ep_is_connected_params_t *params);

#endif
