/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include <common/test.h>

extern "C" {
#include <uct/tcp_zc/tcp_zc_tx.h>
#include <ucs/time/time.h>
}

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <set>
#include <vector>
#include <string>


/*
 * The io_uring send engine alone, over a TCP connection on lo: what is
 * submitted is sent once, and completions stay within the completion queue.
 */
class test_tcp_zc_uring : public ucs::test {
protected:
    virtual void init()
    {
        int send_zc = 0, report = 0;
        struct sockaddr_in addr = {};
        socklen_t len           = sizeof(addr);
        int lfd;

        ucs::test::init();
        m_ring = NULL;
        m_fd   = m_peer = -1;
        ASSERT_UCS_OK(uct_tcp_zc_uring_probe(&send_zc, &report));
        if (!send_zc) {
            UCS_TEST_SKIP_R("the kernel's io_uring has no SENDMSG_ZC");
        }

        ASSERT_UCS_OK(uct_tcp_zc_uring_create(4, &m_ring));

        lfd                  = socket(AF_INET, SOCK_STREAM, 0);
        addr.sin_family      = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(0, bind(lfd, (struct sockaddr*)&addr, sizeof(addr)));
        ASSERT_EQ(0, listen(lfd, 1));
        ASSERT_EQ(0, getsockname(lfd, (struct sockaddr*)&addr, &len));
        m_fd = socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_EQ(0, connect(m_fd, (struct sockaddr*)&addr, sizeof(addr)));
        m_peer = accept(lfd, NULL, NULL);
        ASSERT_GE(m_peer, 0);
        close(lfd);
        fcntl(m_peer, F_SETFL, O_NONBLOCK);
    }

    virtual void cleanup()
    {
        if (m_ring != NULL) {
            uct_tcp_zc_uring_destroy(m_ring);
        }
        if (m_fd >= 0) {
            close(m_fd);
        }
        if (m_peer >= 0) {
            close(m_peer);
        }
        ucs::test::cleanup();
    }

    struct send_t {
        std::string   data;
        struct iovec  iov;
        struct msghdr msg;
    };

    static void prepare(send_t *s, const std::string &data)
    {
        s->data         = data;
        s->iov.iov_base = &s->data[0];
        s->iov.iov_len  = s->data.size();
        memset(&s->msg, 0, sizeof(s->msg));
        s->msg.msg_iov    = &s->iov;
        s->msg.msg_iovlen = 1;
    }

    static void comp_cb(void *arg, const uct_tcp_zc_uring_comp_t *comp)
    {
        test_tcp_zc_uring *self = (test_tcp_zc_uring*)arg;

        self->m_seen.insert(comp->user_data);
        if (!comp->notif) {
            EXPECT_GT(comp->res, 0);
            ++self->m_results;
        }
    }

    /* reap until every completion is in, bounded */
    void reap_all()
    {
        ucs_time_t deadline = ucs_get_time() + ucs_time_from_sec(10.0);

        while ((uct_tcp_zc_uring_inflight(m_ring) > 0) &&
               (ucs_get_time() < deadline)) {
            if (uct_tcp_zc_uring_reap(m_ring, comp_cb, this) == 0) {
                (void)uct_tcp_zc_uring_wait(m_ring, 1000);
            }
        }
        EXPECT_EQ(0u, uct_tcp_zc_uring_inflight(m_ring));
    }

    /* everything the peer received */
    std::string received()
    {
        std::string result;
        char buf[4096];
        ssize_t ret;

        while ((ret = recv(m_peer, buf, sizeof(buf), 0)) > 0) {
            result.append(buf, ret);
        }
        return result;
    }

    uct_tcp_zc_uring_t *m_ring;
    int                m_fd, m_peer;
    std::set<void*>    m_seen;
    unsigned           m_results;
};


/*
 * A send whose submit failed is sent by the caller with a copy: the request
 * must not stay in the submission queue, where the next submit sent it again
 * (its bytes twice in the stream, and a completion naming a descriptor which
 * the caller had freed).
 */
UCS_TEST_F(test_tcp_zc_uring, failed_submit_not_sent_again)
{
    int ring_fd = uct_tcp_zc_uring_event_fd(m_ring);
    int saved   = dup(ring_fd);
    int null_fd = open("/dev/null", O_RDONLY);
    send_t first, second;

    m_results = 0;
    prepare(&first, std::string(1000, 'A'));
    prepare(&second, std::string(1000, 'B'));

    /* io_uring_enter on something else than the ring fails */
    ASSERT_EQ(ring_fd, dup2(null_fd, ring_fd));
    {
        scoped_log_handler wrap(hide_errors_logger);
        EXPECT_NE(UCS_OK, uct_tcp_zc_uring_sendmsg(m_ring, m_fd, &first.msg,
                                                   &first));
    }
    ASSERT_EQ(ring_fd, dup2(saved, ring_fd));
    close(saved);
    close(null_fd);

    ASSERT_UCS_OK(uct_tcp_zc_uring_sendmsg(m_ring, m_fd, &second.msg,
                                           &second));
    reap_all();

    EXPECT_EQ(1u, m_results);
    EXPECT_EQ(0u, m_seen.count(&first));
    EXPECT_EQ(1u, m_seen.count(&second));
    EXPECT_EQ(second.data, received());
}

/*
 * Sends without reaping stop at what the completion queue holds (a result
 * and a notification each), instead of growing the kernel's overflow list;
 * each accepted one is sent exactly once.
 */
UCS_TEST_F(test_tcp_zc_uring, completions_bounded)
{
    static const unsigned max_attempts = 64;
    std::vector<send_t> sends(max_attempts); /* never reallocated */
    std::string expected;
    ucs_status_t status;
    unsigned count;

    m_results = 0;
    for (count = 0; count < max_attempts; ++count) {
        prepare(&sends[count], std::string(100, 'a' + (count % 26)));
        status = uct_tcp_zc_uring_sendmsg(m_ring, m_fd, &sends[count].msg,
                                          &sends[count]);
        if (status == UCS_ERR_NO_RESOURCE) {
            break;
        }
        ASSERT_UCS_OK(status);
        expected += sends[count].data;
        EXPECT_LE(uct_tcp_zc_uring_inflight(m_ring), 2 * (count + 1));
    }

    /* a ring of 4 entries has 8 completion entries: 4 sends */
    EXPECT_EQ(4u, count);
    reap_all();
    EXPECT_EQ(count, m_results);
    EXPECT_EQ(expected, received());

    /* room again */
    EXPECT_UCS_OK(uct_tcp_zc_uring_sendmsg(m_ring, m_fd, &sends[0].msg,
                                           &sends[0]));
    reap_all();
}
