/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_H
#define UCT_TCP_ZC_H

#include "tcp_zc_compat.h"
#include "tcp_zc_md.h"
#include "tcp_zc_proto.h"
#include "tcp_zc_rx.h"
#include "tcp_zc_tx.h"
#include "tcp_zc_zcid.h"

#include <uct/tcp/tcp_base.h>
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
    UCT_TCP_ZC_IFACE_STAT_LAST
};


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
    ucs_time_t                     keepidle;
    unsigned long                  keepcnt;
    ucs_time_t                     keepintvl;
    ucs_time_t                     user_timeout;
} uct_tcp_zc_iface_config_t;


typedef enum {
    UCT_TCP_ZC_CONN_CONNECTING, /* non-blocking connect in progress */
    UCT_TCP_ZC_CONN_CONNECTED,
    UCT_TCP_ZC_CONN_FAILED      /* socket closed after an error */
} uct_tcp_zc_conn_state_t;


/* Kind of a send operation */
typedef enum {
    UCT_TCP_ZC_TX_SEND,      /* completes when sent */
    UCT_TCP_ZC_TX_PUT,       /* completes on PUT_ACK */
    UCT_TCP_ZC_TX_GET,       /* completes on GET_RESP */
    UCT_TCP_ZC_TX_FLUSH      /* completes when all before it did */
} uct_tcp_zc_tx_kind_t;


/* Send descriptor flags */
enum {
    UCT_TCP_ZC_TX_FLAG_ZCOPY = UCS_BIT(0), /* payload may be sent zero-copy */
    UCT_TCP_ZC_TX_FLAG_ZCID  = UCS_BIT(1), /* zc_last is a MSG_ZEROCOPY id */
    UCT_TCP_ZC_TX_FLAG_BUSY  = UCS_BIT(2)  /* io_uring send in flight */
};


typedef struct uct_tcp_zc_conn uct_tcp_zc_conn_t;


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
 * A TCP connection. Each endpoint opens one and sends requests on it; the
 * peer accepts it and answers on it. Accepted connections have no endpoint.
 */
struct uct_tcp_zc_conn {
    int                     fd;
    uct_tcp_zc_conn_state_t state;
    uct_tcp_zc_iface_t      *iface;
    uct_tcp_zc_ep_t         *ep;       /* NULL on accepted connections */
    ucs_event_set_types_t   events;    /* events registered for fd */
    ucs_list_link_t         list;      /* in the iface list of accepted */
    struct sockaddr_storage peer_addr;
    ucs_queue_head_t        tx_queue;  /* not fully written */
    ucs_queue_head_t        ans_queue; /* written, waiting for an answer */
    unsigned                rma_outstanding; /* PUT/GET without answer */
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
    /* connecting side: the hello goes out with the first message;
     * accepted side: the hello which the peer sent */
    uct_tcp_zc_hello_t      hello;
    int                     hello_pending;
    struct {
        uct_tcp_zc_rx_t       parser;  /* checks what the peer sends */
        uint8_t               *buf;
        size_t                head;    /* first byte not consumed */
        size_t                tail;    /* end of received bytes */
        /* PUT/GET data in progress: next destination */
        struct iovec          *iov;
        unsigned              iovcnt;
        struct iovec          put_iov;   /* PUT destination */
        uct_tcp_zc_memh_t     *put_memh; /* its registration, referenced */
    } rx;
};


struct uct_tcp_zc_ep {
    uct_base_ep_t           super;
    uct_tcp_zc_conn_t       conn;
    ucs_queue_head_t        pending_q;
    int                     in_pending_dispatch;
    ucs_list_link_t         list;      /* in the iface list of endpoints */
    ucs_status_t            status;    /* UCS_OK, or why the ep failed */
    uct_worker_cb_id_t      err_cb_id; /* deferred error report */
};


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
    ucs_list_link_t             accepted_list;
    uint8_t                     *tx_buf;    /* short/bcopy staging */
    struct {
        uct_tcp_send_recv_buf_config_t sockopt;
        size_t                         seg_size;
        size_t                         tx_seg_size;
        int                            nodelay;
        int                            delay_ack;
        unsigned                       max_rma_outstanding;
        /* socket options of every connection; 0 (user_timeout: -1): the
         * system default */
        struct {
            int                        enable; /* SO_KEEPALIVE */
            int                        idle;   /* TCP_KEEPIDLE, seconds */
            int                        cnt;    /* TCP_KEEPCNT */
            int                        intvl;  /* TCP_KEEPINTVL, seconds */
        } keepalive;
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
    } devmem;
};


