/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

extern "C" {
#include <uct/tcp_zc/tcp_zc_ethtool.h>
#include <uct/tcp_zc/tcp_zc_uapi.h>
#include <ucs/debug/memtrack_int.h>
}

#include <linux/sockios.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>


/* Unit tests of what needs no kernel: RSS tables and ntuple rule requests */
class test_tcp_zc_ethtool : public ucs::test {
protected:
    static std::vector<uint32_t> spread(unsigned size, uint32_t num_queues)
    {
        std::vector<uint32_t> table(size);

        uct_tcp_zc_ethtool_rss_spread(&table[0], size, num_queues);
        return table;
    }

    static uct_tcp_zc_ethtool_ntuple_rule_t
    rule(int family, uint16_t dst_port, uint64_t queue, uint32_t location)
    {
        uct_tcp_zc_ethtool_ntuple_rule_t rule;

        rule.location = location;
        rule.family   = family;
        rule.dst_port = dst_port;
        rule.queue    = queue;
        return rule;
    }

    /* location choice on a rule count answer and the locations in use */
    static ucs_status_t location(uint64_t table,
                                 const std::vector<uint32_t> &locs,
                                 uint32_t *location_p)
    {
        return uct_tcp_zc_ethtool_ntuple_location(table,
                                                  locs.empty() ? NULL :
                                                                 &locs[0],
                                                  locs.size(), location_p);
    }
};


UCS_TEST_F(test_tcp_zc_ethtool, rss_excludes)
{
    const uint32_t table[] = {0, 1, 2, 0, 1, 2, 0, 1};
    const uint32_t q3[]    = {3};
    const uint32_t q2[]    = {2};
    const uint32_t q34[]   = {3, 4};
    const uint32_t q42[]   = {4, 2};

    EXPECT_TRUE(uct_tcp_zc_ethtool_rss_excludes(table, 8, q3, 1));
    EXPECT_FALSE(uct_tcp_zc_ethtool_rss_excludes(table, 8, q2, 1));
    EXPECT_TRUE(uct_tcp_zc_ethtool_rss_excludes(table, 8, q34, 2));
    EXPECT_FALSE(uct_tcp_zc_ethtool_rss_excludes(table, 8, q42, 2));

    /* queue 2 only in the entries left out */
    EXPECT_TRUE(uct_tcp_zc_ethtool_rss_excludes(table, 2, q2, 1));

    /* an empty table or no queues exclude anything */
    EXPECT_TRUE(uct_tcp_zc_ethtool_rss_excludes(table, 0, q2, 1));
    EXPECT_TRUE(uct_tcp_zc_ethtool_rss_excludes(table, 8, q2, 0));
}

UCS_TEST_F(test_tcp_zc_ethtool, rss_spread)
{
    const uint32_t expected[] = {0, 1, 2, 0, 1, 2, 0};
    std::vector<uint32_t> table = spread(7, 3);
    const uint32_t q3           = 3;

    EXPECT_EQ(std::vector<uint32_t>(expected, expected + 7), table);
    EXPECT_TRUE(uct_tcp_zc_ethtool_rss_excludes(&table[0], 7, &q3, 1));

    /* the kernel's default is the same spread over all rings */
    EXPECT_TRUE(uct_tcp_zc_ethtool_rss_is_default(&table[0], 7, 3));
    EXPECT_FALSE(uct_tcp_zc_ethtool_rss_is_default(&table[0], 7, 4));
    EXPECT_FALSE(uct_tcp_zc_ethtool_rss_is_default(&table[0], 7, 0));

    table[6] = 2;
    EXPECT_FALSE(uct_tcp_zc_ethtool_rss_is_default(&table[0], 7, 3));
}

UCS_TEST_F(test_tcp_zc_ethtool, ntuple_fill_ipv4)
{
    uct_tcp_zc_ethtool_ntuple_rule_t r = rule(AF_INET, 5001, 3, 7);
    struct ethtool_rx_flow_spec zero;
    struct ethtool_rxnfc nfc;

    ASSERT_UCS_OK(uct_tcp_zc_ethtool_ntuple_fill(&r, &nfc));
    EXPECT_EQ((uint32_t)ETHTOOL_SRXCLSRLINS, nfc.cmd);
    EXPECT_EQ((uint32_t)TCP_V4_FLOW, nfc.fs.flow_type);
    EXPECT_EQ(3u, nfc.fs.ring_cookie);
    EXPECT_EQ(7u, nfc.fs.location);

    /* the port in network byte order, compared in full; nothing else */
    EXPECT_EQ(htons(5001), nfc.fs.h_u.tcp_ip4_spec.pdst);
    EXPECT_EQ(0x13, ((const uint8_t*)&nfc.fs.h_u.tcp_ip4_spec.pdst)[0]);
    EXPECT_EQ(0x89, ((const uint8_t*)&nfc.fs.h_u.tcp_ip4_spec.pdst)[1]);
    EXPECT_EQ(0xffff, nfc.fs.m_u.tcp_ip4_spec.pdst);
    EXPECT_EQ(0u, nfc.fs.m_u.tcp_ip4_spec.ip4src);
    EXPECT_EQ(0u, nfc.fs.m_u.tcp_ip4_spec.ip4dst);
    EXPECT_EQ(0u, nfc.fs.m_u.tcp_ip4_spec.psrc);
    EXPECT_EQ(0u, nfc.fs.m_u.tcp_ip4_spec.tos);

    memset(&zero, 0, sizeof(zero));
    EXPECT_EQ(0, memcmp(&zero.h_ext, &nfc.fs.h_ext, sizeof(zero.h_ext)));
    EXPECT_EQ(0, memcmp(&zero.m_ext, &nfc.fs.m_ext, sizeof(zero.m_ext)));
}

