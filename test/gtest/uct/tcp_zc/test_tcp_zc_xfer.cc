/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

extern "C" {
#include <uct/tcp_zc/tcp_zc.h>
#include <ucs/async/async.h>
#include <ucs/time/time.h>
}

#include <arpa/inet.h>
#include <cmath>
#include <set>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>


/**
 * Transfers between two tcp_zc ifaces on lo, over real sockets: data
 * integrity, many endpoints, and what happens with broken or malicious peers.
 */
class test_tcp_zc_xfer : public test_tcp_zc_base {
protected:
    struct peer_t {
        uct_iface_h       iface;
        uct_iface_attr_t  attr;
        std::vector<char> dev_addr;
        std::vector<char> iface_addr;
    };

    virtual void init()
    {
        test_tcp_zc_base::init();
        ASSERT_UCS_OK(open_md());
        m_am_count   = 0;
        m_am_bytes   = 0;
        m_err_count  = 0;
        m_err_status = UCS_OK;
        open_peer(&m_sender);
        open_peer(&m_receiver);
    }

    virtual void cleanup()
    {
        for (size_t i = 0; i < m_eps.size(); ++i) {
            uct_ep_destroy(m_eps[i]);
        }
        m_eps.clear();
        uct_iface_close(m_sender.iface);
        uct_iface_close(m_receiver.iface);
        test_tcp_zc_base::cleanup();
    }

