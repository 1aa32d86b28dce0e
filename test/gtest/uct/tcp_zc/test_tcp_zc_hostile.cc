/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc_xfer.h"

#include <algorithm>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>


/*
 * Attacks of a raw TCP peer on a tcp_zc listener: the attacker's connection
 * is closed, the process survives, holds bounded memory, and keeps serving a
 * well-behaved peer.
 */
class test_tcp_zc_hostile : public test_tcp_zc_xfer {
protected:
    virtual void init()
    {
        test_tcp_zc_xfer::init();
        m_buffer.assign(4096, 0x5a);
        ASSERT_UCS_OK(uct_md_mem_reg(m_md, &m_buffer[0], m_buffer.size(),
                                     UCT_MD_MEM_ACCESS_ALL, &m_memh));
        m_key = ((uct_tcp_zc_memh_t*)m_memh)->key;
    }

    virtual void cleanup()
    {
        uct_md_mem_dereg(m_md, m_memh);
        test_tcp_zc_xfer::cleanup();
    }

    struct rma_req_t {
        uct_tcp_zc_hdr_t     hdr;
        uct_tcp_zc_rma_hdr_t rma;
        uint8_t              data[8];
    } UCS_S_PACKED;

    rma_req_t rma_req(uint8_t type, uint64_t length)
    {
        rma_req_t req;

        memset(&req, 0, sizeof(req));
        req.hdr.type    = type;
        req.hdr.version = UCT_TCP_ZC_VERSION;
        req.hdr.length  = (type == UCT_TCP_ZC_MSG_PUT) ? length : 0;
        req.rma.address = (uintptr_t)&m_buffer[0];
        req.rma.key     = m_key;
        req.rma.length  = length;
        return req;
    }

    static size_t rss_bytes()
    {
        unsigned long size = 0, resident = 0;
        FILE *f = fopen("/proc/self/statm", "r");

        if (f != NULL) {
            if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
                resident = 0;
            }
            fclose(f);
        }
        return resident * sysconf(_SC_PAGESIZE);
    }

    /* A well-behaved peer is served: an active message arrives */
    void check_served(uct_ep_h ep)
    {
        unsigned count = m_am_count;

        ASSERT_EQ(4, am_bcopy(ep, "ping", 4));
        ASSERT_TRUE(wait_for([&]() { return m_am_count == count + 1; }));
        EXPECT_EQ("ping", m_am_last);
    }

    /*
     * Send the same request over and over without ever reading the answers,
     * up to max_requests or until the receiver closes the connection;
     * returns the number of requests sent, and the receiver's growth of
     * resident memory meanwhile.
     */
    size_t flood(const void *req, size_t size, size_t max_requests,
                 bool *closed_p, size_t *growth_p)
    {
        static const size_t batch = 256;
        std::vector<uint8_t> buf;
        size_t rss_start, rss_max, sent, offset;
        ucs_time_t deadline;
        uct_ep_h ep;
        ssize_t ret;
        int fd;

        ep = create_ep(m_receiver);
        check_served(ep);

        for (size_t i = 0; i < batch; ++i) {
            buf.insert(buf.end(), (const uint8_t*)req,
                       (const uint8_t*)req + size);
        }

        fd = raw_connect();
        fcntl(fd, F_SETFL, O_NONBLOCK);
        rss_start = rss_max = rss_bytes();
        deadline  = ucs_get_time() + ucs_time_from_sec(60.0);
        sent      = 0;
        offset    = 0;
        *closed_p = false;
        {
            scoped_log_handler wrap_err(wrap_errors_logger);

            while ((sent < max_requests) && (ucs_get_time() < deadline)) {
                ret = send(fd, &buf[offset], buf.size() - offset,
                           MSG_NOSIGNAL);
                if (ret > 0) {
                    offset += ret;
                    if (offset == buf.size()) {
                        offset = 0;
                        sent  += batch;
                    }
                } else if ((ret < 0) && (errno == EAGAIN)) {
                    progress();
                    rss_max = std::max(rss_max, rss_bytes());
                } else {
                    *closed_p = true;
                    break;
                }
            }

            /* the receiver reads what was sent */
            for (int i = 0; (i < 1000) && !*closed_p; ++i) {
                progress();
                ret       = send(fd, "", 0, MSG_NOSIGNAL);
                *closed_p = (ret < 0) && (errno != EAGAIN);
            }
        }
        rss_max = std::max(rss_max, rss_bytes());
        close(fd);

        /* the other peer is still served */
        check_served(ep);
        *growth_p = rss_max - rss_start;
        UCS_TEST_MESSAGE << sent << " requests sent, receiver "
                         << (*closed_p ? "closed the connection" :
                                         "kept the connection")
                         << ", resident memory grew by "
                         << (*growth_p >> 10) << " KiB";
        return sent;
    }

    std::vector<uint8_t> m_buffer;
    uct_mem_h            m_memh;
    uint64_t             m_key;
};


