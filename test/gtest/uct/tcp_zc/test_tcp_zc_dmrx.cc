/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include <common/test.h>

extern "C" {
#include <uct/tcp_zc/tcp_zc_devmem.h>
#include <uct/tcp_zc/tcp_zc_uapi.h>
}

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>


/*
 * Devmem receive, the pure part: control messages of recvmsg(MSG_SOCK_DEVMEM)
 * made up here, walked into fragments; token batches for SO_DEVMEM_DONTNEED.
 */
class test_tcp_zc_dmrx : public ucs::test {
protected:
    typedef std::vector<char> buf_t;
    typedef uct_tcp_zc_dmrx_status_t status_t;

    static const uint32_t POOL_ID   = 7;
    static const uint64_t POOL_SIZE = 1024 * 1024;
    static const unsigned MAX_FRAGS = 64;

    test_tcp_zc_dmrx()
    {
        m_pool.dmabuf_id = POOL_ID;
        m_pool.size      = POOL_SIZE;
    }

    /* a cmsg as the kernel's put_cmsg() writes it: header, payload, padding
     * to the next cmsg (unless pad is false) */
    static void cmsg(buf_t &buf, int level, int type, const void *payload,
                     size_t length, bool pad = true, size_t cmsg_len = 0)
    {
        struct cmsghdr hdr;
        size_t start = buf.size();

        memset(&hdr, 0, sizeof(hdr));
        hdr.cmsg_level = level;
        hdr.cmsg_type  = type;
        hdr.cmsg_len   = (cmsg_len != 0) ? cmsg_len : CMSG_LEN(length);
        buf.resize(start + (pad ? CMSG_SPACE(length) : CMSG_LEN(length)), 0);
        memcpy(&buf[start], &hdr, sizeof(hdr));
        memcpy(&buf[start + CMSG_LEN(0)], payload, length);
    }

    static void frag(buf_t &buf, uint64_t offset, uint32_t size,
                     uint32_t token, uint32_t id = POOL_ID)
    {
        uct_tcp_zc_dmabuf_cmsg_t dm = {offset, size, token, id, 0};

        cmsg(buf, SOL_SOCKET, SCM_DEVMEM_DMABUF, &dm, sizeof(dm));
    }

    static void linear(buf_t &buf, uint32_t size)
    {
        uct_tcp_zc_dmabuf_cmsg_t dm = {0, size, 0, 0, 0};

        cmsg(buf, SOL_SOCKET, SCM_DEVMEM_LINEAR, &dm, sizeof(dm));
    }

    status_t walk(const buf_t &buf, size_t bytes, int flags = 0,
                  size_t iov_len = 65536, unsigned max_frags = MAX_FRAGS,
                  size_t shift = 0)
    {
        /* the control data at any alignment */
        buf_t copy(shift + buf.size() + 1);

        if (!buf.empty()) {
            memcpy(&copy[shift], &buf[0], buf.size());
        }
        m_frags.assign(MAX_FRAGS, uct_tcp_zc_dmrx_frag_t());
        return uct_tcp_zc_dmrx_walk(&copy[shift], buf.size(), flags, bytes,
                                    iov_len, &m_pool, &m_frags[0], max_frags,
                                    &m_result);
    }

    uct_tcp_zc_dmrx_pool_t                m_pool;
    std::vector<uct_tcp_zc_dmrx_frag_t>   m_frags;
    uct_tcp_zc_dmrx_result_t              m_result;
};


/* No devmem cmsg: ordinary data (the flow is not on a bound queue), all in
 * the iov */
