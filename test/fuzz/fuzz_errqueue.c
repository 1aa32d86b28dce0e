/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include <uct/tcp_zc/tcp_zc_tx.h>
#include <uct/tcp_zc/tcp_zc_uapi.h>

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/*
 * Fuzz target: uct_tcp_zc_errqueue_parse(), the parser of a message read from
 * a socket's error queue.
 *
 * Input: byte 0 selects msg_flags (bit 0: MSG_CTRUNC, bit 1: MSG_ERRQUEUE),
 * the other bytes are the control buffer, as recvmsg() fills it (struct
 * cmsghdr, then struct sock_extended_err), in a heap block of exactly that
 * size, so that AddressSanitizer sees any read beyond it. The result is
 * checked against a reference decoding of the same bytes.
 */


#define FUZZ_CHECK(_cond, ...) \
    do { \
        if (!(_cond)) { \
            fprintf(stderr, "fuzz_errqueue: check failed: %s: ", #_cond); \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)


/* The expected result, decoded from the bytes with memcpy only */
static ucs_status_t fuzz_errqueue_expect(const uint8_t *control, size_t len,
                                         int flags,
                                         uct_tcp_zc_zc_notif_t *notif)
{
    struct sock_extended_err serr;
    struct cmsghdr cmsg;

    if (flags & MSG_CTRUNC) {
        return UCS_ERR_INVALID_PARAM;
    }

    if (len < sizeof(cmsg)) {
        return UCS_ERR_INVALID_PARAM;
    }

    memcpy(&cmsg, control, sizeof(cmsg));
    if (!((cmsg.cmsg_level == SOL_IP) && (cmsg.cmsg_type == IP_RECVERR)) &&
        !((cmsg.cmsg_level == SOL_IPV6) &&
          (cmsg.cmsg_type == IPV6_RECVERR))) {
        return UCS_ERR_NO_ELEM;
    }

    /* shorter than an extended error, or longer than the buffer */
    if ((cmsg.cmsg_len < CMSG_LEN(sizeof(serr))) || (cmsg.cmsg_len > len)) {
        return UCS_ERR_INVALID_PARAM;
    }

    memcpy(&serr, control + CMSG_LEN(0), sizeof(serr));
    if ((serr.ee_origin != SO_EE_ORIGIN_ZEROCOPY) || (serr.ee_errno != 0)) {
        return UCS_ERR_NO_ELEM;
    }

    notif->lo     = serr.ee_info;
    notif->hi     = serr.ee_data;
    notif->copied = !!(serr.ee_code & SO_EE_CODE_ZEROCOPY_COPIED);
    return UCS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uct_tcp_zc_zc_notif_t notif, expected;
    ucs_status_t status, expected_status;
    struct msghdr msg;
    uint8_t *control;
    size_t len;
    int flags;

    if (size < 1) {
        return 0;
    }

    flags = ((data[0] & 1) ? MSG_CTRUNC : 0) |
            ((data[0] & 2) ? MSG_ERRQUEUE : 0);
    len   = size - 1;

    /* recvmsg() leaves the control buffer of the caller, which is aligned
     * for struct cmsghdr; malloc() of exactly len bytes is, too */
    control = (len > 0) ? malloc(len) : NULL;
    if (len > 0) {
        FUZZ_CHECK(control != NULL, "out of memory");
        memcpy(control, data + 1, len);
    }

    memset(&msg, 0, sizeof(msg));
    msg.msg_control    = control;
    msg.msg_controllen = len;
    msg.msg_flags      = flags;

    memset(&notif, 0xa5, sizeof(notif));
    memset(&expected, 0x5a, sizeof(expected));
    status          = uct_tcp_zc_errqueue_parse(&msg, &notif);
    expected_status = fuzz_errqueue_expect(data + 1, len, flags, &expected);

    FUZZ_CHECK(status == expected_status, "parse returned %d, expected %d",
               status, expected_status);
    if (status == UCS_OK) {
        FUZZ_CHECK((notif.lo == expected.lo) && (notif.hi == expected.hi) &&
                   (notif.copied == expected.copied),
                   "notification [%u, %u] copied %d, expected [%u, %u] "
                   "copied %d", notif.lo, notif.hi, notif.copied, expected.lo,
                   expected.hi, expected.copied);
    }

    /* the parser only reads its input */
    FUZZ_CHECK((msg.msg_control == control) && (msg.msg_controllen == len) &&
               (msg.msg_flags == flags), "msghdr changed");
    FUZZ_CHECK((len == 0) || (memcmp(control, data + 1, len) == 0),
               "control buffer changed");

    free(control);
    return 0;
}
