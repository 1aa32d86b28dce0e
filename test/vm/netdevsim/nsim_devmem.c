// SPDX-License-Identifier: GPL-2.0
/*
 * netdevsim as a devmem-capable NIC: a test fixture of tcp_zc's guest tests
 * (test/vm), added to netdevsim's sources at build time (see build.sh and
 * netdevsim-devmem.patch, which calls these functions). Licensed, as
 * netdevsim, under the GNU General Public License version 2.
 *
 * What a devmem TCP NIC does in hardware, the CPU does here:
 *  - RX: each TCP packet whose payload is longer than hds-thresh (with
 *    tcp-data-split on) is rebuilt as a header-split NIC delivers it: the
 *    protocol headers in the skb's linear part, the payload copied into
 *    netmems from the receiving queue's page pool. On a queue bound to a
 *    dmabuf those netmems are the dmabuf's net_iovs: the payload is written
 *    through their DMA address, which dma-direct (no IOMMU) made the
 *    physical address of the dmabuf's page, and the skb is unreadable.
 *    Packets of at most rx_copybreak payload bytes (debugfs, 0 by default)
 *    stay whole, as NICs copy small packets: their payload reaches a
 *    devmem socket as linear bytes.
 *  - TX: netmem TX; an skb with dmabuf frags is copied (through the frags'
 *    DMA addresses) into a readable skb for the peer port, and freed, which
 *    completes the sender's zero-copy notification.
 *  - steering: ntuple rules (TCP over IPv4 and IPv6, addresses and ports
 *    with masks, to a queue or dropped) and an RSS indirection table pick
 *    the receiving queue; without them netdevsim's own choice stays.
 */

#include <linux/debugfs.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/mm.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/version.h>
#include <net/netdev_queues.h>
#include <net/page_pool/helpers.h>

#include "netdevsim.h"
#include "nsim_devmem.h"

#define NSIM_DM_RULES		64
#define NSIM_DM_INDIR_SIZE	128
#define NSIM_DM_KEY_SIZE	40
#define NSIM_DM_RING_SIZE	256

struct nsim_devmem {
	spinlock_t lock;	/* rules and table; xmit reads them */
	struct ethtool_rx_flow_spec rules[NSIM_DM_RULES];
	DECLARE_BITMAP(used, NSIM_DM_RULES);
	u32 indir[NSIM_DM_INDIR_SIZE];
	u8 key[NSIM_DM_KEY_SIZE];
	bool rss_set;		/* a table other than the default was set */
	struct ethtool_ops ops;	/* netdevsim's, plus steering */
	const struct ethtool_ops *orig_ops;
	struct dentry *ddir;
	/* debugfs <port>/devmem/rx_copybreak: packets with at most this many
	 * payload bytes stay whole in host memory, as NICs copy small packets
	 * (the socket reads their payload as SCM_DEVMEM_LINEAR) */
	u32 rx_copybreak;
	/* counters, in debugfs <port>/devmem/ */
	u64 rx_split;		/* packets rebuilt header-split */
	u64 rx_unreadable;	/* of those, payload in dmabuf net_iovs */
	u64 rx_payload;		/* payload bytes copied into pool netmems */
	u64 rx_drops;		/* no netmem free, too many frags */
	u64 tx_unreadable;	/* skbs with dmabuf frags sent */
	u64 tx_payload;		/* bytes read from dmabuf frags */
	u64 steered;		/* packets an ntuple rule steered */
	u64 rss;		/* packets the RSS table steered */
	u64 rx_copied;		/* packets left whole by rx_copybreak */
};

static struct nsim_devmem *nsim_dm(const struct net_device *dev)
{
	struct netdevsim *ns = netdev_priv(dev);

	return ns->devmem;
}

/* ---- page pools ---- */

int nsim_devmem_create_page_pool(struct page_pool **p,
				 struct napi_struct *napi,
				 struct net_device *dev, int queue_idx)
{
	struct page_pool_params params = {
		.flags = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV |
			 PP_FLAG_ALLOW_UNREADABLE_NETMEM,
		.order = 0,
		.pool_size = NSIM_DM_RING_SIZE,
		.nid = NUMA_NO_NODE,
		/* the bus device, which has the DMA mask */
		.dev = dev->dev.parent,
		.napi = napi,
		.dma_dir = DMA_FROM_DEVICE,
		.max_len = PAGE_SIZE,
		.offset = 0,
		.netdev = dev,
		.queue_idx = queue_idx,
	};
	struct page_pool *pool;

