/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"
#include "test_tcp_zc_xfer.h"

extern "C" {
#include <uct/tcp_zc/tcp_zc.h>
#include <ucs/stats/stats.h>
#include <ucs/sys/sock.h>
#include <ucs/sys/uid.h>
}

#include <algorithm>
#include <set>
#include <arpa/inet.h>
#include <fstream>
#include <net/if.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>


class test_tcp_zc_iface : public test_tcp_zc_base {
protected:
    virtual void init()
    {
        test_tcp_zc_base::init();
        ASSERT_UCS_OK(open_md());
    }

    uct_tcp_zc_iface_t *iface() const
    {
        return ucs_derived_of(m_iface, uct_tcp_zc_iface_t);
    }

    void query(uct_iface_attr_t *attr)
    {
        ASSERT_UCS_OK(uct_iface_query(m_iface, attr));
    }

    /* Connect a plain TCP socket to the iface listener */
    void check_listener(const char *ip, sa_family_t af)
    {
        struct sockaddr_storage addr = {};
        uct_iface_attr_t attr;
        std::vector<char> iface_addr;
        uint16_t port;
        int fd;

        query(&attr);
        iface_addr.resize(attr.iface_addr_len);
        ASSERT_UCS_OK(uct_iface_get_address(
                m_iface, (uct_iface_addr_t*)&iface_addr[0]));
        port = ntohs(((uct_tcp_zc_iface_addr_t*)&iface_addr[0])->port);
        EXPECT_NE(0, port);
        EXPECT_EQ(iface()->listen_port, port);

        addr.ss_family = af;
        ASSERT_EQ(1, inet_pton(af, ip,
                               (void*)ucs_sockaddr_get_inet_addr(
                                       (struct sockaddr*)&addr)));
        ASSERT_UCS_OK(ucs_sockaddr_set_port((struct sockaddr*)&addr, port));

        fd = socket(af, SOCK_STREAM, 0);
        ASSERT_GE(fd, 0);
        EXPECT_EQ(0, connect(fd, (struct sockaddr*)&addr,
                             (af == AF_INET) ? sizeof(struct sockaddr_in) :
                                               sizeof(struct sockaddr_in6)))
                << ip << " port " << port << ": " << strerror(errno);
        close(fd);
    }

    std::vector<char> device_address()
    {
        uct_iface_attr_t attr;
        std::vector<char> dev_addr;

        query(&attr);
        dev_addr.resize(attr.device_addr_len);
        EXPECT_UCS_OK(uct_iface_get_device_address(
                m_iface, (uct_device_addr_t*)&dev_addr[0]));
        return dev_addr;
    }

    int is_reachable(const std::vector<char> &dev_addr)
    {
        uct_iface_attr_t attr;
        std::vector<char> iface_addr;

        query(&attr);
        iface_addr.resize(attr.iface_addr_len);
        EXPECT_UCS_OK(uct_iface_get_address(
                m_iface, (uct_iface_addr_t*)&iface_addr[0]));
        return uct_iface_is_reachable(m_iface,
                                      (const uct_device_addr_t*)&dev_addr[0],
                                      (const uct_iface_addr_t*)&iface_addr[0]);
    }

    static bool netdev_is_up(const std::string &name)
    {
        std::ifstream f(("/sys/class/net/" + name + "/flags").c_str());
        unsigned long flags = 0;

        f >> std::hex >> flags;
        return f.good() && (flags & IFF_UP);
    }

    void skip_no_veth()
    {
        if (test_veth_devices().empty()) {
            UCS_TEST_SKIP_R("no veth device: TCP_ZC_TEST_VETH is set by "
                            "the test runner (make test)");
        }
    }
};


