/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

#include <set>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include <uct/tcp_zc/tcp_zc.h>
}


class test_tcp_zc_md : public test_tcp_zc_base {
protected:
    typedef void *(*thread_func_t)(void*);

    virtual void init()
    {
        test_tcp_zc_base::init();
        ASSERT_UCS_OK(open_md());
    }

    uct_tcp_zc_md_t *md() const
    {
        return ucs_derived_of(m_md, uct_tcp_zc_md_t);
    }

    uct_tcp_zc_memh_t *reg(void *address, size_t length)
    {
        uct_mem_h memh = NULL;

        EXPECT_UCS_OK(uct_md_mem_reg(m_md, address, length,
                                     UCT_MD_MEM_ACCESS_ALL, &memh));
        return (uct_tcp_zc_memh_t*)memh;
    }

    void dereg(uct_tcp_zc_memh_t *memh)
    {
        EXPECT_UCS_OK(uct_md_mem_dereg(m_md, memh));
    }

    /* Both checks of a remote access agree; returns the status */
    ucs_status_t check(uint64_t key, uint64_t address, uint64_t length)
    {
        uct_tcp_zc_memh_t *memh = NULL;
        void *ptr               = NULL;
        void *check_ptr         = NULL;
        ucs_status_t status, check_status;

        check_status = uct_tcp_zc_md_check_access(md(), key, address, length,
                                                  &check_ptr);
        status       = uct_tcp_zc_md_access_get(md(), key, address, length,
                                                &ptr, &memh);
        EXPECT_EQ(check_status, status)
                << "key " << key << " address " << address << " length "
                << length;
        if (status == UCS_OK) {
            EXPECT_EQ((void*)(uintptr_t)address, ptr);
            EXPECT_EQ((void*)(uintptr_t)address, check_ptr);
            EXPECT_EQ(key, memh->key);
            uct_tcp_zc_md_access_put(md(), memh);
        }
        return status;
    }

    static pthread_t start_thread(thread_func_t func, void *arg)
    {
        pthread_t thread;
        int ret;

        ret = pthread_create(&thread, NULL, func, arg);
        if (ret != 0) {
            UCS_TEST_ABORT("pthread_create() failed: " << strerror(ret));
        }
        return thread;
    }

    static void join_thread(pthread_t thread)
    {
        int ret = pthread_join(thread, NULL);

        EXPECT_EQ(0, ret) << "pthread_join() failed: " << strerror(ret);
    }

    template <typename T>
    static T load(const T *ptr)
    {
        return __atomic_load_n(ptr, __ATOMIC_ACQUIRE);
    }

    template <typename T>
    static void store(T *ptr, T value)
    {
        __atomic_store_n(ptr, value, __ATOMIC_RELEASE);
    }
};


UCS_TEST_F(test_tcp_zc_md, component_query)
{
    uct_component_attr_t attr;
    uct_md_resource_desc_t md_resource;

    attr.field_mask = UCT_COMPONENT_ATTR_FIELD_NAME |
                      UCT_COMPONENT_ATTR_FIELD_MD_RESOURCE_COUNT |
                      UCT_COMPONENT_ATTR_FIELD_FLAGS;
    ASSERT_UCS_OK(uct_component_query(m_component, &attr));
    EXPECT_EQ(std::string("tcp_zc"), attr.name);
    EXPECT_EQ(1u, attr.md_resource_count);
    EXPECT_EQ(0ull, attr.flags); /* no connection manager */

    attr.field_mask        = UCT_COMPONENT_ATTR_FIELD_MD_RESOURCES;
    attr.md_resources      = &md_resource;
    ASSERT_UCS_OK(uct_component_query(m_component, &attr));
    EXPECT_EQ(std::string("tcp_zc"), md_resource.md_name);
}

UCS_TEST_F(test_tcp_zc_md, query)
{
    uct_md_attr_t attr;

    ASSERT_UCS_OK(uct_md_query(m_md, &attr));
    EXPECT_EQ(std::string("tcp_zc"), attr.component_name);
    /* no dmabuf registration: this md serves "lo" (UCX_TCP_ZC_DMABUF=auto) */
    EXPECT_EQ((uint64_t)(UCT_MD_FLAG_REG | UCT_MD_FLAG_NEED_MEMH |
                         UCT_MD_FLAG_NEED_RKEY |
                         UCT_TCP_ZC_MD_FLAG_INVALIDATE),
              attr.cap.flags);
    EXPECT_EQ(UCS_BIT(UCS_MEMORY_TYPE_HOST), attr.cap.reg_mem_types);
    EXPECT_EQ(UCS_BIT(UCS_MEMORY_TYPE_HOST), attr.cap.access_mem_types);
    EXPECT_EQ(0ull, attr.cap.alloc_mem_types);
    EXPECT_EQ(0ull, attr.cap.detect_mem_types);
    EXPECT_EQ(ULONG_MAX, attr.cap.max_reg);
    EXPECT_EQ(sizeof(uct_tcp_zc_packed_rkey_t), attr.rkey_packed_size);
    /* UCX's generic invalidation test packs a key into a uint64_t */
    EXPECT_EQ(8u, attr.rkey_packed_size);
}

UCS_TEST_F(test_tcp_zc_md, reg_pack_unpack)
{
    static const size_t length = 12345;
    std::vector<char> buffer(length);
    std::vector<char> rkey_buffer(sizeof(uct_tcp_zc_packed_rkey_t));
    uct_rkey_bundle_t rkey_bundle;
    const uct_tcp_zc_rkey_t *rkey;
    uct_mem_h memh;

    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &buffer[0], length,
                                 UCT_MD_MEM_ACCESS_ALL, &memh));
    ASSERT_TRUE(memh != UCT_MEM_HANDLE_NULL);

    ASSERT_UCS_OK(uct_md_mkey_pack(m_md, memh, &rkey_buffer[0]));
    ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0],
                                  &rkey_bundle));

    rkey = (const uct_tcp_zc_rkey_t*)rkey_bundle.rkey;
    ASSERT_TRUE(rkey != NULL);
    EXPECT_EQ(((uct_tcp_zc_memh_t*)memh)->key, rkey->key);
    EXPECT_FALSE(uct_tcp_zc_key_is_dmabuf(rkey->key));

    ASSERT_UCS_OK(uct_rkey_release(m_component, &rkey_bundle));
    ASSERT_UCS_OK(uct_md_mem_dereg(m_md, memh));
}

UCS_TEST_F(test_tcp_zc_md, reg_keys_unique)
{
    static const unsigned count = 64;
    std::vector<char> buffer(4096);
    std::vector<uct_mem_h> memhs(count);
    std::set<uint64_t> keys;
    unsigned i;

    /* the same region registered several times gets a new key each time */
    for (i = 0; i < count; ++i) {
        ASSERT_UCS_OK(uct_md_mem_reg(m_md, &buffer[0], buffer.size(),
                                     UCT_MD_MEM_ACCESS_ALL, &memhs[i]));
        keys.insert(((uct_tcp_zc_memh_t*)memhs[i])->key);
    }

    EXPECT_EQ(count, keys.size());

    for (i = 0; i < count; ++i) {
        ASSERT_UCS_OK(uct_md_mem_dereg(m_md, memhs[i]));
    }
}

