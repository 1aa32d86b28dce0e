/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

/* The stand-in CUDA driver of the tests: see tcp_zc_cuda_stub.h */

#ifndef _GNU_SOURCE
#  define _GNU_SOURCE
#endif

#include "tcp_zc_cuda_stub.h"

#include <uct/tcp_zc/tcp_zc_cuda.h>

#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STUB_EXPORT    __attribute__((visibility("default")))
#define STUB_MAX_DEVS  8
#define STUB_CTX_DEPTH 16

typedef uct_tcp_zc_cu_result_t    CUresult;
typedef uct_tcp_zc_cu_deviceptr_t CUdeviceptr;

struct CUctx_st {
    int      device;
    unsigned refs;
};

typedef enum {
    STUB_OP_COPY,
    STUB_OP_EVENT
} stub_op_kind_t;

typedef struct stub_op {
    struct stub_op    *next;
    stub_op_kind_t    kind;
    void              *dst;
    const void        *src;
    size_t            length;
    void              *snapshot; /* pageable source, read at enqueue */
    int               fault;     /* injected fault when it runs */
    struct CUevent_st *event;
    unsigned long     seq;
} stub_op_t;

struct CUstream_st {
    stub_op_t *head;
    stub_op_t **tail;
};

struct CUevent_st {
    struct CUstream_st *stream; /* of the last record */
    int           pending;
    unsigned      polls_left;
    unsigned long seq;
    CUresult      result;
};

typedef struct stub_alloc {
    struct stub_alloc *next;
    char              *base;
    size_t            size;
    int               memfd; /* -1: pinned host memory */
    int               device;
} stub_alloc_t;

static struct {
    pthread_mutex_t          lock;
    int                      initialized;
    int                      num_devices;
    char                     bus_ids[STUB_MAX_DEVS][32];
    int                      dmabuf;
    unsigned                 polls;
    unsigned long            fail_enqueue;
    unsigned long            fail_copy;
    unsigned long            enqueue_calls;
    CUresult                 sticky; /* a fault poisons the context */
    struct CUctx_st          ctx[STUB_MAX_DEVS];
    stub_alloc_t             *allocs;
    tcp_zc_cuda_stub_stats_t stats;
} stub = {
    .lock = PTHREAD_MUTEX_INITIALIZER
};

static __thread struct CUctx_st *stub_ctx_stack[STUB_CTX_DEPTH];
static __thread int stub_ctx_depth;

#define STUB_LOCKED(_expr) \
    ({ \
        CUresult _r; \
        pthread_mutex_lock(&stub.lock); \
        _r = (_expr); \
        pthread_mutex_unlock(&stub.lock); \
        _r; \
    })

static unsigned long stub_env(const char *name, unsigned long dflt)
{
    const char *value = getenv(name);

    return ((value != NULL) && (*value != '\0')) ? strtoul(value, NULL, 0) :
                                                   dflt;
}

static struct CUctx_st *stub_current(void)
{
    return (stub_ctx_depth > 0) ? stub_ctx_stack[stub_ctx_depth - 1] : NULL;
}

static stub_alloc_t *stub_find(const void *ptr, size_t length)
{
    const char *p = ptr;
    stub_alloc_t *a;

    for (a = stub.allocs; a != NULL; a = a->next) {
        if ((p >= a->base) && (p < a->base + a->size) &&
            (length <= (size_t)(a->base + a->size - p))) {
            return a;
        }
    }

    return NULL;
}

static int stub_is_device(const void *ptr, size_t length)
{
    stub_alloc_t *a = stub_find(ptr, length);

    return (a != NULL) && (a->memfd >= 0);
}

static int stub_is_pinned(const void *ptr, size_t length)
{
    stub_alloc_t *a = stub_find(ptr, length);

    return (a != NULL) && (a->memfd < 0);
}

/* Run the queued work of a stream, up to and including op "last" (NULL:
 * all of it) */
