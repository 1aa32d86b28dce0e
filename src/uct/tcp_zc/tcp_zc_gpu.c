/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_gpu.h"
#include "tcp_zc_compat.h"

#include <ucs/datastruct/queue.h>
#include <ucs/debug/log.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/math.h>
#include <ucs/sys/string.h>
#include <ucs/sys/sys.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


/* A gather batch in flight */
typedef struct uct_tcp_zc_gpu_batch {
    ucs_queue_elem_t         queue;
    uct_tcp_zc_cu_event_t    event;
    size_t                   length;
    unsigned                 num_tokens;
    uct_tcp_zc_gpu_comp_cb_t comp_cb;
    void                     *arg;
    uint32_t                 tokens[0];
} uct_tcp_zc_gpu_batch_t;


static const char *uct_tcp_zc_gpu_strerror(const uct_tcp_zc_cuda_t *cu,
                                           uct_tcp_zc_cu_result_t result,
                                           char *buf, size_t max)
{
    return uct_tcp_zc_cuda_strerror(cu, result, buf, max);
}

unsigned uct_tcp_zc_gpu_nearest(const ucs_sys_dev_distance_t *distances,
                                unsigned count)
{
    unsigned best = 0;
    unsigned i;

    for (i = 1; i < count; ++i) {
        if ((distances[i].bandwidth > distances[best].bandwidth) ||
            ((distances[i].bandwidth == distances[best].bandwidth) &&
             (distances[i].latency < distances[best].latency))) {
            best = i;
        }
    }

    return best;
}

/* System device of a GPU, from its PCI bus id */
static ucs_status_t
uct_tcp_zc_gpu_sys_device(const uct_tcp_zc_cuda_t *cu,
                          uct_tcp_zc_cu_device_t device,
                          ucs_sys_device_t *sys_dev, char *bus_id_str)
{
    ucs_sys_bus_id_t bus_id;
    unsigned domain, bus, slot, function;

    if ((cu->device_get_pci_bus_id(bus_id_str, UCT_TCP_ZC_CU_PCI_BUS_ID_LEN,
                                   device) != UCT_TCP_ZC_CU_SUCCESS) ||
        (sscanf(bus_id_str, "%x:%x:%x.%x", &domain, &bus, &slot,
                &function) != 4)) {
        return UCS_ERR_NO_ELEM;
    }

    bus_id.domain   = domain;
    bus_id.bus      = bus;
    bus_id.slot     = slot;
    bus_id.function = function;
    return ucs_topo_find_device_by_bus_id(&bus_id, sys_dev);
}

