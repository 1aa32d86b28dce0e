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

#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <linux/udmabuf.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>


/*
 * The devmem data path end to end, between two processes of the same test,
 * each in a network namespace of its own on a port of the simulated NIC
 * (test/vm/devmem-guest.sh runs them): TCP_ZC_TEST_DEVMEM_IF names this
 * side's device, TCP_ZC_TEST_DEVMEM_PEER_DIR a directory both sides share,
 * TCP_ZC_TEST_DEVMEM_ROLE is "a" or "b". Each side opens an iface with
 * devmem receive and send, registers udmabufs (dmabuf registrations) and host
 * memory, publishes its addresses and keys in the directory, and PUTs to the
 * peer's regions from both kinds of memory, each PUT read back with a GET and
 * compared byte for byte; then it checks its own counters: the data of its
 * PUTs went on its data connection, those of dmabufs sent from the dmabuf,
 * the peer's data arrived in its RX pool, and every fragment's token went
 * back to the kernel. TCP_ZC_TEST_DEVMEM_MODE and _PEER_MODE (y, the
 * default, auto or n) turn devmem off on a side: then its peer sends to it on the
 * connection, and it sends by the CPU; auto must find devmem on the
 * simulated NIC. TCP_ZC_TEST_DEVMEM_LINEAR=y: the NIC
 * leaves some packets whole (netdevsim's rx_copybreak), whose bytes come
 * as SCM_DEVMEM_LINEAR, beside the fragments in the pool. Without the
 * variables the test skips.
 */
class test_tcp_zc_devmem_xfer : public test_tcp_zc_base {
protected:
    struct region_t {
        void              *buffer;
        size_t            size;
        int               dmabuf;  /* -1: host memory */
        uct_mem_h         memh;
        std::vector<char> rkey;
    };

    struct xfer_case_t {
        bool   src_dmabuf;
        bool   dst_dmabuf;
        size_t size;
        size_t src_offset;
        size_t dst_offset;
    };

    static const size_t DMABUF_SIZE = 64 * UCS_MBYTE + 8192;
    static const size_t HOST_SIZE   = 4 * UCS_MBYTE;

    test_tcp_zc_devmem_xfer() : m_ep(NULL)
    {
    }

    static std::string env(const char *name)
    {
        const char *value = getenv(name);

        return (value != NULL) ? value : "";
    }

    virtual void cleanup()
    {
        if (m_ep != NULL) {
            uct_ep_destroy(m_ep);
        }
        for (size_t i = 0; i < m_peer_rkeys.size(); ++i) {
            uct_rkey_release(m_component, &m_peer_rkeys[i]);
        }
        if (m_iface != NULL) {
            close_iface();
        }
        for (size_t i = 0; i < m_regions.size(); ++i) {
            region_free(&m_regions[i]);
        }
        test_tcp_zc_base::cleanup();
    }

    void region_alloc(region_t *r, size_t size, bool dmabuf)
    {
        struct udmabuf_create create;
        int memfd, dev;

        r->size   = size;
        r->dmabuf = -1;
        r->memh   = UCT_MEM_HANDLE_NULL;
        if (!dmabuf) {
            r->buffer = mmap(NULL, size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            ASSERT_NE(MAP_FAILED, r->buffer);
            ASSERT_UCS_OK(uct_md_mem_reg(m_md, r->buffer, size,
                                         UCT_MD_MEM_ACCESS_ALL, &r->memh));
            return;
        }

        memfd = memfd_create("tcp_zc devmem test", MFD_CLOEXEC |
                                                   MFD_ALLOW_SEALING);
        ASSERT_GE(memfd, 0);
        ASSERT_EQ(0, ftruncate(memfd, size));
        ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
        dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
        ASSERT_GE(dev, 0) << "/dev/udmabuf: " << strerror(errno);
        memset(&create, 0, sizeof(create));
        create.memfd = memfd;
        create.flags = UDMABUF_FLAGS_CLOEXEC;
        create.size  = size;
        r->dmabuf    = ioctl(dev, UDMABUF_CREATE, &create);
        close(dev);
        close(memfd);
        ASSERT_GE(r->dmabuf, 0) << "UDMABUF_CREATE: " << strerror(errno);
        r->buffer = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
                         r->dmabuf, 0);
        ASSERT_NE(MAP_FAILED, r->buffer);

#if UCT_TCP_ZC_HAVE_DMABUF
        uct_md_mem_reg_params_t params;

        params.field_mask    = UCT_MD_MEM_REG_FIELD_FLAGS |
                               UCT_MD_MEM_REG_FIELD_DMABUF_FD |
                               UCT_MD_MEM_REG_FIELD_DMABUF_OFFSET;
        params.flags         = UCT_MD_MEM_ACCESS_ALL;
        params.dmabuf_fd     = r->dmabuf;
        params.dmabuf_offset = 0;
        ASSERT_UCS_OK(uct_md_mem_reg_v2(m_md, r->buffer, size, &params,
                                        &r->memh));
#endif
    }