    void open_peer(peer_t *peer, const std::string &dev_name = "lo")
    {
        config_map_t config;

        config["MAX_NUM_EPS"] = "inf";
        ASSERT_UCS_OK(open_iface(dev_name, config));
        peer->iface = m_iface;
        m_iface     = NULL;

        ASSERT_UCS_OK(uct_iface_query(peer->iface, &peer->attr));
        peer->dev_addr.resize(peer->attr.device_addr_len);
        peer->iface_addr.resize(peer->attr.iface_addr_len);
        ASSERT_UCS_OK(uct_iface_get_device_address(
                peer->iface, (uct_device_addr_t*)&peer->dev_addr[0]));
        ASSERT_UCS_OK(uct_iface_get_address(
                peer->iface, (uct_iface_addr_t*)&peer->iface_addr[0]));
        ASSERT_UCS_OK(uct_iface_set_am_handler(peer->iface, AM_ID, am_handler,
                                               this, 0));
        uct_iface_progress_enable(peer->iface,
                                  UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
    }

    uct_ep_h create_ep(const peer_t &to, const void *iface_addr = NULL)
    {
        uct_ep_params_t params;
        uct_ep_h ep;

        params.field_mask = UCT_EP_PARAM_FIELD_IFACE |
                            UCT_EP_PARAM_FIELD_DEV_ADDR |
                            UCT_EP_PARAM_FIELD_IFACE_ADDR;
        params.iface      = m_sender.iface;
        params.dev_addr   = (const uct_device_addr_t*)&to.dev_addr[0];
        params.iface_addr = (const uct_iface_addr_t*)(
                (iface_addr != NULL) ? iface_addr : &to.iface_addr[0]);
        EXPECT_UCS_OK(uct_ep_create(&params, &ep));
        m_eps.push_back(ep);
        return ep;
    }

    void set_err_handler(uct_iface_h iface)
    {
        uct_base_iface_t *base = ucs_derived_of(iface, uct_base_iface_t);

        base->err_handler     = err_handler;
        base->err_handler_arg = this;
    }

    unsigned progress()
    {
        unsigned count = uct_worker_progress(m_worker);

        ucs_async_check_miss(m_async);
        return count;
    }

    /* progress until cond() or the timeout; returns cond() */
    template <typename Cond>
    bool wait_for(Cond cond, double timeout_sec = 30.0)
    {
        ucs_time_t deadline = ucs_get_time() +
                              ucs_time_from_sec(timeout_sec);

        while (!cond() && (ucs_get_time() < deadline)) {
            if (progress() == 0) {
                sched_yield();
            }
        }

        return cond();
    }

    void flush_ep(uct_ep_h ep)
    {
        uct_completion_t comp;
        ucs_status_t status;

        comp.func   = completion_cb;
        comp.count  = 1;
        comp.status = UCS_OK;
        do {
            status = uct_ep_flush(ep, 0, &comp);
            if (status == UCS_ERR_NO_RESOURCE) {
                progress();
            }
        } while (status == UCS_ERR_NO_RESOURCE);

        if (status == UCS_INPROGRESS) {
            ASSERT_TRUE(wait_for([&]() { return comp.count == 0; }));
            status = comp.status;
        }
        ASSERT_UCS_OK(status);
    }

    static void completion_cb(uct_completion_t *comp)
    {
    }

    typedef ucs_status_t (*rma_func_t)(uct_ep_h ep, const uct_iov_t *iov,
                                       size_t iovcnt, uint64_t remote_addr,
                                       uct_rkey_t rkey,
                                       uct_completion_t *comp);

    /* PUT or GET zero-copy of one buffer, waiting for its completion */
    void rma_zcopy(rma_func_t func, uct_ep_h ep, void *buffer, size_t length,
                   uct_mem_h memh, void *remote, uct_rkey_t rkey)
    {
        uct_completion_t comp;
        ucs_status_t status;
        uct_iov_t iov;

        iov.buffer  = buffer;
        iov.length  = length;
        iov.memh    = memh;
        iov.stride  = 0;
        iov.count   = 1;
        comp.func   = completion_cb;
        comp.count  = 1;
        comp.status = UCS_OK;
        while ((status = func(ep, &iov, 1, (uintptr_t)remote, rkey, &comp)) ==
               UCS_ERR_NO_RESOURCE) {
            progress();
        }

        ASSERT_UCS_OK_OR_INPROGRESS(status);
        if (status == UCS_INPROGRESS) {
            ASSERT_TRUE(wait_for([&]() { return comp.count == 0; }));
        }
        ASSERT_UCS_OK(comp.status);
    }

    static uint64_t checksum(const void *buffer, size_t length)
    {
        const uint8_t *p = (const uint8_t*)buffer;
        uint64_t hash    = 1469598103934665603ull; /* FNV-1a */

        for (size_t i = 0; i < length; ++i) {
            hash = (hash ^ p[i]) * 1099511628211ull;
        }
        return hash;
    }

    static void fill_random(std::vector<uint8_t> &buffer, size_t length)
    {
        for (size_t i = 0; i < length; ++i) {
            buffer[i] = ucs::rand();
        }
    }

    static ucs_status_t am_handler(void *arg, void *data, size_t length,
                                   unsigned flags)
    {
        test_tcp_zc_xfer *self = (test_tcp_zc_xfer*)arg;

        self->m_am_count++;
        self->m_am_bytes += length;
        self->m_am_last.assign((const char*)data, (const char*)data + length);
        return UCS_OK;
    }

    static ucs_status_t err_handler(void *arg, uct_ep_h ep,
                                    ucs_status_t status)
    {
        test_tcp_zc_xfer *self = (test_tcp_zc_xfer*)arg;

        self->m_err_count++;
        self->m_err_status = status;
        return UCS_OK;
    }

    struct pack_arg_t {
        const void *data;
        size_t     length;
    };

    static size_t pack_cb(void *dest, void *arg)
    {
        pack_arg_t *pack = (pack_arg_t*)arg;

        memcpy(dest, pack->data, pack->length);
        return pack->length;
    }

    ssize_t am_bcopy(uct_ep_h ep, const void *data, size_t length)
    {
        pack_arg_t pack = {data, length};
        ssize_t ret;

        while ((ret = uct_ep_am_bcopy(ep, AM_ID, pack_cb, &pack, 0)) ==
               UCS_ERR_NO_RESOURCE) {
            progress();
        }
        return ret;
    }

    /* A raw TCP connection to the receiver's listener, which introduces
     * itself with a hello, valid or not */
    int raw_connect(bool valid_hello = true)
    {
        struct sockaddr_in addr = {};
        uct_tcp_zc_hello_t hello;
        uint16_t port;
        int fd;

        memcpy(&port, &m_receiver.iface_addr[0], sizeof(port));
        fd = socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_GE(fd, 0);
        addr.sin_family      = AF_INET;
        addr.sin_port        = port;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(0, connect(fd, (struct sockaddr*)&addr, sizeof(addr)));

        memset(&hello, 0, sizeof(hello));
        hello.magic     = valid_hello ? UCT_TCP_ZC_MAGIC : 0x1234;
        hello.version   = UCT_TCP_ZC_VERSION;
        hello.sa_family = AF_INET;
        EXPECT_EQ((ssize_t)sizeof(hello), send(fd, &hello, sizeof(hello), 0));
        return fd;
    }

    /* progress until the receiver closed the raw connection */
    bool wait_closed(int fd)
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        ssize_t ret;
        char c;

        return wait_for([&]() {
            ret = recv(fd, &c, 1, MSG_DONTWAIT);
            return (ret == 0) || ((ret < 0) && (errno != EAGAIN));
        }, 10.0);
    }

