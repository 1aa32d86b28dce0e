/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc_xfer.h"

#include <algorithm>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>


/*
 * Connections: one per pair of endpoints, carrying both directions; two
 * endpoints which connect to each other at once end with one connection;
 * CONNECT_TO_EP; a peer of another protocol version is refused with a clear
 * error; requests of both sides never deadlock; an access to memory which is
 * not registered fails that operation only.
 */
class test_tcp_zc_conn : public test_tcp_zc_xfer {
protected:
    /* open TCP connections of an iface */
    size_t num_conns(const peer_t &peer)
    {
        uct_tcp_zc_iface_t *iface = ucs_derived_of(peer.iface,
                                                   uct_tcp_zc_iface_t);
        uct_tcp_zc_conn_t *conn;
        size_t count = 0;

        UCS_ASYNC_BLOCK(m_async);
        ucs_list_for_each(conn, &iface->conn_list, list) {
            count += (conn->fd != -1);
        }
        UCS_ASYNC_UNBLOCK(m_async);
        return count;
    }

    /* an active message from an ep arrives (at the iface of that peer) */
    void check_am(uct_ep_h ep, const std::string &text)
    {
        unsigned count = m_am_count;

        ASSERT_EQ((ssize_t)text.size(), am_bcopy(ep, text.data(),
                                                 text.size()));
        ASSERT_TRUE(wait_for([&]() { return m_am_count > count; }));
        EXPECT_EQ(text, m_am_last);
    }

    uct_ep_h create_p2p_ep(const peer_t &peer)
    {
        uct_ep_params_t params;
        uct_ep_h ep;

        params.field_mask = UCT_EP_PARAM_FIELD_IFACE;
        params.iface      = peer.iface;
        EXPECT_UCS_OK(uct_ep_create(&params, &ep));
        m_eps.push_back(ep);
        return ep;
    }

    struct region_t {
        std::vector<uint8_t> buffer;
        uct_mem_h            memh;
        uct_rkey_bundle_t    rkey;
    };

