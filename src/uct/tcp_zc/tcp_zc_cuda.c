/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_cuda.h"

#include <ucs/debug/log.h>
#include <ucs/sys/compiler_def.h>
#include <stdarg.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>


#ifdef HAVE_CUDA_DRV_H
/*
 * Our declarations must be those of cuda.h: the type of every function (as
 * cuda.h maps its name), and the values of the constants.
 */
#include <cuda.h>

#define UCT_TCP_ZC_CUDA_CHECK_FUNC(_field, _sym, _api, _params) \
    _Static_assert(__builtin_types_compatible_p( \
                           __typeof__(&_api), \
                           uct_tcp_zc_cu_##_field##_func_t), \
                   "tcp_zc_cuda.h: " #_api " differs from cuda.h");
UCT_TCP_ZC_CUDA_FOREACH(UCT_TCP_ZC_CUDA_CHECK_FUNC)
#undef UCT_TCP_ZC_CUDA_CHECK_FUNC

#define UCT_TCP_ZC_CUDA_CHECK_PAIR(_ours, _theirs) \
    _Static_assert((unsigned long long)(_ours) == \
                   (unsigned long long)(_theirs), \
                   "tcp_zc_cuda.h: " #_theirs " differs from cuda.h");
_Static_assert(sizeof(uct_tcp_zc_cu_deviceptr_t) == sizeof(CUdeviceptr),
               "CUdeviceptr");
_Static_assert(sizeof(uct_tcp_zc_cu_result_t) == sizeof(CUresult),
               "CUresult");
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_SUCCESS, CUDA_SUCCESS)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_INVALID_VALUE,
                           CUDA_ERROR_INVALID_VALUE)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY,
                           CUDA_ERROR_OUT_OF_MEMORY)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_NOT_INITIALIZED,
                           CUDA_ERROR_NOT_INITIALIZED)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_NO_DEVICE, CUDA_ERROR_NO_DEVICE)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE,
                           CUDA_ERROR_INVALID_DEVICE)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_INVALID_CONTEXT,
                           CUDA_ERROR_INVALID_CONTEXT)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE,
                           CUDA_ERROR_INVALID_HANDLE)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_NOT_READY, CUDA_ERROR_NOT_READY)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_ILLEGAL_ADDRESS,
                           CUDA_ERROR_ILLEGAL_ADDRESS)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_NOT_SUPPORTED,
                           CUDA_ERROR_NOT_SUPPORTED)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_ERROR_UNKNOWN, CUDA_ERROR_UNKNOWN)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED,
                           CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                           CU_POINTER_ATTRIBUTE_MEMORY_TYPE)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                           CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_MEMORYTYPE_HOST, CU_MEMORYTYPE_HOST)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_MEMORYTYPE_DEVICE,
                           CU_MEMORYTYPE_DEVICE)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD,
                           CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_STREAM_NON_BLOCKING,
                           CU_STREAM_NON_BLOCKING)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_EVENT_DISABLE_TIMING,
                           CU_EVENT_DISABLE_TIMING)
UCT_TCP_ZC_CUDA_CHECK_PAIR(UCT_TCP_ZC_CU_MEMHOSTALLOC_PORTABLE,
                           CU_MEMHOSTALLOC_PORTABLE)
#undef UCT_TCP_ZC_CUDA_CHECK_PAIR
#endif /* HAVE_CUDA_DRV_H */


void uct_tcp_zc_cuda_reason(char *reason, size_t max, const char *fmt, ...)
{
    va_list ap;

    if ((reason == NULL) || (max == 0)) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(reason, max, fmt, ap);
    va_end(ap);
}

