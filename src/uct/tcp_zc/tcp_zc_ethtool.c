/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_ethtool.h"
#include "tcp_zc_uapi.h"

#include <ucs/debug/log.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/string.h>
#include <netlink/genl/genl.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>


/*
 * The only place which speaks ethtool: header split, rings and channels
 * through the "ethtool" generic netlink family, ntuple rules and the RSS
 * indirection table through the SIOCETHTOOL ioctl (netlink has no ntuple
 * messages). Every failure keeps the kernel's errno, and for netlink its
 * extack text, in a uct_tcp_zc_genl_err_t.
 */


/* Flow type bits which do not name the flow (ethtool_rx_flow_spec) */
#define UCT_TCP_ZC_ETHTOOL_FLOW_FLAGS (FLOW_EXT | FLOW_MAC_EXT | FLOW_RSS)


/* Changes which a setup made, in the order it makes them */
enum {
    UCT_TCP_ZC_ETHTOOL_SETUP_RINGS  = UCS_BIT(0),
    UCT_TCP_ZC_ETHTOOL_SETUP_RSS    = UCS_BIT(1),
    UCT_TCP_ZC_ETHTOOL_SETUP_NTUPLE = UCS_BIT(2)
};


struct uct_tcp_zc_ethtool_setup {
    const uct_tcp_zc_ethtool_setup_ops_t *ops;
    uct_tcp_zc_genl_t                    genl;
    char                                 if_name[IFNAMSIZ];
    int                                  ifindex;
    unsigned                             changes;  /* SETUP_* made */

    /* SETUP_RINGS: values before, -1 where the setup did not change it */
    int                                  old_tcp_data_split;
    int64_t                              old_hds_thresh;

    /* SETUP_RSS: the table before; restored as the kernel's default (size
     * 0) if it was that, so the device goes on following channel changes */
    uint32_t                             *old_table;
    unsigned                             table_size;
    int                                  old_table_default;

    /* SETUP_NTUPLE: where the kernel put the rule */
    uint32_t                             rule_location;
};


static int uct_tcp_zc_ethtool_array_has(const uint32_t *array, unsigned length,
                                        uint32_t value)
{
    unsigned i;

    for (i = 0; i < length; ++i) {
        if (array[i] == value) {
            return 1;
        }
    }

    return 0;
}

/* A failure of ours or of an ioctl: an errno and no extack */
static void uct_tcp_zc_ethtool_err_set(uct_tcp_zc_genl_err_t *err, int error)
{
    uct_tcp_zc_genl_err_init(err);
    err->error = error;
}

/* A device which refuses an operation it lacks is no error of ours */
static void uct_tcp_zc_ethtool_log(const char *if_name, const char *what,
                                   const uct_tcp_zc_genl_err_t *err)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 128];

    ucs_log((err->error == EOPNOTSUPP) ? UCS_LOG_LEVEL_DIAG :
                                         UCS_LOG_LEVEL_ERROR,
            "tcp_zc %s: ethtool %s failed: %s", if_name, what,
            uct_tcp_zc_genl_err_str(err, buf, sizeof(buf)));
}

static void uct_tcp_zc_ethtool_log_ifindex(int ifindex, const char *what,
                                           const uct_tcp_zc_genl_err_t *err)
{
    char if_name[IFNAMSIZ];

    if (if_indextoname(ifindex, if_name) == NULL) {
        ucs_snprintf_zero(if_name, sizeof(if_name), "ifindex %d", ifindex);
    }

    uct_tcp_zc_ethtool_log(if_name, what, err);
}


/* Netlink */

ucs_status_t uct_tcp_zc_ethtool_open(uct_tcp_zc_genl_t *genl,
                                     uct_tcp_zc_genl_err_t *err)
{
    return uct_tcp_zc_genl_open(genl, ETHTOOL_GENL_NAME, err);
}

/*
 * A request of the family about one device, with the header nest (attribute
 * header_attr) which every ethtool message starts with. NULL if out of
 * memory.
 */
static struct nl_msg *
uct_tcp_zc_ethtool_msg(uct_tcp_zc_genl_t *genl, uint8_t cmd, int header_attr,
                       int ifindex)
{
    struct nlattr *header;
    struct nl_msg *msg;

    msg = uct_tcp_zc_genl_msg(genl, cmd, 0);
    if (msg == NULL) {
        return NULL;
    }

    header = nla_nest_start(msg, header_attr);
    if ((header == NULL) ||
        (nla_put_u32(msg, ETHTOOL_A_HEADER_DEV_INDEX, ifindex) < 0)) {
        nlmsg_free(msg);
        return NULL;
    }

    nla_nest_end(msg, header);
    return msg;
}

