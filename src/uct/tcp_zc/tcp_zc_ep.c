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

#include <uct/base/uct_iov.inl>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>


/* Headers of a PUT or GET request */
typedef struct UCS_S_PACKED uct_tcp_zc_rma_req {
    uct_tcp_zc_hdr_t     hdr;
    uct_tcp_zc_rma_hdr_t rma;
} uct_tcp_zc_rma_req_t;


static UCS_F_ALWAYS_INLINE uct_tcp_zc_iface_t *
uct_tcp_zc_ep_iface(const uct_tcp_zc_ep_t *ep)
{
    return ucs_derived_of(ep->super.super.iface, uct_tcp_zc_iface_t);
}

/* Whether the connection takes a new message now, keeping the order */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_ep_conn_ready(const uct_tcp_zc_ep_t *ep)
{
    return (ep->status == UCS_OK) &&
           (ep->conn->state == UCT_TCP_ZC_CONN_CONNECTED) &&
           (ep->conn->tx_cur == NULL) &&
           ucs_queue_is_empty(&ep->conn->tx_queue);
}

/* Whether a new operation can be written now: pending requests go first,
 * also before operations which completion callbacks start */
static UCS_F_ALWAYS_INLINE int uct_tcp_zc_ep_can_send(const uct_tcp_zc_ep_t *ep)
{
    return uct_tcp_zc_ep_conn_ready(ep) &&
           (ucs_queue_is_empty(&ep->pending_q) || ep->in_pending_dispatch);
}

/* Check before starting an operation */
static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_ep_check_send(const uct_tcp_zc_ep_t *ep)
{
    if (ucs_unlikely(ep->status != UCS_OK)) {
        return ep->status;
    }

    return uct_tcp_zc_ep_can_send(ep) ? UCS_OK : UCS_ERR_NO_RESOURCE;
}

/* Check before starting a PUT or GET, which waits for the peer's answer */
static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_ep_check_rma(const uct_tcp_zc_ep_t *ep)
{
    ucs_status_t status = uct_tcp_zc_ep_check_send(ep);

    if (ucs_unlikely(status != UCS_OK)) {
        return status;
    }

    return uct_tcp_zc_conn_rma_blocked(ep->conn) ? UCS_ERR_NO_RESOURCE :
                                                    UCS_OK;
}

/*
 * The connection failed and the error handler has not been called yet: short
 * and bcopy sends are dropped as if sent (the peer is gone), the handler tells
 * the user right after. Not for a pending request's sends: one which sends
 * until it fails would never stop.
 */
static UCS_F_ALWAYS_INLINE int
uct_tcp_zc_ep_drops_sends(const uct_tcp_zc_ep_t *ep)
{
    return (ep->status != UCS_OK) && (ep->err_cb_id != UCS_CALLBACKQ_ID_NULL) &&
           !ep->in_pending_dispatch;
}

static unsigned uct_tcp_zc_ep_report_failure(void *arg)
{
    uct_tcp_zc_ep_t *ep = arg;

    ep->err_cb_id = UCS_CALLBACKQ_ID_NULL;
    uct_iface_handle_ep_err(ep->super.super.iface, &ep->super.super,
                            ep->status);
    return 1;
}

static void uct_tcp_zc_ep_failed(uct_tcp_zc_ep_t *ep, ucs_status_t status)
{
    uct_tcp_zc_iface_t *iface = uct_tcp_zc_ep_iface(ep);

    if (ep->status != UCS_OK) {
        return;
    }

    ep->status = status;

    /* report from the progress loop, never from inside an operation */
    uct_worker_progress_register_safe(&iface->super.worker->super,
                                      uct_tcp_zc_ep_report_failure, ep,
                                      UCS_CALLBACKQ_FLAG_ONESHOT,
                                      &ep->err_cb_id);
}

static void uct_tcp_zc_ep_tx_drained(uct_tcp_zc_ep_t *ep)
{
    uct_pending_req_priv_queue_t UCS_V_UNUSED *priv;

    ep->in_pending_dispatch = 1;
    uct_pending_queue_dispatch(priv, &ep->pending_q,
                               uct_tcp_zc_ep_conn_ready(ep));
    ep->in_pending_dispatch = 0;
}

static void uct_tcp_zc_ep_conn_moved(uct_tcp_zc_ep_t *ep,
                                     uct_tcp_zc_conn_t *conn)
{
    ep->conn = conn;
}

const uct_tcp_zc_conn_ops_t uct_tcp_zc_ep_conn_ops = {
    .tx_ready = uct_tcp_zc_ep_tx_drained,
    .failed   = uct_tcp_zc_ep_failed,
    .moved    = uct_tcp_zc_ep_conn_moved
};

