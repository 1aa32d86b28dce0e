/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_GPU_H
#define UCT_TCP_ZC_GPU_H

#include "tcp_zc_cuda.h"

#include <ucs/datastruct/queue_types.h>
#include <ucs/datastruct/list.h>
#include <ucs/sys/topo/base/topo.h>
#include <stdint.h>


/*
 * GPU memory of tcp_zc's devmem data path, over the CUDA driver of
 * tcp_zc_cuda.h:
 *  - a device: a GPU chosen by number or as the nearest one to the NIC, with
 *    its primary context retained;
 *  - a receive pool: GPU memory exported as a dmabuf, which the devmem code
 *    binds to the NIC's RX queue(s) (the pool gives a dmabuf fd and a size);
 *  - a gather engine: copies received devmem fragments (offsets into the
 *    pool) and LINEAR bytes into a destination, asynchronously on its own
 *    stream; the fragments' tokens go back (through a callback) only once the
 *    copies which read them completed, checked from progress with
 *    cuEventQuery, never blocking;
 *  - a stager: sends from GPU memory through a pinned host bounce buffer in
 *    chunks (device-to-host copy, then a send callback), pipelined.
 * Every function is called from one thread (the iface's progress).
 */


/* Device: a GPU and its retained primary context */
typedef struct uct_tcp_zc_gpu_dev {
    const uct_tcp_zc_cuda_t *cu;
    uct_tcp_zc_cu_device_t  device;
    int                     ordinal;
    uct_tcp_zc_cu_context_t ctx;
    int                     dmabuf_supported; /* DMA_BUF_SUPPORTED attribute */
} uct_tcp_zc_gpu_dev_t;


/* Choose the GPU nearest to the NIC */
#define UCT_TCP_ZC_GPU_NEAREST (-1)


/**
 * Index of the nearest device: highest bandwidth, then lowest latency, then
 * lowest index.
 */
unsigned uct_tcp_zc_gpu_nearest(const ucs_sys_dev_distance_t *distances,
                                unsigned count);


/**
 * Choose a GPU for a NIC.
 *
 * @param [in]  cu         Driver.
 * @param [in]  nic        System device of the NIC (UCS_SYS_DEVICE_ID_UNKNOWN
 *                         when unknown: the first GPU).
 * @param [in]  requested  GPU number (UCX_TCP_ZC_DEVMEM_GPU), or
 *                         UCT_TCP_ZC_GPU_NEAREST.
 * @param [out] ordinal_p  The GPU.
 * @param [out] reason     How it was chosen, or why none.
 */
ucs_status_t uct_tcp_zc_gpu_select(const uct_tcp_zc_cuda_t *cu,
                                   ucs_sys_device_t nic, int requested,
                                   int *ordinal_p, char *reason, size_t max);


/* Open a GPU: retain its primary context, read its dmabuf attribute */
ucs_status_t uct_tcp_zc_gpu_dev_open(const uct_tcp_zc_cuda_t *cu, int ordinal,
                                     uct_tcp_zc_gpu_dev_t *dev, char *reason,
                                     size_t max);

void uct_tcp_zc_gpu_dev_close(uct_tcp_zc_gpu_dev_t *dev);


/* Make the device's context current on this thread, and undo */
ucs_status_t uct_tcp_zc_gpu_dev_push(const uct_tcp_zc_gpu_dev_t *dev);

void uct_tcp_zc_gpu_dev_pop(const uct_tcp_zc_gpu_dev_t *dev);


/* Whether an address is GPU memory (not host or pinned host memory) */
int uct_tcp_zc_gpu_is_device_ptr(const uct_tcp_zc_cuda_t *cu,
                                 const void *address);


/* Receive pool: GPU memory exported as a dmabuf */
typedef struct uct_tcp_zc_gpu_pool {
    uct_tcp_zc_gpu_dev_t      *dev;
    uct_tcp_zc_cu_deviceptr_t base;
    size_t                    size;
    int                       dmabuf_fd; /* owned by the pool */
} uct_tcp_zc_gpu_pool_t;


/**
 * Allocate a receive pool on a device and export it as a dmabuf
 * (cuMemGetHandleForAddressRange, CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD).
 * The size is rounded up to the host page size.
 *
 * @return UCS_OK; UCS_ERR_UNSUPPORTED where the GPU or its driver cannot
 *         export dmabufs (attribute 0, proprietary kernel modules), with the
 *         reason; UCS_ERR_NO_MEMORY; UCS_ERR_IO_ERROR.
 */
ucs_status_t uct_tcp_zc_gpu_pool_create(uct_tcp_zc_gpu_dev_t *dev, size_t size,
                                        uct_tcp_zc_gpu_pool_t *pool,
                                        char *reason, size_t max);

void uct_tcp_zc_gpu_pool_destroy(uct_tcp_zc_gpu_pool_t *pool);


/*
 * Gather
 */