	pool = page_pool_create(&params);
	if (IS_ERR(pool))
		return PTR_ERR(pool);

	*p = pool;
	return 0;
}

/*
 * The kernel address of a netmem's memory: a page's own, or for a dmabuf
 * net_iov the page behind its DMA address (dma-direct without an IOMMU or
 * a DMA range map: the DMA address is the physical address).
 */
static void *nsim_devmem_netmem_va(struct device *dma_dev, netmem_ref netmem,
				   dma_addr_t dma)
{
	phys_addr_t phys = dma;

	if (!netmem_is_net_iov(netmem))
		return page_address(netmem_to_page(netmem));

	if (!dma_dev || dma_dev->dma_range_map ||
	    !pfn_valid(PHYS_PFN(phys)))
		return NULL;

	return phys_to_virt(phys);
}

/* ---- RX ---- */

/* the length of the IPv4/IPv6 and TCP headers at skb->data, 0 if none */
static unsigned int nsim_devmem_tcp_hlen(struct sk_buff *skb,
					 unsigned int off)
{
	struct tcphdr _th, *th;
	unsigned int l3len;
	u8 proto;

	if (skb->protocol == htons(ETH_P_IP)) {
		struct iphdr _iph, *iph;

		iph = skb_header_pointer(skb, off, sizeof(_iph), &_iph);
		if (!iph || iph->ihl < 5 || ip_is_fragment(iph))
			return 0;
		l3len = iph->ihl * 4;
		proto = iph->protocol;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		struct ipv6hdr _ip6h, *ip6h;

		ip6h = skb_header_pointer(skb, off, sizeof(_ip6h), &_ip6h);
		if (!ip6h)
			return 0;
		l3len = sizeof(*ip6h);
		proto = ip6h->nexthdr;
	} else {
		return 0;
	}

	if (proto != IPPROTO_TCP)
		return 0;

	th = skb_header_pointer(skb, off + l3len, sizeof(_th), &_th);
	if (!th || th->doff < 5)
		return 0;

	return l3len + th->doff * 4;
}

struct sk_buff *nsim_devmem_rx(struct nsim_rq *rq, struct sk_buff *skb)
{
	struct net_device *dev = rq->napi.dev;
	struct nsim_devmem *dm = nsim_dm(dev);
	struct page_pool *pool = rq->page_pool;
	unsigned int hlen, paylen, off, len;
	const struct netdev_config *cfg;
	struct sk_buff *nskb;
	bool unreadable = false;
	netmem_ref netmem;
	void *va;
	int i;

	cfg = dev->cfg;
	if (!dm || !pool || !cfg ||
	    cfg->hds_config == ETHTOOL_TCP_DATA_SPLIT_DISABLED ||
	    !skb_frags_readable(skb) || !skb_mac_header_was_set(skb) ||
	    skb_mac_offset(skb) != -ETH_HLEN)
		return skb;

	/* skb->data is at the network header (eth_type_trans) */
	hlen = nsim_devmem_tcp_hlen(skb, 0);
	if (!hlen || skb->len <= hlen)
		return skb;
	paylen = skb->len - hlen;
	if (paylen <= cfg->hds_thresh)
		return skb;
	if (paylen <= dm->rx_copybreak) {
		dm->rx_copied++;
		return skb;
	}

	nskb = napi_alloc_skb(&rq->napi, ETH_HLEN + hlen);
	if (!nskb)
		goto drop;
	skb_mark_for_recycle(nskb);
	skb_put_data(nskb, skb_mac_header(skb), ETH_HLEN);
	if (skb_copy_bits(skb, 0, skb_put(nskb, hlen), hlen))
		goto drop_nskb;

	for (i = 0, off = hlen; off < skb->len; ++i, off += len) {
		len = min_t(unsigned int, skb->len - off, PAGE_SIZE);
		if (i == MAX_SKB_FRAGS)
			goto drop_nskb;
		netmem = page_pool_dev_alloc_netmems(pool);
		if (!netmem)
			goto drop_nskb;
		va = nsim_devmem_netmem_va(pool->p.dev, netmem,
					   page_pool_get_dma_addr_netmem(netmem));
		if (!va) {
			page_pool_put_full_netmem(pool, netmem, false);
			goto drop_nskb;
		}
		if (netmem_is_net_iov(netmem))
			unreadable = true;
		/* where a NIC writes with DMA */
		if (skb_copy_bits(skb, off, va, len)) {
			page_pool_put_full_netmem(pool, netmem, false);
			goto drop_nskb;
		}
		skb_add_rx_frag_netmem(nskb, i, netmem, 0, len, PAGE_SIZE);
	}