static UCS_CLASS_INIT_FUNC(uct_tcp_zc_ep_t, const uct_ep_params_t *params)
{
    uct_tcp_zc_iface_t *iface = ucs_derived_of(params->iface,
                                               uct_tcp_zc_iface_t);
    struct sockaddr_storage peer_addr;
    ucs_status_t status;

    UCS_CLASS_CALL_SUPER_INIT(uct_base_ep_t, &iface->super);

    self->status              = UCS_OK;
    self->err_cb_id           = UCS_CALLBACKQ_ID_NULL;
    self->in_pending_dispatch = 0;
    self->id                  = 0;
    self->peer_id             = 0;
    ucs_queue_head_init(&self->pending_q);

    status = uct_tcp_zc_conn_create(iface, -1, NULL, &self->conn);
    if (status != UCS_OK) {
        return status;
    }

    self->conn->ep = self;
    ucs_list_add_tail(&iface->ep_list, &self->list);

    if (!ucs_test_all_flags(params->field_mask,
                            UCT_EP_PARAM_FIELD_DEV_ADDR |
                            UCT_EP_PARAM_FIELD_IFACE_ADDR)) {
        /* CONNECT_TO_EP: connected once the peer's address is known */
        self->id = UCT_TCP_ZC_CONN_ID_EP | iface->next_ep_id++;
        ucs_debug("tcp_zc ep %p: id 0x%" PRIx64, self, self->id);
        return UCS_OK;
    }

    status = uct_tcp_zc_iface_peer_sockaddr(iface, params->dev_addr,
                                            params->iface_addr, &peer_addr);
    if (status == UCS_OK) {
        status = uct_tcp_zc_conn_connect_iface(self->conn, &peer_addr);
    }

    if (status != UCS_OK) {
        /* reported through the error handler, like a later failure */
        uct_tcp_zc_conn_close(self->conn, UCS_ERR_UNREACHABLE);
        uct_tcp_zc_ep_failed(self, UCS_ERR_UNREACHABLE);
    }

    return UCS_OK;
}

ucs_status_t uct_tcp_zc_ep_get_address(uct_ep_h tl_ep, uct_ep_addr_t *addr)
{
    uct_tcp_zc_ep_t *ep         = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_tcp_zc_ep_addr_t *ep_addr = (uct_tcp_zc_ep_addr_t*)addr;

    ep_addr->iface_addr.port = uct_tcp_zc_ep_iface(ep)->key.port;
    ep_addr->ep_id           = ep->id;
    return UCS_OK;
}

/*
 * CONNECT_TO_EP: of the two endpoints, the one of the iface with the lower
 * address (of the lower id, on one iface) connects, naming the other's id in
 * its hello; the other waits for that connection.
 */
ucs_status_t uct_tcp_zc_ep_connect_to_ep(uct_ep_h tl_ep,
                                         const uct_device_addr_t *dev_addr,
                                         const uct_ep_addr_t *addr)
{
    uct_tcp_zc_ep_t *ep                 = ucs_derived_of(tl_ep,
                                                         uct_tcp_zc_ep_t);
    uct_tcp_zc_iface_t *iface           = uct_tcp_zc_ep_iface(ep);
    const uct_tcp_zc_ep_addr_t *ep_addr = (const uct_tcp_zc_ep_addr_t*)addr;
    struct sockaddr_storage peer_addr;
    uct_tcp_zc_peer_key_t peer_key;
    ucs_status_t status;
    int cmp;

    if ((ep->id == 0) || (ep->conn->state != UCT_TCP_ZC_CONN_IDLE) ||
        (ep->conn->match != UCT_TCP_ZC_CONN_MATCH_NONE) ||
        !(ep_addr->ep_id & UCT_TCP_ZC_CONN_ID_EP)) {
        ucs_error("tcp_zc ep %p: connect_to_ep on an endpoint which is not "
                  "a fresh point-to-point one, or to a bad address", ep);
        return UCS_ERR_INVALID_PARAM;
    }

    status = uct_tcp_zc_iface_peer_sockaddr(
            iface, dev_addr, (const uct_iface_addr_t*)&ep_addr->iface_addr,
            &peer_addr);
    if (status != UCS_OK) {
        return status;
    }

    ep->peer_id = ep_addr->ep_id;
    uct_tcp_zc_peer_key_init(&peer_key, (const struct sockaddr*)&peer_addr);
    cmp = memcmp(&iface->key, &peer_key, sizeof(peer_key));
    if ((cmp == 0) && (ep->id == ep->peer_id)) {
        /* an endpoint connected to itself: to its own iface */
        status = uct_tcp_zc_conn_connect(ep->conn, &peer_addr, 0, 0);
        if (status != UCS_OK) {
            uct_tcp_zc_conn_close(ep->conn, UCS_ERR_UNREACHABLE);
            uct_tcp_zc_ep_failed(ep, UCS_ERR_UNREACHABLE);
        }
    } else if ((cmp < 0) || ((cmp == 0) && (ep->id < ep->peer_id))) {
        status = uct_tcp_zc_conn_connect(ep->conn, &peer_addr, ep->peer_id,
                                         1);
        if (status != UCS_OK) {
            uct_tcp_zc_conn_close(ep->conn, UCS_ERR_UNREACHABLE);
            uct_tcp_zc_ep_failed(ep, UCS_ERR_UNREACHABLE);
        }
    } else {
        uct_tcp_zc_conn_expect(ep->conn, &peer_addr, ep->id);
    }

    return UCS_OK;
}

static void uct_tcp_zc_ep_pending_drop(uct_pending_req_t *req, void *arg)
{
    ucs_debug("tcp_zc ep %p: dropping pending request %p", arg, req);
}

static UCS_CLASS_CLEANUP_FUNC(uct_tcp_zc_ep_t)
{
    uct_tcp_zc_iface_t *iface = uct_tcp_zc_ep_iface(self);
    uct_pending_req_priv_queue_t UCS_V_UNUSED *priv;

    if (self->err_cb_id != UCS_CALLBACKQ_ID_NULL) {
        uct_worker_progress_unregister_safe(&iface->super.worker->super,
                                            &self->err_cb_id);
    }

    uct_pending_queue_purge(priv, &self->pending_q, 1,
                            uct_tcp_zc_ep_pending_drop, self);
    ucs_list_del(&self->list);
    uct_tcp_zc_conn_detach(self->conn);
}

