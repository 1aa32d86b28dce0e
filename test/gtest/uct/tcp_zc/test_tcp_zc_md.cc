/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

#include <set>
#include <pthread.h>
#include <sched.h>
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
    EXPECT_EQ((uint64_t)(UCT_MD_FLAG_REG | UCT_MD_FLAG_NEED_MEMH |
                         UCT_MD_FLAG_NEED_RKEY),
              attr.cap.flags);
    EXPECT_EQ(UCS_BIT(UCS_MEMORY_TYPE_HOST), attr.cap.reg_mem_types);
    EXPECT_EQ(UCS_BIT(UCS_MEMORY_TYPE_HOST), attr.cap.access_mem_types);
    EXPECT_EQ(0ull, attr.cap.alloc_mem_types);
    EXPECT_EQ(0ull, attr.cap.detect_mem_types);
    EXPECT_EQ(ULONG_MAX, attr.cap.max_reg);
    EXPECT_EQ(sizeof(uct_tcp_zc_packed_rkey_t), attr.rkey_packed_size);
    EXPECT_EQ(24u, attr.rkey_packed_size);
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
    EXPECT_EQ((uintptr_t)&buffer[0], rkey->address);
    EXPECT_EQ(length, rkey->length);
    EXPECT_EQ(((uct_tcp_zc_memh_t*)memh)->key, rkey->key);

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
    /* each bit of the keys takes both values (chance that one bit does not:
     * 64 * 2^-1023) */
    EXPECT_EQ(~0ull, bits_set) << std::hex << "bits never set: " << ~bits_set;
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
