/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_ETHTOOL_H
#define UCT_TCP_ZC_ETHTOOL_H

#include "tcp_zc_genl.h"

/*
 * NIC checks and setup for devmem TCP (tcp_zc_ethtool.c): header split and
 * ring/channel counts through the "ethtool" generic netlink family; ntuple
 * flow rules and the RSS indirection table through the SIOCETHTOOL ioctl.
 * Queries are read-only; the setup records what it changed and undoes
 * exactly that. Errors carry the kernel's errno (and extack text, netlink).
 */


/* Rings: header split (tcp-data-split), hds-thresh, ring sizes */
typedef struct uct_tcp_zc_ethtool_rings {
    int      tcp_data_split;   /* ETHTOOL_TCP_DATA_SPLIT_UNKNOWN (0),
                                  _DISABLED (1), _ENABLED (2); -1 if the
                                  kernel did not report it */
    int      hds_thresh_valid; /* the kernel reported hds-thresh */
    uint32_t hds_thresh;
    uint32_t hds_thresh_max;
    uint32_t rx, rx_max, tx, tx_max;
} uct_tcp_zc_ethtool_rings_t;


typedef struct uct_tcp_zc_ethtool_channels {
    uint32_t rx, rx_max, tx, tx_max, combined, combined_max;
} uct_tcp_zc_ethtool_channels_t;


/* An ntuple flow rule steering TCP to one RX queue */
typedef struct uct_tcp_zc_ethtool_ntuple_rule {
    uint32_t location;
    int      family;     /* AF_INET, AF_INET6; 0 other flow types */
    uint16_t dst_port;   /* host order; 0 if not matched */
    uint64_t queue;      /* ring_cookie */
} uct_tcp_zc_ethtool_ntuple_rule_t;


/* What a setup changed, to undo it */
typedef struct uct_tcp_zc_ethtool_setup uct_tcp_zc_ethtool_setup_t;


/* ethtool netlink family */
ucs_status_t uct_tcp_zc_ethtool_open(uct_tcp_zc_genl_t *genl,
                                     uct_tcp_zc_genl_err_t *err);

ucs_status_t uct_tcp_zc_ethtool_rings_get(uct_tcp_zc_genl_t *genl, int ifindex,
                                          uct_tcp_zc_ethtool_rings_t *rings,
                                          uct_tcp_zc_genl_err_t *err);

/** tcp_data_split, hds_thresh: < 0 leaves it as it is */
ucs_status_t uct_tcp_zc_ethtool_rings_set(uct_tcp_zc_genl_t *genl, int ifindex,
                                          int tcp_data_split,
                                          int64_t hds_thresh,
                                          uct_tcp_zc_genl_err_t *err);

ucs_status_t
uct_tcp_zc_ethtool_channels_get(uct_tcp_zc_genl_t *genl, int ifindex,
                                uct_tcp_zc_ethtool_channels_t *channels,
                                uct_tcp_zc_genl_err_t *err);

/* SIOCETHTOOL: ntuple feature and rules */
ucs_status_t uct_tcp_zc_ethtool_ntuple_enabled(const char *if_name,
                                               int *enabled_p,
                                               uct_tcp_zc_genl_err_t *err);

/** Rules of a device: *rules_p (ucs_free), *count_p */
ucs_status_t
uct_tcp_zc_ethtool_ntuple_list(const char *if_name,
                               uct_tcp_zc_ethtool_ntuple_rule_t **rules_p,
                               unsigned *count_p, uct_tcp_zc_genl_err_t *err);

/** Insert a rule (RX_CLS_LOC_ANY where the driver picks, else a free slot);
 * rule->location is set to where the kernel put it */
ucs_status_t
uct_tcp_zc_ethtool_ntuple_insert(const char *if_name,
                                 uct_tcp_zc_ethtool_ntuple_rule_t *rule,
                                 uct_tcp_zc_genl_err_t *err);

ucs_status_t uct_tcp_zc_ethtool_ntuple_delete(const char *if_name,
                                              uint32_t location,
                                              uct_tcp_zc_genl_err_t *err);

/* SIOCETHTOOL: RSS indirection table of the default context */
ucs_status_t uct_tcp_zc_ethtool_rss_get(const char *if_name,
                                        uint32_t **table_p, unsigned *size_p,
                                        uct_tcp_zc_genl_err_t *err);

/** size 0 restores the kernel's default table */
ucs_status_t uct_tcp_zc_ethtool_rss_set(const char *if_name,
                                        const uint32_t *table, unsigned size,
                                        uct_tcp_zc_genl_err_t *err);

/** Whether no entry of the table points to one of the queues */
int uct_tcp_zc_ethtool_rss_excludes(const uint32_t *table, unsigned size,
                                    const uint32_t *queues,
                                    unsigned num_queues);

/** Number of RX rings which RSS spreads over (ETHTOOL_GRXRINGS) */
ucs_status_t uct_tcp_zc_ethtool_rx_rings_get(const char *if_name,
                                             unsigned *count_p,
                                             uct_tcp_zc_genl_err_t *err);