static void stub_stream_run(struct CUstream_st *stream, const stub_op_t *last)
{
    stub_op_t *op;
    int done = 0;

    while (!done && ((op = stream->head) != NULL)) {
        stream->head = op->next;
        if (stream->head == NULL) {
            stream->tail = &stream->head;
        }

        if (op->kind == STUB_OP_COPY) {
            if (op->fault) {
                stub.sticky = UCT_TCP_ZC_CU_ERROR_ILLEGAL_ADDRESS;
            } else if (stub.sticky == UCT_TCP_ZC_CU_SUCCESS) {
                memmove(op->dst,
                        (op->snapshot != NULL) ? op->snapshot : op->src,
                        op->length);
                stub.stats.copies_run++;
                stub.stats.bytes_run += op->length;
            }
        } else if ((op->event != NULL) && (op->event->seq == op->seq)) {
            op->event->pending = 0;
            op->event->result  = stub.sticky;
        }

        done = (op == last);
        free(op->snapshot);
        free(op);
        stub.stats.pending_ops--;
    }
}

static void stub_stream_push(struct CUstream_st *stream, stub_op_t *op)
{
    op->next      = NULL;
    *stream->tail = op;
    stream->tail  = &op->next;
    stub.stats.pending_ops++;
}

STUB_EXPORT void tcp_zc_cuda_stub_stats(tcp_zc_cuda_stub_stats_t *stats)
{
    pthread_mutex_lock(&stub.lock);
    *stats = stub.stats;
    pthread_mutex_unlock(&stub.lock);
}

STUB_EXPORT CUresult cuInit(unsigned flags)
{
    const char *bus_ids;
    CUresult result;
    char *copy, *save, *token;
    int i;

    if (flags != 0) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    result = stub_env("TCP_ZC_CUDA_STUB_INIT_ERROR", 0);
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        return result;
    }

    pthread_mutex_lock(&stub.lock);
    stub.num_devices = stub_env("TCP_ZC_CUDA_STUB_DEVICES", 1);
    if (stub.num_devices > STUB_MAX_DEVS) {
        stub.num_devices = STUB_MAX_DEVS;
    }
    stub.dmabuf        = stub_env("TCP_ZC_CUDA_STUB_DMABUF", 1);
    stub.polls         = stub_env("TCP_ZC_CUDA_STUB_POLLS", 3);
    stub.fail_enqueue  = stub_env("TCP_ZC_CUDA_STUB_FAIL_ENQUEUE", 0);
    stub.fail_copy     = stub_env("TCP_ZC_CUDA_STUB_FAIL_COPY", 0);
    stub.enqueue_calls = 0;
    stub.sticky        = UCT_TCP_ZC_CU_SUCCESS;
    for (i = 0; i < STUB_MAX_DEVS; ++i) {
        snprintf(stub.bus_ids[i], sizeof(stub.bus_ids[i]), "0000:00:00.0");
        stub.ctx[i].device = i;
    }

    bus_ids = getenv("TCP_ZC_CUDA_STUB_BUS_IDS");
    if (bus_ids != NULL) {
        copy = strdup(bus_ids);
        i    = 0;
        for (token = strtok_r(copy, ",", &save);
             (token != NULL) && (i < STUB_MAX_DEVS);
             token = strtok_r(NULL, ",", &save)) {
            snprintf(stub.bus_ids[i++], sizeof(stub.bus_ids[0]), "%s", token);
        }
        free(copy);
    }

    stub.initialized = 1;
    stub.stats.inits++;
    pthread_mutex_unlock(&stub.lock);
    return (stub.num_devices > 0) ? UCT_TCP_ZC_CU_SUCCESS :
                                    UCT_TCP_ZC_CU_ERROR_NO_DEVICE;
}

STUB_EXPORT CUresult cuGetErrorString(CUresult error, const char **str)
{
    switch (error) {
    case UCT_TCP_ZC_CU_SUCCESS:
        *str = "no error";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_INVALID_VALUE:
        *str = "invalid argument";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY:
        *str = "out of memory";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_NOT_INITIALIZED:
        *str = "initialization error";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_NO_DEVICE:
        *str = "no CUDA-capable device is detected";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_INVALID_CONTEXT:
        *str = "invalid device context";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_NOT_READY:
        *str = "device not ready";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_ILLEGAL_ADDRESS:
        *str = "an illegal memory access was encountered";
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_ERROR_NOT_SUPPORTED:
        *str = "operation not supported";
        return UCT_TCP_ZC_CU_SUCCESS;
    default:
        *str = NULL;
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }
}

