/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc_xfer.h"

#include <fstream>
#include <poll.h>


/**
 * Zero-copy send engines over real sockets on lo. The kernel copies every
 * zero-copy send to a local peer (notifications say so), so ZCOPY=y keeps
 * zero-copy on to exercise the completion path; ZCOPY=auto tests check the
 * switch to copies.
 */
class test_tcp_zc_zcopy : public test_tcp_zc_xfer,
                          public ::testing::WithParamInterface<std::string> {
protected:
    static const size_t THRESH = 16384;

    /* A zero-copy operation whose completion overwrites its source buffer:
     * if it came before the kernel let go of the pages, the receiver would
     * see the new bytes */
    struct zcomp_t {
        uct_completion_t super;
        uint8_t          *buffer;
        size_t           length;
        unsigned         calls;
        ucs_status_t     status;
    };

    test_tcp_zc_zcopy() : m_zcopy("y"), m_reprobe("1s")
    {
    }

    virtual config_map_t peer_config() const
    {
        config_map_t config = test_tcp_zc_xfer::peer_config();

        config["TX_ENGINE"]     = GetParam();
        config["ZCOPY"]         = m_zcopy;
        config["ZCOPY_THRESH"]  = ucs::to_string(THRESH);
        config["ZCOPY_REPROBE"] = m_reprobe;
        return config;
    }

    virtual void init()
    {
        test_tcp_zc_xfer::init();
        m_rx_data.clear();
        set_am_handler(m_receiver.iface, am_record_handler);
    }

    void set_am_handler(uct_iface_h iface, uct_am_callback_t cb)
    {
        ASSERT_UCS_OK(uct_iface_set_am_handler(iface, AM_ID, cb, this, 0));
    }

    uct_tcp_zc_iface_t *zc_iface(uct_iface_h iface) const
    {
        return ucs_derived_of(iface, uct_tcp_zc_iface_t);
    }

    uint64_t counter(unsigned index) const
    {
        return zc_iface(m_sender.iface)->zc.counters[index];
    }

    static ucs_status_t am_record_handler(void *arg, void *data,
                                          size_t length, unsigned flags)
    {
        test_tcp_zc_zcopy *self = (test_tcp_zc_zcopy*)arg;

        self->m_rx_data.push_back(
                std::string((const char*)data, (const char*)data + length));
        return UCS_OK;
    }

    static void zcomp_cb(uct_completion_t *comp)
    {
        zcomp_t *zcomp = ucs_container_of(comp, zcomp_t, super);

        memset(zcomp->buffer, 0xff, zcomp->length);
        zcomp->status = comp->status;
        ++zcomp->calls;
    }

    static void zcomp_init(zcomp_t *zcomp, uint8_t *buffer, size_t length)
    {
        zcomp->super.func   = zcomp_cb;
        zcomp->super.count  = 1;
        zcomp->super.status = UCS_OK;
        zcomp->buffer       = buffer;
        zcomp->length       = length;
        zcomp->calls        = 0;
        zcomp->status       = UCS_ERR_LAST;
    }

    /* The pattern of message seq */
    static void fill(uint8_t *buffer, size_t length, unsigned seq)
    {
        for (size_t i = 0; i < length; ++i) {
            buffer[i] = (uint8_t)(seq * 131 + i * 7 + (i >> 12));
        }
    }

    /* Post an operation, progressing while the transport has no resources;
     * a completed one gets its completion called here, as UCT says */
    template <typename Op> void post(Op op, zcomp_t *zcomp)
    {
        ucs_status_t status;

        while ((status = op()) == UCS_ERR_NO_RESOURCE) {
            progress();
        }

        ASSERT_UCS_OK_OR_INPROGRESS(status);
        if (status == UCS_OK) {
            zcomp->super.count = 0;
            zcomp_cb(&zcomp->super);
        }
    }

    void am_zcopy(uct_ep_h ep, uint8_t *buffer, size_t length, unsigned seq,
                  zcomp_t *zcomp)
    {
        uct_iov_t iov = make_iov(buffer, length);

        fill(buffer, length, seq);
        zcomp_init(zcomp, buffer, length);
        post([&]() {
            return uct_ep_am_zcopy(ep, AM_ID, NULL, 0, &iov, 1, 0,
                                   &zcomp->super);
        }, zcomp);
    }

    void put_zcopy(uct_ep_h ep, uint8_t *buffer, size_t length, void *remote,
                   uct_rkey_t rkey, unsigned seq, zcomp_t *zcomp)
    {
        uct_iov_t iov = make_iov(buffer, length);

        fill(buffer, length, seq);
        zcomp_init(zcomp, buffer, length);
        post([&]() {
            return uct_ep_put_zcopy(ep, &iov, 1, (uintptr_t)remote, rkey,
                                    &zcomp->super);
        }, zcomp);
    }

    /* count active messages of the largest zero-copy size, message i with
     * the pattern of i, each from a buffer of its own */
    void am_zcopy_batch(uct_ep_h ep, unsigned count,
                        std::vector<std::vector<uint8_t> > &buffers,
                        std::vector<zcomp_t> &zcomps)
    {
        const size_t length = m_sender.attr.cap.am.max_zcopy;

        buffers.assign(count, std::vector<uint8_t>(length));
        zcomps.resize(count);
        for (unsigned i = 0; i < count; ++i) {
            am_zcopy(ep, &buffers[i][0], length, i, &zcomps[i]);
        }
    }

    bool all_completed(const std::vector<zcomp_t> &zcomps) const
    {
        for (size_t i = 0; i < zcomps.size(); ++i) {
            if (zcomps[i].calls == 0) {
                return false;
            }
        }
        return true;
    }

    /* every completion was called once, with the expected status */
    void check_completions(const std::vector<zcomp_t> &zcomps,
                           bool expect_ok) const
    {
        for (size_t i = 0; i < zcomps.size(); ++i) {
            EXPECT_EQ(1u, zcomps[i].calls) << "operation " << i;
            if (expect_ok) {
                EXPECT_EQ(UCS_OK, zcomps[i].status) << "operation " << i;
            }
        }
    }

    std::string              m_zcopy;
    std::string              m_reprobe;
    std::vector<std::string> m_rx_data;
};