UCS_CLASS_DEFINE(uct_tcp_zc_ep_t, uct_base_ep_t);
UCS_CLASS_DEFINE_NEW_FUNC(uct_tcp_zc_ep_t, uct_ep_t, const uct_ep_params_t*);
UCS_CLASS_DEFINE_DELETE_FUNC(uct_tcp_zc_ep_t, uct_ep_t);

/*
 * Destroy an endpoint. From a callback within the events of a progress call
 * (an active message handler), a later event of the same call may name its
 * connection: the endpoint is closed now, and its memory freed after the
 * events.
 */
void uct_tcp_zc_ep_destroy(uct_ep_h tl_ep)
{
    uct_tcp_zc_ep_t *ep       = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_tcp_zc_iface_t *iface = uct_tcp_zc_ep_iface(ep);

    if (!iface->in_progress) {
        UCS_CLASS_DELETE(uct_tcp_zc_ep_t, ep);
        return;
    }

    UCS_CLASS_CLEANUP(uct_tcp_zc_ep_t, ep);
    ucs_list_add_tail(&iface->ep_graveyard, &ep->list);
}

void uct_tcp_zc_ep_free_destroyed(uct_tcp_zc_iface_t *iface)
{
    uct_tcp_zc_ep_t *ep, *tmp;

    ucs_list_for_each_safe(ep, tmp, &iface->ep_graveyard, list) {
        ucs_list_del(&ep->list);
        ucs_class_free(ep);
    }
}

/* Send a message staged in the iface buffer */
static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_ep_send_staged(uct_tcp_zc_ep_t *ep, size_t length,
                          uct_tcp_zc_tx_kind_t kind)
{
    ucs_status_t status;

    status = uct_tcp_zc_conn_send(ep->conn, uct_tcp_zc_ep_iface(ep)->tx_buf,
                                  length, NULL, 0, 0, kind, NULL, NULL);
    if (UCS_STATUS_IS_ERR(status)) {
        return uct_tcp_zc_ep_drops_sends(ep) ? UCS_OK : status;
    }

    return UCS_OK;
}

static UCS_F_ALWAYS_INLINE uct_tcp_zc_hdr_t *
uct_tcp_zc_ep_am_hdr(uct_tcp_zc_ep_t *ep, uint8_t am_id, size_t length)
{
    uct_tcp_zc_hdr_t *hdr = (uct_tcp_zc_hdr_t*)uct_tcp_zc_ep_iface(ep)->tx_buf;

    hdr->type     = UCT_TCP_ZC_MSG_AM;
    hdr->am_id    = am_id;
    hdr->version  = UCT_TCP_ZC_VERSION;
    hdr->flags    = 0;
    hdr->length   = length;
    return hdr;
}

ucs_status_t uct_tcp_zc_ep_am_short(uct_ep_h tl_ep, uint8_t am_id,
                                    uint64_t header, const void *payload,
                                    unsigned length)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_tcp_zc_hdr_t *hdr;
    ucs_status_t status;

    UCT_CHECK_AM_ID(am_id);
    UCT_CHECK_LENGTH(length + sizeof(header), 0,
                     uct_tcp_zc_ep_iface(ep)->config.tx_seg_size, "am_short");

    status = uct_tcp_zc_ep_check_send(ep);
    if (status != UCS_OK) {
        return uct_tcp_zc_ep_drops_sends(ep) ? UCS_OK : status;
    }

    hdr = uct_tcp_zc_ep_am_hdr(ep, am_id, sizeof(header) + length);
    memcpy(hdr + 1, &header, sizeof(header));
    memcpy(UCS_PTR_BYTE_OFFSET(hdr + 1, sizeof(header)), payload, length);
    uct_iface_trace_am(&uct_tcp_zc_ep_iface(ep)->super,
                       UCT_AM_TRACE_TYPE_SEND, am_id, hdr + 1, hdr->length,
                       "SEND fd %d", ep->conn->fd);
    UCT_TL_EP_STAT_OP(&ep->super, AM, SHORT, sizeof(header) + length);
    return uct_tcp_zc_ep_send_staged(ep, sizeof(*hdr) + hdr->length,
                                     UCT_TCP_ZC_TX_SEND);
}

ucs_status_t uct_tcp_zc_ep_am_short_iov(uct_ep_h tl_ep, uint8_t am_id,
                                        const uct_iov_t *iov, size_t iovcnt)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    size_t length       = uct_iov_total_length(iov, iovcnt);
    uct_tcp_zc_hdr_t *hdr;
    ucs_iov_iter_t iov_iter;
    ucs_status_t status;

    UCT_CHECK_AM_ID(am_id);
    UCT_CHECK_IOV_SIZE(iovcnt, UCT_TCP_ZC_MAX_IOV, "am_short_iov");
    UCT_CHECK_LENGTH(length, 0, uct_tcp_zc_ep_iface(ep)->config.tx_seg_size,
                     "am_short_iov");

    status = uct_tcp_zc_ep_check_send(ep);
    if (status != UCS_OK) {
        return uct_tcp_zc_ep_drops_sends(ep) ? UCS_OK : status;
    }

    hdr = uct_tcp_zc_ep_am_hdr(ep, am_id, length);
    ucs_iov_iter_init(&iov_iter);
    /* length is the total of the iov: all of it is copied */
    uct_iov_to_buffer(iov, iovcnt, &iov_iter, hdr + 1, length);
    uct_iface_trace_am(&uct_tcp_zc_ep_iface(ep)->super,
                       UCT_AM_TRACE_TYPE_SEND, am_id, hdr + 1, length,
                       "SEND fd %d", ep->conn->fd);
    UCT_TL_EP_STAT_OP(&ep->super, AM, SHORT, length);
    return uct_tcp_zc_ep_send_staged(ep, sizeof(*hdr) + length,
                                     UCT_TCP_ZC_TX_SEND);
}

