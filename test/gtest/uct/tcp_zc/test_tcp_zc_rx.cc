/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

#include <common/test.h>

extern "C" {
#include <uct/tcp_zc/tcp_zc_rx.h>
#include <uct/api/uct_def.h>
}

#include <string>
#include <vector>


/*
 * The receive-side parser alone: byte streams in, events out.
 */
class test_tcp_zc_rx : public ucs::test {
protected:
    static const size_t MAX_AM = 1024;

    typedef std::vector<uint8_t> bytes_t;

    static void append(bytes_t &stream, const void *data, size_t length)
    {
        const uint8_t *p = (const uint8_t*)data;

        stream.insert(stream.end(), p, p + length);
    }

    static uct_tcp_zc_hdr_t hdr(uint8_t type, uint32_t length,
                                uint8_t am_id = 0)
    {
        uct_tcp_zc_hdr_t h;

        memset(&h, 0, sizeof(h));
        h.type    = type;
        h.am_id   = am_id;
        h.version = UCT_TCP_ZC_VERSION;
        h.length  = length;
        return h;
    }

    static void append_hdr(bytes_t &stream, const uct_tcp_zc_hdr_t &h)
    {
        append(stream, &h, sizeof(h));
    }

    static void append_hello(bytes_t &stream,
                             uint8_t status = UCT_TCP_ZC_HELLO_CONNECT)
    {
        uct_tcp_zc_hello_t hello;

        memset(&hello, 0, sizeof(hello));
        hello.magic     = UCT_TCP_ZC_MAGIC;
        hello.version   = UCT_TCP_ZC_VERSION;
        hello.status    = status;
        hello.sa_family = AF_INET;
        hello.port      = htons(1234);
        hello.conn_id   = 5;
        append(stream, &hello, sizeof(hello));
    }

    static void append_am(bytes_t &stream, uint8_t am_id, size_t length)
    {
        uct_tcp_zc_hdr_t h = hdr(UCT_TCP_ZC_MSG_AM, length, am_id);

        append(stream, &h, sizeof(h));
        for (size_t i = 0; i < length; ++i) {
            stream.push_back((uint8_t)i);
        }
    }

    static void append_rma(bytes_t &stream, uint8_t type, uint64_t length,
                           uint64_t address = 0x1000, uint8_t flags = 0)
    {
        uct_tcp_zc_hdr_t h = hdr(type, (type == UCT_TCP_ZC_MSG_PUT) ?
                                               length : 0);
        uct_tcp_zc_rma_hdr_t rma;

        h.flags     = flags;
        rma.address = address;
        rma.key     = 0x1234567890abcdefull;
        rma.length  = length;
        append(stream, &h, sizeof(h));
        append(stream, &rma, sizeof(rma));
        if ((type == UCT_TCP_ZC_MSG_PUT) &&
            !(flags & UCT_TCP_ZC_HDR_FLAG_DATA_CONN)) {
            for (uint64_t i = 0; i < length; ++i) {
                stream.push_back((uint8_t)(i * 3));
            }
        }
    }

    static void append_data_conn(bytes_t &stream, uint16_t port = 4321)
    {
        uct_tcp_zc_hdr_t h = hdr(UCT_TCP_ZC_MSG_DATA_CONN, 0);
        uct_tcp_zc_dc_hdr_t dc;

        memset(&dc, 0, sizeof(dc));
        dc.port = htons(port);
        append(stream, &h, sizeof(h));
        append(stream, &dc, sizeof(dc));
    }

