/*
 * check_ws.c: unit tests of the WebSocket framer (ws.c): client frames
 * decoded into lines (masked, fragmented, split anywhere, UTF-8 across
 * fragments), pings and closes, every refusal with the close code RFC
 * 6455 names, server frames, and the handshake's accept key (the RFC's
 * own example).  No sockets.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
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
    return s;
}

int
main(void)
{
    return h_run_suite(ws_suite());
}