UCS_TEST_F(test_tcp_zc_dmrx, ordinary_data)
{
    buf_t buf;

    ASSERT_EQ(UCT_TCP_ZC_DMRX_OK, walk(buf, 1000));
    ASSERT_EQ(1u, m_result.num_frags);
    EXPECT_TRUE(uct_tcp_zc_dmrx_frag_is_linear(&m_frags[0]));
    EXPECT_EQ(1000u, m_frags[0].size);
    EXPECT_EQ(1000u, m_result.linear_bytes);
    EXPECT_EQ(0u, m_result.device_bytes);
    EXPECT_EQ(0u, m_result.devmem_cmsgs);

    /* another cmsg (a timestamp) alone is ordinary data too */
    uint64_t ts[2] = {1, 2};
    cmsg(buf, SOL_SOCKET, 29 /* SO_TIMESTAMPNS_OLD */, ts, sizeof(ts));
    ASSERT_EQ(UCT_TCP_ZC_DMRX_OK, walk(buf, 10));
    EXPECT_EQ(1u, m_result.num_frags);

    /* more than the iov can hold: impossible */
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_LINEAR, walk(buf_t(), 100, 0, 99));
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_TOTAL, walk(buf_t(), 0));
}

/* Linear bytes and pool fragments in stream order, at any alignment of the
 * control data, the last cmsg with or without its padding */
UCS_TEST_F(test_tcp_zc_dmrx, stream_order)
{
    buf_t buf;
    size_t shift;

    linear(buf, 100);
    frag(buf, 0, 4096, 1);
    frag(buf, 8192, 4096, 2);
    uint64_t ts[2] = {1, 2};
    cmsg(buf, SOL_IP, 1, ts, sizeof(ts)); /* not ours: skipped */
    linear(buf, 50);
    frag(buf, POOL_SIZE - 10, 10, 0x7fffffff);

    for (shift = 0; shift < 8; ++shift) {
        ASSERT_EQ(UCT_TCP_ZC_DMRX_OK, walk(buf, 100 + 8192 + 50 + 10, 0,
                                           150, MAX_FRAGS, shift))
                << "shift " << shift;
        ASSERT_EQ(5u, m_result.num_frags);
        EXPECT_EQ(150u, m_result.linear_bytes);
        EXPECT_EQ(8192u + 10, m_result.device_bytes);
        EXPECT_EQ(5u, m_result.devmem_cmsgs);

        EXPECT_TRUE(uct_tcp_zc_dmrx_frag_is_linear(&m_frags[0]));
        EXPECT_EQ(100u, m_frags[0].size);
        EXPECT_EQ(0u, m_frags[1].offset);
        EXPECT_EQ(4096u, m_frags[1].size);
        EXPECT_EQ(1u, m_frags[1].token);
        EXPECT_EQ(8192u, m_frags[2].offset);
        EXPECT_EQ(2u, m_frags[2].token);
        EXPECT_TRUE(uct_tcp_zc_dmrx_frag_is_linear(&m_frags[3]));
        EXPECT_EQ(50u, m_frags[3].size);
        EXPECT_EQ(POOL_SIZE - 10, m_frags[4].offset);
        EXPECT_EQ(10u, m_frags[4].size);
        EXPECT_EQ(0x7fffffffu, m_frags[4].token);
    }

    /* the kernel's last cmsg may end without padding */
    buf.clear();
    frag(buf, 0, 4096, 1);
    uct_tcp_zc_dmabuf_cmsg_t dm = {4096, 4096, 2, POOL_ID, 0};
    cmsg(buf, SOL_SOCKET, SCM_DEVMEM_DMABUF, &dm, sizeof(dm), false);
    ASSERT_EQ(UCT_TCP_ZC_DMRX_OK, walk(buf, 8192));
    EXPECT_EQ(2u, m_result.num_frags);
}