const size_t test_tcp_zc_zcopy::THRESH;


/*
 * Active messages around the threshold, many in flight: every completion
 * comes once, after which its buffer is overwritten, and the receiver gets
 * the original bytes of each.
 */
UCS_TEST_P(test_tcp_zc_zcopy, am_completion_after_release)
{
    static const unsigned count = 64;
    const size_t max_len        = m_sender.attr.cap.am.max_zcopy;
    const size_t sizes[]        = {THRESH - 1, THRESH, THRESH + 1, max_len};
    std::vector<std::vector<uint8_t> > buffers(count,
                                               std::vector<uint8_t>(max_len));
    std::vector<zcomp_t> zcomps(count);
    uct_ep_h ep = create_ep(m_receiver);

    for (unsigned i = 0; i < count; ++i) {
        am_zcopy(ep, &buffers[i][0], sizes[i % 4], i, &zcomps[i]);
    }

    ASSERT_TRUE(wait_for([&]() { return all_completed(zcomps); }));
    ASSERT_TRUE(wait_for([&]() { return m_rx_data.size() == count; }));
    check_completions(zcomps, true);

    std::vector<uint8_t> expected(max_len);
    for (unsigned i = 0; i < count; ++i) {
        ASSERT_EQ(sizes[i % 4], m_rx_data[i].size()) << i;
        fill(&expected[0], sizes[i % 4], i);
        EXPECT_TRUE(memcmp(&expected[0], m_rx_data[i].data(),
                           sizes[i % 4]) == 0) << "message " << i;
    }

    /* 48 of the 64 are at or above the threshold; lo copies every one */
    EXPECT_GE(counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS), 48u);
    EXPECT_GE(counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_BYTES),
              16 * (THRESH + THRESH + 1 + max_len));
    EXPECT_GT(counter(UCT_TCP_ZC_IFACE_STAT_COPIED_BYTES), 0u);
    EXPECT_EQ(0u, counter(UCT_TCP_ZC_IFACE_STAT_FALLBACK_COPIED));
    flush_ep(ep);
}

/*
 * PUT zero-copy from 16 KiB - 1 to 8 MiB: large ones take many partial
 * sends and ids; the completion may come only after the target wrote the
 * data and the kernel released every page.
 */