/* A received fragment: bytes of the pool (DMABUF) or host bytes (LINEAR) */
typedef struct uct_tcp_zc_gpu_frag {
    const void *linear; /* LINEAR: the bytes; NULL: a pool fragment */
    uint64_t   offset;  /* pool fragment: offset in the pool */
    uint32_t   length;
    uint32_t   token;   /* pool fragment: token to return */
} uct_tcp_zc_gpu_frag_t;


typedef enum {
    UCT_TCP_ZC_GPU_COPY_DTOD, /* pool -> GPU destination */
    UCT_TCP_ZC_GPU_COPY_HTOD, /* LINEAR bytes -> GPU destination */
    UCT_TCP_ZC_GPU_COPY_DTOH, /* pool -> host destination */
    UCT_TCP_ZC_GPU_COPY_HTOH  /* LINEAR bytes -> host destination (memcpy) */
} uct_tcp_zc_gpu_copy_kind_t;


typedef struct uct_tcp_zc_gpu_copy {
    uct_tcp_zc_gpu_copy_kind_t kind;
    uintptr_t                  dst;
    uintptr_t                  src;
    size_t                     length;
} uct_tcp_zc_gpu_copy_t;


/**
 * The copies of a batch of fragments placed one after the other at dst: one
 * copy per run of fragments contiguous in their source and of the same kind.
 * Pure: no driver call.
 *
 * @param [out] copies      At least @a count entries.
 * @param [out] num_copies  Copies filled.
 * @param [out] tokens      At least @a count entries: tokens of the pool
 *                          fragments.
 * @param [out] num_tokens  Tokens filled.
 * @param [out] length_p    Bytes in all.
 *
 * @return UCS_ERR_INVALID_PARAM if a fragment lies outside the pool or is
 *         empty.
 */
ucs_status_t uct_tcp_zc_gpu_gather_plan(const uct_tcp_zc_gpu_frag_t *frags,
                                        unsigned count, uintptr_t pool_base,
                                        size_t pool_size, uintptr_t dst,
                                        int dst_is_gpu,
                                        uct_tcp_zc_gpu_copy_t *copies,
                                        unsigned *num_copies, uint32_t *tokens,
                                        unsigned *num_tokens, size_t *length_p);


/* Tokens whose bytes were copied: the devmem code returns them to the kernel */
typedef void (*uct_tcp_zc_gpu_release_cb_t)(void *arg, const uint32_t *tokens,
                                            unsigned count);

/* A batch (gather) or an operation (stager) completed */
typedef void (*uct_tcp_zc_gpu_comp_cb_t)(void *arg, ucs_status_t status);


typedef struct uct_tcp_zc_gpu_counters {
    uint64_t batches;         /* gathers or staged operations completed */
    uint64_t copies;          /* copies issued */
    uint64_t bytes;           /* bytes copied */
    uint64_t tokens_released; /* tokens given to the release callback */
    uint64_t errors;          /* batches, operations completed with an error */
} uct_tcp_zc_gpu_counters_t;


typedef struct uct_tcp_zc_gpu_engine {
    uct_tcp_zc_gpu_dev_t        *dev;
    uct_tcp_zc_cu_stream_t      stream;
    uintptr_t                   pool_base;
    size_t                      pool_size;
    uct_tcp_zc_gpu_release_cb_t release_cb;
    void                        *release_arg;
    ucs_queue_head_t            inflight;   /* batches, in stream order */
    unsigned                    num_inflight;
    unsigned                    max_inflight;
    uct_tcp_zc_cu_event_t       *free_events;
    unsigned                    num_free_events;
    uct_tcp_zc_gpu_counters_t   counters;
} uct_tcp_zc_gpu_engine_t;


/**
 * Create a gather engine with its own stream on a device.
 *
 * @param [in] pool          Pool the fragments come from (NULL: LINEAR bytes
 *                           only, e.g. a GPU destination of a connection
 *                           without devmem).
 * @param [in] max_inflight  Batches in flight at most.
 * @param [in] release_cb    Receives the tokens of completed batches.
 */
ucs_status_t uct_tcp_zc_gpu_engine_init(uct_tcp_zc_gpu_engine_t *engine,
                                        uct_tcp_zc_gpu_dev_t *dev,
                                        const uct_tcp_zc_gpu_pool_t *pool,
                                        unsigned max_inflight,
                                        uct_tcp_zc_gpu_release_cb_t release_cb,
                                        void *release_arg);

/* Waits for the copies in flight, completes their batches, frees all */
void uct_tcp_zc_gpu_engine_cleanup(uct_tcp_zc_gpu_engine_t *engine);


/**
 * Copy a batch of fragments, one after the other, to dst.
 *
 * LINEAR bytes in pageable host memory may be reused when the call returns
 * (the driver reads them before returning, as CUDA does for pageable
 * memory); pool fragments are read asynchronously.
 *
 * @return UCS_INPROGRESS: from progress, the tokens go to the release
 *         callback once the copies completed, then comp_cb(arg, status).
 *         Otherwise (UCS_ERR_NO_RESOURCE when max_inflight batches are in
 *         flight, or an error) nothing of the batch is in flight, no callback
 *         follows, and the tokens stay the caller's.
 */