ssize_t uct_tcp_zc_ep_am_bcopy(uct_ep_h tl_ep, uint8_t am_id,
                               uct_pack_callback_t pack_cb, void *arg,
                               unsigned flags)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_tcp_zc_hdr_t *hdr;
    ucs_status_t status;
    size_t length;

    UCT_CHECK_AM_ID(am_id);

    status = uct_tcp_zc_ep_check_send(ep);
    if ((status != UCS_OK) && !uct_tcp_zc_ep_drops_sends(ep)) {
        return status;
    }

    hdr    = uct_tcp_zc_ep_am_hdr(ep, am_id, 0);
    length = pack_cb(hdr + 1, arg);
    if (status != UCS_OK) {
        return length;
    }

    ucs_assertv(length <= uct_tcp_zc_ep_iface(ep)->config.tx_seg_size,
                "am_bcopy packed %zu bytes", length);
    hdr->length = length;
    uct_iface_trace_am(&uct_tcp_zc_ep_iface(ep)->super,
                       UCT_AM_TRACE_TYPE_SEND, am_id, hdr + 1, length,
                       "SEND fd %d", ep->conn->fd);
    UCT_TL_EP_STAT_OP(&ep->super, AM, BCOPY, length);

    status = uct_tcp_zc_ep_send_staged(ep, sizeof(*hdr) + length,
                                       UCT_TCP_ZC_TX_SEND);
    return (status == UCS_OK) ? (ssize_t)length : status;
}

/* Convert a UCT iov to socket iov entries; returns the total length */
static size_t uct_tcp_zc_ep_iov(const uct_iov_t *iov, size_t iovcnt,
                                struct iovec *vec, unsigned *vec_cnt)
{
    size_t total = 0;
    size_t i;

    *vec_cnt = 0;
    for (i = 0; i < iovcnt; ++i) {
        if ((iov[i].count == 0) || (iov[i].length == 0)) {
            continue;
        }

        /* strided entries are not supported: count is 1 */
        vec[*vec_cnt].iov_base = iov[i].buffer;
        vec[*vec_cnt].iov_len  = iov[i].length * iov[i].count;
        total                 += vec[*vec_cnt].iov_len;
        ++(*vec_cnt);
    }

    return total;
}

/* Whether an iov has memory of a dmabuf registration; *memh_p is that
 * registration where the iov is one entry */
static int uct_tcp_zc_ep_iov_dmabuf(uct_tcp_zc_ep_t *ep, const uct_iov_t *iov,
                                    size_t iovcnt, uct_tcp_zc_memh_t **memh_p)
{
    uct_tcp_zc_md_t *md = uct_tcp_zc_iface_md(uct_tcp_zc_ep_iface(ep));
    int dmabuf          = 0;
    size_t i;

    /* UCP may pass another md's handle: only the md can tell */
    for (i = 0; i < iovcnt; ++i) {
        dmabuf |= uct_tcp_zc_md_is_dmabuf_memh(md, iov[i].memh);
    }

    *memh_p = (dmabuf && (iovcnt == 1)) ? iov[0].memh : NULL;
    return dmabuf;
}

/* Whether the data of an iov are of a dmabuf registration, so the CPU
 * sends them from its mapping (counted), not zero-copy: the pages of a
 * dmabuf mapping are no user pages which a zero-copy send could pin */
static int uct_tcp_zc_ep_iov_staged(uct_tcp_zc_ep_t *ep, const uct_iov_t *iov,
                                    size_t iovcnt, size_t length)
{
    uct_tcp_zc_memh_t *memh;

    if (!uct_tcp_zc_ep_iov_dmabuf(ep, iov, iovcnt, &memh)) {
        return 0;
    }

    UCT_TCP_ZC_IFACE_STAT(uct_tcp_zc_ep_iface(ep), DEVMEM_STAGED_BYTES,
                          length);
    return 1;
}

