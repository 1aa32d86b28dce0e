/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

/*
 * Data check of tcp_zc between a QEMU guest and a host network namespace.
 *
 *   tcp_zc_vm_check server <bind-address> <port> [options]
 *   tcp_zc_vm_check client <server-address> <port> [options]
 *
 * The two sides exchange their UCP worker addresses over a plain TCP
 * connection, then the client sends, for each size, a number of tagged
 * messages (ucp_tag_send_nbx) from a small set of buffers which are reused:
 * the completion callback of each send overwrites its source buffer before
 * the buffer carries the next message, so a completion which fired while the
 * kernel still sent from the buffer shows up as corrupt data. The server
 * checks every message byte for byte and sends its verdict back over the
 * TCP connection. Both exit non-zero on any mismatch, error or time-out.
 *
 * Options (both sides must agree on -s and -b):
 *   -s <size,size,...>  message sizes (default 16383,16384,65536,1048576,
 *                       8388608)
 *   -b <bytes>          bytes per size; the message count is bytes / size,
 *                       at least 4 and at most 1024 (default 16 MiB)
 *   -w <n>              buffers (sends or receives) in flight (default 4)
 *   -t <seconds>        time limit of the whole run (default 120)
 *
 *   tcp_zc_vm_check hold <dir> <seconds>
 *
 * opens UCP's ifaces (UCX_TLS, UCX_NET_DEVICES), creates <dir>/open, waits
 * until <dir>/release exists (at most <seconds>) and closes them again: the
 * devmem tests read the NIC while a tcp_zc iface is open and after it
 * closed (UCX_TCP_ZC_DEVMEM_SETUP).
 */

#include <ucp/api/ucp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define MAX_SIZES      16
#define MAX_WINDOW     64
#define MIN_COUNT      4
#define MAX_COUNT      1024
#define POISON         0xa5
#define DEFAULT_SIZES  "16383,16384,65536,1048576,8388608"


typedef struct {
    unsigned char *buf;
    void          *req;      /* request, NULL when none or freed */
    int           busy;      /* a send or receive is posted */
    int           done;      /* set by the callback */
    ucs_status_t  status;
    size_t        length;    /* received length */
    size_t        msg_idx;
} slot_t;


static const char *side = "?";
static double deadline;


static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", side);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static void check_deadline(const char *what)
{
    if (now() > deadline) {
        die("time limit reached while %s", what);
    }
}

/* 8 bytes of message msg_idx of size index size_idx, at word word_idx */
static uint64_t pattern_word(size_t size_idx, size_t msg_idx, size_t word_idx)
{
    uint64_t x = ((uint64_t)size_idx << 56) ^ ((uint64_t)msg_idx << 32) ^
                 word_idx;

    x *= 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29) ^ 0x5bd1e995ull;
}

static void fill(unsigned char *buf, size_t len, size_t size_idx,
                 size_t msg_idx)
{
    size_t i;
    uint64_t w;

    for (i = 0; i < len / 8; ++i) {
        w = pattern_word(size_idx, msg_idx, i);
        memcpy(buf + i * 8, &w, 8);
    }
    w = pattern_word(size_idx, msg_idx, i);
    memcpy(buf + i * 8, &w, len % 8);
}

/* returns the offset of the first wrong byte, or len */
static size_t verify(const unsigned char *buf, size_t len, size_t size_idx,
                     size_t msg_idx)
{
    unsigned char expect[8];
    size_t i, j, n;
    uint64_t w;

    for (i = 0; i * 8 < len; ++i) {
        w = pattern_word(size_idx, msg_idx, i);
        memcpy(expect, &w, 8);
        n = (len - i * 8 < 8) ? len - i * 8 : 8;
        if (memcmp(buf + i * 8, expect, n) == 0) {
            continue;
        }
        for (j = 0; j < n; ++j) {
            if (buf[i * 8 + j] != expect[j]) {
                return i * 8 + j;
            }
        }
    }
    return len;
}

