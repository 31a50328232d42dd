/*
 * check_chatbench.c: unit tests of chatbench's pure parts: the payload
 * (its round trip and corruption), the latency histogram's precision,
 * and the incremental RESP parser and command writer.  No processes, no
 * sockets; single-threaded.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatbench/hist.h"
#include "chatbench/payload.h"
#include "chatbench/resp.h"

#include "harness.h"

/* ---------------------------------------------------------- payload */

START_TEST(test_payload_roundtrip)
{
    char buf[PAYLOAD_MAX];
    struct payload in = { 7, 123456, 0x0123456789abcdefull }, out;

    for (size_t size = PAYLOAD_MIN; size < 300; size += 17) {
        payload_encode(buf, size, &in);
        for (size_t i = 0; i < size; i++)
            ck_assert(buf[i] >= 0x21 && buf[i] <= 0x7e);
        ck_assert_int_eq(payload_decode(buf, size, size, &out), 0);
        ck_assert_uint_eq(out.sender, 7);
        ck_assert_uint_eq(out.seq, 123456);
        ck_assert(out.t_ns == in.t_ns);
    }
    payload_encode(buf, PAYLOAD_MAX, &in);
    ck_assert_int_eq(payload_decode(buf, PAYLOAD_MAX, PAYLOAD_MAX, &out), 0);
}
END_TEST

START_TEST(test_payload_corrupt)
{
    char buf[64];
    struct payload in = { 1, 2, 3 }, out;

    payload_encode(buf, sizeof(buf), &in);
    /* every single-byte change is caught */
    for (size_t i = 0; i < sizeof(buf); i++) {
        char saved = buf[i];
        buf[i] = saved == 'a' ? 'b' : 'a';
        ck_assert_msg(payload_decode(buf, sizeof(buf), sizeof(buf), &out)
                      < 0, "byte %zu", i);
        buf[i] = saved;
    }
    ck_assert_int_eq(payload_decode(buf, 63, 64, &out), -1);
    ck_assert_int_eq(payload_decode(buf, 64, 65, &out), -1);
    ck_assert_int_eq(payload_decode(buf, 64, 64, &out), 0);
}
END_TEST

/* -------------------------------------------------------- histogram */

START_TEST(test_hist_precision)
{
    static struct hist h;

    /* every bucket's upper edge is within 1% of anything in it */
    for (uint64_t v = 1; v < HIST_MAX_NS; v = v * 3 / 2 + 1) {
        uint64_t hi = hist_bucket_high(hist_index(v));
        ck_assert_msg(hi >= v && (double)(hi - v) <= 0.01 * (double)v + 1,
                      "%llu -> %llu", (unsigned long long)v,
                      (unsigned long long)hi);
    }
    for (unsigned i = 1; i < HIST_BUCKETS; i++)
        ck_assert(hist_bucket_high(i) > hist_bucket_high(i - 1));
    hist_init(&h);
    ck_assert(hist_percentile(&h, 50) == 0);
    for (uint64_t v = 1; v <= 1000; v++)
        hist_record(&h, v * 1000);         /* 1 us .. 1 ms */
    ck_assert(h.count == 1000 && h.max == 1000000 && h.min == 1000);
    ck_assert_uint_ge(hist_percentile(&h, 50), 500000);
    ck_assert_uint_le(hist_percentile(&h, 50), 505000);
    ck_assert_uint_ge(hist_percentile(&h, 99), 990000);
    ck_assert_uint_le(hist_percentile(&h, 99), 1000000);
    ck_assert(hist_percentile(&h, 100) == 1000000);
    hist_record(&h, 100 * HIST_MAX_NS);     /* clamped bucket, exact max */
    ck_assert(h.max == 100 * HIST_MAX_NS);
}
END_TEST

/* ------------------------------------------------------------- RESP */

START_TEST(test_resp_incremental)
{
    const char msg[] = "*3\r\n$7\r\nmessage\r\n$9\r\nchatbench\r\n"
                       "$5\r\nhe\r\no\r\n:42\r\n";
    size_t first = sizeof(msg) - 1 - 5;     /* the array, without ":42" */
    struct resp_reply r;

    for (size_t cut = 0; cut < first; cut++)
        ck_assert_int_eq(resp_parse(msg, cut, &r), 0);
    ck_assert_int_eq(resp_parse(msg, sizeof(msg) - 1, &r), (long)first);
    ck_assert_int_eq(r.type, RESP_ARRAY);
    ck_assert_uint_eq(r.n, 3);
    ck_assert(resp_item_is(&r.item[0], "message"));
    ck_assert_uint_eq(r.item[2].len, 5);
    ck_assert(memcmp(r.item[2].str, "he\r\no", 5) == 0);
    ck_assert_int_eq(resp_parse(msg + first, 5, &r), 5);
    ck_assert_int_eq(r.type, RESP_INT);
    ck_assert(r.item[0].num == 42);
    ck_assert_int_eq(resp_parse("-ERR no\r\n", 9, &r), 9);
    ck_assert_int_eq(r.type, RESP_ERROR);
    ck_assert_int_eq(resp_parse("?huh\r\n", 6, &r), -1);
    ck_assert_int_eq(resp_parse("$3\r\nabcd\r\n", 10, &r), -1);
}
END_TEST

START_TEST(test_resp_command)
{
    const char *argv[] = { "SUBSCRIBE", "ch" };
    size_t argl[] = { 9, 2 };
    char out[64];

    ck_assert_uint_eq(resp_command(out, sizeof(out), 2, argv, argl), 27);
    ck_assert(memcmp(out, "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n", 27) == 0);
    ck_assert_uint_eq(resp_command(out, 20, 2, argv, argl), 0);
}
END_TEST

static Suite *
chatbench_suite(void)
{
    Suite *s = suite_create("chatbench");
    TCase *tc;

    tc = tcase_create("Payload");
    tcase_add_test(tc, test_payload_roundtrip);
    tcase_add_test(tc, test_payload_corrupt);
    suite_add_tcase(s, tc);

    tc = tcase_create("Hist");
    tcase_add_test(tc, test_hist_precision);
    suite_add_tcase(s, tc);

    tc = tcase_create("Resp");
    tcase_add_test(tc, test_resp_incremental);
    tcase_add_test(tc, test_resp_command);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(chatbench_suite());
}