UCS_TEST_F(test_tcp_zc_ethtool, ntuple_fill_ipv6)
{
    uct_tcp_zc_ethtool_ntuple_rule_t r = rule(AF_INET6, 443, 15,
                                              RX_CLS_LOC_ANY);
    struct ethtool_tcpip6_spec zero;
    struct ethtool_rxnfc nfc;

    memset(&zero, 0, sizeof(zero));
    ASSERT_UCS_OK(uct_tcp_zc_ethtool_ntuple_fill(&r, &nfc));
    EXPECT_EQ((uint32_t)TCP_V6_FLOW, nfc.fs.flow_type);
    EXPECT_EQ(15u, nfc.fs.ring_cookie);
    EXPECT_EQ((uint32_t)RX_CLS_LOC_ANY, nfc.fs.location);
    EXPECT_EQ(htons(443), nfc.fs.h_u.tcp_ip6_spec.pdst);
    EXPECT_EQ(0xffff, nfc.fs.m_u.tcp_ip6_spec.pdst);

    /* the mask compares the port only */
    zero.pdst = 0xffff;
    EXPECT_EQ(0, memcmp(&zero, &nfc.fs.m_u.tcp_ip6_spec, sizeof(zero)));
}

UCS_TEST_F(test_tcp_zc_ethtool, ntuple_fill_bad_family)
{
    uct_tcp_zc_ethtool_ntuple_rule_t r = rule(AF_UNIX, 5001, 3, 0);
    struct ethtool_rxnfc nfc;

    EXPECT_EQ(UCS_ERR_INVALID_PARAM, uct_tcp_zc_ethtool_ntuple_fill(&r, &nfc));
}

UCS_TEST_F(test_tcp_zc_ethtool, ntuple_parse)
{
    uct_tcp_zc_ethtool_ntuple_rule_t r = rule(AF_INET6, 7000, 5, 12), parsed;
    struct ethtool_rxnfc nfc;

    /* what is filled is read back */
    ASSERT_UCS_OK(uct_tcp_zc_ethtool_ntuple_fill(&r, &nfc));
    uct_tcp_zc_ethtool_ntuple_parse(&nfc.fs, &parsed);
    EXPECT_EQ(12u, parsed.location);
    EXPECT_EQ(AF_INET6, parsed.family);
    EXPECT_EQ(7000, parsed.dst_port);
    EXPECT_EQ(5u, parsed.queue);

    /* flags of the flow type do not hide it */
    nfc.fs.flow_type = TCP_V4_FLOW | FLOW_EXT;
    uct_tcp_zc_ethtool_ntuple_parse(&nfc.fs, &parsed);
    EXPECT_EQ(AF_INET, parsed.family);

    /* a port not compared in full is not matched */
    nfc.fs.m_u.tcp_ip4_spec.pdst = htons(0xff00);
    uct_tcp_zc_ethtool_ntuple_parse(&nfc.fs, &parsed);
    EXPECT_EQ(0, parsed.dst_port);

    /* other flow types */
    nfc.fs.flow_type   = UDP_V4_FLOW;
    nfc.fs.ring_cookie = RX_CLS_FLOW_DISC;
    uct_tcp_zc_ethtool_ntuple_parse(&nfc.fs, &parsed);
    EXPECT_EQ(0, parsed.family);
    EXPECT_EQ(0, parsed.dst_port);
    EXPECT_EQ((uint64_t)RX_CLS_FLOW_DISC, parsed.queue);
}