    void region_free(region_t *r)
    {
        if (r->memh != UCT_MEM_HANDLE_NULL) {
            uct_md_mem_dereg(m_md, r->memh);
        }
        munmap(r->buffer, r->size);
        if (r->dmabuf >= 0) {
            close(r->dmabuf);
        }
    }

    static std::string hex(const void *data, size_t length)
    {
        static const char digits[] = "0123456789abcdef";
        const uint8_t *p           = (const uint8_t*)data;
        std::string s;

        for (size_t i = 0; i < length; ++i) {
            s += digits[p[i] >> 4];
            s += digits[p[i] & 0xf];
        }
        return s;
    }

    static std::vector<char> unhex(const std::string &s)
    {
        std::vector<char> data(s.size() / 2);

        for (size_t i = 0; i < data.size(); ++i) {
            data[i] = (char)strtoul(s.substr(2 * i, 2).c_str(), NULL, 16);
        }
        return data;
    }

    /* a file of the shared directory appears: bounded wait, progressing */
    bool wait_file(const std::string &path, double timeout_sec)
    {
        ucs_time_t deadline = ucs_get_time() + ucs_time_from_sec(timeout_sec);

        while (access(path.c_str(), F_OK) != 0) {
            if (ucs_get_time() > deadline) {
                return false;
            }
            progress();
            usleep(1000);
        }
        return true;
    }

    void write_file(const std::string &path, const std::string &text)
    {
        std::string tmp = path + ".tmp";
        std::ofstream(tmp.c_str()) << text;
        ASSERT_EQ(0, rename(tmp.c_str(), path.c_str()));
    }

    unsigned progress()
    {
        unsigned count = uct_worker_progress(m_worker);

        ucs_async_check_miss(m_async);
        return count;
    }

    static void completion_cb(uct_completion_t *self)
    {
    }

    /* the peer closes when it is done: its connection ends then */
    static ucs_status_t err_handler(void *arg, uct_ep_h ep,
                                    ucs_status_t status)
    {
        return UCS_OK;
    }

    /* an RMA operation to completion */
    template <typename Op> ucs_status_t rma(Op op)
    {
        ucs_time_t deadline = ucs_get_time() + ucs_time_from_sec(120.0);
        uct_completion_t comp;
        ucs_status_t status;

        comp.func   = completion_cb;
        comp.count  = 1;
        comp.status = UCS_OK;
        while ((status = op(&comp)) == UCS_ERR_NO_RESOURCE) {
            progress();
        }
        if (status == UCS_OK) {
            return UCS_OK;
        } else if (status != UCS_INPROGRESS) {
            return status;
        }

        while ((comp.count > 0) && (ucs_get_time() < deadline)) {
            progress();
        }
        return (comp.count > 0) ? UCS_ERR_TIMED_OUT : comp.status;
    }

