/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_genl.h"
#include "tcp_zc_uapi.h"

#include <ucs/debug/log.h>
#include <ucs/sys/compiler_def.h>
#include <ucs/sys/math.h>
#include <ucs/sys/string.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <linux/genetlink.h>
#include <errno.h>
#include <string.h>


/*
 * Generic netlink on libnl-genl-3. libnl frames, sends and receives the
 * messages; what it leaves out is the extended ACK: it neither enables it nor
 * hands the TLVs of an error to its callbacks. So the socket option is set
 * here, and every NLMSG_ERROR (and NLMSG_DONE, which carries the error of a
 * failed dump) is parsed here, bounded by its own length.
 */


/* The answer to one request, as the receive callbacks see it */
typedef struct uct_tcp_zc_genl_req {
    uct_tcp_zc_genl_reply_cb_t cb;
    void                       *arg;
    uct_tcp_zc_genl_err_t      *err;
    int                        done;      /* ACK, error or end of dump */
    int                        malformed; /* of an error or done message */
    ucs_status_t               cb_status; /* first failure of cb */
} uct_tcp_zc_genl_req_t;


static const struct nla_policy
uct_tcp_zc_genl_ctrl_policy[CTRL_ATTR_MAX + 1] = {
    [CTRL_ATTR_FAMILY_ID]   = { .type = NLA_U16 },
    [CTRL_ATTR_FAMILY_NAME] = { .type = NLA_STRING },
    [CTRL_ATTR_VERSION]     = { .type = NLA_U32 },
    [CTRL_ATTR_OPS]         = { .type = NLA_NESTED }
};

static const struct nla_policy
uct_tcp_zc_genl_op_policy[CTRL_ATTR_OP_MAX + 1] = {
    [CTRL_ATTR_OP_ID]    = { .type = NLA_U32 },
    [CTRL_ATTR_OP_FLAGS] = { .type = NLA_U32 }
};


void uct_tcp_zc_genl_err_init(uct_tcp_zc_genl_err_t *err)
{
    err->error     = 0;
    err->msg[0]    = '\0';
    err->offset    = -1;
    err->miss_type = -1;
    err->miss_nest = -1;
    err->attr_type = -1;
}

ucs_status_t uct_tcp_zc_genl_status(int error)
{
    switch (error) {
    case 0:
        return UCS_OK;
    case EPERM:
    case EACCES:
        return UCS_ERR_REJECTED;
    case EOPNOTSUPP:
        return UCS_ERR_UNSUPPORTED;
    case ENODEV:
        return UCS_ERR_NO_DEVICE;
    case EINVAL:
    case EBADF:
    case ERANGE:
        return UCS_ERR_INVALID_PARAM;
    case EEXIST:
        return UCS_ERR_ALREADY_EXISTS;
    case EBUSY:
        return UCS_ERR_BUSY;
    case ENOMEM:
        return UCS_ERR_NO_MEMORY;
    case ENOENT:
        return UCS_ERR_NO_ELEM;
    default:
        return UCS_ERR_IO_ERROR;
    }
}

const char *uct_tcp_zc_genl_err_str(const uct_tcp_zc_genl_err_t *err,
                                    char *buf, size_t max)
{
    size_t len;

    ucs_snprintf_zero(buf, max, "%s", strerror(err->error));
    if (err->msg[0] != '\0') {
        len = strlen(buf);
        ucs_snprintf_zero(buf + len, max - len, " (%s)", err->msg);
    }

    if (err->offset >= 0) {
        len = strlen(buf);
        if (err->attr_type >= 0) {
            ucs_snprintf_zero(buf + len, max - len,
                              " [attribute offset %d, type %d]", err->offset,
                              err->attr_type);
        } else {
            ucs_snprintf_zero(buf + len, max - len, " [attribute offset %d]",
                              err->offset);
        }
    }

    if (err->miss_type >= 0) {
        len = strlen(buf);
        if (err->miss_nest >= 0) {
            ucs_snprintf_zero(buf + len, max - len,
                              " [missing attribute %d in the nest at offset "
                              "%d]", err->miss_type, err->miss_nest);
        } else {
            ucs_snprintf_zero(buf + len, max - len, " [missing attribute %d]",
                              err->miss_type);
        }
    }

    return buf;
}