ucs_status_t uct_tcp_zc_ep_am_zcopy(uct_ep_h tl_ep, uint8_t am_id,
                                    const void *header, unsigned header_length,
                                    const uct_iov_t *iov, size_t iovcnt,
                                    unsigned flags, uct_completion_t *comp)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uint8_t hdr_buf[sizeof(uct_tcp_zc_hdr_t) + UCT_TCP_ZC_MAX_AM_HDR];
    uct_tcp_zc_hdr_t *hdr = (uct_tcp_zc_hdr_t*)hdr_buf;
    struct iovec vec[UCT_TCP_ZC_MAX_IOV];
    ucs_status_t status;
    unsigned vec_cnt;
    size_t length;

    UCT_CHECK_AM_ID(am_id);
    UCT_CHECK_IOV_SIZE(iovcnt, UCT_TCP_ZC_MAX_IOV, "am_zcopy");
    UCT_CHECK_LENGTH(header_length, 0, UCT_TCP_ZC_MAX_AM_HDR,
                     "am_zcopy header");

    status = uct_tcp_zc_ep_check_send(ep);
    if (status != UCS_OK) {
        return status;
    }

    length = header_length + uct_tcp_zc_ep_iov(iov, iovcnt, vec, &vec_cnt);
    UCT_CHECK_LENGTH(length, 0, uct_tcp_zc_ep_iface(ep)->config.seg_size,
                     "am_zcopy");

    hdr->type     = UCT_TCP_ZC_MSG_AM;
    hdr->am_id    = am_id;
    hdr->version  = UCT_TCP_ZC_VERSION;
    hdr->flags    = 0;
    hdr->length   = length;
    memcpy(hdr + 1, header, header_length);
    uct_iface_trace_am(&uct_tcp_zc_ep_iface(ep)->super,
                       UCT_AM_TRACE_TYPE_SEND, am_id, hdr + 1, header_length,
                       "SEND fd %d", ep->conn->fd);
    UCT_TL_EP_STAT_OP(&ep->super, AM, ZCOPY, length);

    return uct_tcp_zc_conn_send(ep->conn, hdr, sizeof(*hdr) + header_length,
                                vec, vec_cnt,
                                !uct_tcp_zc_ep_iov_staged(ep, iov, iovcnt,
                                                          length),
                                UCT_TCP_ZC_TX_SEND, comp, NULL);
}

static UCS_F_ALWAYS_INLINE void
uct_tcp_zc_ep_rma_req(uct_tcp_zc_rma_req_t *req, uint8_t type,
                      uint64_t remote_addr, uct_rkey_t rkey, size_t length)
{
    /* an empty access may come without a remote key */
    const uct_tcp_zc_rkey_t *key = (const uct_tcp_zc_rkey_t*)rkey;

    req->hdr.type     = type;
    req->hdr.am_id    = 0;
    req->hdr.version  = UCT_TCP_ZC_VERSION;
    req->hdr.flags    = 0;
    req->hdr.length   = (type == UCT_TCP_ZC_MSG_PUT) ? length : 0;
    ucs_trace_data("tcp_zc %s length %zu remote_addr 0x%" PRIx64,
                   (type == UCT_TCP_ZC_MSG_PUT) ? "PUT" : "GET", length,
                   remote_addr);
    req->rma.address  = remote_addr;
    req->rma.key      = ((rkey == UCT_INVALID_RKEY) || (rkey == 0)) ? 0 :
                                                                    key->key;
    req->rma.length   = length;
}

/* Checks of a PUT or GET zcopy; converts its iov */
static UCS_F_ALWAYS_INLINE ucs_status_t
uct_tcp_zc_ep_rma_zcopy_start(uct_tcp_zc_ep_t *ep, const uct_iov_t *iov,
                              size_t iovcnt, struct iovec *vec,
                              unsigned *vec_cnt, size_t *length_p)
{
    ucs_status_t status;

    UCT_CHECK_IOV_SIZE(iovcnt, UCT_TCP_ZC_MAX_IOV, "rma zcopy");

    status = uct_tcp_zc_ep_check_rma(ep);
    if (status != UCS_OK) {
        return status;
    }

    *length_p = uct_tcp_zc_ep_iov(iov, iovcnt, vec, vec_cnt);
    UCT_CHECK_LENGTH(*length_p, 0, UCT_TCP_ZC_RMA_MAX_LENGTH, "rma zcopy");
    return UCS_OK;
}

ucs_status_t uct_tcp_zc_ep_put_short(uct_ep_h tl_ep, const void *buffer,
                                     unsigned length, uint64_t remote_addr,
                                     uct_rkey_t rkey)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_tcp_zc_rma_req_t *req;
    ucs_status_t status;

    UCT_CHECK_LENGTH(length, 0, uct_tcp_zc_ep_iface(ep)->config.seg_size,
                     "put_short");

    status = uct_tcp_zc_ep_check_rma(ep);
    if (status != UCS_OK) {
        return uct_tcp_zc_ep_drops_sends(ep) ? UCS_OK : status;
    }

    req = (uct_tcp_zc_rma_req_t*)uct_tcp_zc_ep_iface(ep)->tx_buf;
    uct_tcp_zc_ep_rma_req(req, UCT_TCP_ZC_MSG_PUT, remote_addr, rkey, length);
    memcpy(req + 1, buffer, length);
    UCT_TL_EP_STAT_OP(&ep->super, PUT, SHORT, length);
    return uct_tcp_zc_ep_send_staged(ep, sizeof(*req) + length,
                                     UCT_TCP_ZC_TX_PUT);
}

ssize_t uct_tcp_zc_ep_put_bcopy(uct_ep_h tl_ep, uct_pack_callback_t pack_cb,
                                void *arg, uint64_t remote_addr,
                                uct_rkey_t rkey)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_tcp_zc_rma_req_t *req;
    ucs_status_t status;
    size_t length;

    status = uct_tcp_zc_ep_check_rma(ep);
    if ((status != UCS_OK) && !uct_tcp_zc_ep_drops_sends(ep)) {
        return status;
    }

    req    = (uct_tcp_zc_rma_req_t*)uct_tcp_zc_ep_iface(ep)->tx_buf;
    length = pack_cb(req + 1, arg);
    if (status != UCS_OK) {
        return length;
    }

    ucs_assertv(length <= uct_tcp_zc_ep_iface(ep)->config.seg_size,
                "put_bcopy packed %zu bytes", length);
    uct_tcp_zc_ep_rma_req(req, UCT_TCP_ZC_MSG_PUT, remote_addr, rkey, length);
    UCT_TL_EP_STAT_OP(&ep->super, PUT, BCOPY, length);

    status = uct_tcp_zc_ep_send_staged(ep, sizeof(*req) + length,
                                       UCT_TCP_ZC_TX_PUT);
    return (status == UCS_OK) ? (ssize_t)length : status;
}