/* Keys are random: a peer that knows one of its keys cannot derive the keys
 * of other registrations. Before keys were drawn at random they counted up
 * from a per-md start: this test failed */
UCS_TEST_F(test_tcp_zc_md, reg_keys_random)
{
    static const unsigned count = 1024;
    std::vector<char> buffer(64);
    std::vector<uct_tcp_zc_memh_t*> memhs;
    std::set<uint64_t> keys;
    uint64_t bits_set   = 0;
    uint64_t bits_clear = 0;
    unsigned adjacent   = 0;
    uint64_t prev_key   = 0;
    uint64_t key;
    unsigned i;

    /* half of them stay registered, so keys are distinct among live
     * registrations and over registrations that come and go */
    for (i = 0; i < count; ++i) {
        memhs.push_back(reg(&buffer[0], buffer.size()));
        ASSERT_TRUE(memhs.back() != NULL);
        key = memhs.back()->key;
        EXPECT_NE(0ull, key);
        keys.insert(key);
        bits_set   |= key;
        bits_clear |= ~key;
        if ((i > 0) && ((key - prev_key) <= 16)) {
            ++adjacent;
        }
        prev_key = key;
        if ((i % 2) == 1) {
            dereg(memhs.back());
            memhs.pop_back();
        }
    }

    EXPECT_EQ(count, keys.size()) << "keys repeat";
    /* each random bit of the keys takes both values (chance that one bit
     * does not: 63 * 2^-1023); bit 63 says "dmabuf", clear for host memory */
    EXPECT_EQ(~UCT_TCP_ZC_KEY_FLAG_DMABUF, bits_set)
            << std::hex << "bits never set: " << ~bits_set;
    EXPECT_EQ(~0ull, bits_clear) << std::hex << "bits never clear: "
                                 << ~bits_clear;
    EXPECT_EQ(0u, adjacent) << "keys close to the previous one";

    for (i = 0; i < memhs.size(); ++i) {
        dereg(memhs[i]);
    }
}

/* The access check: key, bounds (overflow-safe), zero-length accesses. The
 * overflowing access was allowed before the check was made overflow-safe */
UCS_TEST_F(test_tcp_zc_md, access_check)
{
    static const uint64_t length = 4096;
    std::vector<char> buffer(length);
    uct_tcp_zc_memh_t *memh      = reg(&buffer[0], length);
    const uint64_t start         = (uintptr_t)&buffer[0];
    const uint64_t end           = start + length;
    uint64_t key;

    ASSERT_TRUE(memh != NULL);
    key = memh->key;

    /* inside */
    EXPECT_UCS_OK(check(key, start, length));
    EXPECT_UCS_OK(check(key, start, 1));
    EXPECT_UCS_OK(check(key, end - 1, 1));
    EXPECT_UCS_OK(check(key, start + 100, 200));
    /* zero-length, at the start, inside and at the end of the region */
    EXPECT_UCS_OK(check(key, start, 0));
    EXPECT_UCS_OK(check(key, start + 100, 0));
    EXPECT_UCS_OK(check(key, end, 0));

    /* outside */
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start - 1, 1));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start - 1, length));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start, length + 1));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, end, 1));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, end - 1, 2));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start - 1, 0));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, end + 1, 0));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, 0, 0));
    /* address + length wraps around to inside the region */
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start + 1, UINT64_MAX));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start + 1,
                                          UINT64_MAX - length + 1));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, UINT64_MAX, 2));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, UINT64_MAX, UINT64_MAX));

    /* unknown keys, also for zero-length accesses */
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(0, start, 0));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key + 1, start, 0));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key - 1, start, 0));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key ^ UCS_BIT(63), start, 1));

    dereg(memh);

    /* a deregistered key is unknown */
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start, 1));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, start, 0));
}

/* A request that found the registration before it was deregistered fails to
 * lock it afterwards; its reference keeps the handle readable */
UCS_TEST_F(test_tcp_zc_md, access_after_dereg)
{
    std::vector<char> buffer(256);
    uct_tcp_zc_memh_t *memh = reg(&buffer[0], buffer.size());
    uct_tcp_zc_memh_t *access_memh;
    void *ptr;

    ASSERT_TRUE(memh != NULL);
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh->key,
                                           (uintptr_t)&buffer[10], 20, &ptr,
                                           &access_memh));
    EXPECT_EQ(memh, access_memh);
    EXPECT_EQ((void*)&buffer[10], ptr);

    /* locks and unlocks while registered: one per socket call */
    ASSERT_EQ(1, uct_tcp_zc_md_access_lock(md(), access_memh));
    uct_tcp_zc_md_access_unlock(md(), access_memh);
    ASSERT_EQ(1, uct_tcp_zc_md_access_lock(md(), access_memh));
    uct_tcp_zc_md_access_unlock(md(), access_memh);

    /* deregistration from the thread which holds the reference (the progress
     * thread): it does not wait for the reference */
    dereg(memh);

    EXPECT_EQ(0, uct_tcp_zc_md_access_lock(md(), access_memh));
    EXPECT_EQ(0, uct_tcp_zc_md_access_lock(md(), access_memh));
    /* the handle is still valid memory until the last reference goes */
    EXPECT_EQ(buffer.size(), access_memh->length);
    uct_tcp_zc_md_access_put(md(), access_memh);
}

/* Several references, dropped before and after deregistration */
UCS_TEST_F(test_tcp_zc_md, access_references)
{
    static const unsigned count = 8;
    std::vector<char> buffer(256);
    uct_tcp_zc_memh_t *memh = reg(&buffer[0], buffer.size());
    std::vector<uct_tcp_zc_memh_t*> refs(count);
    void *ptr;
    unsigned i;

    ASSERT_TRUE(memh != NULL);
    for (i = 0; i < count; ++i) {
        ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh->key,
                                               (uintptr_t)&buffer[0],
                                               buffer.size(), &ptr, &refs[i]));
        EXPECT_EQ(memh, refs[i]);
    }

    for (i = 0; i < count / 2; ++i) {
        uct_tcp_zc_md_access_put(md(), refs[i]);
    }

    dereg(memh);

    for (i = count / 2; i < count; ++i) {
        EXPECT_EQ(0, uct_tcp_zc_md_access_lock(md(), refs[i]));
        uct_tcp_zc_md_access_put(md(), refs[i]);
    }
}

struct test_tcp_zc_md_dereg_arg {
    uct_md_h          md;
    uct_tcp_zc_memh_t *memh;
    ucs_status_t      status;
    int               done;
};