UCS_TEST_F(test_tcp_zc_dmrx, errors)
{
    uct_tcp_zc_dmabuf_cmsg_t dm = {0, 4096, 1, POOL_ID, 0};
    buf_t buf;

    /* truncated control data */
    frag(buf, 0, 4096, 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_CTRUNC, walk(buf, 4096, MSG_CTRUNC));

    /* fragment fields */
    buf.clear();
    frag(buf, 0, 4096, 1, POOL_ID + 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_DMABUF_ID, walk(buf, 4096));
    buf.clear();
    frag(buf, 0, 0, 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_FRAG_SIZE, walk(buf, 0));
    buf.clear();
    linear(buf, 0);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_FRAG_SIZE, walk(buf, 0));
    buf.clear();
    frag(buf, POOL_SIZE - 4095, 4096, 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_RANGE, walk(buf, 4096));
    buf.clear();
    frag(buf, POOL_SIZE, 1, 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_RANGE, walk(buf, 1));
    buf.clear();
    /* offset + size wraps around to inside the pool */
    frag(buf, UINT64_MAX - 10, 4096, 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_RANGE, walk(buf, 4096));
    m_pool.size = 100;
    buf.clear();
    frag(buf, 0, 101, 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_RANGE, walk(buf, 101));
    m_pool.size = POOL_SIZE;
    buf.clear();
    frag(buf, 0, 4096, 0);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_TOKEN, walk(buf, 4096));
    buf.clear();
    frag(buf, 0, 4096, 0x80000000u);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_TOKEN, walk(buf, 4096));

    /* linear bytes beyond the iov */
    buf.clear();
    linear(buf, 100);
    linear(buf, 100);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_LINEAR, walk(buf, 200, 0, 199));
    EXPECT_EQ(UCT_TCP_ZC_DMRX_OK, walk(buf, 200, 0, 200));

    /* totals */
    buf.clear();
    frag(buf, 0, 4096, 1);
    linear(buf, 10);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_TOTAL, walk(buf, 4105));
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_TOTAL, walk(buf, 4107));
    EXPECT_EQ(UCT_TCP_ZC_DMRX_OK, walk(buf, 4106));

    /* more fragments than room */
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_TOO_MANY, walk(buf, 4106, 0, 65536, 1));
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_TOO_MANY, walk(buf_t(), 1, 0, 65536, 0));

    /* cmsg lengths */
    buf.clear();
    cmsg(buf, SOL_SOCKET, SCM_DEVMEM_DMABUF, &dm, sizeof(dm), true,
         sizeof(struct cmsghdr) - 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_CMSG_LEN, walk(buf, 4096));
    buf.clear();
    cmsg(buf, SOL_SOCKET, SCM_DEVMEM_DMABUF, &dm, sizeof(dm), true,
         CMSG_SPACE(sizeof(dm)) + 1);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_CMSG_LEN, walk(buf, 4096));
    buf.clear();
    cmsg(buf, SOL_SOCKET, SCM_DEVMEM_DMABUF, &dm, sizeof(dm) - 4);
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_PAYLOAD, walk(buf, 4096));
    buf.clear();
    char longer[sizeof(dm) + 8] = {0};
    memcpy(longer, &dm, sizeof(dm));
    cmsg(buf, SOL_SOCKET, SCM_DEVMEM_LINEAR, longer, sizeof(longer));
    EXPECT_EQ(UCT_TCP_ZC_DMRX_ERR_PAYLOAD, walk(buf, 4096));

    /* every status has a name */
    for (int s = 0; s < UCT_TCP_ZC_DMRX_ERR_LAST; ++s) {
        EXPECT_STRNE("?", uct_tcp_zc_dmrx_status_str((status_t)s));
    }
}

/* A control buffer sized for a receive holds the cmsgs of all its pages */
UCS_TEST_F(test_tcp_zc_dmrx, control_len)
{
    static const size_t len = 256 * 1024;
    buf_t buf;
    unsigned i;

    for (i = 0; i < (len / 4096) + 2; ++i) {
        frag(buf, i * 4096, (i < (len / 4096)) ? 4096 : 1, i + 1);
    }
    EXPECT_EQ(UCT_TCP_ZC_DEVMEM_RX_CONTROL_LEN(len), buf.size());
}


