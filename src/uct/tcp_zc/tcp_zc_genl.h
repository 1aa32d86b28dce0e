/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_GENL_H
#define UCT_TCP_ZC_GENL_H

#include <ucs/type/status.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Generic netlink plumbing shared by the netdev and ethtool clients
 * (tcp_zc_genl.c, on libnl-genl-3): a socket with extended ACK, family and
 * operation discovery, requests whose errors carry the kernel's text.
 */

struct nl_sock;
struct nl_msg;


#define UCT_TCP_ZC_GENL_MSG_MAX  256
#define UCT_TCP_ZC_GENL_OPS_MAX  256


/**
 * The kernel's answer to a failed request: errno and extended ACK.
 */
typedef struct uct_tcp_zc_genl_err {
    int      error;                          /* positive errno, 0: none */
    char     msg[UCT_TCP_ZC_GENL_MSG_MAX];   /* extack text, "" if none */
    int      offset;    /* offset of the offending attribute in the request
                           (NLMSGERR_ATTR_OFFS), -1 if none */
    int      miss_type; /* missing attribute (NLMSGERR_ATTR_MISS_TYPE),
                           -1 if none */
    int      miss_nest; /* offset of the nest which misses it
                           (NLMSGERR_ATTR_MISS_NEST), -1 if none */
    int      attr_type; /* type of the attribute at offset in the request,
                           -1 if unknown */
} uct_tcp_zc_genl_err_t;


/**
 * A generic netlink family on its own socket.
 */
typedef struct uct_tcp_zc_genl {
    struct nl_sock *sock;
    int            family_id;
    uint32_t       version;
    /* operations the kernel has (CTRL_ATTR_OPS of CTRL_CMD_GETFAMILY) */
    uint8_t        ops[UCT_TCP_ZC_GENL_OPS_MAX / 8];
    char           name[32];
} uct_tcp_zc_genl_t;


/**
 * Reply callback: one message of the answer; return 0 to go on. A ucs_status_t
 * error stops the callbacks (the answer is still read to its end) and is the
 * status of the request.
 */
typedef int (*uct_tcp_zc_genl_reply_cb_t)(struct nl_msg *msg, void *arg);


/** No error: error 0, no text, no offsets */
void uct_tcp_zc_genl_err_init(uct_tcp_zc_genl_err_t *err);

/**
 * Open a socket with extended ACK on, and resolve the family and its
 * operations. A missing family is UCS_ERR_UNSUPPORTED with err filled.
 */
ucs_status_t uct_tcp_zc_genl_open(uct_tcp_zc_genl_t *genl, const char *family,
                                  uct_tcp_zc_genl_err_t *err);

void uct_tcp_zc_genl_close(uct_tcp_zc_genl_t *genl);

/** Whether the kernel's family has the command */
int uct_tcp_zc_genl_has_op(const uct_tcp_zc_genl_t *genl, uint8_t cmd);

/** A new request of the family: NLM_F_REQUEST | flags (e.g. NLM_F_DUMP) */
struct nl_msg *
uct_tcp_zc_genl_msg(const uct_tcp_zc_genl_t *genl, uint8_t cmd, int flags);

/**
 * Send a request (consumed) and receive its answer: cb for every reply
 * message, until the ACK, the end of a dump or an error. An error of the
 * kernel fills err and returns uct_tcp_zc_genl_status(err->error); a local
 * failure (socket, message) sets err->error to its errno, with no text.
 */
ucs_status_t uct_tcp_zc_genl_request(uct_tcp_zc_genl_t *genl,
                                     struct nl_msg *msg,
                                     uct_tcp_zc_genl_reply_cb_t cb, void *arg,
                                     uct_tcp_zc_genl_err_t *err);

/**
 * Parse an NLMSG_ERROR message of len bytes (header included) into err,
 * extended ACK TLVs included (NLM_F_CAPPED, NLM_F_ACK_TLVS). Returns 0, or
 * -1 if the message is truncated or malformed (err then says so).
 */
int uct_tcp_zc_genl_parse_error(const struct nlmsghdr *nlh, size_t len,
                                uct_tcp_zc_genl_err_t *err);

/**
 * errno of a kernel answer -> UCX status: EPERM/EACCES UCS_ERR_REJECTED (the
 * caller says "privilege"), EOPNOTSUPP UCS_ERR_UNSUPPORTED, ENODEV
 * UCS_ERR_NO_DEVICE, EINVAL/EBADF/ERANGE UCS_ERR_INVALID_PARAM, EEXIST
 * UCS_ERR_ALREADY_EXISTS, EBUSY UCS_ERR_BUSY, ENOMEM UCS_ERR_NO_MEMORY,
 * ENOENT UCS_ERR_NO_ELEM, others UCS_ERR_IO_ERROR
 */
ucs_status_t uct_tcp_zc_genl_status(int error);

/** "strerror (extack text) [attribute offset N]", and the attribute's type
 * and a missing attribute where known */
const char *uct_tcp_zc_genl_err_str(const uct_tcp_zc_genl_err_t *err,
                                    char *buf, size_t max);

#endif