    static const uint8_t AM_ID = 7;

    peer_t                 m_sender;
    peer_t                 m_receiver;
    std::vector<uct_ep_h>  m_eps;
    unsigned               m_am_count;
    size_t                 m_am_bytes;
    std::string            m_am_last;
    unsigned               m_err_count;
    ucs_status_t           m_err_status;
};


/*
 * Random sizes from 1 B to 64 MiB: active messages up to the segment size,
 * PUT and GET zero-copy above it; every transfer checked by a checksum.
 */
UCS_TEST_F(test_tcp_zc_xfer, data_integrity)
{
    static const size_t max_size = 64 * UCS_MBYTE;
    const size_t seg_size        = m_sender.attr.cap.am.max_bcopy;
    std::vector<uint8_t> src(max_size), dst(max_size), back(max_size);
    uct_mem_h src_memh, dst_memh, back_memh;
    std::vector<uint8_t> rkey_buffer(256);
    uct_rkey_bundle_t rkey;
    unsigned i, num_puts = 0;
    uct_ep_h ep = create_ep(m_receiver);

    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &src[0], max_size,
                                 UCT_MD_MEM_ACCESS_ALL, &src_memh));
    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &dst[0], max_size,
                                 UCT_MD_MEM_ACCESS_ALL, &dst_memh));
    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &back[0], max_size,
                                 UCT_MD_MEM_ACCESS_ALL, &back_memh));
    ASSERT_UCS_OK(uct_md_mkey_pack(m_md, dst_memh, &rkey_buffer[0]));
    ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0], &rkey));

    for (i = 0; i < 40; ++i) {
        /* log-uniform in [1, 64 MiB], plus both ends */
        size_t size = (i == 0) ? 1 : (i == 1) ? max_size :
                      (size_t)pow(2.0, (ucs::rand() % 2600) / 100.0);
        size = ucs_max(ucs_min(size, max_size), (size_t)1);
        fill_random(src, size);
        uint64_t sum = checksum(&src[0], size);

        if (size <= seg_size) {
            unsigned count = m_am_count;
            ASSERT_EQ((ssize_t)size, am_bcopy(ep, &src[0], size));
            ASSERT_TRUE(wait_for([&]() { return m_am_count > count; }));
            ASSERT_EQ(size, m_am_last.size());
            EXPECT_EQ(sum, checksum(m_am_last.data(), size)) << size;
            continue;
        }

        /* PUT into the receiver's region, at an offset; its completion
         * means the data is in the target memory */
        size_t offset = ucs::rand() % (max_size - size + 1);
        rma_zcopy(uct_ep_put_zcopy, ep, &src[0], size, src_memh,
                  &dst[offset], rkey.rkey);
        EXPECT_EQ(sum, checksum(&dst[offset], size)) << "put " << size;

        /* GET it back */
        rma_zcopy(uct_ep_get_zcopy, ep, &back[0], size, back_memh,
                  &dst[offset], rkey.rkey);
        EXPECT_EQ(sum, checksum(&back[0], size)) << "get " << size;
        ++num_puts;
    }

    EXPECT_GT(num_puts, 0u);
    flush_ep(ep);
    EXPECT_EQ(0u, m_err_count);

    uct_rkey_release(m_component, &rkey);
    uct_md_mem_dereg(m_md, src_memh);
    uct_md_mem_dereg(m_md, dst_memh);
    uct_md_mem_dereg(m_md, back_memh);
}