/* Send a request of the family and collect its answer by cb */
static ucs_status_t
uct_tcp_zc_ethtool_request(uct_tcp_zc_genl_t *genl, int ifindex,
                           struct nl_msg *msg, const char *what,
                           uct_tcp_zc_genl_reply_cb_t cb, void *arg,
                           uct_tcp_zc_genl_err_t *err)
{
    ucs_status_t status;

    uct_tcp_zc_ethtool_err_set(err, 0);
    if (msg == NULL) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        uct_tcp_zc_ethtool_log_ifindex(ifindex, what, err);
        return UCS_ERR_NO_MEMORY;
    }

    status = uct_tcp_zc_genl_request(genl, msg, cb, arg, err);
    if (status == UCS_OK) {
        return UCS_OK;
    }

    /* the kernel's answer was fine, ours was not: a reply we cannot read */
    if (err->error == 0) {
        uct_tcp_zc_ethtool_err_set(err, EPROTO);
    }

    uct_tcp_zc_ethtool_log_ifindex(ifindex, what, err);
    return status;
}

static uint32_t uct_tcp_zc_ethtool_attr_u32(struct nlattr **tb, int type)
{
    return (tb[type] != NULL) ? nla_get_u32(tb[type]) : 0;
}

static int uct_tcp_zc_ethtool_rings_reply(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_ethtool_rings_t *rings = arg;
    struct nlattr *tb[ETHTOOL_A_RINGS_HDS_THRESH_MAX + 1];

    /* attributes newer than ours are left out by the parse */
    if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_RINGS_HDS_THRESH_MAX,
                      NULL) < 0) {
        return UCS_ERR_IO_ERROR;
    }

    rings->rx     = uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_RINGS_RX);
    rings->rx_max = uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_RINGS_RX_MAX);
    rings->tx     = uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_RINGS_TX);
    rings->tx_max = uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_RINGS_TX_MAX);

    /* the kernel leaves tcp-data-split out when the driver says "unknown" */
    if (tb[ETHTOOL_A_RINGS_TCP_DATA_SPLIT] != NULL) {
        rings->tcp_data_split =
                nla_get_u8(tb[ETHTOOL_A_RINGS_TCP_DATA_SPLIT]);
    }

    /* only drivers which can set it report hds-thresh (Linux 6.14) */
    if (tb[ETHTOOL_A_RINGS_HDS_THRESH] != NULL) {
        rings->hds_thresh_valid = 1;
        rings->hds_thresh       = nla_get_u32(tb[ETHTOOL_A_RINGS_HDS_THRESH]);
        rings->hds_thresh_max   =
                uct_tcp_zc_ethtool_attr_u32(tb,
                                            ETHTOOL_A_RINGS_HDS_THRESH_MAX);
    }

    return 0;
}

ucs_status_t uct_tcp_zc_ethtool_rings_get(uct_tcp_zc_genl_t *genl, int ifindex,
                                          uct_tcp_zc_ethtool_rings_t *rings,
                                          uct_tcp_zc_genl_err_t *err)
{
    memset(rings, 0, sizeof(*rings));
    rings->tcp_data_split = -1;

    return uct_tcp_zc_ethtool_request(
            genl, ifindex,
            uct_tcp_zc_ethtool_msg(genl, ETHTOOL_MSG_RINGS_GET,
                                   ETHTOOL_A_RINGS_HEADER, ifindex),
            "rings-get", uct_tcp_zc_ethtool_rings_reply, rings, err);
}

/* A rings-set request with the attributes to change only */
static struct nl_msg *
uct_tcp_zc_ethtool_rings_set_msg(uct_tcp_zc_genl_t *genl, int ifindex,
                                 int tcp_data_split, int64_t hds_thresh)
{
    struct nl_msg *msg;

    msg = uct_tcp_zc_ethtool_msg(genl, ETHTOOL_MSG_RINGS_SET,
                                 ETHTOOL_A_RINGS_HEADER, ifindex);
    if (msg == NULL) {
        return NULL;
    }

    if ((tcp_data_split >= 0) &&
        (nla_put_u8(msg, ETHTOOL_A_RINGS_TCP_DATA_SPLIT, tcp_data_split) < 0)) {
        goto err_free;
    }

    if ((hds_thresh >= 0) &&
        (nla_put_u32(msg, ETHTOOL_A_RINGS_HDS_THRESH, hds_thresh) < 0)) {
        goto err_free;
    }

    return msg;

err_free:
    nlmsg_free(msg);
    return NULL;
}

ucs_status_t uct_tcp_zc_ethtool_rings_set(uct_tcp_zc_genl_t *genl, int ifindex,
                                          int tcp_data_split,
                                          int64_t hds_thresh,
                                          uct_tcp_zc_genl_err_t *err)
{
    if ((tcp_data_split < 0) && (hds_thresh < 0)) {
        uct_tcp_zc_ethtool_err_set(err, 0);
        return UCS_OK;
    }

    return uct_tcp_zc_ethtool_request(
            genl, ifindex,
            uct_tcp_zc_ethtool_rings_set_msg(genl, ifindex, tcp_data_split,
                                             hds_thresh),
            "rings-set", NULL, NULL, err);
}