/* An AM id beyond the handler table: the connection is closed, nothing is
 * delivered, the process lives on (it crashed before the parser checked
 * am_id) */
UCS_TEST_F(test_tcp_zc_hostile, am_id_out_of_range)
{
    static const uint8_t am_ids[] = {200, UCT_AM_ID_MAX, 255};
    struct {
        uct_tcp_zc_hdr_t hdr;
        uint8_t          payload[16];
    } UCS_S_PACKED msg;

    for (size_t i = 0; i < ucs_static_array_size(am_ids); ++i) {
        memset(&msg, 0x11, sizeof(msg));
        msg.hdr.type     = UCT_TCP_ZC_MSG_AM;
        msg.hdr.am_id    = am_ids[i];
        msg.hdr.version  = UCT_TCP_ZC_VERSION;
        msg.hdr.flags    = 0;
        msg.hdr.length   = sizeof(msg.payload);

        int fd = raw_connect();
        ASSERT_EQ((ssize_t)sizeof(msg), send(fd, &msg, sizeof(msg), 0));
        EXPECT_TRUE(wait_closed(fd)) << "am_id " << (int)am_ids[i];
        close(fd);
    }

    EXPECT_EQ(0u, m_am_count);

    /* the same message with a valid id is delivered */
    msg.hdr.am_id = AM_ID;
    int fd        = raw_connect();
    ASSERT_EQ((ssize_t)sizeof(msg), send(fd, &msg, sizeof(msg), 0));
    EXPECT_TRUE(wait_for([&]() { return m_am_count == 1; }));
    EXPECT_EQ(std::string(16, '\x11'), m_am_last);
    close(fd);
}

