/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#ifndef UCT_TCP_ZC_DC_H
#define UCT_TCP_ZC_DC_H

#include "tcp_zc.h"

/*
 * Data connections (tcp_zc_dc.c): payload-only TCP connections beside a
 * connection, for PUT data from or to device memory. An iface with a data
 * port (UCX_TCP_ZC_DATA_CONN; with devmem receive, the port which the NIC
 * steers into its RX pool) names it in its hellos; a peer opens one data
 * connection to it per connection when it first sends such data, and says so
 * on the connection (DATA_CONN, with the source port), where the data
 * connection is matched. Those data go on it in the order in which their
 * headers start on the connection, which the receive driver reads them in.
 */


/* Whether data of length bytes from or to device memory (a dmabuf
 * registration) go on the data connection; with UCX_TCP_ZC_DATA_CONN=y,
 * those of host memory too */
int uct_tcp_zc_dc_wanted(const uct_tcp_zc_conn_t *conn, int src_device,
                         int dst_device, size_t length);

/**
 * Open this side's data connection to the peer's data port (conn->dc.tx):
 * *port_p is its source port, which the caller announces on conn before it
 * sends anything on it.
 */
ucs_status_t uct_tcp_zc_dc_connect(uct_tcp_zc_conn_t *conn,
                                   uint16_t *port_p);

/* A descriptor of data for this side's data connection of conn, which
 * references iov: sent from the dmabuf of memh (if not NULL, the
 * registration of all of iov) where the device can, else by the CPU. Its
 * memh field, if the caller sets it, is a referenced registration which is
 * locked around each write and released with the descriptor. */
uct_tcp_zc_tx_t *uct_tcp_zc_dc_tx_get(uct_tcp_zc_conn_t *conn,
                                     const struct iovec *iov, unsigned iovcnt,
                                     uct_tcp_zc_memh_t *memh);

/* Queue data on a data connection: call it when their header starts on the
 * connection, so that the data connection has them in header order. They
 * are written from the data connection's events. */
void uct_tcp_zc_dc_push(uct_tcp_zc_dc_t *dc, uct_tcp_zc_tx_t *tx);

/**
 * Receive data of the current message from the peer's data connection into
 * buf (NULL: drop them), as recv() does: the bytes received, 0 if the peer
 * closed it, -1 with errno (EAGAIN: none there yet; the data connection's
 * events call the connection's event handler when they are).
 */
ssize_t uct_tcp_zc_dc_recv(uct_tcp_zc_conn_t *conn, void *buf, size_t length);

/* The peer's DATA_CONN: its data connection comes from this source port
 * (network order) of its address */
void uct_tcp_zc_dc_announced(uct_tcp_zc_conn_t *conn, uint16_t port);

/* The data port of an iface: listen, or close and free all */
ucs_status_t uct_tcp_zc_dc_iface_init(uct_tcp_zc_iface_t *iface);
void uct_tcp_zc_dc_iface_cleanup(uct_tcp_zc_iface_t *iface);

#endif