UCS_TEST_F(test_tcp_zc_iface, devices)
{
    std::vector<std::string> devices = tl_devices();
    std::vector<std::string> veths   = test_veth_devices();
    std::vector<std::string>::const_iterator it;

    ASSERT_NE(devices.end(), std::find(devices.begin(), devices.end(), "lo"))
            << "tcp_zc must report the loopback device";
    for (it = devices.begin(); it != devices.end(); ++it) {
        EXPECT_TRUE(netdev_is_up(*it)) << *it << " is reported but not up";
    }

    /* one device per usable network interface, each once */
    EXPECT_EQ(devices.size(),
              std::set<std::string>(devices.begin(), devices.end()).size());
    for (it = veths.begin(); it != veths.end(); ++it) {
        EXPECT_NE(devices.end(), std::find(devices.begin(), devices.end(), *it))
                << "veth device " << *it << " is not reported";
    }
}

UCS_TEST_F(test_tcp_zc_iface, query_lo)
{
    uct_iface_attr_t attr;

    ASSERT_UCS_OK(open_iface("lo"));
    query(&attr);

    /* loopback: the host and the network namespace */
    EXPECT_EQ(sizeof(uct_tcp_zc_device_addr_t) +
              sizeof(uct_tcp_zc_device_addr_lo_t), attr.device_addr_len);
    EXPECT_EQ(18u, attr.device_addr_len);
    EXPECT_EQ(sizeof(uint16_t), attr.iface_addr_len);
    /* CONNECT_TO_EP: the port and the endpoint id */
    EXPECT_EQ(sizeof(uint16_t) + sizeof(uint64_t), attr.ep_addr_len);
    EXPECT_GT(attr.latency.c, 0);
    EXPECT_GT(attr.bandwidth.shared, 0);
    EXPECT_GT(attr.overhead, 0);
    EXPECT_EQ(256u, attr.max_num_eps);

    /* what UCP needs for AM lanes, direct RMA lanes, rendezvous zero-copy
     * and error handling; connections to an iface and to an endpoint */
    EXPECT_TRUE(ucs_test_all_flags(attr.cap.flags,
                                   UCT_IFACE_FLAG_CONNECT_TO_IFACE |
                                   UCT_IFACE_FLAG_CONNECT_TO_EP |
                                   UCT_IFACE_FLAG_AM_SHORT |
                                   UCT_IFACE_FLAG_AM_BCOPY |
                                   UCT_IFACE_FLAG_AM_ZCOPY |
                                   UCT_IFACE_FLAG_PUT_SHORT |
                                   UCT_IFACE_FLAG_PUT_BCOPY |
                                   UCT_IFACE_FLAG_PUT_ZCOPY |
                                   UCT_IFACE_FLAG_GET_BCOPY |
                                   UCT_IFACE_FLAG_GET_ZCOPY |
                                   UCT_IFACE_FLAG_PENDING |
                                   UCT_IFACE_FLAG_CB_SYNC |
                                   UCT_IFACE_FLAG_EP_CHECK |
                                   UCT_IFACE_FLAG_ERRHANDLE_PEER_FAILURE));
    EXPECT_TRUE(ucs_test_all_flags(attr.cap.event_flags,
                                   UCT_IFACE_FLAG_EVENT_SEND_COMP |
                                   UCT_IFACE_FLAG_EVENT_RECV |
                                   UCT_IFACE_FLAG_EVENT_FD));

    /* AM short and bcopy follow TX_SEG_SIZE (8k), AM zcopy and RMA bcopy
     * SEG_SIZE (64k) */
    EXPECT_EQ(8192u, attr.cap.am.max_short);
    EXPECT_EQ(8192u, attr.cap.am.max_bcopy);
    EXPECT_EQ(65536u, attr.cap.am.max_zcopy);
    EXPECT_EQ(UCT_TCP_ZC_MAX_AM_HDR, attr.cap.am.max_hdr);
    EXPECT_EQ(UCT_TCP_ZC_MAX_IOV, attr.cap.am.max_iov);
    EXPECT_EQ(UCT_TCP_ZC_RMA_MAX_LENGTH, attr.cap.put.max_zcopy);
    EXPECT_EQ(UCT_TCP_ZC_RMA_MAX_LENGTH, attr.cap.get.max_zcopy);
    EXPECT_EQ(65536u, attr.cap.put.max_bcopy);
    EXPECT_EQ(65536u, attr.cap.get.max_bcopy);

    EXPECT_TRUE(iface()->is_loopback);
    EXPECT_EQ(AF_INET, iface()->if_addr.ss_family);
}