    /* What the sender of the cases sends: data connection bytes, of them
     * from the dmabuf, and bytes of dmabufs which the CPU sends; by whether
     * the sender has devmem send and the receiver a data port */
    static void expected(const xfer_case_t *cases, size_t count,
                         bool devmem_tx, bool peer_port, uint64_t *dc_p,
                         uint64_t *devmem_p, uint64_t *staged_p)
    {
        *dc_p = *devmem_p = *staged_p = 0;
        for (size_t c = 0; c < count; ++c) {
            const xfer_case_t &xc = cases[c];

            /* the PUT: on the data connection if from or to a dmabuf and
             * large enough, from the dmabuf if from one and the device
             * can; else by the CPU */
            if (peer_port && (xc.src_dmabuf || xc.dst_dmabuf) &&
                (xc.size >= 4096)) {
                *dc_p += xc.size;
                if (xc.src_dmabuf) {
                    *(devmem_tx ? devmem_p : staged_p) += xc.size;
                }
            } else if (xc.src_dmabuf) {
                *staged_p += xc.size;
            }

            /* the answers to the peer's GET of the same case from this
             * side's region, in messages of 1 MiB */
            for (size_t off = 0; xc.dst_dmabuf && (off < xc.size);
                 off += UCT_TCP_ZC_RMA_SEG_SIZE) {
                size_t part = std::min(xc.size - off,
                                       UCT_TCP_ZC_RMA_SEG_SIZE);

                if (peer_port && (part >= 4096)) {
                    *dc_p += part;
                    *(devmem_tx ? devmem_p : staged_p) += part;
                } else {
                    *staged_p += part;
                }
            }
        }
    }

    uint64_t counter(int index)
    {
        return ucs_derived_of(m_iface, uct_tcp_zc_iface_t)->zc.counters[index];
    }

    static void fill(void *buffer, size_t size, unsigned seed)
    {
        uint32_t *p = (uint32_t*)buffer;
        uint32_t x  = 2654435761u * (seed + 1);

        for (size_t i = 0; i < size / sizeof(*p); ++i) {
            x    ^= x << 13;
            x    ^= x >> 17;
            x    ^= x << 5;
            p[i]  = x;
        }
    }

    uct_ep_h m_ep;
    std::vector<region_t> m_regions;
    std::vector<uint64_t> m_peer_addrs;
    std::vector<uct_rkey_bundle_t> m_peer_rkeys;
};