    void region_init(region_t *r, size_t size, uint8_t fill)
    {
        std::vector<uint8_t> rkey_buffer(256);

        r->buffer.assign(size, fill);
        ASSERT_UCS_OK(uct_md_mem_reg(m_md, &r->buffer[0], size,
                                     UCT_MD_MEM_ACCESS_ALL, &r->memh));
        ASSERT_UCS_OK(uct_md_mkey_pack(m_md, r->memh, &rkey_buffer[0]));
        ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0],
                                      &r->rkey));
    }

    void region_cleanup(region_t *r)
    {
        uct_rkey_release(m_component, &r->rkey);
        uct_md_mem_dereg(m_md, r->memh);
    }

    /* start a PUT or GET zcopy; the completion counts down to 0 */
    void rma_start(rma_func_t func, uct_ep_h ep, region_t *local,
                   region_t *remote, uct_completion_t *comp)
    {
        uct_iov_t iov = make_iov(&local->buffer[0], local->buffer.size(),
                                 local->memh);
        ucs_status_t status;

        comp->func   = completion_cb;
        comp->count  = 1;
        comp->status = UCS_OK;
        while ((status = func(ep, &iov, 1, (uintptr_t)&remote->buffer[0],
                              remote->rkey.rkey, comp)) ==
               UCS_ERR_NO_RESOURCE) {
            progress();
        }
        ASSERT_UCS_OK_OR_INPROGRESS(status);
        if (status == UCS_OK) {
            comp->count = 0;
        }
    }

    /* PUT and GET of 16 MiB each, both ways at once on one pair */
    void check_requests_both_ways()
    {
        static const size_t size = 16 * UCS_MBYTE + 5;
        region_t put_src_s, put_dst_r, get_dst_s, get_src_r;
        region_t put_src_r, put_dst_s, get_dst_r, get_src_s;
        uct_completion_t comp[4];

        uct_ep_h ep_s = create_ep_from(m_sender, m_receiver);
        uct_ep_h ep_r = create_ep_from(m_receiver, m_sender);

        region_init(&put_src_s, size, 0x11);
        region_init(&put_dst_r, size, 0);
        region_init(&get_dst_s, size, 0);
        region_init(&get_src_r, size, 0x22);
        region_init(&put_src_r, size, 0x33);
        region_init(&put_dst_s, size, 0);
        region_init(&get_dst_r, size, 0);
        region_init(&get_src_s, size, 0x44);
        put_src_s.buffer[size - 1] = 0xaa;
        get_src_r.buffer[size - 1] = 0xbb;

        rma_start(uct_ep_put_zcopy, ep_s, &put_src_s, &put_dst_r, &comp[0]);
        rma_start(uct_ep_put_zcopy, ep_r, &put_src_r, &put_dst_s, &comp[1]);
        rma_start(uct_ep_get_zcopy, ep_s, &get_dst_s, &get_src_r, &comp[2]);
        rma_start(uct_ep_get_zcopy, ep_r, &get_dst_r, &get_src_s, &comp[3]);
        ASSERT_TRUE(wait_for([&]() {
            return (comp[0].count == 0) && (comp[1].count == 0) &&
                   (comp[2].count == 0) && (comp[3].count == 0);
        }, 120.0));

        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(UCS_OK, comp[i].status) << i;
        }
        EXPECT_TRUE(put_src_s.buffer == put_dst_r.buffer);
        EXPECT_TRUE(put_src_r.buffer == put_dst_s.buffer);
        EXPECT_TRUE(get_src_r.buffer == get_dst_s.buffer);
        EXPECT_TRUE(get_src_s.buffer == get_dst_r.buffer);
        EXPECT_EQ(1u, num_conns(m_sender));

        region_t *regions[] = {&put_src_s, &put_dst_r, &get_dst_s, &get_src_r,
                               &put_src_r, &put_dst_s, &get_dst_r, &get_src_s};
        for (size_t i = 0; i < ucs_static_array_size(regions); ++i) {
            region_cleanup(regions[i]);
        }
    }

    /* a raw listener which answers a connection with a hello of the given
     * version (0: closes after reading the hello, as a peer of protocol
     * version 1 does); returns its port, the child process in *pid_p */
    uint16_t raw_listener(uint8_t version, pid_t *pid_p)
    {
        struct sockaddr_in addr = {};
        socklen_t len           = sizeof(addr);
        uct_tcp_zc_hello_t hello;
        int lfd;

        lfd                  = socket(AF_INET, SOCK_STREAM, 0);
        addr.sin_family      = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(0, bind(lfd, (struct sockaddr*)&addr, sizeof(addr)));
        EXPECT_EQ(0, listen(lfd, 1));
        EXPECT_EQ(0, getsockname(lfd, (struct sockaddr*)&addr, &len));

        memset(&hello, 0, sizeof(hello));
        hello.magic     = UCT_TCP_ZC_MAGIC;
        hello.version   = version;
        hello.status    = UCT_TCP_ZC_HELLO_ACCEPT;
        hello.sa_family = AF_INET;

        *pid_p = fork();
        if (*pid_p == 0) {
            char buf[sizeof(hello)];
            int fd = accept(lfd, NULL, NULL);
            if ((fd < 0) ||
                (recv(fd, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))) {
                _exit(1);
            }
            if ((version != 0) &&
                (write(fd, &hello, sizeof(hello)) != sizeof(hello))) {
                _exit(1);
            }
            /* a v1 peer reads a bad hello and closes; the other one waits
             * for the test to end it */
            if (version != 0) {
                (void)recv(fd, buf, sizeof(buf), 0);
            }
            _exit(0);
        }

        close(lfd);
        return addr.sin_port;
    }

    /* an ep to a raw listener fails through the error handler, with an
     * error line which says why */
    void check_refused_by(uint8_t version, const std::string &reason)
    {
        uct_tcp_zc_iface_addr_t iface_addr;
        pid_t pid;

        iface_addr.port = raw_listener(version, &pid);
        ASSERT_GT(pid, 0);
        set_err_handler(m_sender.iface);
        {
            scoped_log_handler wrap_err(wrap_errors_logger);
            uct_ep_h ep = create_ep(m_receiver, &iface_addr);

            ASSERT_TRUE(wait_for([&]() { return m_err_count > 0; }, 10.0));
            EXPECT_EQ(UCS_ERR_UNREACHABLE, m_err_status);
            /* nothing was sent to it */
            EXPECT_EQ(UCS_ERR_UNREACHABLE, uct_ep_flush(ep, 0, NULL));
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);

        bool found = false;
        for (size_t i = 0; i < m_errors.size(); ++i) {
            found = found || (m_errors[i].find(reason) != std::string::npos);
        }
        EXPECT_TRUE(found) << "no error line with \"" << reason << "\"";
    }
};


