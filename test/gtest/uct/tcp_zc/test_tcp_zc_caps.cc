/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

extern "C" {
#include <uct/tcp_zc/tcp_zc.h>
#include <uct/tcp_zc/tcp_zc_caps.h>
#include <uct/tcp_zc/tcp_zc_ethtool.h>
}

#include <net/if.h>
#include <unistd.h>


/*
 * The capability report and UCX_TCP_ZC_DEVMEM against the real kernel: on
 * lo and veth every send requirement of this kernel is met and devmem is
 * not, each "no" with the kernel's reason.
 */
class test_tcp_zc_caps : public test_tcp_zc_base {
protected:
    virtual void init()
    {
        test_tcp_zc_base::init();
        ASSERT_UCS_OK(open_md());
    }

    static const uct_tcp_zc_req_result_t &
    req(const uct_tcp_zc_caps_t &caps, uct_tcp_zc_req_t req)
    {
        return caps.reqs[req];
    }

    /* bind-rx: NO as root; without CAP_NET_ADMIN the kernel cannot tell */
    static void check_bind_rx(const uct_tcp_zc_caps_t &caps)
    {
        if (geteuid() == 0) {
            check_no(caps, UCT_TCP_ZC_REQ_BIND_RX);
            return;
        }

        EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_UNKNOWN,
                  req(caps, UCT_TCP_ZC_REQ_BIND_RX).state);
        EXPECT_NE(std::string::npos,
                  std::string(req(caps, UCT_TCP_ZC_REQ_BIND_RX).reason)
                          .find("CAP_NET_ADMIN"))
                << req(caps, UCT_TCP_ZC_REQ_BIND_RX).reason;
    }

    static void check_no(const uct_tcp_zc_caps_t &caps, uct_tcp_zc_req_t r)
    {
        EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_NO, req(caps, r).state)
                << uct_tcp_zc_req_name(r) << ": " << req(caps, r).reason;
        EXPECT_NE(std::string(""), req(caps, r).reason)
                << uct_tcp_zc_req_name(r);
    }

    /* A device of the runner's namespace, or skip */
    std::string veth()
    {
        std::vector<std::string> devs = test_veth_devices();

        if (devs.empty()) {
            UCS_TEST_SKIP_R("TCP_ZC_TEST_VETH is not set: no test veth pair");
        }
        return devs[0];
    }

    /* What a device looks like to ethtool, to compare before and after */
    static std::string device_state(const std::string &dev)
    {
        uct_tcp_zc_ethtool_channels_t channels = {};
        uct_tcp_zc_ethtool_rings_t rings       = {};
        uct_tcp_zc_genl_err_t err;
        uct_tcp_zc_genl_t genl;
        std::string state;
        int enabled = -1;
        int ifindex = if_nametoindex(dev.c_str());

        if (uct_tcp_zc_ethtool_open(&genl, &err) == UCS_OK) {
            state += ucs_status_string(uct_tcp_zc_ethtool_rings_get(
                    &genl, ifindex, &rings, &err));
            state += " split " + ucs::to_string(rings.tcp_data_split) +
                     " hds " + ucs::to_string(rings.hds_thresh);
            state += ucs_status_string(uct_tcp_zc_ethtool_channels_get(
                    &genl, ifindex, &channels, &err));
            state += " rx " + ucs::to_string(channels.rx) + " combined " +
                     ucs::to_string(channels.combined);
            uct_tcp_zc_genl_close(&genl);
        }

        state += ucs_status_string(
                uct_tcp_zc_ethtool_ntuple_enabled(dev.c_str(), &enabled,
                                                  &err));
        return state + " ntuple " + ucs::to_string(enabled);
    }
};


UCS_TEST_F(test_tcp_zc_caps, send_engines_lo)
{
    uct_tcp_zc_caps_t caps;

    ASSERT_UCS_OK(uct_tcp_zc_caps_query("lo", UCT_TCP_ZC_CAPS_SEND, &caps));
    EXPECT_EQ(1, caps.ifindex);

    /* Linux 6.18: MSG_ZEROCOPY, io_uring SENDMSG_ZC and its copied report */
    EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_YES,
              req(caps, UCT_TCP_ZC_REQ_SO_ZEROCOPY).state);
    EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_YES,
              req(caps, UCT_TCP_ZC_REQ_URING_SEND_ZC).state);
    EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_YES,
              req(caps, UCT_TCP_ZC_REQ_URING_REPORT).state);
    EXPECT_TRUE(uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_MSG_ZEROCOPY));
    EXPECT_TRUE(uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_URING));

    /* devmem was not asked for */
    EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_UNKNOWN,
              req(caps, UCT_TCP_ZC_REQ_BIND_RX).state);
    EXPECT_FALSE(uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_DEVMEM_RX));
}