static int uct_tcp_zc_ethtool_channels_reply(struct nl_msg *msg, void *arg)
{
    uct_tcp_zc_ethtool_channels_t *channels = arg;
    struct nlattr *tb[ETHTOOL_A_CHANNELS_MAX + 1];

    if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_CHANNELS_MAX, NULL) <
        0) {
        return UCS_ERR_IO_ERROR;
    }

    channels->rx           =
            uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_CHANNELS_RX_COUNT);
    channels->rx_max       =
            uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_CHANNELS_RX_MAX);
    channels->tx           =
            uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_CHANNELS_TX_COUNT);
    channels->tx_max       =
            uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_CHANNELS_TX_MAX);
    channels->combined     =
            uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_CHANNELS_COMBINED_COUNT);
    channels->combined_max =
            uct_tcp_zc_ethtool_attr_u32(tb, ETHTOOL_A_CHANNELS_COMBINED_MAX);
    return 0;
}

ucs_status_t
uct_tcp_zc_ethtool_channels_get(uct_tcp_zc_genl_t *genl, int ifindex,
                                uct_tcp_zc_ethtool_channels_t *channels,
                                uct_tcp_zc_genl_err_t *err)
{
    memset(channels, 0, sizeof(*channels));

    return uct_tcp_zc_ethtool_request(
            genl, ifindex,
            uct_tcp_zc_ethtool_msg(genl, ETHTOOL_MSG_CHANNELS_GET,
                                   ETHTOOL_A_CHANNELS_HEADER, ifindex),
            "channels-get", uct_tcp_zc_ethtool_channels_reply, channels, err);
}


/* SIOCETHTOOL */

/*
 * One ethtool ioctl on a socket of its own: data starts with the command.
 * Fills err with the errno (an ioctl has no extack); logs nothing, the
 * callers know what a refusal means.
 */
static ucs_status_t uct_tcp_zc_ethtool_ioctl(const char *if_name, void *data,
                                             uct_tcp_zc_genl_err_t *err)
{
    struct ifreq ifr;
    int fd, ret;

    uct_tcp_zc_ethtool_err_set(err, 0);
    if (strlen(if_name) >= sizeof(ifr.ifr_name)) {
        uct_tcp_zc_ethtool_err_set(err, ENODEV);
        return UCS_ERR_NO_DEVICE;
    }

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        uct_tcp_zc_ethtool_err_set(err, errno);
        return uct_tcp_zc_genl_status(err->error);
    }

    memset(&ifr, 0, sizeof(ifr));
    ucs_strncpy_zero(ifr.ifr_name, if_name, sizeof(ifr.ifr_name));
    ifr.ifr_data = data;

    ret = ioctl(fd, SIOCETHTOOL, &ifr);
    if (ret < 0) {
        uct_tcp_zc_ethtool_err_set(err, errno);
    }

    close(fd);
    return (ret < 0) ? uct_tcp_zc_genl_status(err->error) : UCS_OK;
}

static ucs_status_t
uct_tcp_zc_ethtool_ntuple_ioctl(const char *if_name, struct ethtool_rxnfc *nfc,
                                const char *what, uct_tcp_zc_genl_err_t *err)
{
    ucs_status_t status;

    status = uct_tcp_zc_ethtool_ioctl(if_name, nfc, err);
    if (status == UCS_OK) {
        return UCS_OK;
    }

    if (err->error == EOPNOTSUPP) {
        ucs_diag("tcp_zc %s: ntuple filters not supported by %s's driver "
                 "(ethtool %s)", if_name, if_name, what);
    } else {
        uct_tcp_zc_ethtool_log(if_name, what, err);
    }

    return status;
}

ucs_status_t uct_tcp_zc_ethtool_ntuple_enabled(const char *if_name,
                                               int *enabled_p,
                                               uct_tcp_zc_genl_err_t *err)
{
    struct ethtool_value value = {.cmd = ETHTOOL_GFLAGS};
    ucs_status_t status;

    /* the flags are the device's features, which every device has */
    status = uct_tcp_zc_ethtool_ioctl(if_name, &value, err);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_log(if_name, "GFLAGS", err);
        return status;
    }

    *enabled_p = !!(value.data & ETH_FLAG_NTUPLE);
    return UCS_OK;
}

ucs_status_t uct_tcp_zc_ethtool_ntuple_count(const char *if_name,
                                             unsigned *count_p,
                                             uint64_t *table_p,
                                             uct_tcp_zc_genl_err_t *err)
{
    struct ethtool_rxnfc nfc;
    ucs_status_t status;

    memset(&nfc, 0, sizeof(nfc));
    nfc.cmd = ETHTOOL_GRXCLSRLCNT;
    status  = uct_tcp_zc_ethtool_ntuple_ioctl(if_name, &nfc, "GRXCLSRLCNT",
                                              err);
    if (status != UCS_OK) {
        return status;
    }

    *count_p = nfc.rule_cnt;
    *table_p = nfc.data;
    return UCS_OK;
}