/* 1000 endpoints at once, each delivering its own message */
UCS_TEST_F(test_tcp_zc_xfer, many_eps)
{
    static const unsigned num_eps = 1000;
    struct rlimit nofile;
    std::set<std::string> received;
    unsigned i;

    /* each endpoint holds two sockets in this process: its own and the
     * accepted one */
    ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &nofile));
    if (nofile.rlim_max < 3 * num_eps) {
        UCS_TEST_SKIP_R("RLIMIT_NOFILE hard limit is below " +
                        ucs::to_string(3 * num_eps));
    }
    nofile.rlim_cur = ucs_max(nofile.rlim_cur, (rlim_t)(3 * num_eps));
    ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &nofile));

    for (i = 0; i < num_eps; ++i) {
        create_ep(m_receiver);
    }

    for (i = 0; i < num_eps; ++i) {
        std::string msg = "ep " + ucs::to_string(i);
        ASSERT_EQ((ssize_t)msg.size(), am_bcopy(m_eps[i], msg.data(),
                                                msg.size()));
    }

    ASSERT_TRUE(wait_for([&]() { return m_am_count == num_eps; }, 60.0))
            << m_am_count << " of " << num_eps << " messages arrived";
    for (i = 0; i < num_eps; ++i) {
        flush_ep(m_eps[i]);
    }
    EXPECT_EQ(0u, m_err_count);
}

/* An endpoint to a port nobody listens on fails through the error handler */
UCS_TEST_F(test_tcp_zc_xfer, connect_closed_port)
{
    struct sockaddr_in addr = {};
    socklen_t len           = sizeof(addr);
    uct_tcp_zc_iface_addr_t iface_addr;
    int fd;

    /* a port which was free a moment ago */
    fd                   = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family      = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(0, bind(fd, (struct sockaddr*)&addr, sizeof(addr)));
    ASSERT_EQ(0, getsockname(fd, (struct sockaddr*)&addr, &len));
    close(fd);
    iface_addr.port = addr.sin_port;

    set_err_handler(m_sender.iface);
    uct_ep_h ep = create_ep(m_receiver, &iface_addr);

    ASSERT_TRUE(wait_for([&]() { return m_err_count > 0; }, 10.0));
    EXPECT_EQ(1u, m_err_count);
    EXPECT_EQ(UCS_ERR_UNREACHABLE, m_err_status);

    /* the failed endpoint refuses operations and flush */
    EXPECT_EQ(UCS_ERR_UNREACHABLE, am_bcopy(ep, "x", 1));
    EXPECT_EQ(UCS_ERR_UNREACHABLE, uct_ep_flush(ep, 0, NULL));
    EXPECT_EQ(UCS_ERR_BUSY, uct_ep_pending_add(ep, NULL, 0));
}

/*
 * A raw socket peer sends a malformed header: the receiver drops that
 * connection only, and keeps serving others.
 */
