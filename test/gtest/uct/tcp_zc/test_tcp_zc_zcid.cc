/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include <common/test.h>

extern "C" {
#include <uct/tcp_zc/tcp_zc_tx.h>
#include <uct/tcp_zc/tcp_zc_uapi.h>
#include <uct/tcp_zc/tcp_zc_zcid.h>
}

#include <netinet/in.h>


/* Unit tests of the MSG_ZEROCOPY id tracker, on synthesized notifications */
class test_tcp_zc_zcid : public ucs::test {
protected:
    virtual void init()
    {
        ucs::test::init();
        uct_tcp_zc_zcid_init(&m_zcid, 0);
    }

    /* issue count zero-copy sends, return the id of the first one */
    uint32_t send(unsigned count)
    {
        uint32_t first = m_zcid.next;

        for (unsigned i = 0; i < count; ++i) {
            EXPECT_TRUE(uct_tcp_zc_zcid_can_send(&m_zcid));
            EXPECT_EQ(first + i, uct_tcp_zc_zcid_sent(&m_zcid));
        }

        return first;
    }

    void expect_done_before(uint32_t id)
    {
        EXPECT_TRUE(uct_tcp_zc_zcid_is_done(&m_zcid, id - 1)) << id - 1;
        EXPECT_FALSE(uct_tcp_zc_zcid_is_done(&m_zcid, id)) << id;
    }

    uct_tcp_zc_zcid_t m_zcid;
};


UCS_TEST_F(test_tcp_zc_zcid, in_order)
{
    send(10);
    EXPECT_EQ(10u, uct_tcp_zc_zcid_outstanding(&m_zcid));
    EXPECT_FALSE(uct_tcp_zc_zcid_is_done(&m_zcid, 0));

    for (uint32_t id = 0; id < 10; ++id) {
        ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, id, id));
        expect_done_before(id + 1);
    }

    EXPECT_EQ(0u, uct_tcp_zc_zcid_outstanding(&m_zcid));
}

UCS_TEST_F(test_tcp_zc_zcid, coalesced_ranges)
{
    send(100);
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 0, 41));
    expect_done_before(42);
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 42, 99));
    expect_done_before(100);
    EXPECT_EQ(0u, uct_tcp_zc_zcid_outstanding(&m_zcid));
}

UCS_TEST_F(test_tcp_zc_zcid, out_of_order)
{
    send(20);

    /* later ranges first: nothing before them is done yet */
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 10, 14));
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 5, 7));
    expect_done_before(0);
    EXPECT_EQ(20u, uct_tcp_zc_zcid_outstanding(&m_zcid));

    /* the gap closes: done moves over everything reported so far */
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 0, 4));
    expect_done_before(8);
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 8, 9));
    expect_done_before(15);
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 15, 19));
    expect_done_before(20);

    /* the bitmap is clean again: the same ids a window later work */
    send(UCT_TCP_ZC_ZCID_WINDOW);
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 20,
                                           20 + UCT_TCP_ZC_ZCID_WINDOW - 1));
    EXPECT_EQ(0u, uct_tcp_zc_zcid_outstanding(&m_zcid));
}

UCS_TEST_F(test_tcp_zc_zcid, wrap)
{
    const uint32_t first = 0xfffffff0u;

    uct_tcp_zc_zcid_init(&m_zcid, first);
    EXPECT_EQ(first, send(32));
    EXPECT_EQ(16u, m_zcid.next);

    /* one range across the wrap, as the kernel coalesces it */
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, first + 4, 3));
    expect_done_before(first);
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, first, first + 3));
    expect_done_before(4);
    EXPECT_TRUE(uct_tcp_zc_zcid_is_done(&m_zcid, 0xffffffffu));

    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 4, 15));
    expect_done_before(16);
    EXPECT_EQ(0u, uct_tcp_zc_zcid_outstanding(&m_zcid));
}

UCS_TEST_F(test_tcp_zc_zcid, window_full)
{
    unsigned i;

    for (i = 0; i < UCT_TCP_ZC_ZCID_WINDOW; ++i) {
        ASSERT_TRUE(uct_tcp_zc_zcid_can_send(&m_zcid));
        uct_tcp_zc_zcid_sent(&m_zcid);
    }
    EXPECT_FALSE(uct_tcp_zc_zcid_can_send(&m_zcid));

    /* an out-of-order report does not free the window */
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 1, 1));
    EXPECT_FALSE(uct_tcp_zc_zcid_can_send(&m_zcid));

    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 0, 0));
    EXPECT_TRUE(uct_tcp_zc_zcid_can_send(&m_zcid));
    EXPECT_EQ(UCT_TCP_ZC_ZCID_WINDOW - 2,
              uct_tcp_zc_zcid_outstanding(&m_zcid));
}

UCS_TEST_F(test_tcp_zc_zcid, operations_and_ids)
{
    uint32_t op1_last, op2_last, op3_last;

    /* op1 needs three send calls (partial sends) */
    send(3);
    op1_last = m_zcid.next - 1;
    /* op2 and op3 go out together in one call: they share one id */
    op2_last = op3_last = send(1);

    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 1, 3));
    EXPECT_FALSE(uct_tcp_zc_zcid_is_done(&m_zcid, op1_last));
    EXPECT_FALSE(uct_tcp_zc_zcid_is_done(&m_zcid, op2_last));

    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 0, 0));
    EXPECT_TRUE(uct_tcp_zc_zcid_is_done(&m_zcid, op1_last));
    EXPECT_TRUE(uct_tcp_zc_zcid_is_done(&m_zcid, op2_last));
    EXPECT_TRUE(uct_tcp_zc_zcid_is_done(&m_zcid, op3_last));
}