/*
 * Locations of the rules of a device: *locs_p (ucs_free, NULL if none) with
 * *num_locs_p entries, and the rule count answer's table in *table_p.
 */
static ucs_status_t
uct_tcp_zc_ethtool_ntuple_locs(const char *if_name, uint32_t **locs_p,
                               unsigned *num_locs_p, uint64_t *table_p,
                               uct_tcp_zc_genl_err_t *err)
{
    struct ethtool_rxnfc *nfc;
    ucs_status_t status;
    unsigned count;

    status = uct_tcp_zc_ethtool_ntuple_count(if_name, &count, table_p, err);
    if (status != UCS_OK) {
        return status;
    }

    *locs_p     = NULL;
    *num_locs_p = 0;
    if (count == 0) {
        return UCS_OK;
    }

    nfc = ucs_calloc(1, sizeof(*nfc) + (count * sizeof(uint32_t)),
                     "tcp_zc ntuple rule list");
    if (nfc == NULL) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        return UCS_ERR_NO_MEMORY;
    }

    /* a rule added since the count makes the driver fail EMSGSIZE */
    nfc->cmd      = ETHTOOL_GRXCLSRLALL;
    nfc->rule_cnt = count;
    status        = uct_tcp_zc_ethtool_ntuple_ioctl(if_name, nfc,
                                                    "GRXCLSRLALL", err);
    if (status != UCS_OK) {
        ucs_free(nfc);
        return status;
    }

    count   = ucs_min(nfc->rule_cnt, count);
    *locs_p = ucs_malloc(count * sizeof(uint32_t), "tcp_zc ntuple locations");
    if (*locs_p == NULL) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        ucs_free(nfc);
        return UCS_ERR_NO_MEMORY;
    }

    memcpy(*locs_p, nfc->rule_locs, count * sizeof(uint32_t));
    *num_locs_p = count;
    ucs_free(nfc);
    return UCS_OK;
}

void uct_tcp_zc_ethtool_ntuple_parse(const struct ethtool_rx_flow_spec *fs,
                                     uct_tcp_zc_ethtool_ntuple_rule_t *rule)
{
    uint32_t flow_type = fs->flow_type & ~UCT_TCP_ZC_ETHTOOL_FLOW_FLAGS;

    rule->location = fs->location;
    rule->queue    = fs->ring_cookie;
    rule->family   = 0;
    rule->dst_port = 0;

    if (flow_type == TCP_V4_FLOW) {
        rule->family = AF_INET;
        if (fs->m_u.tcp_ip4_spec.pdst == 0xffff) {
            rule->dst_port = ntohs(fs->h_u.tcp_ip4_spec.pdst);
        }
    } else if (flow_type == TCP_V6_FLOW) {
        rule->family = AF_INET6;
        if (fs->m_u.tcp_ip6_spec.pdst == 0xffff) {
            rule->dst_port = ntohs(fs->h_u.tcp_ip6_spec.pdst);
        }
    }
}

ucs_status_t
uct_tcp_zc_ethtool_ntuple_list(const char *if_name,
                               uct_tcp_zc_ethtool_ntuple_rule_t **rules_p,
                               unsigned *count_p, uct_tcp_zc_genl_err_t *err)
{
    uct_tcp_zc_ethtool_ntuple_rule_t *rules;
    struct ethtool_rxnfc nfc;
    ucs_status_t status;
    unsigned i, num_locs;
    uint32_t *locs;
    uint64_t table;

    *rules_p = NULL;
    *count_p = 0;

    status = uct_tcp_zc_ethtool_ntuple_locs(if_name, &locs, &num_locs, &table,
                                            err);
    if ((status != UCS_OK) || (num_locs == 0)) {
        return status;
    }

    rules = ucs_calloc(num_locs, sizeof(*rules), "tcp_zc ntuple rules");
    if (rules == NULL) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        status = UCS_ERR_NO_MEMORY;
        goto out;
    }

    for (i = 0; i < num_locs; ++i) {
        memset(&nfc, 0, sizeof(nfc));
        nfc.cmd         = ETHTOOL_GRXCLSRULE;
        nfc.fs.location = locs[i];
        status          = uct_tcp_zc_ethtool_ntuple_ioctl(if_name, &nfc,
                                                          "GRXCLSRULE", err);
        if (status != UCS_OK) {
            ucs_free(rules);
            goto out;
        }

        uct_tcp_zc_ethtool_ntuple_parse(&nfc.fs, &rules[i]);
    }

    *rules_p = rules;
    *count_p = num_locs;

out:
    ucs_free(locs);
    return status;
}

