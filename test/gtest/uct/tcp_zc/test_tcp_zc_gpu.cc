/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include <common/test.h>

extern "C" {
#include <uct/tcp_zc/tcp_zc_cuda.h>
#include <uct/tcp_zc/tcp_zc_gpu.h>
#include <ucs/sys/sys.h>
#include "tcp_zc_cuda_stub.h"
}

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <algorithm>
#include <string>
#include <vector>


/*
 * The GPU logic of tcp_zc (driver loading, GPU choice, receive pool, gather,
 * staging) against the stand-in driver of tcp_zc_cuda_stub.c, or against a
 * real driver: TCP_ZC_GPU_TEST_LIB=libcuda.so.1 (gpu-check.sh), where the
 * tests which need the stand-in's controls report themselves skipped.
 */
class test_tcp_zc_gpu : public ucs::test {
protected:
    /* stand-in controls the tests set; unset again at cleanup */
    static const char *const stub_env_names[];

    test_tcp_zc_gpu() : m_stats_func(NULL), m_opened(false), m_dev_open(false)
    {
        memset(&m_cu, 0, sizeof(m_cu));
        memset(&m_dev, 0, sizeof(m_dev));
    }

    virtual void init()
    {
        ucs::test::init();
        const char *lib = getenv("TCP_ZC_GPU_TEST_LIB");

        m_lib     = (lib != NULL) ? lib : TCP_ZC_CUDA_STUB_PATH;
        m_is_stub = (m_lib.find(TCP_ZC_CUDA_STUB_LIB_NAME) !=
                     std::string::npos);
    }

    virtual void cleanup()
    {
        if (m_dev_open) {
            uct_tcp_zc_gpu_dev_close(&m_dev);
            m_dev_open = false;
        }
        if (m_opened) {
            if (m_is_stub) {
                check_no_leaks();
            }
            uct_tcp_zc_cuda_close(&m_cu);
        }
        for (const char *const *name = stub_env_names; *name != NULL;
             ++name) {
            unsetenv(*name);
        }
        ucs::test::cleanup();
    }

    void need_stub()
    {
        if (!m_is_stub) {
            UCS_TEST_SKIP_R("needs the controls of the stand-in driver");
        }
    }

    /* open the driver (after the test's stand-in settings) and GPU 0 */
    void open(bool dev = true)
    {
        char reason[256] = "";
        ucs_status_t status = uct_tcp_zc_cuda_open(m_lib.c_str(), &m_cu,
                                                   reason, sizeof(reason));
        if ((status != UCS_OK) && !m_is_stub) {
            UCS_TEST_SKIP_R(std::string("no GPU driver: ") + reason);
        }
        ASSERT_UCS_OK(status, << reason);
        m_opened = true;

        if (m_is_stub) {
            m_stats_func = (tcp_zc_cuda_stub_stats_func_t)
                    dlsym(m_cu.handle, TCP_ZC_CUDA_STUB_STATS_SYM);
            ASSERT_TRUE(m_stats_func != NULL);
        }

        if (dev) {
            ASSERT_UCS_OK(uct_tcp_zc_gpu_dev_open(&m_cu, 0, &m_dev, reason,
                                                  sizeof(reason)),
                          << reason);
            m_dev_open = true;
        }
    }

    tcp_zc_cuda_stub_stats_t stats()
    {
        tcp_zc_cuda_stub_stats_t s;

        m_stats_func(&s);
        return s;
    }

    void check_no_leaks()
    {
        tcp_zc_cuda_stub_stats_t s = stats();

        EXPECT_EQ(0ul, s.device_allocs);
        EXPECT_EQ(0ul, s.host_allocs);
        EXPECT_EQ(0ul, s.streams);
        EXPECT_EQ(0ul, s.events);
        EXPECT_EQ(0ul, s.ctx_pushed);
        EXPECT_EQ(0ul, s.pending_ops);
        EXPECT_EQ(0ul, s.ctx_retained);
    }

    /* GPU memory with the test's helpers */
    uct_tcp_zc_cu_deviceptr_t gpu_alloc(size_t size)
    {
        uct_tcp_zc_cu_deviceptr_t ptr = 0;

        EXPECT_UCS_OK(uct_tcp_zc_gpu_dev_push(&m_dev));
        EXPECT_EQ(UCT_TCP_ZC_CU_SUCCESS, m_cu.mem_alloc(&ptr, size));
        uct_tcp_zc_gpu_dev_pop(&m_dev);
        return ptr;
    }

    void gpu_free(uct_tcp_zc_cu_deviceptr_t ptr)
    {
        EXPECT_UCS_OK(uct_tcp_zc_gpu_dev_push(&m_dev));
        EXPECT_EQ(UCT_TCP_ZC_CU_SUCCESS, m_cu.mem_free(ptr));
        uct_tcp_zc_gpu_dev_pop(&m_dev);
    }

    void gpu_write(uct_tcp_zc_cu_deviceptr_t dst, const void *src, size_t size)
    {
        EXPECT_UCS_OK(uct_tcp_zc_gpu_dev_push(&m_dev));
        EXPECT_EQ(UCT_TCP_ZC_CU_SUCCESS, m_cu.memcpy_htod(dst, src, size));
        uct_tcp_zc_gpu_dev_pop(&m_dev);
    }

    std::vector<uint8_t> gpu_read(uct_tcp_zc_cu_deviceptr_t src, size_t size)
    {
        std::vector<uint8_t> buf(size);

        EXPECT_UCS_OK(uct_tcp_zc_gpu_dev_push(&m_dev));
        EXPECT_EQ(UCT_TCP_ZC_CU_SUCCESS,
                  m_cu.memcpy_dtoh(&buf[0], src, size));
        uct_tcp_zc_gpu_dev_pop(&m_dev);
        return buf;
    }

