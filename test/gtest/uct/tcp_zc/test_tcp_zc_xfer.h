/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef TEST_TCP_ZC_XFER_H
#define TEST_TCP_ZC_XFER_H

#include "test_tcp_zc.h"

extern "C" {
#include <uct/tcp_zc/tcp_zc.h>
#include <ucs/async/async.h>
#include <ucs/time/time.h>
}

#include <arpa/inet.h>
#include <sys/socket.h>


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

    /* Configuration of the sender and receiver ifaces */
    virtual config_map_t peer_config() const
    {
        config_map_t config;

        config["MAX_NUM_EPS"] = "inf";
        return config;
    }

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
        ASSERT_UCS_OK(open_iface(dev_name, peer_config()));
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
        return create_ep_from(m_sender, to, iface_addr);
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

    static uct_iov_t make_iov(void *buffer, size_t length,
                              uct_mem_h memh = UCT_MEM_HANDLE_NULL)
    {
        uct_iov_t iov;

        iov.buffer = buffer;
        iov.length = length;
        iov.memh   = memh;
        iov.stride = 0;
        iov.count  = 1;
        return iov;
    }

    /* PUT or GET zero-copy of one buffer, waiting for its completion */
    void rma_zcopy(rma_func_t func, uct_ep_h ep, void *buffer, size_t length,
                   uct_mem_h memh, void *remote, uct_rkey_t rkey)
    {
        uct_iov_t iov = make_iov(buffer, length, memh);
        uct_completion_t comp;
        ucs_status_t status;

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

    /* an endpoint of one peer's iface to another peer's (or to another
     * iface address) */
    uct_ep_h create_ep_from(const peer_t &from, const peer_t &to,
                            const void *iface_addr = NULL)
    {
        uct_ep_params_t params;
        uct_ep_h ep;

        params.field_mask = UCT_EP_PARAM_FIELD_IFACE |
                            UCT_EP_PARAM_FIELD_DEV_ADDR |
                            UCT_EP_PARAM_FIELD_IFACE_ADDR;
        params.iface      = from.iface;
        params.dev_addr   = (const uct_device_addr_t*)&to.dev_addr[0];
        params.iface_addr = (const uct_iface_addr_t*)(
                (iface_addr != NULL) ? iface_addr : &to.iface_addr[0]);
        EXPECT_UCS_OK(uct_ep_create(&params, &ep));
        m_eps.push_back(ep);
        return ep;
    }

    /* Receive exactly length bytes from a raw socket, progressing the
     * ifaces meanwhile; false if the peer closed or the time ran out */
    bool raw_recv(int fd, void *buffer, size_t length, double timeout = 10.0)
    {
        size_t received = 0;
        ssize_t ret;

        wait_for([&]() {
            ret = recv(fd, (char*)buffer + received, length - received,
                       MSG_DONTWAIT);
            if (ret > 0) {
                received += ret;
            }
            return (received == length) || (ret == 0) ||
                   ((ret < 0) && (errno != EAGAIN));
        }, timeout);
        return received == length;
    }

    /* A raw TCP connection to the receiver's listener, which introduces
     * itself with a hello, valid or not, and reads the receiver's answer
     * to a valid one */
    int raw_connect(bool valid_hello = true,
                    uint8_t version = UCT_TCP_ZC_VERSION)
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
        hello.version   = version;
        hello.status    = UCT_TCP_ZC_HELLO_CONNECT;
        hello.sa_family = AF_INET;
        hello.port      = htons(1); /* no listener: nobody's endpoints */
        hello.addr[0]   = 127;
        hello.addr[3]   = 1;
        hello.conn_id   = m_raw_conn_id++;
        EXPECT_EQ((ssize_t)sizeof(hello), send(fd, &hello, sizeof(hello), 0));

        if (valid_hello && (version == UCT_TCP_ZC_VERSION)) {
            EXPECT_TRUE(raw_recv(fd, &hello, sizeof(hello)));
            EXPECT_EQ(UCT_TCP_ZC_MAGIC, hello.magic);
            EXPECT_EQ(UCT_TCP_ZC_VERSION, hello.version);
            EXPECT_EQ(UCT_TCP_ZC_HELLO_ACCEPT, hello.status);
        }
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
    uint64_t               m_raw_conn_id = 0;
    unsigned               m_err_count;
    ucs_status_t           m_err_status;
};

#endif
