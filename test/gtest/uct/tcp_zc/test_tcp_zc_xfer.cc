/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc_xfer.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>


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
        {"answer without a request", {UCT_TCP_ZC_MSG_PUT_ACK, 0,
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
 * A raw socket peer asks to PUT outside of any registered region: that PUT
 * is refused with an error answer, the memory is untouched, and the
 * connection goes on.
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
    uct_tcp_zc_hdr_t answer;
    ASSERT_TRUE(raw_recv(fd, &answer, sizeof(answer)));
    EXPECT_EQ(UCT_TCP_ZC_MSG_RMA_ERROR, answer.type);
    EXPECT_EQ(0u, answer.length);

    /* the same connection still carries messages */
    struct {
        uct_tcp_zc_hdr_t hdr;
        char             payload[4];
    } UCS_S_PACKED am = {{UCT_TCP_ZC_MSG_AM, AM_ID, UCT_TCP_ZC_VERSION, 0, 4},
                         {'o', 'k', '!', '!'}};
    ASSERT_EQ((ssize_t)sizeof(am), send(fd, &am, sizeof(am), 0));
    EXPECT_TRUE(wait_for([&]() { return m_am_count == 1; }));
    EXPECT_EQ("ok!!", m_am_last);
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

    /* what a tcp_zc iface answers to a connection */
    uct_tcp_zc_hello_t hello = {};
    hello.magic     = UCT_TCP_ZC_MAGIC;
    hello.version   = UCT_TCP_ZC_VERSION;
    hello.status    = UCT_TCP_ZC_HELLO_ACCEPT;
    hello.sa_family = AF_INET;

    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        char buf[4096];
        int fd = accept(lfd, NULL, NULL);
        if ((fd < 0) ||
            (write(fd, &hello, sizeof(hello)) != (ssize_t)sizeof(hello)) ||
            (write(sync_pipe[1], "a", 1) != 1)) {
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


class test_tcp_zc_rma_limit : public test_tcp_zc_xfer {
protected:
    static const unsigned MAX_OUTSTANDING = 4;

    virtual config_map_t peer_config() const
    {
        config_map_t config = test_tcp_zc_xfer::peer_config();

        config["MAX_RMA_OUTSTANDING"] = ucs::to_string(MAX_OUTSTANDING);
        return config;
    }

    struct get_req_t {
        uct_pending_req_t uct;
        uct_ep_h          ep;
        uct_iov_t         iov;
        void              *remote;
        uct_rkey_t        rkey;
        uct_completion_t  comp;
        unsigned          dispatched;
    };

    static ucs_status_t pending_get(uct_pending_req_t *self)
    {
        get_req_t *req = ucs_container_of(self, get_req_t, uct);
        ucs_status_t status;

        ++req->dispatched;
        status = uct_ep_get_zcopy(req->ep, &req->iov, 1,
                                  (uintptr_t)req->remote, req->rkey,
                                  &req->comp);
        return UCS_STATUS_IS_ERR(status) ? status : UCS_OK;
    }
};

const unsigned test_tcp_zc_rma_limit::MAX_OUTSTANDING;


/*
 * At most MAX_RMA_OUTSTANDING PUT/GET operations wait for their answers; the
 * next one is refused with NO_RESOURCE, goes to the pending queue, and is
 * sent when an answer arrives. Data of every GET verified.
 */
UCS_TEST_F(test_tcp_zc_rma_limit, get_beyond_limit_pends)
{
    static const size_t size  = 4096;
    static const unsigned num = MAX_OUTSTANDING + 1;
    std::vector<uint8_t> remote(size * num), local(size * num, 0);
    std::vector<uint8_t> rkey_buffer(256);
    uct_mem_h remote_memh, local_memh;
    uct_rkey_bundle_t rkey;
    uct_completion_t comp;
    get_req_t req;
    ucs_status_t status;
    uct_ep_h ep = create_ep(m_receiver);

    for (size_t i = 0; i < remote.size(); ++i) {
        remote[i] = (uint8_t)(i * 7 + 3);
    }
    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &remote[0], remote.size(),
                                 UCT_MD_MEM_ACCESS_ALL, &remote_memh));
    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &local[0], local.size(),
                                 UCT_MD_MEM_ACCESS_ALL, &local_memh));
    ASSERT_UCS_OK(uct_md_mkey_pack(m_md, remote_memh, &rkey_buffer[0]));
    ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0], &rkey));

    /* connected, nothing outstanding */
    rma_zcopy(uct_ep_get_zcopy, ep, &local[0], size, local_memh, &remote[0],
              rkey.rkey);
    std::fill(local.begin(), local.end(), 0);

    comp.func   = completion_cb;
    comp.count  = MAX_OUTSTANDING;
    comp.status = UCS_OK;
    for (unsigned i = 0; i < MAX_OUTSTANDING; ++i) {
        uct_iov_t iov = make_iov(&local[i * size], size, local_memh);
        EXPECT_EQ(UCS_INPROGRESS,
                  uct_ep_get_zcopy(ep, &iov, 1, (uintptr_t)&remote[i * size],
                                   rkey.rkey, &comp));
    }

    req.uct.func    = pending_get;
    req.ep          = ep;
    req.iov         = make_iov(&local[MAX_OUTSTANDING * size], size,
                               local_memh);
    req.remote      = &remote[MAX_OUTSTANDING * size];
    req.rkey        = rkey.rkey;
    req.comp.func   = completion_cb;
    req.comp.count  = 1;
    req.comp.status = UCS_OK;
    req.dispatched  = 0;

    /* the limit refuses the next one; active messages still go */
    status = uct_ep_get_zcopy(ep, &req.iov, 1, (uintptr_t)req.remote,
                              req.rkey, &req.comp);
    EXPECT_EQ(UCS_ERR_NO_RESOURCE, status);
    unsigned am_count = m_am_count;
    EXPECT_UCS_OK(uct_ep_am_short(ep, AM_ID, 0, NULL, 0));
    ASSERT_UCS_OK(uct_ep_pending_add(ep, &req.uct, 0));
    /* a pending request is outstanding for an iface flush */
    EXPECT_EQ(UCS_INPROGRESS, uct_iface_flush(m_sender.iface, 0, NULL));

    ASSERT_TRUE(wait_for([&]() {
        return (comp.count == 0) && (req.comp.count == 0);
    }));
    EXPECT_EQ(1u, req.dispatched);
    EXPECT_TRUE(wait_for([&]() { return m_am_count > am_count; }));
    EXPECT_UCS_OK(comp.status);
    EXPECT_UCS_OK(req.comp.status);
    EXPECT_EQ(remote, local);
    EXPECT_EQ(0u, m_err_count);
    EXPECT_TRUE(wait_for([&]() {
        return uct_iface_flush(m_sender.iface, 0, NULL) == UCS_OK;
    }));

    uct_rkey_release(m_component, &rkey);
    uct_md_mem_dereg(m_md, remote_memh);
    uct_md_mem_dereg(m_md, local_memh);
}