UCS_TEST_F(test_tcp_zc_xfer, malformed_header)
{
    static const struct {
        const char      *name;
        uct_tcp_zc_hdr_t hdr;
    } bad[] = {
        {"unknown type", {99, 0, UCT_TCP_ZC_VERSION, 0, 0}},
        {"wrong version", {UCT_TCP_ZC_MSG_AM, 0, 77, 0, 0}},
        {"oversized AM", {UCT_TCP_ZC_MSG_AM, 0, UCT_TCP_ZC_VERSION, 0,
                          0x7fffffff}},
        {"answer on a request stream", {UCT_TCP_ZC_MSG_PUT_ACK, 0,
                                        UCT_TCP_ZC_VERSION, 0, 0}}
    };
    int fd;

    for (size_t i = 0; i < ucs_static_array_size(bad); ++i) {
        fd = raw_connect();
        ASSERT_EQ((ssize_t)sizeof(bad[i].hdr),
                  send(fd, &bad[i].hdr, sizeof(bad[i].hdr), 0));
        EXPECT_TRUE(wait_closed(fd)) << bad[i].name;
        close(fd);
    }

    /* a connection which does not start with a valid hello */
    fd = raw_connect(false);
    EXPECT_TRUE(wait_closed(fd)) << "invalid hello";
    close(fd);

    EXPECT_EQ(0u, m_am_count);

    /* the iface still works */
    uct_ep_h ep = create_ep(m_receiver);
    ASSERT_EQ(5, am_bcopy(ep, "hello", 5));
    ASSERT_TRUE(wait_for([&]() { return m_am_count == 1; }));
    EXPECT_EQ("hello", m_am_last);
}

/*
 * A raw socket peer asks to PUT outside of any registered region: the
 * connection is dropped and the memory is untouched.
 */
UCS_TEST_F(test_tcp_zc_xfer, put_outside_registration)
{
    std::vector<uint8_t> buffer(4096, 0x5a);
    uct_mem_h memh;

    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &buffer[0], buffer.size(),
                                 UCT_MD_MEM_ACCESS_ALL, &memh));
    uint64_t key = ((uct_tcp_zc_memh_t*)memh)->key;

    struct {
        uct_tcp_zc_hdr_t     hdr;
        uct_tcp_zc_rma_hdr_t rma;
        uint8_t              data[64];
    } req;

    memset(&req, 0, sizeof(req));
    req.hdr.type    = UCT_TCP_ZC_MSG_PUT;
    req.hdr.version = UCT_TCP_ZC_VERSION;
    req.hdr.length  = sizeof(req.data);
    req.rma.key     = key;
    req.rma.length  = sizeof(req.data);
    /* overlaps the end of the registered region */
    req.rma.address = (uintptr_t)&buffer[buffer.size() - 32];

    int fd = raw_connect();
    ASSERT_EQ((ssize_t)sizeof(req), send(fd, &req, sizeof(req), 0));
    EXPECT_TRUE(wait_closed(fd));
    close(fd);

    for (size_t i = 0; i < buffer.size(); ++i) {
        ASSERT_EQ(0x5a, buffer[i]) << "offset " << i;
    }
    uct_md_mem_dereg(m_md, memh);
}

/*
 * The peer process is killed while data flows to it: the endpoint reports
 * the failure through the error handler, and nothing hangs.
 */
