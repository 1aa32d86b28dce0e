/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

extern "C" {
#include <uct/tcp_zc/tcp_zc_netdev.h>
#include <uct/tcp_zc/tcp_zc_uapi.h>
#include <ucs/config/global_opts.h>
#include <ucs/debug/memtrack_int.h>
}

#include <linux/capability.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <linux/genetlink.h>
#include <dirent.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <set>
#include <sstream>


/* The libnl-3 functions which the tests parse messages with */
namespace libnl {

using ::nla_data;
using ::nla_get_u32;
using ::nla_len;
using ::nla_nest_start;
using ::nla_next;
using ::nla_ok;
using ::nla_parse;
using ::nla_type;
using ::nlmsg_free;
using ::nlmsg_hdr;

/* The attributes of a payload in order, walked as libnl's
 * nla_for_each_attr/nla_for_each_nested do */
static std::vector<struct nlattr*> attrs(void *head, int len)
{
    std::vector<struct nlattr*> result;
    struct nlattr *nla = (struct nlattr*)head;
    int rem            = len;

    for (; nla_ok(nla, rem); nla = nla_next(nla, &rem)) {
        result.push_back(nla);
    }

    EXPECT_EQ(0, rem) << "bytes after the last attribute";
    return result;
}

static std::vector<struct nlattr*> nested(struct nlattr *nest)
{
    return attrs(nla_data(nest), nla_len(nest));
}

} /* namespace libnl */


/* Building of the netdev requests and parsing of netlink errors, on
 * synthesized messages */
class test_tcp_zc_netdev_msg : public ucs::test {
protected:
    /* a family id of no real family */
    enum {
        FAMILY_ID = 0x1234
    };

    test_tcp_zc_netdev_msg() : m_msg(NULL)
    {
        memset(&m_genl, 0, sizeof(m_genl));
        m_genl.family_id = FAMILY_ID;
        m_genl.version   = 1;
    }

    virtual void init()
    {
        ucs::test::init();
    }

    virtual void cleanup()
    {
        if (m_msg != NULL) {
            libnl::nlmsg_free(m_msg);
        }
        ucs::test::cleanup();
    }

    /* a request of the fake family; its attributes come from put */
    struct nlmsghdr *request(uint8_t cmd)
    {
        m_msg = uct_tcp_zc_genl_msg(&m_genl, cmd, 0);
        EXPECT_TRUE(m_msg != NULL);
        return libnl::nlmsg_hdr(m_msg);
    }