UCS_TEST_P(test_tcp_zc_zcopy, put_completion_after_release)
{
    const size_t sizes[] = {THRESH - 1, THRESH, THRESH + 1, 1 * UCS_MBYTE,
                            8 * UCS_MBYTE};
    const unsigned count = sizeof(sizes) / sizeof(sizes[0]);
    const size_t max_len = 8 * UCS_MBYTE;
    std::vector<std::vector<uint8_t> > buffers(count);
    std::vector<uint8_t> dst(count * max_len), expected(max_len);
    std::vector<uint8_t> rkey_buffer(256);
    std::vector<zcomp_t> zcomps(count);
    uct_rkey_bundle_t rkey;
    uct_mem_h dst_memh;
    uct_ep_h ep = create_ep(m_receiver);

    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &dst[0], dst.size(),
                                 UCT_MD_MEM_ACCESS_ALL, &dst_memh));
    ASSERT_UCS_OK(uct_md_mkey_pack(m_md, dst_memh, &rkey_buffer[0]));
    ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0], &rkey));

    for (unsigned i = 0; i < count; ++i) {
        buffers[i].resize(sizes[i]);
        put_zcopy(ep, &buffers[i][0], sizes[i], &dst[i * max_len], rkey.rkey,
                  i, &zcomps[i]);
    }

    ASSERT_TRUE(wait_for([&]() { return all_completed(zcomps); }));
    check_completions(zcomps, true);
    for (unsigned i = 0; i < count; ++i) {
        fill(&expected[0], sizes[i], i);
        EXPECT_TRUE(memcmp(&expected[0], &dst[i * max_len], sizes[i]) == 0)
                << "size " << sizes[i];
    }

    if (counter(UCT_TCP_ZC_IFACE_STAT_FALLBACK_NOBUFS) == 0) {
        EXPECT_GE(counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_BYTES),
                  THRESH + THRESH + 1 + 9 * UCS_MBYTE);
    } else {
        /* an unprivileged user's locked-memory limit: the kernel could not
         * pin the pages of the largest sends, which went as copies */
        UCS_TEST_MESSAGE << counter(UCT_TCP_ZC_IFACE_STAT_FALLBACK_NOBUFS)
                         << " sends copied at the locked-memory limit";
    }
    flush_ep(ep);
    uct_rkey_release(m_component, &rkey);
    ASSERT_UCS_OK(uct_md_mem_dereg(m_md, dst_memh));
}

/* A flush completes only after the kernel released every zero-copy page */
UCS_TEST_P(test_tcp_zc_zcopy, flush_waits_for_release)
{
    std::vector<std::vector<uint8_t> > buffers;
    std::vector<zcomp_t> zcomps;
    uct_ep_h ep = create_ep(m_receiver);

    am_zcopy_batch(ep, 32, buffers, zcomps);
    flush_ep(ep);
    EXPECT_TRUE(all_completed(zcomps));
    check_completions(zcomps, true);
    EXPECT_EQ(UCS_OK, uct_iface_flush(m_sender.iface, 0, NULL));
}

/*
 * Wakeup: the send completion of a zero-copy operation (error queue
 * notification or io_uring completion) makes the iface event fd readable,
 * so a user who sleeps on it (UCP wakeup mode) gets the completion.
 */
UCS_TEST_P(test_tcp_zc_zcopy, send_completion_wakes_up)
{
    const size_t length = 4 * THRESH;
    std::vector<uint8_t> buffer(length);
    uct_ep_h ep = create_ep(m_receiver);
    struct pollfd pfd;
    zcomp_t zcomp;
    int event_fd;

    /* connected first */
    am_zcopy(ep, &buffer[0], length, 0, &zcomp);
    flush_ep(ep);
    ASSERT_TRUE(wait_for([&]() { return m_rx_data.size() == 1; }));

    ASSERT_UCS_OK(uct_iface_event_fd_get(m_sender.iface, &event_fd));
    am_zcopy(ep, &buffer[0], length, 1, &zcomp);
    ASSERT_EQ(0u, zcomp.calls);

    /* sleep on the event fd, progressing only when it says so */
    ucs_time_t deadline = ucs_get_time() + ucs_time_from_sec(10.0);
    while ((zcomp.calls == 0) && (ucs_get_time() < deadline)) {
        ASSERT_UCS_OK(uct_iface_event_arm(m_sender.iface,
                                          UCT_EVENT_SEND_COMP |
                                          UCT_EVENT_RECV));
        pfd.fd      = event_fd;
        pfd.events  = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 1000) > 0) {
            uct_iface_progress(m_sender.iface);
        }
        /* the receiver runs in this thread too */
        uct_iface_progress(m_receiver.iface);
    }

    EXPECT_EQ(1u, zcomp.calls);
    EXPECT_EQ(UCS_OK, zcomp.status);
    EXPECT_GE(counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS), 2u);
    flush_ep(ep);
}

