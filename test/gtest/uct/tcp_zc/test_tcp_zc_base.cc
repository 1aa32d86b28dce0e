/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

#include <sstream>


test_tcp_zc_base::test_tcp_zc_base() :
    m_component(NULL), m_md(NULL), m_async(NULL), m_worker(NULL),
    m_iface(NULL)
{
}

void test_tcp_zc_base::init()
{
    uct_component_h *components;
    uct_component_attr_t attr;
    unsigned i, num_components;

    ucs::test::init();

    ASSERT_UCS_OK(uct_query_components(&components, &num_components));
    for (i = 0; i < num_components; ++i) {
        attr.field_mask = UCT_COMPONENT_ATTR_FIELD_NAME;
        ASSERT_UCS_OK(uct_component_query(components[i], &attr));
        if (std::string(attr.name) == "tcp_zc") {
            m_component = components[i];
        }
    }
    uct_release_component_list(components);

    ASSERT_TRUE(m_component != NULL) << "tcp_zc component is not loaded";

    ASSERT_UCS_OK(ucs_async_context_create(UCS_ASYNC_MODE_THREAD_SPINLOCK,
                                           &m_async));
    ASSERT_UCS_OK(uct_worker_create(m_async, UCS_THREAD_MODE_SINGLE,
                                    &m_worker));
}

void test_tcp_zc_base::cleanup()
{
    close_iface();
    if (m_md != NULL) {
        uct_md_close(m_md);
    }
    if (m_worker != NULL) {
        uct_worker_destroy(m_worker);
    }
    if (m_async != NULL) {
        ucs_async_context_destroy(m_async);
    }
    ucs::test::cleanup();
}

ucs_status_t test_tcp_zc_base::apply_config(void *config,
                                            const config_map_t &map)
{
    config_map_t::const_iterator it;
    ucs_status_t status;

    for (it = map.begin(); it != map.end(); ++it) {
        /* UCX master matches the full name, with the prefix; 1.13 matches
         * the name in the table */
        status = uct_config_modify(config, ("TCP_ZC_" + it->first).c_str(),
                                   it->second.c_str());
        if (status == UCS_ERR_NO_ELEM) {
            status = uct_config_modify(config, it->first.c_str(),
                                       it->second.c_str());
        }
        if (status != UCS_OK) {
            return status;
        }
    }

    return UCS_OK;
}

ucs_status_t test_tcp_zc_base::open_md(const config_map_t &config)
{
    uct_md_config_t *md_config;
    ucs_status_t status;

    EXPECT_TRUE(m_md == NULL);
    status = uct_md_config_read(m_component, NULL, NULL, &md_config);
    if (status != UCS_OK) {
        return status;
    }

    status = apply_config(md_config, config);
    if (status == UCS_OK) {
        status = uct_md_open(m_component, "tcp_zc", md_config, &m_md);
    }

    uct_config_release(md_config);
    return status;
}

ucs_status_t test_tcp_zc_base::open_iface(const std::string &dev_name,
                                          const config_map_t &config)
{
    uct_iface_config_t *iface_config;
    uct_iface_params_t params;
    ucs_status_t status;

    EXPECT_TRUE(m_iface == NULL);
    status = uct_md_iface_config_read(m_md, "tcp_zc", NULL, NULL,
                                      &iface_config);
    if (status != UCS_OK) {
        return status;
    }

    status = apply_config(iface_config, config);
    if (status == UCS_OK) {
        params.field_mask           = UCT_IFACE_PARAM_FIELD_OPEN_MODE |
                                      UCT_IFACE_PARAM_FIELD_DEVICE;
        params.open_mode            = UCT_IFACE_OPEN_MODE_DEVICE;
        params.mode.device.tl_name  = "tcp_zc";
        params.mode.device.dev_name = dev_name.c_str();
        status = uct_iface_open(m_md, m_worker, &params, iface_config,
                                &m_iface);
    }

    uct_config_release(iface_config);
    return status;
}

void test_tcp_zc_base::close_iface()
{
    if (m_iface != NULL) {
        uct_iface_close(m_iface);
        m_iface = NULL;
    }
}

std::vector<std::string> test_tcp_zc_base::tl_devices()
{
    std::vector<std::string> devices;
    uct_tl_resource_desc_t *resources;
    unsigned i, num_resources;

    EXPECT_UCS_OK(uct_md_query_tl_resources(m_md, &resources,
                                            &num_resources));
    for (i = 0; i < num_resources; ++i) {
        EXPECT_EQ(std::string("tcp_zc"), resources[i].tl_name);
        EXPECT_EQ(UCT_DEVICE_TYPE_NET, resources[i].dev_type);
        devices.push_back(resources[i].dev_name);
    }

    uct_release_tl_resource_list(resources);
    return devices;
}

std::vector<std::string> test_tcp_zc_base::test_veth_devices()
{
    std::vector<std::string> devices;
    const char *env = getenv("TCP_ZC_TEST_VETH");
    std::istringstream ss(env ? env : "");
    std::string name;

    while (ss >> name) {
        devices.push_back(name);
    }

    return devices;
}
