/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include <uct/tcp_zc/tcp_zc_rx.h>
#include <uct/api/uct_def.h>

#include <sanitizer/asan_interface.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/*
 * Fuzz target: the receive-side wire parser (tcp_zc_rx.h), over an arbitrary
 * byte stream from the peer, on the accepted side (the peer's hello
 * connects) or the connecting side (the peer's hello answers ours); after
 * the hello both sides take requests and answers.
 *
 * The stream is parsed twice: (A) from one buffer which holds all of it, and
 * (B) as the socket code does: a receive buffer of a header, an RMA header
 * and max_am bytes (at least a hello), filled in pieces of pseudo-random
 * sizes, the data of a PUT or GET response read straight to its destination
 * once the buffer is empty. Every call is checked against the parser's
 * contract:
 *  - consumed never exceeds the bytes given; "need more" consumes nothing
 *    and changes nothing; any other event consumes bytes, except the last
 *    (empty) data event of a message without data;
 *  - an error consumes nothing, names the field, and the parser stays in
 *    the error state whatever it is given; so it does after the end of the
 *    stream (a refusing hello, a hello of another version), where it never
 *    asks for more;
 *  - every item it accepts is, by an independent decoding of its bytes
 *    (fuzz_rx_ref, from the documented layout, not the parser's code), valid
 *    and of the event reported: the peer's hello first and only first, with
 *    the status and flags of its side, or a hello of another version after
 *    its magic and version byte; then requests (active message, PUT, GET
 *    request, keepalive, endpoint closed; none after the endpoint closed)
 *    and answers (PUT acknowledgement, GET response, RMA error); the
 *    announcement of the peer's data connection, once and only to a side
 *    with a data port, before any PUT or GET response whose data come
 *    there (which the harness takes as the socket code would, while the
 *    parser waits); am_id < UCT_AM_ID_MAX, lengths within bounds, flags of
 *    each type and reserved fields zero, the data of a message sum up to
 *    its length, no more requests without an answer than the limit; and
 *    what it rejects is invalid by that decoding;
 *  - both runs give the same items at the same stream offsets and end at the
 *    same offset, with the same error if any: the result does not depend on
 *    how the stream was split.
 *
 * Input: byte 0: bit 0 accepted side, bits 1-3 max_am (see fuzz_rx_max_am),
 * bits 4-6 all set: the stream follows a hello which accepts the connection
 * and the allowed number of GET requests less 1 + bit 7, not answered, so
 * that the request limit is in reach; bytes 1-4: seed of the piece sizes,
 * whose bit 31 gives this side a data port;
 * bytes 5-8: answers the socket code sends after each request (2 bits per
 * request, in turn); then the stream.
 */


/* The harness is not instrumented for coverage: the parser is */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), \
                             apply_to = function)


#define FUZZ_RX_CFG_LEN    9
#define FUZZ_RX_MAX_ITEMS  (1u << 14)

/* The wire layout, as the protocol defines it (host byte order) */
#define FUZZ_RX_HELLO_LEN          40 /* magic 0, version 8, status 9,
                                         flags 10, family 11, port 12,
                                         data port 14, conn_id 16,
                                         addr 24 */
#define FUZZ_RX_HELLO_PREFIX_LEN   9  /* magic and version: every version */
#define FUZZ_RX_HDR_LEN            8  /* type 0, am_id 1, version 2,
                                         flags 3, length 4 */
#define FUZZ_RX_RMA_LEN            (FUZZ_RX_HDR_LEN + 24) /* address, key,
                                                             length */
#define FUZZ_RX_DC_LEN             (FUZZ_RX_HDR_LEN + 8) /* port, reserved */
#define FUZZ_RX_HELLO_FLAG_TO_EP   1
#define FUZZ_RX_HDR_FLAG_DATA_CONN 1 /* PUT, GET_RESP */
#define FUZZ_RX_HDR_FLAG_DEV_DEST  2 /* GET_REQ */

/* Hello status on the wire */
enum {
    FUZZ_RX_HELLO_CONNECT        = 0,
    FUZZ_RX_HELLO_ACCEPT         = 1,
    FUZZ_RX_HELLO_REJECT_SIMULT  = 2,
    FUZZ_RX_HELLO_REJECT_VERSION = 3
};

/* Message types on the wire */
enum {
    FUZZ_RX_MSG_AM        = 1,
    FUZZ_RX_MSG_PUT       = 2,
    FUZZ_RX_MSG_PUT_ACK   = 3,
    FUZZ_RX_MSG_GET_REQ   = 4,
    FUZZ_RX_MSG_GET_RESP  = 5,
    FUZZ_RX_MSG_KEEPALIVE = 6,
    FUZZ_RX_MSG_RMA_ERROR = 7,
    FUZZ_RX_MSG_EP_CLOSED = 8,
    FUZZ_RX_MSG_DATA_CONN = 9
};

/* The parser's structures have that layout */
_Static_assert(sizeof(uct_tcp_zc_hello_t) == FUZZ_RX_HELLO_LEN, "hello");
_Static_assert(UCT_TCP_ZC_HELLO_PREFIX == FUZZ_RX_HELLO_PREFIX_LEN, "prefix");
_Static_assert(sizeof(uct_tcp_zc_hdr_t) == FUZZ_RX_HDR_LEN, "header");
_Static_assert(sizeof(uct_tcp_zc_hdr_t) + sizeof(uct_tcp_zc_rma_hdr_t) ==
               FUZZ_RX_RMA_LEN, "RMA header");
_Static_assert(sizeof(uct_tcp_zc_hdr_t) + sizeof(uct_tcp_zc_dc_hdr_t) ==
               FUZZ_RX_DC_LEN, "data connection header");


