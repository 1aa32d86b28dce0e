#
# Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
# See file LICENSE for terms.
#

#
# UCX_CHECK_CUDA_DRV_H
#
# Optional check for the CUDA driver API header (cuda.h). The library is
# never linked: modules which need the driver open libcuda.so.1 at run time.
# When the header exists, HAVE_CUDA_DRV_H is defined so a module can check its
# own driver API declarations against it. A missing header only means no such
# check, never a failed build.
#
AC_DEFUN([UCX_CHECK_CUDA_DRV_H],
[
cuda_drv_h_happy="no"

AC_ARG_WITH([cuda-drv-h],
            [AS_HELP_STRING([--with-cuda-drv-h=(DIR)],
                            [Directory with the CUDA driver API header include/cuda.h (default is guess).])],
            [], [with_cuda_drv_h=guess])

AS_IF([test "x$with_cuda_drv_h" != "xno"],
      [AS_IF([test "x$with_cuda_drv_h" != "xguess" -a "x$with_cuda_drv_h" != "xyes" \
                -a "x$with_cuda_drv_h" != "x"],
             [CUDA_DRV_H_CPPFLAGS="-I$with_cuda_drv_h/include"],
             [CUDA_DRV_H_CPPFLAGS="$CUDA_CPPFLAGS"])
       save_CPPFLAGS="$CPPFLAGS"
       CPPFLAGS="$CUDA_DRV_H_CPPFLAGS $CPPFLAGS"
       dnl Bypass the cache: UCX's own CUDA check may have looked already
       unset ac_cv_header_cuda_h
       AC_CHECK_HEADER([cuda.h],
                       [cuda_drv_h_happy="yes"
                        AC_DEFINE([HAVE_CUDA_DRV_H], [1],
                                  [CUDA driver API header is available])
                        AC_SUBST([CUDA_DRV_H_CPPFLAGS], [$CUDA_DRV_H_CPPFLAGS])],
                       [AC_MSG_NOTICE([cuda.h not found: GPU memory support is built without a header cross-check])])
       CPPFLAGS="$save_CPPFLAGS"])
])