static void *test_tcp_zc_md_dereg_thread(void *arg)
{
    test_tcp_zc_md_dereg_arg *dereg_arg = (test_tcp_zc_md_dereg_arg*)arg;

    dereg_arg->status = uct_md_mem_dereg(dereg_arg->md, dereg_arg->memh);
    __atomic_store_n(&dereg_arg->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Deregistration waits for an access that holds the lock (a receive into the
 * region) and returns once it is unlocked */
UCS_TEST_F(test_tcp_zc_md, dereg_waits_for_lock)
{
    std::vector<char> buffer(256, 0);
    uct_tcp_zc_memh_t *memh = reg(&buffer[0], buffer.size());
    test_tcp_zc_md_dereg_arg arg;
    uct_tcp_zc_memh_t *access_memh;
    pthread_t thread;
    void *ptr;

    ASSERT_TRUE(memh != NULL);
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh->key,
                                           (uintptr_t)&buffer[0],
                                           buffer.size(), &ptr,
                                           &access_memh));
    ASSERT_EQ(1, uct_tcp_zc_md_access_lock(md(), access_memh));

    arg.md     = m_md;
    arg.memh   = memh;
    arg.status = UCS_ERR_LAST;
    arg.done   = 0;
    thread     = start_thread(test_tcp_zc_md_dereg_thread, &arg);

    /* the key is gone at once; the deregistration waits for the unlock */
    usleep(300000);
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(memh->key, (uintptr_t)&buffer[0],
                                          1));
    EXPECT_EQ(0, load(&arg.done)) << "deregistration did not wait for the "
                                     "access which holds the region";
    /* the "receive" into the region, still registered */
    memset(ptr, 0x5a, buffer.size());

    uct_tcp_zc_md_access_unlock(md(), access_memh);
    join_thread(thread);
    EXPECT_EQ(1, load(&arg.done));
    EXPECT_UCS_OK(arg.status);

    EXPECT_EQ(0, uct_tcp_zc_md_access_lock(md(), access_memh));
    uct_tcp_zc_md_access_put(md(), access_memh);
}

/* Deregistration waits only for accesses to its own region */
UCS_TEST_F(test_tcp_zc_md, dereg_other_region_no_wait)
{
    std::vector<char> buffer(256);
    uct_tcp_zc_memh_t *memh1 = reg(&buffer[0], 128);
    uct_tcp_zc_memh_t *memh2 = reg(&buffer[128], 128);
    uct_tcp_zc_memh_t *access_memh;
    void *ptr;

    ASSERT_TRUE((memh1 != NULL) && (memh2 != NULL));
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh1->key,
                                           (uintptr_t)&buffer[0], 128, &ptr,
                                           &access_memh));
    ASSERT_EQ(1, uct_tcp_zc_md_access_lock(md(), access_memh));
    dereg(memh2); /* would hang here if it waited for memh1's access */
    uct_tcp_zc_md_access_unlock(md(), access_memh);
    uct_tcp_zc_md_access_put(md(), access_memh);
    dereg(memh1);
}


/*
 * Deregistration with invalidation (UCT_MD_MEM_DEREG_FLAG_INVALIDATE): the
 * key is refused at once, and the completion is called once the last access
 * which found the region before (its reference) is gone.
 */
class test_tcp_zc_md_inv : public test_tcp_zc_md {
protected:
    struct inv_comp {
        uct_completion_t comp;
        unsigned         calls;
        pthread_t        thread;
    };

    static void inv_cb(uct_completion_t *comp)
    {
        inv_comp *c = ucs_container_of(comp, inv_comp, comp);

        c->thread = pthread_self();
        __atomic_add_fetch(&c->calls, 1, __ATOMIC_ACQ_REL);
    }

    static void init_comp(inv_comp *c, int count = 1)
    {
        c->comp.func   = inv_cb;
        c->comp.count  = count;
        c->comp.status = UCS_OK;
        c->calls       = 0;
    }

    ucs_status_t pack(uct_tcp_zc_memh_t *memh, unsigned flags)
    {
        uct_tcp_zc_packed_rkey_t rkey;
        uct_md_mkey_pack_params_t params;

        params.field_mask = UCT_MD_MKEY_PACK_FIELD_FLAGS;
        params.flags      = flags;
#if UCT_TCP_ZC_API_V2
        return uct_md_mkey_pack_v2(m_md, memh, memh->address, memh->length,
                                   &params, &rkey);
#else
        return uct_md_mkey_pack_v2(m_md, memh, &params, &rkey);
#endif
    }

    /* a registration whose key went out as one which can be invalidated */
    uct_tcp_zc_memh_t *reg_inv(void *address, size_t length)
    {
        uct_tcp_zc_memh_t *memh = reg(address, length);

        EXPECT_TRUE(memh != NULL);
        if (memh != NULL) {
            EXPECT_UCS_OK(pack(memh, UCT_TCP_ZC_MKEY_PACK_FLAG_INVALIDATE));
        }
        return memh;
    }

    ucs_status_t dereg_inv(uct_tcp_zc_memh_t *memh, uct_completion_t *comp,
                           uint64_t fields = UCT_MD_MEM_DEREG_FIELD_MEMH |
                                             UCT_MD_MEM_DEREG_FIELD_FLAGS |
                                             UCT_MD_MEM_DEREG_FIELD_COMPLETION,
                           unsigned flags = UCT_MD_MEM_DEREG_FLAG_INVALIDATE)
    {
        uct_md_mem_dereg_params_t params;

        params.field_mask = fields;
        params.flags      = flags;
        params.memh       = memh;
        params.comp       = comp;
        return uct_md_mem_dereg_v2(m_md, &params);
    }

    struct put_arg {
        test_tcp_zc_md_inv *test;
        uct_tcp_zc_memh_t  *memh;
    };

    static void *put_thread(void *arg)
    {
        put_arg *p = (put_arg*)arg;

        uct_tcp_zc_md_access_put(p->test->md(), p->memh);
        return NULL;
    }
};


UCS_TEST_F(test_tcp_zc_md_inv, query)
{
    uct_md_attr_t attr;

    ASSERT_UCS_OK(uct_md_query(m_md, &attr));
    EXPECT_TRUE(attr.cap.flags & UCT_TCP_ZC_MD_FLAG_INVALIDATE);
#if UCT_TCP_ZC_API_V2
    /* RMA only: tcp_zc has no atomics; not the deprecated flag */
    EXPECT_FALSE(attr.cap.flags & UCT_MD_FLAG_INVALIDATE_AMO);
    EXPECT_FALSE(attr.cap.flags & UCT_MD_FLAG_INVALIDATE);
#endif
}

/* No access in flight: the completion is called within the deregistration */
UCS_TEST_F(test_tcp_zc_md_inv, no_access)
{
    std::vector<char> buffer(4096);
    uct_tcp_zc_memh_t *memh = reg_inv(&buffer[0], buffer.size());
    uint64_t key;
    inv_comp c;

    ASSERT_TRUE(memh != NULL);
    key = memh->key;
    init_comp(&c);
    ASSERT_UCS_OK(dereg_inv(memh, &c.comp));
    EXPECT_EQ(1u, load(&c.calls));
    EXPECT_EQ(0, c.comp.count);
    EXPECT_UCS_OK(c.comp.status);
    EXPECT_TRUE(pthread_equal(pthread_self(), c.thread));

    /* every later peer access with the key fails */
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, (uintptr_t)&buffer[0], 1));
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, (uintptr_t)&buffer[0], 0));
    EXPECT_EQ(1u, load(&c.calls));
}

/* Accesses in flight (a PUT being received, a GET answer being sent): the
 * key is refused at once, the held references cannot lock the region any
 * more, and the completion comes with the last reference */
