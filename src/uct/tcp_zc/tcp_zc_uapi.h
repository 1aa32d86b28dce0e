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

/* ethtool netlink (linux/ethtool_netlink.h) and ioctl (linux/ethtool.h)
 * constants newer than Linux 6.1 */

#endif