/* A u32 TLV payload; -1 if it is too short or does not fit an int */
static int uct_tcp_zc_genl_tlv_int(const struct nlattr *nla, int *value_p)
{
    uint32_t value;

    *value_p = -1;
    if (nla->nla_len < NLA_HDRLEN + sizeof(value)) {
        return -1;
    }

    memcpy(&value, UCS_PTR_BYTE_OFFSET(nla, NLA_HDRLEN), sizeof(value));
    if (value > INT32_MAX) {
        return -1;
    }

    *value_p = value;
    return 0;
}

/* The extack text; one without a NUL inside its TLV is malformed, and what
 * fits of it is kept */
static int uct_tcp_zc_genl_tlv_msg(const struct nlattr *nla,
                                   uct_tcp_zc_genl_err_t *err)
{
    const char *text = UCS_PTR_BYTE_OFFSET(nla, NLA_HDRLEN);
    size_t text_len  = nla->nla_len - NLA_HDRLEN;
    size_t copy_len;

    copy_len = ucs_min(text_len, sizeof(err->msg) - 1);
    memcpy(err->msg, text, copy_len);
    err->msg[copy_len] = '\0';
    return (memchr(text, '\0', text_len) == NULL) ? -1 : 0;
}

/*
 * The extended ACK TLVs in buf[pos, len). Each TLV must lie within len; a
 * known one with a short payload is malformed. Returns 0, or -1 with what was
 * read before the fault kept in err.
 */
static int uct_tcp_zc_genl_parse_tlvs(const void *buf, size_t pos, size_t len,
                                      uct_tcp_zc_genl_err_t *err)
{
    const struct nlattr *nla;
    int ret;

    ret = 0;
    while ((len - pos) >= NLA_HDRLEN) {
        nla = UCS_PTR_BYTE_OFFSET(buf, pos);
        if ((nla->nla_len < NLA_HDRLEN) || (nla->nla_len > (len - pos))) {
            return -1;
        }

        switch (nla->nla_type & NLA_TYPE_MASK) {
        case NLMSGERR_ATTR_MSG:
            ret |= uct_tcp_zc_genl_tlv_msg(nla, err);
            break;
        case NLMSGERR_ATTR_OFFS:
            ret |= uct_tcp_zc_genl_tlv_int(nla, &err->offset);
            break;
        case NLMSGERR_ATTR_MISS_TYPE:
            ret |= uct_tcp_zc_genl_tlv_int(nla, &err->miss_type);
            break;
        case NLMSGERR_ATTR_MISS_NEST:
            ret |= uct_tcp_zc_genl_tlv_int(nla, &err->miss_nest);
            break;
        default:
            /* cookie, policy: nothing tcp_zc uses */
            break;
        }

        if (NLA_ALIGN(nla->nla_len) >= (len - pos)) {
            return ret;
        }

        pos += NLA_ALIGN(nla->nla_len);
    }

    /* the kernel pads every TLV, so bytes left over are a fault */
    return (pos == len) ? ret : -1;
}

/* The part of a message which lies in len; -1 if its header does not */
static int uct_tcp_zc_genl_msg_len(const struct nlmsghdr *nlh, size_t len,
                                   size_t *msg_len_p)
{
    *msg_len_p = 0;
    if ((len < NLMSG_HDRLEN) || (nlh->nlmsg_len < NLMSG_HDRLEN)) {
        return -1;
    }

    *msg_len_p = ucs_min(len, nlh->nlmsg_len);
    return (nlh->nlmsg_len > len) ? -1 : 0;
}

int uct_tcp_zc_genl_parse_error(const struct nlmsghdr *nlh, size_t len,
                                uct_tcp_zc_genl_err_t *err)
{
    const struct nlmsgerr *nlerr;
    size_t msg_len, pos;
    int ret;

    uct_tcp_zc_genl_err_init(err);
    ret = uct_tcp_zc_genl_msg_len(nlh, len, &msg_len);
    if ((msg_len < NLMSG_HDRLEN + sizeof(*nlerr)) ||
        (nlh->nlmsg_type != NLMSG_ERROR)) {
        /* not even the errno; one is made up so that a broken answer is
         * not taken for an ACK */
        err->error = EBADMSG;
        return -1;
    }

    nlerr      = NLMSG_DATA(nlh);
    err->error = (nlerr->error < 0) ? -nlerr->error : nlerr->error;
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
        return ret;
    }

    /* the TLVs follow the request's header (capped) or the whole request */
    if (nlh->nlmsg_flags & NLM_F_CAPPED) {
        pos = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*nlerr));
    } else if (nlerr->msg.nlmsg_len >= NLMSG_HDRLEN) {
        pos = NLMSG_HDRLEN +
              NLMSG_ALIGN(sizeof(nlerr->error) + nlerr->msg.nlmsg_len);
    } else {
        return -1;
    }

    if (pos > msg_len) {
        return -1;
    }

    return uct_tcp_zc_genl_parse_tlvs(nlh, pos, msg_len, err) | ret;
}