UCS_TEST_F(test_tcp_zc_dmrx, tokens_coalesce)
{
    uct_tcp_zc_dmrx_tokens_t t;

    uct_tcp_zc_dmrx_tokens_init(&t);
    EXPECT_EQ(0u, uct_tcp_zc_dmrx_tokens_optlen(&t));
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 5));
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 6));
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 7));
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 9));
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 4)); /* not after 9 */
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 5)); /* after 4 */
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 5)); /* not after 5 */
    ASSERT_EQ(4u, t.num_ranges);
    EXPECT_EQ(7u, t.num_tokens);
    EXPECT_EQ(5u, t.ranges[0].token_start);
    EXPECT_EQ(3u, t.ranges[0].token_count);
    EXPECT_EQ(9u, t.ranges[1].token_start);
    EXPECT_EQ(1u, t.ranges[1].token_count);
    EXPECT_EQ(4u, t.ranges[2].token_start);
    EXPECT_EQ(2u, t.ranges[2].token_count);
    EXPECT_EQ(5u, t.ranges[3].token_start);
    EXPECT_EQ(1u, t.ranges[3].token_count);
    EXPECT_EQ(32u, uct_tcp_zc_dmrx_tokens_optlen(&t));

    /* not a token */
    EXPECT_EQ(-1, uct_tcp_zc_dmrx_tokens_add(&t, 0));
    EXPECT_EQ(-1, uct_tcp_zc_dmrx_tokens_add(&t, 0x80000000u));
    EXPECT_EQ(7u, t.num_tokens);
}

/* At most 128 ranges per call; a token which extends the last range still
 * fits */
UCS_TEST_F(test_tcp_zc_dmrx, tokens_range_limit)
{
    uct_tcp_zc_dmrx_tokens_t t;
    unsigned i;

    uct_tcp_zc_dmrx_tokens_init(&t);
    for (i = 0; i < UCT_TCP_ZC_DMRX_DONTNEED_RANGES; ++i) {
        EXPECT_FALSE(uct_tcp_zc_dmrx_tokens_full(&t));
        ASSERT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 1 + (2 * i)));
    }
    EXPECT_TRUE(uct_tcp_zc_dmrx_tokens_full(&t));
    EXPECT_EQ(0, uct_tcp_zc_dmrx_tokens_add(&t, 1000));
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 2 * i));
    EXPECT_EQ(128u, t.num_ranges);
    EXPECT_EQ(129u, t.num_tokens);
    EXPECT_EQ(128u * 8, uct_tcp_zc_dmrx_tokens_optlen(&t));
}

/* At most 1024 tokens per call: the kernel frees no more */
UCS_TEST_F(test_tcp_zc_dmrx, tokens_count_limit)
{
    uct_tcp_zc_dmrx_tokens_t t;
    unsigned i;

    uct_tcp_zc_dmrx_tokens_init(&t);
    for (i = 0; i < UCT_TCP_ZC_DMRX_DONTNEED_TOKENS; ++i) {
        ASSERT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 100 + i));
    }
    EXPECT_EQ(1u, t.num_ranges);
    EXPECT_TRUE(uct_tcp_zc_dmrx_tokens_full(&t));
    EXPECT_EQ(0, uct_tcp_zc_dmrx_tokens_add(&t, 100 + i));
    EXPECT_EQ(1024u, t.ranges[0].token_count);
    uct_tcp_zc_dmrx_tokens_init(&t);
    EXPECT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 100 + i));
}


/* The stream rebuilt from pool and linear bytes in any chunks; a token goes
 * into the batch only when all bytes of its fragment are copied */