/* A zero-length GET or PUT with a key names a registration too */
UCS_TEST_F(test_tcp_zc_hostile, zero_length_rma_unknown_key)
{
    static const uint8_t types[] = {UCT_TCP_ZC_MSG_GET_REQ,
                                    UCT_TCP_ZC_MSG_PUT};

    /* with a wrong key, the access is refused with an error answer */
    for (size_t i = 0; i < ucs_static_array_size(types); ++i) {
        rma_req_t req = rma_req(types[i], 0);
        uct_tcp_zc_hdr_t resp;

        req.rma.key = m_key ^ 1;
        int fd      = raw_connect();
        ASSERT_EQ((ssize_t)sizeof(req.hdr) + (ssize_t)sizeof(req.rma),
                  send(fd, &req, sizeof(req.hdr) + sizeof(req.rma), 0));
        ASSERT_TRUE(raw_recv(fd, &resp, sizeof(resp))) << (int)types[i];
        EXPECT_EQ(UCT_TCP_ZC_MSG_RMA_ERROR, resp.type);
        EXPECT_EQ(0u, resp.length);
        close(fd);
    }

    /* with the right key, or with none (key 0: UCT_INVALID_RKEY, which UCT
     * allows for an empty access, and no registration has), the GET is
     * answered */
    const uint64_t keys[] = {m_key, 0};
    for (size_t i = 0; i < ucs_static_array_size(keys); ++i) {
        rma_req_t req = rma_req(UCT_TCP_ZC_MSG_GET_REQ, 0);
        uct_tcp_zc_hdr_t resp;

        req.rma.key = keys[i];
        int fd      = raw_connect();
        ASSERT_EQ((ssize_t)sizeof(req.hdr) + (ssize_t)sizeof(req.rma),
                  send(fd, &req, sizeof(req.hdr) + sizeof(req.rma), 0));
        fcntl(fd, F_SETFL, O_NONBLOCK);
        ASSERT_TRUE(wait_for([&]() {
            return recv(fd, &resp, sizeof(resp), MSG_PEEK) == sizeof(resp);
        })) << "key " << keys[i];
        EXPECT_EQ(UCT_TCP_ZC_MSG_GET_RESP, resp.type);
        EXPECT_EQ(0u, resp.length);
        close(fd);
    }
}

/* GET requests whose answers are never read: the receiver's memory stays
 * bounded, it drops the connection, and serves another peer meanwhile
 * (2 M such requests grew it by 780 MB before the requests were bounded) */
UCS_TEST_F(test_tcp_zc_hostile, get_flood_bounded)
{
    static const uint64_t lengths[] = {0, 64};
    bool closed;
    size_t growth;

    for (size_t i = 0; i < ucs_static_array_size(lengths); ++i) {
        rma_req_t req = rma_req(UCT_TCP_ZC_MSG_GET_REQ, lengths[i]);

        flood(&req, sizeof(req.hdr) + sizeof(req.rma), 2000000, &closed,
              &growth);
        EXPECT_TRUE(closed) << "length " << lengths[i];
        EXPECT_LT(growth, 16ul << 20) << "length " << lengths[i];
    }
}

/* The same with PUT requests and their acknowledgements */
UCS_TEST_F(test_tcp_zc_hostile, put_flood_bounded)
{
    rma_req_t req = rma_req(UCT_TCP_ZC_MSG_PUT, sizeof(req.data));
    bool closed;
    size_t growth;

    memset(req.data, 0xee, sizeof(req.data));
    flood(&req, sizeof(req), 2000000, &closed, &growth);
    EXPECT_TRUE(closed);
    EXPECT_LT(growth, 16ul << 20);
    EXPECT_EQ(0xee, m_buffer[0]);
    EXPECT_EQ(0x5a, m_buffer[sizeof(req.data)]);
}

/* A requester never has more requests outstanding than the protocol allows
 * a target to hold */
UCS_TEST_F(test_tcp_zc_hostile, max_rma_outstanding_is_bounded)
{
    config_map_t config;

    config["MAX_RMA_OUTSTANDING"] =
            ucs::to_string(UCT_TCP_ZC_RMA_OUTSTANDING_MAX + 1);
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_INVALID_PARAM, open_iface("lo", config));
    }
    close_iface();

    config["MAX_RMA_OUTSTANDING"] =
            ucs::to_string(UCT_TCP_ZC_RMA_OUTSTANDING_MAX);
    EXPECT_UCS_OK(open_iface("lo", config));
    close_iface();
}


/*
 * Regions deregistered while a PUT streams into them or a GET answer is read
 * from them: no byte is written to, or sent from, memory which was given back
 * after the deregistration; the connection is closed with an error (the
 * PUT went on to write into it, and the GET to send from it, before).
 */
class test_tcp_zc_dereg : public test_tcp_zc_hostile {
protected:
    static const size_t SIZE = 4 * UCS_MBYTE;