    /* what a stream parses to, fed in pieces of at most chunk bytes; "E"
     * and the field end it at an error */
    static std::string parse(bool accepted, const bytes_t &stream,
                             size_t chunk = SIZE_MAX,
                             size_t *data_bytes = NULL, int data_port = 1)
    {
        static const char *names[] = {"-", "hello", "version", "am", "put",
                                      "get_req", "keepalive", "ep_closed",
                                      "data_conn", "put_ack", "get_resp",
                                      "rma_error", "data", "E"};
        uct_tcp_zc_rx_t rx;
        uct_tcp_zc_rx_msg_t msg;
        uct_tcp_zc_rx_event_t ev;
        std::string result;
        size_t pos = 0, avail = 0, data = 0;

        uct_tcp_zc_rx_init(&rx, accepted, MAX_AM);
        rx.data_port = data_port;
        for (;;) {
            if (uct_tcp_zc_rx_data_external(&rx)) {
                /* the caller takes them from the data connection */
                data += uct_tcp_zc_rx_data_left(&rx);
                EXPECT_EQ(1, uct_tcp_zc_rx_data_consumed(
                                     &rx, uct_tcp_zc_rx_data_left(&rx)));
                result += "dc_data ";
            }

            ev = uct_tcp_zc_rx_parse(&rx, &stream[0] + pos, avail, &msg);
            EXPECT_LE(msg.consumed, avail);
            if (ev == UCT_TCP_ZC_RX_EV_NONE) {
                EXPECT_EQ(0u, msg.consumed);
                if (pos + avail == stream.size()) {
                    break;
                }
                avail = std::min(stream.size() - pos,
                                 avail + std::min(chunk, stream.size()));
                continue;
            }

            pos   += msg.consumed;
            avail -= msg.consumed;
            if (ev == UCT_TCP_ZC_RX_EV_ERROR) {
                return result + "E:" + msg.error;
            } else if (ev == UCT_TCP_ZC_RX_EV_DATA) {
                data += msg.length;
                if (!msg.last) {
                    continue;
                }
            } else if (ev == UCT_TCP_ZC_RX_EV_AM) {
                EXPECT_LT(msg.hdr.am_id, UCT_AM_ID_MAX);
                EXPECT_EQ((const uint8_t*)msg.data,
                          &stream[0] + pos - msg.length);
            }
            result += std::string(names[ev]) + " ";
        }

        if (data_bytes != NULL) {
            *data_bytes = data;
        }
        return result;
    }
};


UCS_TEST_F(test_tcp_zc_rx, requests_in_any_pieces)
{
    bytes_t stream;

    append_hello(stream);
    append_am(stream, 0, 0);
    append_am(stream, UCT_AM_ID_MAX - 1, MAX_AM);
    append_rma(stream, UCT_TCP_ZC_MSG_PUT, 100);
    append_rma(stream, UCT_TCP_ZC_MSG_PUT, 0);
    append_rma(stream, UCT_TCP_ZC_MSG_GET_REQ, 1 << 20);
    uct_tcp_zc_hdr_t ka = hdr(UCT_TCP_ZC_MSG_KEEPALIVE, 0);
    append(stream, &ka, sizeof(ka));

    static const std::string expected = "hello am am put data put data "
                                        "get_req keepalive ";
    for (size_t chunk = 1; chunk <= stream.size(); chunk += 7) {
        size_t data = 0;
        EXPECT_EQ(expected, parse(true, stream, chunk, &data)) << chunk;
        EXPECT_EQ(100u, data);
    }
}

/* The side which connected: the peer's hello accepts, then answers and the
 * peer's own requests come in any order */
UCS_TEST_F(test_tcp_zc_rx, answers_and_requests)
{
    bytes_t stream;
    size_t data;

    append_hello(stream, UCT_TCP_ZC_HELLO_ACCEPT);
    uct_tcp_zc_hdr_t h = hdr(UCT_TCP_ZC_MSG_PUT_ACK, 0);
    append(stream, &h, sizeof(h));
    append_am(stream, 3, 10);
    h = hdr(UCT_TCP_ZC_MSG_GET_RESP, 300);
    append(stream, &h, sizeof(h));
    stream.resize(stream.size() + 300, 0xaa);
    append_rma(stream, UCT_TCP_ZC_MSG_PUT, 20);
    h = hdr(UCT_TCP_ZC_MSG_RMA_ERROR, 0);
    append(stream, &h, sizeof(h));
    h = hdr(UCT_TCP_ZC_MSG_GET_RESP, 0);
    append(stream, &h, sizeof(h));
    h = hdr(UCT_TCP_ZC_MSG_EP_CLOSED, 0);
    append(stream, &h, sizeof(h));
    h = hdr(UCT_TCP_ZC_MSG_PUT_ACK, 0);
    append(stream, &h, sizeof(h));

    EXPECT_EQ("hello put_ack am get_resp data put data rma_error get_resp "
              "data ep_closed put_ack ", parse(false, stream, 13, &data));
    EXPECT_EQ(320u, data);
}