UCS_TEST_F(test_tcp_zc_md_inv, waits_for_references)
{
    static const unsigned count = 3;
    std::vector<char> buffer(4096);
    uct_tcp_zc_memh_t *memh = reg_inv(&buffer[0], buffer.size());
    uct_tcp_zc_memh_t *refs[count];
    uint64_t key;
    inv_comp c;
    unsigned i;
    void *ptr;

    ASSERT_TRUE(memh != NULL);
    key = memh->key;
    for (i = 0; i < count; ++i) {
        ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), key,
                                               (uintptr_t)&buffer[i * 8], 8,
                                               &ptr, &refs[i]));
    }
    ASSERT_EQ(1, uct_tcp_zc_md_access_lock(md(), refs[0]));
    uct_tcp_zc_md_access_unlock(md(), refs[0]);

    init_comp(&c);
    ASSERT_UCS_OK(dereg_inv(memh, &c.comp));
    EXPECT_EQ(0u, load(&c.calls)) << "completed with accesses in flight";
    EXPECT_EQ(UCS_ERR_INVALID_ADDR, check(key, (uintptr_t)&buffer[0], 8));

    for (i = 0; i < count; ++i) {
        EXPECT_EQ(0, uct_tcp_zc_md_access_lock(md(), refs[i]));
        EXPECT_EQ(0u, load(&c.calls));
        uct_tcp_zc_md_access_put(md(), refs[i]);
        EXPECT_EQ((i == (count - 1)) ? 1u : 0u, load(&c.calls))
                << "after reference " << i;
    }

    EXPECT_EQ(0, c.comp.count);
    EXPECT_UCS_OK(c.comp.status);
}

/* The completion runs in the thread which drops the last reference (the
 * progress thread of the connection) */
UCS_TEST_F(test_tcp_zc_md_inv, completion_in_other_thread)
{
    std::vector<char> buffer(256);
    uct_tcp_zc_memh_t *memh = reg_inv(&buffer[0], buffer.size());
    put_arg arg;
    pthread_t thread;
    inv_comp c;
    void *ptr;

    ASSERT_TRUE(memh != NULL);
    arg.test = this;
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh->key,
                                           (uintptr_t)&buffer[0],
                                           buffer.size(), &ptr, &arg.memh));
    init_comp(&c);
    ASSERT_UCS_OK(dereg_inv(memh, &c.comp));
    EXPECT_EQ(0u, load(&c.calls));

    thread = start_thread(put_thread, &arg);
    join_thread(thread);
    EXPECT_EQ(1u, load(&c.calls));
    EXPECT_TRUE(pthread_equal(thread, c.thread));
}

/* One completion for several invalidated regions, as UCP uses it: called
 * once, after the last of them */
UCS_TEST_F(test_tcp_zc_md_inv, shared_completion)
{
    std::vector<char> buffer(4096);
    uct_tcp_zc_memh_t *memh1 = reg_inv(&buffer[0], 2048);
    uct_tcp_zc_memh_t *memh2 = reg_inv(&buffer[2048], 2048);
    uct_tcp_zc_memh_t *ref;
    inv_comp c;
    void *ptr;

    ASSERT_TRUE((memh1 != NULL) && (memh2 != NULL));
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh2->key,
                                           (uintptr_t)&buffer[2048], 16, &ptr,
                                           &ref));
    init_comp(&c, 2);
    ASSERT_UCS_OK(dereg_inv(memh1, &c.comp));
    ASSERT_UCS_OK(dereg_inv(memh2, &c.comp));
    EXPECT_EQ(0u, load(&c.calls));
    EXPECT_EQ(1, c.comp.count);
    uct_tcp_zc_md_access_put(md(), ref);
    EXPECT_EQ(1u, load(&c.calls));
    EXPECT_EQ(0, c.comp.count);
}

/* A plain deregistration never calls a completion, even one that is passed */
UCS_TEST_F(test_tcp_zc_md_inv, plain_dereg_no_completion)
{
    std::vector<char> buffer(256);
    uct_tcp_zc_memh_t *memh = reg_inv(&buffer[0], buffer.size());
    uct_tcp_zc_memh_t *ref;
    inv_comp c;
    void *ptr;

    ASSERT_TRUE(memh != NULL);
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh->key,
                                           (uintptr_t)&buffer[0], 1, &ptr,
                                           &ref));
    init_comp(&c);
    ASSERT_UCS_OK(dereg_inv(memh, &c.comp,
                            UCT_MD_MEM_DEREG_FIELD_MEMH |
                            UCT_MD_MEM_DEREG_FIELD_FLAGS |
                            UCT_MD_MEM_DEREG_FIELD_COMPLETION, 0));
    uct_tcp_zc_md_access_put(md(), ref);
    EXPECT_EQ(0u, load(&c.calls));
    EXPECT_EQ(1, c.comp.count);
}

/* Refused invalidations leave the region registered */
UCS_TEST_F(test_tcp_zc_md_inv, bad_params)
{
    std::vector<char> buffer(256);
    uct_tcp_zc_memh_t *memh = reg_inv(&buffer[0], buffer.size());
    uct_mem_h atomic_memh;
    inv_comp c;

    ASSERT_TRUE(memh != NULL);
    init_comp(&c);

    /* no completion */
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              dereg_inv(memh, &c.comp, UCT_MD_MEM_DEREG_FIELD_MEMH |
                                       UCT_MD_MEM_DEREG_FIELD_FLAGS));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              dereg_inv(memh, NULL));
    EXPECT_UCS_OK(check(memh->key, (uintptr_t)&buffer[0], 1));

    /* no handle */
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              dereg_inv(memh, &c.comp, UCT_MD_MEM_DEREG_FIELD_FLAGS |
                                       UCT_MD_MEM_DEREG_FIELD_COMPLETION));
    EXPECT_UCS_OK(check(memh->key, (uintptr_t)&buffer[0], 1));
    EXPECT_EQ(0u, load(&c.calls));
    ASSERT_UCS_OK(dereg_inv(memh, &c.comp));
    EXPECT_EQ(1u, load(&c.calls));

    /* atomic-only: tcp_zc invalidates RMA accesses only */
    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &buffer[0], buffer.size(),
                                 UCT_MD_MEM_ACCESS_REMOTE_ATOMIC,
                                 &atomic_memh));
    EXPECT_UCS_OK(pack((uct_tcp_zc_memh_t*)atomic_memh,
                       UCT_TCP_ZC_MKEY_PACK_FLAG_INVALIDATE));
    init_comp(&c);
    EXPECT_EQ(UCS_ERR_UNSUPPORTED,
              dereg_inv((uct_tcp_zc_memh_t*)atomic_memh, &c.comp));
    EXPECT_UCS_OK(uct_md_mem_dereg(m_md, atomic_memh));
    EXPECT_EQ(0u, load(&c.calls));
}

/* On master a region can be invalidated only if its key was packed with
 * UCT_MD_MKEY_PACK_FLAG_INVALIDATE_RMA (UCX's generic test_md.dereg_bad_arg
 * expects it); 1.13 has no such rule */