UCS_TEST_F(test_tcp_zc_dmrx, copy_stream)
{
    std::vector<uint8_t> pool(4096), out;
    const char *linear = "ABCDEFGH";
    uct_tcp_zc_dmrx_frag_t frags[5];
    uct_tcp_zc_dmrx_cursor_t cursor;
    uct_tcp_zc_dmrx_tokens_t t;
    std::string expect;
    size_t chunk, n, i;

    for (i = 0; i < pool.size(); ++i) {
        pool[i] = 'a' + (i % 26);
    }
    frags[0] = {0, 5, 0};     /* ABCDE */
    frags[1] = {100, 10, 1};  /* pool 100..109 */
    frags[2] = {200, 7, 2};   /* pool 200..206 */
    frags[3] = {0, 3, 0};     /* FGH */
    frags[4] = {0, 4, 3};     /* pool 0..3 */
    expect   = std::string("ABCDE") +
               std::string((char*)&pool[100], 10) +
               std::string((char*)&pool[200], 7) + "FGH" +
               std::string((char*)&pool[0], 4);

    for (chunk = 1; chunk <= expect.size() + 1; ++chunk) {
        uct_tcp_zc_dmrx_cursor_init(&cursor, frags, 5, &pool[0], linear);
        uct_tcp_zc_dmrx_tokens_init(&t);
        out.assign(expect.size() + chunk, 0);
        for (i = 0; !uct_tcp_zc_dmrx_cursor_done(&cursor);) {
            n  = uct_tcp_zc_dmrx_copy(&cursor, &out[i], chunk, &t);
            i += n;
            /* tokens of the fragments fully copied so far, no more */
            EXPECT_EQ((unsigned)((i >= 15) + (i >= 22) + (i >= 29)),
                      t.num_tokens) << "chunk " << chunk << " at " << i;
            ASSERT_LE(i, expect.size());
            if (n < chunk) {
                break;
            }
        }
        EXPECT_TRUE(uct_tcp_zc_dmrx_cursor_done(&cursor));
        EXPECT_EQ(expect, std::string((char*)&out[0], i)) << "chunk "
                                                          << chunk;
        ASSERT_EQ(1u, t.num_ranges);
        EXPECT_EQ(1u, t.ranges[0].token_start);
        EXPECT_EQ(3u, t.ranges[0].token_count);
    }
}

/* A full batch: the copied fragment's token waits in the cursor until the
 * batch was returned */
UCS_TEST_F(test_tcp_zc_dmrx, copy_batch_full)
{
    std::vector<uint8_t> pool(4096, 'p');
    uct_tcp_zc_dmrx_frag_t frags[2] = {{0, 10, 500}, {10, 10, 900}};
    uct_tcp_zc_dmrx_cursor_t cursor;
    uct_tcp_zc_dmrx_tokens_t t;
    char out[20];
    unsigned i;

    uct_tcp_zc_dmrx_tokens_init(&t);
    for (i = 0; i < UCT_TCP_ZC_DMRX_DONTNEED_RANGES; ++i) {
        ASSERT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 1 + (2 * i)));
    }
    uct_tcp_zc_dmrx_cursor_init(&cursor, frags, 2, &pool[0], NULL);

    /* the first fragment is copied, its token cannot go into the batch */
    EXPECT_EQ(10u, uct_tcp_zc_dmrx_copy(&cursor, out, sizeof(out), &t));
    EXPECT_EQ(500u, cursor.pending);
    EXPECT_FALSE(uct_tcp_zc_dmrx_cursor_done(&cursor));
    EXPECT_EQ(0u, uct_tcp_zc_dmrx_copy(&cursor, out + 10, 10, &t));

    /* returned: the waiting token first, then the rest */
    uct_tcp_zc_dmrx_tokens_init(&t);
    EXPECT_EQ(10u, uct_tcp_zc_dmrx_copy(&cursor, out + 10, 10, &t));
    EXPECT_TRUE(uct_tcp_zc_dmrx_cursor_done(&cursor));
    ASSERT_EQ(2u, t.num_ranges);
    EXPECT_EQ(500u, t.ranges[0].token_start);
    EXPECT_EQ(900u, t.ranges[1].token_start);
    EXPECT_EQ(std::string(20, 'p'), std::string(out, 20));
}