/**
 * The driver's rule count answer (ETHTOOL_GRXCLSRLCNT): *count_p rules, and
 * *table_p the size of its rule table, or'ed with RX_CLS_LOC_SPECIAL if it
 * chooses locations itself
 */
ucs_status_t uct_tcp_zc_ethtool_ntuple_count(const char *if_name,
                                             unsigned *count_p,
                                             uint64_t *table_p,
                                             uct_tcp_zc_genl_err_t *err);

/**
 * Setup mode: header split on, hds-thresh 0, one ntuple rule from TCP port
 * dst_port to rx_queue, RSS spread over the queues below rx_queue. Records
 * each change made; on failure undoes what it did before returning.
 */
ucs_status_t uct_tcp_zc_ethtool_setup(const char *if_name, int ifindex,
                                      uint32_t rx_queue, int family,
                                      uint16_t dst_port,
                                      uct_tcp_zc_ethtool_setup_t **setup_p,
                                      uct_tcp_zc_genl_err_t *err);

/** Undo exactly what the setup changed, and free it */
void uct_tcp_zc_ethtool_setup_undo(uct_tcp_zc_ethtool_setup_t *setup);


/*
 * The pieces of the above which need no kernel, exposed for unit tests.
 */

struct ethtool_rxnfc;
struct ethtool_rx_flow_spec;


/**
 * Where to insert a rule, from the rule count answer (table, as
 * uct_tcp_zc_ethtool_ntuple_count() gives it) and the locations in use:
 * RX_CLS_LOC_ANY if the driver chooses, else the lowest free location below
 * the table size. UCS_ERR_EXCEEDS_LIMIT if there is none.
 */
ucs_status_t uct_tcp_zc_ethtool_ntuple_location(uint64_t table,
                                                const uint32_t *locs,
                                                unsigned num_locs,
                                                uint32_t *location_p);

/** ETHTOOL_SRXCLSRLINS request for rule, at rule->location */
ucs_status_t
uct_tcp_zc_ethtool_ntuple_fill(const uct_tcp_zc_ethtool_ntuple_rule_t *rule,
                               struct ethtool_rxnfc *nfc);

/** A rule as ETHTOOL_GRXCLSRULE gives it */
void uct_tcp_zc_ethtool_ntuple_parse(const struct ethtool_rx_flow_spec *fs,
                                     uct_tcp_zc_ethtool_ntuple_rule_t *rule);

/** Fill table with queues 0..num_queues-1, round robin */
void uct_tcp_zc_ethtool_rss_spread(uint32_t *table, unsigned size,
                                   uint32_t num_queues);

/** Whether table is the kernel's default spread over num_rings rings */
int uct_tcp_zc_ethtool_rss_is_default(const uint32_t *table, unsigned size,
                                      unsigned num_rings);


/**
 * What the setup does to a device, one function each; tests replace them
 * to see which changes a setup makes and undoes.
 */
typedef struct uct_tcp_zc_ethtool_setup_ops {
    ucs_status_t (*open)(uct_tcp_zc_genl_t *genl, uct_tcp_zc_genl_err_t *err);
    void         (*close)(uct_tcp_zc_genl_t *genl);
    ucs_status_t (*rings_get)(uct_tcp_zc_genl_t *genl, int ifindex,
                              uct_tcp_zc_ethtool_rings_t *rings,
                              uct_tcp_zc_genl_err_t *err);
    ucs_status_t (*rings_set)(uct_tcp_zc_genl_t *genl, int ifindex,
                              int tcp_data_split, int64_t hds_thresh,
                              uct_tcp_zc_genl_err_t *err);
    ucs_status_t (*rx_rings_get)(const char *if_name, unsigned *count_p,
                                 uct_tcp_zc_genl_err_t *err);
    ucs_status_t (*rss_get)(const char *if_name, uint32_t **table_p,
                            unsigned *size_p, uct_tcp_zc_genl_err_t *err);
    ucs_status_t (*rss_set)(const char *if_name, const uint32_t *table,
                            unsigned size, uct_tcp_zc_genl_err_t *err);
    ucs_status_t (*ntuple_count)(const char *if_name, unsigned *count_p,
                                 uint64_t *table_p,
                                 uct_tcp_zc_genl_err_t *err);
    ucs_status_t (*ntuple_insert)(const char *if_name,
                                  uct_tcp_zc_ethtool_ntuple_rule_t *rule,
                                  uct_tcp_zc_genl_err_t *err);
    ucs_status_t (*ntuple_delete)(const char *if_name, uint32_t location,
                                  uct_tcp_zc_genl_err_t *err);
} uct_tcp_zc_ethtool_setup_ops_t;


/** uct_tcp_zc_ethtool_setup() through ops; the undo uses them too */
ucs_status_t
uct_tcp_zc_ethtool_setup_with_ops(const uct_tcp_zc_ethtool_setup_ops_t *ops,
                                  const char *if_name, int ifindex,
                                  uint32_t rx_queue, int family,
                                  uint16_t dst_port,
                                  uct_tcp_zc_ethtool_setup_t **setup_p,
                                  uct_tcp_zc_genl_err_t *err);

#endif