UCS_TEST_F(test_tcp_zc_iface, listener_lo)
{
    ASSERT_UCS_OK(open_iface("lo"));
    check_listener("127.0.0.1", AF_INET);
}

UCS_TEST_F(test_tcp_zc_iface, reachable_lo)
{
    std::vector<char> dev_addr, other;
    const uct_tcp_zc_device_addr_t *hdr;
    uct_tcp_zc_device_addr_lo_t lo;

    ASSERT_UCS_OK(open_iface("lo"));
    dev_addr = device_address();
    hdr      = (const uct_tcp_zc_device_addr_t*)&dev_addr[0];
    EXPECT_EQ(UCT_TCP_ZC_DEVICE_ADDR_FLAG_LOOPBACK, hdr->flags);
    EXPECT_EQ(AF_INET, hdr->sa_family);
    memcpy(&lo, hdr + 1, sizeof(lo));
    EXPECT_EQ(ucs_get_system_id(), lo.sys_id);
    EXPECT_EQ(ucs_sys_get_ns(UCS_SYS_NS_TYPE_NET), lo.net_ns);
    EXPECT_TRUE(is_reachable(dev_addr));

    /* loopback of another network namespace is not reachable */
    other        = dev_addr;
    lo.net_ns   ^= 0xff;
    memcpy(&other[sizeof(*hdr)], &lo, sizeof(lo));
    EXPECT_FALSE(is_reachable(other));
}

/* Two hosts which both run in their initial network namespace have the same
 * namespace id: loopback of another host is not reachable */
UCS_TEST_F(test_tcp_zc_iface, reachable_lo_other_host)
{
    std::vector<char> dev_addr;
    uct_tcp_zc_device_addr_lo_t lo;

    ASSERT_UCS_OK(open_iface("lo"));
    dev_addr = device_address();
    memcpy(&lo, &dev_addr[sizeof(uct_tcp_zc_device_addr_t)], sizeof(lo));
    lo.sys_id ^= 1;
    memcpy(&dev_addr[sizeof(uct_tcp_zc_device_addr_t)], &lo, sizeof(lo));
    EXPECT_FALSE(is_reachable(dev_addr));

#if UCT_TCP_ZC_API_V2
    /* and the reason says so (UCX 1.13 has no v2 call) */
    char reason[64] = {};
    uct_iface_is_reachable_params_t params;

    params.field_mask         = UCT_IFACE_IS_REACHABLE_FIELD_DEVICE_ADDR |
                                UCT_IFACE_IS_REACHABLE_FIELD_INFO_STRING |
                                UCT_IFACE_IS_REACHABLE_FIELD_INFO_STRING_LENGTH;
    params.device_addr        = (const uct_device_addr_t*)&dev_addr[0];
    params.info_string        = reason;
    params.info_string_length = sizeof(reason);
    EXPECT_EQ(0, uct_iface_is_reachable_v2(m_iface, &params));
    EXPECT_EQ(std::string("other host"), reason);
#endif
}

UCS_TEST_F(test_tcp_zc_iface, close_releases_port)
{
    uint16_t port;
    struct sockaddr_in addr = {};
    int fd;

    ASSERT_UCS_OK(open_iface("lo"));
    port = iface()->listen_port;
    close_iface();

    /* after close nothing listens on the port */
    addr.sin_family      = AF_INET;
    addr.sin_port        = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd                   = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(-1, connect(fd, (struct sockaddr*)&addr, sizeof(addr)));
    EXPECT_EQ(ECONNREFUSED, errno);
    close(fd);
}

