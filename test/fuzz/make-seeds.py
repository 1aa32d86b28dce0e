#!/usr/bin/env python3
#
# Write the hand-made seed inputs of the fuzz targets into corpus/<target>/
# (the files are in the repository; this says what each one is). Reproducers
# of fixed crashes sit beside them under names which say what they found.
#

import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    path = os.path.join(here, "corpus", target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# errqueue: byte 0 = flags (1: MSG_CTRUNC), then the control buffer: struct
# cmsghdr {size_t len; int level; int type}, struct sock_extended_err
# {u32 errno; u8 origin, type, code, pad; u32 info; u32 data}, as recvmsg()
# returns them
SOL_IP, IP_RECVERR, SOL_IPV6, IPV6_RECVERR = 0, 11, 41, 25
ORIGIN_LOCAL, ORIGIN_ZEROCOPY = 1, 5


def cmsg(level, type, payload):
    data = struct.pack("<QiI", 16 + len(payload), level, type) + payload
    return data + b"\0" * (-len(data) % 8)


def serr(errno, origin, code, info, data, extra=b""):
    return struct.pack("<IBBBBII", errno, origin, 0, code, 0, info,
                       data) + extra


write("errqueue", "zc-ipv4-one", b"\0" + cmsg(SOL_IP, IP_RECVERR,
      serr(0, ORIGIN_ZEROCOPY, 0, 0, 0)))
write("errqueue", "zc-ipv6-copied", b"\0" + cmsg(SOL_IPV6, IPV6_RECVERR,
      serr(0, ORIGIN_ZEROCOPY, 1, 5, 9)))
write("errqueue", "zc-ipv4-wrapping", b"\0" + cmsg(SOL_IP, IP_RECVERR,
      serr(0, ORIGIN_ZEROCOPY, 0, 0xfffffffe, 1)))
# an ICMP-like local error with the offender's address after it
sin = struct.pack("<HH4s8x", 2, 0, bytes([198, 51, 100, 2]))
write("errqueue", "local-emsgsize", b"\0" + cmsg(SOL_IP, IP_RECVERR,
      serr(90, ORIGIN_LOCAL, 0, 1500, 0, sin)))
write("errqueue", "ctrunc", b"\1" + cmsg(SOL_IP, IP_RECVERR,
      serr(0, ORIGIN_ZEROCOPY, 0, 0, 0)))
write("errqueue", "timestamp-first", b"\0" +
      cmsg(1, 29, struct.pack("<qq", 1, 2)) +
      cmsg(SOL_IP, IP_RECVERR, serr(0, ORIGIN_ZEROCOPY, 0, 3, 4)))
# found by the fuzzer: cmsg_len beyond the control buffer made the parser
# read the extended error past the end of the buffer
write("errqueue", "crash-cmsg-len-beyond-buffer", b"\0" +
      struct.pack("<QiI", 32, SOL_IP, IP_RECVERR) +
      struct.pack("<IBBBB", 0, ORIGIN_ZEROCOPY, 0, 0, 0))


# zcid: byte 0 = first id (0: 2^32 - 1 - byte 1), then operations (see
# fuzz_zcid_step): 0 n: send 1 + n % 32; 1: fill the window; 2 n: in order,
# 1 + n ids; 3 o o n: the run of outstanding ids from done + o, up to 1 + n;
# 4 o o l l: offset o (signed) from done, l ids; 5 lo hi: absolute range;
# 6 a b: the last range again; 7 o o: one id; 8 n: the last 1 + n % 64 ids
# sent; 9: all outstanding ids, coalesced
def u16(v):
    return struct.pack("<H", v & 0xffff)


write("zcid", "in-order-wrapping", bytes([0, 2]) +
      bytes([0, 7, 2, 3, 2, 3, 0, 31, 2, 15, 2, 200]))
write("zcid", "out-of-order", bytes([0, 0]) +
      bytes([0, 15]) + bytes([3]) + u16(4) + bytes([3]) +
      bytes([3]) + u16(12) + bytes([1]) + bytes([3]) + u16(0) + bytes([1]) +
      bytes([9]) + bytes([6, 0, 0]))
write("zcid", "window-full-coalesced", bytes([0, 100]) +
      bytes([1, 0, 0, 9, 1, 3]) + u16(512) + bytes([255]) + bytes([9, 1, 9]))
write("zcid", "foreign-ranges", bytes([2]) + struct.pack("<I", 0x7ffffff0) +
      bytes([0, 20, 5]) + struct.pack("<II", 0x80000000, 0x7ffffff0) +
      bytes([4]) + u16(-3) + u16(5) + bytes([4]) + u16(0) + u16(0) +
      bytes([7]) + u16(1024) + bytes([8, 3, 9]))


# rx: byte 0: bit 0 accepted side (the peer's hello connects; else it
# answers), bits 1-3 max_am index (0, 1, 16, 24, 64, 1000, 8192, 65536),
# bits 4-6 all set: after a hello which accepts and the request limit less
# 1 + bit 7 GET requests; bytes 1-4 seed of the piece sizes (bit 31: this
# side has a data port); bytes 5-8 answers after each request (2 bits each);
# then the stream (protocol version 3: a hello from both sides, then
# requests and answers both ways, PUT and GET response data maybe on the
# data connection)
MAGIC, VERSION = 0x317a6370637475, 3
AM, PUT, PUT_ACK, GET_REQ, GET_RESP, KEEPALIVE, RMA_ERROR, EP_CLOSED, \
    DATA_CONN = range(1, 10)
FLAG_DATA_CONN, FLAG_DEVICE_DEST = 1, 2
SEED_DATA_PORT = 1 << 31
CONNECT, ACCEPT, REJECT_SIMULT, REJECT_VERSION = range(4)
FLAG_TO_EP = 1


def rx_cfg(accepted, max_am_index, seed=0x12345678, answers=0xffffffff,
           primed=None):
    b0 = (1 if accepted else 0) | (max_am_index << 1)
    if primed is not None:
        b0 |= 0x70 | (primed << 7)
    return bytes([b0]) + struct.pack("<II", seed, answers)


# magic, version, status, flags, family, port, data port, conn_id, addr
def hello(status=CONNECT, flags=0, family=2, port=4242, conn_id=7,
          addr=bytes([127, 0, 0, 1]) + bytes(12), version=VERSION,
          data_port=0):
    return struct.pack("<QBBBBHHQ16s", MAGIC, version, status, flags, family,
                       port, data_port, conn_id, addr)


def hdr(type, length=0, am_id=0, version=VERSION, flags=0):
    return struct.pack("<BBBBI", type, am_id, version, flags, length)


def rma(type, address, length, key=0x1234, hdr_length=None, flags=0):
    if hdr_length is None:
        hdr_length = length if type == PUT else 0
    return (hdr(type, hdr_length, flags=flags) +
            struct.pack("<QQQ", address, key, length))


def data_conn(port=5555, reserved=0):
    return hdr(DATA_CONN) + struct.pack("<HHI", port, 0, reserved)


requests = (hdr(AM, 16, am_id=0) + bytes(range(16)) + hdr(AM, 0, am_id=31) +
            hdr(KEEPALIVE) + rma(PUT, 0x10000, 100) + bytes(100) +
            rma(GET_REQ, 0x20000, 64) + rma(PUT, 0x30000, 0) +
            hdr(AM, 3, am_id=5) + b"abc")
answers = (hdr(PUT_ACK) + hdr(GET_RESP, 50) + bytes(range(50)) +
           hdr(GET_RESP, 0) + hdr(RMA_ERROR) + hdr(PUT_ACK) +
           hdr(GET_RESP, 3) + b"xyz")

# both sides take requests and answers after the hello
write("rx", "requests", rx_cfg(True, 6) + hello() + requests)
write("rx", "requests-small-buffer", rx_cfg(True, 0, seed=7) +
      hello(family=10, flags=FLAG_TO_EP, addr=bytes(15) + b"\1") +
      hdr(AM, 0) + rma(GET_REQ, 0, 0) + rma(PUT, 0xfff0, 16) + bytes(16))
write("rx", "answers", rx_cfg(False, 2, seed=99) + hello(ACCEPT) + answers)
write("rx", "answers-on-accepted-side", rx_cfg(True, 2, seed=5) + hello() +
      answers)
write("rx", "requests-on-connecting-side", rx_cfg(False, 6, seed=3) +
      hello(ACCEPT) + requests)
write("rx", "mixed", rx_cfg(False, 4, seed=11, answers=0x1b1b1b1b) +
      hello(ACCEPT, family=10) + rma(PUT, 0x4000, 8) + b"12345678" +
      hdr(PUT_ACK) + hdr(AM, 2, am_id=1) + b"hi" + hdr(GET_RESP, 5) +
      b"abcde" + rma(GET_REQ, 0x5000, 32) + hdr(RMA_ERROR) + hdr(KEEPALIVE))
# the peer closed its endpoint: answers still come, requests do not
write("rx", "ep-closed-answers", rx_cfg(True, 6) + hello() +
      rma(GET_REQ, 0x1000, 8) + hdr(EP_CLOSED) + hdr(PUT_ACK) +
      hdr(GET_RESP, 4) + b"abcd" + hdr(RMA_ERROR))
write("rx", "ep-closed-then-request", rx_cfg(False, 6) + hello(ACCEPT) +
      hdr(EP_CLOSED) + hdr(PUT_ACK) + hdr(AM, 4) + b"abcd")
write("rx", "ep-closed-twice", rx_cfg(True, 6) + hello() + hdr(EP_CLOSED) +
      hdr(EP_CLOSED))
write("rx", "ep-closed-with-data", rx_cfg(True, 6) + hello() +
      hdr(EP_CLOSED, 4) + b"abcd")
write("rx", "rma-error-with-data", rx_cfg(False, 6) + hello(ACCEPT) +
      hdr(RMA_ERROR, 1) + b"x")
# hellos: refusals end the stream, another version is told after its
# version byte, the status and flags belong to the side
write("rx", "hello-reject-simult", rx_cfg(False, 6) + hello(REJECT_SIMULT) +
      hdr(PUT_ACK))
write("rx", "hello-reject-version", rx_cfg(False, 6) +
      hello(REJECT_VERSION))
write("rx", "hello-version-1", rx_cfg(True, 6) +
      struct.pack("<QBBHI16s", MAGIC, 1, 2, 4242, 0, bytes(16)) +
      hdr(AM, 0, version=1))
write("rx", "hello-version-4", rx_cfg(False, 0) + hello(ACCEPT, version=4))
write("rx", "hello-version-prefix", rx_cfg(True, 6) +
      struct.pack("<QB", MAGIC, 255))
write("rx", "hello-connect-as-answer", rx_cfg(False, 6) + hello() +
      hdr(PUT_ACK))
write("rx", "hello-accept-from-connecting", rx_cfg(True, 6) +
      hello(ACCEPT) + hdr(KEEPALIVE))
write("rx", "hello-bad-status", rx_cfg(False, 6) + hello(4))
write("rx", "hello-flags-in-answer", rx_cfg(False, 6) +
      hello(ACCEPT, flags=FLAG_TO_EP))
write("rx", "hello-unknown-flag", rx_cfg(True, 6) + hello(flags=0x80))
write("rx", "hello-data-port", rx_cfg(True, 6) + hello(data_port=7777) +
      hdr(KEEPALIVE))
write("rx", "hello-bad-family", rx_cfg(False, 6) + hello(ACCEPT, family=1))
write("rx", "hello-bad-magic", rx_cfg(True, 6) + b"X" + hello()[1:])
write("rx", "no-hello", rx_cfg(False, 6) + hdr(PUT_ACK) + hdr(AM, 16) +
      bytes(16))
# the attack of issue 14: an active message id beyond the table
write("rx", "am-id-200", rx_cfg(True, 6) + hello() + hdr(AM, 16, am_id=200) +
      bytes(16))
write("rx", "request-limit", rx_cfg(True, 6, answers=0, primed=1) +
      rma(GET_REQ, 0x1000, 8) + rma(PUT, 0x1000, 4) + b"data" +
      rma(GET_REQ, 0x1000, 8))
write("rx", "request-limit-answered", rx_cfg(True, 6, answers=0x55555555,
      primed=0) + rma(GET_REQ, 0x1000, 8) + rma(GET_REQ, 0x1000, 8) +
      hdr(KEEPALIVE))
write("rx", "request-limit-connecting-side", rx_cfg(False, 6, answers=0,
      primed=0) + rma(GET_REQ, 0x1000, 8) + hdr(PUT_ACK) +
      hdr(GET_RESP, 2) + b"ok" + rma(PUT, 0x1000, 1) + b"x")
write("rx", "put-length-mismatch", rx_cfg(True, 6) + hello() +
      rma(PUT, 0x1000, 8, hdr_length=9) + bytes(9))
write("rx", "rma-wraps", rx_cfg(True, 6) + hello() +
      rma(GET_REQ, 0xfffffffffffffff0, 32))
write("rx", "unknown-type", rx_cfg(False, 6) + hello(ACCEPT) + hdr(10))
# data on the data connection: announced once, to a side with a data port,
# then PUT and GET response data there while the messages after them wait
write("rx", "data-conn", rx_cfg(True, 6, seed=SEED_DATA_PORT | 77) +
      hello() + hdr(AM, 2) + b"hi" + data_conn() +
      rma(PUT, 0x1000, 5000, flags=FLAG_DATA_CONN) + hdr(AM, 1) + b"x" +
      rma(GET_REQ, 0x2000, 9000, flags=FLAG_DEVICE_DEST) +
      rma(PUT, 0x3000, 16) + bytes(16) +
      rma(PUT, 0x4000, 1 << 20, flags=FLAG_DATA_CONN))
write("rx", "data-conn-answers", rx_cfg(False, 6, seed=SEED_DATA_PORT | 5) +
      hello(ACCEPT) + data_conn(1) + hdr(GET_RESP, 70, flags=FLAG_DATA_CONN) +
      hdr(PUT_ACK) + hdr(GET_RESP, 3) + b"abc")
write("rx", "data-conn-not-announced",
      rx_cfg(True, 6, seed=SEED_DATA_PORT | 9) + hello() +
      rma(PUT, 0x1000, 64, flags=FLAG_DATA_CONN))
write("rx", "data-conn-no-data-port", rx_cfg(True, 6) + hello() +
      data_conn())
write("rx", "data-conn-twice", rx_cfg(True, 6, seed=SEED_DATA_PORT | 3) +
      hello() + data_conn() + data_conn(6666))
write("rx", "data-conn-empty-put", rx_cfg(True, 6, seed=SEED_DATA_PORT | 3) +
      hello() + data_conn() + rma(PUT, 0x1000, 0, flags=FLAG_DATA_CONN))
write("rx", "header-flags", rx_cfg(True, 6) + hello() +
      hdr(KEEPALIVE, flags=FLAG_DATA_CONN))


# dmrx: header (little endian) u8 flags (bit 0: MSG_CTRUNC), u32 bytes
# received, u32 iov length, u8 room for fragments, u32 pool dmabuf id, u64
# pool size; then the control data of recvmsg(MSG_SOCK_DEVMEM): cmsgs at
# SOL_SOCKET (1) of type SCM_DEVMEM_LINEAR (78) or SCM_DEVMEM_DMABUF (79),
# each a struct dmabuf_cmsg {u64 frag_offset; u32 frag_size, frag_token,
# dmabuf_id, flags}
SOL_SOCKET, SCM_DEVMEM_LINEAR, SCM_DEVMEM_DMABUF = 1, 78, 79
POOL_ID, POOL_SIZE = 3, 1 << 20


def dmrx_cfg(nbytes, iov_len=65536, room=64, flags=0, pool_id=POOL_ID,
             pool_size=POOL_SIZE):
    return struct.pack("<BIIBIQ", flags, nbytes, iov_len, room, pool_id,
                       pool_size)


def dm_frag(offset, size, token, dmabuf_id=POOL_ID):
    return cmsg(SOL_SOCKET, SCM_DEVMEM_DMABUF,
                struct.pack("<QIIII", offset, size, token, dmabuf_id, 0))


def dm_linear(size):
    return cmsg(SOL_SOCKET, SCM_DEVMEM_LINEAR,
                struct.pack("<QIIII", 0, size, 0, 0, 0))


write("dmrx", "ordinary-data", dmrx_cfg(1000))
write("dmrx", "pages", dmrx_cfg(3 * 4096) + dm_frag(0, 4096, 1) +
      dm_frag(4096, 4096, 2) + dm_frag(65536, 4096, 3))
write("dmrx", "linear-and-pages", dmrx_cfg(100 + 4096 + 50 + 10, 150) +
      dm_linear(100) + dm_frag(8192, 4096, 7) + dm_linear(50) +
      dm_frag(POOL_SIZE - 10, 10, 0x7fffffff))
write("dmrx", "tokens-out-of-order", dmrx_cfg(4 * 4096) +
      dm_frag(0, 4096, 9) + dm_frag(4096, 4096, 5) + dm_frag(8192, 4096, 6) +
      dm_frag(12288, 4096, 1))
write("dmrx", "other-cmsg", dmrx_cfg(4096) +
      cmsg(SOL_SOCKET, 29, struct.pack("<qq", 1, 2)) + dm_frag(0, 4096, 1))
write("dmrx", "wrong-dmabuf", dmrx_cfg(4096) + dm_frag(0, 4096, 1, 4))
write("dmrx", "past-pool-end", dmrx_cfg(4096) +
      dm_frag(POOL_SIZE - 4095, 4096, 1))
write("dmrx", "offset-wraps", dmrx_cfg(4096) +
      dm_frag(0xfffffffffffff000, 4096, 1))
write("dmrx", "total-short", dmrx_cfg(8191) + dm_frag(0, 4096, 1) +
      dm_frag(4096, 4096, 2))
write("dmrx", "ctrunc", dmrx_cfg(4096, flags=1) + dm_frag(0, 4096, 1))
