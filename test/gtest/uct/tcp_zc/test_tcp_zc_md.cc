/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

#include <set>

extern "C" {
#include <uct/tcp_zc/tcp_zc.h>
}


class test_tcp_zc_md : public test_tcp_zc_base {
protected:
    virtual void init()
    {
        test_tcp_zc_base::init();
        ASSERT_UCS_OK(open_md());
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