/* The entries of an iov which cover [offset, offset + length) */
static unsigned uct_tcp_zc_ep_iov_slice(const struct iovec *vec,
                                        unsigned vec_cnt, size_t offset,
                                        size_t length, struct iovec *slice)
{
    unsigned i, count = 0;
    size_t skip;

    for (i = 0; (i < vec_cnt) && (length > 0); ++i) {
        if (offset >= vec[i].iov_len) {
            offset -= vec[i].iov_len;
            continue;
        }

        skip                   = offset;
        slice[count].iov_base  = UCS_PTR_BYTE_OFFSET(vec[i].iov_base, skip);
        slice[count].iov_len   = ucs_min(vec[i].iov_len - skip, length);
        length                -= slice[count].iov_len;
        offset                 = 0;
        ++count;
    }

    return count;
}

static ucs_status_t
uct_tcp_zc_ep_get(uct_tcp_zc_ep_t *ep, const struct iovec *vec,
                  unsigned vec_cnt, size_t length, uint64_t remote_addr,
                  uct_rkey_t rkey, int dst_device, uct_completion_t *comp,
                  uct_tcp_zc_tx_t **tx_p);

/* A PUT whose data go on the data connection: from the dmabuf of memh
 * (if not NULL) where the device sends from it */
static ucs_status_t uct_tcp_zc_ep_put_dc(uct_tcp_zc_ep_t *ep,
                                         uct_tcp_zc_rma_req_t *req,
                                         const struct iovec *vec,
                                         unsigned vec_cnt,
                                         uct_tcp_zc_memh_t *memh,
                                         uct_completion_t *comp)
{
    uct_tcp_zc_conn_t *conn = ep->conn;
    uct_tcp_zc_tx_t *dc_tx;
    ucs_status_t status;

    if (conn->dc.tx == NULL) {
        status = uct_tcp_zc_conn_dc_open(conn);
        if (status != UCS_OK) {
            return status;
        }
    }

    dc_tx = uct_tcp_zc_dc_tx_get(conn, vec, vec_cnt, memh);
    if (dc_tx == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    req->hdr.flags = UCT_TCP_ZC_HDR_FLAG_DATA_CONN;
    return uct_tcp_zc_conn_send_dc(conn, req, sizeof(*req), dc_tx,
                                   UCT_TCP_ZC_TX_PUT, comp);
}

/* The parts of a PUT or GET zcopy complete the user's completion once */
typedef struct uct_tcp_zc_rma_parts {
    uct_completion_t super;  /* counts the parts */
    uct_completion_t *comp;  /* the user's */
} uct_tcp_zc_rma_parts_t;


static void uct_tcp_zc_ep_rma_parts_done(uct_completion_t *self)
{
    uct_tcp_zc_rma_parts_t *parts = ucs_derived_of(self,
                                                   uct_tcp_zc_rma_parts_t);

    uct_invoke_completion(parts->comp, self->status);
    ucs_free(parts);
}

/*
 * A PUT or GET zcopy goes as messages of at most UCT_TCP_ZC_RMA_SEG_SIZE
 * bytes, each answered: answers to the peer's requests are written between
 * them. The user's completion is completed once, when all of them are.
 */
static ucs_status_t
uct_tcp_zc_ep_rma_zcopy(uct_tcp_zc_ep_t *ep, uint8_t type,
                        const struct iovec *vec, unsigned vec_cnt,
                        size_t length, uint64_t remote_addr, uct_rkey_t rkey,
                        int dc, uct_tcp_zc_memh_t *dc_memh, int zcopy,
                        uct_completion_t *comp)
{
    size_t num_parts = ucs_max(ucs_div_round_up(length,
                                                UCT_TCP_ZC_RMA_SEG_SIZE), 1);
    uct_tcp_zc_rma_parts_t *parts = NULL;
    struct iovec slice[UCT_TCP_ZC_MAX_IOV];
    uct_completion_t *part_comp   = comp;
    uct_tcp_zc_rma_req_t req;
    uct_tcp_zc_tx_t *tx;
    unsigned slice_cnt;
    ucs_status_t status;
    size_t i, offset, part;

    if ((comp != NULL) && (num_parts > 1)) {
        parts = ucs_malloc(sizeof(*parts), "tcp_zc rma parts");
        if (parts == NULL) {
            return UCS_ERR_NO_MEMORY;
        }

        parts->super.func   = uct_tcp_zc_ep_rma_parts_done;
        parts->super.count  = num_parts;
        parts->super.status = UCS_OK;
        parts->comp         = comp;
        part_comp           = &parts->super;
    }

    for (i = 0, offset = 0; i < num_parts; ++i, offset += part) {
        part      = ucs_min(length - offset, UCT_TCP_ZC_RMA_SEG_SIZE);
        slice_cnt = uct_tcp_zc_ep_iov_slice(vec, vec_cnt, offset, part,
                                            slice);
        if (type == UCT_TCP_ZC_MSG_PUT) {
            uct_tcp_zc_ep_rma_req(&req, type, remote_addr + offset, rkey,
                                  part);
            status = dc ? uct_tcp_zc_ep_put_dc(ep, &req, slice, slice_cnt,
                                               dc_memh, part_comp) :
                          uct_tcp_zc_conn_send(ep->conn, &req, sizeof(req),
                                               slice, slice_cnt, zcopy,
                                               UCT_TCP_ZC_TX_PUT, part_comp,
                                               NULL);
        } else {
            status = uct_tcp_zc_ep_get(ep, slice, slice_cnt, part,
                                       remote_addr + offset, rkey, dc,
                                       part_comp, &tx);
        }

        if (!UCS_STATUS_IS_ERR(status)) {
            continue;
        }

        if (i == 0) {
            ucs_free(parts);
            return status;
        } else if (parts != NULL) {
            /* the parts which went complete with their connection's fate;
             * the others fail now */
            parts->super.count -= num_parts - i - 1;
            uct_invoke_completion(&parts->super, status);
        }
        return UCS_INPROGRESS;
    }

    return UCS_INPROGRESS;
}

ucs_status_t uct_tcp_zc_ep_put_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov,
                                     size_t iovcnt, uint64_t remote_addr,
                                     uct_rkey_t rkey, uct_completion_t *comp)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    struct iovec vec[UCT_TCP_ZC_MAX_IOV];
    ucs_status_t status;
    unsigned vec_cnt;
    uct_tcp_zc_memh_t *dc_memh;
    int dc, src_dmabuf;
    size_t length;

    status = uct_tcp_zc_ep_rma_zcopy_start(ep, iov, iovcnt, vec, &vec_cnt,
                                           &length);
    if (status != UCS_OK) {
        return status;
    }

    UCT_TL_EP_STAT_OP(&ep->super, PUT, ZCOPY, length);

    /* completes when the target acknowledges the data; data from or to
     * device memory go on the data connection, where the peer has one */
    src_dmabuf = uct_tcp_zc_ep_iov_dmabuf(ep, iov, iovcnt, &dc_memh);
    dc         = uct_tcp_zc_dc_wanted(ep->conn, src_dmabuf,
                                      (rkey != UCT_INVALID_RKEY) &&
                                      (rkey != 0) &&
                                      uct_tcp_zc_key_is_dmabuf(
                                              ((const uct_tcp_zc_rkey_t*)
                                                       rkey)->key),
                                      length);
    if (!dc && src_dmabuf) {
        /* the CPU sends it from the registration's mapping */
        UCT_TCP_ZC_IFACE_STAT(uct_tcp_zc_ep_iface(ep), DEVMEM_STAGED_BYTES,
                              length);
    }

    return uct_tcp_zc_ep_rma_zcopy(ep, UCT_TCP_ZC_MSG_PUT, vec, vec_cnt,
                                   length, remote_addr, rkey, dc, dc_memh,
                                   !src_dmabuf, comp);
}