UCS_TEST_F(test_tcp_zc_ethtool, ntuple_location)
{
    std::vector<uint32_t> locs;
    uint32_t loc;

    /* the driver chooses: whatever is in use */
    locs.push_back(0);
    ASSERT_UCS_OK(location(RX_CLS_LOC_SPECIAL | 1024, locs, &loc));
    EXPECT_EQ((uint32_t)RX_CLS_LOC_ANY, loc);
    ASSERT_UCS_OK(location(RX_CLS_LOC_SPECIAL, locs, &loc));
    EXPECT_EQ((uint32_t)RX_CLS_LOC_ANY, loc);

    /* an empty table of 8 */
    locs.clear();
    ASSERT_UCS_OK(location(8, locs, &loc));
    EXPECT_EQ(0u, loc);

    /* the lowest free one, in whatever order the driver lists them */
    locs.push_back(3);
    locs.push_back(0);
    locs.push_back(1);
    ASSERT_UCS_OK(location(8, locs, &loc));
    EXPECT_EQ(2u, loc);

    /* locations beyond the table do not take a slot */
    locs.push_back(2);
    locs.push_back(100);
    ASSERT_UCS_OK(location(8, locs, &loc));
    EXPECT_EQ(4u, loc);

    /* full */
    EXPECT_EQ(UCS_ERR_EXCEEDS_LIMIT, location(4, locs, &loc));

    /* a driver which gives no table size */
    locs.clear();
    EXPECT_EQ(UCS_ERR_EXCEEDS_LIMIT, location(0, locs, &loc));
}


/*
 * The setup's bookkeeping on a device which the test makes up: every change
 * a setup makes or undoes is logged, a given change fails.
 */
class test_tcp_zc_ethtool_setup : public ucs::test {
protected:
    typedef std::vector<std::string> log_t;

    /* the device */
    struct device {
        int                     tcp_data_split; /* -1: not reported */
        int                     hds_thresh;     /* -1: not reported */
        std::vector<uint32_t>   table;
        unsigned                num_rings;
        std::map<uint32_t, int> rules;          /* location -> port */

        bool operator==(const device &other) const
        {
            return (tcp_data_split == other.tcp_data_split) &&
                   (hds_thresh == other.hds_thresh) &&
                   (table == other.table) &&
                   (num_rings == other.num_rings) && (rules == other.rules);
        }
    };

    virtual void init()
    {
        ucs::test::init();
        s_self = this;

        /* header split off, hds-thresh 128, the default table over 4 rings,
         * a rule of someone else at location 0 */
        m_dev.tcp_data_split = ETHTOOL_TCP_DATA_SPLIT_DISABLED;
        m_dev.hds_thresh     = 128;
        m_dev.num_rings      = 4;
        m_dev.table          = table(8, 4);
        m_dev.rules[0]       = 22;
        m_fail               = -1;
        m_fail_read          = "";
        m_num_changes        = 0;
        m_opened             = 0;
    }

    virtual void cleanup()
    {
        s_self = NULL;
        ucs::test::cleanup();
    }

    static std::vector<uint32_t> table(unsigned size, uint32_t num_queues)
    {
        std::vector<uint32_t> t(size);

        uct_tcp_zc_ethtool_rss_spread(&t[0], size, num_queues);
        return t;
    }

    static std::string table_str(const std::vector<uint32_t> &t)
    {
        std::ostringstream os;

        for (size_t i = 0; i < t.size(); ++i) {
            os << (i ? " " : "") << t[i];
        }
        return os.str();
    }

    static ucs_status_t fail(uct_tcp_zc_genl_err_t *err)
    {
        err->error     = EBUSY;
        err->offset    = -1;
        err->miss_type = -1;
        ucs_strncpy_zero(err->msg, "made up", sizeof(err->msg));
        return UCS_ERR_BUSY;
    }

    /* a change: logged, failed if it is the one to fail */
    static bool change(const std::string &what, uct_tcp_zc_genl_err_t *err)
    {
        bool failed = (s_self->m_num_changes++ == s_self->m_fail);

        s_self->m_log.push_back(what + (failed ? " failed" : ""));
        if (failed) {
            fail(err);
        }
        return !failed;
    }

    static bool read_fails(const std::string &what, uct_tcp_zc_genl_err_t *err)
    {
        if (s_self->m_fail_read != what) {
            return false;
        }

        fail(err);
        return true;
    }

    static ucs_status_t open(uct_tcp_zc_genl_t *genl,
                             uct_tcp_zc_genl_err_t *err)
    {
        if (read_fails("open", err)) {
            return UCS_ERR_BUSY;
        }

        ++s_self->m_opened;
        return UCS_OK;
    }

    static void close(uct_tcp_zc_genl_t *genl)
    {
        --s_self->m_opened;
    }