    static std::vector<uint8_t> pattern(size_t size, unsigned seed)
    {
        std::vector<uint8_t> buf(size);

        for (size_t i = 0; i < size; ++i) {
            buf[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 8)) & 0xff);
        }
        return buf;
    }

    std::string                   m_lib;
    bool                          m_is_stub;
    uct_tcp_zc_cuda_t             m_cu;
    tcp_zc_cuda_stub_stats_func_t m_stats_func;
    bool                          m_opened;
    uct_tcp_zc_gpu_dev_t          m_dev;
    bool                          m_dev_open;
};

const char *const test_tcp_zc_gpu::stub_env_names[] = {
    "TCP_ZC_CUDA_STUB_DEVICES", "TCP_ZC_CUDA_STUB_BUS_IDS",
    "TCP_ZC_CUDA_STUB_DMABUF", "TCP_ZC_CUDA_STUB_POLLS",
    "TCP_ZC_CUDA_STUB_INIT_ERROR", "TCP_ZC_CUDA_STUB_FAIL_ENQUEUE",
    "TCP_ZC_CUDA_STUB_FAIL_COPY", NULL
};


UCS_TEST_F(test_tcp_zc_gpu, no_libcuda)
{
    char reason[256] = "";
    uct_tcp_zc_cuda_t cu;

    EXPECT_EQ(UCS_ERR_NO_DEVICE,
              uct_tcp_zc_cuda_open("libtcp_zc_no_such_cuda.so.1", &cu, reason,
                                   sizeof(reason)));
    EXPECT_NE(std::string::npos,
              std::string(reason).find("libtcp_zc_no_such_cuda.so.1"))
            << reason;
    EXPECT_TRUE(cu.handle == NULL);

    /* a library which is no CUDA driver */
    EXPECT_EQ(UCS_ERR_NO_DEVICE,
              uct_tcp_zc_cuda_open("libc.so.6", &cu, reason, sizeof(reason)));
    EXPECT_NE(std::string::npos, std::string(reason).find("has no cuInit"))
            << reason;

    /* the process' driver: the same answer every time */
    void *libcuda = dlopen(UCT_TCP_ZC_CUDA_LIB_DEFAULT, RTLD_NOW | RTLD_LOCAL);
    const uct_tcp_zc_cuda_t *global = uct_tcp_zc_cuda_get();
    EXPECT_EQ(global, uct_tcp_zc_cuda_get());
    if (libcuda == NULL) {
        EXPECT_TRUE(global == NULL);
    } else {
        dlclose(libcuda);
    }
}

UCS_TEST_F(test_tcp_zc_gpu, init_error)
{
    char reason[256] = "";
    uct_tcp_zc_cuda_t cu;

    need_stub();
    setenv("TCP_ZC_CUDA_STUB_INIT_ERROR", "100", 1);
    EXPECT_EQ(UCS_ERR_NO_DEVICE,
              uct_tcp_zc_cuda_open(m_lib.c_str(), &cu, reason,
                                   sizeof(reason)));
    EXPECT_NE(std::string::npos, std::string(reason).find("no CUDA-capable"))
            << reason;

    setenv("TCP_ZC_CUDA_STUB_INIT_ERROR", "999", 1);
    EXPECT_EQ(UCS_ERR_IO_ERROR,
              uct_tcp_zc_cuda_open(m_lib.c_str(), &cu, reason,
                                   sizeof(reason)));
    EXPECT_NE(std::string::npos, std::string(reason).find("999")) << reason;

    setenv("TCP_ZC_CUDA_STUB_DEVICES", "0", 1);
    unsetenv("TCP_ZC_CUDA_STUB_INIT_ERROR");
    EXPECT_EQ(UCS_ERR_NO_DEVICE,
              uct_tcp_zc_cuda_open(m_lib.c_str(), &cu, reason,
                                   sizeof(reason)));
}

UCS_TEST_F(test_tcp_zc_gpu, nearest)
{
    ucs_sys_dev_distance_t d[4];

    for (unsigned i = 0; i < 4; ++i) {
        d[i].bandwidth = 10e9;
        d[i].latency   = 1e-6;
    }
    EXPECT_EQ(0u, uct_tcp_zc_gpu_nearest(d, 4));
    d[2].bandwidth = 20e9;
    EXPECT_EQ(2u, uct_tcp_zc_gpu_nearest(d, 4));
    d[3].bandwidth = 20e9;
    d[3].latency   = 0.5e-6;
    EXPECT_EQ(3u, uct_tcp_zc_gpu_nearest(d, 4));
    EXPECT_EQ(0u, uct_tcp_zc_gpu_nearest(d, 1));
}

UCS_TEST_F(test_tcp_zc_gpu, select)
{
    char reason[256] = "";
    int ordinal      = -1;

    if (m_is_stub) {
        setenv("TCP_ZC_CUDA_STUB_DEVICES", "3", 1);
    }
    open(false);

    int count = 0;
    ASSERT_EQ(UCT_TCP_ZC_CU_SUCCESS, m_cu.device_get_count(&count));

    EXPECT_UCS_OK(uct_tcp_zc_gpu_select(&m_cu, UCS_SYS_DEVICE_ID_UNKNOWN,
                                        UCT_TCP_ZC_GPU_NEAREST, &ordinal,
                                        reason, sizeof(reason)));
    EXPECT_EQ(0, ordinal);
    EXPECT_NE(std::string::npos, std::string(reason).find("unknown"))
            << reason;

    EXPECT_UCS_OK(uct_tcp_zc_gpu_select(&m_cu, UCS_SYS_DEVICE_ID_UNKNOWN,
                                        count - 1, &ordinal, reason,
                                        sizeof(reason)));
    EXPECT_EQ(count - 1, ordinal);

    EXPECT_EQ(UCS_ERR_NO_DEVICE,
              uct_tcp_zc_gpu_select(&m_cu, UCS_SYS_DEVICE_ID_UNKNOWN, count,
                                    &ordinal, reason, sizeof(reason)));
    EXPECT_NE(std::string::npos, std::string(reason).find("present"))
            << reason;

    /* a NIC in the topology: a PCI device of this machine, if any */
    ucs_sys_bus_id_t bus_id = {0, 0, 0, 0};
    ucs_sys_device_t nic;
    EXPECT_UCS_OK(ucs_topo_find_device_by_bus_id(&bus_id, &nic));
    EXPECT_UCS_OK(uct_tcp_zc_gpu_select(&m_cu, nic, UCT_TCP_ZC_GPU_NEAREST,
                                        &ordinal, reason, sizeof(reason)));
    EXPECT_GE(ordinal, 0);
    EXPECT_LT(ordinal, count);
    EXPECT_NE(std::string::npos, std::string(reason).find("nearest"))
            << reason;
    UCS_TEST_MESSAGE << reason;
}