/*
 * Endpoints destroyed from callbacks: the transport never touches them
 * afterwards. Right after the destroy, the callback takes memory of the
 * endpoint's size and fills it with garbage, as the next allocation would;
 * a transport which still used the endpoint crashed on it.
 */
class test_tcp_zc_cb_destroy : public test_tcp_zc_xfer {
protected:
    virtual void init()
    {
        test_tcp_zc_xfer::init();
        m_destroy_ep = NULL;
        m_reused     = NULL;
        m_comps      = 0;
        m_remote.assign(4096, 0x3c);
        ASSERT_UCS_OK(uct_md_mem_reg(m_md, &m_remote[0], m_remote.size(),
                                     UCT_MD_MEM_ACCESS_ALL, &m_remote_memh));
        std::vector<uint8_t> rkey_buffer(256);
        ASSERT_UCS_OK(uct_md_mkey_pack(m_md, m_remote_memh, &rkey_buffer[0]));
        ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0], &m_rkey));
    }

    virtual void cleanup()
    {
        free(m_reused);
        uct_rkey_release(m_component, &m_rkey);
        uct_md_mem_dereg(m_md, m_remote_memh);
        test_tcp_zc_xfer::cleanup();
    }

    /* destroy m_destroy_ep, once, and reuse its memory */
    void destroy_and_reuse()
    {
        if (m_destroy_ep == NULL) {
            return;
        }

        uct_ep_h ep  = m_destroy_ep;
        m_destroy_ep = NULL;
        m_eps.erase(std::find(m_eps.begin(), m_eps.end(), ep));
        /* the completions of its other operations come within the destroy */
        uct_ep_destroy(ep);
        m_reused     = malloc(sizeof(uct_tcp_zc_ep_t));
        memset(m_reused, 0xff, sizeof(uct_tcp_zc_ep_t));
    }

    void check_am(uct_ep_h ep)
    {
        unsigned count = m_am_count;

        ASSERT_EQ(1, am_bcopy(ep, "x", 1));
        ASSERT_TRUE(wait_for([&]() { return m_am_count == count + 1; }));
    }

    static void destroy_comp_cb(uct_completion_t *comp)
    {
        test_tcp_zc_cb_destroy *self = ucs_container_of(comp, comp_t,
                                                        uct)->self;

        ++self->m_comps;
        self->destroy_and_reuse();
    }

    static ucs_status_t destroy_am_handler(void *arg, void *data,
                                           size_t length, unsigned flags)
    {
        test_tcp_zc_cb_destroy *self = (test_tcp_zc_cb_destroy*)arg;

        ++self->m_am_count;
        self->destroy_and_reuse();
        return UCS_OK;
    }

    struct comp_t {
        uct_completion_t       uct;
        test_tcp_zc_cb_destroy *self;
    };

    std::vector<uint8_t> m_remote;
    uct_mem_h            m_remote_memh;
    uct_rkey_bundle_t    m_rkey;
    uct_ep_h             m_destroy_ep;
    void                 *m_reused;
    unsigned             m_comps;
};