UCS_TEST_F(test_tcp_zc_iface, open_unknown_device)
{
    ucs_status_t status;

    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        status = open_iface("tcpzc_none0");
    }
    EXPECT_EQ(UCS_ERR_NO_DEVICE, status);
    EXPECT_TRUE(m_iface == NULL);
}

UCS_TEST_F(test_tcp_zc_iface, query_veth)
{
    uct_iface_attr_t attr;
    std::vector<char> dev_addr;
    const uct_tcp_zc_device_addr_t *hdr;
    char ip[INET_ADDRSTRLEN];

    skip_no_veth();
    ASSERT_UCS_OK(open_iface(test_veth_devices()[0]));
    query(&attr);

    EXPECT_FALSE(iface()->is_loopback);
    EXPECT_EQ(sizeof(uct_tcp_zc_device_addr_t) + sizeof(struct in_addr),
              attr.device_addr_len);

    dev_addr = device_address();
    hdr      = (const uct_tcp_zc_device_addr_t*)&dev_addr[0];
    EXPECT_EQ(0, hdr->flags);
    EXPECT_EQ(AF_INET, hdr->sa_family);
    ASSERT_TRUE(inet_ntop(AF_INET, hdr + 1, ip, sizeof(ip)) != NULL);
    EXPECT_EQ(0, strncmp(ip, "198.51.100.", 11)) << ip;
    EXPECT_TRUE(is_reachable(dev_addr));

    check_listener(ip, AF_INET);
}


/* Route check of a network address, where UCX's tcp makes one: UCX master
 * asks for the best route (ucs_netlink_is_best_route); UCX 1.13's tcp makes
 * none, and neither does tcp_zc on 1.13 (connect fails instead) */
UCS_TEST_F(test_tcp_zc_iface, reachable_route_veth)
{
    std::vector<char> dev_addr;
    struct in6_addr in6;
    config_map_t md_config;

    skip_no_veth();
    uct_md_close(m_md);
    m_md                 = NULL;
    md_config["AF_PRIO"] = "inet6";
    ASSERT_UCS_OK(open_md(md_config));
    ASSERT_UCS_OK(open_iface(test_veth_devices()[0]));
    ASSERT_EQ(AF_INET6, iface()->if_addr.ss_family);

    /* the veth subnet (2001:db8:5133::/64) has its route on this device */
    dev_addr = device_address();
    ASSERT_EQ(1, inet_pton(AF_INET6, "2001:db8:5133::3", &in6));
    memcpy(&dev_addr[sizeof(uct_tcp_zc_device_addr_t)], &in6, sizeof(in6));
    EXPECT_TRUE(is_reachable(dev_addr));

    /* no route to an address outside it (the test namespace has no default
     * route; nothing is sent) */
    ASSERT_EQ(1, inet_pton(AF_INET6, "2001:db8:ffff::1", &in6));
    memcpy(&dev_addr[sizeof(uct_tcp_zc_device_addr_t)], &in6, sizeof(in6));
#if UCT_TCP_ZC_API_V2
    EXPECT_FALSE(is_reachable(dev_addr));
#else
    EXPECT_TRUE(is_reachable(dev_addr));
#endif
}

/* The stats node of the iface is released when the iface open fails after it
 * was made */