ucs_status_t uct_tcp_zc_gpu_select(const uct_tcp_zc_cuda_t *cu,
                                   ucs_sys_device_t nic, int requested,
                                   int *ordinal_p, char *reason, size_t max)
{
    char bus_id[UCT_TCP_ZC_CU_PCI_BUS_ID_LEN] = "";
    char dist_str[64];
    ucs_sys_dev_distance_t *distances;
    uct_tcp_zc_cu_device_t device;
    ucs_sys_device_t sys_dev;
    uct_tcp_zc_cu_result_t result;
    unsigned best;
    int count, i;

    result = cu->device_get_count(&count);
    if ((result != UCT_TCP_ZC_CU_SUCCESS) || (count <= 0)) {
        uct_tcp_zc_cuda_reason(reason, max, "no GPU");
        return UCS_ERR_NO_DEVICE;
    }

    if (requested != UCT_TCP_ZC_GPU_NEAREST) {
        if ((requested < 0) || (requested >= count)) {
            uct_tcp_zc_cuda_reason(reason, max, "GPU %d requested, %d present",
                                  requested, count);
            return UCS_ERR_NO_DEVICE;
        }

        *ordinal_p = requested;
        uct_tcp_zc_cuda_reason(reason, max, "GPU %d as requested", requested);
        return UCS_OK;
    }

    if (nic == UCS_SYS_DEVICE_ID_UNKNOWN) {
        *ordinal_p = 0;
        uct_tcp_zc_cuda_reason(reason, max, "GPU 0: the NIC's place in the "
                              "system topology is unknown");
        return UCS_OK;
    }

    distances = ucs_calloc(count, sizeof(*distances), "tcp_zc_gpu_dist");
    if (distances == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    for (i = 0; i < count; ++i) {
        distances[i] = ucs_topo_default_distance;
        if ((cu->device_get(&device, i) == UCT_TCP_ZC_CU_SUCCESS) &&
            (uct_tcp_zc_gpu_sys_device(cu, device, &sys_dev, bus_id) ==
             UCS_OK) &&
            (ucs_topo_get_distance(nic, sys_dev, &distances[i]) != UCS_OK)) {
            distances[i] = ucs_topo_default_distance;
        }
    }

    best       = uct_tcp_zc_gpu_nearest(distances, count);
    *ordinal_p = best;
    uct_tcp_zc_cuda_reason(reason, max, "GPU %u of %d, nearest to the NIC (%s)",
                          best, count,
                          ucs_topo_distance_str(&distances[best], dist_str,
                                                sizeof(dist_str)));
    ucs_free(distances);
    return UCS_OK;
}

ucs_status_t uct_tcp_zc_gpu_dev_open(const uct_tcp_zc_cuda_t *cu, int ordinal,
                                     uct_tcp_zc_gpu_dev_t *dev, char *reason,
                                     size_t max)
{
    char errbuf[128];
    uct_tcp_zc_cu_result_t result;

    memset(dev, 0, sizeof(*dev));
    dev->cu      = cu;
    dev->ordinal = ordinal;

    result = cu->device_get(&dev->device, ordinal);
    if (result == UCT_TCP_ZC_CU_SUCCESS) {
        result = cu->primary_ctx_retain(&dev->ctx, dev->device);
    }
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        uct_tcp_zc_cuda_reason(reason, max, "GPU %d: %s", ordinal,
                              uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                                      sizeof(errbuf)));
        return uct_tcp_zc_cuda_status(result);
    }

    result = cu->device_get_attribute(
            &dev->dmabuf_supported,
            UCT_TCP_ZC_CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, dev->device);
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        /* drivers before CUDA 11.7 do not know the attribute */
        dev->dmabuf_supported = 0;
    }

    return UCS_OK;
}

void uct_tcp_zc_gpu_dev_close(uct_tcp_zc_gpu_dev_t *dev)
{
    if (dev->ctx != NULL) {
        dev->cu->primary_ctx_release(dev->device);
        dev->ctx = NULL;
    }
}

ucs_status_t uct_tcp_zc_gpu_dev_push(const uct_tcp_zc_gpu_dev_t *dev)
{
    return uct_tcp_zc_cuda_status(dev->cu->ctx_push_current(dev->ctx));
}

void uct_tcp_zc_gpu_dev_pop(const uct_tcp_zc_gpu_dev_t *dev)
{
    uct_tcp_zc_cu_context_t ctx;

    dev->cu->ctx_pop_current(&ctx);
}

int uct_tcp_zc_gpu_is_device_ptr(const uct_tcp_zc_cuda_t *cu,
                                 const void *address)
{
    unsigned mem_type = 0;
    uct_tcp_zc_cu_result_t result;

    result = cu->pointer_get_attribute(
            &mem_type, UCT_TCP_ZC_CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
            (uintptr_t)address);
    return (result == UCT_TCP_ZC_CU_SUCCESS) &&
           (mem_type == UCT_TCP_ZC_CU_MEMORYTYPE_DEVICE);
}


/*
 * Receive pool
 */