UCS_TEST_F(test_tcp_zc_gpu, pool_dmabuf_attribute_off)
{
    char reason[256] = "";
    uct_tcp_zc_gpu_pool_t pool;

    need_stub();
    setenv("TCP_ZC_CUDA_STUB_DMABUF", "0", 1);
    open();

    EXPECT_EQ(0, m_dev.dmabuf_supported);
    EXPECT_EQ(UCS_ERR_UNSUPPORTED,
              uct_tcp_zc_gpu_pool_create(&m_dev, 1 << 20, &pool, reason,
                                         sizeof(reason)));
    EXPECT_NE(std::string::npos,
              std::string(reason).find("DMA_BUF_SUPPORTED is 0"))
            << reason;
    EXPECT_EQ(0ul, stats().device_allocs);
}

UCS_TEST_F(test_tcp_zc_gpu, device_ptr)
{
    open();

    uct_tcp_zc_cu_deviceptr_t gpu = gpu_alloc(4096);
    std::vector<char> host(64);
    void *pinned = NULL;

    EXPECT_TRUE(uct_tcp_zc_gpu_is_device_ptr(&m_cu, (void*)(uintptr_t)gpu));
    EXPECT_TRUE(uct_tcp_zc_gpu_is_device_ptr(&m_cu,
                                             (void*)(uintptr_t)(gpu + 4095)));
    EXPECT_FALSE(uct_tcp_zc_gpu_is_device_ptr(&m_cu, &host[0]));

    ASSERT_UCS_OK(uct_tcp_zc_gpu_dev_push(&m_dev));
    ASSERT_EQ(UCT_TCP_ZC_CU_SUCCESS, m_cu.mem_host_alloc(&pinned, 4096, 0));
    EXPECT_FALSE(uct_tcp_zc_gpu_is_device_ptr(&m_cu, pinned));
    EXPECT_EQ(UCT_TCP_ZC_CU_SUCCESS, m_cu.mem_free_host(pinned));
    uct_tcp_zc_gpu_dev_pop(&m_dev);
    gpu_free(gpu);
}

static bool udmabuf_accessible()
{
    return access("/dev/udmabuf", R_OK | W_OK) == 0;
}

UCS_TEST_F(test_tcp_zc_gpu, pool_export_unsupported)
{
    char reason[256] = "";
    uct_tcp_zc_gpu_pool_t pool;

    need_stub();
    if (udmabuf_accessible()) {
        UCS_TEST_SKIP_R("/dev/udmabuf is accessible: export works here");
    }

    open();
    EXPECT_EQ(1, m_dev.dmabuf_supported);
    EXPECT_EQ(UCS_ERR_UNSUPPORTED,
              uct_tcp_zc_gpu_pool_create(&m_dev, 1 << 20, &pool, reason,
                                         sizeof(reason)));
    EXPECT_NE(std::string::npos,
              std::string(reason).find("operation not supported"))
            << reason;
    UCS_TEST_MESSAGE << reason;
    EXPECT_EQ(0ul, stats().device_allocs);
}

UCS_TEST_F(test_tcp_zc_gpu, pool_export)
{
    char reason[256] = "";
    uct_tcp_zc_gpu_pool_t pool;

    if (m_is_stub && !udmabuf_accessible()) {
        UCS_TEST_SKIP_R("/dev/udmabuf is not accessible: the stand-in "
                        "driver cannot export dmabufs");
    }

    open();
    if (!m_dev.dmabuf_supported) {
        UCS_TEST_SKIP_R("the GPU reports CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED"
                        " 0");
    }

    size_t size = (1 << 20) + 1;
    ASSERT_UCS_OK(uct_tcp_zc_gpu_pool_create(&m_dev, size, &pool, reason,
                                             sizeof(reason)),
                  << reason);
    UCS_TEST_MESSAGE << reason;
    EXPECT_GE(pool.dmabuf_fd, 0);
    EXPECT_EQ(0u, pool.size % ucs_get_page_size());
    EXPECT_GE(pool.size, size);
    EXPECT_EQ((off_t)pool.size, lseek(pool.dmabuf_fd, 0, SEEK_END));

    std::vector<uint8_t> data = pattern(pool.size, 1);
    gpu_write(pool.base, &data[0], pool.size);
    if (m_is_stub) {
        /* the dmabuf is the pool's memory */
        void *map = mmap(NULL, pool.size, PROT_READ, MAP_SHARED,
                         pool.dmabuf_fd, 0);
        ASSERT_NE(MAP_FAILED, map);
        EXPECT_EQ(0, memcmp(map, &data[0], pool.size));
        munmap(map, pool.size);
    }

    uct_tcp_zc_gpu_pool_destroy(&pool);
}


/* Gather: the engine with a "pool" of GPU memory */
class test_tcp_zc_gpu_gather : public test_tcp_zc_gpu {
protected:
    struct batch_result {
        bool         done;
        ucs_status_t status;
        size_t       released_before; /* tokens released when it completed */
    };

    test_tcp_zc_gpu_gather() : m_pool_base(0), m_engine_init(false) {}