/*
 * ZCOPY=auto: lo copies every send, so the connection switches to copies
 * after a few notifications, and tries zero-copy again after the reprobe
 * time.
 */
class test_tcp_zc_zcopy_auto : public test_tcp_zc_zcopy {
protected:
    test_tcp_zc_zcopy_auto()
    {
        m_zcopy   = "auto";
        m_reprobe = "100ms";
    }

    /* send count messages, flushing after each */
    void send_flushed(uct_ep_h ep, unsigned count)
    {
        const size_t length = 4 * THRESH;
        std::vector<uint8_t> buffer(length);
        zcomp_t zcomp;

        for (unsigned i = 0; i < count; ++i) {
            am_zcopy(ep, &buffer[0], length, i, &zcomp);
            flush_ep(ep);
            ASSERT_EQ(1u, zcomp.calls);
        }
    }
};

UCS_TEST_P(test_tcp_zc_zcopy_auto, switch_to_copy_and_reprobe)
{
    uct_ep_h ep = create_ep(m_receiver);
    uint64_t zcopy_sends;

    send_flushed(ep, 64);
    EXPECT_EQ(1u, counter(UCT_TCP_ZC_IFACE_STAT_FALLBACK_COPIED));
    zcopy_sends = counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS);
    EXPECT_GE(zcopy_sends, 8u);
    EXPECT_LT(zcopy_sends, 64u);
    EXPECT_EQ(0u, counter(UCT_TCP_ZC_IFACE_STAT_REPROBE));

    /* still copying */
    send_flushed(ep, 16);
    EXPECT_EQ(zcopy_sends, counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS));

    /* one copied send is enough to switch back */
    usleep(150000);
    send_flushed(ep, 64);
    EXPECT_EQ(1u, counter(UCT_TCP_ZC_IFACE_STAT_REPROBE));
    EXPECT_EQ(2u, counter(UCT_TCP_ZC_IFACE_STAT_FALLBACK_COPIED));
    EXPECT_GT(counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS), zcopy_sends);
    EXPECT_LE(counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS), zcopy_sends + 2);

    /* the next re-probe waits twice as long: 200 ms */
    usleep(100000);
    send_flushed(ep, 8);
    EXPECT_EQ(1u, counter(UCT_TCP_ZC_IFACE_STAT_REPROBE));
    usleep(150000);
    send_flushed(ep, 8);
    EXPECT_EQ(2u, counter(UCT_TCP_ZC_IFACE_STAT_REPROBE));
    EXPECT_TRUE(wait_for([&]() {
        return m_rx_data.size() == 64 + 16 + 64 + 8 + 8;
    }));
}

/*
 * Teardown with zero-copy sends outstanding: the receiver does not progress,
 * so the sender's socket fills up and operations stay queued or in flight.
 */
class test_tcp_zc_zcopy_teardown : public test_tcp_zc_zcopy {
protected:
    static const unsigned COUNT  = 16;
    static const size_t   LENGTH = 4 * UCS_MBYTE;