    /* the top-level attributes of the request, after the genl header */
    std::vector<struct nlattr*> request_attrs()
    {
        struct nlmsghdr *nlh     = libnl::nlmsg_hdr(m_msg);
        struct genlmsghdr *genlh = (struct genlmsghdr*)NLMSG_DATA(nlh);

        EXPECT_EQ(int(FAMILY_ID), nlh->nlmsg_type);
        EXPECT_TRUE(nlh->nlmsg_flags & NLM_F_REQUEST);
        return libnl::attrs((char*)genlh + GENL_HDRLEN,
                        nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
    }

    /* offset of an attribute in the request, as the kernel reports it */
    int request_offset(const struct nlattr *nla)
    {
        return (const char*)nla - (const char*)libnl::nlmsg_hdr(m_msg);
    }

    uct_tcp_zc_genl_t m_genl;
    struct nl_msg     *m_msg;
};


UCS_TEST_F(test_tcp_zc_netdev_msg, bind_rx)
{
    const uint32_t queues[] = {3, 0, 7};
    struct nlattr *tb[NETDEV_A_DMABUF_ID + 1];
    std::vector<struct nlattr*> attrs, nested;
    struct nlmsghdr *nlh;
    unsigned i;

    nlh = request(NETDEV_CMD_BIND_RX);
    ASSERT_EQ(0, uct_tcp_zc_netdev_put_bind_rx(m_msg, 42, queues, 3, 17));
    EXPECT_EQ(NETDEV_CMD_BIND_RX, ((struct genlmsghdr*)NLMSG_DATA(nlh))->cmd);

    /* IFINDEX, FD, then one QUEUES nest per queue, in the order given */
    attrs = request_attrs();
    ASSERT_EQ(5u, attrs.size());
    EXPECT_EQ(NETDEV_A_DMABUF_IFINDEX, attrs[0]->nla_type);
    EXPECT_EQ(42u, libnl::nla_get_u32(attrs[0]));
    EXPECT_EQ(NLMSG_HDRLEN + GENL_HDRLEN, request_offset(attrs[0]));
    EXPECT_EQ(NETDEV_A_DMABUF_FD, attrs[1]->nla_type);
    EXPECT_EQ(17u, libnl::nla_get_u32(attrs[1]));

    for (i = 0; i < 3; ++i) {
        /* the kernel refuses a nest without NLA_F_NESTED */
        EXPECT_EQ(NETDEV_A_DMABUF_QUEUES | NLA_F_NESTED,
                  attrs[2 + i]->nla_type) << i;
        EXPECT_EQ(NETDEV_A_DMABUF_QUEUES, libnl::nla_type(attrs[2 + i]));

        nested = libnl::nested(attrs[2 + i]);
        ASSERT_EQ(2u, nested.size()) << i;
        EXPECT_EQ(NETDEV_A_QUEUE_ID, nested[0]->nla_type);
        EXPECT_EQ(queues[i], libnl::nla_get_u32(nested[0]));
        EXPECT_EQ(NETDEV_A_QUEUE_TYPE, nested[1]->nla_type);
        EXPECT_EQ(uint32_t(NETDEV_QUEUE_TYPE_RX),
                  libnl::nla_get_u32(nested[1]));
    }

    /* and as the kernel parses it */
    ASSERT_EQ(0, libnl::nla_parse(tb, NETDEV_A_DMABUF_ID, attrs[0],
                                  nlh->nlmsg_len - request_offset(attrs[0]),
                                  NULL));
    ASSERT_TRUE(tb[NETDEV_A_DMABUF_IFINDEX] != NULL);
    EXPECT_EQ(42u, libnl::nla_get_u32(tb[NETDEV_A_DMABUF_IFINDEX]));
    ASSERT_TRUE(tb[NETDEV_A_DMABUF_FD] != NULL);
    EXPECT_EQ(17u, libnl::nla_get_u32(tb[NETDEV_A_DMABUF_FD]));
    EXPECT_TRUE(tb[NETDEV_A_DMABUF_QUEUES] != NULL);
    EXPECT_TRUE(tb[NETDEV_A_DMABUF_ID] == NULL);
}

UCS_TEST_F(test_tcp_zc_netdev_msg, bind_rx_one_queue)
{
    const uint32_t queue = 0xfffffffe;
    std::vector<struct nlattr*> attrs, nested;
    struct nlattr *tb[NETDEV_A_QUEUE_TYPE + 1];

    request(NETDEV_CMD_BIND_RX);
    ASSERT_EQ(0, uct_tcp_zc_netdev_put_bind_rx(m_msg, 1, &queue, 1, 0));

    attrs = request_attrs();
    ASSERT_EQ(3u, attrs.size());
    EXPECT_EQ(1u, libnl::nla_get_u32(attrs[0]));
    EXPECT_EQ(0u, libnl::nla_get_u32(attrs[1]));
    EXPECT_EQ(NETDEV_A_DMABUF_QUEUES | NLA_F_NESTED, attrs[2]->nla_type);

    ASSERT_EQ(0, libnl::nla_parse(tb, NETDEV_A_QUEUE_TYPE,
                                  (struct nlattr*)libnl::nla_data(attrs[2]),
                                  libnl::nla_len(attrs[2]), NULL));
    ASSERT_TRUE(tb[NETDEV_A_QUEUE_ID] != NULL);
    EXPECT_EQ(queue, libnl::nla_get_u32(tb[NETDEV_A_QUEUE_ID]));
    ASSERT_TRUE(tb[NETDEV_A_QUEUE_TYPE] != NULL);
    EXPECT_EQ(uint32_t(NETDEV_QUEUE_TYPE_RX),
              libnl::nla_get_u32(tb[NETDEV_A_QUEUE_TYPE]));
}

UCS_TEST_F(test_tcp_zc_netdev_msg, libnl_nest_flag)
{
    struct nlattr *nest;

    /* libnl sets NLA_F_NESTED itself since 3.5; the flag which bind-rx
     * requests carry does not rest on that alone */
    request(NETDEV_CMD_BIND_RX);
    nest = libnl::nla_nest_start(m_msg, NETDEV_A_DMABUF_QUEUES);
    ASSERT_TRUE(nest != NULL);
    EXPECT_EQ(NETDEV_A_DMABUF_QUEUES | NLA_F_NESTED, nest->nla_type);
}

UCS_TEST_F(test_tcp_zc_netdev_msg, bind_tx)
{
    std::vector<struct nlattr*> attrs;
    struct nlmsghdr *nlh;

    nlh = request(NETDEV_CMD_BIND_TX);
    ASSERT_EQ(0, uct_tcp_zc_netdev_put_bind_tx(m_msg, 7, 99));
    EXPECT_EQ(NETDEV_CMD_BIND_TX, ((struct genlmsghdr*)NLMSG_DATA(nlh))->cmd);

    attrs = request_attrs();
    ASSERT_EQ(2u, attrs.size());
    EXPECT_EQ(NETDEV_A_DMABUF_IFINDEX, attrs[0]->nla_type);
    EXPECT_EQ(7u, libnl::nla_get_u32(attrs[0]));
    EXPECT_EQ(NETDEV_A_DMABUF_FD, attrs[1]->nla_type);
    EXPECT_EQ(99u, libnl::nla_get_u32(attrs[1]));
}


/*
 * uct_tcp_zc_genl_parse_error on NLMSG_ERROR messages as the kernel builds
 * them. Each message is parsed in place at the end of a readable page which
 * a PROT_NONE page follows, so a read past its length faults.
 */
class test_tcp_zc_netdev_genl_error : public ucs::test {
protected:
    typedef std::vector<uint8_t> buffer_t;

    test_tcp_zc_netdev_genl_error() : m_pages(MAP_FAILED), m_page_size(0)
    {
    }

    virtual void init()
    {
        ucs::test::init();
        m_page_size = sysconf(_SC_PAGESIZE);
        m_pages     = mmap(NULL, 2 * m_page_size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, m_pages);
        ASSERT_EQ(0, mprotect((char*)m_pages + m_page_size, m_page_size,
                              PROT_NONE));
    }

    virtual void cleanup()
    {
        if (m_pages != MAP_FAILED) {
            munmap(m_pages, 2 * m_page_size);
        }
        ucs::test::cleanup();
    }