/* Endpoints of two ifaces to each other, the second made after the first
 * connected: both use the first one's connection */
UCS_TEST_F(test_tcp_zc_conn, one_connection_per_pair)
{
    uct_ep_h ep_s = create_ep_from(m_sender, m_receiver);

    check_am(ep_s, "to the receiver");
    EXPECT_EQ(1u, num_conns(m_sender));
    EXPECT_EQ(1u, num_conns(m_receiver));

    uct_ep_h ep_r = create_ep_from(m_receiver, m_sender);
    check_am(ep_r, "to the sender");
    check_am(ep_s, "to the receiver again");
    EXPECT_EQ(1u, num_conns(m_sender));
    EXPECT_EQ(1u, num_conns(m_receiver));
}

/* Both connect to each other at once, several times: one connection per
 * pair of endpoints, whichever side's connection stays, and messages sent
 * before the handshake arrive in order */
UCS_TEST_F(test_tcp_zc_conn, simultaneous_connect)
{
    static const unsigned num_pairs = 8;
    std::vector<uct_ep_h> eps_s, eps_r;

    for (unsigned i = 0; i < num_pairs; ++i) {
        eps_s.push_back(create_ep_from(m_sender, m_receiver));
        eps_r.push_back(create_ep_from(m_receiver, m_sender));
    }

    for (unsigned i = 0; i < num_pairs; ++i) {
        check_am(eps_s[i], "s" + std::to_string(i));
        check_am(eps_r[i], "r" + std::to_string(i));
    }

    EXPECT_EQ(num_pairs, num_conns(m_sender));
    EXPECT_EQ(num_pairs, num_conns(m_receiver));
}

/* CONNECT_TO_EP: two point-to-point endpoints, one connection */
UCS_TEST_F(test_tcp_zc_conn, connect_to_ep)
{
    region_t local, remote;
    uct_completion_t comp;

    ASSERT_TRUE(m_sender.attr.cap.flags & UCT_IFACE_FLAG_CONNECT_TO_EP);
    uct_ep_h ep_s = create_p2p_ep(m_sender);
    uct_ep_h ep_r = create_p2p_ep(m_receiver);
    std::vector<char> addr_s(m_sender.attr.ep_addr_len);
    std::vector<char> addr_r(m_receiver.attr.ep_addr_len);

    ASSERT_UCS_OK(uct_ep_get_address(ep_s, (uct_ep_addr_t*)&addr_s[0]));
    ASSERT_UCS_OK(uct_ep_get_address(ep_r, (uct_ep_addr_t*)&addr_r[0]));
    ASSERT_UCS_OK(uct_ep_connect_to_ep(
            ep_s, (const uct_device_addr_t*)&m_receiver.dev_addr[0],
            (const uct_ep_addr_t*)&addr_r[0]));
    ASSERT_UCS_OK(uct_ep_connect_to_ep(
            ep_r, (const uct_device_addr_t*)&m_sender.dev_addr[0],
            (const uct_ep_addr_t*)&addr_s[0]));

    check_am(ep_s, "p2p to the receiver");
    check_am(ep_r, "p2p to the sender");
    EXPECT_EQ(1u, num_conns(m_sender));
    EXPECT_EQ(1u, num_conns(m_receiver));

    region_init(&local, 3 * UCT_TCP_ZC_RMA_SEG_SIZE + 17, 0x3c);
    region_init(&remote, local.buffer.size(), 0);
    rma_start(uct_ep_put_zcopy, ep_s, &local, &remote, &comp);
    ASSERT_TRUE(wait_for([&]() { return comp.count == 0; }));
    EXPECT_UCS_OK(comp.status);
    EXPECT_TRUE(local.buffer == remote.buffer);
    region_cleanup(&remote);
    region_cleanup(&local);
}

