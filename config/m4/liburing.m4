#
# Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
# See file LICENSE for terms.
#

#
# UCX_CHECK_LIBURING
#
# Check for liburing through pkg-config, with a zero-copy send API
# (io_uring_prep_send_zc, liburing >= 2.3).
# Sets liburing_happy=yes|no and substitutes LIBURING_CPPFLAGS,
# LIBURING_LDFLAGS and LIBURING_LIBS.
#
AC_DEFUN([UCX_CHECK_LIBURING],
[
liburing_happy="no"

AC_ARG_WITH([liburing],
            [AS_HELP_STRING([--with-liburing=(DIR)],
                            [Use liburing from DIR (default is guess).])],
            [], [with_liburing=guess])

AS_IF([test "x$with_liburing" != "xno"],
      [save_PKG_CONFIG_PATH="$PKG_CONFIG_PATH"
       AS_IF([test "x$with_liburing" != "xguess" -a "x$with_liburing" != "xyes" \
                -a "x$with_liburing" != "x"],
             [AS_IF([test -d "$with_liburing/lib64"], [libsuff="64"], [libsuff=""])
              export PKG_CONFIG_PATH="$with_liburing/lib$libsuff/pkgconfig:$PKG_CONFIG_PATH"])

       AS_IF([pkg-config --exists liburing 2>/dev/null],
             [LIBURING_CPPFLAGS=$(pkg-config --cflags-only-I liburing)
              LIBURING_LDFLAGS=$(pkg-config --libs-only-L liburing)
              LIBURING_LIBS=$(pkg-config --libs-only-l liburing)

              save_CPPFLAGS="$CPPFLAGS"
              save_LDFLAGS="$LDFLAGS"
              save_LIBS="$LIBS"
              CPPFLAGS="$LIBURING_CPPFLAGS $CPPFLAGS"
              LDFLAGS="$LIBURING_LDFLAGS $LDFLAGS"
              LIBS="$LIBURING_LIBS $LIBS"

              liburing_happy="yes"
              AC_CHECK_DECLS([io_uring_prep_send_zc, io_uring_prep_sendmsg_zc],
                             [], [liburing_happy="no"],
                             [[#include <liburing.h>]])
              AS_IF([test "x$liburing_happy" = "xyes"],
                    [AC_CHECK_FUNCS([io_uring_queue_init_params], [],
                                    [liburing_happy="no"])])

              CPPFLAGS="$save_CPPFLAGS"
              LDFLAGS="$save_LDFLAGS"
              LIBS="$save_LIBS"],
             [AC_MSG_WARN([liburing was not found by pkg-config (liburing-dev)])])

       export PKG_CONFIG_PATH="$save_PKG_CONFIG_PATH"

       AS_IF([test "x$liburing_happy" = "xyes"],
             [AC_SUBST([LIBURING_CPPFLAGS], [$LIBURING_CPPFLAGS])
              AC_SUBST([LIBURING_LDFLAGS], [$LIBURING_LDFLAGS])
              AC_SUBST([LIBURING_LIBS], [$LIBURING_LIBS])],
             [AS_IF([test "x$with_liburing" != "xguess"],
                    [AC_MSG_ERROR([liburing with zero-copy send support requested but not found])])])
      ])
])