    /* copying sends: bytes handed to the kernel zero-copy are read by it
     * until it releases them, which a deregistration does not wait for */
    virtual config_map_t peer_config() const
    {
        config_map_t config = test_tcp_zc_hostile::peer_config();

        config["ZCOPY"] = "n";
        return config;
    }

    virtual void init()
    {
        test_tcp_zc_hostile::init();
        m_region.assign(SIZE, 0);
        ASSERT_UCS_OK(uct_md_mem_reg(m_md, &m_region[0], SIZE,
                                     UCT_MD_MEM_ACCESS_ALL, &m_region_memh));
        m_region_key = ((uct_tcp_zc_memh_t*)m_region_memh)->key;
    }

    rma_req_t region_req(uint8_t type)
    {
        rma_req_t req = rma_req(type, SIZE);

        req.rma.address = (uintptr_t)&m_region[0];
        req.rma.key     = m_region_key;
        return req;
    }

    static size_t count_nonzero(const std::vector<uint8_t> &buffer)
    {
        return buffer.size() - std::count(buffer.begin(), buffer.end(), 0);
    }

    /* the peer: PUT data in chunks, slowly */
    static void *writer_thread(void *arg)
    {
        test_tcp_zc_dereg *self = (test_tcp_zc_dereg*)arg;
        std::vector<uint8_t> data(65536, 0xee);

        for (size_t sent = 0; sent < SIZE; sent += data.size()) {
            if (send(self->m_fd, &data[0], data.size(), MSG_NOSIGNAL) !=
                (ssize_t)data.size()) {
                break;
            }
            usleep(2000);
        }

        self->m_writer_done = 1;
        return NULL;
    }

    struct dereg_args_t {
        test_tcp_zc_dereg    *self;
        std::vector<uint8_t> *snapshot;
    };

    /* deregister once some data arrived; then what the region holds */
    static void *dereg_thread(void *arg)
    {
        dereg_args_t *args       = (dereg_args_t*)arg;
        test_tcp_zc_dereg *self  = args->self;
        volatile uint8_t *first  = &self->m_region[0];

        for (int i = 0; (i < 10000) && (*first == 0); ++i) {
            usleep(1000);
        }
        usleep(20000);
        EXPECT_UCS_OK(uct_md_mem_dereg(self->m_md, self->m_region_memh));
        *args->snapshot = self->m_region;
        return NULL;
    }

    std::vector<uint8_t> m_region;
    uct_mem_h            m_region_memh;
    uint64_t             m_region_key;
    int                  m_fd;
    volatile int         m_writer_done = 0;
};

const size_t test_tcp_zc_dereg::SIZE;