/* Both sides PUT and GET at each other at once, more than the request
 * limit each, over one connection: all complete, the data is right */
UCS_TEST_F(test_tcp_zc_conn, requests_both_ways)
{
    check_requests_both_ways();
}

/* An iov may carry another md's memory handle (UCP 1.13 does so when it
 * replays requests after wireup): tcp_zc never reads it */
UCS_TEST_F(test_tcp_zc_conn, foreign_memh)
{
    static const uct_mem_h foreign[] = {(uct_mem_h)0xdeadbeef,
                                        (uct_mem_h)0x4f6010};
    std::vector<uint8_t> payload(32768, 0x3c);
    region_t local, remote;
    uct_completion_t comp;

    uct_ep_h ep = create_ep_from(m_sender, m_receiver);
    region_init(&local, 200000, 0x6d);
    region_init(&remote, local.buffer.size(), 0);
    for (size_t i = 0; i < ucs_static_array_size(foreign); ++i) {
        uct_iov_t iov = make_iov(&payload[0], payload.size(), foreign[i]);
        unsigned count = m_am_count;
        ucs_status_t status;

        comp.func   = completion_cb;
        comp.count  = 1;
        comp.status = UCS_OK;
        while ((status = uct_ep_am_zcopy(ep, AM_ID, NULL, 0, &iov, 1, 0,
                                         &comp)) == UCS_ERR_NO_RESOURCE) {
            progress();
        }
        ASSERT_UCS_OK_OR_INPROGRESS(status);
        ASSERT_TRUE(wait_for([&]() {
            return (m_am_count > count) &&
                   ((status == UCS_OK) || (comp.count == 0));
        }));

        iov = make_iov(&local.buffer[0], local.buffer.size(), foreign[i]);
        comp.count = 1;
        while ((status = uct_ep_put_zcopy(ep, &iov, 1,
                                          (uintptr_t)&remote.buffer[0],
                                          remote.rkey.rkey, &comp)) ==
               UCS_ERR_NO_RESOURCE) {
            progress();
        }
        ASSERT_UCS_OK_OR_INPROGRESS(status);
        ASSERT_TRUE(wait_for([&]() {
            return (status == UCS_OK) || (comp.count == 0);
        }));
        EXPECT_TRUE(local.buffer == remote.buffer);
    }

    region_cleanup(&local);
    region_cleanup(&remote);
}

/* PUT and GET to a region which was deregistered: those operations fail,
 * the endpoint and its connection go on */
UCS_TEST_F(test_tcp_zc_conn, access_to_unregistered_region)
{
    region_t local, remote;
    uct_completion_t comp;

    set_err_handler(m_sender.iface);
    set_err_handler(m_receiver.iface);
    uct_ep_h ep = create_ep_from(m_sender, m_receiver);

    region_init(&local, UCT_TCP_ZC_RMA_SEG_SIZE * 2, 0x5a);
    region_init(&remote, local.buffer.size(), 0);
    ASSERT_UCS_OK(uct_md_mem_dereg(m_md, remote.memh));

    rma_func_t funcs[] = {uct_ep_put_zcopy, uct_ep_get_zcopy};
    for (size_t i = 0; i < ucs_static_array_size(funcs); ++i) {
        rma_start(funcs[i], ep, &local, &remote, &comp);
        ASSERT_TRUE(wait_for([&]() { return comp.count == 0; }));
        EXPECT_EQ(UCS_ERR_INVALID_ADDR, comp.status) << i;
        check_am(ep, "still connected");
    }

    EXPECT_EQ(0, std::count(remote.buffer.begin(), remote.buffer.end(),
                            0x5a));
    EXPECT_EQ(0u, m_err_count);
    uct_rkey_release(m_component, &remote.rkey);
    region_cleanup(&local);
}