    void post_puts(uct_ep_h ep)
    {
        /* connected, so the first operations go out at once */
        uint64_t hello = 0;
        while (uct_ep_am_short(ep, AM_ID, hello, NULL, 0) ==
               UCS_ERR_NO_RESOURCE) {
            progress();
        }
        flush_ep(ep);

        m_buffers.assign(COUNT, std::vector<uint8_t>(LENGTH));
        m_zcomps.resize(COUNT);
        m_dst.resize(LENGTH);
        ASSERT_UCS_OK(uct_md_mem_reg(m_md, &m_dst[0], LENGTH,
                                     UCT_MD_MEM_ACCESS_ALL, &m_dst_memh));
        std::vector<uint8_t> rkey_buffer(256);
        ASSERT_UCS_OK(uct_md_mkey_pack(m_md, m_dst_memh, &rkey_buffer[0]));
        ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0], &m_rkey));

        for (unsigned i = 0; i < COUNT; ++i) {
            uct_iov_t iov = make_iov(&m_buffers[i][0], LENGTH);
            zcomp_init(&m_zcomps[i], &m_buffers[i][0], LENGTH);
            ucs_status_t status = uct_ep_put_zcopy(ep, &iov, 1,
                                                   (uintptr_t)&m_dst[0],
                                                   m_rkey.rkey,
                                                   &m_zcomps[i].super);
            if (status == UCS_ERR_NO_RESOURCE) {
                /* the rest would go to the pending queue */
                m_zcomps.resize(i);
                break;
            }
            ASSERT_EQ(UCS_INPROGRESS, status);
        }

        /* only the sender progresses: its sends stay outstanding */
        uct_iface_progress(m_sender.iface);
        ASSERT_FALSE(m_zcomps.empty());
    }

    void release()
    {
        uct_rkey_release(m_component, &m_rkey);
        ASSERT_UCS_OK(uct_md_mem_dereg(m_md, m_dst_memh));
    }

    std::vector<std::vector<uint8_t> > m_buffers;
    std::vector<zcomp_t>               m_zcomps;
    std::vector<uint8_t>               m_dst;
    uct_mem_h                          m_dst_memh;
    uct_rkey_bundle_t                  m_rkey;
};

UCS_TEST_P(test_tcp_zc_zcopy_teardown, ep_destroy)
{
    uct_ep_h ep = create_ep(m_receiver);

    post_puts(ep);
    m_eps.clear();
    uct_ep_destroy(ep);

    /* destroyed: every outstanding operation completed once, canceled (UCT
     * completes them all within the destroy: the connection was aborted, so
     * the kernel dropped the pages it held) */
    check_completions(m_zcomps, false);
    for (size_t i = 0; i < m_zcomps.size(); ++i) {
        EXPECT_EQ(UCS_ERR_CANCELED, m_zcomps[i].status) << i;
    }

    /* nothing more comes later */
    for (unsigned i = 0; i < 100; ++i) {
        progress();
    }
    check_completions(m_zcomps, false);
    release();
}

/*
 * The connection goes while the endpoint stays (a flush which cancels): the
 * sends whose pages the kernel holds complete once it released them, and not
 * after a time-out. io_uring reports the release later (its sends completed
 * at once before); MSG_ZEROCOPY sends are released by the abort of the
 * connection itself on lo, whose notifications are read before they complete
 * (a socket lingers for those which a device still holds).
 */
UCS_TEST_P(test_tcp_zc_zcopy_teardown, flush_cancel)
{
    uct_ep_h ep = create_ep(m_receiver);
    ucs_time_t start;
    double elapsed;

    post_puts(ep);
    EXPECT_UCS_OK(uct_ep_flush(ep, UCT_FLUSH_FLAG_CANCEL, NULL));
    if (GetParam() == "uring") {
        EXPECT_FALSE(all_completed(m_zcomps));
    }

    start = ucs_get_time();
    ASSERT_TRUE(wait_for([&]() { return all_completed(m_zcomps); }));
    elapsed = ucs_time_to_sec(ucs_get_time() - start);
    EXPECT_LT(elapsed, 0.5) << "completed by the time-out, not the kernel";
    check_completions(m_zcomps, false);
    for (size_t i = 0; i < m_zcomps.size(); ++i) {
        EXPECT_EQ(UCS_ERR_CANCELED, m_zcomps[i].status) << i;
    }
    release();
}