    /* the request which the errors answer: a genl header and one u32 */
    static buffer_t request()
    {
        buffer_t req(NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN + 4, 0);
        struct nlmsghdr *nlh = (struct nlmsghdr*)&req[0];

        nlh->nlmsg_len   = req.size();
        nlh->nlmsg_type  = 0x1234;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq   = 5;
        return req;
    }

    static void put_tlv(buffer_t &buf, uint16_t type, const void *data,
                        size_t len)
    {
        size_t pos = buf.size();
        struct nlattr nla;

        nla.nla_len  = NLA_HDRLEN + len;
        nla.nla_type = type;
        buf.resize(pos + NLA_ALIGN(NLA_HDRLEN + len), 0);
        memcpy(buf.data() + pos, &nla, sizeof(nla));
        std::copy((const uint8_t*)data, (const uint8_t*)data + len,
                  buf.begin() + pos + NLA_HDRLEN);
    }

    static void put_u32(buffer_t &buf, uint16_t type, uint32_t value)
    {
        put_tlv(buf, type, &value, sizeof(value));
    }

    static void put_str(buffer_t &buf, uint16_t type, const std::string &str)
    {
        put_tlv(buf, type, str.c_str(), str.size() + 1);
    }

    /* NLMSG_ERROR answering request(): capped carries only the request's
     * header, else the whole request; then the TLVs, if any */
    static buffer_t error_msg(int error, bool capped, const buffer_t &tlvs)
    {
        buffer_t req = request();
        buffer_t buf(NLMSG_HDRLEN + sizeof(int), 0);
        struct nlmsghdr nlh;
        int neg_error = -error;

        memcpy(&buf[NLMSG_HDRLEN], &neg_error, sizeof(neg_error));
        buf.insert(buf.end(), req.begin(),
                   req.begin() + (capped ? NLMSG_HDRLEN : req.size()));
        buf.resize(NLMSG_ALIGN(buf.size()), 0);
        buf.insert(buf.end(), tlvs.begin(), tlvs.end());

        nlh.nlmsg_len   = buf.size();
        nlh.nlmsg_type  = NLMSG_ERROR;
        nlh.nlmsg_flags = (capped ? NLM_F_CAPPED : 0) |
                          (tlvs.empty() ? 0 : NLM_F_ACK_TLVS);
        nlh.nlmsg_seq   = 5;
        nlh.nlmsg_pid   = 0;
        memcpy(&buf[0], &nlh, sizeof(nlh));
        return buf;
    }

    /* extack TLVs: text, offending attribute, missing attribute and nest */
    static buffer_t extack(const std::string &msg, int offs, int miss_type,
                           int miss_nest)
    {
        buffer_t tlvs;

        if (!msg.empty()) {
            put_str(tlvs, NLMSGERR_ATTR_MSG, msg);
        }
        if (offs >= 0) {
            put_u32(tlvs, NLMSGERR_ATTR_OFFS, offs);
        }
        if (miss_type >= 0) {
            put_u32(tlvs, NLMSGERR_ATTR_MISS_TYPE, miss_type);
        }
        if (miss_nest >= 0) {
            put_u32(tlvs, NLMSGERR_ATTR_MISS_NEST, miss_nest);
        }
        return tlvs;
    }

    /* parse the first len bytes of buf, which end where the guard begins */
    int parse(const buffer_t &buf, size_t len)
    {
        char *dst;

        EXPECT_LE(len, buf.size());
        EXPECT_LE(len, m_page_size);
        dst = (char*)m_pages + m_page_size - len;
        memcpy(dst, &buf[0], len);
        return uct_tcp_zc_genl_parse_error((const struct nlmsghdr*)dst, len,
                                           &m_err);
    }

    int parse(const buffer_t &buf)
    {
        return parse(buf, buf.size());
    }

    void expect_err(int error, const std::string &msg, int offset,
                    int miss_type, int miss_nest = -1)
    {
        EXPECT_EQ(error, m_err.error);
        EXPECT_EQ(msg, std::string(m_err.msg));
        EXPECT_EQ(offset, m_err.offset);
        EXPECT_EQ(miss_type, m_err.miss_type);
        EXPECT_EQ(miss_nest, m_err.miss_nest);
        EXPECT_EQ(-1, m_err.attr_type);
    }