UCS_TEST_F(test_tcp_zc_xfer, peer_killed)
{
    std::vector<char> data(m_sender.attr.cap.am.max_bcopy, 'k');
    uct_tcp_zc_iface_addr_t iface_addr;
    struct sockaddr_in addr = {};
    socklen_t len           = sizeof(addr);
    int sync_pipe[2];
    pid_t pid;

    /* the peer: a process which accepts one connection and reads slowly */
    int lfd              = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family      = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(0, bind(lfd, (struct sockaddr*)&addr, sizeof(addr)));
    ASSERT_EQ(0, listen(lfd, 1));
    ASSERT_EQ(0, getsockname(lfd, (struct sockaddr*)&addr, &len));
    ASSERT_EQ(0, pipe(sync_pipe));

    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        char buf[4096];
        int fd = accept(lfd, NULL, NULL);
        if ((fd < 0) || (write(sync_pipe[1], "a", 1) != 1)) {
            _exit(1);
        }
        for (int i = 0; i < 10000; ++i) {
            if (recv(fd, buf, sizeof(buf), 0) <= 0) {
                break;
            }
            usleep(1000);
        }
        _exit(0);
    }

    close(lfd);
    close(sync_pipe[1]);
    iface_addr.port = addr.sin_port;
    set_err_handler(m_sender.iface);
    uct_ep_h ep = create_ep(m_receiver, &iface_addr);

    char c;
    ASSERT_EQ(1, read(sync_pipe[0], &c, 1));
    close(sync_pipe[0]);

    /* send until the socket is full, then kill the peer mid-transfer */
    pack_arg_t pack     = {&data[0], data.size()};
    ucs_time_t deadline = ucs_get_time() + ucs_time_from_sec(5.0);
    unsigned sent       = 0;
    ssize_t ret;
    while ((sent < 200) && (ucs_get_time() < deadline)) {
        ret = uct_ep_am_bcopy(ep, AM_ID, pack_cb, &pack, 0);
        if (ret > 0) {
            ++sent;
        } else {
            ASSERT_EQ(UCS_ERR_NO_RESOURCE, ret);
            progress();
        }
    }
    EXPECT_GT(sent, 0u);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    ASSERT_TRUE(wait_for([&]() { return m_err_count > 0; }, 30.0));
    EXPECT_EQ(1u, m_err_count);
    EXPECT_TRUE(UCS_STATUS_IS_ERR(m_err_status));
    EXPECT_NE(UCS_OK, uct_ep_flush(ep, 0, NULL));
}

/* The same over IPv6, between the two ends of the test's veth pair */
UCS_TEST_F(test_tcp_zc_xfer, ipv6_veth)
{
    std::vector<std::string> veths = test_veth_devices();
    std::vector<uint8_t> src(1 * UCS_MBYTE), dst(src.size());
    std::vector<uint8_t> rkey_buffer(256);
    uct_rkey_bundle_t rkey;
    uct_mem_h memh;
    config_map_t md_config;

    if (veths.size() < 2) {
        UCS_TEST_SKIP_R("no veth pair: TCP_ZC_TEST_VETH is set by the test "
                        "runner (make test)");
    }

    uct_iface_close(m_sender.iface);
    uct_iface_close(m_receiver.iface);
    uct_md_close(m_md);
    m_md                 = NULL;
    md_config["AF_PRIO"] = "inet6";
    ASSERT_UCS_OK(open_md(md_config));
    open_peer(&m_sender, veths[0]);
    open_peer(&m_receiver, veths[1]);
    ASSERT_EQ(AF_INET6, ((uct_tcp_zc_device_addr_t*)&m_receiver.dev_addr[0])
                                ->sa_family);

    uct_ep_h ep = create_ep(m_receiver);
    ASSERT_EQ(4, am_bcopy(ep, "inet", 4));
    ASSERT_TRUE(wait_for([&]() { return m_am_count == 1; }));
    EXPECT_EQ("inet", m_am_last);

    fill_random(src, src.size());
    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &dst[0], dst.size(),
                                 UCT_MD_MEM_ACCESS_ALL, &memh));
    ASSERT_UCS_OK(uct_md_mkey_pack(m_md, memh, &rkey_buffer[0]));
    ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0], &rkey));

    rma_zcopy(uct_ep_put_zcopy, ep, &src[0], src.size(), UCT_MEM_HANDLE_NULL,
              &dst[0], rkey.rkey);
    EXPECT_EQ(checksum(&src[0], src.size()), checksum(&dst[0], dst.size()));
    EXPECT_EQ(0u, m_err_count);

    uct_rkey_release(m_component, &rkey);
    uct_md_mem_dereg(m_md, memh);
}