/* A hello of another protocol version is told apart from garbage as soon as
 * its version byte came, whatever the size of that version's hello */
UCS_TEST_F(test_tcp_zc_rx, other_version)
{
    static const uint8_t versions[] = {1, UCT_TCP_ZC_VERSION + 1, 255};
    uct_tcp_zc_rx_msg_t msg;
    uct_tcp_zc_rx_t rx;

    for (size_t i = 0; i < ucs_static_array_size(versions); ++i) {
        for (int accepted = 0; accepted <= 1; ++accepted) {
            bytes_t stream;

            append_hello(stream, accepted ? UCT_TCP_ZC_HELLO_CONNECT :
                                            UCT_TCP_ZC_HELLO_ACCEPT);
            stream[offsetof(uct_tcp_zc_hello_t, version)] = versions[i];
            uct_tcp_zc_rx_init(&rx, accepted, MAX_AM);
            EXPECT_EQ(UCT_TCP_ZC_RX_EV_NONE,
                      uct_tcp_zc_rx_parse(&rx, &stream[0],
                                          UCT_TCP_ZC_HELLO_PREFIX - 1, &msg));
            ASSERT_EQ(UCT_TCP_ZC_RX_EV_VERSION,
                      uct_tcp_zc_rx_parse(&rx, &stream[0],
                                          UCT_TCP_ZC_HELLO_PREFIX, &msg));
            EXPECT_EQ(versions[i], msg.hello.version);
            /* nothing more is taken from that peer */
            EXPECT_EQ(UCT_TCP_ZC_RX_EV_ERROR,
                      uct_tcp_zc_rx_parse(&rx, &stream[0], stream.size(),
                                          &msg));
        }
    }
}

/* A refusal ends the stream */
UCS_TEST_F(test_tcp_zc_rx, refusal_ends_stream)
{
    static const uint8_t refusals[] = {UCT_TCP_ZC_HELLO_REJECT_SIMULT,
                                       UCT_TCP_ZC_HELLO_REJECT_VERSION};

    for (size_t i = 0; i < ucs_static_array_size(refusals); ++i) {
        bytes_t stream;

        append_hello(stream, refusals[i]);
        append_am(stream, 0, 4);
        EXPECT_EQ("hello E:stream after a protocol error or its end",
                  parse(false, stream));
    }
}