    void                  *m_pages;
    size_t                m_page_size;
    uct_tcp_zc_genl_err_t m_err;
};


UCS_TEST_F(test_tcp_zc_netdev_genl_error, plain)
{
    buffer_t buf = error_msg(EOPNOTSUPP, true, buffer_t());

    EXPECT_EQ(NLMSG_HDRLEN + sizeof(struct nlmsgerr), buf.size());
    EXPECT_EQ(0, parse(buf));
    expect_err(EOPNOTSUPP, "", -1, -1);

    /* as an old kernel sends it: the whole request, no TLVs */
    buf = error_msg(EPERM, false, buffer_t());
    EXPECT_EQ(0, parse(buf));
    expect_err(EPERM, "", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, ack)
{
    EXPECT_EQ(0, parse(error_msg(0, true, buffer_t())));
    expect_err(0, "", -1, -1);

    /* a warning with a successful request */
    EXPECT_EQ(0, parse(error_msg(0, true, extack("careful", -1, -1, -1))));
    expect_err(0, "careful", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, capped_tlvs)
{
    buffer_t tlvs = extack("Driver does not support netmem TX", 20, 2, -1);

    EXPECT_EQ(0, parse(error_msg(EOPNOTSUPP, true, tlvs)));
    expect_err(EOPNOTSUPP, "Driver does not support netmem TX", 20, 2);

    /* a missing attribute inside a nest */
    EXPECT_EQ(0, parse(error_msg(EINVAL, true, extack("", -1, 1, 28))));
    expect_err(EINVAL, "", -1, 1, 28);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, unknown_tlvs)
{
    uint64_t cookie = 0x1122334455667788ul;
    buffer_t tlvs;

    /* a cookie and a policy nest are skipped */
    put_tlv(tlvs, NLMSGERR_ATTR_COOKIE, &cookie, sizeof(cookie));
    put_u32(tlvs, NLMSGERR_ATTR_POLICY | NLA_F_NESTED, 0);
    put_str(tlvs, NLMSGERR_ATTR_MSG, "text");
    put_u32(tlvs, 99, 1);
    EXPECT_EQ(0, parse(error_msg(EINVAL, true, tlvs)));
    expect_err(EINVAL, "text", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, uncapped_tlvs)
{
    buffer_t tlvs = extack("invalid queue", 28, -1, -1);
    buffer_t buf  = error_msg(EINVAL, false, tlvs);

    /* the request is echoed whole before the TLVs */
    EXPECT_EQ(NLMSG_HDRLEN + sizeof(int) + request().size() + tlvs.size(),
              buf.size());
    EXPECT_EQ(0, parse(buf));
    expect_err(EINVAL, "invalid queue", 28, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, uncapped_bad_request_len)
{
    buffer_t buf = error_msg(EINVAL, false, extack("x", 20, -1, -1));
    struct nlmsgerr *nlerr = (struct nlmsgerr*)&buf[NLMSG_HDRLEN];

    /* the echoed request claims more than the message holds */
    nlerr->msg.nlmsg_len = 4096;
    EXPECT_EQ(-1, parse(buf));
    expect_err(EINVAL, "", -1, -1);

    /* or less than a header */
    nlerr->msg.nlmsg_len = 4;
    EXPECT_EQ(-1, parse(buf));
    expect_err(EINVAL, "", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, truncated)
{
    buffer_t tlvs = extack("some text", 20, -1, -1);
    buffer_t buf  = error_msg(EBUSY, true, tlvs);
    size_t tlv_pos = NLMSG_HDRLEN + sizeof(struct nlmsgerr);

    /* shorter than the header */
    EXPECT_EQ(-1, parse(buf, NLMSG_HDRLEN - 4));
    expect_err(EBADMSG, "", -1, -1);
    EXPECT_EQ(-1, parse(buf, 0));
    expect_err(EBADMSG, "", -1, -1);

    /* shorter than nlmsgerr: not even the errno */
    EXPECT_EQ(-1, parse(buf, NLMSG_HDRLEN + 4));
    expect_err(EBADMSG, "", -1, -1);
    EXPECT_EQ(-1, parse(buf, tlv_pos - 4));
    expect_err(EBADMSG, "", -1, -1);

    /* cut in the first TLV: the errno is known, the rest is not read */
    EXPECT_EQ(-1, parse(buf, tlv_pos + 8));
    expect_err(EBUSY, "", -1, -1);

    /* cut in the second TLV: the first one is kept */
    EXPECT_EQ(-1, parse(buf, buf.size() - 4));
    expect_err(EBUSY, "some text", -1, -1);

    /* a header whose length says less than the buffer: the buffer past it
     * is not the message's */
    ((struct nlmsghdr*)&buf[0])->nlmsg_len = tlv_pos;
    EXPECT_EQ(0, parse(buf));
    expect_err(EBUSY, "", -1, -1);

    /* or less than a header */
    ((struct nlmsghdr*)&buf[0])->nlmsg_len = 8;
    EXPECT_EQ(-1, parse(buf));
    expect_err(EBADMSG, "", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, tlv_past_end)
{
    buffer_t tlvs = extack("first", -1, -1, -1);
    buffer_t buf;
    struct nlattr *nla;

    /* the last TLV claims more bytes than the message has */
    put_u32(tlvs, NLMSGERR_ATTR_OFFS, 24);
    buf = error_msg(ENODEV, true, tlvs);
    nla = (struct nlattr*)&buf[buf.size() - NLA_HDRLEN - 4];
    nla->nla_len = NLA_HDRLEN + 64;
    EXPECT_EQ(-1, parse(buf));
    expect_err(ENODEV, "first", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, tlv_bad_len)
{
    buffer_t tlvs;
    buffer_t buf;
    struct nlattr *nla;

    /* shorter than its own header: the walk cannot go on */
    put_u32(tlvs, NLMSGERR_ATTR_MISS_TYPE, 3);
    put_str(tlvs, NLMSGERR_ATTR_MSG, "never read");
    buf = error_msg(EINVAL, true, tlvs);
    nla = (struct nlattr*)&buf[NLMSG_HDRLEN + sizeof(struct nlmsgerr)];
    nla->nla_len = 2;
    EXPECT_EQ(-1, parse(buf));
    expect_err(EINVAL, "", -1, -1);

    /* an offset with a 2 byte payload */
    tlvs.clear();
    put_tlv(tlvs, NLMSGERR_ATTR_OFFS, "\x14\x00", 2);
    put_str(tlvs, NLMSGERR_ATTR_MSG, "after");
    EXPECT_EQ(-1, parse(error_msg(EINVAL, true, tlvs)));
    expect_err(EINVAL, "after", -1, -1);

    /* bytes left over after the last TLV, too few for a TLV */
    buf = error_msg(EINVAL, true, extack("text", 20, -1, -1));
    buf.resize(buf.size() + 2, 0);
    ((struct nlmsghdr*)&buf[0])->nlmsg_len = buf.size();
    EXPECT_EQ(-1, parse(buf));
    expect_err(EINVAL, "text", 20, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, msg_not_terminated)
{
    buffer_t tlvs;
    buffer_t buf;

    /* "hello" without its NUL; the padding after it is not text either */
    put_tlv(tlvs, NLMSGERR_ATTR_MSG, "hello", 5);
    buf = error_msg(EEXIST, true, tlvs);
    buf[buf.size() - 3] = 'x';
    buf[buf.size() - 2] = 'y';
    buf[buf.size() - 1] = 'z';
    EXPECT_EQ(-1, parse(buf));
    expect_err(EEXIST, "hello", -1, -1);

    /* an empty text, not even a NUL */
    tlvs.clear();
    put_tlv(tlvs, NLMSGERR_ATTR_MSG, "", 0);
    EXPECT_EQ(-1, parse(error_msg(EEXIST, true, tlvs)));
    expect_err(EEXIST, "", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, msg_too_long)
{
    std::string text(UCT_TCP_ZC_GENL_MSG_MAX * 2, 'a');

    /* a valid text longer than err->msg keeps its beginning */
    EXPECT_EQ(0, parse(error_msg(EINVAL, true, extack(text, -1, -1, -1))));
    expect_err(EINVAL, text.substr(0, UCT_TCP_ZC_GENL_MSG_MAX - 1), -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, not_an_error)
{
    buffer_t buf = error_msg(EINVAL, true, buffer_t());

    ((struct nlmsghdr*)&buf[0])->nlmsg_type = NLMSG_DONE;
    EXPECT_EQ(-1, parse(buf));
    expect_err(EBADMSG, "", -1, -1);
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, status)
{
    static const struct {
        int          error;
        ucs_status_t status;
    } map[] = {
        {0,          UCS_OK},
        {EPERM,      UCS_ERR_REJECTED},
        {EACCES,     UCS_ERR_REJECTED},
        {EOPNOTSUPP, UCS_ERR_UNSUPPORTED},
        {ENODEV,     UCS_ERR_NO_DEVICE},
        {EINVAL,     UCS_ERR_INVALID_PARAM},
        {EBADF,      UCS_ERR_INVALID_PARAM},
        {ERANGE,     UCS_ERR_INVALID_PARAM},
        {EEXIST,     UCS_ERR_ALREADY_EXISTS},
        {EBUSY,      UCS_ERR_BUSY},
        {ENOMEM,     UCS_ERR_NO_MEMORY},
        {ENOENT,     UCS_ERR_NO_ELEM},
        {ENODATA,    UCS_ERR_IO_ERROR},
        {EFAULT,     UCS_ERR_IO_ERROR},
        {EBADMSG,    UCS_ERR_IO_ERROR}
    };

    for (size_t i = 0; i < ucs_static_array_size(map); ++i) {
        EXPECT_EQ(map[i].status, uct_tcp_zc_genl_status(map[i].error))
                << strerror(map[i].error);
    }
}

UCS_TEST_F(test_tcp_zc_netdev_genl_error, err_str)
{
    char buf[UCT_TCP_ZC_GENL_MSG_MAX + 128];
    uct_tcp_zc_genl_err_t err;

    uct_tcp_zc_genl_err_init(&err);
    err.error = EOPNOTSUPP;
    EXPECT_EQ(std::string(strerror(EOPNOTSUPP)),
              uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));

    err.offset = 20;
    EXPECT_EQ(std::string(strerror(EOPNOTSUPP)) + " [attribute offset 20]",
              uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));

    strcpy(err.msg, "Driver does not support netmem TX");
    err.attr_type = 1;
    EXPECT_EQ(std::string(strerror(EOPNOTSUPP)) +
              " (Driver does not support netmem TX)"
              " [attribute offset 20, type 1]",
              uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));

    uct_tcp_zc_genl_err_init(&err);
    err.error     = EINVAL;
    err.miss_type = 2;
    EXPECT_EQ(std::string(strerror(EINVAL)) + " [missing attribute 2]",
              uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));
    err.miss_nest = 28;
    EXPECT_EQ(std::string(strerror(EINVAL)) +
              " [missing attribute 2 in the nest at offset 28]",
              uct_tcp_zc_genl_err_str(&err, buf, sizeof(buf)));

    /* a small buffer is cut, and terminated */
    EXPECT_EQ(std::string(strerror(EINVAL)).substr(0, 7),
              uct_tcp_zc_genl_err_str(&err, buf, 8));
}


/*
 * The netdev family of the running kernel, in the test's network namespace:
 * lo and the veth pair of TCP_ZC_TEST_VETH. The bind probes pass a memfd,
 * which is no dmabuf: no binding can come of them, so no device changes.
 */
class test_tcp_zc_netdev : public test_tcp_zc_base {
protected:
    struct probe_result {
        ucs_status_t          status;
        uct_tcp_zc_genl_err_t err;
        bool                  logged_err;   /* the diag line has err's text */
        bool                  logged_priv;  /* ... and names the privilege */
    };

    test_tcp_zc_netdev() : m_genl_open(false)
    {
    }

    virtual void init()
    {
        test_tcp_zc_base::init();
        if (test_veth_devices().empty()) {
            UCS_TEST_SKIP_R("no test namespace: TCP_ZC_TEST_VETH is set by "
                            "the test runner (make test)");
        }
    }

    virtual void cleanup()
    {
        if (m_genl_open) {
            uct_tcp_zc_genl_close(&m_genl);
        }
        test_tcp_zc_base::cleanup();
    }

    /* lo and the veth pair */
    static std::vector<std::string> test_devices()
    {
        std::vector<std::string> devices = test_veth_devices();

        devices.insert(devices.begin(), "lo");
        return devices;
    }

    void open_netdev()
    {
        uct_tcp_zc_genl_err_t err;

        ASSERT_UCS_OK(uct_tcp_zc_netdev_open(&m_genl, &err));
        m_genl_open = true;
    }

    static int ifindex(const std::string &dev)
    {
        int index = if_nametoindex(dev.c_str());

        EXPECT_NE(0, index) << dev;
        return index;
    }

    /* an ifindex which no device of the namespace has */
    static int unused_ifindex()
    {
        char name[IF_NAMESIZE];
        int index;

        for (index = 100000; if_indextoname(index, name) != NULL; ++index) {
        }
        return index;
    }

    /* rx-N and tx-N of /sys/class/net/<dev>/queues */
    static std::set<std::pair<int, uint32_t> >
    sysfs_queues(const std::string &dev)
    {
        std::set<std::pair<int, uint32_t> > queues;
        std::string path = "/sys/class/net/" + dev + "/queues";
        struct dirent *entry;
        DIR *dir;

        dir = opendir(path.c_str());
        EXPECT_TRUE(dir != NULL) << path;
        if (dir == NULL) {
            return queues;
        }

        while ((entry = readdir(dir)) != NULL) {
            if (!strncmp(entry->d_name, "rx-", 3)) {
                queues.insert(std::make_pair(UCT_TCP_ZC_NETDEV_QUEUE_RX,
                                             atoi(entry->d_name + 3)));
            } else if (!strncmp(entry->d_name, "tx-", 3)) {
                queues.insert(std::make_pair(UCT_TCP_ZC_NETDEV_QUEUE_TX,
                                             atoi(entry->d_name + 3)));
            }
        }

        closedir(dir);
        return queues;
    }

    /* the diag lines of the probe, with logging raised to diag */
    static ucs_log_func_rc_t
    capture_logger(const char *file, unsigned line, const char *function,
                   ucs_log_level_t level,
                   const ucs_log_component_config_t *comp_conf,
                   const char *message, va_list ap)
    {
        char buf[1024];
        va_list ap_copy;

        if (level != UCS_LOG_LEVEL_DIAG) {
            return (level > UCS_LOG_LEVEL_DIAG) ? UCS_LOG_FUNC_RC_STOP :
                                                  UCS_LOG_FUNC_RC_CONTINUE;
        }

        va_copy(ap_copy, ap);
        vsnprintf(buf, sizeof(buf), message, ap_copy);
        va_end(ap_copy);
        m_log.push_back(buf);
        return UCS_LOG_FUNC_RC_STOP;
    }

    /* bind-rx of queue 0 (rx false: bind-tx) with a memfd, log captured */
    static probe_result bind_memfd(int index, bool rx,
                                   unsigned num_queues = 1)
    {
        const uint32_t queue = 0;
        ucs_log_level_t prev_level;
        uct_tcp_zc_netdev_binding_t *binding = NULL;
        probe_result res;
        char err_str[UCT_TCP_ZC_GENL_MSG_MAX + 128];
        int fd;

        fd = memfd_create("tcp_zc_test_not_a_dmabuf", 0);
        EXPECT_GE(fd, 0) << strerror(errno);

        m_log.clear();
        prev_level = ucs_global_opts.log_component.log_level;
        ucs_global_opts.log_component.log_level = UCS_LOG_LEVEL_DIAG;
        ucs_log_push_handler(capture_logger);
        if (rx) {
            res.status = uct_tcp_zc_netdev_bind_rx(index, &queue, num_queues,
                                                   fd, &binding, &res.err);
        } else {
            res.status = uct_tcp_zc_netdev_bind_tx(index, fd, &binding,
                                                   &res.err);
        }
        ucs_log_pop_handler();
        ucs_global_opts.log_component.log_level = prev_level;
        close(fd);

        if (res.status == UCS_OK) {
            /* cannot be: a memfd is no dmabuf */
            ADD_FAILURE() << "bound a memfd: binding id "
                          << uct_tcp_zc_netdev_binding_id(binding);
            uct_tcp_zc_netdev_binding_destroy(binding);
        }

        uct_tcp_zc_genl_err_str(&res.err, err_str, sizeof(err_str));
        res.logged_err  = false;
        res.logged_priv = false;
        for (size_t i = 0; i < m_log.size(); ++i) {
            UCS_TEST_MESSAGE << "log: " << m_log[i];
            if (m_log[i].find(err_str) != std::string::npos) {
                res.logged_err  = true;
                res.logged_priv = res.logged_priv ||
                                  (m_log[i].find("CAP_NET_ADMIN") !=
                                   std::string::npos);
            }
        }

        return res;
    }

    /* the probe of a device without devmem support: refused with the
     * kernel's errno and extack, which reach the status and the log */
    static void expect_refused(const probe_result &res, int error,
                               const std::string &msg, int offset,
                               int attr_type)
    {
        EXPECT_EQ(error, res.err.error) << strerror(res.err.error);
        EXPECT_EQ(uct_tcp_zc_genl_status(error), res.status);
        EXPECT_EQ(msg, std::string(res.err.msg));
        EXPECT_EQ(offset, res.err.offset);
        EXPECT_EQ(attr_type, res.err.attr_type);
        EXPECT_TRUE(res.logged_err) << "the diag line lacks the kernel's "
                                       "answer";
    }

    static std::vector<std::string> m_log;

    uct_tcp_zc_genl_t m_genl;
    bool              m_genl_open;
};

std::vector<std::string> test_tcp_zc_netdev::m_log;


UCS_TEST_F(test_tcp_zc_netdev, family)
{
    std::ostringstream ops;
    struct utsname uts;
    int major, minor;

    open_netdev();
    EXPECT_GT(m_genl.family_id, GENL_ID_CTRL);
    EXPECT_GE(m_genl.version, 1u);
    EXPECT_EQ(std::string("netdev"), m_genl.name);

    EXPECT_TRUE(uct_tcp_zc_netdev_has_op(&m_genl, NETDEV_CMD_QUEUE_GET));
    EXPECT_TRUE(uct_tcp_zc_netdev_has_op(&m_genl, NETDEV_CMD_BIND_RX));
    ASSERT_EQ(0, uname(&uts));
    if ((sscanf(uts.release, "%d.%d", &major, &minor) == 2) &&
        ((major > 6) || ((major == 6) && (minor >= 16)))) {
        EXPECT_TRUE(uct_tcp_zc_netdev_has_op(&m_genl, NETDEV_CMD_BIND_TX))
                << uts.release;
    }

    for (int cmd = 0; cmd < UCT_TCP_ZC_GENL_OPS_MAX; ++cmd) {
        if (uct_tcp_zc_netdev_has_op(&m_genl, cmd)) {
            ops << " " << cmd;
        }
    }
    UCS_TEST_MESSAGE << "netdev family id " << m_genl.family_id
                     << " version " << m_genl.version << ", commands"
                     << ops.str();

    /* ids the family does not have */
    EXPECT_FALSE(uct_tcp_zc_netdev_has_op(&m_genl, 0));
    EXPECT_FALSE(uct_tcp_zc_netdev_has_op(&m_genl, 200));
    EXPECT_FALSE(uct_tcp_zc_netdev_has_op(&m_genl, 255));
}

UCS_TEST_F(test_tcp_zc_netdev, no_family)
{
    uct_tcp_zc_genl_err_t err;
    uct_tcp_zc_genl_t genl;

    EXPECT_EQ(UCS_ERR_UNSUPPORTED,
              uct_tcp_zc_genl_open(&genl, "tcpzc_nofamily", &err));
    EXPECT_EQ(ENOENT, err.error) << strerror(err.error);
    EXPECT_TRUE(genl.sock == NULL);
    UCS_TEST_MESSAGE << "kernel: " << err.msg;
}

UCS_TEST_F(test_tcp_zc_netdev, queue_get)
{
    std::vector<std::string> devices = test_devices();
    std::set<std::pair<int, uint32_t> > expected, got;
    uct_tcp_zc_netdev_queue_t *queues;
    uct_tcp_zc_genl_err_t err;
    unsigned i, count;

    open_netdev();
    for (const auto &dev : devices) {
        ASSERT_UCS_OK(uct_tcp_zc_netdev_queue_get(&m_genl, ifindex(dev),
                                                  &queues, &count, &err));
        expected = sysfs_queues(dev);
        got.clear();
        for (i = 0; i < count; ++i) {
            got.insert(std::make_pair(queues[i].type, queues[i].id));
            /* nothing is bound on a test device */
            EXPECT_EQ(0u, queues[i].dmabuf) << dev << " queue " << i;
            if (i > 0) {
                /* RX first, each type by id */
                EXPECT_TRUE((queues[i - 1].type < queues[i].type) ||
                            ((queues[i - 1].type == queues[i].type) &&
                             (queues[i - 1].id < queues[i].id)))
                        << dev << " queue " << i;
            }
        }

        EXPECT_EQ(expected.size(), count) << dev;
        EXPECT_TRUE(expected == got) << dev;
        EXPECT_NE(0u, count) << dev;
        UCS_TEST_MESSAGE << dev << ": " << count << " queues";
        ucs_free(queues);
    }
}

UCS_TEST_F(test_tcp_zc_netdev, queue_get_no_device)
{
    uct_tcp_zc_netdev_queue_t *queues = NULL;
    uct_tcp_zc_genl_err_t err;
    unsigned count;

    open_netdev();
    EXPECT_EQ(UCS_ERR_NO_DEVICE,
              uct_tcp_zc_netdev_queue_get(&m_genl, unused_ifindex(), &queues,
                                          &count, &err));
    EXPECT_EQ(ENODEV, err.error) << strerror(err.error);
    EXPECT_TRUE(queues == NULL);

    /* the socket is still in step for the next request */
    ASSERT_UCS_OK(uct_tcp_zc_netdev_queue_get(&m_genl, ifindex("lo"), &queues,
                                              &count, &err));
    EXPECT_NE(0u, count);
    ucs_free(queues);
}

/* Without CAP_NET_ADMIN (the unprivileged run of make test), the kernel
 * refuses bind-rx before it looks at anything else */
template <typename Result> static void expect_unprivileged(const Result &res)
{
    EXPECT_EQ(EPERM, res.err.error) << strerror(res.err.error);
    EXPECT_EQ(UCS_ERR_REJECTED, res.status);
    EXPECT_TRUE(res.logged_priv) << "the log does not name CAP_NET_ADMIN";
}

UCS_TEST_F(test_tcp_zc_netdev, bind_rx_refused)
{
    std::vector<std::string> devices = test_devices();
    probe_result res;

    for (const auto &dev : devices) {
        UCS_TEST_MESSAGE << dev;
        res = bind_memfd(ifindex(dev), true);
        if (geteuid() != 0) {
            expect_unprivileged(res);
            continue;
        }
        /* no queue management ops: refused at the device, which the
         * kernel points at (the ifindex, first attribute) */
        expect_refused(res, EOPNOTSUPP, "", NLMSG_HDRLEN + GENL_HDRLEN,
                       NETDEV_A_DMABUF_IFINDEX);
    }
}

UCS_TEST_F(test_tcp_zc_netdev, bind_tx_refused)
{
    std::vector<std::string> devices = test_devices();
    probe_result res;

    for (const auto &dev : devices) {
        UCS_TEST_MESSAGE << dev;
        res = bind_memfd(ifindex(dev), false);
        expect_refused(res, EOPNOTSUPP, "Driver does not support netmem TX",
                       -1, -1);
    }
}

UCS_TEST_F(test_tcp_zc_netdev, bind_rx_no_queues)
{
    probe_result res;

    /* the kernel checks its required attributes first (after the
     * privilege) */
    res = bind_memfd(ifindex("lo"), true, 0);
    if (geteuid() != 0) {
        expect_unprivileged(res);
        return;
    }
    expect_refused(res, EINVAL, "", -1, -1);
    EXPECT_EQ(NETDEV_A_DMABUF_QUEUES, res.err.miss_type);
}

UCS_TEST_F(test_tcp_zc_netdev, bind_no_device)
{
    probe_result res;

    res = bind_memfd(unused_ifindex(), true);
    if (geteuid() != 0) {
        expect_unprivileged(res);
    } else {
        EXPECT_EQ(ENODEV, res.err.error) << strerror(res.err.error);
        EXPECT_EQ(UCS_ERR_NO_DEVICE, res.status);
        EXPECT_TRUE(res.logged_err);
    }

    res = bind_memfd(unused_ifindex(), false);
    EXPECT_EQ(ENODEV, res.err.error) << strerror(res.err.error);
    EXPECT_EQ(UCS_ERR_NO_DEVICE, res.status);
    EXPECT_TRUE(res.logged_err);
}

/* without CAP_NET_ADMIN, in a child process: bind-rx (and bind-tx) */
UCS_TEST_F(test_tcp_zc_netdev, bind_unprivileged)
{
    struct __user_cap_header_struct hdr;
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    probe_result res[2];
    int fds[2], status;
    ssize_t ret;
    pid_t pid;

    ASSERT_EQ(0, pipe(fds));
    pid = fork();
    ASSERT_GE(pid, 0) << strerror(errno);
    if (pid == 0) {
        /* CAP_NET_ADMIN out of the child's effective and permitted sets, so
         * neither it nor the netlink socket it opens has it */
        close(fds[0]);
        memset(&hdr, 0, sizeof(hdr));
        hdr.version = _LINUX_CAPABILITY_VERSION_3;
        if (syscall(SYS_capget, &hdr, data) != 0) {
            _exit(2);
        }

        data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &=
                ~CAP_TO_MASK(CAP_NET_ADMIN);
        data[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted &=
                ~CAP_TO_MASK(CAP_NET_ADMIN);
        if (syscall(SYS_capset, &hdr, data) != 0) {
            _exit(3);
        }

        res[0] = bind_memfd(ifindex("lo"), true);
        res[1] = bind_memfd(ifindex("lo"), false);
        ret    = write(fds[1], res, sizeof(res));
        _exit((ret == sizeof(res)) ? 0 : 4);
    }

    close(fds[1]);
    memset(res, 0, sizeof(res));
    ret = read(fds[0], res, sizeof(res));
    close(fds[0]);
    ASSERT_EQ(pid, waitpid(pid, &status, 0));
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(0, WEXITSTATUS(status)) << "the child could not drop "
                                         "CAP_NET_ADMIN or report";
    ASSERT_EQ((ssize_t)sizeof(res), ret);

    /* bind-rx needs the privilege, and the log says which */
    EXPECT_EQ(EPERM, res[0].err.error) << strerror(res[0].err.error);
    EXPECT_EQ(UCS_ERR_REJECTED, res[0].status);
    EXPECT_TRUE(res[0].logged_err);
    EXPECT_TRUE(res[0].logged_priv) << "the log does not name CAP_NET_ADMIN";

    /* bind-tx has needed none so far (6.18): then lo refuses it as for root;
     * a kernel which requires it refuses as for bind-rx */
    UCS_TEST_MESSAGE << "bind-tx: " << strerror(res[1].err.error) << " ("
                     << res[1].err.msg << ")";
    if (res[1].err.error == EPERM) {
        EXPECT_TRUE(res[1].logged_priv);
    } else {
        expect_refused(res[1], EOPNOTSUPP, "Driver does not support netmem TX",
                       -1, -1);
    }
}