/* NLMSG_DONE of a dump: an int, negative if the dump failed, then TLVs */
static int uct_tcp_zc_genl_parse_done(const struct nlmsghdr *nlh, size_t len,
                                      uct_tcp_zc_genl_err_t *err)
{
    size_t msg_len, pos;
    int32_t value;
    int ret;

    uct_tcp_zc_genl_err_init(err);
    ret = uct_tcp_zc_genl_msg_len(nlh, len, &msg_len);
    if (msg_len < NLMSG_HDRLEN + sizeof(value)) {
        /* old kernels end a dump with an empty NLMSG_DONE */
        return ret;
    }

    memcpy(&value, NLMSG_DATA(nlh), sizeof(value));
    err->error = (value < 0) ? -value : 0;
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
        return ret;
    }

    pos = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(value));
    if (pos > msg_len) {
        return -1;
    }

    return uct_tcp_zc_genl_parse_tlvs(nlh, pos, msg_len, err) | ret;
}

/* Every message received, before libnl handles it: the only callback which
 * sees an NLMSG_ERROR whole, with its length */
static int uct_tcp_zc_genl_msg_in_cb(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_genl_req_t *req = arg;
    struct nlmsghdr *nlh       = nlmsg_hdr(msg);
    int ret;

    if (nlh->nlmsg_type == NLMSG_ERROR) {
        ret = uct_tcp_zc_genl_parse_error(nlh, nlh->nlmsg_len, req->err);
    } else if (nlh->nlmsg_type == NLMSG_DONE) {
        ret = uct_tcp_zc_genl_parse_done(nlh, nlh->nlmsg_len, req->err);
    } else {
        return NL_OK;
    }

    if (ret != 0) {
        req->malformed = 1;
    }

    return NL_OK;
}

static int uct_tcp_zc_genl_valid_cb(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_genl_req_t *req = arg;
    int ret;

    /* after a failed callback the rest of the answer is read and dropped,
     * so the next request of the socket starts in step */
    if ((req->cb == NULL) || (req->cb_status != UCS_OK)) {
        return NL_SKIP;
    }

    ret = req->cb(msg, req->arg);
    if (ret != 0) {
        req->cb_status = (ret < 0) ? (ucs_status_t)ret : UCS_ERR_IO_ERROR;
    }

    return NL_OK;
}

static int uct_tcp_zc_genl_done_cb(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_genl_req_t *req = arg;

    req->done = 1;
    return NL_STOP;
}

static int uct_tcp_zc_genl_error_cb(struct sockaddr_nl *nla,
                                    struct nlmsgerr *nlerr, void *arg)
{
    uct_tcp_zc_genl_req_t *req = arg;

    /* the message was parsed whole by uct_tcp_zc_genl_msg_in_cb */
    req->done = 1;
    return NL_STOP;
}

/* The type of the attribute at err->offset in the request, if it lies there */
static void uct_tcp_zc_genl_err_attr(const struct nlmsghdr *req_nlh,
                                     uct_tcp_zc_genl_err_t *err)
{
    struct nlattr nla;

    if ((err->offset < (int)(NLMSG_HDRLEN + GENL_HDRLEN)) ||
        ((err->offset % NLA_ALIGNTO) != 0) ||
        (((size_t)err->offset + NLA_HDRLEN) > req_nlh->nlmsg_len)) {
        return;
    }

    memcpy(&nla, UCS_PTR_BYTE_OFFSET(req_nlh, err->offset), sizeof(nla));
    err->attr_type = nla.nla_type & NLA_TYPE_MASK;
}