UCS_TEST_F(test_tcp_zc_iface, open_failure_releases_stats)
{
#ifdef ENABLE_STATS
    uct_iface_config_t *iface_config;
    uct_iface_params_t params;
    ucs_status_t status;
    uct_iface_h iface;
    size_t i;

    ucs_stats_cleanup();
    push_config();
    modify_config("STATS_DEST", "file:/dev/null");
    modify_config("STATS_TRIGGER", "");
    ucs_stats_init();
    ASSERT_TRUE(ucs_stats_is_active());

    ASSERT_UCS_OK(uct_md_iface_config_read(m_md, "tcp_zc", NULL, NULL,
                                           &iface_config));
    params.field_mask           = UCT_IFACE_PARAM_FIELD_OPEN_MODE |
                                  UCT_IFACE_PARAM_FIELD_DEVICE |
                                  UCT_IFACE_PARAM_FIELD_STATS_ROOT;
    params.open_mode            = UCT_IFACE_OPEN_MODE_DEVICE;
    params.mode.device.tl_name  = "tcp_zc";
    params.mode.device.dev_name = "tcpzc_none0";
    params.stats_root           = ucs_stats_get_root();
    {
        /* the device has no address: fails after the stats node is made */
        scoped_log_handler wrap_err(wrap_errors_logger);
        scoped_log_handler wrap_warn(wrap_warns_logger);
        status = uct_iface_open(m_md, m_worker, &params, iface_config,
                                &iface);
    }
    uct_config_release(iface_config);
    EXPECT_EQ(UCS_ERR_NO_DEVICE, status);

    /* a leaked node stays a child of the iface's node, which warns when it
     * is released */
    for (i = 0; i < m_warnings.size(); ++i) {
        EXPECT_EQ(std::string::npos,
                  m_warnings[i].find("still has active children"))
                << m_warnings[i];
    }

    ucs_stats_cleanup();
    pop_config();
    ucs_stats_init();
#else
    UCS_TEST_SKIP_R("statistics are compiled out (configure --enable-stats): "
                    "UCS_STATS_NODE_ALLOC makes no node to release");
#endif
}


class test_tcp_zc_iface_config : public test_tcp_zc_iface {
};


UCS_TEST_F(test_tcp_zc_iface_config, values)
{
    config_map_t config;
    int sndbuf;
    socklen_t len = sizeof(sndbuf);

    config["ZCOPY_THRESH"]   = "32k";
    config["ZCOPY"]          = "n";
    config["SNDBUF"]         = "256k";
    config["RCVBUF"]         = "512k";
    config["LISTEN_BACKLOG"] = "7";
    config["MAX_NUM_EPS"]    = "1000";
    ASSERT_UCS_OK(open_iface("lo", config));

    EXPECT_EQ(32768u, iface()->zc.thresh);
    EXPECT_EQ(UCT_TCP_ZC_ENGINE_NONE, iface()->zc.engine);
    EXPECT_EQ(262144u, iface()->config.sockopt.sndbuf);
    EXPECT_EQ(524288u, iface()->config.sockopt.rcvbuf);

    /* the kernel doubles what it is asked for */
    ASSERT_EQ(0, getsockopt(iface()->listen_fd, SOL_SOCKET, SO_SNDBUF,
                            &sndbuf, &len));
    EXPECT_EQ(2 * 262144, sndbuf);

    uct_iface_attr_t attr;
    query(&attr);
    EXPECT_EQ(1000u, attr.max_num_eps);
}

UCS_TEST_F(test_tcp_zc_iface_config, defaults)
{
    ASSERT_UCS_OK(open_iface("lo"));
    EXPECT_EQ(16384u, iface()->zc.thresh);
    EXPECT_EQ(256u, iface()->config.max_rma_outstanding);
    EXPECT_EQ(UCS_AUTO, iface()->zc.mode);
    /* this kernel has MSG_ZEROCOPY: auto picks the error queue engine */
    EXPECT_EQ(UCT_TCP_ZC_ENGINE_ERRQUEUE, iface()->zc.engine);
    EXPECT_EQ(UCS_MEMUNITS_AUTO, iface()->config.sockopt.sndbuf);
    EXPECT_EQ(UCS_MEMUNITS_AUTO, iface()->config.sockopt.rcvbuf);
}