static size_t msg_count(size_t size, size_t bytes)
{
    size_t count = bytes / size;

    if (count < MIN_COUNT) {
        return MIN_COUNT;
    }
    return (count > MAX_COUNT) ? MAX_COUNT : count;
}

static ucp_tag_t msg_tag(size_t size_idx, size_t msg_idx)
{
    return ((ucp_tag_t)size_idx << 32) | msg_idx;
}

/* ---- the TCP side channel ---- */

static void sock_write(int fd, const void *data, size_t len)
{
    const char *p = data;
    ssize_t ret;

    while (len > 0) {
        ret = send(fd, p, len, MSG_NOSIGNAL);
        if (ret < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("side channel send failed: %s", strerror(errno));
        }
        p   += ret;
        len -= ret;
    }
}

static void sock_read(int fd, void *data, size_t len, ucp_worker_h worker)
{
    char *p = data;
    struct pollfd pfd;
    ssize_t ret;

    while (len > 0) {
        check_deadline("waiting for the peer");
        if (worker != NULL) {
            ucp_worker_progress(worker);
        }
        pfd.fd     = fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, (worker != NULL) ? 0 : 100) <= 0) {
            continue;
        }
        ret = recv(fd, p, len, 0);
        if (ret == 0) {
            die("%s", "the peer closed the side channel");
        } else if (ret < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("side channel receive failed: %s", strerror(errno));
        }
        p   += ret;
        len -= ret;
    }
}

static void parse_addr(const char *host, const char *port,
                       struct sockaddr_in *sin)
{
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port   = htons(atoi(port));
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
        die("bad IPv4 address '%s'", host);
    }
}