	nskb->protocol = eth_type_trans(nskb, dev);
	nskb->ip_summed = CHECKSUM_UNNECESSARY;
	skb_shinfo(nskb)->gso_size = skb_shinfo(skb)->gso_size;
	skb_shinfo(nskb)->gso_type = skb_shinfo(skb)->gso_type;
	skb_shinfo(nskb)->gso_segs = skb_shinfo(skb)->gso_segs;
	skb_record_rx_queue(nskb, rq->napi.index);
	if (skb->l4_hash)
		skb_set_hash(nskb, skb->hash, PKT_HASH_TYPE_L4);

	dm->rx_split++;
	dm->rx_unreadable += unreadable;
	dm->rx_payload += paylen;
	consume_skb(skb);
	return nskb;

drop_nskb:
	kfree_skb(nskb);
drop:
	dm->rx_drops++;
	kfree_skb(skb);
	return NULL;
}

/* ---- TX ---- */

struct sk_buff *nsim_devmem_tx(struct net_device *dev, struct sk_buff *skb)
{
	struct nsim_devmem *dm = nsim_dm(dev);
	unsigned int headroom = skb_headroom(skb);
	unsigned int i, fill = 0, done = 0, n, fraglen;
	struct page *page = NULL;
	struct sk_buff *nskb;
	const skb_frag_t *frag;
	void *src;
	int nfrags = 0;

	if (skb_frags_readable(skb) || !dm)
		return skb;

	nskb = alloc_skb(headroom + skb_headlen(skb), GFP_ATOMIC);
	if (!nskb)
		goto drop;
	skb_reserve(nskb, headroom);
	memcpy(nskb->head, skb->head, headroom + skb_headlen(skb));
	skb_put(nskb, skb_headlen(skb));

	for (i = 0; i < skb_shinfo(skb)->nr_frags; ++i) {
		frag = &skb_shinfo(skb)->frags[i];
		fraglen = skb_frag_size(frag);
		if (skb_frag_is_net_iov(frag)) {
			netmem_ref netmem = skb_frag_netmem(frag);

			src = nsim_devmem_netmem_va(dev->dev.parent, netmem,
					page_pool_get_dma_addr_netmem(netmem));
			if (!src)
				goto drop_nskb;
			src += skb_frag_off(frag);
		} else {
			src = skb_frag_address(frag);
		}

		/* into pages of the copy, filled one after the other */
		for (done = 0; done < fraglen; done += n) {
			if (!page || fill == PAGE_SIZE) {
				if (nfrags == MAX_SKB_FRAGS)
					goto drop_nskb;
				page = alloc_page(GFP_ATOMIC);
				if (!page)
					goto drop_nskb;
				skb_add_rx_frag(nskb, nfrags++, page, 0, 0,
						PAGE_SIZE);
				fill = 0;
			}
			n = min_t(unsigned int, fraglen - done,
				  PAGE_SIZE - fill);
			memcpy(page_address(page) + fill, src + done, n);
			skb_frag_size_add(&skb_shinfo(nskb)->frags[nfrags - 1],
					  n);
			nskb->len += n;
			nskb->data_len += n;
			fill += n;
		}
		dm->tx_payload += fraglen;
	}

	skb_copy_header(nskb, skb);
	/* copied with the header fields: the copy's pages are neither */
	nskb->unreadable = 0;
	nskb->pp_recycle = 0;
	dm->tx_unreadable++;
	/* completes the sender's zero-copy notification */
	consume_skb(skb);
	return nskb;

drop_nskb:
	kfree_skb(nskb);
drop:
	kfree_skb(skb);
	return NULL;
}

/* ---- steering ---- */

struct nsim_devmem_flow {
	u32 flow_type;
	__be32 src[4], dst[4];
	__be16 sport, dport;
};

static bool nsim_devmem_flow_get(struct sk_buff *skb,
				 struct nsim_devmem_flow *flow)
{
	unsigned int off = skb_network_offset(skb), l3len;
	__be16 _ports[2], *ports;