UCS_TEST_F(test_tcp_zc_md_inv, needs_packed_key)
{
    std::vector<char> buffer(256);
    uct_tcp_zc_memh_t *memh = reg(&buffer[0], buffer.size());
    inv_comp c;

    ASSERT_TRUE(memh != NULL);
    init_comp(&c);
    EXPECT_UCS_OK(pack(memh, 0));
#if UCT_TCP_ZC_INVALIDATE_NEEDS_PACK
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, dereg_inv(memh, &c.comp));
    EXPECT_UCS_OK(check(memh->key, (uintptr_t)&buffer[0], 1));
    EXPECT_UCS_OK(pack(memh, UCT_TCP_ZC_MKEY_PACK_FLAG_INVALIDATE));
#endif
    EXPECT_UCS_OK(dereg_inv(memh, &c.comp));
    EXPECT_EQ(1u, load(&c.calls));
}


/*
 * Registrations and deregistrations in threads while another thread looks the
 * keys up and writes into the regions it could lock, as the receive path of a
 * PUT does. A registering thread clears its buffer after deregistration and
 * checks that nothing writes there afterwards; the buffer is then freed (a
 * write after that shows with valgrind or a sanitizer). Batches of
 * registrations make the hash grow and rehash under the lookups.
 */
class test_tcp_zc_md_mt : public test_tcp_zc_md {
protected:
    enum {
        NUM_REG_THREADS = 2,
        ITERATIONS      = 2000,
        BATCH           = 100,
        BATCH_EVERY     = 500
    };

    struct slot_t {
        uint64_t key;
        uint64_t address;
        uint64_t length;
        unsigned found; /* accesses which found a registration of it */
    };

    struct reg_thread_t {
        test_tcp_zc_md_mt *test;
        unsigned          index;
        unsigned          written_after_dereg;
        unsigned          failed;
    };

    test_tcp_zc_md_mt() : m_reg_done(0), m_gets(0), m_locks(0),
                          m_lock_fails(0), m_probes_accepted(0),
                          m_lookups(0)
    {
        memset(m_slots, 0, sizeof(m_slots));
    }

    static void *reg_thread_func(void *arg)
    {
        reg_thread_t *thread = (reg_thread_t*)arg;

        thread->test->reg_loop(thread);
        __atomic_add_fetch(&thread->test->m_reg_done, 1, __ATOMIC_RELEASE);
        return NULL;
    }

    static void *lookup_thread_func(void *arg)
    {
        ((test_tcp_zc_md_mt*)arg)->lookup_loop();
        return NULL;
    }

    void reg_loop(reg_thread_t *thread)
    {
        slot_t *slot = &m_slots[thread->index];
        std::vector<uct_mem_h> batch;
        uct_mem_h memh, batch_memh;
        unsigned i, j, length, found;
        ucs_time_t deadline;
        uint8_t *buffer;

        for (i = 0; i < ITERATIONS; ++i) {
            length = 64 + ((i * 97) % 4096);
            buffer = new uint8_t[length];
            memset(buffer, 0, length);
            if (uct_md_mem_reg(m_md, buffer, length, UCT_MD_MEM_ACCESS_ALL,
                               &memh) != UCS_OK) {
                ++thread->failed;
                delete[] buffer;
                continue;
            }

            found = load(&slot->found);
            store(&slot->address, (uint64_t)(uintptr_t)buffer);
            store(&slot->length, (uint64_t)length);
            store(&slot->key, ((uct_tcp_zc_memh_t*)memh)->key);

            if ((i % BATCH_EVERY) == 0) {
                for (j = 0; j < BATCH; ++j) {
                    if (uct_md_mem_reg(m_md, buffer, length,
                                       UCT_MD_MEM_ACCESS_ALL,
                                       &batch_memh) == UCS_OK) {
                        batch.push_back(batch_memh);
                    } else {
                        ++thread->failed;
                    }
                }
            }

            /* deregister once an access found the registration (or after
             * a while): it races with that access's locks */
            deadline = ucs_get_time() + ucs_time_from_msec(10);
            while ((load(&slot->found) == found) &&
                   (ucs_get_time() < deadline)) {
                sched_yield();
            }

            if (!batch.empty() && ((i % BATCH_EVERY) == (BATCH_EVERY / 2))) {
                for (j = 0; j < batch.size(); ++j) {
                    if (uct_md_mem_dereg(m_md, batch[j]) != UCS_OK) {
                        ++thread->failed;
                    }
                }
                batch.clear();
            }

            if (uct_md_mem_dereg(m_md, memh) != UCS_OK) {
                ++thread->failed;
            }

            /* given back: nothing may write here any more */
            memset(buffer, 0, length);
            sched_yield();
            for (j = 0; j < length; ++j) {
                if (buffer[j] != 0) {
                    ++thread->written_after_dereg;
                    break;
                }
            }
            delete[] buffer;
        }

        for (j = 0; j < batch.size(); ++j) {
            if (uct_md_mem_dereg(m_md, batch[j]) != UCS_OK) {
                ++thread->failed;
            }
        }
    }

    void lookup_loop()
    {
        uint64_t probe_key = 0x9e3779b97f4a7c15ull;
        uct_tcp_zc_memh_t *memh;
        uint64_t key, address, length, offset;
        unsigned i;
        void *ptr;

        for (i = 0; load(&m_reg_done) < NUM_REG_THREADS; ++i) {
            ++m_lookups;
            if ((i % 8) == 7) {
                /* a peer probing keys */
                probe_key = (probe_key * 6364136223846793005ull) +
                            1442695040888963407ull;
                address = load(&m_slots[i % NUM_REG_THREADS].address);
                if (uct_tcp_zc_md_access_get(md(), probe_key, address, 0, &ptr,
                                             &memh) == UCS_OK) {
                    ++m_probes_accepted;
                    uct_tcp_zc_md_access_put(md(), memh);
                }
                continue;
            }

            /* the three fields may be of different registrations: then the
             * access is refused */
            key     = load(&m_slots[i % NUM_REG_THREADS].key);
            address = load(&m_slots[i % NUM_REG_THREADS].address);
            length  = load(&m_slots[i % NUM_REG_THREADS].length);
            offset  = i % 32;
            if ((key == 0) || (length <= offset)) {
                continue;
            }

            if (uct_tcp_zc_md_access_get(md(), key, address + offset,
                                         length - offset, &ptr,
                                         &memh) != UCS_OK) {
                continue;
            }

            ++m_gets;
            __atomic_add_fetch(&m_slots[i % NUM_REG_THREADS].found, 1,
                               __ATOMIC_RELEASE);
            /* a PUT's data in two receive calls */
            if (uct_tcp_zc_md_access_lock(md(), memh)) {
                ++m_locks;
                memset(ptr, 0xa5, (length - offset) / 2);
                uct_tcp_zc_md_access_unlock(md(), memh);
            } else {
                ++m_lock_fails;
            }

            if (uct_tcp_zc_md_access_lock(md(), memh)) {
                ++m_locks;
                memset(UCS_PTR_BYTE_OFFSET(ptr, (length - offset) / 2), 0x5a,
                       length - offset - ((length - offset) / 2));
                uct_tcp_zc_md_access_unlock(md(), memh);
            } else {
                ++m_lock_fails;
            }

            uct_tcp_zc_md_access_put(md(), memh);
        }
    }