static int sock_server(const char *host, const char *port)
{
    struct sockaddr_in sin;
    struct pollfd pfd;
    int lfd, fd, one = 1;

    parse_addr(host, port, &sin);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        die("socket: %s", strerror(errno));
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr*)&sin, sizeof(sin)) < 0) {
        die("bind: %s", strerror(errno));
    }
    if (listen(lfd, 1) < 0) {
        die("listen: %s", strerror(errno));
    }
    printf("%s: listening on %s:%s\n", side, host, port);
    fflush(stdout);

    for (;;) {
        check_deadline("waiting for the client");
        pfd.fd     = lfd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 100) > 0) {
            break;
        }
    }
    fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        die("accept: %s", strerror(errno));
    }
    close(lfd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int sock_client(const char *host, const char *port)
{
    struct sockaddr_in sin;
    int fd, one = 1;

    parse_addr(host, port, &sin);
    for (;;) {
        check_deadline("connecting to the server");
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            die("socket: %s", strerror(errno));
        }
        if (connect(fd, (struct sockaddr*)&sin, sizeof(sin)) == 0) {
            break;
        }
        close(fd);
        usleep(100000);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* ---- UCP ---- */

static void send_cb(void *request, ucs_status_t status, void *user_data)
{
    slot_t *slot = user_data;

    /* the data must be out of this buffer now: overwrite it at once */
    memset(slot->buf, POISON, slot->length);
    slot->status = status;
    slot->done   = 1;
}

static void recv_cb(void *request, ucs_status_t status,
                    const ucp_tag_recv_info_t *info, void *user_data)
{
    slot_t *slot = user_data;

    slot->status = status;
    slot->length = (status == UCS_OK) ? info->length : 0;
    slot->done   = 1;
}

static void slot_posted(slot_t *slot, void *req, const char *what)
{
    if (UCS_PTR_IS_ERR(req)) {
        die(what, ucs_status_string(UCS_PTR_STATUS(req)));
    } else if (req == NULL) {
        /* cannot happen: immediate completion is denied */
        die("%s", "an operation completed without a request");
    }
    slot->req  = req;
    slot->busy = 1;
}

/* collect a completed slot: release its request */
static void slot_collect(slot_t *slot)
{
    ucp_request_free(slot->req);
    slot->req  = NULL;
    slot->busy = 0;
}

/* close an endpoint; an error (the peer closed first) is no failure here */
static void close_ep(ucp_worker_h worker, ucp_ep_h ep, int force)
{
    ucp_request_param_t param;
    ucs_status_t status;
    void *req;

    memset(&param, 0, sizeof(param));
    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    param.flags        = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
    req                = ucp_ep_close_nbx(ep, &param);
    if ((req == NULL) || UCS_PTR_IS_ERR(req)) {
        return;
    }
    do {
        check_deadline("closing the endpoint");
        ucp_worker_progress(worker);
        status = ucp_request_check_status(req);
    } while (status == UCS_INPROGRESS);
    ucp_request_free(req);
}

static int parse_sizes(const char *arg, size_t *sizes)
{
    char *copy = strdup(arg), *tok, *save = NULL;
    int n = 0;

    for (tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_SIZES) {
            die("at most %s sizes", "16");
        }
        sizes[n] = strtoull(tok, NULL, 0);
        if (sizes[n] == 0) {
            die("bad size '%s'", tok);
        }
        ++n;
    }
    free(copy);
    return n;
}

static int run_client(ucp_worker_h worker, ucp_ep_h ep, int fd,
                      const size_t *sizes, int num_sizes, size_t bytes,
                      int window)
{
    slot_t slots[MAX_WINDOW];
    ucp_request_param_t param;
    size_t count, next, completed;
    double start, elapsed;
    unsigned char verdict;
    int i, s;

    for (i = 0; i < num_sizes; ++i) {
        count = msg_count(sizes[i], bytes);
        memset(slots, 0, sizeof(slots));
        for (s = 0; s < window; ++s) {
            slots[s].buf = malloc(sizes[i]);
            if (slots[s].buf == NULL) {
                die("%s", "out of memory");
            }
        }

        start     = now();
        next      = 0;
        completed = 0;
        while (completed < count) {
            check_deadline("sending");
            for (s = 0; (s < window) && (next < count); ++s) {
                if (slots[s].busy) {
                    continue;
                }
                fill(slots[s].buf, sizes[i], i, next);
                slots[s].done     = 0;
                slots[s].length   = sizes[i];
                slots[s].msg_idx  = next;

                memset(&param, 0, sizeof(param));
                param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
                                     UCP_OP_ATTR_FIELD_USER_DATA |
                                     UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
                param.cb.send      = send_cb;
                param.user_data    = &slots[s];
                slot_posted(&slots[s],
                               ucp_tag_send_nbx(ep, slots[s].buf, sizes[i],
                                                msg_tag(i, next), &param),
                               "send failed: %s");
                ++next;
            }

            ucp_worker_progress(worker);
            for (s = 0; s < window; ++s) {
                if (!slots[s].busy || !slots[s].done) {
                    continue;
                }
                if (slots[s].status != UCS_OK) {
                    die("send completed with %s",
                        ucs_status_string(slots[s].status));
                }
                slot_collect(&slots[s]);
                ++completed;
            }
        }
        elapsed = now() - start;
        printf("%s: size %zu: %zu messages, %zu bytes sent in %.3f s "
               "(%.1f MB/s)\n", side, sizes[i], count, count * sizes[i],
               elapsed, count * sizes[i] / elapsed / 1e6);
        fflush(stdout);

        for (s = 0; s < window; ++s) {
            free(slots[s].buf);
        }
    }

    /* the server's verdict, while serving its rendezvous reads */
    sock_read(fd, &verdict, 1, worker);
    printf("%s: the server reports %s\n", side,
           (verdict == 0) ? "all data verified" : "data errors");
    return (verdict == 0) ? 0 : 1;
}

static int run_server(ucp_worker_h worker, int fd, const size_t *sizes,
                      int num_sizes, size_t bytes, int window)
{
    slot_t slots[MAX_WINDOW];
    ucp_request_param_t param;
    size_t count, next, completed, off, bad_msgs, poisoned;
    unsigned char verdict;
    int i, s, errors = 0;

    for (i = 0; i < num_sizes; ++i) {
        count = msg_count(sizes[i], bytes);
        memset(slots, 0, sizeof(slots));
        for (s = 0; s < window; ++s) {
            slots[s].buf = malloc(sizes[i]);
            if (slots[s].buf == NULL) {
                die("%s", "out of memory");
            }
        }

        next      = 0;
        completed = 0;
        bad_msgs  = 0;
        poisoned  = 0;
        while (completed < count) {
            check_deadline("receiving");
            for (s = 0; (s < window) && (next < count); ++s) {
                if (slots[s].busy) {
                    continue;
                }
                memset(slots[s].buf, 0, sizes[i]);
                slots[s].done     = 0;
                slots[s].msg_idx  = next;

                memset(&param, 0, sizeof(param));
                param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
                                     UCP_OP_ATTR_FIELD_USER_DATA |
                                     UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
                param.cb.recv      = recv_cb;
                param.user_data    = &slots[s];
                slot_posted(&slots[s],
                               ucp_tag_recv_nbx(worker, slots[s].buf,
                                                sizes[i], msg_tag(i, next),
                                                (ucp_tag_t)-1, &param),
                               "receive failed: %s");
                ++next;
            }

            ucp_worker_progress(worker);
            for (s = 0; s < window; ++s) {
                if (!slots[s].busy || !slots[s].done) {
                    continue;
                }
                if (slots[s].status != UCS_OK) {
                    die("receive completed with %s",
                        ucs_status_string(slots[s].status));
                }
                off = (slots[s].length == sizes[i]) ?
                      verify(slots[s].buf, sizes[i], i, slots[s].msg_idx) : 0;
                if (off < sizes[i]) {
                    if (slots[s].buf[off] == POISON) {
                        ++poisoned;
                    }
                    if (bad_msgs++ < 4) {
                        printf("%s: size %zu message %zu: length %zu, first "
                               "wrong byte at %zu: 0x%02x\n", side, sizes[i],
                               slots[s].msg_idx, slots[s].length, off,
                               slots[s].buf[off]);
                    }
                }
                slot_collect(&slots[s]);
                ++completed;
            }
        }
        printf("%s: size %zu: %zu messages, %zu bytes, %zu wrong (%zu with "
               "the sender's overwrite pattern)%s\n", side, sizes[i], count,
               count * sizes[i], bad_msgs, poisoned,
               (bad_msgs == 0) ? ": verified" : "");
        fflush(stdout);
        errors += (bad_msgs != 0);

        for (s = 0; s < window; ++s) {
            free(slots[s].buf);
        }
    }

    verdict = (errors == 0) ? 0 : 1;
    sock_write(fd, &verdict, 1);
    return errors ? 1 : 0;
}

/* a UCP context for tagged messages, and a worker of it */
static void ucp_open(ucp_context_h *context_p, ucp_worker_h *worker_p)
{
    ucp_worker_params_t worker_params;
    ucp_params_t ctx_params;
    ucs_status_t status;

    memset(&ctx_params, 0, sizeof(ctx_params));
    ctx_params.field_mask = UCP_PARAM_FIELD_FEATURES;
    ctx_params.features   = UCP_FEATURE_TAG;
    status = ucp_init(&ctx_params, NULL, context_p);
    if (status != UCS_OK) {
        die("ucp_init: %s", ucs_status_string(status));
    }

    memset(&worker_params, 0, sizeof(worker_params));
    worker_params.field_mask  = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    worker_params.thread_mode = UCS_THREAD_MODE_SINGLE;
    status = ucp_worker_create(*context_p, &worker_params, worker_p);
    if (status != UCS_OK) {
        die("ucp_worker_create: %s", ucs_status_string(status));
    }
}

/* hold: UCP's ifaces open from <dir>/open until <dir>/release */
static int hold(const char *dir, int seconds)
{
    ucp_context_h context;
    ucp_worker_h worker;
    char path[4096];
    int fd;

    side     = "hold";
    deadline = now() + seconds;
    ucp_open(&context, &worker);

    snprintf(path, sizeof(path), "%s/open", dir);
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) {
        die("cannot create %s", path);
    }
    close(fd);

    snprintf(path, sizeof(path), "%s/release", dir);
    while (access(path, F_OK) != 0) {
        check_deadline("waiting for the release");
        usleep(100000);
    }

    ucp_worker_destroy(worker);
    ucp_cleanup(context);
    printf("hold: released\n");
    return 0;
}