ucs_status_t uct_tcp_zc_ethtool_ntuple_location(uint64_t table,
                                                const uint32_t *locs,
                                                unsigned num_locs,
                                                uint32_t *location_p)
{
    uint32_t size, location;

    /* special locations only where the driver says it knows them: others
     * must refuse them (EINVAL) */
    if (table & RX_CLS_LOC_SPECIAL) {
        *location_p = RX_CLS_LOC_ANY;
        return UCS_OK;
    }

    /* a table size of 0 means the driver did not say; nothing is free */
    size = table;
    for (location = 0; location < size; ++location) {
        if (!uct_tcp_zc_ethtool_array_has(locs, num_locs, location)) {
            *location_p = location;
            return UCS_OK;
        }
    }

    return UCS_ERR_EXCEEDS_LIMIT;
}

ucs_status_t
uct_tcp_zc_ethtool_ntuple_fill(const uct_tcp_zc_ethtool_ntuple_rule_t *rule,
                               struct ethtool_rxnfc *nfc)
{
    memset(nfc, 0, sizeof(*nfc));
    nfc->cmd            = ETHTOOL_SRXCLSRLINS;
    nfc->fs.ring_cookie = rule->queue;
    nfc->fs.location    = rule->location;

    /* match fields in network byte order; mask bits set are compared */
    switch (rule->family) {
    case AF_INET:
        nfc->fs.flow_type              = TCP_V4_FLOW;
        nfc->fs.h_u.tcp_ip4_spec.pdst  = htons(rule->dst_port);
        nfc->fs.m_u.tcp_ip4_spec.pdst  = 0xffff;
        return UCS_OK;
    case AF_INET6:
        nfc->fs.flow_type              = TCP_V6_FLOW;
        nfc->fs.h_u.tcp_ip6_spec.pdst  = htons(rule->dst_port);
        nfc->fs.m_u.tcp_ip6_spec.pdst  = 0xffff;
        return UCS_OK;
    default:
        return UCS_ERR_INVALID_PARAM;
    }
}

ucs_status_t
uct_tcp_zc_ethtool_ntuple_insert(const char *if_name,
                                 uct_tcp_zc_ethtool_ntuple_rule_t *rule,
                                 uct_tcp_zc_genl_err_t *err)
{
    uct_tcp_zc_ethtool_ntuple_rule_t request = *rule;
    struct ethtool_rxnfc nfc;
    ucs_status_t status;
    unsigned num_locs;
    uint32_t *locs;
    uint64_t table;

    status = uct_tcp_zc_ethtool_ntuple_locs(if_name, &locs, &num_locs, &table,
                                            err);
    if (status != UCS_OK) {
        return status;
    }

    status = uct_tcp_zc_ethtool_ntuple_location(table, locs, num_locs,
                                                &request.location);
    ucs_free(locs);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_err_set(err, ENOSPC);
        ucs_error("tcp_zc %s: no free location for an ntuple rule (%u rules, "
                  "table size %" PRIu64 ")", if_name, num_locs, table);
        return status;
    }

    status = uct_tcp_zc_ethtool_ntuple_fill(&request, &nfc);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_err_set(err, EAFNOSUPPORT);
        ucs_error("tcp_zc %s: no ntuple rule for address family %d", if_name,
                  request.family);
        return status;
    }

    status = uct_tcp_zc_ethtool_ntuple_ioctl(if_name, &nfc, "SRXCLSRLINS",
                                             err);
    if (status != UCS_OK) {
        return status;
    }

    rule->location = nfc.fs.location;
    ucs_debug("tcp_zc %s: ntuple rule tcp port %u -> queue %" PRIu64
              " at location %u", if_name, rule->dst_port, rule->queue,
              rule->location);
    return UCS_OK;
}

ucs_status_t uct_tcp_zc_ethtool_ntuple_delete(const char *if_name,
                                              uint32_t location,
                                              uct_tcp_zc_genl_err_t *err)
{
    struct ethtool_rxnfc nfc;

    memset(&nfc, 0, sizeof(nfc));
    nfc.cmd         = ETHTOOL_SRXCLSRLDEL;
    nfc.fs.location = location;
    return uct_tcp_zc_ethtool_ntuple_ioctl(if_name, &nfc, "SRXCLSRLDEL", err);
}

ucs_status_t uct_tcp_zc_ethtool_rx_rings_get(const char *if_name,
                                             unsigned *count_p,
                                             uct_tcp_zc_genl_err_t *err)
{
    struct ethtool_rxnfc nfc;
    ucs_status_t status;

    memset(&nfc, 0, sizeof(nfc));
    nfc.cmd = ETHTOOL_GRXRINGS;
    status  = uct_tcp_zc_ethtool_ioctl(if_name, &nfc, err);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_log(if_name, "GRXRINGS", err);
        return status;
    }

    *count_p = nfc.data;
    return UCS_OK;
}

/* An indirection table request with room for size entries */
static struct ethtool_rxfh_indir *
uct_tcp_zc_ethtool_rss_alloc(uint32_t cmd, unsigned size)
{
    struct ethtool_rxfh_indir *indir;

    indir = ucs_calloc(1, sizeof(*indir) + (size * sizeof(uint32_t)),
                       "tcp_zc rss table");
    if (indir != NULL) {
        indir->cmd  = cmd;
        indir->size = size;
    }

    return indir;
}