    void init_engine(size_t pool_size = 1 << 20, unsigned max_inflight = 16)
    {
        open();
        m_pool_base = gpu_alloc(pool_size);
        m_pool_data = pattern(pool_size, 3);
        gpu_write(m_pool_base, &m_pool_data[0], pool_size);

        uct_tcp_zc_gpu_pool_t pool;
        memset(&pool, 0, sizeof(pool));
        pool.dev       = &m_dev;
        pool.base      = m_pool_base;
        pool.size      = pool_size;
        pool.dmabuf_fd = -1;
        ASSERT_UCS_OK(uct_tcp_zc_gpu_engine_init(&m_engine, &m_dev, &pool,
                                                 max_inflight, release_cb,
                                                 this));
        m_engine_init = true;
    }

    virtual void cleanup()
    {
        if (m_engine_init) {
            uct_tcp_zc_gpu_engine_cleanup(&m_engine);
        }
        if (m_pool_base != 0) {
            gpu_free(m_pool_base);
        }
        test_tcp_zc_gpu::cleanup();
    }

    static void release_cb(void *arg, const uint32_t *tokens, unsigned count)
    {
        test_tcp_zc_gpu_gather *self = (test_tcp_zc_gpu_gather*)arg;

        self->m_released.insert(self->m_released.end(), tokens,
                                tokens + count);
    }

    static void comp_cb(void *arg, ucs_status_t status)
    {
        batch_result *result = (batch_result*)arg;

        EXPECT_FALSE(result->done);
        result->done   = true;
        result->status = status;
    }

    /* progress until the batch completed, bounded */
    void wait(const batch_result &result)
    {
        for (int i = 0; (i < 100000) && !result.done; ++i) {
            uct_tcp_zc_gpu_engine_progress(&m_engine);
        }
        ASSERT_TRUE(result.done);
    }

    /* fragments of the pool and LINEAR bytes, and the bytes they make */
    void make_frags(unsigned count, unsigned seed,
                    std::vector<uct_tcp_zc_gpu_frag_t> &frags,
                    std::vector<uint8_t> &expected,
                    std::vector<std::vector<uint8_t> > &linear)
    {
        srand(seed);
        linear.resize(count);
        for (unsigned i = 0; i < count; ++i) {
            uct_tcp_zc_gpu_frag_t frag;
            memset(&frag, 0, sizeof(frag));
            frag.length = 1 + rand() % 9000;
            if ((i % 4) == 3) {
                linear[i] = pattern(frag.length, seed + i);
                frag.linear = &linear[i][0];
                expected.insert(expected.end(), linear[i].begin(),
                                linear[i].end());
            } else {
                frag.offset = rand() % (m_pool_data.size() - frag.length);
                frag.token  = 1000 * seed + i;
                expected.insert(expected.end(),
                                m_pool_data.begin() + frag.offset,
                                m_pool_data.begin() + frag.offset +
                                        frag.length);
            }
            frags.push_back(frag);
        }
    }

    std::vector<uint32_t> tokens_of(const std::vector<uct_tcp_zc_gpu_frag_t>
                                            &frags)
    {
        std::vector<uint32_t> tokens;

        for (size_t i = 0; i < frags.size(); ++i) {
            if (frags[i].linear == NULL) {
                tokens.push_back(frags[i].token);
            }
        }
        return tokens;
    }

    uct_tcp_zc_cu_deviceptr_t m_pool_base;
    std::vector<uint8_t>      m_pool_data;
    uct_tcp_zc_gpu_engine_t   m_engine;
    bool                      m_engine_init;
    std::vector<uint32_t>     m_released;
};


UCS_TEST_F(test_tcp_zc_gpu_gather, plan)
{
    uct_tcp_zc_gpu_frag_t frags[5];
    uct_tcp_zc_gpu_copy_t copies[5];
    uint32_t tokens[5];
    unsigned num_copies, num_tokens;
    size_t length;
    char linear[64];

    memset(frags, 0, sizeof(frags));
    /* three contiguous pool fragments, LINEAR bytes, one more fragment */
    frags[0].offset = 4096; frags[0].length = 100; frags[0].token = 7;
    frags[1].offset = 4196; frags[1].length = 50;  frags[1].token = 8;
    frags[2].offset = 4246; frags[2].length = 10;  frags[2].token = 9;
    frags[3].linear = linear; frags[3].length = 64;
    frags[4].offset = 0;    frags[4].length = 16;  frags[4].token = 10;

    ASSERT_UCS_OK(uct_tcp_zc_gpu_gather_plan(frags, 5, 0x100000, 8192,
                                             0x900000, 1, copies, &num_copies,
                                             tokens, &num_tokens, &length));
    EXPECT_EQ(240u, length);
    ASSERT_EQ(3u, num_copies);
    EXPECT_EQ(UCT_TCP_ZC_GPU_COPY_DTOD, copies[0].kind);
    EXPECT_EQ(0x900000u, copies[0].dst);
    EXPECT_EQ(0x100000u + 4096, copies[0].src);
    EXPECT_EQ(160u, copies[0].length);
    EXPECT_EQ(UCT_TCP_ZC_GPU_COPY_HTOD, copies[1].kind);
    EXPECT_EQ(0x900000u + 160, copies[1].dst);
    EXPECT_EQ((uintptr_t)linear, copies[1].src);
    EXPECT_EQ(UCT_TCP_ZC_GPU_COPY_DTOD, copies[2].kind);
    EXPECT_EQ(0x900000u + 224, copies[2].dst);
    EXPECT_EQ(0x100000u, copies[2].src);
    ASSERT_EQ(4u, num_tokens);
    EXPECT_EQ(7u, tokens[0]);
    EXPECT_EQ(10u, tokens[3]);

    /* host destination */
    ASSERT_UCS_OK(uct_tcp_zc_gpu_gather_plan(frags, 5, 0x100000, 8192,
                                             0x900000, 0, copies, &num_copies,
                                             tokens, &num_tokens, &length));
    EXPECT_EQ(UCT_TCP_ZC_GPU_COPY_DTOH, copies[0].kind);
    EXPECT_EQ(UCT_TCP_ZC_GPU_COPY_HTOH, copies[1].kind);

    /* outside the pool, at its end, empty */
    frags[4].offset = 8192 - 15;
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              uct_tcp_zc_gpu_gather_plan(frags, 5, 0x100000, 8192, 0x900000,
                                         1, copies, &num_copies, tokens,
                                         &num_tokens, &length));
    frags[4].offset = UINT64_MAX - 4;
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              uct_tcp_zc_gpu_gather_plan(frags, 5, 0x100000, 8192, 0x900000,
                                         1, copies, &num_copies, tokens,
                                         &num_tokens, &length));
    frags[4].offset = 8192 - 16;
    EXPECT_UCS_OK(uct_tcp_zc_gpu_gather_plan(frags, 5, 0x100000, 8192,
                                             0x900000, 1, copies, &num_copies,
                                             tokens, &num_tokens, &length));
    frags[4].length = 0;
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              uct_tcp_zc_gpu_gather_plan(frags, 5, 0x100000, 8192, 0x900000,
                                         1, copies, &num_copies, tokens,
                                         &num_tokens, &length));
}