/* One endpoint of a pair goes: the other one goes on using the connection;
 * when it goes too, the connection closes */
UCS_TEST_F(test_tcp_zc_conn, ep_destroy_keeps_peer)
{
    uct_ep_h ep_s = create_ep_from(m_sender, m_receiver);
    uct_ep_h ep_r = create_ep_from(m_receiver, m_sender);

    set_err_handler(m_receiver.iface);
    check_am(ep_s, "before");
    check_am(ep_r, "before");
    flush_ep(ep_s);

    uct_ep_destroy(ep_s);
    m_eps.erase(std::find(m_eps.begin(), m_eps.end(), ep_s));
    for (int i = 0; i < 100; ++i) {
        progress();
    }

    check_am(ep_r, "after the peer's endpoint went");
    EXPECT_EQ(1u, num_conns(m_receiver));
    EXPECT_EQ(0u, m_err_count);

    flush_ep(ep_r);
    uct_ep_destroy(ep_r);
    m_eps.erase(std::find(m_eps.begin(), m_eps.end(), ep_r));
    EXPECT_TRUE(wait_for([&]() {
        return (num_conns(m_sender) == 0) && (num_conns(m_receiver) == 0);
    }));
}

/* A peer of another protocol version, on either side, is refused with a
 * clear error */
UCS_TEST_F(test_tcp_zc_conn, version_refused_by_listener)
{
    uct_tcp_zc_hello_t hello;

    scoped_log_handler wrap_err(wrap_errors_logger);
    int fd = raw_connect(true, 1);
    ASSERT_TRUE(raw_recv(fd, &hello, sizeof(hello)));
    EXPECT_EQ(UCT_TCP_ZC_MAGIC, hello.magic);
    EXPECT_EQ(UCT_TCP_ZC_VERSION, hello.version);
    EXPECT_EQ(UCT_TCP_ZC_HELLO_REJECT_VERSION, hello.status);
    EXPECT_TRUE(wait_closed(fd));
    close(fd);

    bool found = false;
    for (size_t i = 0; i < m_errors.size(); ++i) {
        found = found || (m_errors[i].find("protocol version 1") !=
                          std::string::npos);
    }
    EXPECT_TRUE(found);

    /* and the iface goes on */
    check_am(create_ep(m_receiver), "after a refused peer");
}

UCS_TEST_F(test_tcp_zc_conn, version_refused_by_peer)
{
    check_refused_by(UCT_TCP_ZC_VERSION + 1, "protocol version " +
                     std::to_string(UCT_TCP_ZC_VERSION + 1));
}

UCS_TEST_F(test_tcp_zc_conn, old_peer_closes_at_hello)
{
    check_refused_by(0, "another protocol version");
}

/* Short and bcopy messages which the socket does not take at once wait in
 * descriptors of their full size, and all arrive (a descriptor of headers
 * only held them before: an assertion, or an overflow in a release build) */