    static ucs_status_t rings_get(uct_tcp_zc_genl_t *genl, int ifindex,
                                  uct_tcp_zc_ethtool_rings_t *rings,
                                  uct_tcp_zc_genl_err_t *err)
    {
        memset(rings, 0, sizeof(*rings));
        rings->tcp_data_split   = s_self->m_dev.tcp_data_split;
        rings->hds_thresh_valid = (s_self->m_dev.hds_thresh >= 0);
        rings->hds_thresh       = std::max(s_self->m_dev.hds_thresh, 0);
        return read_fails("rings_get", err) ? UCS_ERR_BUSY : UCS_OK;
    }

    static ucs_status_t rings_set(uct_tcp_zc_genl_t *genl, int ifindex,
                                  int tcp_data_split, int64_t hds_thresh,
                                  uct_tcp_zc_genl_err_t *err)
    {
        std::ostringstream os;

        os << "rings_set split " << tcp_data_split << " hds " << hds_thresh;
        if (!change(os.str(), err)) {
            return UCS_ERR_BUSY;
        }

        if (tcp_data_split >= 0) {
            s_self->m_dev.tcp_data_split = tcp_data_split;
        }
        if (hds_thresh >= 0) {
            s_self->m_dev.hds_thresh = hds_thresh;
        }
        return UCS_OK;
    }

    static ucs_status_t rx_rings_get(const char *if_name, unsigned *count_p,
                                     uct_tcp_zc_genl_err_t *err)
    {
        *count_p = s_self->m_dev.num_rings;
        return read_fails("rx_rings_get", err) ? UCS_ERR_BUSY : UCS_OK;
    }

    static ucs_status_t rss_get(const char *if_name, uint32_t **table_p,
                                unsigned *size_p, uct_tcp_zc_genl_err_t *err)
    {
        const std::vector<uint32_t> &t = s_self->m_dev.table;

        if (read_fails("rss_get", err)) {
            return UCS_ERR_BUSY;
        }

        *table_p = (uint32_t*)ucs_malloc(t.size() * sizeof(uint32_t),
                                         "test table");
        std::copy(t.begin(), t.end(), *table_p);
        *size_p = t.size();
        return UCS_OK;
    }

    static ucs_status_t rss_set(const char *if_name, const uint32_t *t,
                                unsigned size, uct_tcp_zc_genl_err_t *err)
    {
        device &dev = s_self->m_dev;
        std::vector<uint32_t> new_table(t, t + size);

        if (size == 0) {
            new_table = table(dev.table.size(), dev.num_rings);
        }

        if (!change("rss_set " + (size ? table_str(new_table) : "default"),
                    err)) {
            return UCS_ERR_BUSY;
        }

        dev.table = new_table;
        return UCS_OK;
    }

    static ucs_status_t ntuple_count(const char *if_name, unsigned *count_p,
                                     uint64_t *table_p,
                                     uct_tcp_zc_genl_err_t *err)
    {
        *count_p = s_self->m_dev.rules.size();
        *table_p = 16;
        return read_fails("ntuple_count", err) ? UCS_ERR_BUSY : UCS_OK;
    }

    static ucs_status_t ntuple_insert(const char *if_name,
                                      uct_tcp_zc_ethtool_ntuple_rule_t *rule,
                                      uct_tcp_zc_genl_err_t *err)
    {
        std::ostringstream os;

        os << "ntuple_insert family " << rule->family << " port "
           << rule->dst_port << " queue " << rule->queue;
        if (!change(os.str(), err)) {
            return UCS_ERR_BUSY;
        }

        /* where a driver which chooses itself might put it */
        rule->location                      = 9;
        s_self->m_dev.rules[rule->location] = rule->dst_port;
        return UCS_OK;
    }

    static ucs_status_t ntuple_delete(const char *if_name, uint32_t location,
                                      uct_tcp_zc_genl_err_t *err)
    {
        std::ostringstream os;

        os << "ntuple_delete " << location;
        if (!change(os.str(), err)) {
            return UCS_ERR_BUSY;
        }

        EXPECT_EQ(1u, s_self->m_dev.rules.erase(location)) << location;
        return UCS_OK;
    }

    ucs_status_t setup(uint32_t rx_queue, uct_tcp_zc_ethtool_setup_t **setup_p)
    {
        static const uct_tcp_zc_ethtool_setup_ops_t ops = {
            open, close, rings_get, rings_set, rx_rings_get, rss_get, rss_set,
            ntuple_count, ntuple_insert, ntuple_delete
        };

        *setup_p = NULL;
        return uct_tcp_zc_ethtool_setup_with_ops(&ops, "madeup0", 42,
                                                 rx_queue, AF_INET, 5001,
                                                 setup_p, &m_err);
    }

    static log_t log(const char *const *lines, size_t count)
    {
        return log_t(lines, lines + count);
    }

    static test_tcp_zc_ethtool_setup *s_self;

