/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include "test_tcp_zc.h"

extern "C" {
#include <uct/tcp_zc/tcp_zc_netdev.h>
}