ucs_status_t uct_tcp_zc_gpu_pool_create(uct_tcp_zc_gpu_dev_t *dev, size_t size,
                                        uct_tcp_zc_gpu_pool_t *pool,
                                        char *reason, size_t max)
{
    const uct_tcp_zc_cuda_t *cu = dev->cu;
    char errbuf[128];
    uct_tcp_zc_cu_result_t result;
    ucs_status_t status;
    size_t page;
    int fd;

    memset(pool, 0, sizeof(*pool));
    pool->dev       = dev;
    pool->dmabuf_fd = -1;
    page            = ucs_get_page_size();
    pool->size      = (ucs_max(size, (size_t)1) + page - 1) / page * page;

    if (!dev->dmabuf_supported) {
        uct_tcp_zc_cuda_reason(reason, max, "GPU %d cannot export dmabufs "
                              "(CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED is 0: "
                              "a driver before CUDA 11.7 or the proprietary "
                              "kernel modules)", dev->ordinal);
        return UCS_ERR_UNSUPPORTED;
    }

    status = uct_tcp_zc_gpu_dev_push(dev);
    if (status != UCS_OK) {
        uct_tcp_zc_cuda_reason(reason, max, "GPU %d: context: %s",
                              dev->ordinal, ucs_status_string(status));
        return status;
    }

    result = cu->mem_alloc(&pool->base, pool->size);
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        uct_tcp_zc_cuda_reason(reason, max, "GPU %d: allocating %zu bytes: %s",
                              dev->ordinal, pool->size,
                              uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                                      sizeof(errbuf)));
        status = uct_tcp_zc_cuda_status(result);
        goto out_pop;
    }

    fd     = -1;
    result = cu->mem_get_handle_for_address_range(
            &fd, pool->base, pool->size,
            UCT_TCP_ZC_CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
    if ((result != UCT_TCP_ZC_CU_SUCCESS) || (fd < 0)) {
        uct_tcp_zc_cuda_reason(reason, max, "GPU %d: exporting %zu bytes as a "
                              "dmabuf: %s", dev->ordinal, pool->size,
                              uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                                      sizeof(errbuf)));
        status = (result == UCT_TCP_ZC_CU_SUCCESS) ?
                         UCS_ERR_IO_ERROR :
                         uct_tcp_zc_cuda_status(result);
        cu->mem_free(pool->base);
        pool->base = 0;
        goto out_pop;
    }

    pool->dmabuf_fd = fd;
    uct_tcp_zc_cuda_reason(reason, max, "GPU %d: %zu bytes exported as dmabuf "
                          "fd %d", dev->ordinal, pool->size, fd);
    status = UCS_OK;

out_pop:
    uct_tcp_zc_gpu_dev_pop(dev);
    return status;
}

void uct_tcp_zc_gpu_pool_destroy(uct_tcp_zc_gpu_pool_t *pool)
{
    if (pool->dmabuf_fd >= 0) {
        close(pool->dmabuf_fd);
        pool->dmabuf_fd = -1;
    }

    if (pool->base != 0) {
        if (uct_tcp_zc_gpu_dev_push(pool->dev) == UCS_OK) {
            pool->dev->cu->mem_free(pool->base);
            uct_tcp_zc_gpu_dev_pop(pool->dev);
        }
        pool->base = 0;
    }
}


/*
 * Gather
 */

ucs_status_t uct_tcp_zc_gpu_gather_plan(const uct_tcp_zc_gpu_frag_t *frags,
                                        unsigned count, uintptr_t pool_base,
                                        size_t pool_size, uintptr_t dst,
                                        int dst_is_gpu,
                                        uct_tcp_zc_gpu_copy_t *copies,
                                        unsigned *num_copies, uint32_t *tokens,
                                        unsigned *num_tokens, size_t *length_p)
{
    uct_tcp_zc_gpu_copy_t *last = NULL;
    uct_tcp_zc_gpu_copy_kind_t kind;
    size_t length               = 0;
    unsigned ncopies            = 0;
    unsigned ntokens            = 0;
    uintptr_t src;
    unsigned i;

    for (i = 0; i < count; ++i) {
        if (frags[i].length == 0) {
            return UCS_ERR_INVALID_PARAM;
        }

        if (frags[i].linear != NULL) {
            src  = (uintptr_t)frags[i].linear;
            kind = dst_is_gpu ? UCT_TCP_ZC_GPU_COPY_HTOD :
                                UCT_TCP_ZC_GPU_COPY_HTOH;
        } else {
            if ((frags[i].offset > pool_size) ||
                (frags[i].length > pool_size - frags[i].offset)) {
                return UCS_ERR_INVALID_PARAM;
            }

            src  = pool_base + frags[i].offset;
            kind = dst_is_gpu ? UCT_TCP_ZC_GPU_COPY_DTOD :
                                UCT_TCP_ZC_GPU_COPY_DTOH;
            tokens[ntokens++] = frags[i].token;
        }

        if ((last != NULL) && (last->kind == kind) &&
            (last->src + last->length == src)) {
            last->length += frags[i].length;
        } else {
            last         = &copies[ncopies++];
            last->kind   = kind;
            last->dst    = dst + length;
            last->src    = src;
            last->length = frags[i].length;
        }

        length += frags[i].length;
    }

    *num_copies = ncopies;
    *num_tokens = ntokens;
    *length_p   = length;
    return UCS_OK;
}

