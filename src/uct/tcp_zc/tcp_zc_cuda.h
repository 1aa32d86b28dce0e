/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_CUDA_H
#define UCT_TCP_ZC_CUDA_H

#include <ucs/type/status.h>
#include <stddef.h>


/*
 * The few entry points of the CUDA driver API which tcp_zc uses, opened at
 * run time from libcuda.so.1 (never linked: without the library nothing
 * changes for host users). Debian has no CUDA headers, so the types and
 * constants are declared here, with the ABI of cuda.h: enumerations are
 * "unsigned" (no enumerator of these is negative), handles are pointers to
 * the same opaque structures. Where cuda.h exists (HAVE_CUDA_DRV_H),
 * tcp_zc_cuda.c checks at compile time that every declaration matches it.
 *
 * Symbols are looked up by the names cuda.h maps the API to (cuMemAlloc is
 * cuMemAlloc_v2, and so on), so the stand-in driver of the tests exports the
 * same names.
 */


typedef unsigned           uct_tcp_zc_cu_result_t;   /* CUresult */
typedef int                uct_tcp_zc_cu_device_t;   /* CUdevice */
typedef unsigned long long uct_tcp_zc_cu_deviceptr_t; /* CUdeviceptr */
typedef unsigned           uct_tcp_zc_cu_attr_t;     /* CUdevice_attribute */
typedef unsigned           uct_tcp_zc_cu_ptr_attr_t; /* CUpointer_attribute */
typedef unsigned           uct_tcp_zc_cu_range_t;    /* CUmemRangeHandleType */
typedef struct CUctx_st    *uct_tcp_zc_cu_context_t; /* CUcontext */
typedef struct CUstream_st *uct_tcp_zc_cu_stream_t;  /* CUstream */
typedef struct CUevent_st  *uct_tcp_zc_cu_event_t;   /* CUevent */


/* CUresult values */
#define UCT_TCP_ZC_CU_SUCCESS                0
#define UCT_TCP_ZC_CU_ERROR_INVALID_VALUE    1
#define UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY    2
#define UCT_TCP_ZC_CU_ERROR_NOT_INITIALIZED  3
#define UCT_TCP_ZC_CU_ERROR_NO_DEVICE        100
#define UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE   101
#define UCT_TCP_ZC_CU_ERROR_INVALID_CONTEXT  201
#define UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE   400
#define UCT_TCP_ZC_CU_ERROR_NOT_READY        600
#define UCT_TCP_ZC_CU_ERROR_ILLEGAL_ADDRESS  700
#define UCT_TCP_ZC_CU_ERROR_NOT_SUPPORTED    801
#define UCT_TCP_ZC_CU_ERROR_UNKNOWN          999

/* CUdevice_attribute values */
#define UCT_TCP_ZC_CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED 124

/* CUpointer_attribute values, CUmemorytype values */
#define UCT_TCP_ZC_CU_POINTER_ATTRIBUTE_MEMORY_TYPE    2
#define UCT_TCP_ZC_CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL 9
#define UCT_TCP_ZC_CU_MEMORYTYPE_HOST                  1
#define UCT_TCP_ZC_CU_MEMORYTYPE_DEVICE                2

/* CUmemRangeHandleType values */
#define UCT_TCP_ZC_CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD 1

/* Flags of cuStreamCreate, cuEventCreate, cuMemHostAlloc */
#define UCT_TCP_ZC_CU_STREAM_NON_BLOCKING  1
#define UCT_TCP_ZC_CU_EVENT_DISABLE_TIMING 2
#define UCT_TCP_ZC_CU_MEMHOSTALLOC_PORTABLE 1

/* Length of a PCI bus id string of cuDeviceGetPCIBusId, with the nul */
#define UCT_TCP_ZC_CU_PCI_BUS_ID_LEN 32


/*
 * The entry points: X(field, symbol, return, (parameters)). The field is the
 * function pointer in uct_tcp_zc_cuda_t, the symbol its name in libcuda, the
 * API name the one of cuda.h (which may be a macro for the symbol).
 */