/* The first of several GETs, answered in one read, destroys its endpoint
 * from its completion callback */
UCS_TEST_F(test_tcp_zc_cb_destroy, in_completion)
{
    static const unsigned num = 4;
    std::vector<uint8_t> local(64 * num);
    comp_t comps[num];
    uct_iov_t iov;
    ucs_status_t status;

    uct_ep_h ep = create_ep(m_receiver);
    check_am(ep);

    for (unsigned i = 0; i < num; ++i) {
        comps[i].uct.func   = destroy_comp_cb;
        comps[i].uct.count  = 1;
        comps[i].uct.status = UCS_OK;
        comps[i].self       = this;
        iov                 = make_iov(&local[64 * i], 64);
        status = uct_ep_get_zcopy(ep, &iov, 1, (uintptr_t)&m_remote[64 * i],
                                  m_rkey.rkey, &comps[i].uct);
        ASSERT_EQ(UCS_INPROGRESS, status);
    }

    /* the target answers them all before the initiator reads */
    for (int i = 0; i < 100; ++i) {
        uct_iface_progress(m_receiver.iface);
    }

    m_destroy_ep = ep;
    ASSERT_TRUE(wait_for([&]() { return m_comps == num; }));
    EXPECT_TRUE(m_destroy_ep == NULL);
    EXPECT_EQ(0x3c, local[0]);
}

/* An active message handler destroys an endpoint whose connection has an
 * event in the same progress call, after the message's */
UCS_TEST_F(test_tcp_zc_cb_destroy, in_am_handler)
{
    std::vector<uint8_t> local(64, 0);
    uct_ep_params_t params;
    comp_t comp;
    uct_ep_h back_ep;
    uct_iov_t iov;

    /* the sender's endpoint to the receiver, and one back */
    uct_ep_h ep = create_ep(m_receiver);
    check_am(ep);
    params.field_mask = UCT_EP_PARAM_FIELD_IFACE |
                        UCT_EP_PARAM_FIELD_DEV_ADDR |
                        UCT_EP_PARAM_FIELD_IFACE_ADDR;
    params.iface      = m_receiver.iface;
    params.dev_addr   = (const uct_device_addr_t*)&m_sender.dev_addr[0];
    params.iface_addr = (const uct_iface_addr_t*)&m_sender.iface_addr[0];
    ASSERT_UCS_OK(uct_ep_create(&params, &back_ep));
    m_eps.push_back(back_ep);
    ASSERT_EQ(1, am_bcopy(back_ep, "b", 1));
    ASSERT_TRUE(wait_for([&]() { return m_am_count == 2; }));

    ASSERT_UCS_OK(uct_iface_set_am_handler(m_receiver.iface, AM_ID,
                                           destroy_am_handler, this, 0));

    /* first a message to the receiver, then the answer to its GET: both
     * wait, in that order, for one progress call of the receiver */
    ASSERT_EQ(1, am_bcopy(ep, "d", 1));
    comp.uct.func   = completion_cb;
    comp.uct.count  = 1;
    comp.uct.status = UCS_OK;
    comp.self       = this;
    iov             = make_iov(&local[0], local.size());
    ASSERT_EQ(UCS_INPROGRESS,
              uct_ep_get_zcopy(back_ep, &iov, 1, (uintptr_t)&m_remote[0],
                               m_rkey.rkey, &comp.uct));
    for (int i = 0; i < 100; ++i) {
        uct_iface_progress(m_sender.iface);
    }

    m_destroy_ep = back_ep;
    ASSERT_TRUE(wait_for([&]() { return m_destroy_ep == NULL; }));
    for (int i = 0; i < 10; ++i) {
        progress();
    }

    /* the GET was canceled with its endpoint */
    EXPECT_EQ(0, comp.uct.count);
    EXPECT_EQ(UCS_ERR_CANCELED, comp.uct.status);
}