UCS_TEST_F(test_tcp_zc_rx, every_field_checked)
{
    typedef void (*build_t)(bytes_t &stream);
    static const size_t hello = sizeof(uct_tcp_zc_hello_t);
    static const struct {
        const char *name;
        const char *error;
        bool       accepted;
        build_t    build;
    } bad[] = {
        {"am_id 200", "am_id", true, [](bytes_t &b) {
             append_hello(b);
             append_am(b, 200, 16);
         }},
        {"am_id UCT_AM_ID_MAX", "am_id", true, [](bytes_t &b) {
             append_hello(b);
             append_am(b, UCT_AM_ID_MAX, 0);
         }},
        {"AM longer than a segment", "active message length", true,
         [](bytes_t &b) {
             append_hello(b);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_AM, MAX_AM + 1));
         }},
        {"flags of a keepalive", "keepalive header", true, [](bytes_t &b) {
             append_hello(b);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_KEEPALIVE, 0));
             b[hello + offsetof(uct_tcp_zc_hdr_t, flags)] = 1;
         }},
        {"flags of an AM", "header flags", true, [](bytes_t &b) {
             append_hello(b);
             append_am(b, 0, 4);
             b[hello + offsetof(uct_tcp_zc_hdr_t, flags)] =
                     UCT_TCP_ZC_HDR_FLAG_DATA_CONN;
         }},
        {"unknown flag of a PUT", "header flags", true, [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_PUT, 8, 0x1000, 0x80);
         }},
        {"GET request from the data connection", "header flags", true,
         [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_GET_REQ, 8, 0x1000,
                        UCT_TCP_ZC_HDR_FLAG_DATA_CONN);
         }},
        {"PUT data on a data connection not announced",
         "data on the data connection", true, [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_PUT, 8, 0x1000,
                        UCT_TCP_ZC_HDR_FLAG_DATA_CONN);
         }},
        {"empty PUT on the data connection", "data on the data connection",
         true, [](bytes_t &b) {
             append_hello(b);
             append_data_conn(b);
             append_rma(b, UCT_TCP_ZC_MSG_PUT, 0, 0x1000,
                        UCT_TCP_ZC_HDR_FLAG_DATA_CONN);
         }},
        {"GET response on a data connection not announced",
         "data on the data connection", false, [](bytes_t &b) {
             append_hello(b, UCT_TCP_ZC_HELLO_ACCEPT);
             uct_tcp_zc_hdr_t h = hdr(UCT_TCP_ZC_MSG_GET_RESP, 8);
             h.flags            = UCT_TCP_ZC_HDR_FLAG_DATA_CONN;
             append_hdr(b, h);
         }},
        {"two data connections",
         "data connection without a data port, or a second one", true,
         [](bytes_t &b) {
             append_hello(b);
             append_data_conn(b);
             append_data_conn(b, 4322);
         }},
        {"data connection port 0", "data connection port", true,
         [](bytes_t &b) {
             append_hello(b);
             append_data_conn(b, 0);
         }},
        {"data connection reserved field", "data connection port", true,
         [](bytes_t &b) {
             append_hello(b);
             append_data_conn(b);
             b.back() = 1;
         }},
        {"data connection with data", "data connection header", true,
         [](bytes_t &b) {
             append_hello(b);
             append_data_conn(b);
             b[hello + offsetof(uct_tcp_zc_hdr_t, length)] = 1;
         }},
        {"version", "header version", true, [](bytes_t &b) {
             append_hello(b);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_KEEPALIVE, 0));
             b[hello + offsetof(uct_tcp_zc_hdr_t, version)] += 1;
         }},
        {"unknown type", "message type", true, [](bytes_t &b) {
             append_hello(b);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_LAST, 0));
         }},
        {"request after the endpoint closed",
         "request after the endpoint closed", true, [](bytes_t &b) {
             append_hello(b);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_EP_CLOSED, 0));
             append_am(b, 0, 0);
         }},
        {"endpoint closed twice", "request after the endpoint closed", true,
         [](bytes_t &b) {
             append_hello(b);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_EP_CLOSED, 0));
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_EP_CLOSED, 0));
         }},
        {"endpoint closed with data", "endpoint closed header", true,
         [](bytes_t &b) {
             append_hello(b);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_EP_CLOSED, 4));
         }},
        {"RMA error with data", "RMA error header", false, [](bytes_t &b) {
             append_hello(b, UCT_TCP_ZC_HELLO_ACCEPT);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_RMA_ERROR, 4));
         }},
        {"RMA with am_id", "am_id of an RMA request", true, [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_GET_REQ, 8);
             b[hello + offsetof(uct_tcp_zc_hdr_t, am_id)] = 1;
         }},
        {"PUT lengths differ", "PUT length", true, [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_PUT, 8);
             b[hello + offsetof(uct_tcp_zc_hdr_t, length)] = 9;
         }},
        {"RMA too long", "RMA length", true, [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_GET_REQ,
                        UCT_TCP_ZC_RMA_MAX_LENGTH + 1);
         }},
        {"RMA address wraps", "RMA address", true, [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_GET_REQ, 16, UINT64_MAX - 8);
         }},
        {"GET request with data", "GET request length", true,
         [](bytes_t &b) {
             append_hello(b);
             append_rma(b, UCT_TCP_ZC_MSG_GET_REQ, 8);
             b[hello + offsetof(uct_tcp_zc_hdr_t, length)] = 8;
         }},
        {"hello magic", "hello magic", true, [](bytes_t &b) {
             append_hello(b);
             b[0] ^= 1;
         }},
        {"hello family", "hello address family", true, [](bytes_t &b) {
             append_hello(b);
             b[offsetof(uct_tcp_zc_hello_t, sa_family)] = AF_UNIX;
         }},
        {"hello flags", "hello flags", true, [](bytes_t &b) {
             append_hello(b);
             b[offsetof(uct_tcp_zc_hello_t, flags)] = 0x80;
         }},
        {"connecting hello as an answer", "hello status", false,
         [](bytes_t &b) { append_hello(b); }},
        {"answer hello from a connecting peer", "hello status", true,
         [](bytes_t &b) { append_hello(b, UCT_TCP_ZC_HELLO_ACCEPT); }},
        {"unknown hello status", "hello status", false, [](bytes_t &b) {
             append_hello(b, UCT_TCP_ZC_HELLO_STATUS_LAST);
         }},
        {"flags in an answer hello", "hello flags", false, [](bytes_t &b) {
             append_hello(b, UCT_TCP_ZC_HELLO_ACCEPT);
             b[offsetof(uct_tcp_zc_hello_t, flags)] =
                     UCT_TCP_ZC_HELLO_FLAG_TO_EP;
         }},
        {"no hello", "hello magic", false, [](bytes_t &b) {
             append_am(b, 0, 16);
         }},
        {"PUT ack with data", "PUT acknowledgement header", false,
         [](bytes_t &b) {
             append_hello(b, UCT_TCP_ZC_HELLO_ACCEPT);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_PUT_ACK, 1));
         }},
        {"GET response too long", "GET response length", false,
         [](bytes_t &b) {
             append_hello(b, UCT_TCP_ZC_HELLO_ACCEPT);
             append_hdr(b, hdr(UCT_TCP_ZC_MSG_GET_RESP,
                               UCT_TCP_ZC_RMA_MAX_LENGTH + 1));
         }}
    };

    for (size_t i = 0; i < ucs_static_array_size(bad); ++i) {
        bytes_t stream;

        bad[i].build(stream);
        std::string result = parse(bad[i].accepted, stream);
        size_t pos         = result.find("E:");

        ASSERT_NE(std::string::npos, pos) << bad[i].name << ": " << result;
        EXPECT_EQ(bad[i].error, result.substr(pos + 2)) << bad[i].name;
    }
}