#define UCT_TCP_ZC_CUDA_FOREACH(X) \
    X(init, cuInit, cuInit, \
      (unsigned flags)) \
    X(get_error_string, cuGetErrorString, cuGetErrorString, \
      (uct_tcp_zc_cu_result_t error, const char **str)) \
    X(device_get_count, cuDeviceGetCount, cuDeviceGetCount, \
      (int *count)) \
    X(device_get, cuDeviceGet, cuDeviceGet, \
      (uct_tcp_zc_cu_device_t *device, int ordinal)) \
    X(device_get_attribute, cuDeviceGetAttribute, cuDeviceGetAttribute, \
      (int *value, uct_tcp_zc_cu_attr_t attr, uct_tcp_zc_cu_device_t dev)) \
    X(device_get_pci_bus_id, cuDeviceGetPCIBusId, cuDeviceGetPCIBusId, \
      (char *bus_id, int len, uct_tcp_zc_cu_device_t dev)) \
    X(primary_ctx_retain, cuDevicePrimaryCtxRetain, \
      cuDevicePrimaryCtxRetain, \
      (uct_tcp_zc_cu_context_t *ctx, uct_tcp_zc_cu_device_t dev)) \
    X(primary_ctx_release, cuDevicePrimaryCtxRelease_v2, \
      cuDevicePrimaryCtxRelease, \
      (uct_tcp_zc_cu_device_t dev)) \
    X(ctx_push_current, cuCtxPushCurrent_v2, cuCtxPushCurrent, \
      (uct_tcp_zc_cu_context_t ctx)) \
    X(ctx_pop_current, cuCtxPopCurrent_v2, cuCtxPopCurrent, \
      (uct_tcp_zc_cu_context_t *ctx)) \
    X(mem_alloc, cuMemAlloc_v2, cuMemAlloc, \
      (uct_tcp_zc_cu_deviceptr_t *dptr, size_t size)) \
    X(mem_free, cuMemFree_v2, cuMemFree, \
      (uct_tcp_zc_cu_deviceptr_t dptr)) \
    X(mem_host_alloc, cuMemHostAlloc, cuMemHostAlloc, \
      (void **ptr, size_t size, unsigned flags)) \
    X(mem_free_host, cuMemFreeHost, cuMemFreeHost, \
      (void *ptr)) \
    X(mem_get_handle_for_address_range, cuMemGetHandleForAddressRange, \
      cuMemGetHandleForAddressRange, \
      (void *handle, uct_tcp_zc_cu_deviceptr_t dptr, size_t size, \
       uct_tcp_zc_cu_range_t type, unsigned long long flags)) \
    X(pointer_get_attribute, cuPointerGetAttribute, cuPointerGetAttribute, \
      (void *data, uct_tcp_zc_cu_ptr_attr_t attr, \
       uct_tcp_zc_cu_deviceptr_t ptr)) \
    X(memcpy_htod, cuMemcpyHtoD_v2, cuMemcpyHtoD, \
      (uct_tcp_zc_cu_deviceptr_t dst, const void *src, size_t size)) \
    X(memcpy_dtoh, cuMemcpyDtoH_v2, cuMemcpyDtoH, \
      (void *dst, uct_tcp_zc_cu_deviceptr_t src, size_t size)) \
    X(memcpy_dtod_async, cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync, \
      (uct_tcp_zc_cu_deviceptr_t dst, uct_tcp_zc_cu_deviceptr_t src, \
       size_t size, uct_tcp_zc_cu_stream_t stream)) \
    X(memcpy_htod_async, cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync, \
      (uct_tcp_zc_cu_deviceptr_t dst, const void *src, size_t size, \
       uct_tcp_zc_cu_stream_t stream)) \
    X(memcpy_dtoh_async, cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync, \
      (void *dst, uct_tcp_zc_cu_deviceptr_t src, size_t size, \
       uct_tcp_zc_cu_stream_t stream)) \
    X(stream_create, cuStreamCreate, cuStreamCreate, \
      (uct_tcp_zc_cu_stream_t *stream, unsigned flags)) \
    X(stream_destroy, cuStreamDestroy_v2, cuStreamDestroy, \
      (uct_tcp_zc_cu_stream_t stream)) \
    X(stream_synchronize, cuStreamSynchronize, cuStreamSynchronize, \
      (uct_tcp_zc_cu_stream_t stream)) \
    X(event_create, cuEventCreate, cuEventCreate, \
      (uct_tcp_zc_cu_event_t *event, unsigned flags)) \
    X(event_record, cuEventRecord, cuEventRecord, \
      (uct_tcp_zc_cu_event_t event, uct_tcp_zc_cu_stream_t stream)) \
    X(event_query, cuEventQuery, cuEventQuery, \
      (uct_tcp_zc_cu_event_t event)) \
    X(event_destroy, cuEventDestroy_v2, cuEventDestroy, \
      (uct_tcp_zc_cu_event_t event))


