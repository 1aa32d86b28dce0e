/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "tcp_zc_caps.h"

#include <ucs/sys/compiler_def.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * ucx_tcp_zc_caps: what each tcp_zc path needs from the kernel and from a
 * network device, and whether this machine has it, with the reason.
 */


static const unsigned uct_tcp_zc_caps_paths[] = {
    UCT_TCP_ZC_PATH_MSG_ZEROCOPY,
    UCT_TCP_ZC_PATH_URING,
    UCT_TCP_ZC_PATH_DEVMEM_RX,
    UCT_TCP_ZC_PATH_DEVMEM_TX
};


static const char *uct_tcp_zc_caps_state_str(uct_tcp_zc_req_state_t state)
{
    switch (state) {
    case UCT_TCP_ZC_REQ_STATE_YES:
        return "yes";
    case UCT_TCP_ZC_REQ_STATE_NO:
        return "no";
    default:
        return "unknown";
    }
}

static void uct_tcp_zc_caps_paths_str(unsigned paths, char *buf, size_t max)
{
    unsigned i;

    buf[0] = '\0';
    for (i = 0; i < ucs_static_array_size(uct_tcp_zc_caps_paths); ++i) {
        if (paths & uct_tcp_zc_caps_paths[i]) {
            snprintf(buf + strlen(buf), max - strlen(buf), "%s%s",
                     (buf[0] != '\0') ? "," : "",
                     uct_tcp_zc_path_name(uct_tcp_zc_caps_paths[i]));
        }
    }
}

static void uct_tcp_zc_caps_print_table(const uct_tcp_zc_caps_t *caps)
{
    char paths[64];
    uct_tcp_zc_req_t req;
    unsigned i;

    printf("# device %s (ifindex %d)\n", caps->if_name, caps->ifindex);
    printf("#   %-23s %-23s %-7s %s\n", "requirement", "needed by", "state",
           "reason");
    for (req = 0; req < UCT_TCP_ZC_REQ_LAST; ++req) {
        uct_tcp_zc_caps_paths_str(uct_tcp_zc_req_paths(req), paths,
                                  sizeof(paths));
        printf("#   %-23s %-23s %-7s %s\n", uct_tcp_zc_req_name(req), paths,
               uct_tcp_zc_caps_state_str(caps->reqs[req].state),
               caps->reqs[req].reason);
    }

    printf("#   paths:");
    for (i = 0; i < ucs_static_array_size(uct_tcp_zc_caps_paths); ++i) {
        printf(" %s %s", uct_tcp_zc_path_name(uct_tcp_zc_caps_paths[i]),
               uct_tcp_zc_caps_path_ok(caps, uct_tcp_zc_caps_paths[i]) ?
                       "yes" :
                       "no");
    }
    printf("\n#\n");
}

static void uct_tcp_zc_caps_print_json_str(const char *str)
{
    const char *p;

    putchar('"');
    for (p = str; *p != '\0'; ++p) {
        if ((*p == '"') || (*p == '\\')) {
            printf("\\%c", *p);
        } else if ((unsigned char)*p < 0x20) {
            printf("\\u%04x", (unsigned char)*p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

static void uct_tcp_zc_caps_print_json(const uct_tcp_zc_caps_t *caps,
                                       int first)
{
    uct_tcp_zc_req_t req;
    unsigned i, paths;
    const char *sep;

    printf("%s\n  {\"device\": ", first ? "" : ",");
    uct_tcp_zc_caps_print_json_str(caps->if_name);
    printf(", \"ifindex\": %d,\n   \"paths\": {", caps->ifindex);
    for (i = 0; i < ucs_static_array_size(uct_tcp_zc_caps_paths); ++i) {
        printf("%s\"%s\": %s", (i > 0) ? ", " : "",
               uct_tcp_zc_path_name(uct_tcp_zc_caps_paths[i]),
               uct_tcp_zc_caps_path_ok(caps, uct_tcp_zc_caps_paths[i]) ?
                       "true" :
                       "false");
    }

    printf("},\n   \"requirements\": [");
    for (req = 0; req < UCT_TCP_ZC_REQ_LAST; ++req) {
        printf("%s\n    {\"name\": \"%s\", \"needed_by\": [",
               (req > 0) ? "," : "", uct_tcp_zc_req_name(req));
        paths = uct_tcp_zc_req_paths(req);
        sep   = "";
        for (i = 0; i < ucs_static_array_size(uct_tcp_zc_caps_paths); ++i) {
            if (paths & uct_tcp_zc_caps_paths[i]) {
                printf("%s\"%s\"", sep,
                       uct_tcp_zc_path_name(uct_tcp_zc_caps_paths[i]));
                sep = ", ";
            }
        }
        printf("], \"state\": \"%s\", \"reason\": ",
               uct_tcp_zc_caps_state_str(caps->reqs[req].state));
        uct_tcp_zc_caps_print_json_str(caps->reqs[req].reason);
        printf("}");
    }
    printf("]}");
}

static void uct_tcp_zc_caps_usage(const char *prog)
{
    printf("Usage: %s [options] [device ...]\n"
           "What each tcp_zc path (MSG_ZEROCOPY and io_uring sends, devmem "
           "TCP receive\nand transmit) needs from the kernel and from a "
           "network device, and whether\nit is there, with the reason. "
           "Without devices, all of this machine's.\n\n"
           "  -j, --json        print JSON\n"
           "  -b, --probe-bind  bind a udmabuf to the last RX queue and for "
           "TX, and let\n"
           "                    it go at once (the queue restarts twice); "
           "without\n"
           "                    /dev/udmabuf, offer a memfd, which the kernel "
           "refuses\n"
           "                    (how tells whether the device could bind a "
           "dmabuf)\n"
           "  -h, --help        this text\n",
           prog);
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"json",       no_argument, NULL, 'j'},
        {"probe-bind", no_argument, NULL, 'b'},
        {"help",       no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    unsigned flags = UCT_TCP_ZC_CAPS_SEND | UCT_TCP_ZC_CAPS_DEVMEM;
    struct if_nameindex *ifs = NULL;
    uct_tcp_zc_caps_t caps;
    const char *name;
    int json = 0, count = 0, ret = 0;
    int c, i;

    while ((c = getopt_long(argc, argv, "jbh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'b':
            flags |= UCT_TCP_ZC_CAPS_PROBE_BIND | UCT_TCP_ZC_CAPS_PROBE_DMABUF;
            break;
        case 'h':
            uct_tcp_zc_caps_usage(argv[0]);
            return 0;
        default:
            uct_tcp_zc_caps_usage(argv[0]);
            return 1;
        }
    }

    if (optind == argc) {
        ifs = if_nameindex();
        if (ifs == NULL) {
            perror("if_nameindex");
            return 1;
        }
    }

    if (json) {
        printf("[");
    }

    for (i = 0;; ++i) {
        if (ifs != NULL) {
            name = ifs[i].if_name;
        } else if (optind + i < argc) {
            name = argv[optind + i];
        } else {
            break;
        }

        if (name == NULL) {
            break;
        }

        if (uct_tcp_zc_caps_query(name, flags, &caps) != UCS_OK) {
            fprintf(stderr, "no network device %s\n", name);
            ret = 1;
            continue;
        }

        if (json) {
            uct_tcp_zc_caps_print_json(&caps, count == 0);
        } else {
            uct_tcp_zc_caps_print_table(&caps);
        }
        ++count;
    }

    if (json) {
        printf("\n]\n");
    }

    if (ifs != NULL) {
        if_freenameindex(ifs);
    }
    return ret;
}