static uct_tcp_zc_cu_result_t
uct_tcp_zc_gpu_copy_issue(const uct_tcp_zc_cuda_t *cu,
                          const uct_tcp_zc_gpu_copy_t *copy,
                          uct_tcp_zc_cu_stream_t stream)
{
    switch (copy->kind) {
    case UCT_TCP_ZC_GPU_COPY_DTOD:
        return cu->memcpy_dtod_async(copy->dst, copy->src, copy->length,
                                     stream);
    case UCT_TCP_ZC_GPU_COPY_HTOD:
        return cu->memcpy_htod_async(copy->dst, (const void*)copy->src,
                                     copy->length, stream);
    case UCT_TCP_ZC_GPU_COPY_DTOH:
        return cu->memcpy_dtoh_async((void*)copy->dst, copy->src,
                                     copy->length, stream);
    default:
        memcpy((void*)copy->dst, (const void*)copy->src, copy->length);
        return UCT_TCP_ZC_CU_SUCCESS;
    }
}

ucs_status_t uct_tcp_zc_gpu_engine_init(uct_tcp_zc_gpu_engine_t *engine,
                                        uct_tcp_zc_gpu_dev_t *dev,
                                        const uct_tcp_zc_gpu_pool_t *pool,
                                        unsigned max_inflight,
                                        uct_tcp_zc_gpu_release_cb_t release_cb,
                                        void *release_arg)
{
    char errbuf[128];
    uct_tcp_zc_cu_result_t result;
    ucs_status_t status;

    memset(engine, 0, sizeof(*engine));
    engine->dev          = dev;
    engine->pool_base    = (pool != NULL) ? pool->base : 0;
    engine->pool_size    = (pool != NULL) ? pool->size : 0;
    engine->max_inflight = ucs_max(max_inflight, 1u);
    engine->release_cb   = release_cb;
    engine->release_arg  = release_arg;
    ucs_queue_head_init(&engine->inflight);

    engine->free_events = ucs_calloc(engine->max_inflight,
                                     sizeof(*engine->free_events),
                                     "tcp_zc_gpu_events");
    if (engine->free_events == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    status = uct_tcp_zc_gpu_dev_push(dev);
    if (status != UCS_OK) {
        goto err_free;
    }

    result = dev->cu->stream_create(&engine->stream,
                                    UCT_TCP_ZC_CU_STREAM_NON_BLOCKING);
    uct_tcp_zc_gpu_dev_pop(dev);
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        ucs_error("tcp_zc: GPU %d: cuStreamCreate: %s", dev->ordinal,
                  uct_tcp_zc_gpu_strerror(dev->cu, result, errbuf,
                                          sizeof(errbuf)));
        status = uct_tcp_zc_cuda_status(result);
        goto err_free;
    }

    return UCS_OK;

err_free:
    ucs_free(engine->free_events);
    return status;
}

static void uct_tcp_zc_gpu_engine_complete(uct_tcp_zc_gpu_engine_t *engine,
                                           uct_tcp_zc_gpu_batch_t *batch,
                                           ucs_status_t status)
{
    if (batch->num_tokens > 0) {
        engine->release_cb(engine->release_arg, batch->tokens,
                           batch->num_tokens);
        engine->counters.tokens_released += batch->num_tokens;
    }

    engine->counters.batches++;
    if (status == UCS_OK) {
        engine->counters.bytes += batch->length;
    } else {
        engine->counters.errors++;
    }

    engine->free_events[engine->num_free_events++] = batch->event;
    --engine->num_inflight;
    if (batch->comp_cb != NULL) {
        batch->comp_cb(batch->arg, status);
    }
    ucs_free(batch);
}