ucs_status_t uct_tcp_zc_ethtool_rss_get(const char *if_name,
                                        uint32_t **table_p, unsigned *size_p,
                                        uct_tcp_zc_genl_err_t *err)
{
    struct ethtool_rxfh_indir query = {.cmd = ETHTOOL_GRXFHINDIR, .size = 0};
    struct ethtool_rxfh_indir *indir;
    ucs_status_t status;
    uint32_t *table;

    /* size 0 asks for the size only */
    status = uct_tcp_zc_ethtool_ioctl(if_name, &query, err);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_log(if_name, "GRXFHINDIR", err);
        return status;
    }

    indir = uct_tcp_zc_ethtool_rss_alloc(ETHTOOL_GRXFHINDIR, query.size);
    table = ucs_malloc(ucs_max(query.size, 1u) * sizeof(*table),
                       "tcp_zc rss table");
    if ((indir == NULL) || (table == NULL)) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        status = UCS_ERR_NO_MEMORY;
        goto err_free;
    }

    status = uct_tcp_zc_ethtool_ioctl(if_name, indir, err);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_log(if_name, "GRXFHINDIR", err);
        goto err_free;
    }

    memcpy(table, indir->ring_index, query.size * sizeof(*table));
    ucs_free(indir);
    *table_p = table;
    *size_p  = query.size;
    return UCS_OK;

err_free:
    ucs_free(table);
    ucs_free(indir);
    return status;
}

ucs_status_t uct_tcp_zc_ethtool_rss_set(const char *if_name,
                                        const uint32_t *table, unsigned size,
                                        uct_tcp_zc_genl_err_t *err)
{
    struct ethtool_rxfh_indir *indir;
    ucs_status_t status;

    indir = uct_tcp_zc_ethtool_rss_alloc(ETHTOOL_SRXFHINDIR, size);
    if (indir == NULL) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        return UCS_ERR_NO_MEMORY;
    }

    memcpy(indir->ring_index, table, size * sizeof(*table));
    status = uct_tcp_zc_ethtool_ioctl(if_name, indir, err);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_log(if_name, "SRXFHINDIR", err);
    }

    ucs_free(indir);
    return status;
}

int uct_tcp_zc_ethtool_rss_excludes(const uint32_t *table, unsigned size,
                                    const uint32_t *queues,
                                    unsigned num_queues)
{
    unsigned i;

    for (i = 0; i < size; ++i) {
        if (uct_tcp_zc_ethtool_array_has(queues, num_queues, table[i])) {
            return 0;
        }
    }

    return 1;
}

void uct_tcp_zc_ethtool_rss_spread(uint32_t *table, unsigned size,
                                   uint32_t num_queues)
{
    unsigned i;

    for (i = 0; i < size; ++i) {
        table[i] = i % num_queues;
    }
}

/* The kernel's default (ethtool_rxfh_indir_default()) is the same spread */
int uct_tcp_zc_ethtool_rss_is_default(const uint32_t *table, unsigned size,
                                      unsigned num_rings)
{
    unsigned i;

    if (num_rings == 0) {
        return 0;
    }

    for (i = 0; i < size; ++i) {
        if (table[i] != (i % num_rings)) {
            return 0;
        }
    }

    return 1;
}


/* Setup mode */

static const uct_tcp_zc_ethtool_setup_ops_t uct_tcp_zc_ethtool_kernel_ops = {
    .open          = uct_tcp_zc_ethtool_open,
    .close         = uct_tcp_zc_genl_close,
    .rings_get     = uct_tcp_zc_ethtool_rings_get,
    .rings_set     = uct_tcp_zc_ethtool_rings_set,
    .rx_rings_get  = uct_tcp_zc_ethtool_rx_rings_get,
    .rss_get       = uct_tcp_zc_ethtool_rss_get,
    .rss_set       = uct_tcp_zc_ethtool_rss_set,
    .ntuple_count  = uct_tcp_zc_ethtool_ntuple_count,
    .ntuple_insert = uct_tcp_zc_ethtool_ntuple_insert,
    .ntuple_delete = uct_tcp_zc_ethtool_ntuple_delete
};


/* What a setup is going to change, decided before it changes anything */
typedef struct uct_tcp_zc_ethtool_setup_plan {
    int      tcp_data_split; /* value to set, -1: leave */
    int64_t  hds_thresh;     /* value to set, -1: leave */
    uint32_t *table;         /* new RSS table, NULL: leave */
} uct_tcp_zc_ethtool_setup_plan_t;


/*
 * Read what the setup needs and decide what to change: header split and
 * hds-thresh where they are not on and 0, the RSS table where it points to
 * rx_queue. Asks for the ntuple rule count too, so that a driver without
 * ntuple filters fails the setup before any change.
 */
