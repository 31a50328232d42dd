/*
 * check_addrmask.c: unit tests for the pure parts of the per-address
 * limits (addrmask.c): exempt lists and their matching, connect-rate
 * values, the IPv4 / IPv6 /64 buckets (IPv4-mapped counted as IPv4), and
 * the connect-rate token bucket.  Single-threaded, no sockets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addrmask.h"
#include "harness.h"

static char err[256];

/* The normalized form of a textual address. */
static void
addr(const char *text, unsigned char a[16], int *v6)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1);
    }
    ck_assert_int_eq(addrmask_normalize((struct sockaddr *)&ss, a, v6), 0);
}

static int
matches(const char *list, const char *text)
{
    struct addr_list l;
    unsigned char a[16];
    int v6;

    ck_assert_msg(addrmask_parse_list(list, &l, err, sizeof(err)) == 0,
                  "%s: %s", list, err);
    addr(text, a, &v6);
    return addrmask_match(&l, a, v6);
}

static void
bad_list(const char *list, const char *want)
{
    struct addr_list l;

    ck_assert_int_eq(addrmask_parse_list(list, &l, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, want) != NULL, "%s: '%s' lacks '%s'", list,
                  err, want);
}

/* ------------------------------------------------------------ Lists */

START_TEST(test_default_exempt)
{
    ck_assert(matches("127.0.0.0/8 ::1", "127.0.0.1"));
    ck_assert(matches("127.0.0.0/8 ::1", "127.255.3.4"));
    ck_assert(matches("127.0.0.0/8 ::1", "::1"));
    ck_assert(matches("127.0.0.0/8 ::1", "::ffff:127.0.0.2"));
    ck_assert(!matches("127.0.0.0/8 ::1", "128.0.0.1"));
    ck_assert(!matches("127.0.0.0/8 ::1", "::2"));
    ck_assert(!matches("127.0.0.0/8 ::1", "10.0.0.1"));
}
END_TEST

START_TEST(test_prefixes)
{
    ck_assert(matches("127.0.0.2", "127.0.0.2"));
    ck_assert(!matches("127.0.0.2", "127.0.0.3"));
    ck_assert(matches("10.0.0.0/15", "10.1.255.255"));
    ck_assert(!matches("10.0.0.0/15", "10.2.0.0"));
    ck_assert(matches("0.0.0.0/0", "203.0.113.9"));
    ck_assert(!matches("0.0.0.0/0", "2001:db8::1"));
    ck_assert(matches("2001:db8::/32", "2001:db8:ffff::1"));
    ck_assert(!matches("2001:db8::/32", "2001:db9::1"));
    ck_assert(matches("2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:1"));
    ck_assert(!matches("2001:db8:0:0:8000::/65", "2001:db8::1"));
    /* An IPv4-mapped prefix is an IPv4 one. */
    ck_assert(matches("::ffff:192.0.2.0/120", "192.0.2.77"));
    ck_assert(matches("::ffff:192.0.2.0/120", "::ffff:192.0.2.1"));
    ck_assert(!matches("::ffff:192.0.2.0/120", "192.0.3.1"));
    ck_assert(matches("  10.0.0.1\t::1  ", "::1"));
}
END_TEST

START_TEST(test_none)
{
    struct addr_list l;

    ck_assert_int_eq(addrmask_parse_list("none", &l, err, sizeof(err)), 0);
    ck_assert_int_eq(l.n, 0);
    ck_assert(!matches("none", "127.0.0.1"));
    ck_assert(!matches("none", "::1"));
}
END_TEST