#define STUB_CHECK_INIT() \
    if (!stub.initialized) { \
        return UCT_TCP_ZC_CU_ERROR_NOT_INITIALIZED; \
    }

#define STUB_CHECK_CTX() \
    STUB_CHECK_INIT(); \
    if (stub_current() == NULL) { \
        return UCT_TCP_ZC_CU_ERROR_INVALID_CONTEXT; \
    }

STUB_EXPORT CUresult cuDeviceGetCount(int *count)
{
    STUB_CHECK_INIT();
    *count = stub.num_devices;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuDeviceGet(uct_tcp_zc_cu_device_t *device, int ordinal)
{
    STUB_CHECK_INIT();
    if ((ordinal < 0) || (ordinal >= stub.num_devices)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE;
    }

    *device = ordinal;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuDeviceGetAttribute(int *value, uct_tcp_zc_cu_attr_t attr,
                                          uct_tcp_zc_cu_device_t dev)
{
    STUB_CHECK_INIT();
    if ((dev < 0) || (dev >= stub.num_devices)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE;
    }

    if (attr != UCT_TCP_ZC_CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    *value = stub.dmabuf;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuDeviceGetPCIBusId(char *bus_id, int len,
                                         uct_tcp_zc_cu_device_t dev)
{
    STUB_CHECK_INIT();
    if ((dev < 0) || (dev >= stub.num_devices)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE;
    }

    snprintf(bus_id, len, "%s", stub.bus_ids[dev]);
    return UCT_TCP_ZC_CU_SUCCESS;
}

static CUresult stub_primary_ctx_retain(uct_tcp_zc_cu_context_t *ctx,
                                        uct_tcp_zc_cu_device_t dev)
{
    STUB_CHECK_INIT();
    if ((dev < 0) || (dev >= stub.num_devices)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE;
    }

    stub.ctx[dev].refs++;
    stub.stats.ctx_retained++;
    *ctx = &stub.ctx[dev];
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuDevicePrimaryCtxRetain(uct_tcp_zc_cu_context_t *ctx,
                                              uct_tcp_zc_cu_device_t dev)
{
    return STUB_LOCKED(stub_primary_ctx_retain(ctx, dev));
}

static CUresult stub_primary_ctx_release(uct_tcp_zc_cu_device_t dev)
{
    STUB_CHECK_INIT();
    if ((dev < 0) || (dev >= stub.num_devices) || (stub.ctx[dev].refs == 0)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_DEVICE;
    }

    stub.ctx[dev].refs--;
    stub.stats.ctx_retained--;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(uct_tcp_zc_cu_device_t dev)
{
    return STUB_LOCKED(stub_primary_ctx_release(dev));
}

STUB_EXPORT CUresult cuCtxPushCurrent_v2(uct_tcp_zc_cu_context_t ctx)
{
    STUB_CHECK_INIT();
    if ((ctx == NULL) || (ctx->refs == 0) ||
        (stub_ctx_depth == STUB_CTX_DEPTH)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_CONTEXT;
    }

    stub_ctx_stack[stub_ctx_depth++] = ctx;
    __atomic_fetch_add(&stub.stats.ctx_pushed, 1, __ATOMIC_RELAXED);
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuCtxPopCurrent_v2(uct_tcp_zc_cu_context_t *ctx)
{
    STUB_CHECK_INIT();
    if (stub_ctx_depth == 0) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_CONTEXT;
    }

    --stub_ctx_depth;
    if (ctx != NULL) {
        *ctx = stub_ctx_stack[stub_ctx_depth];
    }
    __atomic_fetch_sub(&stub.stats.ctx_pushed, 1, __ATOMIC_RELAXED);
    return UCT_TCP_ZC_CU_SUCCESS;
}

static CUresult stub_mem_alloc(CUdeviceptr *dptr, size_t size)
{
    size_t page = sysconf(_SC_PAGESIZE);
    stub_alloc_t *a;
    void *base;
    int fd;

    STUB_CHECK_CTX();
    if (size == 0) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    size = (size + page - 1) & ~(page - 1);
    fd   = memfd_create("tcp_zc_cuda_stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    if ((ftruncate(fd, size) != 0) ||
        (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0)) {
        close(fd);
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    a    = malloc(sizeof(*a));
    if ((base == MAP_FAILED) || (a == NULL)) {
        if (base != MAP_FAILED) {
            munmap(base, size);
        }
        free(a);
        close(fd);
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    a->base     = base;
    a->size     = size;
    a->memfd    = fd;
    a->device   = stub_current()->device;
    a->next     = stub.allocs;
    stub.allocs = a;
    stub.stats.device_allocs++;
    *dptr = (uintptr_t)base;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t size)
{
    return STUB_LOCKED(stub_mem_alloc(dptr, size));
}

static CUresult stub_mem_free(void *ptr, int device)
{
    stub_alloc_t **pa, *a;

    STUB_CHECK_INIT();
    for (pa = &stub.allocs; (a = *pa) != NULL; pa = &a->next) {
        if ((a->base == ptr) && ((a->memfd >= 0) == device)) {
            *pa = a->next;
            if (device) {
                munmap(a->base, a->size);
                close(a->memfd);
                stub.stats.device_allocs--;
            } else {
                free(a->base);
                stub.stats.host_allocs--;
            }
            free(a);
            return UCT_TCP_ZC_CU_SUCCESS;
        }
    }

    return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
}

STUB_EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr)
{
    return STUB_LOCKED(stub_mem_free((void*)(uintptr_t)dptr, 1));
}

static CUresult stub_mem_host_alloc(void **ptr, size_t size)
{
    stub_alloc_t *a;

    STUB_CHECK_CTX();
    a = malloc(sizeof(*a));
    if ((a == NULL) || (posix_memalign((void**)&a->base, 4096, size) != 0)) {
        free(a);
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    a->size     = size;
    a->memfd    = -1;
    a->device   = stub_current()->device;
    a->next     = stub.allocs;
    stub.allocs = a;
    stub.stats.host_allocs++;
    *ptr = a->base;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuMemHostAlloc(void **ptr, size_t size, unsigned flags)
{
    return STUB_LOCKED(stub_mem_host_alloc(ptr, size));
}

STUB_EXPORT CUresult cuMemFreeHost(void *ptr)
{
    return STUB_LOCKED(stub_mem_free(ptr, 0));
}

static CUresult stub_get_handle(void *handle, CUdeviceptr dptr, size_t size,
                                uct_tcp_zc_cu_range_t type)
{
    size_t page = sysconf(_SC_PAGESIZE);
    struct udmabuf_create create;
    stub_alloc_t *a;
    int dev_fd, fd;

    STUB_CHECK_CTX();
    a = stub_find((void*)(uintptr_t)dptr, size);
    if ((type != UCT_TCP_ZC_CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD) ||
        (a == NULL) || (a->memfd < 0) || (size == 0) || (dptr % page) ||
        (size % page)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    if (!stub.dmabuf) {
        return UCT_TCP_ZC_CU_ERROR_NOT_SUPPORTED;
    }

    dev_fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    if (dev_fd < 0) {
        return UCT_TCP_ZC_CU_ERROR_NOT_SUPPORTED;
    }

    memset(&create, 0, sizeof(create));
    create.memfd  = a->memfd;
    create.flags  = UDMABUF_FLAGS_CLOEXEC;
    create.offset = (char*)(uintptr_t)dptr - a->base;
    create.size   = size;
    fd            = ioctl(dev_fd, UDMABUF_CREATE, &create);
    close(dev_fd);
    if (fd < 0) {
        return (errno == EINVAL) ? UCT_TCP_ZC_CU_ERROR_INVALID_VALUE :
                                   UCT_TCP_ZC_CU_ERROR_NOT_SUPPORTED;
    }

    *(int*)handle = fd;
    stub.stats.dmabufs++;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult
cuMemGetHandleForAddressRange(void *handle, CUdeviceptr dptr, size_t size,
                              uct_tcp_zc_cu_range_t type,
                              unsigned long long flags)
{
    if (flags != 0) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    return STUB_LOCKED(stub_get_handle(handle, dptr, size, type));
}

static CUresult stub_pointer_get_attribute(void *data,
                                           uct_tcp_zc_cu_ptr_attr_t attr,
                                           CUdeviceptr ptr)
{
    stub_alloc_t *a;

    STUB_CHECK_INIT();
    a = stub_find((void*)(uintptr_t)ptr, 1);
    if (a == NULL) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    switch (attr) {
    case UCT_TCP_ZC_CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(unsigned*)data = (a->memfd >= 0) ? UCT_TCP_ZC_CU_MEMORYTYPE_DEVICE :
                                             UCT_TCP_ZC_CU_MEMORYTYPE_HOST;
        return UCT_TCP_ZC_CU_SUCCESS;
    case UCT_TCP_ZC_CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
        *(int*)data = a->device;
        return UCT_TCP_ZC_CU_SUCCESS;
    default:
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }
}

STUB_EXPORT CUresult cuPointerGetAttribute(void *data,
                                           uct_tcp_zc_cu_ptr_attr_t attr,
                                           CUdeviceptr ptr)
{
    return STUB_LOCKED(stub_pointer_get_attribute(data, attr, ptr));
}

/* Synchronous copies run on the legacy default stream: no stream here */
static CUresult stub_memcpy_sync(void *dst, const void *src, size_t size,
                                 int dst_device, int src_device)
{
    STUB_CHECK_CTX();
    if (stub.sticky != UCT_TCP_ZC_CU_SUCCESS) {
        return stub.sticky;
    }

    if ((dst_device && !stub_is_device(dst, size)) ||
        (src_device && !stub_is_device(src, size))) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    memmove(dst, src, size);
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src,
                                     size_t size)
{
    return STUB_LOCKED(stub_memcpy_sync((void*)(uintptr_t)dst, src, size, 1,
                                        0));
}

STUB_EXPORT CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t size)
{
    return STUB_LOCKED(stub_memcpy_sync(dst, (const void*)(uintptr_t)src,
                                        size, 0, 1));
}

static CUresult stub_memcpy_async(void *dst, const void *src, size_t size,
                                  int dst_device, int src_device,
                                  struct CUstream_st *stream)
{
    stub_op_t *op;

    STUB_CHECK_CTX();
    if (stream == NULL) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE;
    }

    if (stub.sticky != UCT_TCP_ZC_CU_SUCCESS) {
        return stub.sticky;
    }

    if (++stub.enqueue_calls == stub.fail_enqueue) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    if ((dst_device && !stub_is_device(dst, size)) ||
        (src_device && !stub_is_device(src, size)) || (size == 0)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_VALUE;
    }

    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    op->kind   = STUB_OP_COPY;
    op->dst    = dst;
    op->src    = src;
    op->length = size;
    op->fault  = (stub.enqueue_calls == stub.fail_copy);
    if (!src_device && !stub_is_pinned(src, size)) {
        /* the driver reads pageable memory before it returns */
        op->snapshot = malloc(size);
        if (op->snapshot == NULL) {
            free(op);
            return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
        }
        memcpy(op->snapshot, src, size);
    }

    stub_stream_push(stream, op);
    stub.stats.copies_enqueued++;
    if (!dst_device && !stub_is_pinned(dst, size)) {
        /* and returns when pageable memory was written */
        stub_stream_run(stream, op);
    }
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src,
                                          size_t size,
                                          uct_tcp_zc_cu_stream_t stream)
{
    return STUB_LOCKED(stub_memcpy_async((void*)(uintptr_t)dst,
                                         (const void*)(uintptr_t)src, size, 1,
                                         1, stream));
}

STUB_EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src,
                                          size_t size,
                                          uct_tcp_zc_cu_stream_t stream)
{
    return STUB_LOCKED(stub_memcpy_async((void*)(uintptr_t)dst, src, size, 1,
                                         0, stream));
}

STUB_EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src,
                                          size_t size,
                                          uct_tcp_zc_cu_stream_t stream)
{
    return STUB_LOCKED(stub_memcpy_async(dst, (const void*)(uintptr_t)src,
                                         size, 0, 1, stream));
}

static CUresult stub_stream_create(uct_tcp_zc_cu_stream_t *stream)
{
    STUB_CHECK_CTX();
    *stream = calloc(1, sizeof(**stream));
    if (*stream == NULL) {
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    (*stream)->tail = &(*stream)->head;
    stub.stats.streams++;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuStreamCreate(uct_tcp_zc_cu_stream_t *stream,
                                    unsigned flags)
{
    return STUB_LOCKED(stub_stream_create(stream));
}

static CUresult stub_stream_destroy(uct_tcp_zc_cu_stream_t stream)
{
    STUB_CHECK_INIT();
    if (stream == NULL) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE;
    }

    /* the driver completes the work of a destroyed stream */
    stub_stream_run(stream, NULL);
    free(stream);
    stub.stats.streams--;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuStreamDestroy_v2(uct_tcp_zc_cu_stream_t stream)
{
    return STUB_LOCKED(stub_stream_destroy(stream));
}

static CUresult stub_stream_synchronize(uct_tcp_zc_cu_stream_t stream)
{
    STUB_CHECK_INIT();
    if (stream == NULL) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE;
    }

    stub_stream_run(stream, NULL);
    return stub.sticky;
}

STUB_EXPORT CUresult cuStreamSynchronize(uct_tcp_zc_cu_stream_t stream)
{
    return STUB_LOCKED(stub_stream_synchronize(stream));
}

static CUresult stub_event_create(uct_tcp_zc_cu_event_t *event)
{
    STUB_CHECK_CTX();
    *event = calloc(1, sizeof(**event));
    if (*event == NULL) {
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    stub.stats.events++;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuEventCreate(uct_tcp_zc_cu_event_t *event,
                                   unsigned flags)
{
    return STUB_LOCKED(stub_event_create(event));
}

static CUresult stub_event_record(uct_tcp_zc_cu_event_t event,
                                  uct_tcp_zc_cu_stream_t stream)
{
    stub_op_t *op;

    STUB_CHECK_INIT();
    if ((event == NULL) || (stream == NULL)) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE;
    }

    if (stub.sticky != UCT_TCP_ZC_CU_SUCCESS) {
        return stub.sticky;
    }

    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        return UCT_TCP_ZC_CU_ERROR_OUT_OF_MEMORY;
    }

    op->kind          = STUB_OP_EVENT;
    op->event         = event;
    op->seq           = ++event->seq;
    event->stream     = stream;
    event->pending    = 1;
    event->polls_left = stub.polls;
    event->result     = UCT_TCP_ZC_CU_SUCCESS;
    stub_stream_push(stream, op);
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuEventRecord(uct_tcp_zc_cu_event_t event,
                                   uct_tcp_zc_cu_stream_t stream)
{
    return STUB_LOCKED(stub_event_record(event, stream));
}

/* The marker of the event's last record, in its stream's queue */
static stub_op_t *stub_event_marker(uct_tcp_zc_cu_event_t event)
{
    stub_op_t *op;

    if (!event->pending) {
        return NULL;
    }

    for (op = event->stream->head; op != NULL; op = op->next) {
        if ((op->kind == STUB_OP_EVENT) && (op->event == event) &&
            (op->seq == event->seq)) {
            return op;
        }
    }

    return NULL;
}

static CUresult stub_event_query(uct_tcp_zc_cu_event_t event)
{
    stub_op_t *marker;

    STUB_CHECK_INIT();
    if (event == NULL) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE;
    }

    if (!event->pending) {
        return event->result;
    }

    if (event->polls_left > 1) {
        --event->polls_left;
        return UCT_TCP_ZC_CU_ERROR_NOT_READY;
    }

    marker = stub_event_marker(event);
    if (marker != NULL) {
        stub_stream_run(event->stream, marker);
    }
    event->pending = 0;
    return event->result;
}

STUB_EXPORT CUresult cuEventQuery(uct_tcp_zc_cu_event_t event)
{
    return STUB_LOCKED(stub_event_query(event));
}

static CUresult stub_event_destroy(uct_tcp_zc_cu_event_t event)
{
    stub_op_t *marker;

    STUB_CHECK_INIT();
    if (event == NULL) {
        return UCT_TCP_ZC_CU_ERROR_INVALID_HANDLE;
    }

    /* the work before a pending record still runs, the marker goes */
    marker = stub_event_marker(event);
    if (marker != NULL) {
        marker->event = NULL;
    }
    free(event);
    stub.stats.events--;
    return UCT_TCP_ZC_CU_SUCCESS;
}

STUB_EXPORT CUresult cuEventDestroy_v2(uct_tcp_zc_cu_event_t event)
{
    return STUB_LOCKED(stub_event_destroy(event));
}