UCS_TEST_F(test_tcp_zc_gpu_gather, bytes_to_gpu)
{
    init_engine();

    const unsigned num_batches = 8;
    std::vector<batch_result> results(num_batches);
    std::vector<std::vector<uint8_t> > expected(num_batches);
    std::vector<std::vector<std::vector<uint8_t> > > linear(num_batches);
    std::vector<uct_tcp_zc_cu_deviceptr_t> dst(num_batches);
    std::vector<uint32_t> all_tokens;

    /* several batches in flight at once */
    for (unsigned b = 0; b < num_batches; ++b) {
        std::vector<uct_tcp_zc_gpu_frag_t> frags;
        make_frags(1 + b * 5, b + 1, frags, expected[b], linear[b]);
        std::vector<uint32_t> tokens = tokens_of(frags);
        all_tokens.insert(all_tokens.end(), tokens.begin(), tokens.end());

        dst[b] = gpu_alloc(expected[b].size());
        results[b].done = false;
        ASSERT_EQ(UCS_INPROGRESS,
                  uct_tcp_zc_gpu_gather(&m_engine, &frags[0], frags.size(),
                                        (void*)(uintptr_t)dst[b], 1, comp_cb,
                                        &results[b]));
        /* LINEAR bytes may be reused once the call returned */
        for (size_t i = 0; i < linear[b].size(); ++i) {
            std::fill(linear[b][i].begin(), linear[b][i].end(), 0xee);
        }
    }

    for (unsigned b = 0; b < num_batches; ++b) {
        wait(results[b]);
        EXPECT_UCS_OK(results[b].status);
        std::vector<uint8_t> got = gpu_read(dst[b], expected[b].size());
        EXPECT_TRUE(got == expected[b]) << "batch " << b;
        gpu_free(dst[b]);
    }

    /* every token once, in batch order */
    EXPECT_TRUE(m_released == all_tokens);
    EXPECT_EQ(all_tokens.size(), m_engine.counters.tokens_released);
    EXPECT_EQ(num_batches, m_engine.counters.batches);
    EXPECT_EQ(0u, m_engine.counters.errors);
}

UCS_TEST_F(test_tcp_zc_gpu_gather, bytes_to_host)
{
    init_engine();

    std::vector<uct_tcp_zc_gpu_frag_t> frags;
    std::vector<uint8_t> expected;
    std::vector<std::vector<uint8_t> > linear;
    batch_result result = {false, UCS_OK, 0};

    make_frags(40, 11, frags, expected, linear);
    std::vector<uint8_t> dst(expected.size(), 0);
    ASSERT_EQ(UCS_INPROGRESS,
              uct_tcp_zc_gpu_gather(&m_engine, &frags[0], frags.size(),
                                    &dst[0], 0, comp_cb, &result));
    wait(result);
    EXPECT_UCS_OK(result.status);
    EXPECT_TRUE(dst == expected);
    EXPECT_TRUE(m_released == tokens_of(frags));
}

UCS_TEST_F(test_tcp_zc_gpu_gather, coalesced)
{
    init_engine();

    /* 64 fragments which follow each other in the pool: one copy */
    std::vector<uct_tcp_zc_gpu_frag_t> frags(64);
    for (unsigned i = 0; i < frags.size(); ++i) {
        memset(&frags[i], 0, sizeof(frags[i]));
        frags[i].offset = 8192 + i * 4096;
        frags[i].length = 4096;
        frags[i].token  = i;
    }

    uct_tcp_zc_cu_deviceptr_t dst = gpu_alloc(64 * 4096);
    batch_result result           = {false, UCS_OK, 0};
    ASSERT_EQ(UCS_INPROGRESS,
              uct_tcp_zc_gpu_gather(&m_engine, &frags[0], frags.size(),
                                    (void*)(uintptr_t)dst, 1, comp_cb,
                                    &result));
    EXPECT_EQ(1u, m_engine.counters.copies);
    wait(result);
    EXPECT_UCS_OK(result.status);
    std::vector<uint8_t> got = gpu_read(dst, 64 * 4096);
    EXPECT_TRUE(std::equal(got.begin(), got.end(),
                           m_pool_data.begin() + 8192));
    EXPECT_EQ(64u, m_released.size());
    gpu_free(dst);
}