/*
 * The socket calls of tcp_zc_devmem.c against the real kernel, on a TCP
 * connection over lo (no devmem device here: the kernel's answers for
 * ordinary sockets).
 */
class test_tcp_zc_devmem_sock : public test_tcp_zc_dmrx {
protected:
    test_tcp_zc_devmem_sock() : m_fd{-1, -1}
    {
    }

    virtual void init()
    {
        struct sockaddr_in addr;
        socklen_t addrlen = sizeof(addr);
        int lfd;

        test_tcp_zc_dmrx::init();
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(lfd, 0);
        memset(&addr, 0, sizeof(addr));
        addr.sin_family      = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(0, bind(lfd, (struct sockaddr*)&addr, sizeof(addr)));
        ASSERT_EQ(0, listen(lfd, 1));
        ASSERT_EQ(0, getsockname(lfd, (struct sockaddr*)&addr, &addrlen));
        m_fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(m_fd[0], 0);
        ASSERT_EQ(0, connect(m_fd[0], (struct sockaddr*)&addr, addrlen));
        m_fd[1] = accept(lfd, NULL, NULL);
        close(lfd);
        ASSERT_GE(m_fd[1], 0);
    }

    virtual void cleanup()
    {
        for (int i = 0; i < 2; ++i) {
            if (m_fd[i] >= 0) {
                close(m_fd[i]);
            }
        }
        test_tcp_zc_dmrx::cleanup();
    }

    void wait_readable(int fd)
    {
        struct pollfd pfd = {fd, POLLIN, 0};

        ASSERT_EQ(1, poll(&pfd, 1, 10000));
    }

    int m_fd[2];
};


/* recvmsg(MSG_SOCK_DEVMEM) of ordinary data: the bytes in the iov, no devmem
 * cmsg; the walk makes it one linear fragment */
UCS_TEST_F(test_tcp_zc_devmem_sock, recv_ordinary)
{
    std::string data = "tcp_zc devmem receive of ordinary data";
    buf_t control(UCT_TCP_ZC_DEVMEM_RX_CONTROL_LEN(4096));
    char rx[4096];
    struct iovec iov = {rx, sizeof(rx)};
    size_t controllen;
    ssize_t ret;
    int flags;

    controllen = control.size();
    ret = uct_tcp_zc_devmem_recvmsg(m_fd[1], &iov, 1, &control[0],
                                    &controllen, &flags);
    EXPECT_EQ(-1, ret);
    EXPECT_EQ(EAGAIN, errno);

    ASSERT_EQ((ssize_t)data.size(), send(m_fd[0], data.c_str(), data.size(),
                                         0));
    wait_readable(m_fd[1]);
    controllen = control.size();
    ret = uct_tcp_zc_devmem_recvmsg(m_fd[1], &iov, 1, &control[0],
                                    &controllen, &flags);
    ASSERT_EQ((ssize_t)data.size(), ret) << strerror(errno);
    EXPECT_EQ(data, std::string(rx, ret));
    EXPECT_EQ(0u, controllen);

    control.resize(controllen);
    ASSERT_EQ(UCT_TCP_ZC_DMRX_OK, walk(control, ret, flags, sizeof(rx)));
    ASSERT_EQ(1u, m_result.num_frags);
    EXPECT_EQ(data.size(), m_frags[0].size);
}

/* SO_DEVMEM_DONTNEED on a TCP socket: the kernel takes the ranges and skips
 * tokens it does not know; the batch is emptied */