/* Receive the answer to the request which was just sent */
static ucs_status_t uct_tcp_zc_genl_recv(uct_tcp_zc_genl_t *genl,
                                         uct_tcp_zc_genl_req_t *req)
{
    struct nl_cb *cb;
    int ret;

    cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (cb == NULL) {
        ucs_error("netlink %s: failed to allocate callbacks", genl->name);
        req->err->error = ENOMEM;
        return UCS_ERR_NO_MEMORY;
    }

    nl_cb_set(cb, NL_CB_MSG_IN, NL_CB_CUSTOM, uct_tcp_zc_genl_msg_in_cb, req);
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, uct_tcp_zc_genl_valid_cb, req);
    nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, uct_tcp_zc_genl_done_cb, req);
    nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, uct_tcp_zc_genl_done_cb, req);
    nl_cb_err(cb, NL_CB_CUSTOM, uct_tcp_zc_genl_error_cb, req);

    /* a reply of a "do" request and its ACK may come in separate reads */
    do {
        ret = nl_recvmsgs(genl->sock, cb);
    } while (!req->done && (ret >= 0));

    nl_cb_put(cb);

    if (req->malformed) {
        ucs_diag("netlink %s: malformed error message from the kernel",
                 genl->name);
    }

    if (req->err->error != 0) {
        return uct_tcp_zc_genl_status(req->err->error);
    }

    if (ret < 0) {
        /* ours, not the kernel's: socket, sequence or message failure */
        ucs_error("netlink %s: failed to receive an answer: %s", genl->name,
                  nl_geterror(ret));
        req->err->error = EIO;
        return UCS_ERR_IO_ERROR;
    }

    return req->cb_status;
}

ucs_status_t uct_tcp_zc_genl_request(uct_tcp_zc_genl_t *genl,
                                     struct nl_msg *msg,
                                     uct_tcp_zc_genl_reply_cb_t cb, void *arg,
                                     uct_tcp_zc_genl_err_t *err)
{
    struct nlmsghdr *nlh = nlmsg_hdr(msg);
    uct_tcp_zc_genl_err_t local_err;
    uct_tcp_zc_genl_req_t req;
    char err_str[UCT_TCP_ZC_GENL_MSG_MAX + 128];
    ucs_status_t status;
    uint8_t cmd;
    int ret;

    if (err == NULL) {
        err = &local_err;
    }

    uct_tcp_zc_genl_err_init(err);
    cmd = ((struct genlmsghdr*)nlmsg_data(nlh))->cmd;

    ret = nl_send_auto(genl->sock, msg);
    if (ret < 0) {
        ucs_error("netlink %s: failed to send command %u: %s", genl->name,
                  cmd, nl_geterror(ret));
        err->error = EIO;
        status     = UCS_ERR_IO_ERROR;
        goto out;
    }

    req.cb        = cb;
    req.arg       = arg;
    req.err       = err;
    req.done      = 0;
    req.malformed = 0;
    req.cb_status = UCS_OK;
    status        = uct_tcp_zc_genl_recv(genl, &req);

    /* the request is kept until now to name the attribute the kernel
     * pointed at */
    uct_tcp_zc_genl_err_attr(nlh, err);
    if (err->error != 0) {
        ucs_debug("netlink %s command %u: %s", genl->name, cmd,
                  uct_tcp_zc_genl_err_str(err, err_str, sizeof(err_str)));
    } else if (err->msg[0] != '\0') {
        ucs_debug("netlink %s command %u: kernel warning: %s", genl->name,
                  cmd, err->msg);
    }

out:
    nlmsg_free(msg);
    return status;
}

static struct nl_msg *uct_tcp_zc_genl_msg_alloc(int family_id,
                                                uint32_t version, uint8_t cmd,
                                                int flags)
{
    struct nl_msg *msg;

    msg = nlmsg_alloc();
    if (msg == NULL) {
        return NULL;
    }

    if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family_id, 0,
                    NLM_F_REQUEST | flags, cmd, version) == NULL) {
        nlmsg_free(msg);
        return NULL;
    }

    return msg;
}

struct nl_msg *
uct_tcp_zc_genl_msg(const uct_tcp_zc_genl_t *genl, uint8_t cmd, int flags)
{
    return uct_tcp_zc_genl_msg_alloc(genl->family_id, genl->version, cmd,
                                     flags);
}

int uct_tcp_zc_genl_has_op(const uct_tcp_zc_genl_t *genl, uint8_t cmd)
{
    return !!(genl->ops[cmd / 8] & UCS_BIT(cmd % 8));
}