UCS_TEST_F(test_tcp_zc_conn, bcopy_queued)
{
    std::vector<char> data(m_sender.attr.cap.am.max_bcopy, 'q');
    std::vector<uint8_t> put_data(m_sender.attr.cap.put.max_bcopy, 0x6b);
    pack_arg_t pack     = {&data[0], data.size()};
    pack_arg_t put_pack = {&put_data[0], put_data.size()};
    region_t remote;
    unsigned sent;
    ssize_t ret;

    uct_ep_h ep = create_ep_from(m_sender, m_receiver);
    check_am(ep, "connected");
    region_init(&remote, put_data.size(), 0);

    for (int put = 0; put <= 1; ++put) {
        /* the receiver is not progressed: the socket fills */
        uct_iface_progress_disable(m_receiver.iface,
                                   UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
        unsigned count = m_am_count;
        for (sent = 0; sent < 100000; ++sent) {
            ret = put ? uct_ep_put_bcopy(ep, pack_cb, &put_pack,
                                         (uintptr_t)&remote.buffer[0],
                                         remote.rkey.rkey) :
                        uct_ep_am_bcopy(ep, AM_ID, pack_cb, &pack, 0);
            if (ret < 0) {
                ASSERT_EQ(UCS_ERR_NO_RESOURCE, ret);
                break;
            }
        }
        UCS_TEST_MESSAGE << sent << (put ? " PUTs" : " active messages")
                         << " sent before the socket was full";

        uct_iface_progress_enable(m_receiver.iface,
                                  UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
        flush_ep(ep);
        if (put) {
            EXPECT_TRUE(put_data == remote.buffer);
        } else {
            ASSERT_TRUE(wait_for([&]() {
                return m_am_count == count + sent;
            }));
            EXPECT_EQ(std::string(data.begin(), data.end()), m_am_last);
        }
    }

    region_cleanup(&remote);
}

/* A PUT or GET sent as several messages completes the user's completion
 * once and leaves its count alone meanwhile: ucx_perftest counts its
 * outstanding operations in one shared completion (it asserted, at 1 MiB) */
UCS_TEST_F(test_tcp_zc_conn, rma_parts_complete_once)
{
    region_t local, remote;
    uct_completion_t comp;

    uct_ep_h ep = create_ep_from(m_sender, m_receiver);
    region_init(&local, 4 * UCT_TCP_ZC_RMA_SEG_SIZE + 3, 0x21);
    region_init(&remote, local.buffer.size(), 0);

    rma_func_t funcs[] = {uct_ep_put_zcopy, uct_ep_get_zcopy};
    for (size_t i = 0; i < ucs_static_array_size(funcs); ++i) {
        uct_iov_t iov = make_iov(&local.buffer[0], local.buffer.size(),
                                 local.memh);
        ucs_status_t status;

        /* one operation outstanding besides this one, as perftest has */
        comp.func   = completion_cb;
        comp.count  = 2;
        comp.status = UCS_OK;
        while ((status = funcs[i](ep, &iov, 1, (uintptr_t)&remote.buffer[0],
                                  remote.rkey.rkey, &comp)) ==
               UCS_ERR_NO_RESOURCE) {
            progress();
        }
        ASSERT_EQ(UCS_INPROGRESS, status);
        EXPECT_EQ(2, comp.count);
        ASSERT_TRUE(wait_for([&]() { return comp.count < 2; }));
        for (int j = 0; j < 100; ++j) {
            progress();
        }
        EXPECT_EQ(1, comp.count) << i;
        EXPECT_EQ(UCS_OK, comp.status);
    }

    EXPECT_TRUE(local.buffer == remote.buffer);
    region_cleanup(&remote);
    region_cleanup(&local);
}


/*
 * Data connections (UCX_TCP_ZC_DATA_CONN=y): PUT data of 4 KiB or more go
 * on a payload-only connection to the peer's data port, in the order of
 * their headers on the connection; the rest stays on the connection.
 */
class test_tcp_zc_data_conn : public test_tcp_zc_conn {
protected:
    test_tcp_zc_data_conn() : m_peers(0), m_receiver_dc("y")
    {
    }

    virtual config_map_t peer_config() const
    {
        config_map_t config = test_tcp_zc_conn::peer_config();

        /* the sender opens first, then the receiver */
        config["DATA_CONN"] = ((m_peers++ % 2) == 0) ? "y" : m_receiver_dc;
        return config;
    }

    static uint64_t counter(const peer_t &peer, int index)
    {
        return ucs_derived_of(peer.iface, uct_tcp_zc_iface_t)->zc.counters[
                index];
    }

    /* bytes which went on data connections, sent and received */
    static uint64_t dc_tx(const peer_t &peer)
    {
        return counter(peer, UCT_TCP_ZC_IFACE_STAT_DC_TX_BYTES);
    }

    static uint64_t dc_rx(const peer_t &peer)
    {
        return counter(peer, UCT_TCP_ZC_IFACE_STAT_DC_RX_BYTES);
    }

    void put(uct_ep_h ep, region_t *local, region_t *remote)
    {
        uct_completion_t comp;

        rma_start(uct_ep_put_zcopy, ep, local, remote, &comp);
        ASSERT_TRUE(wait_for([&]() { return comp.count == 0; }, 60.0));
        EXPECT_EQ(UCS_OK, comp.status);
    }

    mutable unsigned m_peers;
    std::string      m_receiver_dc;
};


/* PUTs of many sizes, with active messages between them: every byte
 * arrives, in order with the messages, and the data of 4 KiB and more came
 * on the data connection */
UCS_TEST_F(test_tcp_zc_data_conn, put_in_order)
{
    static const size_t sizes[] = {1, 4095, 4096, 100003,
                                   3 * UCT_TCP_ZC_RMA_SEG_SIZE + 7};
    uint64_t on_dc = 0;

    uct_ep_h ep = create_ep_from(m_sender, m_receiver);
    check_am(ep, "before");
    for (size_t i = 0; i < ucs_static_array_size(sizes); ++i) {
        region_t local, remote;

        region_init(&local, sizes[i], 0);
        region_init(&remote, sizes[i], 0);
        for (size_t j = 0; j < sizes[i]; ++j) {
            local.buffer[j] = (uint8_t)(j * 7 + i);
        }

        put(ep, &local, &remote);
        EXPECT_TRUE(local.buffer == remote.buffer) << sizes[i];
        on_dc += (sizes[i] >= 4096) ? sizes[i] : 0;
        EXPECT_EQ(on_dc, dc_tx(m_sender)) << sizes[i];
        EXPECT_EQ(on_dc, dc_rx(m_receiver)) << sizes[i];
        check_am(ep, "after " + std::to_string(sizes[i]));
        region_cleanup(&local);
        region_cleanup(&remote);
    }

    EXPECT_EQ(1u, num_conns(m_sender));
}

/* Many PUTs at once, more than the requests which may wait for an answer:
 * their data go on the data connection as their headers start */
UCS_TEST_F(test_tcp_zc_data_conn, many_puts)
{
    static const unsigned count = 600;
    static const size_t size    = 8192 + 3;
    std::vector<uct_completion_t> comps(count);
    std::vector<region_t> local(count), remote(count);

    uct_ep_h ep = create_ep_from(m_sender, m_receiver);
    check_am(ep, "connected");
    for (unsigned i = 0; i < count; ++i) {
        region_init(&local[i], size, (uint8_t)i);
        region_init(&remote[i], size, 0);
        local[i].buffer[size - 1] = (uint8_t)(i * 3);
        rma_start(uct_ep_put_zcopy, ep, &local[i], &remote[i], &comps[i]);
    }

    ASSERT_TRUE(wait_for([&]() {
        for (unsigned i = 0; i < count; ++i) {
            if (comps[i].count != 0) {
                return false;
            }
        }
        return true;
    }, 60.0));

    for (unsigned i = 0; i < count; ++i) {
        EXPECT_EQ(UCS_OK, comps[i].status) << i;
        EXPECT_TRUE(local[i].buffer == remote[i].buffer) << i;
        region_cleanup(&local[i]);
        region_cleanup(&remote[i]);
    }
    EXPECT_EQ(count * size, dc_rx(m_receiver));
}

/* PUT and GET of 16 MiB both ways at once: each side's data connection
 * carries its PUT data and its answers to the peer's GET, nothing
 * deadlocks */
UCS_TEST_F(test_tcp_zc_data_conn, requests_both_ways)
{
    check_requests_both_ways();
    /* the last 5 bytes of the GET are a message of their own, too small
     * for the data connection */
    EXPECT_EQ(2 * (16 * UCS_MBYTE + 5) - 5, dc_rx(m_receiver));
    EXPECT_EQ(2 * (16 * UCS_MBYTE + 5) - 5, dc_rx(m_sender));
}

/* GETs of many sizes, with PUTs and active messages between them: the
 * answers with data on the data connection keep their order with the PUT
 * data there */
UCS_TEST_F(test_tcp_zc_data_conn, get_in_order)
{
    static const size_t sizes[] = {1, 4096, 100003,
                                   2 * UCT_TCP_ZC_RMA_SEG_SIZE + 11};
    std::vector<uct_completion_t> comps(2 * ucs_static_array_size(sizes));
    std::vector<region_t> local(comps.size()), remote(comps.size());

    uct_ep_h ep = create_ep_from(m_sender, m_receiver);
    check_am(ep, "connected");
    for (size_t i = 0; i < comps.size(); ++i) {
        size_t size = sizes[i / 2];
        bool get    = (i % 2) == 0;

        region_init(&local[i], size, get ? 0 : (uint8_t)(i + 1));
        region_init(&remote[i], size, get ? (uint8_t)(i + 7) : 0);
        rma_start(get ? uct_ep_get_zcopy : uct_ep_put_zcopy, ep, &local[i],
                  &remote[i], &comps[i]);
    }

    ASSERT_TRUE(wait_for([&]() {
        for (size_t i = 0; i < comps.size(); ++i) {
            if (comps[i].count != 0) {
                return false;
            }
        }
        return true;
    }, 60.0));

    for (size_t i = 0; i < comps.size(); ++i) {
        EXPECT_EQ(UCS_OK, comps[i].status) << i;
        EXPECT_TRUE(local[i].buffer == remote[i].buffer) << i;
        region_cleanup(&local[i]);
        region_cleanup(&remote[i]);
    }
    check_am(ep, "after");
}

/* A PUT into a region which is not registered: its data are dropped from
 * the data connection, the PUT fails, and the next one arrives */
UCS_TEST_F(test_tcp_zc_data_conn, put_to_unregistered_region)
{
    region_t local, remote, other;
    uct_completion_t comp;

    set_err_handler(m_sender.iface);
    uct_ep_h ep = create_ep_from(m_sender, m_receiver);

    region_init(&local, 2 * UCT_TCP_ZC_RMA_SEG_SIZE + 9, 0x5a);
    region_init(&remote, local.buffer.size(), 0);
    region_init(&other, local.buffer.size(), 0);
    ASSERT_UCS_OK(uct_md_mem_dereg(m_md, remote.memh));

    rma_start(uct_ep_put_zcopy, ep, &local, &remote, &comp);
    ASSERT_TRUE(wait_for([&]() { return comp.count == 0; }));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, comp.status);
    EXPECT_EQ(0, std::count(remote.buffer.begin(), remote.buffer.end(),
                            0x5a));

    put(ep, &local, &other);
    EXPECT_TRUE(local.buffer == other.buffer);
    check_am(ep, "still connected");
    EXPECT_EQ(0u, m_err_count);
    EXPECT_EQ(2 * local.buffer.size(), dc_rx(m_receiver));

    uct_rkey_release(m_component, &remote.rkey);
    region_cleanup(&local);
    region_cleanup(&other);
}

/* A peer without a data port gets the data on the connection */
UCS_TEST_F(test_tcp_zc_data_conn, peer_without_data_port)
{
    region_t local, remote;

    uct_iface_close(m_receiver.iface);
    m_receiver_dc = "n";
    m_peers       = 1;
    open_peer(&m_receiver);

    uct_ep_h ep = create_ep_from(m_sender, m_receiver);
    region_init(&local, 300000, 0x77);
    region_init(&remote, local.buffer.size(), 0);
    check_am(ep, "connected");
    put(ep, &local, &remote);
    EXPECT_TRUE(local.buffer == remote.buffer);
    EXPECT_EQ(0u, dc_tx(m_sender));
    region_cleanup(&local);
    region_cleanup(&remote);
}