	memset(flow, 0, sizeof(*flow));
	if (skb->protocol == htons(ETH_P_IP)) {
		struct iphdr _iph, *iph;

		iph = skb_header_pointer(skb, off, sizeof(_iph), &_iph);
		if (!iph || iph->ihl < 5 || iph->protocol != IPPROTO_TCP ||
		    ip_is_fragment(iph))
			return false;
		flow->flow_type = TCP_V4_FLOW;
		flow->src[0] = iph->saddr;
		flow->dst[0] = iph->daddr;
		l3len = iph->ihl * 4;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		struct ipv6hdr _ip6h, *ip6h;

		ip6h = skb_header_pointer(skb, off, sizeof(_ip6h), &_ip6h);
		if (!ip6h || ip6h->nexthdr != IPPROTO_TCP)
			return false;
		flow->flow_type = TCP_V6_FLOW;
		memcpy(flow->src, &ip6h->saddr, sizeof(flow->src));
		memcpy(flow->dst, &ip6h->daddr, sizeof(flow->dst));
		l3len = sizeof(*ip6h);
	} else {
		return false;
	}

	ports = skb_header_pointer(skb, off + l3len, sizeof(_ports), _ports);
	if (!ports)
		return false;
	flow->sport = ports[0];
	flow->dport = ports[1];
	return true;
}

static bool nsim_devmem_match32(__be32 v, __be32 want, __be32 mask)
{
	return !((v ^ want) & mask);
}

static bool nsim_devmem_rule_match(const struct ethtool_rx_flow_spec *fs,
				   const struct nsim_devmem_flow *flow)
{
	int i;

	if ((fs->flow_type & ~FLOW_EXT) != flow->flow_type)
		return false;

	if (flow->flow_type == TCP_V4_FLOW) {
		const struct ethtool_tcpip4_spec *v = &fs->h_u.tcp_ip4_spec;
		const struct ethtool_tcpip4_spec *m = &fs->m_u.tcp_ip4_spec;

		return nsim_devmem_match32(flow->src[0], v->ip4src,
					   m->ip4src) &&
		       nsim_devmem_match32(flow->dst[0], v->ip4dst,
					   m->ip4dst) &&
		       !((flow->sport ^ v->psrc) & m->psrc) &&
		       !((flow->dport ^ v->pdst) & m->pdst);
	} else {
		const struct ethtool_tcpip6_spec *v = &fs->h_u.tcp_ip6_spec;
		const struct ethtool_tcpip6_spec *m = &fs->m_u.tcp_ip6_spec;

		for (i = 0; i < 4; ++i) {
			if (!nsim_devmem_match32(flow->src[i], v->ip6src[i],
						 m->ip6src[i]) ||
			    !nsim_devmem_match32(flow->dst[i], v->ip6dst[i],
						 m->ip6dst[i]))
				return false;
		}
		return !((flow->sport ^ v->psrc) & m->psrc) &&
		       !((flow->dport ^ v->pdst) & m->pdst);
	}
}

int nsim_devmem_rxq(struct netdevsim *peer, struct sk_buff *skb, int rxq)
{
	struct net_device *dev = peer->netdev;
	struct nsim_devmem *dm = peer->devmem;
	struct nsim_devmem_flow flow;
	int loc, q = -1;
	u32 nq;

	if (!dm)
		return rxq;
	nq = READ_ONCE(dev->real_num_rx_queues) ?: 1;

	spin_lock(&dm->lock);
	if (!bitmap_empty(dm->used, NSIM_DM_RULES) &&
	    nsim_devmem_flow_get(skb, &flow)) {
		for_each_set_bit(loc, dm->used, NSIM_DM_RULES) {
			const struct ethtool_rx_flow_spec *fs = &dm->rules[loc];

			if (!nsim_devmem_rule_match(fs, &flow))
				continue;
			if (fs->ring_cookie == RX_CLS_FLOW_DISC)
				q = -2;
			else
				q = ethtool_get_flow_spec_ring(fs->ring_cookie);
			dm->steered++;
			break;
		}
	}
	if (q == -1 && dm->rss_set) {
		q = dm->indir[skb_get_hash(skb) % NSIM_DM_INDIR_SIZE];
		dm->rss++;
	}
	spin_unlock(&dm->lock);

	if (q == -2)
		return -1;	/* the rule drops it */
	if (q < 0 || q >= nq)
		return rxq;
	return q;
}

/* ---- ethtool: ntuple rules, RSS ---- */

static int nsim_devmem_get_rxnfc(struct net_device *dev,
				 struct ethtool_rxnfc *info, u32 *rule_locs)
{
	struct nsim_devmem *dm = nsim_dm(dev);
	int loc, n = 0;