    slot_t   m_slots[NUM_REG_THREADS];
    unsigned m_reg_done;
    /* of the lookup thread */
    unsigned m_gets;
    unsigned m_locks;
    unsigned m_lock_fails;
    unsigned m_probes_accepted;
    unsigned m_lookups;
};


UCS_TEST_F(test_tcp_zc_md_mt, reg_dereg_lookup)
{
    reg_thread_t reg_threads[NUM_REG_THREADS];
    pthread_t reg_tids[NUM_REG_THREADS];
    pthread_t lookup_tid;
    unsigned i;

    lookup_tid = start_thread(lookup_thread_func, this);
    for (i = 0; i < NUM_REG_THREADS; ++i) {
        reg_threads[i].test                = this;
        reg_threads[i].index               = i;
        reg_threads[i].written_after_dereg = 0;
        reg_threads[i].failed              = 0;
        reg_tids[i] = start_thread(reg_thread_func, &reg_threads[i]);
    }

    for (i = 0; i < NUM_REG_THREADS; ++i) {
        join_thread(reg_tids[i]);
    }
    join_thread(lookup_tid);

    UCS_TEST_MESSAGE << m_lookups << " lookups, " << m_gets
                     << " accesses found, " << m_locks << " locked, "
                     << m_lock_fails << " refused as deregistered";

    for (i = 0; i < NUM_REG_THREADS; ++i) {
        EXPECT_EQ(0u, reg_threads[i].failed) << "thread " << i;
        EXPECT_EQ(0u, reg_threads[i].written_after_dereg) << "thread " << i;
    }
    EXPECT_EQ(0u, m_probes_accepted);
    EXPECT_GT(m_gets, 0u) << "the lookups never found a registration";
    EXPECT_EQ(0u, kh_size(&md()->memhs));
}


class test_tcp_zc_md_config : public test_tcp_zc_base {
};


UCS_TEST_F(test_tcp_zc_md_config, af_prio)
{
    config_map_t config;

    config["AF_PRIO"] = "inet6,inet";
    ASSERT_UCS_OK(open_md(config));

    uct_tcp_zc_md_t *md = ucs_derived_of(m_md, uct_tcp_zc_md_t);
    ASSERT_EQ(2u, md->config.af_prio_count);
    EXPECT_EQ(AF_INET6, md->config.af_prio_list[0]);
    EXPECT_EQ(AF_INET, md->config.af_prio_list[1]);
}

UCS_TEST_F(test_tcp_zc_md_config, af_prio_default)
{
    ASSERT_UCS_OK(open_md());

    uct_tcp_zc_md_t *md = ucs_derived_of(m_md, uct_tcp_zc_md_t);
    ASSERT_EQ(2u, md->config.af_prio_count);
    EXPECT_EQ(AF_INET, md->config.af_prio_list[0]);
    EXPECT_EQ(AF_INET6, md->config.af_prio_list[1]);
}

UCS_TEST_F(test_tcp_zc_md_config, af_prio_invalid)
{
    config_map_t config;
    ucs_status_t status;

    config["AF_PRIO"] = "inet,ipx";
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        status = open_md(config);
    }
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, status);
    EXPECT_TRUE(m_md == NULL);

    config["AF_PRIO"] = "inet,inet6,inet";
    {
        scoped_log_handler wrap_err(wrap_errors_logger);
        status = open_md(config);
    }
    EXPECT_EQ(UCS_ERR_INVALID_PARAM, status);
    EXPECT_TRUE(m_md == NULL);
}

UCS_TEST_F(test_tcp_zc_md_config, unknown_variable)
{
    uct_md_config_t *md_config;

    ASSERT_UCS_OK(uct_md_config_read(m_component, NULL, NULL, &md_config));
    EXPECT_EQ(UCS_ERR_NO_ELEM,
              apply_config(md_config, config_map_t{{"NO_SUCH_VARIABLE", "1"}}));
    uct_config_release(md_config);
}


#if UCT_TCP_ZC_HAVE_DMABUF

/*
 * dmabuf registration (UCX master): UCX_TCP_ZC_DMABUF, checks of the fd, the
 * md's own descriptor, and registrations of real udmabufs where the kernel
 * has /dev/udmabuf.
 */
class test_tcp_zc_md_dmabuf : public test_tcp_zc_md_config {
protected:
    test_tcp_zc_md_dmabuf() : m_memfd(-1), m_dmabuf(-1), m_map(MAP_FAILED)
    {
    }

    virtual void cleanup()
    {
        if (m_map != MAP_FAILED) {
            munmap(m_map, m_size);
        }
        if (m_dmabuf >= 0) {
            close(m_dmabuf);
        }
        if (m_memfd >= 0) {
            close(m_memfd);
        }
        test_tcp_zc_md_config::cleanup();
    }

    uct_tcp_zc_md_t *md() const
    {
        return ucs_derived_of(m_md, uct_tcp_zc_md_t);
    }

    uint64_t md_flags()
    {
        uct_md_attr_v2_t attr;

        attr.field_mask = UCT_MD_ATTR_FIELD_FLAGS;
        EXPECT_UCS_OK(uct_md_query_v2(m_md, &attr));
        return attr.flags;
    }

    ucs_status_t reg_dmabuf(void *address, size_t length, int fd,
                            size_t offset, uct_mem_h *memh_p,
                            ucs_memory_type_t mem_type = UCS_MEMORY_TYPE_HOST,
                            uint64_t fields = UCT_MD_MEM_REG_FIELD_FLAGS |
                                              UCT_MD_MEM_REG_FIELD_DMABUF_FD |
                                              UCT_MD_MEM_REG_FIELD_DMABUF_OFFSET |
                                              UCT_MD_MEM_REG_FIELD_MEM_TYPE)
    {
        uct_md_mem_reg_params_t params;

        params.field_mask    = fields;
        params.flags         = UCT_MD_MEM_ACCESS_ALL;
        params.dmabuf_fd     = fd;
        params.dmabuf_offset = offset;
        params.mem_type      = mem_type;
        return uct_md_mem_reg_v2(m_md, address, length, &params, memh_p);
    }

    ucs_status_t reg_quiet(void *address, size_t length, int fd,
                           size_t offset, uct_mem_h *memh_p,
                           ucs_memory_type_t mem_type = UCS_MEMORY_TYPE_HOST,
                           uint64_t fields = UCT_MD_MEM_REG_FIELD_FLAGS |
                                             UCT_MD_MEM_REG_FIELD_DMABUF_FD |
                                             UCT_MD_MEM_REG_FIELD_DMABUF_OFFSET |
                                             UCT_MD_MEM_REG_FIELD_MEM_TYPE)
    {
        scoped_log_handler wrap_err(wrap_errors_logger);

        return reg_dmabuf(address, length, fd, offset, memh_p, mem_type,
                          fields);
    }

