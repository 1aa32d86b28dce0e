/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_UAPI_H
#define UCT_TCP_ZC_UAPI_H

/*
 * Kernel interface constants which system headers may lack. Values are the
 * kernel's (include/uapi); each is defined only if the headers did not.
 */

#include <sys/socket.h>
#include <linux/errqueue.h>


/* MSG_ZEROCOPY (Linux 4.14) */
#ifndef SO_ZEROCOPY
#  define SO_ZEROCOPY 60
#endif

#ifndef MSG_ZEROCOPY
#  define MSG_ZEROCOPY 0x4000000
#endif

#ifndef SO_EE_ORIGIN_ZEROCOPY
#  define SO_EE_ORIGIN_ZEROCOPY 5
#endif

#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#  define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif

/* Devmem TCP (asm-generic/socket.h: receive Linux 6.12, transmit 6.16;
 * parisc differs, which tcp_zc does not build for) */
#ifndef SO_DEVMEM_LINEAR
#  define SO_DEVMEM_LINEAR 78
#endif

#ifndef SCM_DEVMEM_LINEAR
#  define SCM_DEVMEM_LINEAR SO_DEVMEM_LINEAR
#endif

#ifndef SO_DEVMEM_DMABUF
#  define SO_DEVMEM_DMABUF 79
#endif

#ifndef SCM_DEVMEM_DMABUF
#  define SCM_DEVMEM_DMABUF SO_DEVMEM_DMABUF
#endif

#ifndef SO_DEVMEM_DONTNEED
#  define SO_DEVMEM_DONTNEED 80
#endif

#ifndef MSG_SOCK_DEVMEM
#  define MSG_SOCK_DEVMEM 0x2000000
#endif

/* io_uring zero-copy send (Linux 6.0, usage report 6.2); liburing 2.3 ships
 * an io_uring.h without the usage report */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#  define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif

#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#  define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

/* netdev generic netlink family (linux/netdev.h: devmem bind-rx 6.12,
 * bind-tx 6.16); Debian 12's headers have no linux/netdev.h */

/* Apart from the family name these are enum constants in the kernel's header,
 * which #ifndef cannot see: tcp_zc never includes linux/netdev.h, so the
 * macros here are their only definitions */
#ifndef NETDEV_FAMILY_NAME
#  define NETDEV_FAMILY_NAME "netdev"
#endif

#ifndef NETDEV_CMD_QUEUE_GET
#  define NETDEV_CMD_QUEUE_GET 10
#endif

#ifndef NETDEV_CMD_BIND_RX
#  define NETDEV_CMD_BIND_RX 13
#endif

#ifndef NETDEV_CMD_BIND_TX
#  define NETDEV_CMD_BIND_TX 15
#endif

/* attribute set "dmabuf" (bind-rx, bind-tx) */
#ifndef NETDEV_A_DMABUF_IFINDEX
#  define NETDEV_A_DMABUF_IFINDEX 1
#endif

#ifndef NETDEV_A_DMABUF_QUEUES
#  define NETDEV_A_DMABUF_QUEUES 2
#endif

#ifndef NETDEV_A_DMABUF_FD
#  define NETDEV_A_DMABUF_FD 3
#endif

#ifndef NETDEV_A_DMABUF_ID
#  define NETDEV_A_DMABUF_ID 4
#endif

/* attribute set "queue" (queue-get, and the nests of bind-rx) */
#ifndef NETDEV_A_QUEUE_ID
#  define NETDEV_A_QUEUE_ID 1
#endif

#ifndef NETDEV_A_QUEUE_IFINDEX
#  define NETDEV_A_QUEUE_IFINDEX 2
#endif

#ifndef NETDEV_A_QUEUE_TYPE
#  define NETDEV_A_QUEUE_TYPE 3
#endif

#ifndef NETDEV_A_QUEUE_NAPI_ID
#  define NETDEV_A_QUEUE_NAPI_ID 4
#endif

#ifndef NETDEV_A_QUEUE_DMABUF
#  define NETDEV_A_QUEUE_DMABUF 5
#endif

#ifndef NETDEV_QUEUE_TYPE_RX
#  define NETDEV_QUEUE_TYPE_RX 0
#endif

#ifndef NETDEV_QUEUE_TYPE_TX
#  define NETDEV_QUEUE_TYPE_TX 1
#endif

/* netlink extended ACK (linux/netlink.h, Linux 4.12); the NLMSGERR_ATTR_*
 * ids are enum constants which Debian 12's headers have */
#ifndef SOL_NETLINK
#  define SOL_NETLINK 270
#endif

#ifndef NETLINK_EXT_ACK
#  define NETLINK_EXT_ACK 11
#endif

#ifndef NLM_F_CAPPED
#  define NLM_F_CAPPED 0x100
#endif

#ifndef NLM_F_ACK_TLVS
#  define NLM_F_ACK_TLVS 0x200
#endif

/* ethtool netlink (linux/ethtool_netlink.h) and ioctl (linux/ethtool.h)
 * constants newer than Linux 6.1 */

/* The kernel declares the ethtool netlink attributes as enum constants, which
 * #ifndef does not see: the headers come first, so that a macro below can only
 * follow their enum, never rename one of its constants */
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>

/* rings: hds-thresh (Linux 6.14) */
#ifndef ETHTOOL_A_RINGS_HDS_THRESH
#  define ETHTOOL_A_RINGS_HDS_THRESH 17
#endif

#ifndef ETHTOOL_A_RINGS_HDS_THRESH_MAX
#  define ETHTOOL_A_RINGS_HDS_THRESH_MAX 18
#endif

#endif
