#
# Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
# See file LICENSE for terms.
#

m4_include([config/m4/liburing.m4])
m4_include([config/m4/libnl.m4])
m4_include([config/m4/cuda_drv_h.m4])

#
# TCP zero-copy transport (tcp_zc)
#
tcp_zc_happy="no"
AC_ARG_WITH([tcp-zc],
            [AS_HELP_STRING([--with-tcp-zc],
                            [Build the TCP zero-copy transport (default is guess).])],
            [], [with_tcp_zc=guess])

AS_IF([test "x$with_tcp_zc" != "xno"],
      [UCX_CHECK_LIBURING
       UCX_CHECK_LIBNL_GENL
       UCX_CHECK_CUDA_DRV_H

       tcp_zc_happy="yes"
       AC_CHECK_DECLS([SO_ZEROCOPY, MSG_ZEROCOPY, SO_EE_ORIGIN_ZEROCOPY],
                      [], [tcp_zc_happy="no"],
                      [[#include <sys/socket.h>
                        #include <linux/errqueue.h>]])

       AS_IF([test "x$liburing_happy" != "xyes"],
             [tcp_zc_happy="no"
              tcp_zc_missing="${tcp_zc_missing} liburing"])
       AS_IF([test "x$libnl_genl_happy" != "xyes"],
             [tcp_zc_happy="no"
              tcp_zc_missing="${tcp_zc_missing} libnl-3/libnl-genl-3"])

       AS_IF([test "x$tcp_zc_happy" = "xyes"],
             [uct_modules="${uct_modules}:tcpzc"],
             [AS_IF([test "x$with_tcp_zc" = "xyes"],
                    [AC_MSG_ERROR([tcp_zc requested but its dependencies are missing:${tcp_zc_missing}])],
                    [AC_MSG_WARN([tcp_zc transport is disabled, missing:${tcp_zc_missing:- kernel zero-copy socket definitions}])])])
      ],
      [AC_MSG_NOTICE([tcp_zc transport is disabled by --with-tcp-zc=no])])

AM_CONDITIONAL([HAVE_TCP_ZC], [test "x$tcp_zc_happy" = "xyes"])
AC_CONFIG_FILES([src/uct/tcp_zc/Makefile])