/* The CTRL_CMD_GETFAMILY reply: family id, version and operations */
static int uct_tcp_zc_genl_family_cb(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_genl_t *genl = arg;
    struct nlattr *tb[CTRL_ATTR_MAX + 1];
    struct nlattr *op_tb[CTRL_ATTR_OP_MAX + 1];
    struct nlattr *op;
    uint32_t op_id;
    int rem;

    if ((genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX,
                       uct_tcp_zc_genl_ctrl_policy) < 0) ||
        (tb[CTRL_ATTR_FAMILY_ID] == NULL)) {
        ucs_error("netlink: invalid reply to the family query of %s",
                  genl->name);
        return UCS_ERR_IO_ERROR;
    }

    genl->family_id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
    if (tb[CTRL_ATTR_VERSION] != NULL) {
        genl->version = nla_get_u32(tb[CTRL_ATTR_VERSION]);
    }

    if (tb[CTRL_ATTR_OPS] == NULL) {
        return 0;
    }

    nla_for_each_nested(op, tb[CTRL_ATTR_OPS], rem) {
        if ((nla_parse_nested(op_tb, CTRL_ATTR_OP_MAX, op,
                              uct_tcp_zc_genl_op_policy) < 0) ||
            (op_tb[CTRL_ATTR_OP_ID] == NULL)) {
            continue;
        }

        op_id = nla_get_u32(op_tb[CTRL_ATTR_OP_ID]);
        if (op_id < UCT_TCP_ZC_GENL_OPS_MAX) {
            genl->ops[op_id / 8] |= UCS_BIT(op_id % 8);
        }
    }

    return 0;
}

/* Resolve the family at run time: its id is dynamic, and its operations
 * depend on the kernel's version and configuration */
static ucs_status_t uct_tcp_zc_genl_resolve(uct_tcp_zc_genl_t *genl,
                                            const char *family,
                                            uct_tcp_zc_genl_err_t *err)
{
    ucs_status_t status;
    struct nl_msg *msg;

    msg = uct_tcp_zc_genl_msg_alloc(GENL_ID_CTRL, 1, CTRL_CMD_GETFAMILY, 0);
    if ((msg == NULL) ||
        (nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, family) < 0)) {
        ucs_error("netlink: failed to build the family query of %s", family);
        nlmsg_free(msg);
        err->error = ENOMEM;
        return UCS_ERR_NO_MEMORY;
    }

    status = uct_tcp_zc_genl_request(genl, msg, uct_tcp_zc_genl_family_cb,
                                     genl, err);
    if ((status == UCS_OK) && (genl->family_id < 0)) {
        ucs_error("netlink: no reply to the family query of %s", family);
        err->error = EIO;
        return UCS_ERR_IO_ERROR;
    }

    if (err->error == ENOENT) {
        ucs_debug("netlink: the kernel has no generic netlink family %s",
                  family);
        return UCS_ERR_UNSUPPORTED;
    }

    return status;
}

ucs_status_t uct_tcp_zc_genl_open(uct_tcp_zc_genl_t *genl, const char *family,
                                  uct_tcp_zc_genl_err_t *err)
{
    uct_tcp_zc_genl_err_t local_err;
    ucs_status_t status;
    int ret, one;

    if (err == NULL) {
        err = &local_err;
    }

    memset(genl, 0, sizeof(*genl));
    genl->family_id = -1;
    ucs_strncpy_zero(genl->name, family, sizeof(genl->name));
    uct_tcp_zc_genl_err_init(err);

    genl->sock = nl_socket_alloc();
    if (genl->sock == NULL) {
        ucs_error("netlink %s: failed to allocate a socket", family);
        err->error = ENOMEM;
        return UCS_ERR_NO_MEMORY;
    }

    ret = genl_connect(genl->sock);
    if (ret < 0) {
        ucs_error("netlink %s: failed to open a generic netlink socket: %s",
                  family, nl_geterror(ret));
        err->error = EIO;
        status     = UCS_ERR_IO_ERROR;
        goto err_free;
    }

    /* without it the kernel's text about a refused request is lost; a
     * kernel before 4.12 still answers, with the errno only */
    one = 1;
    if (setsockopt(nl_socket_get_fd(genl->sock), SOL_NETLINK, NETLINK_EXT_ACK,
                   &one, sizeof(one)) < 0) {
        ucs_debug("netlink %s: failed to enable extended ACK: %m", family);
    }

    status = uct_tcp_zc_genl_resolve(genl, family, err);
    if (status != UCS_OK) {
        goto err_free;
    }

    ucs_debug("netlink %s: family id %d version %u", family, genl->family_id,
              genl->version);
    return UCS_OK;

err_free:
    nl_socket_free(genl->sock);
    genl->sock = NULL;
    return status;
}

void uct_tcp_zc_genl_close(uct_tcp_zc_genl_t *genl)
{
    if (genl->sock != NULL) {
        nl_socket_free(genl->sock);
        genl->sock = NULL;
    }
}
