/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include <ucs/config/global_opts.h>
#include <ucs/debug/log_def.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <sys/types.h>


/*
 * The few libucs and module symbols which the sources under test reference,
 * so that a fuzz target links without libucs (whose constructor would
 * install signal handlers over the sanitizers' ones). Logging is off: the
 * zero-initialized global options have log level FATAL, so the parsers'
 * error lines are formatted only if FUZZ_LOG is set.
 */


ucs_global_opts_t ucs_global_opts;


static void __attribute__((constructor)) fuzz_stubs_init(void)
{
    if (getenv("FUZZ_LOG") != NULL) {
        ucs_global_opts.log_component.log_level = UCS_LOG_LEVEL_TRACE;
    }
}

void ucs_log_dispatch(const char *file, unsigned line, const char *function,
                      ucs_log_level_t level,
                      ucs_log_component_config_t *comp_conf,
                      const char *format, ...)
{
    char buf[1024];
    va_list ap;

    /* format every message: a bad format argument is a finding too */
    va_start(ap, format);
    vsnprintf(buf, sizeof(buf), format, ap);
    va_end(ap);
    fprintf(stderr, "[%s:%u] %s\n", file, line, buf);
}

const char *ucs_status_string(ucs_status_t status)
{
    static char buf[32];

    snprintf(buf, sizeof(buf), "status %d", (int)status);
    return buf;
}

/* sending is not under test (tcp_zc_conn.c) */
ssize_t uct_tcp_zc_socket_sendv(int fd, const struct iovec *iov,
                                unsigned iovcnt, int flags);

ssize_t uct_tcp_zc_socket_sendv(int fd, const struct iovec *iov,
                                unsigned iovcnt, int flags)
{
    abort();
}
