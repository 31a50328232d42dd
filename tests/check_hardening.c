/*
 * check_hardening.c: regression tests for the bugs the fuzzers and the
 * hostile-client tests of issue 7 found, one test each.  Pure modules
 * only (proto, settings); the server-level ones are in check_hostile.c.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cleanline.h"
#include "harness.h"
#include "proto.h"
#include "settings.h"

/*
 * Fuzzer find 1: a line of invalid bytes tripled in size when sanitized
 * (each byte becomes U+FFFD, three bytes), so relayed lines reached
 * 3 * max-line plus the prefix.  proto_sanitize_max() caps the output at
 * whole characters.
 */
START_TEST(test_issue_7_sanitize_max)
{
    char in[100], out[3 * sizeof(in) + 1];
    size_t n;

    memset(in, 0xFF, sizeof(in));
    n = proto_sanitize(in, sizeof(in), out);
    ck_assert_uint_eq(n, 300);                  /* unlimited: tripled */
    for (size_t max = 0; max <= 120; max++) {
        n = proto_sanitize_max(in, sizeof(in), out, max);
        ck_assert_uint_le(n, max);
        ck_assert_uint_eq(n, max / 3 * 3);      /* whole U+FFFD only */
        ck_assert_uint_eq(strlen(out), n);
        ck_assert(clean_utf8(out, n));
    }
    /* Multi-byte characters are never cut either. */
    const char *jp = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E";   /* 3 x 3 */
    ck_assert_uint_eq(proto_sanitize_max(jp, 9, out, 8), 6);
    ck_assert_str_eq(out, "\xE6\x97\xA5\xE6\x9C\xAC");
    /* Removed controls cost nothing. */
    ck_assert_uint_eq(proto_sanitize_max("\x1b\x1b\x1b" "ab", 5, out, 2),
                      2);
    ck_assert_str_eq(out, "ab");
    /* Valid text within the limit is unchanged. */
    ck_assert_uint_eq(proto_sanitize_max("hello", 5, out, 5), 5);
    ck_assert_str_eq(out, "hello");
}
END_TEST

/*
 * Fuzzer find 2: a whole-number setting took leading white space other
 * than a space ("\f0", "\t5", "\n7"), because strtol() skips it.
 */
START_TEST(test_issue_7_number_whitespace)
{
    struct settings s;
    char err[256];
    const struct settings_key *k = settings_find("rate");
    static const char *const bad[] = { "\f0", "\t5", "\n7", " 3", "+3",
                                       "\v1", "\r2", "", "-", "5 " };

    ck_assert_ptr_nonnull(k);
    settings_defaults(&s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(settings_set(&s, k, bad[i], err, sizeof(err)) < 0,
                      "rate '%s' accepted", bad[i]);
    ck_assert_int_eq(settings_set(&s, k, "7", err, sizeof(err)), 0);
    ck_assert_int_eq(s.rate, 7);
    k = settings_find("port");
    ck_assert_int_lt(settings_set(&s, k, "-1", err, sizeof(err)), 0);
}
END_TEST

static Suite *
hardening_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("Regressions");

    tcase_add_test(tc, test_issue_7_sanitize_max);
    tcase_add_test(tc, test_issue_7_number_whitespace);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(hardening_suite());
}