UCS_TEST_F(test_tcp_zc_zcid, invalid_reports)
{
    send(10);

    /* ids which were never sent */
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, uct_tcp_zc_zcid_complete(&m_zcid, 10, 10));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, uct_tcp_zc_zcid_complete(&m_zcid, 5, 12));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              uct_tcp_zc_zcid_complete(&m_zcid, 0xfffffffeu, 2));
    /* an empty or reversed range */
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, uct_tcp_zc_zcid_complete(&m_zcid, 3, 1));
    expect_done_before(0);

    /* reported twice */
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 4, 6));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, uct_tcp_zc_zcid_complete(&m_zcid, 6, 8));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, uct_tcp_zc_zcid_complete(&m_zcid, 0, 5));
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 0, 3));
    expect_done_before(7);
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, uct_tcp_zc_zcid_complete(&m_zcid, 2, 2));

    /* the failed reports changed nothing */
    ASSERT_UCS_OK(uct_tcp_zc_zcid_complete(&m_zcid, 7, 9));
    EXPECT_EQ(0u, uct_tcp_zc_zcid_outstanding(&m_zcid));
}


/* Parsing of error queue messages, on synthesized control messages */
class test_tcp_zc_errqueue_parse : public ucs::test {
protected:
    /* a message as recvmsg(MSG_ERRQUEUE) returns it */
    void make_msg(int level, int type, uint8_t origin, uint32_t ee_errno,
                  uint8_t code, uint32_t lo, uint32_t hi,
                  size_t data_len = sizeof(struct sock_extended_err))
    {
        struct sock_extended_err serr = {};
        struct cmsghdr *cmsg;

        serr.ee_errno  = ee_errno;
        serr.ee_origin = origin;
        serr.ee_code   = code;
        serr.ee_info   = lo;
        serr.ee_data   = hi;

        memset(m_control, 0, sizeof(m_control));
        memset(&m_msg, 0, sizeof(m_msg));
        m_msg.msg_control    = m_control;
        m_msg.msg_controllen = CMSG_SPACE(data_len);
        m_msg.msg_flags      = MSG_ERRQUEUE;
        cmsg                 = CMSG_FIRSTHDR(&m_msg);
        cmsg->cmsg_level     = level;
        cmsg->cmsg_type      = type;
        cmsg->cmsg_len       = CMSG_LEN(data_len);
        memcpy(CMSG_DATA(cmsg), &serr, ucs_min(data_len, sizeof(serr)));
    }

    ucs_status_t parse()
    {
        return uct_tcp_zc_errqueue_parse(&m_msg, &m_notif);
    }

    char                  m_control[CMSG_SPACE(
                                  sizeof(struct sock_extended_err)) + 64];
    struct msghdr         m_msg;
    uct_tcp_zc_zc_notif_t m_notif;
};

UCS_TEST_F(test_tcp_zc_errqueue_parse, ipv4)
{
    make_msg(SOL_IP, IP_RECVERR, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 5, 9);
    ASSERT_UCS_OK(parse());
    EXPECT_EQ(5u, m_notif.lo);
    EXPECT_EQ(9u, m_notif.hi);
    EXPECT_FALSE(m_notif.copied);
}

/* AF_INET6 sockets report at the IPv6 level, also for IPv4 peers */
UCS_TEST_F(test_tcp_zc_errqueue_parse, ipv6_copied)
{
    make_msg(SOL_IPV6, IPV6_RECVERR, SO_EE_ORIGIN_ZEROCOPY, 0,
             SO_EE_CODE_ZEROCOPY_COPIED, 0xfffffffeu, 3);
    ASSERT_UCS_OK(parse());
    EXPECT_EQ(0xfffffffeu, m_notif.lo);
    EXPECT_EQ(3u, m_notif.hi);
    EXPECT_TRUE(m_notif.copied);
}

UCS_TEST_F(test_tcp_zc_errqueue_parse, not_a_notification)
{
    /* an ICMP error, a local error with an errno, mixed level and type */
    make_msg(SOL_IP, IP_RECVERR, SO_EE_ORIGIN_ICMP, EHOSTUNREACH, 0, 0, 0);
    EXPECT_EQ(UCS_ERR_NO_ELEM, parse());
    make_msg(SOL_IP, IP_RECVERR, SO_EE_ORIGIN_ZEROCOPY, ENOBUFS, 0, 0, 0);
    EXPECT_EQ(UCS_ERR_NO_ELEM, parse());
    make_msg(SOL_IP, IPV6_RECVERR, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0, 0);
    EXPECT_EQ(UCS_ERR_NO_ELEM, parse());
    make_msg(SOL_SOCKET, IP_RECVERR, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0, 0);
    EXPECT_EQ(UCS_ERR_NO_ELEM, parse());
}

UCS_TEST_F(test_tcp_zc_errqueue_parse, malformed)
{
    /* control data truncated by the kernel */
    make_msg(SOL_IP, IP_RECVERR, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0, 1);
    m_msg.msg_flags |= MSG_CTRUNC;
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, parse());

    /* too short to hold the error */
    make_msg(SOL_IP, IP_RECVERR, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0, 1, 8);
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, parse());

    /* no control message */
    make_msg(SOL_IP, IP_RECVERR, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0, 1);
    m_msg.msg_controllen = 0;
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, parse());
}