UCS_TEST_F(test_tcp_zc_caps, devmem_lo)
{
    uct_tcp_zc_caps_t caps;

    ASSERT_UCS_OK(uct_tcp_zc_caps_query("lo",
                                        UCT_TCP_ZC_CAPS_DEVMEM |
                                        UCT_TCP_ZC_CAPS_PROBE_BIND,
                                        &caps));

    /* the kernel has the netdev family and its devmem commands */
    EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_YES,
              req(caps, UCT_TCP_ZC_REQ_NETDEV_FAMILY).state);
    EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_YES,
              req(caps, UCT_TCP_ZC_REQ_BIND_RX_OP).state);
    EXPECT_EQ(UCT_TCP_ZC_REQ_STATE_YES,
              req(caps, UCT_TCP_ZC_REQ_BIND_TX_OP).state);

    /* lo has one RX queue, no header split, no ntuple, and its driver no
     * queue management: the kernel refuses to bind */
    EXPECT_EQ(1u, caps.num_rx_queues);
    check_no(caps, UCT_TCP_ZC_REQ_RX_QUEUES);
    check_no(caps, UCT_TCP_ZC_REQ_HEADER_SPLIT);
    check_bind_rx(caps);
    check_no(caps, UCT_TCP_ZC_REQ_BIND_TX);
    EXPECT_NE(std::string::npos,
              std::string(req(caps, UCT_TCP_ZC_REQ_BIND_RX).reason)
                      .find("bind-rx"));
    EXPECT_FALSE(uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_DEVMEM_RX));
    EXPECT_FALSE(uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_DEVMEM_TX));
}

UCS_TEST_F(test_tcp_zc_caps, devmem_veth)
{
    std::string dev = veth();
    uct_tcp_zc_caps_t caps;

    ASSERT_UCS_OK(uct_tcp_zc_caps_query(dev.c_str(),
                                        UCT_TCP_ZC_CAPS_DEVMEM |
                                        UCT_TCP_ZC_CAPS_PROBE_BIND,
                                        &caps));
    check_no(caps, UCT_TCP_ZC_REQ_HEADER_SPLIT);
    check_no(caps, UCT_TCP_ZC_REQ_NTUPLE);
    EXPECT_NE(std::string::npos,
              std::string(req(caps, UCT_TCP_ZC_REQ_NTUPLE).reason)
                      .find("not supported"))
            << req(caps, UCT_TCP_ZC_REQ_NTUPLE).reason;
    check_bind_rx(caps);
    check_no(caps, UCT_TCP_ZC_REQ_BIND_TX);
    EXPECT_FALSE(uct_tcp_zc_caps_path_ok(&caps, UCT_TCP_ZC_PATH_DEVMEM_RX));
}

UCS_TEST_F(test_tcp_zc_caps, no_such_device)
{
    uct_tcp_zc_caps_t caps;

    EXPECT_EQ(UCS_ERR_NO_DEVICE,
              uct_tcp_zc_caps_query("tzc-none0", UCT_TCP_ZC_CAPS_SEND, &caps));
}

/* DEVMEM=y: a device without devmem fails the iface open, and the error
 * names every missing requirement */
UCS_TEST_F(test_tcp_zc_caps, devmem_y_fails_with_reasons)
{
    std::string dev = veth();
    std::string errors;

    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_UNSUPPORTED, open_iface(dev, {{"DEVMEM", "y"}}));
        for (const std::string &e : m_errors) {
            errors += e + "\n";
        }
    }

    EXPECT_NE(std::string::npos, errors.find("devmem is off")) << errors;
    EXPECT_NE(std::string::npos, errors.find("devmem-rx needs header-split"))
            << errors;
    EXPECT_NE(std::string::npos, errors.find("devmem-tx needs bind-tx"))
            << errors;

    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_UNSUPPORTED, open_iface("lo", {{"DEVMEM", "y"}}));
    }
}

/* DEVMEM=auto: the iface opens without devmem; with the setup mode on, a
 * device which refuses the changes is left as it was */
UCS_TEST_F(test_tcp_zc_caps, devmem_auto_setup_leaves_device)
{
    std::string dev    = veth();
    std::string before = device_state(dev);

    ASSERT_UCS_OK(open_iface(dev, {{"DEVMEM", "auto"},
                                   {"DEVMEM_SETUP", "y"}}));
    ASSERT_TRUE(m_iface != NULL);
    EXPECT_TRUE(ucs_derived_of(m_iface, uct_tcp_zc_iface_t)->devmem.setup ==
                NULL);
    close_iface();
    EXPECT_EQ(before, device_state(dev));
}