unsigned uct_tcp_zc_gpu_engine_progress(uct_tcp_zc_gpu_engine_t *engine)
{
    const uct_tcp_zc_cuda_t *cu = engine->dev->cu;
    unsigned count              = 0;
    char errbuf[128];
    uct_tcp_zc_gpu_batch_t *batch;
    uct_tcp_zc_cu_result_t result;
    ucs_status_t status;

    while (!ucs_queue_is_empty(&engine->inflight)) {
        batch  = ucs_queue_head_elem_non_empty(&engine->inflight,
                                               uct_tcp_zc_gpu_batch_t, queue);
        result = cu->event_query(batch->event);
        if (result == UCT_TCP_ZC_CU_ERROR_NOT_READY) {
            break;
        }

        status = uct_tcp_zc_cuda_status(result);
        if (status != UCS_OK) {
            ucs_error("tcp_zc: GPU %d: gather of %zu bytes failed: %s",
                      engine->dev->ordinal, batch->length,
                      uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                              sizeof(errbuf)));
        }

        ucs_queue_pull_non_empty(&engine->inflight);
        uct_tcp_zc_gpu_engine_complete(engine, batch, status);
        ++count;
    }

    return count;
}

ucs_status_t uct_tcp_zc_gpu_gather(uct_tcp_zc_gpu_engine_t *engine,
                                   const uct_tcp_zc_gpu_frag_t *frags,
                                   unsigned count, void *dst, int dst_is_gpu,
                                   uct_tcp_zc_gpu_comp_cb_t comp_cb, void *arg)
{
    const uct_tcp_zc_cuda_t *cu = engine->dev->cu;
    char errbuf[128];
    uct_tcp_zc_gpu_batch_t *batch;
    uct_tcp_zc_gpu_copy_t *copies;
    uct_tcp_zc_cu_result_t result;
    unsigned i, num_copies;
    ucs_status_t status;
    size_t tokens_size;

    if (engine->num_inflight >= engine->max_inflight) {
        return UCS_ERR_NO_RESOURCE;
    }

    /* the batch with its tokens, and the copies after them */
    /* the copies after the tokens, 8-byte aligned */
    tokens_size = (count * sizeof(uint32_t) + 7) & ~(size_t)7;
    batch       = ucs_malloc(sizeof(*batch) + tokens_size +
                             count * sizeof(*copies), "tcp_zc_gpu_batch");
    if (batch == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    copies = (uct_tcp_zc_gpu_copy_t*)UCS_PTR_BYTE_OFFSET(batch->tokens,
                                                         tokens_size);
    status = uct_tcp_zc_gpu_gather_plan(frags, count, engine->pool_base,
                                        engine->pool_size, (uintptr_t)dst,
                                        dst_is_gpu, copies, &num_copies,
                                        batch->tokens, &batch->num_tokens,
                                        &batch->length);
    if (status != UCS_OK) {
        goto err_free;
    }

    status = uct_tcp_zc_gpu_dev_push(engine->dev);
    if (status != UCS_OK) {
        goto err_free;
    }

    if (engine->num_free_events > 0) {
        batch->event = engine->free_events[--engine->num_free_events];
    } else {
        result = cu->event_create(&batch->event,
                                  UCT_TCP_ZC_CU_EVENT_DISABLE_TIMING);
        if (result != UCT_TCP_ZC_CU_SUCCESS) {
            uct_tcp_zc_gpu_dev_pop(engine->dev);
            ucs_error("tcp_zc: GPU %d: cuEventCreate: %s",
                      engine->dev->ordinal,
                      uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                              sizeof(errbuf)));
            status = uct_tcp_zc_cuda_status(result);
            goto err_free;
        }
    }

    result = UCT_TCP_ZC_CU_SUCCESS;
    for (i = 0; (i < num_copies) && (result == UCT_TCP_ZC_CU_SUCCESS); ++i) {
        result = uct_tcp_zc_gpu_copy_issue(cu, &copies[i], engine->stream);
        engine->counters.copies += (result == UCT_TCP_ZC_CU_SUCCESS);
    }

    if (result == UCT_TCP_ZC_CU_SUCCESS) {
        result = cu->event_record(batch->event, engine->stream);
    }

    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        /* nothing may read the fragments once their tokens are the
         * caller's again: wait for the copies issued (an error path) */
        cu->stream_synchronize(engine->stream);
        uct_tcp_zc_gpu_dev_pop(engine->dev);
        ucs_error("tcp_zc: GPU %d: issuing a gather of %zu bytes: %s",
                  engine->dev->ordinal, batch->length,
                  uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                          sizeof(errbuf)));
        status = uct_tcp_zc_cuda_status(result);
        engine->counters.errors++;
        goto err_event;
    }

    uct_tcp_zc_gpu_dev_pop(engine->dev);

    batch->comp_cb = comp_cb;
    batch->arg     = arg;
    ucs_queue_push(&engine->inflight, &batch->queue);
    ++engine->num_inflight;
    return UCS_INPROGRESS;