ucs_status_t uct_tcp_zc_cuda_open(const char *lib_name, uct_tcp_zc_cuda_t *cu,
                                  char *reason, size_t max)
{
    char errbuf[128];
    uct_tcp_zc_cu_result_t result;
    const char *error;

    memset(cu, 0, sizeof(*cu));
    if (lib_name == NULL) {
        lib_name = UCT_TCP_ZC_CUDA_LIB_DEFAULT;
    }

    cu->handle = dlopen(lib_name, RTLD_NOW | RTLD_LOCAL);
    if (cu->handle == NULL) {
        error = dlerror();
        uct_tcp_zc_cuda_reason(reason, max, "%s", (error != NULL) ? error :
                               "the CUDA driver library cannot be opened");
        return UCS_ERR_NO_DEVICE;
    }

#define UCT_TCP_ZC_CUDA_LOOKUP(_field, _sym, _api, _params) \
    cu->_field = (uct_tcp_zc_cu_##_field##_func_t)dlsym(cu->handle, #_sym); \
    if (cu->_field == NULL) { \
        uct_tcp_zc_cuda_reason(reason, max, "%s has no %s", lib_name, #_sym); \
        goto err_close; \
    }
    UCT_TCP_ZC_CUDA_FOREACH(UCT_TCP_ZC_CUDA_LOOKUP)
#undef UCT_TCP_ZC_CUDA_LOOKUP

    result = cu->init(0);
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        uct_tcp_zc_cuda_reason(reason, max, "cuInit of %s: %s", lib_name,
                               uct_tcp_zc_cuda_strerror(cu, result, errbuf,
                                                        sizeof(errbuf)));
        uct_tcp_zc_cuda_close(cu);
        return (result == UCT_TCP_ZC_CU_ERROR_NO_DEVICE) ? UCS_ERR_NO_DEVICE :
                                                           UCS_ERR_IO_ERROR;
    }

    return UCS_OK;

err_close:
    uct_tcp_zc_cuda_close(cu);
    return UCS_ERR_NO_DEVICE;
}

void uct_tcp_zc_cuda_close(uct_tcp_zc_cuda_t *cu)
{
    if (cu->handle != NULL) {
        dlclose(cu->handle);
    }
    memset(cu, 0, sizeof(*cu));
}

static pthread_once_t uct_tcp_zc_cuda_once = PTHREAD_ONCE_INIT;
static uct_tcp_zc_cuda_t uct_tcp_zc_cuda_global;
static int uct_tcp_zc_cuda_global_ok;

static void uct_tcp_zc_cuda_global_open(void)
{
    char reason[256];
    ucs_status_t status;

    status = uct_tcp_zc_cuda_open(NULL, &uct_tcp_zc_cuda_global, reason,
                                  sizeof(reason));
    if (status != UCS_OK) {
        ucs_debug("tcp_zc: no GPU memory support: %s", reason);
        return;
    }

    uct_tcp_zc_cuda_global_ok = 1;
}

const uct_tcp_zc_cuda_t *uct_tcp_zc_cuda_get(void)
{
    pthread_once(&uct_tcp_zc_cuda_once, uct_tcp_zc_cuda_global_open);
    return uct_tcp_zc_cuda_global_ok ? &uct_tcp_zc_cuda_global : NULL;
}

const char *uct_tcp_zc_cuda_strerror(const uct_tcp_zc_cuda_t *cu,
                                     uct_tcp_zc_cu_result_t result,
                                     char *buf, size_t max)
{
    const char *text = NULL;

    if ((cu != NULL) && (cu->get_error_string != NULL) &&
        (cu->get_error_string(result, &text) != UCT_TCP_ZC_CU_SUCCESS)) {
        text = NULL;
    }

    snprintf(buf, max, "CUDA error %u (%s)", result,
             (text != NULL) ? text : "unknown");
    return buf;
}

ucs_status_t uct_tcp_zc_cuda_status(uct_tcp_zc_cu_result_t result)
{
    switch (result) {
    case UCT_TCP_ZC_CU_SUCCESS:
        return UCS_OK;
    case UCT_TCP_ZC_CU_ERROR_NOT_READY:
        return UCS_INPROGRESS;
    case UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY:
        return UCS_ERR_NO_MEMORY;
    case UCT_TCP_ZC_CU_ERROR_INVALID_VALUE:
    case UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE:
        return UCS_ERR_INVALID_PARAM;
    case UCT_TCP_ZC_CU_ERROR_NO_DEVICE:
    case UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE:
        return UCS_ERR_NO_DEVICE;
    case UCT_TCP_ZC_CU_ERROR_NOT_SUPPORTED:
        return UCS_ERR_UNSUPPORTED;
    default:
        return UCS_ERR_IO_ERROR;
    }
}