ucs_status_t uct_tcp_zc_gpu_gather(uct_tcp_zc_gpu_engine_t *engine,
                                   const uct_tcp_zc_gpu_frag_t *frags,
                                   unsigned count, void *dst, int dst_is_gpu,
                                   uct_tcp_zc_gpu_comp_cb_t comp_cb,
                                   void *arg);

/* Complete batches whose copies are done, without blocking; returns how many */
unsigned uct_tcp_zc_gpu_engine_progress(uct_tcp_zc_gpu_engine_t *engine);


/*
 * Staging: GPU source -> pinned host chunk -> send callback
 */

/**
 * Send a staged chunk. Returns UCS_OK when the chunk may be reused (bytes
 * sent by copy), UCS_INPROGRESS when the chunk is held until
 * uct_tcp_zc_gpu_stager_chunk_done(chunk) (a zero-copy send), or
 * UCS_ERR_NO_RESOURCE to be called again from progress; another error fails
 * the operation.
 */
typedef ucs_status_t (*uct_tcp_zc_gpu_send_cb_t)(void *arg, const void *buf,
                                                 size_t length, size_t offset,
                                                 unsigned chunk);


/* A staged send, storage of the caller's until its comp_cb */
typedef struct uct_tcp_zc_gpu_stage_op {
    ucs_list_link_t          list;
    uintptr_t                src;
    size_t                   length;
    size_t                   issued;   /* bytes whose copy was issued */
    size_t                   finished; /* of them: sent, or dropped */
    ucs_status_t             status;
    uct_tcp_zc_gpu_send_cb_t send_cb;
    uct_tcp_zc_gpu_comp_cb_t comp_cb;
    void                     *arg;
} uct_tcp_zc_gpu_stage_op_t;


typedef enum {
    UCT_TCP_ZC_GPU_CHUNK_FREE,
    UCT_TCP_ZC_GPU_CHUNK_COPYING, /* device-to-host copy in flight */
    UCT_TCP_ZC_GPU_CHUNK_READY,   /* bytes in the chunk, not sent yet */
    UCT_TCP_ZC_GPU_CHUNK_SENDING  /* held by a zero-copy send */
} uct_tcp_zc_gpu_chunk_state_t;


typedef struct uct_tcp_zc_gpu_chunk {
    uct_tcp_zc_gpu_chunk_state_t state;
    uct_tcp_zc_cu_event_t        event;
    uct_tcp_zc_gpu_stage_op_t    *op;
    size_t                       offset; /* in the operation */
    size_t                       length;
} uct_tcp_zc_gpu_chunk_t;


typedef struct uct_tcp_zc_gpu_stager {
    uct_tcp_zc_gpu_dev_t      *dev;
    uct_tcp_zc_cu_stream_t    stream;
    char                      *buffer; /* pinned host memory */
    size_t                    chunk_size;
    unsigned                  num_chunks;
    uct_tcp_zc_gpu_chunk_t    *chunks; /* a ring */
    unsigned                  copy_idx; /* next chunk to fill */
    unsigned                  send_idx; /* next chunk to send */
    ucs_list_link_t           ops;
    uct_tcp_zc_gpu_counters_t counters;
} uct_tcp_zc_gpu_stager_t;


ucs_status_t uct_tcp_zc_gpu_stager_init(uct_tcp_zc_gpu_stager_t *stager,
                                        uct_tcp_zc_gpu_dev_t *dev,
                                        size_t chunk_size, unsigned num_chunks);

/* Waits for the copies in flight; operations not completed are canceled */
void uct_tcp_zc_gpu_stager_cleanup(uct_tcp_zc_gpu_stager_t *stager);


/**
 * Stage and send length bytes of GPU memory at src, in order, by chunks.
 * Always accepted: comp_cb(arg, status) follows from progress, status UCS_OK
 * once every chunk was sent, or the first error (a copy or a send failed).
 */
void uct_tcp_zc_gpu_stage(uct_tcp_zc_gpu_stager_t *stager,
                          uct_tcp_zc_gpu_stage_op_t *op, const void *src,
                          size_t length, uct_tcp_zc_gpu_send_cb_t send_cb,
                          uct_tcp_zc_gpu_comp_cb_t comp_cb, void *arg);

/* A chunk held by a send (UCS_INPROGRESS) may be reused; the send's status
 * (an error fails the operation) */
void uct_tcp_zc_gpu_stager_chunk_done(uct_tcp_zc_gpu_stager_t *stager,
                                      unsigned chunk, ucs_status_t status);

/* Advance copies, sends and completions without blocking; returns events */
unsigned uct_tcp_zc_gpu_stager_progress(uct_tcp_zc_gpu_stager_t *stager);

#endif