    device                m_dev;
    log_t                 m_log;
    int                   m_fail;        /* change which fails, -1 none */
    std::string           m_fail_read;   /* query which fails */
    int                   m_num_changes;
    int                   m_opened;
    uct_tcp_zc_genl_err_t m_err;
};

test_tcp_zc_ethtool_setup *test_tcp_zc_ethtool_setup::s_self = NULL;


/* the changes of a setup with rx queue 3, and their undo */
static const char *const setup_changes[] = {
    "rings_set split 2 hds 0",
    "rss_set 0 1 2 0 1 2 0 1",
    "ntuple_insert family 2 port 5001 queue 3"
};

static const char *const setup_undos[] = {
    "ntuple_delete 9",
    "rss_set default",
    "rings_set split 1 hds 128"
};


UCS_TEST_F(test_tcp_zc_ethtool_setup, all_and_undo)
{
    const device before = m_dev;
    uct_tcp_zc_ethtool_setup_t *s;

    ASSERT_UCS_OK(setup(3, &s));
    ASSERT_TRUE(s != NULL);
    EXPECT_EQ(log(setup_changes, 3), m_log);
    EXPECT_EQ(ETHTOOL_TCP_DATA_SPLIT_ENABLED, m_dev.tcp_data_split);
    EXPECT_EQ(0, m_dev.hds_thresh);
    EXPECT_EQ(table(8, 3), m_dev.table);
    EXPECT_EQ(5001, m_dev.rules[9]);
    EXPECT_EQ(1, m_opened);

    m_log.clear();
    uct_tcp_zc_ethtool_setup_undo(s);
    EXPECT_EQ(log(setup_undos, 3), m_log);
    EXPECT_TRUE(before == m_dev);
    EXPECT_EQ(0, m_opened);
}

UCS_TEST_F(test_tcp_zc_ethtool_setup, fail_at_each_change)
{
    const device before = m_dev;
    uct_tcp_zc_ethtool_setup_t *s;
    log_t expected;

    for (int n = 0; n < 3; ++n) {
        UCS_TEST_MESSAGE << "change " << n << " fails";
        m_log.clear();
        m_num_changes = 0;
        m_fail        = n;

        /* the changes before n, n failing, the ones before undone from the
         * last one back */
        expected = log(setup_changes, n);
        expected.push_back(std::string(setup_changes[n]) + " failed");
        for (int i = 3 - n; i < 3; ++i) {
            expected.push_back(setup_undos[i]);
        }

        EXPECT_EQ(UCS_ERR_BUSY, setup(3, &s));
        EXPECT_TRUE(s == NULL);
        EXPECT_EQ(expected, m_log);
        EXPECT_TRUE(before == m_dev);
        EXPECT_EQ(0, m_opened);

        /* the error of the change which failed, not of an undo */
        EXPECT_EQ(EBUSY, m_err.error);
        EXPECT_EQ(std::string("made up"), m_err.msg);
    }
}

UCS_TEST_F(test_tcp_zc_ethtool_setup, fail_before_changes)
{
    static const char *const reads[] = {"open", "rings_get", "rss_get",
                                        "ntuple_count"};
    const device before = m_dev;
    uct_tcp_zc_ethtool_setup_t *s;

    for (size_t i = 0; i < ucs_static_array_size(reads); ++i) {
        UCS_TEST_MESSAGE << reads[i] << " fails";
        m_fail_read = reads[i];
        EXPECT_EQ(UCS_ERR_BUSY, setup(3, &s));
        EXPECT_TRUE(s == NULL);
        EXPECT_EQ(EBUSY, m_err.error);
        EXPECT_TRUE(m_log.empty());
        EXPECT_TRUE(before == m_dev);
        EXPECT_EQ(0, m_opened);
    }
}

UCS_TEST_F(test_tcp_zc_ethtool_setup, nothing_else_to_change)
{
    static const char *const changes[] = {
        "ntuple_insert family 2 port 5001 queue 3"
    };
    static const char *const undos[]   = {"ntuple_delete 9"};
    uct_tcp_zc_ethtool_setup_t *s;
    device before;

    /* header split on, hds-thresh 0, RSS already off queue 3 */
    m_dev.tcp_data_split = ETHTOOL_TCP_DATA_SPLIT_ENABLED;
    m_dev.hds_thresh     = 0;
    m_dev.table          = table(8, 2);
    before               = m_dev;

    ASSERT_UCS_OK(setup(3, &s));
    EXPECT_EQ(log(changes, 1), m_log);

    m_log.clear();
    uct_tcp_zc_ethtool_setup_undo(s);
    EXPECT_EQ(log(undos, 1), m_log);
    EXPECT_TRUE(before == m_dev);
}