static ucs_status_t
uct_tcp_zc_ethtool_setup_prepare(uct_tcp_zc_ethtool_setup_t *setup,
                                 uint32_t rx_queue,
                                 uct_tcp_zc_ethtool_setup_plan_t *plan,
                                 uct_tcp_zc_genl_err_t *err)
{
    const uct_tcp_zc_ethtool_setup_ops_t *ops = setup->ops;
    uct_tcp_zc_ethtool_rings_t rings;
    uct_tcp_zc_genl_err_t rings_err;
    ucs_status_t status;
    unsigned num_rules, num_rings;
    uint64_t rule_table;

    status = ops->rings_get(&setup->genl, setup->ifindex, &rings, err);
    if (status != UCS_OK) {
        return status;
    }

    if (rings.tcp_data_split != ETHTOOL_TCP_DATA_SPLIT_ENABLED) {
        plan->tcp_data_split       = ETHTOOL_TCP_DATA_SPLIT_ENABLED;
        /* the kernel leaves out "unknown", which is also what it restores */
        setup->old_tcp_data_split  = ucs_max(rings.tcp_data_split,
                                             ETHTOOL_TCP_DATA_SPLIT_UNKNOWN);
    }

    /* a driver which does not report hds-thresh cannot set it, and the
     * kernel's value (which bind-rx checks) is then 0 */
    if (rings.hds_thresh_valid && (rings.hds_thresh != 0)) {
        plan->hds_thresh       = 0;
        setup->old_hds_thresh  = rings.hds_thresh;
    }

    status = ops->rss_get(setup->if_name, &setup->old_table,
                          &setup->table_size, err);
    if (status != UCS_OK) {
        return status;
    }

    status = ops->ntuple_count(setup->if_name, &num_rules, &rule_table, err);
    if (status != UCS_OK) {
        return status;
    }

    if (uct_tcp_zc_ethtool_rss_excludes(setup->old_table, setup->table_size,
                                        &rx_queue, 1)) {
        return UCS_OK;
    }

    if (rx_queue == 0) {
        uct_tcp_zc_ethtool_err_set(err, EINVAL);
        ucs_error("tcp_zc %s: RSS cannot spread over the queues below "
                  "queue 0", setup->if_name);
        return UCS_ERR_INVALID_PARAM;
    }

    plan->table = ucs_malloc(ucs_max(setup->table_size, 1u) *
                             sizeof(*plan->table), "tcp_zc rss table");
    if (plan->table == NULL) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        return UCS_ERR_NO_MEMORY;
    }

    uct_tcp_zc_ethtool_rss_spread(plan->table, setup->table_size, rx_queue);

    /* only to tell how to restore the table: not knowing is no failure */
    if (ops->rx_rings_get(setup->if_name, &num_rings, &rings_err) == UCS_OK) {
        setup->old_table_default =
                uct_tcp_zc_ethtool_rss_is_default(setup->old_table,
                                                  setup->table_size,
                                                  num_rings);
    }

    return UCS_OK;
}

/* Undo the changes made, the last first; failures are logged and skipped */
static void uct_tcp_zc_ethtool_setup_revert(uct_tcp_zc_ethtool_setup_t *setup)
{
    const uct_tcp_zc_ethtool_setup_ops_t *ops = setup->ops;
    uct_tcp_zc_genl_err_t err;

    if ((setup->changes & UCT_TCP_ZC_ETHTOOL_SETUP_NTUPLE) &&
        (ops->ntuple_delete(setup->if_name, setup->rule_location, &err) !=
         UCS_OK)) {
        ucs_error("tcp_zc %s: ntuple rule at location %u is left in place",
                  setup->if_name, setup->rule_location);
    }

    if ((setup->changes & UCT_TCP_ZC_ETHTOOL_SETUP_RSS) &&
        (ops->rss_set(setup->if_name, setup->old_table,
                      setup->old_table_default ? 0 : setup->table_size,
                      &err) != UCS_OK)) {
        ucs_error("tcp_zc %s: RSS indirection table is left changed",
                  setup->if_name);
    }

    if ((setup->changes & UCT_TCP_ZC_ETHTOOL_SETUP_RINGS) &&
        (ops->rings_set(&setup->genl, setup->ifindex,
                        setup->old_tcp_data_split, setup->old_hds_thresh,
                        &err) != UCS_OK)) {
        ucs_error("tcp_zc %s: tcp-data-split/hds-thresh are left changed",
                  setup->if_name);
    }

    setup->changes = 0;
}

