#
# Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
# See file LICENSE for terms.
#

#
# UCX_CHECK_LIBNL_GENL
#
# Check for libnl-3 and libnl-genl-3 through pkg-config.
# Sets libnl_genl_happy=yes|no and substitutes LIBNL_CPPFLAGS,
# LIBNL_LDFLAGS and LIBNL_LIBS.
#
AC_DEFUN([UCX_CHECK_LIBNL_GENL],
[
libnl_genl_happy="no"

AC_ARG_WITH([libnl],
            [AS_HELP_STRING([--with-libnl=(DIR)],
                            [Use libnl-3 and libnl-genl-3 from DIR (default is guess).])],
            [], [with_libnl=guess])

AS_IF([test "x$with_libnl" != "xno"],
      [save_PKG_CONFIG_PATH="$PKG_CONFIG_PATH"
       AS_IF([test "x$with_libnl" != "xguess" -a "x$with_libnl" != "xyes" \
                -a "x$with_libnl" != "x"],
             [AS_IF([test -d "$with_libnl/lib64"], [libsuff="64"], [libsuff=""])
              export PKG_CONFIG_PATH="$with_libnl/lib$libsuff/pkgconfig:$PKG_CONFIG_PATH"])

       AS_IF([pkg-config --exists libnl-3.0 libnl-genl-3.0 2>/dev/null],
             [LIBNL_CPPFLAGS=$(pkg-config --cflags-only-I libnl-3.0 libnl-genl-3.0)
              LIBNL_LDFLAGS=$(pkg-config --libs-only-L libnl-3.0 libnl-genl-3.0)
              LIBNL_LIBS=$(pkg-config --libs-only-l libnl-3.0 libnl-genl-3.0)

              save_CPPFLAGS="$CPPFLAGS"
              save_LDFLAGS="$LDFLAGS"
              save_LIBS="$LIBS"
              CPPFLAGS="$LIBNL_CPPFLAGS $CPPFLAGS"
              LDFLAGS="$LIBNL_LDFLAGS $LDFLAGS"
              LIBS="$LIBNL_LIBS $LIBS"

              libnl_genl_happy="yes"
              AC_CHECK_DECLS([genl_ctrl_resolve, genlmsg_put, nl_socket_alloc],
                             [], [libnl_genl_happy="no"],
                             [[#include <netlink/genl/genl.h>
                               #include <netlink/genl/ctrl.h>]])
              AS_IF([test "x$libnl_genl_happy" = "xyes"],
                    [AC_CHECK_FUNCS([genl_ctrl_resolve nl_socket_alloc], [],
                                    [libnl_genl_happy="no"])])

              CPPFLAGS="$save_CPPFLAGS"
              LDFLAGS="$save_LDFLAGS"
              LIBS="$save_LIBS"],
             [AC_MSG_WARN([libnl-3.0/libnl-genl-3.0 were not found by pkg-config (libnl-3-dev, libnl-genl-3-dev)])])

       export PKG_CONFIG_PATH="$save_PKG_CONFIG_PATH"

       AS_IF([test "x$libnl_genl_happy" = "xyes"],
             [AC_SUBST([LIBNL_CPPFLAGS], [$LIBNL_CPPFLAGS])
              AC_SUBST([LIBNL_LDFLAGS], [$LIBNL_LDFLAGS])
              AC_SUBST([LIBNL_LIBS], [$LIBNL_LIBS])],
             [AS_IF([test "x$with_libnl" != "xguess"],
                    [AC_MSG_ERROR([libnl-3 and libnl-genl-3 requested but not found])])])
      ])
])