UCS_TEST_F(test_tcp_zc_devmem_xfer, put_get_between_hosts)
{
    static const xfer_case_t cases[] = {
        {true,  true,  1,                    0, 0},
        {true,  true,  4097,                 1, 3},
        {true,  true,  65536 + 3,            5, 1},
        {true,  true,  UCS_MBYTE + 5,        0, 7},
        {true,  true,  64 * UCS_MBYTE,       0, 0},
        {false, true,  UCS_MBYTE + 7,        5, 4096 + 1},
        {true,  false, UCS_MBYTE + 9,        2, 3},
        {false, false, 300000,               0, 0}
    };
    std::string dev  = env("TCP_ZC_TEST_DEVMEM_IF");
    std::string dir  = env("TCP_ZC_TEST_DEVMEM_PEER_DIR");
    std::string role = env("TCP_ZC_TEST_DEVMEM_ROLE");

    if (dev.empty() || dir.empty() || role.empty()) {
        UCS_TEST_SKIP_R("TCP_ZC_TEST_DEVMEM_IF, _PEER_DIR and _ROLE are not "
                        "set: two processes run this on the simulated NIC "
                        "(test/vm/devmem-guest.sh)");
    }
#if !UCT_TCP_ZC_HAVE_DMABUF
    UCS_TEST_SKIP_R("this UCX has no dmabuf registration (UCT 1.13)");
#endif

    std::string peer = (role == "a") ? "b" : "a";
    std::string mode = env("TCP_ZC_TEST_DEVMEM_MODE");
    bool devmem      = (mode != "n");
    bool peer_devmem = (env("TCP_ZC_TEST_DEVMEM_PEER_MODE") != "n");
    ASSERT_UCS_OK(open_md({{"DMABUF", "y"}}));
    ASSERT_UCS_OK(open_iface(dev, {{"DEVMEM", mode.empty() ? "y" : mode},
                                   {"MAX_NUM_EPS", "inf"}}));
    uct_iface_progress_enable(m_iface, UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
    ucs_derived_of(m_iface, uct_base_iface_t)->err_handler = err_handler;

    /* 0: source dmabuf, 1: source host, 2: destination dmabuf, 3: host */
    m_regions.resize(4);
    region_alloc(&m_regions[0], DMABUF_SIZE, true);
    region_alloc(&m_regions[1], HOST_SIZE, false);
    region_alloc(&m_regions[2], DMABUF_SIZE, true);
    region_alloc(&m_regions[3], HOST_SIZE, false);
    region_t check;
    region_alloc(&check, DMABUF_SIZE, false);
    m_regions.push_back(check);

    /* this side's addresses and destination keys, for the peer */
    uct_iface_attr_t attr;
    ASSERT_UCS_OK(uct_iface_query(m_iface, &attr));
    std::vector<char> dev_addr(attr.device_addr_len);
    std::vector<char> iface_addr(attr.iface_addr_len);
    ASSERT_UCS_OK(uct_iface_get_device_address(
            m_iface, (uct_device_addr_t*)&dev_addr[0]));
    ASSERT_UCS_OK(uct_iface_get_address(m_iface,
                                        (uct_iface_addr_t*)&iface_addr[0]));
    std::ostringstream out;
    out << hex(&dev_addr[0], dev_addr.size()) << "\n"
        << hex(&iface_addr[0], iface_addr.size()) << "\n";
    for (int i = 2; i <= 3; ++i) {
        std::vector<char> rkey(256);
        ASSERT_UCS_OK(uct_md_mkey_pack(m_md, m_regions[i].memh, &rkey[0]));
        out << (uintptr_t)m_regions[i].buffer << " "
            << hex(&rkey[0], rkey.size()) << "\n";
    }
    write_file(dir + "/" + role + ".addr", out.str());

    /* the peer's */
    ASSERT_TRUE(wait_file(dir + "/" + peer + ".addr", 120.0))
            << "the peer published no address";
    std::ifstream in((dir + "/" + peer + ".addr").c_str());
    std::string peer_dev, peer_iface;
    in >> peer_dev >> peer_iface;
    for (int i = 0; i < 2; ++i) {
        uint64_t address;
        std::string rkey_hex;
        uct_rkey_bundle_t rkey;

        in >> address >> rkey_hex;
        std::vector<char> packed = unhex(rkey_hex);
        ASSERT_UCS_OK(uct_rkey_unpack(m_component, &packed[0], &rkey));
        m_peer_addrs.push_back(address);
        m_peer_rkeys.push_back(rkey);
    }

    std::vector<char> pdev = unhex(peer_dev), piface = unhex(peer_iface);
    uct_ep_params_t ep_params;
    ep_params.field_mask = UCT_EP_PARAM_FIELD_IFACE |
                           UCT_EP_PARAM_FIELD_DEV_ADDR |
                           UCT_EP_PARAM_FIELD_IFACE_ADDR;
    ep_params.iface      = m_iface;
    ep_params.dev_addr   = (const uct_device_addr_t*)&pdev[0];
    ep_params.iface_addr = (const uct_iface_addr_t*)&piface[0];
    ASSERT_UCS_OK(uct_ep_create(&ep_params, &m_ep));

    uint64_t dc_bytes, devmem_bytes, staged, rx_bytes, unused;
    expected(cases, ucs_static_array_size(cases), devmem, peer_devmem,
             &dc_bytes, &devmem_bytes, &staged);
    expected(cases, ucs_static_array_size(cases), peer_devmem, devmem,
             &rx_bytes, &unused, &unused);
    for (size_t c = 0; c < ucs_static_array_size(cases); ++c) {
        const xfer_case_t &xc = cases[c];
        region_t &src         = m_regions[xc.src_dmabuf ? 0 : 1];
        int dst               = xc.dst_dmabuf ? 0 : 1;
        void *src_ptr         = UCS_PTR_BYTE_OFFSET(src.buffer, xc.src_offset);
        uint64_t remote       = m_peer_addrs[dst] + xc.dst_offset;
        uct_rkey_t rkey       = m_peer_rkeys[dst].rkey;

        ASSERT_LE(xc.src_offset + xc.size, src.size);
        fill(src.buffer, src.size, c * 2 + (role == "a"));
        memset(check.buffer, 0, xc.size);

        uct_iov_t iov = {src_ptr, xc.size, src.memh, 0, 1};
        ASSERT_EQ(UCS_OK, rma([&](uct_completion_t *comp) {
            return uct_ep_put_zcopy(m_ep, &iov, 1, remote, rkey, comp);
        })) << "PUT of case " << c;

        uct_iov_t back = {check.buffer, xc.size, check.memh, 0, 1};
        ASSERT_EQ(UCS_OK, rma([&](uct_completion_t *comp) {
            return uct_ep_get_zcopy(m_ep, &back, 1, remote, rkey, comp);
        })) << "GET of case " << c;

        EXPECT_EQ(0, memcmp(src_ptr, check.buffer, xc.size))
                << "case " << c << ": " << xc.size << " bytes from "
                << (xc.src_dmabuf ? "dmabuf" : "host") << " to "
                << (xc.dst_dmabuf ? "dmabuf" : "host");
        UCS_TEST_MESSAGE << "devmem xfer " << role << ": case " << c << ": "
                         << xc.size << " bytes "
                         << (xc.src_dmabuf ? "dmabuf" : "host") << " -> "
                         << (xc.dst_dmabuf ? "dmabuf" : "host")
                         << " compared";
    }

    /* this side's sends and the peer's, once it is done: the same cases
     * both ways */
    write_file(dir + "/" + role + ".done", "done\n");
    ASSERT_TRUE(wait_file(dir + "/" + peer + ".done", 300.0))
            << "the peer did not finish";
    EXPECT_EQ(dc_bytes, counter(UCT_TCP_ZC_IFACE_STAT_DC_TX_BYTES));
    EXPECT_EQ(devmem_bytes, counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_TX_BYTES));
    EXPECT_EQ(rx_bytes, counter(UCT_TCP_ZC_IFACE_STAT_DC_RX_BYTES));
    if (env("TCP_ZC_TEST_DEVMEM_LINEAR") == "y") {
        /* some in the pool, some linear */
        EXPECT_LT(counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_RX_BYTES), rx_bytes);
        EXPECT_GT(counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_RX_BYTES), 0u);
    } else {
        EXPECT_EQ(rx_bytes, counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_RX_BYTES));
    }
    EXPECT_EQ(devmem, counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_FRAGS) > 0);
    EXPECT_EQ(counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_FRAGS),
              counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_TOKENS));
    EXPECT_EQ(staged, counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_STAGED_BYTES));

    UCS_TEST_MESSAGE << "devmem xfer " << role << " (devmem "
                     << (devmem ? "on" : "off") << ", the peer's "
                     << (peer_devmem ? "on" : "off")
                     << "): data connection bytes sent "
                     << counter(UCT_TCP_ZC_IFACE_STAT_DC_TX_BYTES)
                     << " (devmem "
                     << counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_TX_BYTES)
                     << ", staged "
                     << counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_STAGED_BYTES)
                     << "), received "
                     << counter(UCT_TCP_ZC_IFACE_STAT_DC_RX_BYTES)
                     << " (in the RX pool "
                     << counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_RX_BYTES)
                     << " in "
                     << counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_FRAGS)
                     << " fragments, tokens given back "
                     << counter(UCT_TCP_ZC_IFACE_STAT_DEVMEM_TOKENS) << ")";

    /* the peer may still read this side's regions: it is done when it
     * wrote its done file, which came after its reads */
}