UCS_TEST_F(test_tcp_zc_devmem_sock, tokens_return)
{
    uct_tcp_zc_dmrx_tokens_t t;
    unsigned freed = 99;
    unsigned i;
    int udp;

    uct_tcp_zc_dmrx_tokens_init(&t);
    ASSERT_UCS_OK(uct_tcp_zc_devmem_tokens_return(m_fd[1], &t, &freed));
    EXPECT_EQ(0u, freed);

    for (i = 0; i < UCT_TCP_ZC_DMRX_DONTNEED_RANGES; ++i) {
        ASSERT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 1 + (3 * i)));
        ASSERT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 2 + (3 * i)));
    }
    freed = 99;
    ASSERT_UCS_OK(uct_tcp_zc_devmem_tokens_return(m_fd[1], &t, &freed));
    EXPECT_EQ(0u, freed); /* none of them was handed out */
    EXPECT_EQ(0u, t.num_ranges);
    EXPECT_EQ(0u, t.num_tokens);

    /* not a TCP socket: refused (EBADF), an error */
    udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(udp, 0);
    ASSERT_EQ(1, uct_tcp_zc_dmrx_tokens_add(&t, 1));
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_IO_ERROR,
                  uct_tcp_zc_devmem_tokens_return(udp, &t, &freed));
    }
    close(udp);
}

/* The send cmsg: exactly CMSG_LEN(4) with the binding id; the kernel takes
 * it as a devmem send and refuses an id it never bound (EINVAL), sending
 * nothing */