static ucs_status_t
uct_tcp_zc_ep_get(uct_tcp_zc_ep_t *ep, const struct iovec *vec,
                  unsigned vec_cnt, size_t length, uint64_t remote_addr,
                  uct_rkey_t rkey, int dst_device, uct_completion_t *comp,
                  uct_tcp_zc_tx_t **tx_p)
{
    uct_tcp_zc_rma_req_t req;
    ucs_status_t status;

    uct_tcp_zc_ep_rma_req(&req, UCT_TCP_ZC_MSG_GET_REQ, remote_addr, rkey,
                          length);
    if (dst_device) {
        /* the peer may answer on the data connection */
        req.hdr.flags = UCT_TCP_ZC_HDR_FLAG_DEVICE_DEST;
    }
    status = uct_tcp_zc_conn_send(ep->conn, &req, sizeof(req), NULL, 0, 0,
                                  UCT_TCP_ZC_TX_GET, comp, tx_p);
    if (UCS_STATUS_IS_ERR(status)) {
        return status;
    }

    /* the answer can arrive only from progress, after this returns */
    memcpy((*tx_p)->get_iov, vec, sizeof(*vec) * vec_cnt);
    (*tx_p)->get_iovcnt = vec_cnt;
    (*tx_p)->get_length = length;
    return UCS_INPROGRESS;
}

ucs_status_t uct_tcp_zc_ep_get_bcopy(uct_ep_h tl_ep,
                                     uct_unpack_callback_t unpack_cb,
                                     void *arg, size_t length,
                                     uint64_t remote_addr, uct_rkey_t rkey,
                                     uct_completion_t *comp)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    struct iovec vec;
    uct_tcp_zc_tx_t *tx;
    ucs_status_t status;

    UCT_CHECK_LENGTH(length, 0, uct_tcp_zc_ep_iface(ep)->config.seg_size,
                     "get_bcopy");

    status = uct_tcp_zc_ep_check_rma(ep);
    if (status != UCS_OK) {
        return status;
    }

    vec.iov_base = ucs_malloc(ucs_max(length, 1), "tcp_zc get_bcopy");
    if (vec.iov_base == NULL) {
        ucs_error("failed to allocate tcp_zc get_bcopy buffer");
        return UCS_ERR_NO_MEMORY;
    }

    vec.iov_len = length;
    status      = uct_tcp_zc_ep_get(ep, &vec, 1, length, remote_addr, rkey,
                                    0, comp, &tx);
    if (UCS_STATUS_IS_ERR(status)) {
        ucs_free(vec.iov_base);
        return status;
    }

    tx->unpack_cb  = unpack_cb;
    tx->unpack_arg = arg;
    tx->bounce     = vec.iov_base;
    UCT_TL_EP_STAT_OP(&ep->super, GET, BCOPY, length);
    return UCS_INPROGRESS;
}