UCS_TEST_F(test_tcp_zc_dereg, put_stops_at_dereg)
{
    static const size_t chunk = 65536;
    rma_req_t req             = region_req(UCT_TCP_ZC_MSG_PUT);
    std::vector<uint8_t> data(chunk, 0xee);

    int fd = raw_connect();
    ASSERT_EQ((ssize_t)(sizeof(req.hdr) + sizeof(req.rma)),
              send(fd, &req, sizeof(req.hdr) + sizeof(req.rma), 0));
    ASSERT_EQ((ssize_t)chunk, send(fd, &data[0], chunk, 0));
    ASSERT_TRUE(wait_for([&]() { return m_region[chunk - 1] == 0xee; }));

    ASSERT_UCS_OK(uct_md_mem_dereg(m_md, m_region_memh));
    std::vector<uint8_t> snapshot = m_region;

    /* the rest of the data comes and is dropped, and the PUT is answered
     * with an error */
    size_t left = SIZE - chunk;
    ASSERT_TRUE(wait_for([&]() {
        ssize_t ret = send(fd, &data[0], ucs_min(left, chunk),
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        left       -= (ret > 0) ? ret : 0;
        return left == 0;
    }));
    uct_tcp_zc_hdr_t resp;
    ASSERT_TRUE(raw_recv(fd, &resp, sizeof(resp)));
    EXPECT_EQ(UCT_TCP_ZC_MSG_RMA_ERROR, resp.type);
    close(fd);

    EXPECT_EQ(chunk, count_nonzero(m_region));
    EXPECT_TRUE(snapshot == m_region);
}

UCS_TEST_F(test_tcp_zc_dereg, get_stops_at_dereg)
{
    rma_req_t req = region_req(UCT_TCP_ZC_MSG_GET_REQ);
    std::vector<uint8_t> rx(SIZE + sizeof(uct_tcp_zc_hdr_t));
    size_t received = 0;
    ssize_t ret;
    int rcvbuf = 65536;

    std::fill(m_region.begin(), m_region.end(), 0x77);
    int fd = raw_connect();
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    ASSERT_EQ((ssize_t)(sizeof(req.hdr) + sizeof(req.rma)),
              send(fd, &req, sizeof(req.hdr) + sizeof(req.rma), 0));

    /* the answer fills the socket, the rest of it waits */
    ASSERT_TRUE(wait_for([&]() {
        return recv(fd, &rx[0], rx.size(), MSG_PEEK | MSG_DONTWAIT) >=
               (ssize_t)sizeof(uct_tcp_zc_hdr_t);
    }));
    for (int i = 0; i < 100; ++i) {
        progress();
    }

    ASSERT_UCS_OK(uct_md_mem_dereg(m_md, m_region_memh));
    /* memory given back and used for something else */
    std::fill(m_region.begin(), m_region.end(), 0x99);

    fcntl(fd, F_SETFL, O_NONBLOCK);
    ucs_time_t deadline = ucs_get_time() + ucs_time_from_sec(10.0);
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        while ((received < rx.size()) && (ucs_get_time() < deadline)) {
            ret = recv(fd, &rx[received], rx.size() - received, 0);
            if (ret > 0) {
                received += ret;
            } else if ((ret < 0) && (errno == EAGAIN)) {
                progress();
            } else {
                break;
            }
        }
    }
    close(fd);

    /* part of the answer came, none of it from the reused memory */
    EXPECT_LT(received, rx.size());
    EXPECT_GT(received, sizeof(uct_tcp_zc_hdr_t));
    EXPECT_EQ(rx.begin() + received,
              std::find(rx.begin() + sizeof(uct_tcp_zc_hdr_t),
                        rx.begin() + received, 0x99));
}

/* Another thread deregisters while progress streams a PUT into the region:
 * nothing lands after its deregistration returned */
UCS_TEST_F(test_tcp_zc_dereg, put_dereg_from_thread)
{
    rma_req_t req             = region_req(UCT_TCP_ZC_MSG_PUT);
    std::vector<uint8_t> snapshot;
    volatile bool done = false;
    pthread_t writer, deregger;

    m_fd = raw_connect();
    ASSERT_EQ((ssize_t)(sizeof(req.hdr) + sizeof(req.rma)),
              send(m_fd, &req, sizeof(req.hdr) + sizeof(req.rma), 0));

    dereg_args_t args = {this, &snapshot};

    /* the peer sends the data slowly; the other thread deregisters while
     * it streams in */
    ASSERT_EQ(0, pthread_create(&writer, NULL, writer_thread, this));
    ASSERT_EQ(0, pthread_create(&deregger, NULL, dereg_thread, &args));

    ucs_time_t deadline = ucs_get_time() + ucs_time_from_sec(20.0);
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        while (!done && (ucs_get_time() < deadline)) {
            progress();
            done = (m_writer_done != 0);
        }
    }
    pthread_join(writer, NULL);
    pthread_join(deregger, NULL);
    close(m_fd);

    size_t written = count_nonzero(snapshot);
    UCS_TEST_MESSAGE << written << " of " << SIZE
                     << " bytes in the region at its deregistration";
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, SIZE);
    EXPECT_TRUE(snapshot == m_region);
}