UCS_TEST_F(test_tcp_zc_gpu_gather, tokens_after_completion_only)
{
    need_stub();
    setenv("TCP_ZC_CUDA_STUB_POLLS", "5", 1);
    init_engine();

    uct_tcp_zc_gpu_frag_t frag;
    memset(&frag, 0, sizeof(frag));
    frag.offset = 12345;
    frag.length = 1000;
    frag.token  = 42;

    uct_tcp_zc_cu_deviceptr_t dst = gpu_alloc(4096);
    std::vector<uint8_t> zeros(4096, 0);
    gpu_write(dst, &zeros[0], zeros.size());

    batch_result result = {false, UCS_OK, 0};
    ASSERT_EQ(UCS_INPROGRESS,
              uct_tcp_zc_gpu_gather(&m_engine, &frag, 1,
                                    (void*)(uintptr_t)dst, 1, comp_cb,
                                    &result));

    /* four queries: the copy has not run, the token stays */
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(0u, uct_tcp_zc_gpu_engine_progress(&m_engine));
        EXPECT_TRUE(m_released.empty());
        EXPECT_FALSE(result.done);
    }
    EXPECT_EQ(2ul, stats().pending_ops); /* the copy, and the event */
    EXPECT_TRUE(gpu_read(dst, 4096) == zeros);

    /* the fifth: done, the token goes back, then the batch completes */
    EXPECT_EQ(1u, uct_tcp_zc_gpu_engine_progress(&m_engine));
    ASSERT_EQ(1u, m_released.size());
    EXPECT_EQ(42u, m_released[0]);
    EXPECT_TRUE(result.done);
    std::vector<uint8_t> got = gpu_read(dst, 1000);
    EXPECT_TRUE(std::equal(got.begin(), got.end(),
                           m_pool_data.begin() + 12345));
    gpu_free(dst);
}

UCS_TEST_F(test_tcp_zc_gpu_gather, inflight_limit)
{
    init_engine(1 << 20, 2);

    uct_tcp_zc_gpu_frag_t frag;
    memset(&frag, 0, sizeof(frag));
    frag.length = 100;

    uct_tcp_zc_cu_deviceptr_t dst = gpu_alloc(4096);
    batch_result results[3]       = {{false, UCS_OK, 0},
                                     {false, UCS_OK, 0},
                                     {false, UCS_OK, 0}};
    for (int i = 0; i < 2; ++i) {
        frag.token = i;
        ASSERT_EQ(UCS_INPROGRESS,
                  uct_tcp_zc_gpu_gather(&m_engine, &frag, 1,
                                        (void*)(uintptr_t)dst, 1, comp_cb,
                                        &results[i]));
    }

    frag.token = 2;
    EXPECT_EQ(UCS_ERR_NO_RESOURCE,
              uct_tcp_zc_gpu_gather(&m_engine, &frag, 1,
                                    (void*)(uintptr_t)dst, 1, comp_cb,
                                    &results[2]));
    wait(results[0]);
    ASSERT_EQ(UCS_INPROGRESS,
              uct_tcp_zc_gpu_gather(&m_engine, &frag, 1,
                                    (void*)(uintptr_t)dst, 1, comp_cb,
                                    &results[2]));
    wait(results[2]);
    EXPECT_TRUE(results[1].done);
    EXPECT_EQ(3u, m_released.size());
    gpu_free(dst);
}

UCS_TEST_F(test_tcp_zc_gpu_gather, copy_fault)
{
    need_stub();
    /* the copy of the second batch faults when it runs */
    setenv("TCP_ZC_CUDA_STUB_FAIL_COPY", "2", 1);
    init_engine();

    uct_tcp_zc_gpu_frag_t frag;
    memset(&frag, 0, sizeof(frag));
    frag.length = 100;

    uct_tcp_zc_cu_deviceptr_t dst = gpu_alloc(4096);
    batch_result results[2]       = {{false, UCS_OK, 0}, {false, UCS_OK, 0}};
    for (int i = 0; i < 2; ++i) {
        frag.token = i;
        ASSERT_EQ(UCS_INPROGRESS,
                  uct_tcp_zc_gpu_gather(&m_engine, &frag, 1,
                                        (void*)(uintptr_t)dst, 1, comp_cb,
                                        &results[i]));
    }

    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        wait(results[1]);
    }
    EXPECT_UCS_OK(results[0].status);
    EXPECT_EQ(UCS_ERR_IO_ERROR, results[1].status);
    /* the fragments are not read any more: their tokens go back */
    EXPECT_EQ(2u, m_released.size());
    EXPECT_EQ(1u, m_engine.counters.errors);

    /* the context stays broken, as a real one does: refused at once */
    batch_result result = {false, UCS_OK, 0};
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_IO_ERROR,
                  uct_tcp_zc_gpu_gather(&m_engine, &frag, 1,
                                        (void*)(uintptr_t)dst, 1, comp_cb,
                                        &result));
    }
    EXPECT_FALSE(result.done);
    EXPECT_EQ(2u, m_released.size());
    gpu_free(dst);
}

UCS_TEST_F(test_tcp_zc_gpu_gather, enqueue_failure)
{
    need_stub();
    setenv("TCP_ZC_CUDA_STUB_FAIL_ENQUEUE", "3", 1);
    init_engine();

    /* three copies; the third call is refused */
    uct_tcp_zc_gpu_frag_t frags[3];
    memset(frags, 0, sizeof(frags));
    for (int i = 0; i < 3; ++i) {
        frags[i].offset = i * 8192;
        frags[i].length = 1000;
        frags[i].token  = i;
    }

    uct_tcp_zc_cu_deviceptr_t dst = gpu_alloc(4096);
    batch_result result           = {false, UCS_OK, 0};
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        EXPECT_EQ(UCS_ERR_INVALID_PARAM,
                  uct_tcp_zc_gpu_gather(&m_engine, frags, 3,
                                        (void*)(uintptr_t)dst, 1, comp_cb,
                                        &result));
    }

    /* nothing in flight reads the fragments, the tokens stay the caller's */
    EXPECT_EQ(0ul, stats().pending_ops);
    EXPECT_EQ(0u, uct_tcp_zc_gpu_engine_progress(&m_engine));
    EXPECT_FALSE(result.done);
    EXPECT_TRUE(m_released.empty());

    /* the next batch goes */
    ASSERT_EQ(UCS_INPROGRESS,
              uct_tcp_zc_gpu_gather(&m_engine, frags, 3,
                                    (void*)(uintptr_t)dst, 1, comp_cb,
                                    &result));
    wait(result);
    EXPECT_UCS_OK(result.status);
    EXPECT_EQ(3u, m_released.size());
    gpu_free(dst);
}