err_event:
    engine->free_events[engine->num_free_events++] = batch->event;
err_free:
    ucs_free(batch);
    return status;
}

void uct_tcp_zc_gpu_engine_cleanup(uct_tcp_zc_gpu_engine_t *engine)
{
    const uct_tcp_zc_cuda_t *cu = engine->dev->cu;
    uct_tcp_zc_gpu_batch_t *batch;
    uct_tcp_zc_cu_result_t result;
    ucs_status_t push_status;
    unsigned i;

    push_status = uct_tcp_zc_gpu_dev_push(engine->dev);
    result      = cu->stream_synchronize(engine->stream);
    while (!ucs_queue_is_empty(&engine->inflight)) {
        batch = ucs_queue_pull_elem_non_empty(&engine->inflight,
                                              uct_tcp_zc_gpu_batch_t, queue);
        uct_tcp_zc_gpu_engine_complete(engine, batch,
                                       uct_tcp_zc_cuda_status(result));
    }

    for (i = 0; i < engine->num_free_events; ++i) {
        cu->event_destroy(engine->free_events[i]);
    }
    cu->stream_destroy(engine->stream);
    if (push_status == UCS_OK) {
        uct_tcp_zc_gpu_dev_pop(engine->dev);
    }
    ucs_free(engine->free_events);
}


/*
 * Staging
 */

ucs_status_t uct_tcp_zc_gpu_stager_init(uct_tcp_zc_gpu_stager_t *stager,
                                        uct_tcp_zc_gpu_dev_t *dev,
                                        size_t chunk_size, unsigned num_chunks)
{
    const uct_tcp_zc_cuda_t *cu = dev->cu;
    char errbuf[128];
    uct_tcp_zc_cu_result_t result;
    ucs_status_t status;
    void *buffer;
    unsigned i;

    memset(stager, 0, sizeof(*stager));
    stager->dev        = dev;
    stager->chunk_size = ucs_max(chunk_size, (size_t)1);
    stager->num_chunks = ucs_max(num_chunks, 1u);
    ucs_list_head_init(&stager->ops);

    stager->chunks = ucs_calloc(stager->num_chunks, sizeof(*stager->chunks),
                                "tcp_zc_gpu_chunks");
    if (stager->chunks == NULL) {
        return UCS_ERR_NO_MEMORY;
    }

    status = uct_tcp_zc_gpu_dev_push(dev);
    if (status != UCS_OK) {
        goto err_free;
    }

    result = cu->mem_host_alloc(&buffer,
                                stager->chunk_size * stager->num_chunks,
                                UCT_TCP_ZC_CU_MEMHOSTALLOC_PORTABLE);
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        goto err_result;
    }
    stager->buffer = buffer;

    result = cu->stream_create(&stager->stream,
                               UCT_TCP_ZC_CU_STREAM_NON_BLOCKING);
    if (result != UCT_TCP_ZC_CU_SUCCESS) {
        goto err_host;
    }

    for (i = 0; i < stager->num_chunks; ++i) {
        result = cu->event_create(&stager->chunks[i].event,
                                  UCT_TCP_ZC_CU_EVENT_DISABLE_TIMING);
        if (result != UCT_TCP_ZC_CU_SUCCESS) {
            goto err_events;
        }
    }

    uct_tcp_zc_gpu_dev_pop(dev);
    return UCS_OK;

err_events:
    while (i-- > 0) {
        cu->event_destroy(stager->chunks[i].event);
    }
    cu->stream_destroy(stager->stream);
err_host:
    cu->mem_free_host(stager->buffer);
err_result:
    uct_tcp_zc_gpu_dev_pop(dev);
    ucs_error("tcp_zc: GPU %d: staging buffers: %s", dev->ordinal,
              uct_tcp_zc_gpu_strerror(cu, result, errbuf, sizeof(errbuf)));
    status = uct_tcp_zc_cuda_status(result);
err_free:
    ucs_free(stager->chunks);
    return status;
}

static void uct_tcp_zc_gpu_stage_fail(uct_tcp_zc_gpu_stage_op_t *op,
                                      ucs_status_t status)
{
    if (op->status == UCS_OK) {
        op->status = status;
    }
}