UCS_TEST_F(test_tcp_zc_ethtool_setup, not_reported)
{
    static const char *const changes[] = {
        "rings_set split 2 hds -1",
        "ntuple_insert family 2 port 5001 queue 3"
    };
    static const char *const undos[]   = {
        "ntuple_delete 9",
        "rings_set split 0 hds -1"
    };
    uct_tcp_zc_ethtool_setup_t *s;

    /* a driver which reports neither: "unknown" split, no hds-thresh */
    m_dev.tcp_data_split = -1;
    m_dev.hds_thresh     = -1;
    m_dev.table          = table(8, 2);

    ASSERT_UCS_OK(setup(3, &s));
    EXPECT_EQ(log(changes, 2), m_log);

    /* the kernel's "unknown" (0) is what the driver reported by silence */
    m_log.clear();
    uct_tcp_zc_ethtool_setup_undo(s);
    EXPECT_EQ(log(undos, 2), m_log);
    EXPECT_EQ(ETHTOOL_TCP_DATA_SPLIT_UNKNOWN, m_dev.tcp_data_split);
}

UCS_TEST_F(test_tcp_zc_ethtool_setup, configured_table)
{
    static const uint32_t custom[] = {3, 0, 3, 1, 3, 2, 3, 0};
    uct_tcp_zc_ethtool_setup_t *s;

    /* a table someone set is restored as it was, not as the default */
    m_dev.table.assign(custom, custom + 8);

    ASSERT_UCS_OK(setup(3, &s));
    ASSERT_EQ(3u, m_log.size());
    EXPECT_EQ("rss_set 0 1 2 0 1 2 0 1", m_log[1]);

    m_log.clear();
    uct_tcp_zc_ethtool_setup_undo(s);
    ASSERT_EQ(3u, m_log.size());
    EXPECT_EQ("rss_set 3 0 3 1 3 2 3 0", m_log[1]);
    EXPECT_EQ(std::vector<uint32_t>(custom, custom + 8), m_dev.table);
}

UCS_TEST_F(test_tcp_zc_ethtool_setup, queue_zero)
{
    const device before = m_dev;
    uct_tcp_zc_ethtool_setup_t *s;

    /* RSS cannot spread over no queue: refused before any change */
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_INVALID_PARAM, setup(0, &s));
        EXPECT_EQ(1u, m_errors.size());
    }
    EXPECT_EQ(EINVAL, m_err.error);
    EXPECT_TRUE(m_log.empty());
    EXPECT_TRUE(before == m_dev);
    EXPECT_EQ(0, m_opened);
}


/*
 * The kernel's answers on the test runner's veth pair and lo. Changes are
 * asked on the veth only, which refuses them.
 */
class test_tcp_zc_ethtool_kernel : public test_tcp_zc_base {
protected:
    /* what the tests compare before and after a setup */
    struct state {
        ucs_status_t                  rings_status;
        int                           rings_error;
        ucs_status_t                  channels_status;
        uct_tcp_zc_ethtool_channels_t channels;
        int                           ntuple;
        std::vector<uint32_t>         features;

        bool operator==(const state &other) const
        {
            return (rings_status == other.rings_status) &&
                   (rings_error == other.rings_error) &&
                   (channels_status == other.channels_status) &&
                   !memcmp(&channels, &other.channels, sizeof(channels)) &&
                   (ntuple == other.ntuple) && (features == other.features);
        }
    };

    virtual void init()
    {
        /* the test runner's namespace, where lo and the veth are ours */
        if (test_veth_devices().empty()) {
            UCS_TEST_SKIP_R("no veth device: TCP_ZC_TEST_VETH is set by "
                            "the test runner (make test)");
        }

        test_tcp_zc_base::init();
        m_veth    = test_veth_devices()[0];
        m_genl_ok = false;
        ASSERT_UCS_OK(uct_tcp_zc_ethtool_open(&m_genl, &m_err));
        m_genl_ok = true;
    }

    virtual void cleanup()
    {
        if (m_genl_ok) {
            uct_tcp_zc_genl_close(&m_genl);
        }
        test_tcp_zc_base::cleanup();
    }

    void skip_unprivileged()
    {
        if (geteuid() != 0) {
            UCS_TEST_SKIP_R("changes need CAP_NET_ADMIN");
        }
    }

    static int ifindex(const std::string &name)
    {
        int index = if_nametoindex(name.c_str());

        EXPECT_NE(0, index) << name;
        return index;
    }

    /* queues of a device as sysfs shows them, "rx" or "tx" */
    static unsigned sysfs_queues(const std::string &name,
                                 const std::string &type)
    {
        std::string path = "/sys/class/net/" + name + "/queues";
        DIR *dir         = opendir(path.c_str());
        unsigned count   = 0;
        struct dirent *entry;

        EXPECT_TRUE(dir != NULL) << path;
        if (dir == NULL) {
            return 0;
        }

        while ((entry = readdir(dir)) != NULL) {
            count += (std::string(entry->d_name).find(type + "-") == 0);
        }

        closedir(dir);
        return count;
    }

