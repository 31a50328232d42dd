/*
 * check_ws.c: unit tests of the WebSocket framer (ws.c): client frames
 * decoded into lines (masked, fragmented, split anywhere, UTF-8 across
 * fragments), pings and closes, every refusal with the close code RFC
 * 6455 names, server frames, and the handshake's accept key (the RFC's
 * own example); and the transport (tport_ws.c) over one end of a
 * socketpair: lines written in batches into a small socket buffer come
 * out as whole frames, in order, however the writes are cut; frames
 * sent before the hand-off are read first; a ping is answered.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "harness.h"
#include "transport.h"
#include "ws.h"

static uint8_t wire[70000];
static size_t wlen;

/* Append a client frame: opcode, fin, masked or not. */
static void
frame(int op, int fin, int masked, const void *payload, size_t n)
{
    static const uint8_t m[4] = { 0x37, 0xfa, 0x21, 0x3d };
    const uint8_t *p = payload;

    wire[wlen++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        wire[wlen++] = (uint8_t)((masked ? 0x80 : 0) | n);
    } else if (n < 65536) {
        wire[wlen++] = (uint8_t)((masked ? 0x80 : 0) | 126);
        wire[wlen++] = (uint8_t)(n >> 8);
        wire[wlen++] = (uint8_t)n;
    } else {
        wire[wlen++] = (uint8_t)((masked ? 0x80 : 0) | 127);
        for (int i = 7; i >= 0; i--)
            wire[wlen++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    if (masked) {
        memcpy(wire + wlen, m, 4);
        wlen += 4;
    }
    for (size_t i = 0; i < n; i++)
        wire[wlen++] = masked ? p[i] ^ m[i & 3] : p[i];
}

static struct ws_dec dec;
static uint8_t out[70000];
static size_t olen;

/* Decode the wire in pieces of step bytes until an event (or the end). */
static enum ws_event
run(size_t step)
{
    size_t at = 0;
    enum ws_event ev = WS_MORE;

    olen = 0;
    while (at < wlen) {
        size_t used, made, k = wlen - at < step ? wlen - at : step;
        ev = ws_decode(&dec, wire + at, k, &used, out + olen,
                       sizeof(out) - olen, &made);
        at += used;
        olen += made;
        if (ev != WS_MORE)
            return ev;
    }
    return ev;
}

static void
setup(void)
{
    wlen = 0;
    ws_dec_init(&dec, 1024);
}

START_TEST(test_text_is_a_line)
{
    frame(1, 1, 1, "hello", 5);
    frame(1, 1, 1, "two\r\nlines", 10);
    ck_assert_int_eq(run(wlen), WS_MORE);
    ck_assert_uint_eq(olen, 17);
    ck_assert(memcmp(out, "hello\ntwo  lines\n", 17) == 0);
}
END_TEST

START_TEST(test_byte_by_byte_and_fragments)
{
    /* "é€" split inside characters across fragments, a ping between. */
    frame(1, 0, 1, "a\xc3", 2);
    frame(9, 1, 1, "p", 1);
    frame(0, 0, 1, "\xa9\xe2\x82", 3);
    frame(0, 1, 1, "\xac!", 2);
    ck_assert_int_eq(run(1), WS_PING);
    ck_assert_uint_eq(dec.ctl_len, 1);
    ck_assert_int_eq(dec.ctl[0], 'p');
    /* Go on from where the ping stopped. */
    size_t done = 2 + 4 + 2 + 2 + 4 + 1, used, made;
    ck_assert_int_eq(ws_decode(&dec, wire + done, wlen - done, &used,
                               out + olen, sizeof(out) - olen, &made),
                     WS_MORE);
    olen += made;
    ck_assert_uint_eq(olen, 8);
    ck_assert(memcmp(out, "a\xc3\xa9\xe2\x82\xac!\n", 8) == 0);
}
END_TEST

START_TEST(test_lengths_16_and_64_bit)
{
    static char big[70000];

    memset(big, 'x', sizeof(big));
    ws_dec_init(&dec, 65536);
    frame(1, 1, 1, big, 300);
    frame(1, 1, 1, big, 65536);
    ck_assert_int_eq(run(1000), WS_MORE);
    ck_assert_uint_eq(olen, 300 + 1 + 65536 + 1);
}
END_TEST

START_TEST(test_close_echoes_code)
{
    frame(8, 1, 1, "\x03\xe9going", 7);
    ck_assert_int_eq(run(wlen), WS_CLOSE);
    ck_assert_uint_eq(dec.close_code, 1001);
    wlen = 0;
    ws_dec_init(&dec, 1024);
    frame(8, 1, 1, "", 0);
    ck_assert_int_eq(run(wlen), WS_CLOSE);
    ck_assert_uint_eq(dec.close_code, 0);
}
END_TEST

/* One bad input: the event, the code. */
static void
expect_error(uint16_t code)
{
    ck_assert_int_eq(run(wlen), WS_ERROR);
    ck_assert_uint_eq(dec.close_code, code);
    ck_assert_ptr_nonnull(dec.why);
    /* Nothing more is decoded after it. */
    size_t used = 1, made = 1;
    ck_assert_int_eq(ws_decode(&dec, wire, wlen, &used, out, 10, &made),
                     WS_ERROR);
    ck_assert_uint_eq(used + made, 0);
}

START_TEST(test_unmasked_1002)
{
    frame(1, 1, 0, "hi", 2);
    expect_error(WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(test_binary_1003)
{
    frame(2, 1, 1, "\0\1", 2);
    expect_error(WS_CLOSE_DATA);
}
END_TEST

START_TEST(test_bad_utf8_1007)
{
    static const char *const bad[] = {
        "\xc3(", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff",
        "\xe2\x82",                 /* ends inside a character */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup();
        frame(1, 1, 1, bad[i], strlen(bad[i]));
        expect_error(WS_CLOSE_BAD_TEXT);
    }
    setup();
    frame(8, 1, 1, "\x03\xe8\xff", 3);          /* close reason */
    expect_error(WS_CLOSE_BAD_TEXT);
}
END_TEST

START_TEST(test_too_big_1009)
{
    static char big[2000];

    memset(big, 'y', sizeof(big));
    frame(1, 1, 1, big, 1025);
    expect_error(WS_CLOSE_TOO_BIG);
    /* Fragments count together. */
    setup();
    frame(1, 0, 1, big, 600);
    frame(0, 1, 1, big, 600);
    expect_error(WS_CLOSE_TOO_BIG);
    /* Exactly max is fine. */
    setup();
    frame(1, 1, 1, big, 1024);
    ck_assert_int_eq(run(wlen), WS_MORE);
    ck_assert_uint_eq(olen, 1025);
}
END_TEST

START_TEST(test_protocol_errors_1002)
{
    static char p126[126];

    frame(1, 1, 1, "x", 1);
    wire[0] |= 0x40;                            /* RSV1 */
    expect_error(WS_CLOSE_PROTOCOL);
    setup();
    frame(3, 1, 1, "x", 1);                     /* reserved opcode */
    expect_error(WS_CLOSE_PROTOCOL);
    setup();
    frame(9, 0, 1, "x", 1);                     /* fragmented ping */
    expect_error(WS_CLOSE_PROTOCOL);
    setup();
    frame(9, 1, 1, p126, sizeof(p126));         /* ping over 125 */
    expect_error(WS_CLOSE_PROTOCOL);
    setup();
    frame(0, 1, 1, "x", 1);                     /* continues nothing */
    expect_error(WS_CLOSE_PROTOCOL);
    setup();
    frame(1, 0, 1, "x", 1);
    frame(1, 1, 1, "y", 1);                     /* new message inside */
    expect_error(WS_CLOSE_PROTOCOL);
    setup();
    frame(8, 1, 1, "\x03", 1);                  /* close of one byte */
    expect_error(WS_CLOSE_PROTOCOL);
    setup();
    frame(8, 1, 1, "\x03\xed", 2);              /* 1005: not to be sent */
    expect_error(WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(test_server_frames)
{
    uint8_t h[WS_HEADER_MAX];

    ck_assert_uint_eq(ws_header(h, 1, 5), 2);
    ck_assert_int_eq(h[0], 0x81);
    ck_assert_int_eq(h[1], 5);
    ck_assert_uint_eq(ws_header(h, 1, 300), 4);
    ck_assert_int_eq(h[1], 126);
    ck_assert_int_eq(h[2] << 8 | h[3], 300);
    ck_assert_uint_eq(ws_header(h, 1, 70000), 10);
    ck_assert_int_eq(h[1], 127);
    ck_assert_uint_eq(ws_header_len(125), 2);
    ck_assert_uint_eq(ws_header_len(126), 4);
    ck_assert_uint_eq(ws_header_len(65536), 10);
    ck_assert_uint_eq(ws_close_frame(h, 1002), 4);
    ck_assert(memcmp(h, "\x88\x02\x03\xea", 4) == 0);
}
END_TEST

START_TEST(test_accept_key)
{
    char acc[WS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";  /* RFC 6455 1.3 */

    ck_assert(ws_key_valid(key, strlen(key)));
    ck_assert_int_eq(ws_accept(key, strlen(key), acc), 0);
    ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ck_assert(!ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=", 23));
    ck_assert(!ws_key_valid("dGhlIHNhbXBsZSBub25j*Q==", 24));
    ck_assert(!ws_key_valid("dGhlIHNhbXBsZSBub25jZQQQ", 24));
}
END_TEST

/* ------------------------------------------------------------------ */
/* The transport over a socketpair                                     */
/* ------------------------------------------------------------------ */

static int sv[2];
static char *got;               /* what the peer unframed, as lines */
static size_t got_len, got_cap;
static uint8_t peer_raw[1 << 20];
static size_t peer_len;

/* Read what the transport sent and unframe the whole frames of it. */
static void
drain_peer(void)
{
    ssize_t n;

    while ((n = read(sv[1], peer_raw + peer_len,
                     sizeof(peer_raw) - peer_len)) > 0)
        peer_len += (size_t)n;
    size_t r = 0;
    while (peer_len - r >= 2) {
        size_t h = 2, len = peer_raw[r + 1] & 0x7f;
        ck_assert_int_eq(peer_raw[r + 1] & 0x80, 0);    /* unmasked */
        ck_assert_uint_ne(len, 127);        /* no 64-bit lengths here */
        if (len == 126) {
            if (peer_len - r < 4)
                break;
            len = (size_t)peer_raw[r + 2] << 8 | peer_raw[r + 3];
            h = 4;
        }
        if (peer_len - r < h + len)
            break;
        if (got_len + len + 1 > got_cap) {
            got_cap = (got_len + len + 1) * 2;
            got = realloc(got, got_cap);
            ck_assert_ptr_nonnull(got);
        }
        ck_assert_int_eq(peer_raw[r], 0x81);
        memcpy(got + got_len, peer_raw + r + h, len);
        got_len += len;
        got[got_len++] = '\n';
        r += h + len;
    }
    memmove(peer_raw, peer_raw + r, peer_len - r);
    peer_len -= r;
}

static struct transport *
pair_transport(const void *pre, size_t npre)
{
    int small = 4096;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    got_len = peer_len = 0;
    return tport_ws_new(tport_plain_new(sv[0]), pre, npre, 1024, NULL);
}

START_TEST(test_transport_partial_writes)
{
    static char stream[400000], fill[300];
    static size_t starts[5000];
    size_t total = 0, off = 0;
    int nlines = 0, calls = 0, cur = 0;
    struct transport *t = pair_transport(NULL, 0);

    memset(fill, 'x', sizeof(fill));
    while (total < sizeof(stream) - 400 && nlines < 5000) {
        starts[nlines++] = total;
        total += (size_t)snprintf(stream + total, 400, "line %d %.*s\n",
                                  nlines, nlines % 300, fill);
        if (nlines % 7 == 0)            /* a CRLF now and then */
            memcpy(stream + total - 1, "\r\n", 2), total++;
    }
    /* What the worker does: offer whole lines from where it is (a line
     * begun first), move on by what was taken. */
    while (off < total) {
        struct iovec iov[64];
        int n = 0, l;
        while (cur + 1 < nlines && starts[cur + 1] <= off)
            cur++;
        l = cur;
        for (size_t at = off; n < 64 && at < total; n++, l++) {
            size_t end = l + 1 < nlines ? starts[l + 1] : total;
            iov[n].iov_base = stream + at;
            iov[n].iov_len = end - at;
            at = end;
        }
        ssize_t w = tport_writev(t, iov, n);
        calls++;
        if (w < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            drain_peer();
            continue;
        }
        off += (size_t)w;
        if (calls % 3 == 0)
            drain_peer();
    }
    drain_peer();
    ck_assert_uint_eq(peer_len, 0);
    /* CRLF became the frame's end: compare without the CRs. */
    size_t k = 0;
    for (size_t i = 0; i < total; i++)
        if (stream[i] != '\r')
            stream[k++] = stream[i];
    ck_assert_uint_eq(got_len, k);
    ck_assert(memcmp(got, stream, k) == 0);
    ck_assert_int_gt(calls, 10);        /* the socket was full many times */
    tport_close(t);
    close(sv[1]);
}
END_TEST

START_TEST(test_transport_reads_and_pings)
{
    char buf[256];
    ssize_t n;
    struct transport *t;

    frame(1, 1, 1, "early", 5);             /* read with the upgrade */
    t = pair_transport(wire, wlen);
    ck_assert_uint_gt(tport_pending(t), 0);
    n = tport_read(t, buf, sizeof(buf));
    ck_assert_int_eq(n, 6);
    ck_assert(memcmp(buf, "early\n", 6) == 0);
    ck_assert_uint_eq(tport_pending(t), 0);
    wlen = 0;
    frame(9, 1, 1, "hi", 2);
    frame(1, 1, 1, "after", 5);
    ck_assert_int_eq(write(sv[1], wire, wlen), (ssize_t)wlen);
    n = tport_read(t, buf, sizeof(buf));
    ck_assert_int_eq(n, 6);
    ck_assert(memcmp(buf, "after\n", 6) == 0);
    n = read(sv[1], buf, sizeof(buf));      /* the pong */
    ck_assert_int_eq(n, 4);
    ck_assert(memcmp(buf, "\x8a\x02hi", 4) == 0);
    /* A bad frame fails the read; closing sends its code. */
    wlen = 0;
    frame(2, 1, 1, "b", 1);
    ck_assert_int_eq(write(sv[1], wire, wlen), (ssize_t)wlen);
    ck_assert_int_eq(tport_read(t, buf, sizeof(buf)), -1);
    ck_assert_int_eq(errno, EPROTO);
    ck_assert_ptr_nonnull(strstr(tport_strerror(t, errno), "1003"));
    tport_close(t);
    n = read(sv[1], buf, sizeof(buf));
    ck_assert_int_eq(n, 4);
    ck_assert(memcmp(buf, "\x88\x02\x03\xeb", 4) == 0);
    close(sv[1]);
}
END_TEST

static Suite *
ws_suite(void)
{
    Suite *s = suite_create("ws");
    TCase *tc = h_tcase(s, "Decode", setup, NULL, 0);

    tcase_add_test(tc, test_text_is_a_line);
    tcase_add_test(tc, test_byte_by_byte_and_fragments);
    tcase_add_test(tc, test_lengths_16_and_64_bit);
    tcase_add_test(tc, test_close_echoes_code);
    tc = h_tcase(s, "Refuse", setup, NULL, 0);
    tcase_add_test(tc, test_unmasked_1002);
    tcase_add_test(tc, test_binary_1003);
    tcase_add_test(tc, test_bad_utf8_1007);
    tcase_add_test(tc, test_too_big_1009);
    tcase_add_test(tc, test_protocol_errors_1002);
    tc = h_tcase(s, "Encode", NULL, NULL, 0);
    tcase_add_test(tc, test_server_frames);
    tcase_add_test(tc, test_accept_key);
    tc = h_tcase(s, "Transport", setup, NULL, 30);
    tcase_add_test(tc, test_transport_partial_writes);
    tcase_add_test(tc, test_transport_reads_and_pings);
    return s;
}

int
main(void)
{
    return h_run_suite(ws_suite());
}