/* Count a zero-copy event of an iface */
#define UCT_TCP_ZC_IFACE_STAT(_iface, _counter, _value) \
    do { \
        (_iface)->zc.counters[UCT_TCP_ZC_IFACE_STAT_##_counter] += (_value); \
        UCS_STATS_UPDATE_COUNTER((_iface)->zc.stats, \
                                 UCT_TCP_ZC_IFACE_STAT_##_counter, (_value)); \
    } while (0)


/* connections */
ucs_status_t uct_tcp_zc_conn_init(uct_tcp_zc_conn_t *conn,
                                  uct_tcp_zc_iface_t *iface,
                                  uct_tcp_zc_ep_t *ep, int fd,
                                  uct_tcp_zc_conn_state_t state);
void uct_tcp_zc_conn_close(uct_tcp_zc_conn_t *conn, ucs_status_t status);
void uct_tcp_zc_conn_cleanup(uct_tcp_zc_conn_t *conn, ucs_status_t status);
ssize_t uct_tcp_zc_socket_sendv(int fd, const struct iovec *iov,
                                unsigned iovcnt, int flags);
ucs_status_t
uct_tcp_zc_conn_send(uct_tcp_zc_conn_t *conn, const void *hdr, size_t hdr_len,
                     const struct iovec *iov, unsigned iovcnt, int zcopy,
                     uct_tcp_zc_tx_kind_t kind, uct_completion_t *comp,
                     uct_tcp_zc_tx_t **tx_p);
void uct_tcp_zc_conn_zcopy_init(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_progress_errqueue(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_uring_comp(void *arg,
                                const uct_tcp_zc_uring_comp_t *comp);
void uct_tcp_zc_conn_uring_progress(uct_tcp_zc_iface_t *iface);
void uct_tcp_zc_conn_release_orphans(uct_tcp_zc_iface_t *iface);
void uct_tcp_zc_conn_progress_lingering(uct_tcp_zc_iface_t *iface,
                                        int force);
void uct_tcp_zc_conn_dispatch_completions(uct_tcp_zc_iface_t *iface);
ucs_status_t uct_tcp_zc_conn_flush(uct_tcp_zc_conn_t *conn,
                                   uct_completion_t *comp);
ucs_status_t uct_tcp_zc_conn_progress_tx(uct_tcp_zc_conn_t *conn);
void uct_tcp_zc_conn_handle_events(uct_tcp_zc_conn_t *conn,
                                   ucs_event_set_types_t events);
ucs_status_t uct_tcp_zc_conn_set_events(uct_tcp_zc_conn_t *conn,
                                        ucs_event_set_types_t events);
int uct_tcp_zc_conn_is_idle(const uct_tcp_zc_conn_t *conn);

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
void uct_tcp_zc_iface_conn_failed(uct_tcp_zc_conn_t *conn);
ucs_status_t uct_tcp_zc_iface_set_sockopts(const uct_tcp_zc_iface_t *iface,
                                           int fd);

/* devmem of an iface (tcp_zc_devmem.c) */
ucs_status_t uct_tcp_zc_devmem_init(uct_tcp_zc_iface_t *iface,
                                    ucs_ternary_auto_value_t mode, int setup);
void uct_tcp_zc_devmem_cleanup(uct_tcp_zc_iface_t *iface);

/* endpoints */
UCS_CLASS_DECLARE_NEW_FUNC(uct_tcp_zc_ep_t, uct_ep_t, const uct_ep_params_t*);
UCS_CLASS_DECLARE_DELETE_FUNC(uct_tcp_zc_ep_t, uct_ep_t);

void uct_tcp_zc_ep_destroy(uct_ep_h tl_ep);
void uct_tcp_zc_ep_free_destroyed(uct_tcp_zc_iface_t *iface);
void uct_tcp_zc_ep_failed(uct_tcp_zc_ep_t *ep, ucs_status_t status);
void uct_tcp_zc_ep_tx_drained(uct_tcp_zc_ep_t *ep);
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
int uct_tcp_zc_ep_is_connected(const uct_ep_h tl_ep,
                               const uct_tcp_zc_ep_is_connected_params_t *params);

#endif
