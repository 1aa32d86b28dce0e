/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef TEST_TCP_ZC_H
#define TEST_TCP_ZC_H

#include <common/test.h>

extern "C" {
#include <uct/api/uct.h>
}

#include <map>
#include <string>
#include <vector>


/**
 * Base of the tcp_zc module tests: finds the tcp_zc component and opens its
 * memory domain and interfaces with given configuration modifications.
 */
class test_tcp_zc_base : public ucs::test {
public:
    typedef std::map<std::string, std::string> config_map_t;

protected:
    test_tcp_zc_base();

    virtual void init();
    virtual void cleanup();

    /* Open the md with the given configuration; returns the status */
    ucs_status_t open_md(const config_map_t &config = config_map_t());

    /* Open an iface on a device with the given configuration */
    ucs_status_t open_iface(const std::string &dev_name,
                            const config_map_t &config = config_map_t());

    void close_iface();

    /* Set UCT configuration variables (names without the prefix) */
    static ucs_status_t apply_config(void *config, const config_map_t &map);

    /* Network devices which the tcp_zc transport reports */
    std::vector<std::string> tl_devices();

    /* veth devices which the test runner created, from TCP_ZC_TEST_VETH */
    static std::vector<std::string> test_veth_devices();

    uct_component_h         m_component;
    uct_md_h                m_md;
    ucs_async_context_t     *m_async;
    uct_worker_h            m_worker;
    uct_iface_h             m_iface;
};

#endif