    /* features of a device (ETHTOOL_GFEATURES), active and requested */
    static std::vector<uint32_t> features(const std::string &name)
    {
        static const unsigned max_blocks = 8;
        std::vector<char> buf(sizeof(struct ethtool_gfeatures) +
                              (max_blocks *
                               sizeof(struct ethtool_get_features_block)));
        struct ethtool_gfeatures *gf = (struct ethtool_gfeatures*)&buf[0];
        std::vector<uint32_t> result;
        struct ifreq ifr;
        int fd;

        gf->cmd  = ETHTOOL_GFEATURES;
        gf->size = max_blocks;
        memset(&ifr, 0, sizeof(ifr));
        ucs_strncpy_zero(ifr.ifr_name, name.c_str(), sizeof(ifr.ifr_name));
        ifr.ifr_data = &buf[0];

        fd = socket(AF_INET, SOCK_DGRAM, 0);
        EXPECT_LE(0, fd);
        EXPECT_EQ(0, ioctl(fd, SIOCETHTOOL, &ifr)) << strerror(errno);
        ::close(fd);

        for (unsigned i = 0; i < std::min(gf->size, max_blocks); ++i) {
            result.push_back(gf->features[i].active);
            result.push_back(gf->features[i].requested);
        }
        return result;
    }

    state get_state(const std::string &name)
    {
        uct_tcp_zc_ethtool_rings_t rings;
        uct_tcp_zc_genl_err_t err;
        state s;

        s.rings_status    = uct_tcp_zc_ethtool_rings_get(&m_genl,
                                                         ifindex(name),
                                                         &rings, &err);
        s.rings_error     = err.error;
        s.channels_status = uct_tcp_zc_ethtool_channels_get(&m_genl,
                                                            ifindex(name),
                                                            &s.channels,
                                                            &err);
        EXPECT_UCS_OK(uct_tcp_zc_ethtool_ntuple_enabled(name.c_str(),
                                                        &s.ntuple, &err));
        s.features = features(name);
        return s;
    }

    /* the kernel refused: errno, and the extack text */
    void expect_refused(ucs_status_t status, int error,
                        const std::string &msg = "")
    {
        EXPECT_EQ(uct_tcp_zc_genl_status(error), status);
        EXPECT_EQ(error, m_err.error) << strerror(m_err.error);
        EXPECT_EQ(msg, m_err.msg);
    }

    std::string           m_veth;
    uct_tcp_zc_genl_t     m_genl;
    bool                  m_genl_ok;
    uct_tcp_zc_genl_err_t m_err;
};


UCS_TEST_F(test_tcp_zc_ethtool_kernel, rings_get)
{
    uct_tcp_zc_ethtool_rings_t rings;

    /* neither veth nor lo has ring parameters: no header split to report */
    expect_refused(uct_tcp_zc_ethtool_rings_get(&m_genl, ifindex(m_veth),
                                                &rings, &m_err),
                   EOPNOTSUPP);
    EXPECT_EQ(-1, rings.tcp_data_split);
    EXPECT_FALSE(rings.hds_thresh_valid);

    expect_refused(uct_tcp_zc_ethtool_rings_get(&m_genl, ifindex("lo"),
                                                &rings, &m_err),
                   EOPNOTSUPP);
}

UCS_TEST_F(test_tcp_zc_ethtool_kernel, rings_set_veth)
{
    skip_unprivileged();

    /* the veth refuses each, and the kernel points at the attribute: the
     * one after the header nest */
    expect_refused(uct_tcp_zc_ethtool_rings_set(&m_genl, ifindex(m_veth),
                                                ETHTOOL_TCP_DATA_SPLIT_ENABLED,
                                                -1, &m_err),
                   EOPNOTSUPP, "setting TCP data split is not supported");
    EXPECT_EQ(ETHTOOL_A_RINGS_TCP_DATA_SPLIT, m_err.attr_type);

    expect_refused(uct_tcp_zc_ethtool_rings_set(&m_genl, ifindex(m_veth), -1,
                                                0, &m_err),
                   EOPNOTSUPP, "setting hds-thresh is not supported");
    EXPECT_EQ(ETHTOOL_A_RINGS_HDS_THRESH, m_err.attr_type);

    /* nothing to set is no request */
    EXPECT_UCS_OK(uct_tcp_zc_ethtool_rings_set(&m_genl, ifindex(m_veth), -1,
                                               -1, &m_err));
}