/* Function pointer types: uct_tcp_zc_cu_<field>_func_t */
#define UCT_TCP_ZC_CUDA_FUNC_TYPE(_field, _sym, _api, _params) \
    typedef uct_tcp_zc_cu_result_t (*uct_tcp_zc_cu_##_field##_func_t) _params;
UCT_TCP_ZC_CUDA_FOREACH(UCT_TCP_ZC_CUDA_FUNC_TYPE)
#undef UCT_TCP_ZC_CUDA_FUNC_TYPE


/* An opened driver library */
typedef struct uct_tcp_zc_cuda {
    void *handle; /* of dlopen */
#define UCT_TCP_ZC_CUDA_FIELD(_field, _sym, _api, _params) \
    uct_tcp_zc_cu_##_field##_func_t _field;
    UCT_TCP_ZC_CUDA_FOREACH(UCT_TCP_ZC_CUDA_FIELD)
#undef UCT_TCP_ZC_CUDA_FIELD
} uct_tcp_zc_cuda_t;


/* The driver library opened when no name is given */
#define UCT_TCP_ZC_CUDA_LIB_DEFAULT "libcuda.so.1"


/**
 * Open a CUDA driver library, look up every entry point and call cuInit(0).
 *
 * @param [in]  lib_name  Library to open; NULL for libcuda.so.1. The tests
 *                        pass the stand-in driver here.
 * @param [out] cu        Filled with the entry points.
 * @param [out] reason    Why not, on failure (may be NULL).
 * @param [in]  max       Size of @a reason.
 *
 * @return UCS_OK; UCS_ERR_NO_DEVICE without the library, an entry point or a
 *         GPU, UCS_ERR_IO_ERROR when cuInit fails otherwise.
 */
ucs_status_t uct_tcp_zc_cuda_open(const char *lib_name, uct_tcp_zc_cuda_t *cu,
                                  char *reason, size_t max);


/* Write why something about the GPU is not there or not used into reason
 * (max bytes; nothing if reason is NULL) */
void uct_tcp_zc_cuda_reason(char *reason, size_t max, const char *fmt, ...)
    UCS_F_PRINTF(3, 4);


/* Close a library of uct_tcp_zc_cuda_open() */
void uct_tcp_zc_cuda_close(uct_tcp_zc_cuda_t *cu);


/**
 * The process' driver, libcuda.so.1, opened at the first call. Without it
 * (no library, no GPU) returns NULL, and says why once, at debug level.
 */
const uct_tcp_zc_cuda_t *uct_tcp_zc_cuda_get(void);


/* Name and text of a driver result, "CUDA_ERROR_X (text)" */
const char *uct_tcp_zc_cuda_strerror(const uct_tcp_zc_cuda_t *cu,
                                     uct_tcp_zc_cu_result_t result,
                                     char *buf, size_t max);


/* UCS status of a driver result */
ucs_status_t uct_tcp_zc_cuda_status(uct_tcp_zc_cu_result_t result);

#endif