#define FUZZ_CHECK(_cond, ...) \
    do { \
        if (!(_cond)) { \
            fprintf(stderr, "fuzz_rx: check failed: %s: ", #_cond); \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)


static const size_t fuzz_rx_max_am[] = {0, 1, 16, 24, 64, 1000, 8192, 65536};


/* One item of the stream as the parser reported it */
typedef struct {
    uct_tcp_zc_rx_event_t event;  /* DATA: all data of one message */
    size_t                offset; /* in the stream */
    size_t                length; /* bytes of the stream */
    uct_tcp_zc_hdr_t      hdr;
    uct_tcp_zc_rma_hdr_t  rma;
    uct_tcp_zc_hello_t    hello;
    const char            *error;
} fuzz_rx_item_t;


typedef struct {
    /* configuration */
    int                   accepted;
    int                   data_port;   /* this side has one */
    size_t                max_am;
    const uint8_t         *stream;
    size_t                stream_len;
    const uint8_t         *answers; /* 4 bytes */

    /* the parser, and what the contract says about its state */
    uct_tcp_zc_rx_t       rx;
    unsigned              messages;    /* items other than data */
    int                   hello_done;  /* the peer's hello came */
    int                   ended;       /* the peer's stream ended: refused,
                                          or of another version */
    int                   peer_closed; /* no more requests from the peer */
    unsigned              owed;        /* requests without an answer */
    int                   in_data;     /* data of a message follow */
    int                   external;    /* ... on the data connection */
    int                   dc_announced; /* the peer's data connection */
    uint64_t              data_left;
    int                   rejected;
    const char            *error;
    size_t                pos;         /* stream offset of the next item */

    fuzz_rx_item_t        *items;
    unsigned              count;
    int                   primed;      /* rx holds the state of a preamble */
} fuzz_rx_run_t;


typedef enum {
    FUZZ_RX_REF_NEED,
    FUZZ_RX_REF_VALID,
    FUZZ_RX_REF_INVALID
} fuzz_rx_ref_t;


static fuzz_rx_item_t fuzz_rx_items[2][FUZZ_RX_MAX_ITEMS];


static uint64_t fuzz_rx_get(const uint8_t *buf, size_t offset, size_t size)
{
    uint64_t v8;
    uint32_t v4;
    uint16_t v2;

    switch (size) {
    case 1:
        return buf[offset];
    case 2:
        memcpy(&v2, buf + offset, sizeof(v2));
        return v2;
    case 4:
        memcpy(&v4, buf + offset, sizeof(v4));
        return v4;
    default:
        memcpy(&v8, buf + offset, sizeof(v8));
        return v8;
    }
}

/* Whether a complete hello of this version ends the stream: a refusal */
static int fuzz_rx_hello_ends(const uint8_t *buf)
{
    return (buf[9] != FUZZ_RX_HELLO_CONNECT) &&
           (buf[9] != FUZZ_RX_HELLO_ACCEPT);
}

/* The peer's hello, the first item of the stream */
static fuzz_rx_ref_t
fuzz_rx_ref_hello(const fuzz_rx_run_t *run, const uint8_t *buf, size_t length,
                  size_t *size_p, uct_tcp_zc_rx_event_t *event_p)
{
    unsigned status, flags, family;
    int status_ok, flags_ok;

    if (length < FUZZ_RX_HELLO_PREFIX_LEN) {
        return FUZZ_RX_REF_NEED;
    } else if (fuzz_rx_get(buf, 0, 8) != UCT_TCP_ZC_MAGIC) {
        return FUZZ_RX_REF_INVALID;
    } else if (buf[8] != UCT_TCP_ZC_VERSION) {
        /* told as soon as the version came, whatever comes after it */
        *size_p  = FUZZ_RX_HELLO_PREFIX_LEN;
        *event_p = UCT_TCP_ZC_RX_EV_VERSION;
        return FUZZ_RX_REF_VALID;
    } else if (length < FUZZ_RX_HELLO_LEN) {
        return FUZZ_RX_REF_NEED;
    }

    status = buf[9];
    flags  = buf[10];
    family = buf[11];
    if (run->accepted) {
        /* the connecting peer: its flags say what conn_id names */
        status_ok = (status == FUZZ_RX_HELLO_CONNECT);
        flags_ok  = (flags & ~FUZZ_RX_HELLO_FLAG_TO_EP) == 0;
    } else {
        /* the accepting peer's answer */
        status_ok = (status == FUZZ_RX_HELLO_ACCEPT) ||
                    (status == FUZZ_RX_HELLO_REJECT_SIMULT) ||
                    (status == FUZZ_RX_HELLO_REJECT_VERSION);
        flags_ok  = (flags == 0);
    }

    *size_p  = FUZZ_RX_HELLO_LEN;
    *event_p = UCT_TCP_ZC_RX_EV_HELLO;
    /* any data port */
    return (status_ok && flags_ok &&
            ((family == AF_INET) || (family == AF_INET6))) ?
                   FUZZ_RX_REF_VALID : FUZZ_RX_REF_INVALID;
}

/* A message without payload: header only, am_id 0, no flags */
static fuzz_rx_ref_t fuzz_rx_ref_empty(unsigned am_id, uint32_t hdr_length,
                                       unsigned flags, size_t *size_p,
                                       uct_tcp_zc_rx_event_t *event_p,
                                       uct_tcp_zc_rx_event_t event)
{
    *size_p  = FUZZ_RX_HDR_LEN;
    *event_p = event;
    return ((am_id == 0) && (hdr_length == 0) && (flags == 0)) ?
                   FUZZ_RX_REF_VALID : FUZZ_RX_REF_INVALID;
}

/* Whether the data of a PUT or GET response may come as flagged: on the
 * data connection only once it was announced, and only if there are any */
static int fuzz_rx_ref_data_flags(const fuzz_rx_run_t *run, unsigned flags,
                                  uint64_t length)
{
    if (flags & ~FUZZ_RX_HDR_FLAG_DATA_CONN) {
        return 0;
    }

    return !(flags & FUZZ_RX_HDR_FLAG_DATA_CONN) ||
           (run->dc_announced && (length > 0));
}

/*
 * Independent decoding of the item at the start of buf: whether it is
 * complete and valid (its size and the event it is), incomplete, or invalid
 * already.
 */
static fuzz_rx_ref_t fuzz_rx_ref(const fuzz_rx_run_t *run, const uint8_t *buf,
                                 size_t length, size_t *size_p,
                                 uct_tcp_zc_rx_event_t *event_p)
{
    uint64_t rma_address, rma_length;
    unsigned type, am_id, flags;
    uint32_t hdr_length;
    int get;

    if (run->ended) {
        /* nothing after the end of the stream */
        return FUZZ_RX_REF_INVALID;
    } else if (!run->hello_done) {
        return fuzz_rx_ref_hello(run, buf, length, size_p, event_p);
    } else if (length < FUZZ_RX_HDR_LEN) {
        return FUZZ_RX_REF_NEED;
    }

    type       = buf[0];
    am_id      = buf[1];
    flags      = buf[3];
    hdr_length = fuzz_rx_get(buf, 4, 4);
    if (buf[2] != UCT_TCP_ZC_VERSION) {
        return FUZZ_RX_REF_INVALID;
    }

    /* requests: none after the peer closed its endpoint */
    switch (type) {
    case FUZZ_RX_MSG_AM:
    case FUZZ_RX_MSG_PUT:
    case FUZZ_RX_MSG_GET_REQ:
    case FUZZ_RX_MSG_KEEPALIVE:
    case FUZZ_RX_MSG_EP_CLOSED:
        if (run->peer_closed) {
            return FUZZ_RX_REF_INVALID;
        }
        break;
    default:
        break;
    }

    switch (type) {
    case FUZZ_RX_MSG_AM:
        if ((am_id >= UCT_AM_ID_MAX) || (hdr_length > run->max_am) ||
            (flags != 0)) {
            return FUZZ_RX_REF_INVALID;
        } else if (length < FUZZ_RX_HDR_LEN + hdr_length) {
            return FUZZ_RX_REF_NEED;
        }

        *size_p  = FUZZ_RX_HDR_LEN + hdr_length;
        *event_p = UCT_TCP_ZC_RX_EV_AM;
        return FUZZ_RX_REF_VALID;
    case FUZZ_RX_MSG_KEEPALIVE:
        return fuzz_rx_ref_empty(am_id, hdr_length, flags, size_p, event_p,
                                 UCT_TCP_ZC_RX_EV_KEEPALIVE);
    case FUZZ_RX_MSG_EP_CLOSED:
        return fuzz_rx_ref_empty(am_id, hdr_length, flags, size_p, event_p,
                                 UCT_TCP_ZC_RX_EV_EP_CLOSED);
    case FUZZ_RX_MSG_DATA_CONN:
        /* also after the peer closed its endpoint: for its answers */
        if ((am_id != 0) || (hdr_length != 0) || (flags != 0) ||
            !run->data_port || run->dc_announced) {
            return FUZZ_RX_REF_INVALID;
        } else if (length < FUZZ_RX_DC_LEN) {
            return FUZZ_RX_REF_NEED;
        }

        *size_p  = FUZZ_RX_DC_LEN;
        *event_p = UCT_TCP_ZC_RX_EV_DATA_CONN;
        return ((fuzz_rx_get(buf, FUZZ_RX_HDR_LEN, 2) != 0) &&
                (fuzz_rx_get(buf, FUZZ_RX_HDR_LEN + 2, 2) == 0) &&
                (fuzz_rx_get(buf, FUZZ_RX_HDR_LEN + 4, 4) == 0)) ?
                       FUZZ_RX_REF_VALID : FUZZ_RX_REF_INVALID;
    case FUZZ_RX_MSG_PUT:
    case FUZZ_RX_MSG_GET_REQ:
        get = (type == FUZZ_RX_MSG_GET_REQ);
        if ((am_id != 0) || (run->owed >= UCT_TCP_ZC_RMA_OUTSTANDING_MAX) ||
            (get && (hdr_length != 0)) ||
            (hdr_length > UCT_TCP_ZC_RMA_MAX_LENGTH)) {
            return FUZZ_RX_REF_INVALID;
        } else if (length < FUZZ_RX_RMA_LEN) {
            return FUZZ_RX_REF_NEED;
        }

        rma_address = fuzz_rx_get(buf, FUZZ_RX_HDR_LEN, 8);
        rma_length  = fuzz_rx_get(buf, FUZZ_RX_HDR_LEN + 16, 8);
        *size_p     = FUZZ_RX_RMA_LEN;
        *event_p    = get ? UCT_TCP_ZC_RX_EV_GET_REQ : UCT_TCP_ZC_RX_EV_PUT;
        return ((rma_length <= UCT_TCP_ZC_RMA_MAX_LENGTH) &&
                (rma_address + rma_length >= rma_address) &&
                (get ? ((flags & ~FUZZ_RX_HDR_FLAG_DEV_DEST) == 0) :
                       ((rma_length == hdr_length) &&
                        fuzz_rx_ref_data_flags(run, flags, rma_length)))) ?
                       FUZZ_RX_REF_VALID : FUZZ_RX_REF_INVALID;
    case FUZZ_RX_MSG_PUT_ACK:
        return fuzz_rx_ref_empty(am_id, hdr_length, flags, size_p, event_p,
                                 UCT_TCP_ZC_RX_EV_PUT_ACK);
    case FUZZ_RX_MSG_RMA_ERROR:
        return fuzz_rx_ref_empty(am_id, hdr_length, flags, size_p, event_p,
                                 UCT_TCP_ZC_RX_EV_RMA_ERROR);
    case FUZZ_RX_MSG_GET_RESP:
        *size_p  = FUZZ_RX_HDR_LEN;
        *event_p = UCT_TCP_ZC_RX_EV_GET_RESP;
        return ((am_id == 0) && (hdr_length <= UCT_TCP_ZC_RMA_MAX_LENGTH) &&
                fuzz_rx_ref_data_flags(run, flags, hdr_length)) ?
                       FUZZ_RX_REF_VALID : FUZZ_RX_REF_INVALID;
    default:
        return FUZZ_RX_REF_INVALID;
    }
}

static void fuzz_rx_log(fuzz_rx_run_t *run, const fuzz_rx_item_t *item)
{
    fuzz_rx_item_t *last = (run->count > 0) ? &run->items[run->count - 1] :
                                              NULL;

    /* the data of one message, however it came in pieces */
    if ((item->event == UCT_TCP_ZC_RX_EV_DATA) && (last != NULL) &&
        (last->event == UCT_TCP_ZC_RX_EV_DATA) &&
        (last->hdr.type == 0)) {
        FUZZ_CHECK(last->offset + last->length == item->offset,
                   "data pieces at %zu+%zu and %zu", last->offset,
                   last->length, item->offset);
        last->length  += item->length;
        last->hdr.type = item->hdr.type;
        return;
    }

    FUZZ_CHECK(run->count < FUZZ_RX_MAX_ITEMS, "too many items");
    run->items[run->count++] = *item;
}

/* Account data of the current message: from the parser or read directly */
static void fuzz_rx_data(fuzz_rx_run_t *run, size_t length, int last)
{
    fuzz_rx_item_t item;

    FUZZ_CHECK(run->in_data, "data outside of a message");
    FUZZ_CHECK(length <= run->data_left, "%zu bytes of data, %lu left",
               length, (unsigned long)run->data_left);
    run->data_left -= length;
    FUZZ_CHECK(last == (run->data_left == 0),
               "last %d with %lu bytes left", last,
               (unsigned long)run->data_left);

    memset(&item, 0, sizeof(item));
    item.event    = UCT_TCP_ZC_RX_EV_DATA;
    item.offset   = run->pos;
    item.length   = length;
    /* marks the data of a message complete, for fuzz_rx_log */
    item.hdr.type = last;
    fuzz_rx_log(run, &item);

    run->pos += length;
    if (last) {
        run->in_data = 0;
    }

    FUZZ_CHECK(uct_tcp_zc_rx_data_left(&run->rx) == run->data_left,
               "data_left %lu, expected %lu",
               (unsigned long)uct_tcp_zc_rx_data_left(&run->rx),
               (unsigned long)run->data_left);
}

/* The socket code takes all data of the current message from the data
 * connection: none of them is in the stream */
static void fuzz_rx_external(fuzz_rx_run_t *run)
{
    fuzz_rx_item_t item;

    FUZZ_CHECK(run->in_data && run->external, "no data on the data "
               "connection");
    FUZZ_CHECK(uct_tcp_zc_rx_data_external(&run->rx) &&
               (uct_tcp_zc_rx_data_left(&run->rx) == run->data_left),
               "data_left %lu, expected %lu on the data connection",
               (unsigned long)uct_tcp_zc_rx_data_left(&run->rx),
               (unsigned long)run->data_left);
    FUZZ_CHECK(uct_tcp_zc_rx_data_consumed(&run->rx, run->data_left),
               "not the last data");
    FUZZ_CHECK(!uct_tcp_zc_rx_data_external(&run->rx) &&
               (uct_tcp_zc_rx_data_left(&run->rx) == 0),
               "data left after all were taken");

    memset(&item, 0, sizeof(item));
    item.event      = UCT_TCP_ZC_RX_EV_DATA;
    item.offset     = run->pos;
    item.rma.length = run->data_left;
    item.hdr.type   = 1;
    item.hdr.flags  = FUZZ_RX_HDR_FLAG_DATA_CONN;
    FUZZ_CHECK(run->count < FUZZ_RX_MAX_ITEMS, "too many items");
    run->items[run->count++] = item;
    run->in_data   = 0;
    run->external  = 0;
    run->data_left = 0;
}

/* The answers which the socket code sends after a request */
static void fuzz_rx_answer(fuzz_rx_run_t *run)
{
    unsigned byte = run->answers[(run->messages / 4) % 4];
    unsigned count = (byte >> (2 * (run->messages % 4))) & 3;

    for (; (count > 0) && (run->owed > 0); --count) {
        uct_tcp_zc_rx_answer_sent(&run->rx);
        --run->owed;
    }
}

/* Check the result of uct_tcp_zc_rx_parse() on buf, at stream offset pos */
static void fuzz_rx_check(fuzz_rx_run_t *run, const uct_tcp_zc_rx_t *before,
                          const uint8_t *buf, size_t length,
                          uct_tcp_zc_rx_event_t event,
                          const uct_tcp_zc_rx_msg_t *msg)
{
    size_t consumed                 = msg->consumed;
    uct_tcp_zc_rx_event_t ref_event = UCT_TCP_ZC_RX_EV_NONE;
    size_t ref_size                 = 0;
    uct_tcp_zc_rx_t rejected;
    uct_tcp_zc_rx_msg_t again;
    fuzz_rx_item_t item;
    fuzz_rx_ref_t ref;

    FUZZ_CHECK(consumed <= length, "consumed %zu of %zu bytes", consumed,
               length);
    FUZZ_CHECK(!run->rejected || (event == UCT_TCP_ZC_RX_EV_ERROR),
               "event %d after an error", event);

    if (event == UCT_TCP_ZC_RX_EV_NONE) {
        FUZZ_CHECK(consumed == 0, "need more, but consumed %zu", consumed);
        FUZZ_CHECK(memcmp(before, &run->rx, sizeof(*before)) == 0,
                   "need more, but the state changed");
        FUZZ_CHECK(!run->ended, "need more after the end of the stream");
        if (run->in_data) {
            /* data from the data connection: whatever the buffer holds */
            FUZZ_CHECK(((length == 0) || run->external) &&
                       (run->data_left > 0),
                       "need more with %zu bytes for %lu bytes of data",
                       length, (unsigned long)run->data_left);
        } else {
            ref = fuzz_rx_ref(run, buf, length, &ref_size, &ref_event);
            FUZZ_CHECK(ref != FUZZ_RX_REF_VALID,
                       "need more, but %zu bytes hold a valid item of %zu "
                       "(event %d)", length, ref_size, ref_event);
        }
        return;
    }

    if (event == UCT_TCP_ZC_RX_EV_ERROR) {
        FUZZ_CHECK(consumed == 0, "error, but consumed %zu", consumed);
        FUZZ_CHECK((msg->error != NULL) && (msg->error[0] != '\0'),
                   "error without a field");
        FUZZ_CHECK(!run->in_data, "error in the data of a message");
        if (!run->rejected) {
            ref = fuzz_rx_ref(run, buf, length, &ref_size, &ref_event);
            FUZZ_CHECK(ref == FUZZ_RX_REF_INVALID,
                       "rejected (%s) at offset %zu, but the item is %s "
                       "(event %d)", msg->error, run->pos,
                       (ref == FUZZ_RX_REF_VALID) ? "valid" : "incomplete",
                       ref_event);
            memset(&item, 0, sizeof(item));
            item.event  = event;
            item.offset = run->pos;
            item.error  = msg->error;
            fuzz_rx_log(run, &item);
            run->rejected = 1;
            run->error    = msg->error;
        }

        /* stays rejected, whatever comes */
        rejected = run->rx;
        FUZZ_CHECK(uct_tcp_zc_rx_parse(&run->rx, buf, length, &again) ==
                   UCT_TCP_ZC_RX_EV_ERROR, "accepts bytes after an error");
        FUZZ_CHECK((again.consumed == 0) && (again.error != NULL),
                   "consumed %zu after an error", again.consumed);
        FUZZ_CHECK(uct_tcp_zc_rx_parse(&run->rx, "", 0, &again) ==
                   UCT_TCP_ZC_RX_EV_ERROR, "needs more after an error");
        FUZZ_CHECK(memcmp(&rejected, &run->rx, sizeof(rejected)) == 0,
                   "the state changed after an error");
        FUZZ_CHECK(uct_tcp_zc_rx_data_left(&run->rx) == 0,
                   "data left after an error");
        return;
    }

    if (event == UCT_TCP_ZC_RX_EV_DATA) {
        FUZZ_CHECK(!run->external, "data of the data connection in the "
                   "stream");
        FUZZ_CHECK(msg->data == buf, "data at %+ld of the buffer",
                   (long)((const uint8_t*)msg->data - buf));
        FUZZ_CHECK(msg->length == consumed, "data of %zu bytes, consumed %zu",
                   msg->length, consumed);
        FUZZ_CHECK((consumed > 0) || (run->data_left == 0),
                   "empty data piece with %lu bytes left",
                   (unsigned long)run->data_left);
        FUZZ_CHECK((consumed == length) || (consumed == run->data_left),
                   "%zu bytes of data out of %zu, %lu left", consumed, length,
                   (unsigned long)run->data_left);
        fuzz_rx_data(run, consumed, msg->last);
        return;
    }

    FUZZ_CHECK(!run->in_data, "event %d in the data of a message", event);
    FUZZ_CHECK(consumed > 0, "event %d consumed nothing", event);

    /* the reference decoding agrees: the same item, of the same size */
    ref = fuzz_rx_ref(run, buf, length, &ref_size, &ref_event);
    FUZZ_CHECK(ref == FUZZ_RX_REF_VALID,
               "accepted event %d at offset %zu, but the item is %s", event,
               run->pos, (ref == FUZZ_RX_REF_NEED) ? "incomplete" : "invalid");
    FUZZ_CHECK(event == ref_event, "event %d at offset %zu, the item is %d",
               event, run->pos, ref_event);
    FUZZ_CHECK(ref_size == consumed, "event %d consumed %zu, item of %zu",
               event, consumed, ref_size);

    memset(&item, 0, sizeof(item));
    item.event  = event;
    item.offset = run->pos;
    item.length = consumed;

    if ((event == UCT_TCP_ZC_RX_EV_HELLO) ||
        (event == UCT_TCP_ZC_RX_EV_VERSION)) {
        FUZZ_CHECK(!run->hello_done && (run->messages == 0),
                   "hello as item %u", run->messages);
        item.hello = msg->hello;
    } else {
        FUZZ_CHECK(run->hello_done, "event %d before the hello", event);
        FUZZ_CHECK(memcmp(&msg->hdr, buf, sizeof(msg->hdr)) == 0,
                   "header differs from its bytes");
        FUZZ_CHECK(msg->hdr.version == UCT_TCP_ZC_VERSION, "version %u",
                   msg->hdr.version);
        item.hdr = msg->hdr;
    }

    switch (event) {
    case UCT_TCP_ZC_RX_EV_HELLO:
        FUZZ_CHECK(memcmp(&msg->hello, buf, sizeof(msg->hello)) == 0,
                   "hello differs from its bytes");
        run->hello_done = 1;
        run->ended      = fuzz_rx_hello_ends(buf);
        break;
    case UCT_TCP_ZC_RX_EV_VERSION:
        FUZZ_CHECK((msg->hello.magic == UCT_TCP_ZC_MAGIC) &&
                   (msg->hello.version == buf[8]) &&
                   (msg->hello.version != UCT_TCP_ZC_VERSION),
                   "hello of version %u, its byte %u", msg->hello.version,
                   buf[8]);
        run->hello_done = 1;
        run->ended      = 1;
        break;
    case UCT_TCP_ZC_RX_EV_AM:
        FUZZ_CHECK(!run->peer_closed, "active message after the peer "
                   "closed");
        FUZZ_CHECK(msg->hdr.type == UCT_TCP_ZC_MSG_AM, "type %u",
                   msg->hdr.type);
        FUZZ_CHECK(msg->hdr.am_id < UCT_AM_ID_MAX, "am_id %u",
                   msg->hdr.am_id);
        FUZZ_CHECK((msg->length == msg->hdr.length) &&
                   (msg->length <= run->max_am) &&
                   (consumed == sizeof(msg->hdr) + msg->length),
                   "active message of %zu bytes, header %u, consumed %zu",
                   msg->length, msg->hdr.length, consumed);
        FUZZ_CHECK(msg->data == buf + sizeof(msg->hdr),
                   "active message data at %+ld",
                   (long)((const uint8_t*)msg->data - buf));
        break;
    case UCT_TCP_ZC_RX_EV_KEEPALIVE:
    case UCT_TCP_ZC_RX_EV_EP_CLOSED:
        FUZZ_CHECK(!run->peer_closed, "request %d after the peer closed",
                   event);
        FUZZ_CHECK((msg->hdr.type == ((event == UCT_TCP_ZC_RX_EV_KEEPALIVE) ?
                                      UCT_TCP_ZC_MSG_KEEPALIVE :
                                      UCT_TCP_ZC_MSG_EP_CLOSED)) &&
                   (msg->hdr.am_id == 0) && (msg->hdr.length == 0),
                   "header of event %d", event);
        if (event == UCT_TCP_ZC_RX_EV_EP_CLOSED) {
            run->peer_closed = 1;
        }
        break;
    case UCT_TCP_ZC_RX_EV_DATA_CONN:
        FUZZ_CHECK(run->data_port && !run->dc_announced,
                   "data connection announced %d, data port %d",
                   run->dc_announced, run->data_port);
        FUZZ_CHECK(memcmp(&msg->dc, buf + sizeof(msg->hdr),
                          sizeof(msg->dc)) == 0,
                   "data connection header differs from its bytes");
        FUZZ_CHECK((msg->hdr.type == UCT_TCP_ZC_MSG_DATA_CONN) &&
                   (msg->hdr.flags == 0) && (msg->dc.port != 0),
                   "data connection header");
        run->dc_announced = 1;
        break;
    case UCT_TCP_ZC_RX_EV_PUT:
    case UCT_TCP_ZC_RX_EV_GET_REQ:
        FUZZ_CHECK(!run->peer_closed, "RMA request after the peer closed");
        FUZZ_CHECK(msg->hdr.type == ((event == UCT_TCP_ZC_RX_EV_PUT) ?
                                     UCT_TCP_ZC_MSG_PUT :
                                     UCT_TCP_ZC_MSG_GET_REQ),
                   "type %u", msg->hdr.type);
        FUZZ_CHECK(memcmp(&msg->rma, buf + sizeof(msg->hdr),
                          sizeof(msg->rma)) == 0,
                   "RMA header differs from its bytes");
        FUZZ_CHECK(msg->hdr.am_id == 0, "am_id %u", msg->hdr.am_id);
        FUZZ_CHECK(msg->rma.length <= UCT_TCP_ZC_RMA_MAX_LENGTH,
                   "RMA length %lu", (unsigned long)msg->rma.length);
        FUZZ_CHECK(msg->rma.address + msg->rma.length >= msg->rma.address,
                   "RMA range wraps");
        FUZZ_CHECK(run->owed < UCT_TCP_ZC_RMA_OUTSTANDING_MAX,
                   "request %u without an answer", run->owed + 1);
        item.rma = msg->rma;
        ++run->owed;
        if (event == UCT_TCP_ZC_RX_EV_PUT) {
            FUZZ_CHECK(msg->hdr.length == msg->rma.length,
                       "PUT length %u, RMA length %lu", msg->hdr.length,
                       (unsigned long)msg->rma.length);
            FUZZ_CHECK(fuzz_rx_ref_data_flags(run, msg->hdr.flags,
                                              msg->rma.length),
                       "PUT flags 0x%x", msg->hdr.flags);
            run->in_data   = 1;
            run->external  = !!(msg->hdr.flags & FUZZ_RX_HDR_FLAG_DATA_CONN);
            run->data_left = msg->rma.length;
        } else {
            FUZZ_CHECK((msg->hdr.length == 0) &&
                       !(msg->hdr.flags & ~FUZZ_RX_HDR_FLAG_DEV_DEST),
                       "GET request length %u flags 0x%x", msg->hdr.length,
                       msg->hdr.flags);
        }
        break;
    case UCT_TCP_ZC_RX_EV_PUT_ACK:
    case UCT_TCP_ZC_RX_EV_RMA_ERROR:
        FUZZ_CHECK((msg->hdr.type == ((event == UCT_TCP_ZC_RX_EV_PUT_ACK) ?
                                      UCT_TCP_ZC_MSG_PUT_ACK :
                                      UCT_TCP_ZC_MSG_RMA_ERROR)) &&
                   (msg->hdr.am_id == 0) && (msg->hdr.length == 0) &&
                   (msg->hdr.flags == 0),
                   "header of answer %d", event);
        break;
    case UCT_TCP_ZC_RX_EV_GET_RESP:
        FUZZ_CHECK((msg->hdr.type == UCT_TCP_ZC_MSG_GET_RESP) &&
                   (msg->hdr.am_id == 0) &&
                   (msg->hdr.length <= UCT_TCP_ZC_RMA_MAX_LENGTH) &&
                   fuzz_rx_ref_data_flags(run, msg->hdr.flags,
                                          msg->hdr.length),
                   "GET response header");
        run->in_data   = 1;
        run->external  = !!(msg->hdr.flags & FUZZ_RX_HDR_FLAG_DATA_CONN);
        run->data_left = msg->hdr.length;
        break;
    default:
        FUZZ_CHECK(0, "unknown event %d", event);
    }

    FUZZ_CHECK(uct_tcp_zc_rx_data_left(&run->rx) ==
               (run->in_data ? run->data_left : 0),
               "data_left %lu after event %d",
               (unsigned long)uct_tcp_zc_rx_data_left(&run->rx), event);

    fuzz_rx_log(run, &item);
    run->pos += consumed;
    ++run->messages;
    if ((event == UCT_TCP_ZC_RX_EV_PUT) ||
        (event == UCT_TCP_ZC_RX_EV_GET_REQ)) {
        fuzz_rx_answer(run);
    }
}

/* One call of the parser on buf, which is at stream offset run->pos */
static uct_tcp_zc_rx_event_t
fuzz_rx_parse(fuzz_rx_run_t *run, const uint8_t *buf, size_t length,
              size_t *consumed_p)
{
    uct_tcp_zc_rx_t before = run->rx;
    uct_tcp_zc_rx_event_t event;
    uct_tcp_zc_rx_msg_t msg;

    memset(&msg, 0xa5, sizeof(msg));
    event = uct_tcp_zc_rx_parse(&run->rx, buf, length, &msg);
    fuzz_rx_check(run, &before, buf, length, event, &msg);
    *consumed_p = msg.consumed;
    return event;
}

static void fuzz_rx_run_init(fuzz_rx_run_t *run, const fuzz_rx_run_t *cfg,
                             fuzz_rx_item_t *items)
{
    *run       = *cfg;
    run->items = items;
    if (!cfg->primed) {
        uct_tcp_zc_rx_init(&run->rx, run->accepted, run->max_am);
    }
    run->rx.data_port = run->data_port;

    FUZZ_CHECK(uct_tcp_zc_rx_data_left(&run->rx) == 0, "data after init");
}

/* A: the whole stream in one buffer */
static void fuzz_rx_run_whole(fuzz_rx_run_t *run)
{
    uct_tcp_zc_rx_event_t event;
    unsigned empty = 0;
    size_t consumed;

    for (;;) {
        event = fuzz_rx_parse(run, run->stream + run->pos,
                              run->stream_len - run->pos, &consumed);
        /* an empty data event ends a message: never two in a row */
        empty = ((event == UCT_TCP_ZC_RX_EV_DATA) && (consumed == 0)) ?
                empty + 1 : 0;
        FUZZ_CHECK(empty <= 1, "no progress");
        if ((event == UCT_TCP_ZC_RX_EV_NONE) && run->external) {
            fuzz_rx_external(run);
        } else if ((event == UCT_TCP_ZC_RX_EV_NONE) ||
                   (event == UCT_TCP_ZC_RX_EV_ERROR)) {
            break;
        }
    }
}

static uint32_t fuzz_rx_random(uint32_t *seed)
{
    /* xorshift32 */
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    return *seed;
}

/* Size of the next piece which the socket delivers */
static size_t fuzz_rx_piece(uint32_t *seed, size_t max)
{
    uint32_t r = fuzz_rx_random(seed);
    size_t size;

    switch (r % 4) {
    case 0:
        size = 1 + (r >> 8) % 8;
        break;
    case 1:
        size = 1 + (r >> 8) % 64;
        break;
    case 2:
        size = 1 + (r >> 8) % 4096;
        break;
    default:
        size = max;
        break;
    }

    return (size < max) ? size : max;
}

/*
 * B: as the socket code reads it. The receive buffer is poisoned for
 * AddressSanitizer everywhere but the bytes given to the parser.
 */
static void fuzz_rx_run_socket(fuzz_rx_run_t *run, uint32_t seed)
{
    static uint8_t buf[FUZZ_RX_RMA_LEN + 65536] __attribute__((aligned(64)));
    size_t capacity = (FUZZ_RX_RMA_LEN + run->max_am > FUZZ_RX_HELLO_LEN) ?
                      (FUZZ_RX_RMA_LEN + run->max_am) : FUZZ_RX_HELLO_LEN;
    size_t head     = 0;
    size_t tail     = 0;
    size_t read_pos = 0; /* stream bytes delivered */
    uct_tcp_zc_rx_event_t event;
    size_t size, consumed;
    uint64_t left;

    FUZZ_CHECK(capacity <= sizeof(buf), "max_am %zu", run->max_am);
    ASAN_POISON_MEMORY_REGION(buf, sizeof(buf));
    if (seed == 0) {
        seed = 1;
    }

    for (;;) {
        FUZZ_CHECK(run->pos == read_pos - (tail - head),
                   "stream offset %zu, buffer from %zu", run->pos,
                   read_pos - (tail - head));
        event = fuzz_rx_parse(run, buf + head, tail - head, &consumed);
        if (event == UCT_TCP_ZC_RX_EV_ERROR) {
            break;
        } else if (event != UCT_TCP_ZC_RX_EV_NONE) {
            ASAN_POISON_MEMORY_REGION(buf + head, consumed);
            head += consumed;
            continue;
        }

        left = uct_tcp_zc_rx_data_left(&run->rx);
        if (run->external) {
            fuzz_rx_external(run);
            continue;
        } else if (left > 0) {
            /* data straight to their destination */
            FUZZ_CHECK(head == tail, "need more with bytes in the buffer");
            size = fuzz_rx_piece(&seed, run->stream_len - read_pos);
            size = (size < left) ? size : left;
            if (size == 0) {
                break;
            }

            read_pos += size;
            fuzz_rx_data(run, size,
                         uct_tcp_zc_rx_data_consumed(&run->rx, size));
            continue;
        }

        if (read_pos == run->stream_len) {
            break;
        }

        if (head == tail) {
            head = tail = 0;
        } else if (head > 0) {
            ASAN_UNPOISON_MEMORY_REGION(buf, tail - head);
            memmove(buf, buf + head, tail - head);
            ASAN_POISON_MEMORY_REGION(buf + tail - head, head);
            tail -= head;
            head  = 0;
        }

        FUZZ_CHECK(tail < capacity,
                   "needs more than a full buffer of %zu bytes", capacity);
        size = fuzz_rx_piece(&seed, capacity - tail);
        if (size > run->stream_len - read_pos) {
            size = run->stream_len - read_pos;
        }

        ASAN_UNPOISON_MEMORY_REGION(buf + tail, size);
        memcpy(buf + tail, run->stream + read_pos, size);
        tail     += size;
        read_pos += size;
    }
}

/*
 * The parser of a connection after the peer's hello, which accepts it, and
 * the given number of GET requests, none answered yet: parsed once per
 * configuration, then copied, so that the request limit is in reach of a
 * short input.
 */
static void fuzz_rx_prime(fuzz_rx_run_t *cfg, unsigned max_am_index,
                          unsigned requests)
{
    static fuzz_rx_run_t primed[8][2][2];
    static int done[8][2][2];
    fuzz_rx_run_t *run = &primed[max_am_index][cfg->accepted][requests & 1];
    int *done_p        = &done[max_am_index][cfg->accepted][requests & 1];
    fuzz_rx_run_t prime;
    uct_tcp_zc_hdr_t hdr     = {0};
    uct_tcp_zc_rma_hdr_t rma = {0};
    uct_tcp_zc_hello_t hello;
    uint8_t *stream, *p;
    unsigned i;

    if (!*done_p) {
        memset(&prime, 0, sizeof(prime));
        prime.accepted   = cfg->accepted;
        prime.max_am     = cfg->max_am;
        prime.answers    = (const uint8_t*)"\0\0\0\0";
        prime.stream_len = sizeof(hello) + requests * FUZZ_RX_RMA_LEN;
        stream           = malloc(prime.stream_len);
        FUZZ_CHECK(stream != NULL, "out of memory");

        memset(&hello, 0, sizeof(hello));
        hello.magic     = UCT_TCP_ZC_MAGIC;
        hello.version   = UCT_TCP_ZC_VERSION;
        hello.status    = cfg->accepted ? UCT_TCP_ZC_HELLO_CONNECT :
                                          UCT_TCP_ZC_HELLO_ACCEPT;
        hello.sa_family = AF_INET;
        hdr.type        = UCT_TCP_ZC_MSG_GET_REQ;
        hdr.version     = UCT_TCP_ZC_VERSION;
        rma.address     = 0x1000;
        rma.key         = 1;
        rma.length      = 8;
        memcpy(stream, &hello, sizeof(hello));
        for (i = 0, p = stream + sizeof(hello); i < requests; ++i) {
            memcpy(p, &hdr, sizeof(hdr));
            memcpy(p + sizeof(hdr), &rma, sizeof(rma));
            p += FUZZ_RX_RMA_LEN;
        }

        prime.stream = stream;
        fuzz_rx_run_init(run, &prime, fuzz_rx_items[0]);
        fuzz_rx_run_whole(run);
        FUZZ_CHECK(!run->rejected && !run->ended && run->hello_done &&
                   (run->pos == run->stream_len) && (run->owed == requests),
                   "preamble of %u requests: rejected %d, %u owed", requests,
                   run->rejected, run->owed);
        free(stream);
        *done_p = 1;
    }

    cfg->rx         = run->rx;
    cfg->messages   = run->messages;
    cfg->hello_done = run->hello_done;
    cfg->owed       = run->owed;
    cfg->primed     = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_rx_run_t cfg, a, b;
    unsigned max_am_index, i;
    uint32_t seed;

    if (size < FUZZ_RX_CFG_LEN) {
        return 0;
    }

    memset(&cfg, 0, sizeof(cfg));
    max_am_index   = (data[0] >> 1) & 7;
    cfg.accepted   = data[0] & 1;
    cfg.max_am     = fuzz_rx_max_am[max_am_index];
    memcpy(&seed, data + 1, sizeof(seed));
    cfg.data_port  = !!(seed & (1u << 31));
    cfg.answers    = data + 5;
    if ((data[0] & 0x70) == 0x70) {
        fuzz_rx_prime(&cfg, max_am_index,
                      UCT_TCP_ZC_RMA_OUTSTANDING_MAX - 1 - (data[0] >> 7));
    }

    /* the stream, in a block of its size: AddressSanitizer sees a read
     * beyond its end */
    cfg.stream_len = size - FUZZ_RX_CFG_LEN;
    cfg.stream     = malloc(cfg.stream_len);
    FUZZ_CHECK((cfg.stream != NULL) || (cfg.stream_len == 0),
               "out of memory");
    memcpy((void*)cfg.stream, data + FUZZ_RX_CFG_LEN, cfg.stream_len);

    fuzz_rx_run_init(&a, &cfg, fuzz_rx_items[0]);
    fuzz_rx_run_whole(&a);
    fuzz_rx_run_init(&b, &cfg, fuzz_rx_items[1]);
    fuzz_rx_run_socket(&b, seed);

    /* the same items, however the stream was split */
    FUZZ_CHECK(a.count == b.count, "%u items in one buffer, %u in pieces",
               a.count, b.count);
    for (i = 0; i < a.count; ++i) {
        FUZZ_CHECK((a.items[i].event == b.items[i].event) &&
                   (a.items[i].offset == b.items[i].offset) &&
                   (a.items[i].length == b.items[i].length) &&
                   !memcmp(&a.items[i].hdr, &b.items[i].hdr,
                           sizeof(a.items[i].hdr)) &&
                   !memcmp(&a.items[i].rma, &b.items[i].rma,
                           sizeof(a.items[i].rma)) &&
                   !memcmp(&a.items[i].hello, &b.items[i].hello,
                           sizeof(a.items[i].hello)),
                   "item %u: event %d at %zu+%zu in one buffer, %d at "
                   "%zu+%zu in pieces", i, a.items[i].event,
                   a.items[i].offset, a.items[i].length, b.items[i].event,
                   b.items[i].offset, b.items[i].length);
        FUZZ_CHECK((a.items[i].error == NULL) == (b.items[i].error == NULL) &&
                   ((a.items[i].error == NULL) ||
                    !strcmp(a.items[i].error, b.items[i].error)),
                   "item %u: error %s in one buffer, %s in pieces", i,
                   a.items[i].error, b.items[i].error);
    }

    if (getenv("FUZZ_VERBOSE") != NULL) {
        for (i = 0; i < a.count; ++i) {
            fprintf(stderr, "fuzz_rx: item %u: event %d at %zu+%zu type %u "
                    "am_id %u length %u%s%s\n", i, a.items[i].event,
                    a.items[i].offset, a.items[i].length, a.items[i].hdr.type,
                    a.items[i].hdr.am_id, a.items[i].hdr.length,
                    a.items[i].error ? " error: " : "",
                    a.items[i].error ? a.items[i].error : "");
        }
        fprintf(stderr, "fuzz_rx: stopped at %zu of %zu, %u requests owed\n",
                a.pos, a.stream_len, a.owed);
    }

    FUZZ_CHECK((a.pos == b.pos) && (a.rejected == b.rejected),
               "stopped at %zu (rejected %d) in one buffer, at %zu "
               "(rejected %d) in pieces", a.pos, a.rejected, b.pos,
               b.rejected);

    free((void*)cfg.stream);
    return 0;
}

#pragma clang attribute pop