int main(int argc, char **argv)
{
    size_t sizes[MAX_SIZES], bytes = 16ul << 20, addr_len, peer_len;
    const char *size_arg = DEFAULT_SIZES;
    ucp_ep_params_t ep_params;
    ucp_context_h context;
    ucp_worker_h worker;
    ucp_address_t *addr;
    ucp_ep_h ep;
    void *peer_addr;
    uint64_t len64;
    unsigned char bye = 0;
    int num_sizes, window = 4, timeout = 120, is_server, fd, c, rc;
    ucs_status_t status;

    if ((argc == 4) && !strcmp(argv[1], "hold")) {
        return hold(argv[2], atoi(argv[3]));
    }

    if ((argc < 4) || (strcmp(argv[1], "server") &&
                       strcmp(argv[1], "client"))) {
        fprintf(stderr, "usage: %s server|client <address> <port> "
                "[-s sizes] [-b bytes] [-w window] [-t seconds]\n", argv[0]);
        return 2;
    }
    side      = argv[1];
    is_server = !strcmp(side, "server");
    optind    = 4;
    while ((c = getopt(argc, argv, "s:b:w:t:")) != -1) {
        switch (c) {
        case 's':
            size_arg = optarg;
            break;
        case 'b':
            bytes = strtoull(optarg, NULL, 0);
            break;
        case 'w':
            window = atoi(optarg);
            break;
        case 't':
            timeout = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if ((window < 1) || (window > MAX_WINDOW) || (bytes == 0)) {
        die("%s", "bad -w or -b");
    }
    num_sizes = parse_sizes(size_arg, sizes);
    deadline  = now() + timeout;

    /* first the side channel: the network device which UCX looks for may
     * not be running before the client (a QEMU guest) is there */
    fd = is_server ? sock_server(argv[2], argv[3]) :
                     sock_client(argv[2], argv[3]);

    ucp_open(&context, &worker);
    status = ucp_worker_get_address(worker, &addr, &addr_len);
    if (status != UCS_OK) {
        die("ucp_worker_get_address: %s", ucs_status_string(status));
    }

    /* exchange worker addresses: length, then the address */
    len64 = addr_len;
    sock_write(fd, &len64, sizeof(len64));
    sock_write(fd, addr, addr_len);
    sock_read(fd, &len64, sizeof(len64), NULL);
    if ((len64 == 0) || (len64 > (1ul << 20))) {
        die("%s", "bad worker address length from the peer");
    }
    peer_len  = len64;
    peer_addr = malloc(peer_len);
    if (peer_addr == NULL) {
        die("%s", "out of memory");
    }
    sock_read(fd, peer_addr, peer_len, NULL);
    ucp_worker_release_address(worker, addr);

    memset(&ep_params, 0, sizeof(ep_params));
    ep_params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS;
    ep_params.address    = peer_addr;
    status = ucp_ep_create(worker, &ep_params, &ep);
    if (status != UCS_OK) {
        die("ucp_ep_create: %s", ucs_status_string(status));
    }

    if (is_server) {
        rc = run_server(worker, fd, sizes, num_sizes, bytes, window);
        /* keep serving until the client has flushed and closed */
        sock_read(fd, &bye, 1, worker);
    } else {
        rc = run_client(worker, ep, fd, sizes, num_sizes, bytes, window);
    }

    /* the client flushes its endpoint, then says bye; the server, which
     * served the client until then, closes its own at once */
    close_ep(worker, ep, is_server);
    if (!is_server) {
        sock_write(fd, &bye, 1);
    }

    close(fd);
    free(peer_addr);
    ucp_worker_destroy(worker);
    ucp_cleanup(context);
    printf("%s: %s\n", side, (rc == 0) ? "passed" : "FAILED");
    return rc;
}