/* Complete operations at the head whose chunks are all finished */
static unsigned uct_tcp_zc_gpu_stager_complete(uct_tcp_zc_gpu_stager_t *stager)
{
    unsigned count = 0;
    uct_tcp_zc_gpu_stage_op_t *op;

    while (!ucs_list_is_empty(&stager->ops)) {
        op = ucs_list_head(&stager->ops, uct_tcp_zc_gpu_stage_op_t, list);
        if ((op->finished != op->issued) ||
            ((op->issued != op->length) && (op->status == UCS_OK))) {
            break;
        }

        ucs_list_del(&op->list);
        stager->counters.batches++;
        if (op->status == UCS_OK) {
            stager->counters.bytes += op->length;
        } else {
            stager->counters.errors++;
        }
        op->comp_cb(op->arg, op->status);
        ++count;
    }

    return count;
}

static void uct_tcp_zc_gpu_chunk_free(uct_tcp_zc_gpu_chunk_t *chunk)
{
    chunk->op->finished += chunk->length;
    chunk->state         = UCT_TCP_ZC_GPU_CHUNK_FREE;
    chunk->op            = NULL;
}

/* Send the chunks whose copies completed, in order */
static unsigned uct_tcp_zc_gpu_stager_send(uct_tcp_zc_gpu_stager_t *stager)
{
    const uct_tcp_zc_cuda_t *cu = stager->dev->cu;
    unsigned count              = 0;
    char errbuf[128];
    uct_tcp_zc_gpu_chunk_t *chunk;
    uct_tcp_zc_gpu_stage_op_t *op;
    uct_tcp_zc_cu_result_t result;
    ucs_status_t status;
    unsigned index;

    for (;;) {
        index = stager->send_idx;
        chunk = &stager->chunks[index];
        if (chunk->state == UCT_TCP_ZC_GPU_CHUNK_COPYING) {
            result = cu->event_query(chunk->event);
            if (result == UCT_TCP_ZC_CU_ERROR_NOT_READY) {
                break;
            } else if (result != UCT_TCP_ZC_CU_SUCCESS) {
                ucs_error("tcp_zc: GPU %d: staging copy failed: %s",
                          stager->dev->ordinal,
                          uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                                  sizeof(errbuf)));
                uct_tcp_zc_gpu_stage_fail(chunk->op,
                                          uct_tcp_zc_cuda_status(result));
            }
            chunk->state = UCT_TCP_ZC_GPU_CHUNK_READY;
        }

        if (chunk->state != UCT_TCP_ZC_GPU_CHUNK_READY) {
            break;
        }

        op = chunk->op;
        if (op->status == UCS_OK) {
            status = op->send_cb(op->arg,
                                 stager->buffer + index * stager->chunk_size,
                                 chunk->length, chunk->offset, index);
            if (status == UCS_ERR_NO_RESOURCE) {
                break;
            } else if (status == UCS_INPROGRESS) {
                chunk->state = UCT_TCP_ZC_GPU_CHUNK_SENDING;
            } else {
                uct_tcp_zc_gpu_stage_fail(op, status);
                uct_tcp_zc_gpu_chunk_free(chunk);
            }
        } else {
            uct_tcp_zc_gpu_chunk_free(chunk);
        }

        stager->send_idx = (index + 1) % stager->num_chunks;
        ++count;
    }

    return count;
}

