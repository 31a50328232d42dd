/*
 * check_limits.c: integration tests of the per-address limits
 * (max-per-address, connect-rate, exempt) against the real chatd, on
 * loopback: clients bind their source to 127.0.0.2, 127.0.0.3 (other
 * addresses of the loopback network) or ::1 before connecting, so that
 * one host plays several addresses.  chatd listens on every address, so
 * IPv4 clients reach it as IPv4-mapped IPv6 addresses and are counted
 * and exempted as IPv4.  Each TCase shares one chatd (hchatd.c); tests
 * run in forked children.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "hchatd.h"

#define TOO_MANY "*** error: too many connections from your address"

static void
start_per_address(void)
{
    static const char *const args[] = {
        "--max-per-address", "2", "--connect-rate", "none",
        "--exempt", "127.0.0.1 127.0.0.3", NULL };
    start(args);
}

static void
start_rate(void)
{
    static const char *const args[] = {
        "--max-per-address", "0", "--connect-rate", "2/min",
        "--exempt", "127.0.0.1", NULL };
    start(args);
}

static void
start_none(void)
{
    static const char *const args[] = {
        "--max-per-address", "1", "--exempt", "none", NULL };
    start(args);
}

/* A client from src, welcomed. */
static struct hconn *
join_from(const char *src)
{
    struct hconn *c = hconn_open_from(src, "127.0.0.1", srv.port);

    ck_assert_msg(c != NULL, "connect from %s: %s", src, strerror(errno));
    expect(c, "*** welcome to chatd, ");
    return c;
}

/* A client from src (to dst) that is refused with want and closed. */
static void
refused_from(const char *src, const char *dst, const char *want)
{
    struct hconn *c = hconn_open_from(src, dst, srv.port);

    ck_assert_msg(c != NULL, "connect from %s: %s", src, strerror(errno));
    next_is(c, want);
    ck_assert(hconn_closed(c, T));
    hconn_close(c);
}

/* ------------------------------------------------------- Per address */

/* The third from 127.0.0.2 is refused before its welcome; the first two
 * and everybody else go on; one leaving makes room again. */
START_TEST(test_max_per_address)
{
    struct hconn *a = join_from("127.0.0.2");
    struct hconn *b = join_from("127.0.0.2");
    struct hconn *w = join_as("watcher");           /* 127.0.0.1 */

    hconn_nick(a, "alice");
    refused_from("127.0.0.2", "127.0.0.1", TOO_MANY);
    hconn_send(a, "still here\n");
    expect(w, "<alice> still here");
    expect(b, "<alice> still here");
    hconn_close(b);
    expect(w, "has left");          /* the closer gave its count back */
    struct hconn *again = join_from("127.0.0.2");
    refused_from("127.0.0.2", "127.0.0.1", TOO_MANY);
    hconn_close(again);
    hconn_close(a);
    hconn_close(w);
}
END_TEST

/* The exempt addresses are not counted; other addresses have their own
 * counts. */
START_TEST(test_exempt_and_separate)
{
    struct hconn *e[5], *x[2], *w = join_as("watcher");

    for (int i = 0; i < 5; i++)
        e[i] = join_from("127.0.0.3");             /* exempt */
    for (int i = 0; i < 2; i++)
        x[i] = join_from("127.0.0.4");
    refused_from("127.0.0.4", "127.0.0.1", TOO_MANY);
    for (int i = 0; i < 5; i++)
        hconn_close(e[i]);
    for (int i = 0; i < 2; i++)
        hconn_close(x[i]);
    hconn_close(w);
}
END_TEST

/* A flood of refused connections leaves the count as it was: the
 * refused never count. */
START_TEST(test_refused_not_counted)
{
    struct hconn *a = join_from("127.0.0.5");
    struct hconn *b = join_from("127.0.0.5");
    struct hconn *w = join_as("watcher");

    for (int i = 0; i < 20; i++)
        refused_from("127.0.0.5", "127.0.0.1", TOO_MANY);
    hconn_close(a);
    expect(w, "has left");
    struct hconn *c = join_from("127.0.0.5");       /* exactly one free */
    refused_from("127.0.0.5", "127.0.0.1", TOO_MANY);
    hconn_close(b);
    hconn_close(c);
    hconn_close(w);
}
END_TEST

/* IPv6 ::1 is not exempt here: its /64 counts like one address. */
START_TEST(test_ipv6)
{
    struct hconn *a = hconn_open_from("::1", "::1", srv.port), *b;

    if (a == NULL && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL ||
                      errno == ENETUNREACH))
        return;                             /* no IPv6 on this host */
    ck_assert_ptr_nonnull(a);
    expect(a, "*** welcome to chatd, ");
    b = hconn_open_from("::1", "::1", srv.port);
    ck_assert_ptr_nonnull(b);
    expect(b, "*** welcome to chatd, ");
    refused_from("::1", "::1", TOO_MANY);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* ------------------------------------------------------------- Rate */