UCS_TEST_P(test_tcp_zc_zcopy_teardown, peer_reset)
{
    scoped_log_handler wrap_err(wrap_errors_logger);
    uct_ep_h ep = create_ep(m_receiver);

    set_err_handler(m_sender.iface);
    post_puts(ep);

    /* the receiver goes away with unread data: its kernel resets the
     * connection */
    uct_iface_close(m_receiver.iface);
    m_receiver.iface = NULL;

    ASSERT_TRUE(wait_for([&]() { return all_completed(m_zcomps); }));
    ASSERT_TRUE(wait_for([&]() { return m_err_count > 0; }));
    check_completions(m_zcomps, false);
    for (size_t i = 0; i < m_zcomps.size(); ++i) {
        EXPECT_NE(UCS_OK, m_zcomps[i].status) << i;
    }

    open_peer(&m_receiver);
    release();
}

UCS_TEST_P(test_tcp_zc_zcopy_teardown, iface_close)
{
    uct_ep_h ep = create_ep(m_receiver);

    post_puts(ep);
    m_eps.clear();
    uct_ep_destroy(ep);
    uct_iface_close(m_sender.iface);
    check_completions(m_zcomps, false);

    open_peer(&m_sender);
    release();
}


/*
 * The error queue engine under memory pressure: with no socket option
 * memory for notifications every MSG_ZEROCOPY send fails with ENOBUFS and is
 * sent with a copy instead; nothing is lost or reordered.
 */
class test_tcp_zc_zcopy_enobufs : public test_tcp_zc_zcopy {
protected:
    static const char *optmem_path()
    {
        return "/proc/sys/net/core/optmem_max";
    }


    static bool write_optmem(const std::string &value)
    {
        std::ofstream file(optmem_path());

        file << value << std::endl;
        return file.good();
    }

    virtual void init()
    {
        /* only in the network namespace which the test runner created
         * (and marked with its veth pair) may the test change settings */
        if (test_veth_devices().empty()) {
            UCS_TEST_SKIP_R("needs the test runner's network namespace");
        }

        std::ifstream file(optmem_path());
        if (!(file >> m_optmem) || !write_optmem("0")) {
            UCS_TEST_SKIP_R("cannot change net.core.optmem_max");
        }

        test_tcp_zc_zcopy::init();
    }

    virtual void cleanup()
    {
        test_tcp_zc_zcopy::cleanup();
        if (!m_optmem.empty()) {
            write_optmem(m_optmem);
        }
    }

    std::string m_optmem;
};

UCS_TEST_P(test_tcp_zc_zcopy_enobufs, copied_instead)
{
    static const unsigned count = 32;
    const size_t length         = m_sender.attr.cap.am.max_zcopy;
    std::vector<std::vector<uint8_t> > buffers;
    std::vector<uint8_t> expected(length);
    std::vector<zcomp_t> zcomps;
    uct_ep_h ep = create_ep(m_receiver);

    am_zcopy_batch(ep, count, buffers, zcomps);

    flush_ep(ep);
    ASSERT_TRUE(wait_for([&]() { return m_rx_data.size() == count; }));
    check_completions(zcomps, true);
    for (unsigned i = 0; i < count; ++i) {
        fill(&expected[0], length, i);
        EXPECT_TRUE(memcmp(&expected[0], m_rx_data[i].data(), length) == 0)
                << "message " << i;
    }

    EXPECT_GE(counter(UCT_TCP_ZC_IFACE_STAT_FALLBACK_NOBUFS), count);
    EXPECT_EQ(0u, counter(UCT_TCP_ZC_IFACE_STAT_ZCOPY_SENDS));
}


#define UCT_TCP_ZC_INSTANTIATE_ENGINES(_fixture) \
    INSTANTIATE_TEST_SUITE_P(errqueue, _fixture, \
                             ::testing::Values("errqueue")); \
    INSTANTIATE_TEST_SUITE_P(uring, _fixture, ::testing::Values("uring"));

UCT_TCP_ZC_INSTANTIATE_ENGINES(test_tcp_zc_zcopy)
UCT_TCP_ZC_INSTANTIATE_ENGINES(test_tcp_zc_zcopy_auto)
UCT_TCP_ZC_INSTANTIATE_ENGINES(test_tcp_zc_zcopy_teardown)
INSTANTIATE_TEST_SUITE_P(errqueue, test_tcp_zc_zcopy_enobufs,
                         ::testing::Values("errqueue"));