ucs_status_t uct_tcp_zc_ep_get_zcopy(uct_ep_h tl_ep, const uct_iov_t *iov,
                                     size_t iovcnt, uint64_t remote_addr,
                                     uct_rkey_t rkey, uct_completion_t *comp)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    struct iovec vec[UCT_TCP_ZC_MAX_IOV];
    uct_tcp_zc_memh_t *memh;
    ucs_status_t status;
    unsigned vec_cnt;
    size_t length;

    status = uct_tcp_zc_ep_rma_zcopy_start(ep, iov, iovcnt, vec, &vec_cnt,
                                           &length);
    if (status != UCS_OK) {
        return status;
    }

    UCT_TL_EP_STAT_OP(&ep->super, GET, ZCOPY, length);
    return uct_tcp_zc_ep_rma_zcopy(ep, UCT_TCP_ZC_MSG_GET_REQ, vec, vec_cnt,
                                   length, remote_addr, rkey,
                                   uct_tcp_zc_ep_iov_dmabuf(ep, iov, iovcnt,
                                                            &memh),
                                   NULL, 0, comp);
}

ucs_status_t uct_tcp_zc_ep_flush(uct_ep_h tl_ep, unsigned flags,
                                 uct_completion_t *comp)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);

    if (flags & UCT_FLUSH_FLAG_CANCEL) {
        /* a partly written message cannot be taken back: the connection
         * goes, and outstanding operations complete as canceled */
        if (ep->status == UCS_OK) {
            uct_tcp_zc_conn_close(ep->conn, UCS_ERR_CANCELED);
            ep->status = UCS_ERR_CANCELED;
        }
        return UCS_OK;
    }

    if (ep->status != UCS_OK) {
        return ep->status;
    }

    /* a flush from a pending request covers what was sent before it, not
     * the requests queued behind it: refusing it would stop the dispatch
     * with nothing left to restart it */
    if (!ucs_queue_is_empty(&ep->pending_q) && !ep->in_pending_dispatch) {
        return UCS_ERR_NO_RESOURCE;
    }

    UCT_TL_EP_STAT_FLUSH(&ep->super);
    return uct_tcp_zc_conn_flush(ep->conn, comp);
}

ucs_status_t uct_tcp_zc_ep_pending_add(uct_ep_h tl_ep, uct_pending_req_t *req,
                                       unsigned flags)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);

    if ((ep->status != UCS_OK) ||
        (uct_tcp_zc_ep_can_send(ep) &&
         !uct_tcp_zc_conn_rma_blocked(ep->conn))) {
        return UCS_ERR_BUSY;
    }

    uct_pending_req_queue_push(&ep->pending_q, req);
    UCT_TL_EP_STAT_PEND(&ep->super);
    return UCS_OK;
}

void uct_tcp_zc_ep_pending_purge(uct_ep_h tl_ep,
                                 uct_pending_purge_callback_t cb, void *arg)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_pending_req_priv_queue_t UCS_V_UNUSED *priv;

    uct_pending_queue_purge(priv, &ep->pending_q, 1, cb, arg);
}

ucs_status_t uct_tcp_zc_ep_check(uct_ep_h tl_ep, unsigned flags,
                                 uct_completion_t *comp)
{
    uct_tcp_zc_ep_t *ep  = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    uct_tcp_zc_hdr_t hdr = {
        .type    = UCT_TCP_ZC_MSG_KEEPALIVE,
        .version = UCT_TCP_ZC_VERSION
    };

    if (!uct_tcp_zc_ep_can_send(ep)) {
        /* a failure is reported already, or traffic is in flight and will
         * find out */
        return UCS_OK;
    }

    /* a dead peer answers with a reset, which fails the connection and is
     * reported through the error handler */
    (void)uct_tcp_zc_conn_send(ep->conn, &hdr, sizeof(hdr), NULL, 0, 0,
                               UCT_TCP_ZC_TX_SEND, NULL, NULL);
    return UCS_OK;
}

int uct_tcp_zc_ep_is_connected(const uct_ep_h tl_ep,
                               const uct_tcp_zc_ep_is_connected_params_t *params)
{
    uct_tcp_zc_ep_t *ep = ucs_derived_of(tl_ep, uct_tcp_zc_ep_t);
    const uct_tcp_zc_ep_addr_t *ep_addr;
    const uct_iface_addr_t *iface_addr;
    struct sockaddr_storage addr;

    ep_addr = (const uct_tcp_zc_ep_addr_t*)
              UCT_TCP_ZC_EP_IS_CONNECTED_EP_ADDR(params);
    if (ep_addr != NULL) {
        if ((ep->peer_id == 0) || (ep_addr->ep_id != ep->peer_id)) {
            return 0;
        }
        iface_addr = (const uct_iface_addr_t*)&ep_addr->iface_addr;
    } else if (params->field_mask & UCT_EP_IS_CONNECTED_FIELD_IFACE_ADDR) {
        iface_addr = params->iface_addr;
    } else {
        return 0;
    }

    if (!(params->field_mask & UCT_EP_IS_CONNECTED_FIELD_DEVICE_ADDR)) {
        return 0;
    }

    return (uct_tcp_zc_iface_peer_sockaddr(uct_tcp_zc_ep_iface(ep),
                                           params->device_addr, iface_addr,
                                           &addr) == UCS_OK) &&
           (ucs_sockaddr_cmp((struct sockaddr*)&addr,
                             (struct sockaddr*)&ep->conn->peer_addr,
                             NULL) == 0);
}
