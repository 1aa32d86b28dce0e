/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef TCP_ZC_CUDA_STUB_H
#define TCP_ZC_CUDA_STUB_H

/*
 * A stand-in CUDA driver for the tests (libtcpzc_cuda_stub.so): the entry
 * points of src/uct/tcp_zc/tcp_zc_cuda.h over host memory. Device pointers
 * are host pointers into memfd mappings; copies and event records queue on
 * their stream and run when an event is queried the Nth time, or the stream
 * or event is synchronized, so the callers' asynchrony is exercised.
 * cuMemGetHandleForAddressRange makes a real dmabuf with /dev/udmabuf where
 * it is accessible, and fails with CUDA_ERROR_NOT_SUPPORTED elsewhere, as the
 * driver does without dmabuf support.
 *
 * Environment, read at every cuInit:
 *   TCP_ZC_CUDA_STUB_DEVICES       number of GPUs (1)
 *   TCP_ZC_CUDA_STUB_BUS_IDS       their PCI bus ids, comma separated
 *                                  ("0000:00:00.0" for each)
 *   TCP_ZC_CUDA_STUB_DMABUF        CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED (1)
 *   TCP_ZC_CUDA_STUB_POLLS         queries of an event until its work runs (3)
 *   TCP_ZC_CUDA_STUB_INIT_ERROR    result of cuInit (0)
 *   TCP_ZC_CUDA_STUB_FAIL_ENQUEUE  the Nth asynchronous copy call fails with
 *                                  CUDA_ERROR_INVALID_VALUE (0: none)
 *   TCP_ZC_CUDA_STUB_FAIL_COPY     the Nth asynchronous copy faults when it
 *                                  runs: CUDA_ERROR_ILLEGAL_ADDRESS, sticky
 *                                  as in the real driver (0: none)
 */

#define TCP_ZC_CUDA_STUB_LIB_NAME "libtcpzc_cuda_stub.so"


typedef struct tcp_zc_cuda_stub_stats {
    unsigned long inits;
    unsigned long device_allocs;   /* live cuMemAlloc allocations */
    unsigned long host_allocs;     /* live cuMemHostAlloc allocations */
    unsigned long streams;         /* live streams */
    unsigned long events;          /* live events */
    unsigned long ctx_retained;    /* primary context references */
    unsigned long ctx_pushed;      /* contexts pushed and not popped */
    unsigned long copies_enqueued; /* asynchronous copy calls accepted */
    unsigned long copies_run;      /* asynchronous copies executed */
    unsigned long bytes_run;
    unsigned long pending_ops;     /* queued on all streams, not yet run */
    unsigned long dmabufs;         /* dmabufs exported */
} tcp_zc_cuda_stub_stats_t;


/* Exported by the stand-in: its counters */
typedef void (*tcp_zc_cuda_stub_stats_func_t)(tcp_zc_cuda_stub_stats_t *stats);
#define TCP_ZC_CUDA_STUB_STATS_SYM "tcp_zc_cuda_stub_stats"

#endif