/* Staging: GPU source -> pinned chunks -> send callback */
class test_tcp_zc_gpu_stage : public test_tcp_zc_gpu {
protected:
    struct op_ctx {
        test_tcp_zc_gpu_stage *self;
        std::vector<uint8_t>  sent;
        bool                  done;
        ucs_status_t          status;
        unsigned              calls;
        unsigned              hold_every;   /* every Nth send is zero-copy */
        unsigned              busy_every;   /* every Nth call: no resource */
        unsigned              fail_at;      /* this call fails (0: none) */
    };

    test_tcp_zc_gpu_stage() : m_stager_init(false) {}

    void init_stager(size_t chunk_size, unsigned num_chunks)
    {
        open();
        ASSERT_UCS_OK(uct_tcp_zc_gpu_stager_init(&m_stager, &m_dev,
                                                 chunk_size, num_chunks));
        m_stager_init = true;
    }

    virtual void cleanup()
    {
        if (m_stager_init) {
            uct_tcp_zc_gpu_stager_cleanup(&m_stager);
        }
        test_tcp_zc_gpu::cleanup();
    }

    static void init_ctx(op_ctx &ctx, test_tcp_zc_gpu_stage *self)
    {
        ctx.self       = self;
        ctx.done       = false;
        ctx.status     = UCS_OK;
        ctx.calls      = 0;
        ctx.hold_every = 0;
        ctx.busy_every = 0;
        ctx.fail_at    = 0;
        ctx.sent.clear();
    }

    static ucs_status_t send_cb(void *arg, const void *buf, size_t length,
                                size_t offset, unsigned chunk)
    {
        op_ctx *ctx = (op_ctx*)arg;

        ++ctx->calls;
        if ((ctx->busy_every != 0) && ((ctx->calls % ctx->busy_every) == 0)) {
            return UCS_ERR_NO_RESOURCE;
        }

        if (ctx->calls == ctx->fail_at) {
            return UCS_ERR_CONNECTION_RESET;
        }

        /* in order, no gap */
        EXPECT_EQ(ctx->sent.size(), offset);
        ctx->sent.insert(ctx->sent.end(), (const uint8_t*)buf,
                         (const uint8_t*)buf + length);

        if ((ctx->hold_every != 0) && ((ctx->calls % ctx->hold_every) == 0)) {
            ctx->self->m_held.push_back(chunk);
            return UCS_INPROGRESS;
        }
        return UCS_OK;
    }

    static void comp_cb(void *arg, ucs_status_t status)
    {
        op_ctx *ctx = (op_ctx*)arg;

        EXPECT_FALSE(ctx->done);
        ctx->done   = true;
        ctx->status = status;
    }

    /* progress until done; held chunks are released a few rounds later */
    void wait(const op_ctx &ctx, size_t *max_copies_inflight = NULL)
    {
        for (int i = 0; (i < 100000) && !ctx.done; ++i) {
            uct_tcp_zc_gpu_stager_progress(&m_stager);
            if (max_copies_inflight != NULL) {
                size_t inflight = 0;
                for (unsigned c = 0; c < m_stager.num_chunks; ++c) {
                    inflight += (m_stager.chunks[c].state ==
                                 UCT_TCP_ZC_GPU_CHUNK_COPYING);
                }
                *max_copies_inflight = std::max(*max_copies_inflight,
                                                inflight);
            }
            if (((i % 3) == 2) && !m_held.empty()) {
                uct_tcp_zc_gpu_stager_chunk_done(&m_stager, m_held.front(),
                                                 UCS_OK);
                m_held.erase(m_held.begin());
            }
        }
        ASSERT_TRUE(ctx.done);
    }

    uct_tcp_zc_gpu_stager_t m_stager;
    bool                    m_stager_init;
    std::vector<unsigned>   m_held;
};


UCS_TEST_F(test_tcp_zc_gpu_stage, pipeline)
{
    init_stager(4096, 4);

    const size_t length            = 100 * 1000 + 3;
    std::vector<uint8_t> data      = pattern(length, 5);
    uct_tcp_zc_cu_deviceptr_t src  = gpu_alloc(length);
    gpu_write(src, &data[0], length);

    op_ctx ctx;
    init_ctx(ctx, this);
    ctx.hold_every = 3;
    ctx.busy_every = 7;

    uct_tcp_zc_gpu_stage_op_t op;
    size_t max_inflight = 0;
    uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, length,
                         send_cb, comp_cb, &ctx);
    wait(ctx, &max_inflight);

    EXPECT_UCS_OK(ctx.status);
    EXPECT_TRUE(ctx.sent == data);
    EXPECT_EQ((length + 4095) / 4096, m_stager.counters.copies);
    EXPECT_EQ(length, m_stager.counters.bytes);
    if (m_is_stub) {
        /* several chunks were being copied at once: pipelined */
        EXPECT_GT(max_inflight, 1u);
    }
    UCS_TEST_MESSAGE << "copies in flight at most: " << max_inflight;
    gpu_free(src);
}