	switch (info->cmd) {
	case ETHTOOL_GRXRINGS:
		info->data = dev->real_num_rx_queues;
		return 0;
	case ETHTOOL_GRXCLSRLCNT:
		info->rule_cnt = bitmap_weight(dm->used, NSIM_DM_RULES);
		info->data = NSIM_DM_RULES | RX_CLS_LOC_SPECIAL;
		return 0;
	case ETHTOOL_GRXCLSRULE:
		loc = info->fs.location;
		if (loc >= NSIM_DM_RULES || !test_bit(loc, dm->used))
			return -ENOENT;
		spin_lock_bh(&dm->lock);
		info->fs = dm->rules[loc];
		spin_unlock_bh(&dm->lock);
		return 0;
	case ETHTOOL_GRXCLSRLALL:
		for_each_set_bit(loc, dm->used, NSIM_DM_RULES) {
			if (n == info->rule_cnt)
				return -EMSGSIZE;
			rule_locs[n++] = loc;
		}
		info->rule_cnt = n;
		info->data = NSIM_DM_RULES;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int nsim_devmem_rule_check(struct net_device *dev,
				  const struct ethtool_rx_flow_spec *fs)
{
	if ((fs->flow_type & ~FLOW_EXT) != TCP_V4_FLOW &&
	    (fs->flow_type & ~FLOW_EXT) != TCP_V6_FLOW)
		return -EOPNOTSUPP;
	if ((fs->flow_type & FLOW_EXT) &&
	    (fs->m_ext.vlan_etype || fs->m_ext.vlan_tci || fs->m_ext.data[0] ||
	     fs->m_ext.data[1]))
		return -EOPNOTSUPP;
	if ((fs->flow_type & ~FLOW_EXT) == TCP_V4_FLOW &&
	    fs->m_u.tcp_ip4_spec.tos)
		return -EOPNOTSUPP;
	if ((fs->flow_type & ~FLOW_EXT) == TCP_V6_FLOW &&
	    fs->m_u.tcp_ip6_spec.tclass)
		return -EOPNOTSUPP;
	if (fs->ring_cookie == RX_CLS_FLOW_DISC)
		return 0;
	if (ethtool_get_flow_spec_ring_vf(fs->ring_cookie))
		return -EOPNOTSUPP;
	if (ethtool_get_flow_spec_ring(fs->ring_cookie) >=
	    dev->real_num_rx_queues)
		return -EINVAL;
	return 0;
}

static int nsim_devmem_set_rxnfc(struct net_device *dev,
				 struct ethtool_rxnfc *info)
{
	struct nsim_devmem *dm = nsim_dm(dev);
	u32 loc = info->fs.location;
	int err;

	switch (info->cmd) {
	case ETHTOOL_SRXCLSRLINS:
		if (!(dev->features & NETIF_F_NTUPLE))
			return -EOPNOTSUPP;
		err = nsim_devmem_rule_check(dev, &info->fs);
		if (err)
			return err;
		if (loc == RX_CLS_LOC_ANY) {
			loc = find_first_zero_bit(dm->used, NSIM_DM_RULES);
			if (loc >= NSIM_DM_RULES)
				return -ENOSPC;
		} else if (loc >= NSIM_DM_RULES) {
			return -EINVAL;
		}
		spin_lock_bh(&dm->lock);
		info->fs.location = loc;
		dm->rules[loc] = info->fs;
		set_bit(loc, dm->used);
		spin_unlock_bh(&dm->lock);
		return 0;
	case ETHTOOL_SRXCLSRLDEL:
		if (loc >= NSIM_DM_RULES || !test_bit(loc, dm->used))
			return -ENOENT;
		spin_lock_bh(&dm->lock);
		clear_bit(loc, dm->used);
		spin_unlock_bh(&dm->lock);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
static u32 nsim_devmem_get_rx_ring_count(struct net_device *dev)
{
	return dev->real_num_rx_queues;
}
#endif

static u32 nsim_devmem_get_rxfh_indir_size(struct net_device *dev)
{
	return NSIM_DM_INDIR_SIZE;
}

static u32 nsim_devmem_get_rxfh_key_size(struct net_device *dev)
{
	return NSIM_DM_KEY_SIZE;
}

static int nsim_devmem_get_rxfh(struct net_device *dev,
				struct ethtool_rxfh_param *rxfh)
{
	struct nsim_devmem *dm = nsim_dm(dev);

	rxfh->hfunc = ETH_RSS_HASH_TOP;
	spin_lock_bh(&dm->lock);
	if (rxfh->indir)
		memcpy(rxfh->indir, dm->indir, sizeof(dm->indir));
	if (rxfh->key)
		memcpy(rxfh->key, dm->key, sizeof(dm->key));
	spin_unlock_bh(&dm->lock);
	return 0;
}

static int nsim_devmem_set_rxfh(struct net_device *dev,
				struct ethtool_rxfh_param *rxfh,
				struct netlink_ext_ack *extack)
{
	struct nsim_devmem *dm = nsim_dm(dev);
	bool dflt = true;
	int i;

	if (rxfh->hfunc != ETH_RSS_HASH_NO_CHANGE &&
	    rxfh->hfunc != ETH_RSS_HASH_TOP)
		return -EOPNOTSUPP;
	if (rxfh->rss_context)
		return -EOPNOTSUPP;

	spin_lock_bh(&dm->lock);
	if (rxfh->indir) {
		for (i = 0; i < NSIM_DM_INDIR_SIZE; ++i) {
			dm->indir[i] = rxfh->indir[i];
			if (dm->indir[i] !=
			    ethtool_rxfh_indir_default(i, dev->real_num_rx_queues))
				dflt = false;
		}
		dm->rss_set = !dflt;
	}
	if (rxfh->key)
		memcpy(dm->key, rxfh->key, sizeof(dm->key));
	spin_unlock_bh(&dm->lock);
	return 0;
}

/* ---- setup ---- */

int nsim_devmem_init(struct netdevsim *ns)
{
	struct net_device *dev = ns->netdev;
	struct nsim_devmem *dm;
	struct dentry *dir;
	int i;

	dm = kzalloc(sizeof(*dm), GFP_KERNEL);
	if (!dm)
		return -ENOMEM;
	spin_lock_init(&dm->lock);
	for (i = 0; i < NSIM_DM_INDIR_SIZE; ++i)
		dm->indir[i] = ethtool_rxfh_indir_default(i,
						ns->nsim_bus_dev->num_queues);
	netdev_rss_key_fill(dm->key, sizeof(dm->key));

	dm->orig_ops = dev->ethtool_ops;
	dm->ops = *dev->ethtool_ops;
	dm->ops.get_rxnfc = nsim_devmem_get_rxnfc;
	dm->ops.set_rxnfc = nsim_devmem_set_rxnfc;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
	dm->ops.get_rx_ring_count = nsim_devmem_get_rx_ring_count;
#endif
	dm->ops.get_rxfh_indir_size = nsim_devmem_get_rxfh_indir_size;
	dm->ops.get_rxfh_key_size = nsim_devmem_get_rxfh_key_size;
	dm->ops.get_rxfh = nsim_devmem_get_rxfh;
	dm->ops.set_rxfh = nsim_devmem_set_rxfh;
	dev->ethtool_ops = &dm->ops;

	/* ntuple filters: off by default, as on real NICs */
	dev->hw_features |= NETIF_F_NTUPLE;
	/* netmem TX (NETMEM_TX_DMA where it is an enum, true where a bit) */
	dev->netmem_tx = 1;

	dir = debugfs_create_dir("devmem", ns->nsim_dev_port->ddir);
	dm->ddir = dir;
	debugfs_create_u64("rx_split", 0400, dir, &dm->rx_split);
	debugfs_create_u64("rx_unreadable", 0400, dir, &dm->rx_unreadable);
	debugfs_create_u64("rx_payload", 0400, dir, &dm->rx_payload);
	debugfs_create_u64("rx_drops", 0400, dir, &dm->rx_drops);
	debugfs_create_u64("tx_unreadable", 0400, dir, &dm->tx_unreadable);
	debugfs_create_u64("tx_payload", 0400, dir, &dm->tx_payload);
	debugfs_create_u64("steered", 0400, dir, &dm->steered);
	debugfs_create_u64("rss", 0400, dir, &dm->rss);
	debugfs_create_u64("rx_copied", 0400, dir, &dm->rx_copied);
	debugfs_create_u32("rx_copybreak", 0600, dir, &dm->rx_copybreak);

	ns->devmem = dm;
	return 0;
}

void nsim_devmem_fini(struct netdevsim *ns)
{
	struct nsim_devmem *dm = ns->devmem;

	if (!dm)
		return;
	debugfs_remove(dm->ddir);
	ns->netdev->ethtool_ops = dm->orig_ops;
	ns->devmem = NULL;
	kfree(dm);
}