    /* A udmabuf of m_size bytes of a sealed memfd, mapped at m_map; skips
     * the test where the kernel has none */
    void make_udmabuf(size_t size)
    {
        struct udmabuf_create create;
        int dev;

        m_size  = size;
        m_memfd = memfd_create("tcp_zc test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        ASSERT_GE(m_memfd, 0) << "memfd_create: " << strerror(errno);
        ASSERT_EQ(0, ftruncate(m_memfd, size));
        ASSERT_EQ(0, fcntl(m_memfd, F_ADD_SEALS, F_SEAL_SHRINK));

        dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
        if (dev < 0) {
            UCS_TEST_SKIP_R(std::string("open(/dev/udmabuf): ") +
                            strerror(errno) +
                            " (the kernel has no udmabuf exporter)");
        }

        memset(&create, 0, sizeof(create));
        create.memfd  = m_memfd;
        create.flags  = UDMABUF_FLAGS_CLOEXEC;
        create.offset = 0;
        create.size   = size;
        m_dmabuf      = ioctl(dev, UDMABUF_CREATE, &create);
        close(dev);
        ASSERT_GE(m_dmabuf, 0) << "UDMABUF_CREATE: " << strerror(errno);

        m_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
                     m_dmabuf, 0);
        ASSERT_NE(MAP_FAILED, m_map) << "mmap(udmabuf): " << strerror(errno);
    }

    static ino_t inode(int fd)
    {
        struct stat st;

        return (fstat(fd, &st) == 0) ? st.st_ino : 0;
    }

    int    m_memfd;
    int    m_dmabuf;
    void   *m_map;
    size_t m_size;
};


/* auto: off where the md serves a loopback device (the test namespaces have
 * "lo"), with the reason */
UCS_TEST_F(test_tcp_zc_md_dmabuf, auto_off_with_loopback)
{
    uct_md_attr_v2_t attr;
    char reason[512];

    ASSERT_UCS_OK(open_md());
    EXPECT_FALSE(md()->config.dmabuf);
    EXPECT_FALSE(md_flags() & UCT_MD_FLAG_REG_DMABUF);
    EXPECT_EQ(0, uct_tcp_zc_md_dmabuf_auto(md()->config.af_prio_list,
                                           md()->config.af_prio_count, reason,
                                           sizeof(reason)));
    UCS_TEST_MESSAGE << "auto: " << reason;
    EXPECT_NE(std::string::npos, std::string(reason).find("loopback"))
            << reason;

    /* never a dmabuf provider; registers host memory only */
    attr.field_mask = UCT_MD_ATTR_FIELD_REG_MEM_TYPES |
                      UCT_MD_ATTR_FIELD_DMABUF_MEM_TYPES;
    ASSERT_UCS_OK(uct_md_query_v2(m_md, &attr));
    EXPECT_EQ(UCS_BIT(UCS_MEMORY_TYPE_HOST), attr.reg_mem_types);
    EXPECT_EQ(0ull, attr.dmabuf_mem_types);
}

UCS_TEST_F(test_tcp_zc_md_dmabuf, forced_on)
{
    uct_md_attr_v2_t attr;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "y"}}));
    EXPECT_TRUE(md_flags() & UCT_MD_FLAG_REG_DMABUF);
    attr.field_mask = UCT_MD_ATTR_FIELD_REG_MEM_TYPES |
                      UCT_MD_ATTR_FIELD_DMABUF_MEM_TYPES;
    ASSERT_UCS_OK(uct_md_query_v2(m_md, &attr));
    EXPECT_EQ(UCS_BIT(UCS_MEMORY_TYPE_HOST), attr.reg_mem_types);
    EXPECT_EQ(0ull, attr.dmabuf_mem_types);
}

UCS_TEST_F(test_tcp_zc_md_dmabuf, off)
{
    std::vector<char> buffer(4096);
    uct_mem_h memh;
    int fd;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "n"}}));
    EXPECT_FALSE(md_flags() & UCT_MD_FLAG_REG_DMABUF);

    fd = memfd_create("tcp_zc test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(UCS_ERR_UNSUPPORTED,
              reg_quiet(&buffer[0], buffer.size(), fd, 0, &memh));
    close(fd);
}

/* An fd which is no dmabuf, or no fd at all: refused with a message */
UCS_TEST_F(test_tcp_zc_md_dmabuf, not_a_dmabuf)
{
    std::vector<char> buffer(4096);
    uct_mem_h memh;
    int fd, bad_fd;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "y"}}));
    fd = memfd_create("tcp_zc test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(0, ftruncate(fd, buffer.size()));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              reg_quiet(&buffer[0], buffer.size(), fd, 0, &memh));

    bad_fd = dup(fd);
    ASSERT_GE(bad_fd, 0);
    close(bad_fd);
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              reg_quiet(&buffer[0], buffer.size(), bad_fd, 0, &memh));
    close(fd);
    EXPECT_EQ(0u, kh_size(&md()->memhs));
}

/* Device memory without a dmabuf: a registration error which says why */
UCS_TEST_F(test_tcp_zc_md_dmabuf, device_memory_without_dmabuf)
{
    std::vector<char> buffer(4096);
    uct_mem_h memh;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "y"}}));
    EXPECT_EQ(UCS_ERR_UNSUPPORTED,
              reg_quiet(&buffer[0], buffer.size(), UCT_DMABUF_FD_INVALID, 0,
                        &memh, UCS_MEMORY_TYPE_CUDA));
    EXPECT_EQ(UCS_ERR_UNSUPPORTED,
              reg_quiet(&buffer[0], buffer.size(), -1, 0, &memh,
                        UCS_MEMORY_TYPE_CUDA,
                        UCT_MD_MEM_REG_FIELD_FLAGS |
                        UCT_MD_MEM_REG_FIELD_MEM_TYPE));
    /* host memory with the same parameters registers */
    ASSERT_UCS_OK(reg_dmabuf(&buffer[0], buffer.size(), -1, 0, &memh,
                             UCS_MEMORY_TYPE_HOST,
                             UCT_MD_MEM_REG_FIELD_FLAGS |
                             UCT_MD_MEM_REG_FIELD_MEM_TYPE));
    EXPECT_FALSE(uct_tcp_zc_memh_is_dmabuf((uct_tcp_zc_memh_t*)memh));
    EXPECT_EQ(-1, ((uct_tcp_zc_memh_t*)memh)->dmabuf_fd);
    EXPECT_UCS_OK(uct_md_mem_dereg(m_md, memh));
}

/* A real dmabuf (udmabuf of a memfd): the md keeps its own descriptor (the
 * caller closes its one, as UCP does), records type, offset and length, and
 * the key says "dmabuf" */