UCS_TEST_F(test_tcp_zc_devmem_sock, tx_cmsg)
{
    union {
        char           buf[UCT_TCP_ZC_DEVMEM_TX_CONTROL_LEN];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    struct cmsghdr *cmsg;
    struct iovec iov;
    uint32_t id;
    size_t controllen;
    int one = 1;
    char rx[16];

    controllen = uct_tcp_zc_devmem_tx_cmsg(control.buf, 0x12345);
    EXPECT_EQ(CMSG_SPACE(4), controllen);
    cmsg = (struct cmsghdr*)control.buf;
    EXPECT_EQ(SOL_SOCKET, cmsg->cmsg_level);
    EXPECT_EQ(SCM_DEVMEM_DMABUF, cmsg->cmsg_type);
    EXPECT_EQ(CMSG_LEN(4), cmsg->cmsg_len);
    memcpy(&id, CMSG_DATA(cmsg), sizeof(id));
    EXPECT_EQ(0x12345u, id);

    ASSERT_EQ(0, setsockopt(m_fd[0], SOL_SOCKET, SO_ZEROCOPY, &one,
                            sizeof(one)));
    memset(&msg, 0, sizeof(msg));
    iov.iov_base       = (void*)(uintptr_t)0; /* an offset in the dmabuf */
    iov.iov_len        = 100;
    msg.msg_iov        = &iov;
    msg.msg_iovlen     = 1;
    msg.msg_control    = control.buf;
    msg.msg_controllen = controllen;
    EXPECT_EQ(-1, sendmsg(m_fd[0], &msg, MSG_ZEROCOPY | MSG_DONTWAIT));
    EXPECT_EQ(EINVAL, errno) << strerror(errno);
    EXPECT_EQ(-1, recv(m_fd[1], rx, sizeof(rx), MSG_DONTWAIT));
    EXPECT_EQ(EAGAIN, errno);
}


/*
 * The RX pool: a udmabuf of a memfd, bound to RX queues. Here (no
 * /dev/udmabuf, no devmem device) the fallback answers; in the guest on the
 * simulated NIC (TCP_ZC_TEST_DEVMEM_IF names its device, with header split
 * on) a real binding, and a second binding of the same queue refused as
 * EEXIST.
 */
class test_tcp_zc_devmem_pool : public ucs::test {
protected:
    static const size_t POOL_SIZE = 1024 * 1024;

    /* the last RX queue of a device, from sysfs */
    static unsigned last_rx_queue(const std::string &if_name)
    {
        std::string dir = "/sys/class/net/" + if_name + "/queues";
        unsigned count  = 0;

        while (access((dir + "/rx-" + ucs::to_string(count)).c_str(), F_OK) ==
               0) {
            ++count;
        }
        return (count > 0) ? (count - 1) : 0;
    }
};


UCS_TEST_F(test_tcp_zc_devmem_pool, udmabuf)
{
    void *map;
    int fd;

    fd = uct_tcp_zc_devmem_udmabuf_create(POOL_SIZE);
    if (fd < 0) {
        EXPECT_EQ(ENOENT, errno) << strerror(errno);
        UCS_TEST_SKIP_R(std::string("udmabuf: ") + strerror(errno) +
                        " (the kernel has no /dev/udmabuf)");
    }

    EXPECT_EQ((off_t)POOL_SIZE, lseek(fd, 0, SEEK_END));
    map = mmap(NULL, POOL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE(MAP_FAILED, map) << strerror(errno);
    EXPECT_EQ(0, ((const char*)map)[POOL_SIZE - 1]);
    munmap(map, POOL_SIZE);
    close(fd);
}

/* Where there is nothing to bind: the fallback's status, never a crash */
UCS_TEST_F(test_tcp_zc_devmem_pool, lo_unsupported)
{
    uct_tcp_zc_devmem_pool_t pool;
    uint32_t queue = 0;
    ucs_status_t status;

    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        status = uct_tcp_zc_devmem_pool_create("lo", if_nametoindex("lo"),
                                               &queue, 1, POOL_SIZE, &pool);
    }
    EXPECT_EQ(UCS_ERR_UNSUPPORTED, status) << ucs_status_string(status);
    if (status == UCS_OK) {
        uct_tcp_zc_devmem_pool_destroy(&pool);
    }
}

/* On a devmem-capable device: bound, the pool's id for the walk, mapped; a
 * second pool on the same queue is refused with UCS_ERR_BUSY (EEXIST), and
 * after the first goes the queue can be bound again */
UCS_TEST_F(test_tcp_zc_devmem_pool, bind_rx)
{
    const char *if_name = getenv("TCP_ZC_TEST_DEVMEM_IF");
    uct_tcp_zc_devmem_pool_t pool, pool2;
    ucs_status_t status;
    uint32_t queue;
    int ifindex;

    if (if_name == NULL) {
        UCS_TEST_SKIP_R("TCP_ZC_TEST_DEVMEM_IF names no devmem-capable "
                        "device (the guest tests set it)");
    }

    ifindex = if_nametoindex(if_name);
    ASSERT_NE(0, ifindex) << if_name;
    queue = last_rx_queue(if_name);
    ASSERT_UCS_OK(uct_tcp_zc_devmem_pool_create(if_name, ifindex, &queue, 1,
                                                POOL_SIZE - 100, &pool));
    EXPECT_NE(0u, pool.desc.dmabuf_id);
    EXPECT_EQ(POOL_SIZE + 0, pool.size);
    EXPECT_EQ(POOL_SIZE + 0, pool.desc.size);
    EXPECT_EQ(0, ((const char*)pool.map)[0]);
    UCS_TEST_MESSAGE << if_name << " RX queue " << queue << ": binding id "
                     << pool.desc.dmabuf_id;

    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        status = uct_tcp_zc_devmem_pool_create(if_name, ifindex, &queue, 1,
                                               POOL_SIZE, &pool2);
    }
    EXPECT_EQ(UCS_ERR_BUSY, status) << ucs_status_string(status);
    if (status == UCS_OK) {
        uct_tcp_zc_devmem_pool_destroy(&pool2);
    }

    uct_tcp_zc_devmem_pool_destroy(&pool);
    EXPECT_EQ(-1, pool.dmabuf_fd);
    ASSERT_UCS_OK(uct_tcp_zc_devmem_pool_create(if_name, ifindex, &queue, 1,
                                                POOL_SIZE, &pool2));
    uct_tcp_zc_devmem_pool_destroy(&pool2);
}