UCS_TEST_F(test_tcp_zc_ethtool_kernel, channels_get)
{
    uct_tcp_zc_ethtool_channels_t channels;

    /* veth has separate RX and TX channels: its real queues */
    ASSERT_UCS_OK(uct_tcp_zc_ethtool_channels_get(&m_genl, ifindex(m_veth),
                                                  &channels, &m_err));
    EXPECT_EQ(sysfs_queues(m_veth, "rx"), channels.rx);
    EXPECT_EQ(sysfs_queues(m_veth, "tx"), channels.tx);
    EXPECT_LE(channels.rx, channels.rx_max);
    EXPECT_LE(channels.tx, channels.tx_max);
    EXPECT_EQ(0u, channels.combined);
    EXPECT_EQ(0u, channels.combined_max);
    UCS_TEST_MESSAGE << m_veth << ": rx " << channels.rx << "/"
                     << channels.rx_max << " tx " << channels.tx << "/"
                     << channels.tx_max;

    /* lo has none */
    expect_refused(uct_tcp_zc_ethtool_channels_get(&m_genl, ifindex("lo"),
                                                   &channels, &m_err),
                   EOPNOTSUPP);
}

UCS_TEST_F(test_tcp_zc_ethtool_kernel, ntuple_query)
{
    uct_tcp_zc_ethtool_ntuple_rule_t dummy, *rules;
    unsigned count;
    uint64_t table;
    int enabled;

    for (const char *name : {m_veth.c_str(), "lo"}) {
        UCS_TEST_MESSAGE << name;

        /* the feature flag is there, off */
        ASSERT_UCS_OK(uct_tcp_zc_ethtool_ntuple_enabled(name, &enabled,
                                                        &m_err));
        EXPECT_FALSE(enabled);

        /* no ntuple filters in the driver */
        expect_refused(uct_tcp_zc_ethtool_ntuple_count(name, &count, &table,
                                                       &m_err),
                       EOPNOTSUPP);
        rules = &dummy;
        expect_refused(uct_tcp_zc_ethtool_ntuple_list(name, &rules, &count,
                                                      &m_err),
                       EOPNOTSUPP);
        EXPECT_TRUE(rules == NULL);
        EXPECT_EQ(0u, count);
    }
}

UCS_TEST_F(test_tcp_zc_ethtool_kernel, ntuple_change_veth)
{
    uct_tcp_zc_ethtool_ntuple_rule_t rule;

    skip_unprivileged();

    rule.location = 0;
    rule.family   = AF_INET;
    rule.dst_port = 5001;
    rule.queue    = 0;
    expect_refused(uct_tcp_zc_ethtool_ntuple_insert(m_veth.c_str(), &rule,
                                                    &m_err),
                   EOPNOTSUPP);
    EXPECT_EQ(-1, m_err.offset);
    EXPECT_EQ(0u, rule.location);

    expect_refused(uct_tcp_zc_ethtool_ntuple_delete(m_veth.c_str(), 0,
                                                    &m_err),
                   EOPNOTSUPP);
}

UCS_TEST_F(test_tcp_zc_ethtool_kernel, rss)
{
    uint32_t *table = NULL;
    uint32_t zero   = 0;
    unsigned size, count;

    /* no RSS on veth and lo */
    for (const char *name : {m_veth.c_str(), "lo"}) {
        UCS_TEST_MESSAGE << name;
        expect_refused(uct_tcp_zc_ethtool_rss_get(name, &table, &size,
                                                  &m_err),
                       EOPNOTSUPP);
        EXPECT_TRUE(table == NULL);
        expect_refused(uct_tcp_zc_ethtool_rx_rings_get(name, &count, &m_err),
                       EOPNOTSUPP);
    }

    if (geteuid() == 0) {
        expect_refused(uct_tcp_zc_ethtool_rss_set(m_veth.c_str(), &zero, 1,
                                                  &m_err),
                       EOPNOTSUPP);
    }
}

UCS_TEST_F(test_tcp_zc_ethtool_kernel, setup_veth)
{
    const state before = get_state(m_veth);
    uct_tcp_zc_ethtool_setup_t *setup;

    skip_unprivileged();

    /* refused at the first thing it needs, rings, with nothing changed */
    setup = NULL;
    expect_refused(uct_tcp_zc_ethtool_setup(m_veth.c_str(), ifindex(m_veth),
                                            1, AF_INET, 5001, &setup,
                                            &m_err),
                   EOPNOTSUPP);
    EXPECT_TRUE(setup == NULL);
    EXPECT_TRUE(before == get_state(m_veth));

    /* and for IPv6 */
    expect_refused(uct_tcp_zc_ethtool_setup(m_veth.c_str(), ifindex(m_veth),
                                            1, AF_INET6, 5001, &setup,
                                            &m_err),
                   EOPNOTSUPP);
    EXPECT_TRUE(setup == NULL);
    EXPECT_TRUE(before == get_state(m_veth));
}