UCS_TEST_F(test_tcp_zc_md_dmabuf, udmabuf)
{
    static const size_t size   = 64 * 1024;
    static const size_t offset = 4096 + 100;
    static const size_t length = 20000;
    std::vector<char> rkey_buffer(sizeof(uct_tcp_zc_packed_rkey_t));
    uct_rkey_bundle_t rkey_bundle;
    uct_tcp_zc_memh_t *memh, *ref;
    uct_mem_h uct_memh;
    ino_t dmabuf_ino;
    int own_fd;
    void *address, *ptr;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "y"}}));
    make_udmabuf(size);
    dmabuf_ino = inode(m_dmabuf);
    address    = UCS_PTR_BYTE_OFFSET(m_map, offset);

    /* UCP's dmabuf registration of device memory, with its own fd */
    own_fd = dup(m_dmabuf);
    ASSERT_GE(own_fd, 0);
    ASSERT_UCS_OK(reg_dmabuf(address, length, own_fd, offset, &uct_memh,
                             UCS_MEMORY_TYPE_CUDA));
    close(own_fd);
    memh = (uct_tcp_zc_memh_t*)uct_memh;

    EXPECT_TRUE(uct_tcp_zc_memh_is_dmabuf(memh));
    EXPECT_TRUE(uct_tcp_zc_key_is_dmabuf(memh->key));
    EXPECT_EQ(UCS_MEMORY_TYPE_CUDA, memh->mem_type);
    EXPECT_EQ(address, memh->address);
    EXPECT_EQ(length, memh->length);
    EXPECT_EQ(offset, memh->dmabuf_offset);
    ASSERT_GE(memh->dmabuf_fd, 0);
    EXPECT_EQ(dmabuf_ino, inode(memh->dmabuf_fd));
    EXPECT_TRUE(fcntl(memh->dmabuf_fd, F_GETFD) & FD_CLOEXEC);
    EXPECT_EQ(offset + 10,
              uct_tcp_zc_memh_dmabuf_offset(memh, (uintptr_t)address + 10));

    /* the peer learns "dmabuf" from the rkey; its accesses are checked as
     * for host memory */
    ASSERT_UCS_OK(uct_md_mkey_pack(m_md, uct_memh, &rkey_buffer[0]));
    ASSERT_UCS_OK(uct_rkey_unpack(m_component, &rkey_buffer[0],
                                  &rkey_bundle));
    EXPECT_TRUE(uct_tcp_zc_key_is_dmabuf(
            ((const uct_tcp_zc_rkey_t*)rkey_bundle.rkey)->key));
    ASSERT_UCS_OK(uct_rkey_release(m_component, &rkey_bundle));
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh->key,
                                           (uintptr_t)address, length, &ptr,
                                           &ref));
    EXPECT_EQ(memh, ref);
    EXPECT_EQ(UCS_ERR_INVALID_ADDR,
              uct_tcp_zc_md_access_get(md(), memh->key,
                                       (uintptr_t)address, length + 1, &ptr,
                                       &ref));

    /* the descriptor stays until the last reference is gone */
    own_fd = memh->dmabuf_fd;
    EXPECT_UCS_OK(uct_md_mem_dereg(m_md, uct_memh));
    EXPECT_EQ(dmabuf_ino, inode(own_fd));
    uct_tcp_zc_md_access_put(md(), memh);
    EXPECT_NE(dmabuf_ino, inode(own_fd)) << "the md's dmabuf fd stays open";
}

/* A registration beyond the end of the dmabuf is refused */
UCS_TEST_F(test_tcp_zc_md_dmabuf, udmabuf_out_of_range)
{
    static const size_t size = 16 * 1024;
    uct_mem_h memh;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "y"}}));
    make_udmabuf(size);
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              reg_quiet(m_map, size + 1, m_dmabuf, 0, &memh));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              reg_quiet(m_map, 2, m_dmabuf, size - 1, &memh));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              reg_quiet(m_map, 1, m_dmabuf, SIZE_MAX, &memh));
    ASSERT_UCS_OK(reg_dmabuf(m_map, 1, m_dmabuf, size - 1, &memh));
    EXPECT_UCS_OK(uct_md_mem_dereg(m_md, memh));
    ASSERT_UCS_OK(reg_dmabuf(m_map, size, m_dmabuf, 0, &memh));
    EXPECT_UCS_OK(uct_md_mem_dereg(m_md, memh));
}

/* bind-tx is for dmabuf registrations only */
UCS_TEST_F(test_tcp_zc_md_dmabuf, bind_tx_host_memory)
{
    std::vector<char> buffer(4096);
    uct_mem_h memh;
    uint32_t id;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "y"}}));
    ASSERT_UCS_OK(uct_md_mem_reg(m_md, &buffer[0], buffer.size(),
                                 UCT_MD_MEM_ACCESS_ALL, &memh));
    EXPECT_EQ(UCS_ERR_INVALID_PARAM,
              uct_tcp_zc_md_memh_bind_tx(md(), (uct_tcp_zc_memh_t*)memh,
                                         if_nametoindex("lo"), &id));
    EXPECT_UCS_OK(uct_md_mem_dereg(m_md, memh));
}

/* bind-tx once per (registration, device), the answer kept: on "lo" the
 * kernel refuses (no netmem TX), on the simulated NIC of the guest
 * (TCP_ZC_TEST_DEVMEM_IF) it binds; the binding goes with the last
 * reference of the registration */
UCS_TEST_F(test_tcp_zc_md_dmabuf, udmabuf_bind_tx)
{
    static const size_t size = 64 * 1024;
    const char *if_name      = getenv("TCP_ZC_TEST_DEVMEM_IF");
    uct_tcp_zc_memh_t *memh, *ref;
    uint32_t id = 0, id2 = 0;
    uct_mem_h uct_memh;
    ucs_status_t status;
    int ifindex;
    void *ptr;

    ASSERT_UCS_OK(open_md(config_map_t{{"DMABUF", "y"}}));
    make_udmabuf(size);
    ASSERT_UCS_OK(reg_dmabuf(m_map, size, m_dmabuf, 0, &uct_memh));
    memh    = (uct_tcp_zc_memh_t*)uct_memh;
    ifindex = if_nametoindex((if_name != NULL) ? if_name : "lo");
    ASSERT_NE(0, ifindex);

    status = uct_tcp_zc_md_memh_bind_tx(md(), memh, ifindex, &id);
    if (if_name == NULL) {
        EXPECT_EQ(UCS_ERR_UNSUPPORTED, status);
        /* the refusal is kept: no second bind-tx */
        EXPECT_EQ(UCS_ERR_UNSUPPORTED,
                  uct_tcp_zc_md_memh_bind_tx(md(), memh, ifindex, &id2));
        EXPECT_UCS_OK(uct_md_mem_dereg(m_md, uct_memh));
        return;
    }

    ASSERT_UCS_OK(status);
    EXPECT_NE(0u, id);
    ASSERT_UCS_OK(uct_tcp_zc_md_memh_bind_tx(md(), memh, ifindex, &id2));
    EXPECT_EQ(id, id2);
    UCS_TEST_MESSAGE << if_name << ": bind-tx id " << id;

    /* a send in flight holds a reference past the deregistration */
    ASSERT_UCS_OK(uct_tcp_zc_md_access_get(md(), memh->key,
                                           (uintptr_t)m_map, 1, &ptr, &ref));
    EXPECT_UCS_OK(uct_md_mem_dereg(m_md, uct_memh));
    EXPECT_TRUE(memh->tx_bindings != NULL);
    uct_tcp_zc_md_access_put(md(), ref);
}

#endif /* UCT_TCP_ZC_HAVE_DMABUF */
