/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netdevsim as a devmem-capable NIC: a test fixture of tcp_zc's guest tests
 * (test/vm), added to netdevsim's sources at build time. Licensed, as
 * netdevsim, under the GNU General Public License version 2.
 */

#ifndef NSIM_DEVMEM_H
#define NSIM_DEVMEM_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>

struct netdevsim;
struct nsim_rq;
struct page_pool;
struct napi_struct;

/* port state: steering rules, RSS table, ethtool ops, counters */
int nsim_devmem_init(struct netdevsim *ns);
void nsim_devmem_fini(struct netdevsim *ns);

/* a queue's page pool, which a bound memory provider takes over */
int nsim_devmem_create_page_pool(struct page_pool **p,
				 struct napi_struct *napi,
				 struct net_device *dev, int queue_idx);

/* TX: an skb with unreadable (dmabuf) frags becomes a readable copy */
struct sk_buff *nsim_devmem_tx(struct net_device *dev, struct sk_buff *skb);

/* the receiving port's queue for an skb: ntuple rules, then RSS */
int nsim_devmem_rxq(struct netdevsim *peer, struct sk_buff *skb, int rxq);

/* RX: headers linear, TCP payload copied into the queue's page pool */
struct sk_buff *nsim_devmem_rx(struct nsim_rq *rq, struct sk_buff *skb);

#endif