UCS_TEST_F(test_tcp_zc_iface_config, invalid_sizes)
{
    const std::vector<config_map_t> configs = {
        {{"SEG_SIZE", "0"}},
        {{"TX_SEG_SIZE", "0"}},
        {{"SEG_SIZE", "16k"}, {"TX_SEG_SIZE", "32k"}},
        {{"MAX_RMA_OUTSTANDING", "0"}}
    };

    for (const auto &config : configs) {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_INVALID_PARAM, open_iface("lo", config))
                << config.begin()->first << "=" << config.begin()->second;
    }

    /* the largest allowed: TX_SEG_SIZE = SEG_SIZE */
    ASSERT_UCS_OK(open_iface("lo", {{"SEG_SIZE", "16k"},
                                    {"TX_SEG_SIZE", "16k"}}));
    uct_iface_attr_t attr;
    query(&attr);
    EXPECT_EQ(16384u, attr.cap.am.max_bcopy);
    EXPECT_EQ(16384u, attr.cap.am.max_zcopy);
}

UCS_TEST_F(test_tcp_zc_iface_config, invalid_value)
{
    uct_iface_config_t *iface_config;

    ASSERT_UCS_OK(uct_md_iface_config_read(m_md, "tcp_zc", NULL, NULL,
                                           &iface_config));
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_INVALID_PARAM,
                  apply_config(iface_config,
                               config_map_t{{"ZCOPY_THRESH", "lots"}}));
        EXPECT_EQ(UCS_ERR_INVALID_PARAM,
                  apply_config(iface_config,
                               config_map_t{{"LISTEN_BACKLOG", "-x"}}));
    }
    EXPECT_EQ(UCS_ERR_NO_ELEM,
              apply_config(iface_config, config_map_t{{"NO_SUCH_VAR", "1"}}));

    /* a rejected value leaves the previous one in place */
    ASSERT_UCS_OK(apply_config(iface_config,
                               config_map_t{{"ZCOPY_THRESH", "8k"}}));
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_NE(UCS_OK, apply_config(iface_config,
                                       config_map_t{{"ZCOPY_THRESH", "x"}}));
    }
    EXPECT_EQ(8192u, ucs_derived_of(iface_config,
                                    uct_tcp_zc_iface_config_t)->zcopy_thresh);
    uct_config_release(iface_config);
}

UCS_TEST_F(test_tcp_zc_iface_config, ipv6_veth)
{
    config_map_t md_config;
    uct_iface_attr_t attr;
    std::vector<char> dev_addr;
    char ip[INET6_ADDRSTRLEN];
    ucs_status_t status;

    skip_no_veth();
    uct_md_close(m_md);
    m_md                 = NULL;
    md_config["AF_PRIO"] = "inet6";
    ASSERT_UCS_OK(open_md(md_config));

    /* UCX's address lookup decides whether IPv6 loopback is usable: UCX 1.13
     * skips it, master does not */
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        status = open_iface("lo");
    }
    if (ucs_netif_is_active("lo", AF_INET6)) {
        ASSERT_UCS_OK(status);
        EXPECT_TRUE(iface()->is_loopback);
        EXPECT_EQ(AF_INET6, iface()->if_addr.ss_family);
        check_listener("::1", AF_INET6);
        close_iface();
    } else {
        EXPECT_EQ(UCS_ERR_NO_DEVICE, status);
    }

    ASSERT_UCS_OK(open_iface(test_veth_devices()[0]));
    query(&attr);
    EXPECT_EQ(AF_INET6, iface()->if_addr.ss_family);
    EXPECT_EQ(sizeof(uct_tcp_zc_device_addr_t) + sizeof(struct in6_addr),
              attr.device_addr_len);

    dev_addr = device_address();
    EXPECT_EQ(AF_INET6,
              ((const uct_tcp_zc_device_addr_t*)&dev_addr[0])->sa_family);
    EXPECT_TRUE(is_reachable(dev_addr));

    ASSERT_TRUE(inet_ntop(AF_INET6, &dev_addr[sizeof(uct_tcp_zc_device_addr_t)],
                          ip, sizeof(ip)) != NULL);
    EXPECT_EQ(0, strncmp(ip, "2001:db8:", 9)) << ip;
    check_listener(ip, AF_INET6);
}