START_TEST(test_connect_rate)
{
    struct hconn *a = join_from("127.0.0.2");
    struct hconn *b = join_from("127.0.0.2");

    hconn_close(a);
    hconn_close(b);
    /* Closed or not, a third within the minute is one too many. */
    refused_from("127.0.0.2", "127.0.0.1",
                 TOO_MANY " (at most 2/min)");
    struct hconn *e = join_from("127.0.0.1");       /* exempt */
    struct hconn *o = join_from("127.0.0.3");       /* its own bucket */
    hconn_close(e);
    hconn_close(o);
}
END_TEST

/* ------------------------------------------------------ exempt none */

START_TEST(test_exempt_none)
{
    struct hconn *a = join_from("127.0.0.1");

    refused_from("127.0.0.1", "127.0.0.1", TOO_MANY);
    hconn_close(a);
}
END_TEST

/* -------------------------------------------------------- Defaults */

/* Loopback is exempt by default: more than 16 from 127.0.0.1 (chatbench
 * and the other suites rely on it) and from 127.0.0.2. */
START_TEST(test_default_exempt)
{
    struct hconn *c[40];

    for (int i = 0; i < 40; i++)
        c[i] = join_from(i % 2 ? "127.0.0.1" : "127.0.0.2");
    for (int i = 0; i < 40; i++)
        hconn_close(c[i]);
}
END_TEST

static void
start_default16(void)
{
    static const char *const args[] = { "--exempt", "127.0.0.1", NULL };
    start(args);
}

/* max-per-address is 16 by default (and 17 is under the default
 * connect-rate of 30/min). */
START_TEST(test_default_max)
{
    struct hconn *c[16];

    for (int i = 0; i < 16; i++)
        c[i] = join_from("127.0.0.2");
    refused_from("127.0.0.2", "127.0.0.1", TOO_MANY);
    for (int i = 0; i < 16; i++)
        hconn_close(c[i]);
}
END_TEST

/* ---------------------------------------------------------- SIGHUP */

static char conf_path[64];

static void
write_conf(const char *text)
{
    FILE *f = fopen(conf_path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The three keys are live: SIGHUP raises max-per-address for the next
 * connection, and closes nobody. */
START_TEST(test_sighup_live)
{
    struct hserver s2;
    struct hconn *a, *b;
    const char *args[] = { "-c", conf_path, NULL };

    snprintf(conf_path, sizeof(conf_path), "/tmp/check_limits.%d.conf",
             (int)getpid());
    write_conf("max-per-address = 1\nexempt = 127.0.0.1\n");
    ck_assert_int_eq(hserver_start(&s2, args), 0);
    srv = s2;                           /* for join_from(), refused_from() */
    a = join_from("127.0.0.2");
    refused_from("127.0.0.2", "127.0.0.1", TOO_MANY);
    write_conf("max-per-address = 2\nexempt = none\n");
    ck_assert_int_eq(hserver_signal(&s2, SIGHUP), 0);
    ck_assert_int_eq(hserver_wait_log(&s2, "SIGHUP: configuration reloaded",
                                      T), 1);
    b = join_from("127.0.0.2");
    refused_from("127.0.0.2", "127.0.0.1", TOO_MANY);
    /* exempt = none now: 127.0.0.1 counts (its first is welcome). */
    struct hconn *c = join_from("127.0.0.1");
    hconn_send(a, "still here\n");
    expect(b, "still here");
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
    unlink(conf_path);
    ck_assert_int_eq(hserver_stop(&s2), 0);
}
END_TEST

static Suite *
limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc;

    tc = h_tcase(s, "PerAddress", start_per_address, stop, 60);
    tcase_add_test(tc, test_max_per_address);
    tcase_add_test(tc, test_exempt_and_separate);
    tcase_add_test(tc, test_refused_not_counted);
    tcase_add_test(tc, test_ipv6);

    tc = h_tcase(s, "Rate", start_rate, stop, 60);
    tcase_add_test(tc, test_connect_rate);

    tc = h_tcase(s, "ExemptNone", start_none, stop, 60);
    tcase_add_test(tc, test_exempt_none);

    tc = h_tcase(s, "Defaults", start_default, stop, 60);
    tcase_add_test(tc, test_default_exempt);

    tc = h_tcase(s, "Default16", start_default16, stop, 60);
    tcase_add_test(tc, test_default_max);

    tc = tcase_create("Reload");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sighup_live);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(limits_suite());
}