/* A requester may have a bounded number of requests without an answer */
UCS_TEST_F(test_tcp_zc_rx, answers_owed_bounded)
{
    uct_tcp_zc_rx_t rx;
    uct_tcp_zc_rx_msg_t msg;
    bytes_t stream;

    uct_tcp_zc_rx_init(&rx, 1, MAX_AM);
    append_hello(stream);
    ASSERT_EQ(UCT_TCP_ZC_RX_EV_HELLO,
              uct_tcp_zc_rx_parse(&rx, &stream[0], stream.size(), &msg));
    stream.clear();
    append_rma(stream, UCT_TCP_ZC_MSG_GET_REQ, 64);
    for (unsigned i = 0; i < UCT_TCP_ZC_RMA_OUTSTANDING_MAX; ++i) {
        ASSERT_EQ(UCT_TCP_ZC_RX_EV_GET_REQ,
                  uct_tcp_zc_rx_parse(&rx, &stream[0], stream.size(), &msg));
    }

    /* one answer written makes room for one request */
    uct_tcp_zc_rx_answer_sent(&rx);
    EXPECT_EQ(UCT_TCP_ZC_RX_EV_GET_REQ,
              uct_tcp_zc_rx_parse(&rx, &stream[0], stream.size(), &msg));
    EXPECT_EQ(UCT_TCP_ZC_RX_EV_ERROR,
              uct_tcp_zc_rx_parse(&rx, &stream[0], stream.size(), &msg));
    EXPECT_EQ(std::string("requests without an answer"), msg.error);

    /* and the stream stays refused */
    uct_tcp_zc_rx_answer_sent(&rx);
    EXPECT_EQ(UCT_TCP_ZC_RX_EV_ERROR,
              uct_tcp_zc_rx_parse(&rx, &stream[0], stream.size(), &msg));
    EXPECT_EQ(0u, msg.consumed);
}