UCS_TEST_F(test_tcp_zc_iface_config, invalid_sockopts)
{
    const std::vector<config_map_t> configs = {
        {{"KEEPIDLE", "0"}},
        {{"KEEPIDLE", "500ms"}},
        {{"KEEPIDLE", "32768s"}},
        {{"KEEPINTVL", "0s"}},
        {{"KEEPINTVL", "40000s"}},
        {{"KEEPCNT", "0"}},
        {{"KEEPCNT", "128"}},
        {{"USER_TIMEOUT", "0"}},
        {{"USER_TIMEOUT", "100us"}},
        {{"USER_TIMEOUT", "inf"}},
        {{"USER_TIMEOUT", "2592000s"}}
    };

    for (const auto &config : configs) {
        const std::string var = "UCX_TCP_ZC_" + config.begin()->first;
        ucs_status_t status;

        m_errors.clear();
        {
            scoped_log_handler wrap_err(wrap_errors_logger);
            status = open_iface("lo", config);
        }
        EXPECT_EQ(UCS_ERR_INVALID_PARAM, status)
                << var << "=" << config.begin()->second;
        EXPECT_TRUE(m_iface == NULL);
        close_iface();

        /* one error which names the variable */
        ASSERT_EQ(1u, m_errors.size()) << var;
        EXPECT_NE(std::string::npos, m_errors[0].find(var)) << m_errors[0];
        EXPECT_NE(std::string::npos, m_errors[0].find("range")) << m_errors[0];
    }

    /* the extremes are taken */
    ASSERT_UCS_OK(open_iface("lo", {{"KEEPIDLE", "32767s"},
                                    {"KEEPINTVL", "1s"},
                                    {"KEEPCNT", "127"},
                                    {"USER_TIMEOUT", "1ms"}}));
    EXPECT_EQ(32767, iface()->config.keepalive.idle);
    EXPECT_EQ(1, iface()->config.keepalive.intvl);
    EXPECT_EQ(127, iface()->config.keepalive.cnt);
    EXPECT_EQ(1, iface()->config.user_timeout);
}


/**
 * Keepalive and user timeout socket options of real connections: the
 * connecting socket of an endpoint and the socket which the peer accepted.
 */
class test_tcp_zc_iface_sockopt : public test_tcp_zc_xfer {
protected:
    struct sockopts_t {
        int keepalive, idle, intvl, cnt, user_timeout;
    };