UCS_TEST_F(test_tcp_zc_gpu_stage, several_ops_in_order)
{
    init_stager(1024, 3);

    const unsigned num_ops = 5;
    std::vector<op_ctx> ctx(num_ops);
    std::vector<uct_tcp_zc_gpu_stage_op_t> ops(num_ops);
    std::vector<std::vector<uint8_t> > data(num_ops);
    std::vector<uct_tcp_zc_cu_deviceptr_t> src(num_ops);

    for (unsigned i = 0; i < num_ops; ++i) {
        size_t length = (i == 2) ? 0 : 1000 * i + 17;
        init_ctx(ctx[i], this);
        ctx[i].hold_every = 2;
        data[i]           = pattern(length, i);
        src[i]            = gpu_alloc(length + 1);
        if (length > 0) {
            gpu_write(src[i], &data[i][0], length);
        }
        uct_tcp_zc_gpu_stage(&m_stager, &ops[i], (void*)(uintptr_t)src[i],
                             length, send_cb, comp_cb, &ctx[i]);
    }

    wait(ctx[num_ops - 1]);
    for (unsigned i = 0; i < num_ops; ++i) {
        EXPECT_TRUE(ctx[i].done) << i;
        EXPECT_UCS_OK(ctx[i].status);
        EXPECT_TRUE(ctx[i].sent == data[i]) << i;
        gpu_free(src[i]);
    }
}

UCS_TEST_F(test_tcp_zc_gpu_stage, send_failure)
{
    init_stager(4096, 4);

    const size_t length           = 40000;
    std::vector<uint8_t> data     = pattern(length, 9);
    uct_tcp_zc_cu_deviceptr_t src = gpu_alloc(length);
    gpu_write(src, &data[0], length);

    op_ctx ctx;
    init_ctx(ctx, this);
    ctx.fail_at = 3;
    uct_tcp_zc_gpu_stage_op_t op;
    uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, length,
                         send_cb, comp_cb, &ctx);
    wait(ctx);
    EXPECT_EQ(UCS_ERR_CONNECTION_RESET, ctx.status);
    EXPECT_EQ(2 * 4096u, ctx.sent.size());
    EXPECT_EQ(1u, m_stager.counters.errors);

    /* every chunk is free again: the next operation goes */
    op_ctx ctx2;
    init_ctx(ctx2, this);
    uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, length,
                         send_cb, comp_cb, &ctx2);
    wait(ctx2);
    EXPECT_UCS_OK(ctx2.status);
    EXPECT_TRUE(ctx2.sent == data);
    gpu_free(src);
}

UCS_TEST_F(test_tcp_zc_gpu_stage, zero_copy_send_failure)
{
    init_stager(4096, 2);

    const size_t length           = 20000;
    uct_tcp_zc_cu_deviceptr_t src = gpu_alloc(length);

    op_ctx ctx;
    init_ctx(ctx, this);
    ctx.hold_every = 1;
    uct_tcp_zc_gpu_stage_op_t op;
    uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, length,
                         send_cb, comp_cb, &ctx);
    for (int i = 0; (i < 10000) && (m_held.size() < 2); ++i) {
        uct_tcp_zc_gpu_stager_progress(&m_stager);
    }
    ASSERT_EQ(2u, m_held.size());
    /* the first zero-copy send fails (e.g. the connection broke) */
    uct_tcp_zc_gpu_stager_chunk_done(&m_stager, m_held[0],
                                     UCS_ERR_ENDPOINT_TIMEOUT);
    m_held.erase(m_held.begin());
    wait(ctx);
    EXPECT_EQ(UCS_ERR_ENDPOINT_TIMEOUT, ctx.status);
    gpu_free(src);
}

UCS_TEST_F(test_tcp_zc_gpu_stage, copy_fault)
{
    need_stub();
    setenv("TCP_ZC_CUDA_STUB_FAIL_COPY", "3", 1);
    init_stager(4096, 4);

    const size_t length           = 40000;
    uct_tcp_zc_cu_deviceptr_t src = gpu_alloc(length);

    op_ctx ctx;
    init_ctx(ctx, this);
    uct_tcp_zc_gpu_stage_op_t op;
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, length,
                             send_cb, comp_cb, &ctx);
        wait(ctx);
    }
    /* reported as a status; what was sent before the fault is in order */
    EXPECT_EQ(UCS_ERR_IO_ERROR, ctx.status);
    EXPECT_EQ(2 * 4096u, ctx.sent.size());
    gpu_free(src);
}

UCS_TEST_F(test_tcp_zc_gpu_stage, enqueue_failure)
{
    need_stub();
    setenv("TCP_ZC_CUDA_STUB_FAIL_ENQUEUE", "2", 1);
    init_stager(4096, 4);

    const size_t length           = 40000;
    std::vector<uint8_t> data     = pattern(length, 2);
    uct_tcp_zc_cu_deviceptr_t src = gpu_alloc(length);
    gpu_write(src, &data[0], length);

    op_ctx ctx;
    init_ctx(ctx, this);
    uct_tcp_zc_gpu_stage_op_t op;
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, length,
                             send_cb, comp_cb, &ctx);
    }
    wait(ctx);
    /* failed before its first chunk was sent: no byte of it goes */
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, ctx.status);
    EXPECT_EQ(0u, ctx.sent.size());

    /* the stager goes on with the next operation */
    op_ctx ctx2;
    init_ctx(ctx2, this);
    uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, length,
                         send_cb, comp_cb, &ctx2);
    wait(ctx2);
    EXPECT_UCS_OK(ctx2.status);
    EXPECT_TRUE(ctx2.sent == data);
    gpu_free(src);
}

UCS_TEST_F(test_tcp_zc_gpu_stage, cleanup_cancels)
{
    init_stager(4096, 2);

    uct_tcp_zc_cu_deviceptr_t src = gpu_alloc(65536);
    op_ctx ctx;
    init_ctx(ctx, this);
    uct_tcp_zc_gpu_stage_op_t op;
    uct_tcp_zc_gpu_stage(&m_stager, &op, (void*)(uintptr_t)src, 65536,
                         send_cb, comp_cb, &ctx);
    uct_tcp_zc_gpu_stager_cleanup(&m_stager);
    m_stager_init = false;
    EXPECT_TRUE(ctx.done);
    EXPECT_EQ(UCS_ERR_CANCELED, ctx.status);
    gpu_free(src);
}