/* PUT data read straight to the destination by the caller */
UCS_TEST_F(test_tcp_zc_rx, data_consumed_by_caller)
{
    uct_tcp_zc_rx_t rx;
    uct_tcp_zc_rx_msg_t msg;
    bytes_t stream;

    uct_tcp_zc_rx_init(&rx, 1, MAX_AM);
    append_hello(stream);
    append_rma(stream, UCT_TCP_ZC_MSG_PUT, 1000);
    size_t headers = stream.size() - 1000;

    ASSERT_EQ(UCT_TCP_ZC_RX_EV_HELLO,
              uct_tcp_zc_rx_parse(&rx, &stream[0], headers, &msg));
    ASSERT_EQ(UCT_TCP_ZC_RX_EV_PUT,
              uct_tcp_zc_rx_parse(&rx, &stream[msg.consumed],
                                  headers - msg.consumed, &msg));
    EXPECT_EQ(1000u, msg.rma.length);
    EXPECT_EQ(1000u, uct_tcp_zc_rx_data_left(&rx));
    EXPECT_EQ(UCT_TCP_ZC_RX_EV_NONE,
              uct_tcp_zc_rx_parse(&rx, NULL, 0, &msg));
    EXPECT_EQ(0, uct_tcp_zc_rx_data_consumed(&rx, 999));
    EXPECT_EQ(1u, uct_tcp_zc_rx_data_left(&rx));
    EXPECT_EQ(1, uct_tcp_zc_rx_data_consumed(&rx, 1));
    EXPECT_EQ(0u, uct_tcp_zc_rx_data_left(&rx));
    EXPECT_EQ(UCT_TCP_ZC_RX_EV_NONE,
              uct_tcp_zc_rx_parse(&rx, NULL, 0, &msg));
}

/* Data on the data connection: the messages after its header wait until the
 * caller took all of them from there; announced once, and only to a side
 * with a data port */
UCS_TEST_F(test_tcp_zc_rx, data_connection)
{
    bytes_t stream;
    size_t data;

    append_hello(stream);
    append_am(stream, 1, 4);
    append_data_conn(stream);
    append_rma(stream, UCT_TCP_ZC_MSG_PUT, 5000, 0x1000,
               UCT_TCP_ZC_HDR_FLAG_DATA_CONN);
    append_am(stream, 2, 8);
    append_rma(stream, UCT_TCP_ZC_MSG_PUT, 30);
    append_rma(stream, UCT_TCP_ZC_MSG_GET_REQ, 70000, 0x1000,
               UCT_TCP_ZC_HDR_FLAG_DEVICE_DEST);
    append_rma(stream, UCT_TCP_ZC_MSG_PUT, 1 << 20, 0x1000,
               UCT_TCP_ZC_HDR_FLAG_DATA_CONN);

    for (size_t chunk = 1; chunk <= stream.size(); chunk += 5) {
        data = 0;
        EXPECT_EQ("hello am data_conn put dc_data am put data get_req put "
                  "dc_data ", parse(true, stream, chunk, &data)) << chunk;
        EXPECT_EQ(5000u + 30 + (1 << 20), data);
    }

    /* a side without a data port is never sent one */
    EXPECT_EQ("hello am E:data connection without a data port, or a second "
              "one", parse(true, stream, SIZE_MAX, NULL, 0));

    /* and answers come on it too */
    stream.clear();
    append_hello(stream, UCT_TCP_ZC_HELLO_ACCEPT);
    append_data_conn(stream);
    uct_tcp_zc_hdr_t h = hdr(UCT_TCP_ZC_MSG_GET_RESP, 777);
    h.flags            = UCT_TCP_ZC_HDR_FLAG_DATA_CONN;
    append_hdr(stream, h);
    append_hdr(stream, hdr(UCT_TCP_ZC_MSG_PUT_ACK, 0));
    data = 0;
    EXPECT_EQ("hello data_conn get_resp dc_data put_ack ",
              parse(false, stream, 3, &data));
    EXPECT_EQ(777u, data);
}