START_TEST(test_bad_lists)
{
    bad_list("", "empty");
    bad_list("   ", "empty");
    bad_list("localhost", "'localhost': not an IPv4 or IPv6 address");
    bad_list("10.0.0.1/8", "'10.0.0.1/8': bits are set past the prefix");
    bad_list("10.0.0.0/33", "'10.0.0.0/33': a prefix length of IPv4 is 0");
    bad_list("::/129", "a prefix length of IPv6 is 0 to 128");
    bad_list("10.0.0.0/", "a prefix length of IPv4");
    bad_list("10.0.0.0/-1", "a prefix length of IPv4");
    bad_list("10.0.0.0/8x", "a prefix length of IPv4");
    bad_list("10.0.0.0/0008", "a prefix length of IPv4");
    bad_list("10.1.0.0/15", "bits are set past");
    bad_list("1.2.3", "'1.2.3': not an IPv4");
    bad_list("none ::1", "'none'");
    bad_list("::1 none", "'none'");
    bad_list("10.0.0.0,10.0.0.1", "not an IPv4");
    bad_list("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "too long for an address");
}
END_TEST

START_TEST(test_too_many)
{
    char list[ADDRMASK_LIST_MAX * 16 + 32] = "";
    size_t n = 0;

    for (int i = 0; i <= ADDRMASK_LIST_MAX; i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "10.0.%d.1 ", i);
    bad_list(list, "more than 64 entries");
}
END_TEST

/* ---------------------------------------------------------- Buckets */

static void
key_of(const char *text, struct addr_key *k)
{
    unsigned char a[16];
    int v6;

    addr(text, a, &v6);
    addrmask_key(a, v6, k);
}

static int
same_bucket(const char *x, const char *y)
{
    struct addr_key a, b;

    key_of(x, &a);
    key_of(y, &b);
    if (memcmp(&a, &b, sizeof(a)) == 0) {
        ck_assert_uint_eq(addrmask_hash(&a), addrmask_hash(&b));
        return 1;
    }
    return 0;
}

START_TEST(test_buckets)
{
    ck_assert(same_bucket("192.0.2.1", "192.0.2.1"));
    ck_assert(!same_bucket("192.0.2.1", "192.0.2.2"));
    ck_assert(same_bucket("192.0.2.1", "::ffff:192.0.2.1"));
    ck_assert(same_bucket("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"));
    ck_assert(!same_bucket("2001:db8:1:2::1", "2001:db8:1:3::1"));
    /* ::c000:201 (IPv4-compatible, not mapped) is IPv6 ::/64. */
    ck_assert(!same_bucket("192.0.2.1", "::192.0.2.1"));
    ck_assert(same_bucket("::1", "::2"));
    ck_assert(!same_bucket("0.0.0.1", "::1"));
}
END_TEST

START_TEST(test_normalize_family)
{
    struct sockaddr sa = { .sa_family = AF_UNIX };
    unsigned char a[16];
    int v6;

    ck_assert_int_eq(addrmask_normalize(&sa, a, &v6), -1);
}
END_TEST

/* ------------------------------------------------------------ Rates */

static void
rate_ok(const char *text, long count, long per_ms)
{
    struct addr_rate r;
    char back[32];

    ck_assert_msg(addrmask_parse_rate(text, &r, err, sizeof(err)) == 0,
                  "%s: %s", text, err);
    ck_assert_int_eq(r.count, count);
    ck_assert_int_eq(r.per_ms, per_ms);
    addrmask_format_rate(&r, back, sizeof(back));
    ck_assert_str_eq(back, text);
}

START_TEST(test_rates)
{
    struct addr_rate r;
    static const char *const bad[] = {
        "", "30", "30/", "/min", "0/min", "-1/s", "30/m", "30/sec",
        "30 /min", "30/min ", " 30/min", "+3/s", "1000001/s",
        "99999999999999999999/s", "30/MIN", "None", "3.5/s", NULL
    };

    rate_ok("30/min", 30, 60000);
    rate_ok("10/s", 10, 1000);
    rate_ok("1/h", 1, 3600000);
    rate_ok("1000000/s", 1000000, 1000);
    rate_ok("none", 0, 0);
    for (int i = 0; bad[i]; i++) {
        ck_assert_msg(addrmask_parse_rate(bad[i], &r, err, sizeof(err)) ==
                      -1, "'%s' accepted", bad[i]);
        ck_assert_str_eq(err, "not none or COUNT/UNIT, COUNT from 1 to "
                         "1000000 and UNIT s, min or h, such as 30/min");
    }
}
END_TEST

START_TEST(test_tokens)
{
    struct addr_rate r = { .count = 3, .per_ms = 60000 };   /* 3/min */
    struct addr_tokens t;

    addrmask_tokens_init(&t, &r, 1000);
    ck_assert(addrmask_full(&t, &r, 1000));
    for (int i = 0; i < 3; i++)
        ck_assert(addrmask_take(&t, &r, 1000));
    ck_assert(!addrmask_take(&t, &r, 1000));        /* burst used */
    ck_assert(!addrmask_take(&t, &r, 20999));       /* 1 due at 21000 */
    ck_assert(addrmask_take(&t, &r, 21000));
    ck_assert(!addrmask_take(&t, &r, 21000));
    ck_assert(!addrmask_full(&t, &r, 80999));
    ck_assert(addrmask_full(&t, &r, 81000));        /* 60 s for 3 */
    ck_assert(addrmask_full(&t, &r, 1000000));      /* never above 3 */
    for (int i = 0; i < 3; i++)
        ck_assert(addrmask_take(&t, &r, 1000000));
    ck_assert(!addrmask_take(&t, &r, 1000000));
    /* A clock that goes back takes nothing and gives nothing. */
    ck_assert(!addrmask_take(&t, &r, 500));
}
END_TEST

START_TEST(test_tokens_none)
{
    struct addr_rate r = { 0, 0 };
    struct addr_tokens t;

    addrmask_tokens_init(&t, &r, 0);
    for (int i = 0; i < 1000; i++)
        ck_assert(addrmask_take(&t, &r, 0));
    ck_assert(addrmask_full(&t, &r, 0));
}
END_TEST

static Suite *
addrmask_suite(void)
{
    Suite *su = suite_create("addrmask");
    TCase *tc = tcase_create("Lists");

    tcase_add_test(tc, test_default_exempt);
    tcase_add_test(tc, test_prefixes);
    tcase_add_test(tc, test_none);
    tcase_add_test(tc, test_bad_lists);
    tcase_add_test(tc, test_too_many);
    suite_add_tcase(su, tc);

    tc = tcase_create("Buckets");
    tcase_add_test(tc, test_buckets);
    tcase_add_test(tc, test_normalize_family);
    suite_add_tcase(su, tc);

    tc = tcase_create("Rates");
    tcase_add_test(tc, test_rates);
    tcase_add_test(tc, test_tokens);
    tcase_add_test(tc, test_tokens_none);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    return h_run_suite(addrmask_suite());
}