    static sockopts_t get_sockopts(int fd)
    {
        sockopts_t opts = {-1, -1, -1, -1, -1};
        socklen_t len   = sizeof(int);

        EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &opts.keepalive,
                                &len));
        EXPECT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &opts.idle,
                                &len));
        EXPECT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &opts.intvl,
                                &len));
        EXPECT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &opts.cnt,
                                &len));
        EXPECT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
                                &opts.user_timeout, &len));
        return opts;
    }

    static int sysctl_value(const std::string &name)
    {
        std::ifstream f(("/proc/sys/net/ipv4/" + name).c_str());
        int value = -1;

        f >> value;
        return value;
    }

    enum {
        CONNECTING, /* the socket of the endpoint */
        ACCEPTED    /* the socket which the peer accepted */
    };

    static const char *side_name(int side)
    {
        return (side == CONNECTING) ? "connecting socket" : "accepted socket";
    }

    /* a connection from the sender to the receiver: the options of its
     * connecting and its accepted socket */
    void connect_and_get(sockopts_t sockopts[2])
    {
        uct_tcp_zc_iface_t *receiver = ucs_derived_of(m_receiver.iface,
                                                      uct_tcp_zc_iface_t);
        uct_tcp_zc_conn_t *conn;
        unsigned long n_accepted;
        uct_ep_h ep;
        char data = 'k';
        int fd;

        ep = create_ep(m_receiver);
        ASSERT_EQ(1, am_bcopy(ep, &data, 1));
        ASSERT_TRUE(wait_for([&]() { return m_am_count == 1; }));

        sockopts[CONNECTING] = get_sockopts(
                ucs_derived_of(ep, uct_tcp_zc_ep_t)->conn->fd);

        /* the message arrived: the receiver accepted the connection */
        UCS_ASYNC_BLOCK(m_async);
        n_accepted = 0;
        fd         = -1;
        ucs_list_for_each(conn, &receiver->conn_list, list) {
            if (conn->accepted) {
                ++n_accepted;
                fd = conn->fd;
            }
        }
        UCS_ASYNC_UNBLOCK(m_async);

        ASSERT_EQ(1u, n_accepted);
        sockopts[ACCEPTED] = get_sockopts(fd);
    }

    /* keepalive on, as UCX's tcp: 10s idle, probes every 2s, the system's
     * probe count; the system's user timeout */
    void check_defaults(int side)
    {
        sockopts_t sockopts[2];

        connect_and_get(sockopts);
        EXPECT_NE(0, sockopts[side].keepalive) << side_name(side);
        EXPECT_EQ(10, sockopts[side].idle) << side_name(side);
        EXPECT_EQ(2, sockopts[side].intvl) << side_name(side);
        EXPECT_EQ(sysctl_value("tcp_keepalive_probes"), sockopts[side].cnt)
                << side_name(side);
        EXPECT_EQ(0, sockopts[side].user_timeout) << side_name(side);
    }

    /* what test_tcp_zc_iface_sockopt_set configures */
    void check_set(int side)
    {
        sockopts_t sockopts[2];

        connect_and_get(sockopts);
        EXPECT_NE(0, sockopts[side].keepalive) << side_name(side);
        EXPECT_EQ(7, sockopts[side].idle) << side_name(side);
        EXPECT_EQ(3, sockopts[side].intvl) << side_name(side);
        EXPECT_EQ(4, sockopts[side].cnt) << side_name(side);
        EXPECT_EQ(5500, sockopts[side].user_timeout) << side_name(side);
    }
};


class test_tcp_zc_iface_sockopt_set : public test_tcp_zc_iface_sockopt {
protected:
    virtual config_map_t peer_config() const
    {
        config_map_t config = test_tcp_zc_iface_sockopt::peer_config();

        config["KEEPIDLE"]     = "7s";
        config["KEEPINTVL"]    = "3s";
        config["KEEPCNT"]      = "4";
        config["USER_TIMEOUT"] = "5500ms";
        return config;
    }
};


UCS_TEST_F(test_tcp_zc_iface_sockopt_set, accepted)
{
    check_set(ACCEPTED);
}

UCS_TEST_F(test_tcp_zc_iface_sockopt_set, connecting)
{
    check_set(CONNECTING);
}


UCS_TEST_F(test_tcp_zc_iface_sockopt, defaults_accepted)
{
    check_defaults(ACCEPTED);
}

UCS_TEST_F(test_tcp_zc_iface_sockopt, defaults_connecting)
{
    check_defaults(CONNECTING);
}


class test_tcp_zc_iface_sockopt_off : public test_tcp_zc_iface_sockopt {
protected:
    virtual config_map_t peer_config() const
    {
        config_map_t config = test_tcp_zc_iface_sockopt::peer_config();

        config["KEEPCNT"] = "inf";
        return config;
    }
};


UCS_TEST_F(test_tcp_zc_iface_sockopt_off, connections)
{
    sockopts_t sockopts[2];

    connect_and_get(sockopts);
    for (int side = CONNECTING; side <= ACCEPTED; ++side) {
        /* inf: no keepalive, the system's values stay */
        EXPECT_EQ(0, sockopts[side].keepalive) << side_name(side);
        EXPECT_EQ(sysctl_value("tcp_keepalive_time"), sockopts[side].idle)
                << side_name(side);
        EXPECT_EQ(0, sockopts[side].user_timeout) << side_name(side);
    }
}