/* Make the planned changes, each recorded once the kernel took it */
static ucs_status_t
uct_tcp_zc_ethtool_setup_apply(uct_tcp_zc_ethtool_setup_t *setup,
                               const uct_tcp_zc_ethtool_setup_plan_t *plan,
                               uct_tcp_zc_ethtool_ntuple_rule_t *rule,
                               uct_tcp_zc_genl_err_t *err)
{
    const uct_tcp_zc_ethtool_setup_ops_t *ops = setup->ops;
    ucs_status_t status;

    if ((plan->tcp_data_split >= 0) || (plan->hds_thresh >= 0)) {
        status = ops->rings_set(&setup->genl, setup->ifindex,
                                plan->tcp_data_split, plan->hds_thresh, err);
        if (status != UCS_OK) {
            return status;
        }

        setup->changes |= UCT_TCP_ZC_ETHTOOL_SETUP_RINGS;
    }

    if (plan->table != NULL) {
        status = ops->rss_set(setup->if_name, plan->table, setup->table_size,
                              err);
        if (status != UCS_OK) {
            return status;
        }

        setup->changes |= UCT_TCP_ZC_ETHTOOL_SETUP_RSS;
    }

    status = ops->ntuple_insert(setup->if_name, rule, err);
    if (status != UCS_OK) {
        return status;
    }

    setup->rule_location  = rule->location;
    setup->changes       |= UCT_TCP_ZC_ETHTOOL_SETUP_NTUPLE;
    return UCS_OK;
}

static void uct_tcp_zc_ethtool_setup_free(uct_tcp_zc_ethtool_setup_t *setup,
                                          int genl_open)
{
    if (genl_open) {
        setup->ops->close(&setup->genl);
    }

    ucs_free(setup->old_table);
    ucs_free(setup);
}

ucs_status_t
uct_tcp_zc_ethtool_setup_with_ops(const uct_tcp_zc_ethtool_setup_ops_t *ops,
                                  const char *if_name, int ifindex,
                                  uint32_t rx_queue, int family,
                                  uint16_t dst_port,
                                  uct_tcp_zc_ethtool_setup_t **setup_p,
                                  uct_tcp_zc_genl_err_t *err)
{
    uct_tcp_zc_ethtool_setup_plan_t plan = {-1, -1, NULL};
    uct_tcp_zc_ethtool_ntuple_rule_t rule;
    uct_tcp_zc_ethtool_setup_t *setup;
    ucs_status_t status;

    uct_tcp_zc_ethtool_err_set(err, 0);
    if ((family != AF_INET) && (family != AF_INET6)) {
        uct_tcp_zc_ethtool_err_set(err, EAFNOSUPPORT);
        return UCS_ERR_INVALID_PARAM;
    }

    setup = ucs_calloc(1, sizeof(*setup), "tcp_zc ethtool setup");
    if (setup == NULL) {
        uct_tcp_zc_ethtool_err_set(err, ENOMEM);
        return UCS_ERR_NO_MEMORY;
    }

    setup->ops                = ops;
    setup->ifindex            = ifindex;
    setup->old_tcp_data_split = -1;
    setup->old_hds_thresh     = -1;
    ucs_strncpy_zero(setup->if_name, if_name, sizeof(setup->if_name));

    status = ops->open(&setup->genl, err);
    if (status != UCS_OK) {
        uct_tcp_zc_ethtool_setup_free(setup, 0);
        return status;
    }

    status = uct_tcp_zc_ethtool_setup_prepare(setup, rx_queue, &plan, err);
    if (status != UCS_OK) {
        goto err_free;
    }

    rule.location = 0;
    rule.family   = family;
    rule.dst_port = dst_port;
    rule.queue    = rx_queue;
    status        = uct_tcp_zc_ethtool_setup_apply(setup, &plan, &rule, err);
    if (status != UCS_OK) {
        ucs_diag("tcp_zc %s: devmem setup failed, undoing what it changed",
                 if_name);
        uct_tcp_zc_ethtool_setup_revert(setup);
        goto err_free;
    }

    ucs_diag("tcp_zc %s: devmem setup:%s%s%s tcp port %u -> queue %u "
             "(ntuple rule %u)", if_name,
             (plan.tcp_data_split >= 0) ? " tcp-data-split on," : "",
             (plan.hds_thresh >= 0) ? " hds-thresh 0," : "",
             (plan.table != NULL) ? " RSS over the queues below," : "",
             dst_port, rx_queue, setup->rule_location);
    ucs_free(plan.table);
    *setup_p = setup;
    return UCS_OK;

err_free:
    ucs_free(plan.table);
    uct_tcp_zc_ethtool_setup_free(setup, 1);
    return status;
}

ucs_status_t uct_tcp_zc_ethtool_setup(const char *if_name, int ifindex,
                                      uint32_t rx_queue, int family,
                                      uint16_t dst_port,
                                      uct_tcp_zc_ethtool_setup_t **setup_p,
                                      uct_tcp_zc_genl_err_t *err)
{
    return uct_tcp_zc_ethtool_setup_with_ops(&uct_tcp_zc_ethtool_kernel_ops,
                                             if_name, ifindex, rx_queue,
                                             family, dst_port, setup_p, err);
}

void uct_tcp_zc_ethtool_setup_undo(uct_tcp_zc_ethtool_setup_t *setup)
{
    if (setup == NULL) {
        return;
    }

    uct_tcp_zc_ethtool_setup_revert(setup);
    uct_tcp_zc_ethtool_setup_free(setup, 1);
}