/* Fill free chunks from the operations' sources */
static void uct_tcp_zc_gpu_stager_issue(uct_tcp_zc_gpu_stager_t *stager)
{
    const uct_tcp_zc_cuda_t *cu = stager->dev->cu;
    char errbuf[128];
    uct_tcp_zc_gpu_chunk_t *chunk;
    uct_tcp_zc_gpu_stage_op_t *op;
    uct_tcp_zc_cu_result_t result;
    int pushed = 0;
    size_t length;

    ucs_list_for_each(op, &stager->ops, list) {
        while ((op->status == UCS_OK) && (op->issued < op->length)) {
            chunk = &stager->chunks[stager->copy_idx];
            if (chunk->state != UCT_TCP_ZC_GPU_CHUNK_FREE) {
                goto out;
            }

            if (!pushed) {
                if (uct_tcp_zc_gpu_dev_push(stager->dev) != UCS_OK) {
                    uct_tcp_zc_gpu_stage_fail(op, UCS_ERR_IO_ERROR);
                    break;
                }
                pushed = 1;
            }

            length = ucs_min(stager->chunk_size, op->length - op->issued);
            result = cu->memcpy_dtoh_async(stager->buffer + stager->copy_idx *
                                                   stager->chunk_size,
                                           op->src + op->issued, length,
                                           stager->stream);
            if (result == UCT_TCP_ZC_CU_SUCCESS) {
                result = cu->event_record(chunk->event, stager->stream);
            }
            if (result != UCT_TCP_ZC_CU_SUCCESS) {
                ucs_error("tcp_zc: GPU %d: issuing a staging copy: %s",
                          stager->dev->ordinal,
                          uct_tcp_zc_gpu_strerror(cu, result, errbuf,
                                                  sizeof(errbuf)));
                /* the chunk stays free: a copy issued before the failed
                 * event record completes before the chunk's next use,
                 * which is ordered after it on the stream */
                uct_tcp_zc_gpu_stage_fail(op, uct_tcp_zc_cuda_status(result));
                break;
            }

            stager->counters.copies++;
            chunk->state  = UCT_TCP_ZC_GPU_CHUNK_COPYING;
            chunk->op     = op;
            chunk->offset = op->issued;
            chunk->length = length;
            op->issued   += length;
            stager->copy_idx = (stager->copy_idx + 1) % stager->num_chunks;
        }
    }

out:
    if (pushed) {
        uct_tcp_zc_gpu_dev_pop(stager->dev);
    }
}

unsigned uct_tcp_zc_gpu_stager_progress(uct_tcp_zc_gpu_stager_t *stager)
{
    unsigned count;

    count  = uct_tcp_zc_gpu_stager_send(stager);
    uct_tcp_zc_gpu_stager_issue(stager);
    count += uct_tcp_zc_gpu_stager_complete(stager);
    return count;
}

void uct_tcp_zc_gpu_stage(uct_tcp_zc_gpu_stager_t *stager,
                          uct_tcp_zc_gpu_stage_op_t *op, const void *src,
                          size_t length, uct_tcp_zc_gpu_send_cb_t send_cb,
                          uct_tcp_zc_gpu_comp_cb_t comp_cb, void *arg)
{
    op->src      = (uintptr_t)src;
    op->length   = length;
    op->issued   = 0;
    op->finished = 0;
    op->status   = UCS_OK;
    op->send_cb  = send_cb;
    op->comp_cb  = comp_cb;
    op->arg      = arg;
    ucs_list_add_tail(&stager->ops, &op->list);
    uct_tcp_zc_gpu_stager_issue(stager);
}

void uct_tcp_zc_gpu_stager_chunk_done(uct_tcp_zc_gpu_stager_t *stager,
                                      unsigned chunk, ucs_status_t status)
{
    uct_tcp_zc_gpu_chunk_t *c = &stager->chunks[chunk];

    ucs_assert(c->state == UCT_TCP_ZC_GPU_CHUNK_SENDING);
    if (status != UCS_OK) {
        uct_tcp_zc_gpu_stage_fail(c->op, status);
    }
    uct_tcp_zc_gpu_chunk_free(c);
}

void uct_tcp_zc_gpu_stager_cleanup(uct_tcp_zc_gpu_stager_t *stager)
{
    const uct_tcp_zc_cuda_t *cu = stager->dev->cu;
    uct_tcp_zc_gpu_stage_op_t *op;
    ucs_status_t push_status;
    unsigned i;

    push_status = uct_tcp_zc_gpu_dev_push(stager->dev);
    cu->stream_synchronize(stager->stream);

    while (!ucs_list_is_empty(&stager->ops)) {
        op = ucs_list_extract_head(&stager->ops, uct_tcp_zc_gpu_stage_op_t,
                                   list);
        op->comp_cb(op->arg, (op->status != UCS_OK) ? op->status :
                                                      UCS_ERR_CANCELED);
    }

    for (i = 0; i < stager->num_chunks; ++i) {
        cu->event_destroy(stager->chunks[i].event);
    }
    cu->stream_destroy(stager->stream);
    cu->mem_free_host(stager->buffer);
    if (push_status == UCS_OK) {
        uct_tcp_zc_gpu_dev_pop(stager->dev);
    }
    ucs_free(stager->chunks);
}
