/*
 * check_service.c: integration tests of chatd's configuration and
 * signals: -t and -c, the command line winning over the file, options
 * and --help, then SIGHUP (MOTD, rate, bad files, keys that need a
 * restart) and SIGUSR1 stats.  Each test runs the real chatd (harness.c,
 * hsvc.c) from the test's own thread, with files in a fresh directory
 * under /tmp.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsvc.h"

/* ------------------------------------------------------------ Check */

START_TEST(test_check_good)
{
    char out[4096];
    const char *conf = put("c.conf", "# fine\nport = 7001\nrate = 5\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 0);
    ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);
}
END_TEST

START_TEST(test_check_bad_line)
{
    char out[4096], want[512];
    const char *conf = put("c.conf", "port = 7001\n\nrate = lots\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:3: rate: 'lots' is not", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    conf = put("d.conf", "colour = red\n");
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:1: colour: unknown key", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
}
END_TEST

/* Without -t, a bad file stops chatd before it listens, with status 2. */
START_TEST(test_start_bad_file)
{
    char out[4096], want[512];
    const char *conf = put("c.conf", "burst = 0\n");

    ck_assert_int_eq(run(out, sizeof(out), "-p", "0", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:1: burst:", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "listening") == NULL, "%s", out);
}
END_TEST

START_TEST(test_check_missing_file)
{
    char out[4096], path[512];

    snprintf(path, sizeof(path), "%s/none.conf", dir);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", path, NULL), 2);
    ck_assert_msg(strstr(out, "No such file") != NULL, "%s", out);
}
END_TEST

/* A bad MOTD file, a bad user, or settings that do not fit together
 * are configuration errors too. */
START_TEST(test_check_bad_values)
{
    char out[4096], motd[512];

    snprintf(motd, sizeof(motd), "motd = %s/none\n", dir);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", put("a.conf", motd),
                         NULL), 2);
    ck_assert_msg(strstr(out, "motd: cannot open") != NULL, "%s", out);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c",
                         put("b.conf", "user = no-such-user-x\n"), NULL), 2);
    ck_assert_msg(strstr(out, "user: no-such-user-x") != NULL, "%s", out);
    /* Issue 11: a small sendq is no reason to refuse (long replies are
     * made as the client reads them). */
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c",
                         put("c.conf", "port = 0\nsendq = 4K\n"), NULL), 0);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "--bogus", NULL), 2);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "--rate", "x", NULL), 2);
    ck_assert_msg(strstr(out, "--rate: 'x'") != NULL, "%s", out);
}
END_TEST

/* The command line wins; -t -v shows the result.  The first -b on the
 * command line replaces the file's addresses. */
START_TEST(test_command_line_wins)
{
    char out[8192];
    const char *conf = put("c.conf", "rate = 5\nburst = 6\nbind = ::1\n"
                           "bind = 127.0.0.1\nverbose = 2\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, "--rate", "7",
                         "-b", "127.0.0.2", "-p", "0", NULL), 0);
    ck_assert_msg(strstr(out, "\nrate = 7  # command line\n") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "\nburst = 6  #") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nbind = 127.0.0.2  #") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "bind = ::1") == NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nverbose = 2  #") != NULL, "%s", out);
}
END_TEST

/* -t -v says where each value came from: the file's line, the command
 * line, or the default.  -v itself is a command-line value. */
START_TEST(test_check_origins)
{
    char out[8192], want[600];
    const char *conf = put("c.conf", "# top\nrate = 5\n\nbind = 127.0.0.1\n"
                           "motd = /dev/null\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-v", "-c", conf,
                         "--burst", "9", "-p", "0", NULL), 0);
    snprintf(want, sizeof(want), "\nrate = 5  # %s:2\n", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof(want), "\nbind = 127.0.0.1  # %s:4\n", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof(want), "\nmotd = /dev/null  # %s:5\n", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nburst = 9  # command line\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "port = 0  # command line\n") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "\nverbose = 1  # command line\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "\nsendq = 1048576  # default\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "\n# pidfile: not set (default)\n") != NULL,
                  "%s", out);
}
END_TEST

/* -t listens as a start would: an address that is not an address, or
 * not this host's, fails -t and a start alike, with status 2 and a
 * message naming it; a free port passes. */
START_TEST(test_check_listen_address)
{
    static const char *const bad[][2] = {
        { "192.0.2.1", "cannot listen on 192.0.2.1:0: Cannot assign "
                       "requested address" },
        { "1.2.3", "--bind: '1.2.3' is not an IPv4 address" },
        { "999.1.1.1", "--bind: '999.1.1.1' is not an IPv4 address" },
        { "::g", "--bind: '::g' is not an IPv6 address" },
    };
    char out[4096], want[600];
    const char *conf = put("c.conf", "\n");

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(want, sizeof(want), "chatd: %s\n", bad[i][1]);
        ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, "-p", "0",
                             "-b", bad[i][0], NULL), 2);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
        ck_assert_int_eq(run(out, sizeof(out), "-c", conf, "-p", "0", "-w",
                             "1", "-b", bad[i][0], NULL), 2);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
    }
    conf = put("d.conf", "# x\nbind = 1.2.3\n");
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:2: bind: '1.2.3' is not an IPv4 "
             "address", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", put("e.conf", "\n"),
                         "-p", "0", "-b", "127.0.0.1", "-b", "::1", NULL), 0);
    ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);
}
END_TEST

/* A port in use fails -t and a start alike: status 1 (chatd(8)), and the
 * last line says which address, as an error, not a warning. */
START_TEST(test_check_port_taken)
{
    struct hserver s;
    const char *conf = put("c.conf", "\n");
    const char *argv[] = { "chatd", "-p", "0", "-w", "1", "-b", "127.0.0.1",
                           "-c", conf, NULL };
    char out[4096], port[16], want[256];

    ck_assert_msg(hserver_start_argv(&s, argv) == 0, "chatd did not start");
    snprintf(port, sizeof(port), "%d", s.port);
    snprintf(want, sizeof(want), "chatd: cannot listen on 127.0.0.1:%d: "
             "Address already in use\n", s.port);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, "-p", port,
                         "-b", "127.0.0.1", NULL), 1);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(run(out, sizeof(out), "-c", conf, "-p", port, "-w", "1",
                         "-b", "127.0.0.1", NULL), 1);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* Every option error begins with "chatd: " (not argv[0], which is a
 * path here), exits 2 and points at --help. */
START_TEST(test_option_errors)
{
    static const char *const bad[][2] = {
        { "--bogus", "unrecognized option '--bogus'" },
        { "-x", "invalid option -- 'x'" },
        { "-p", "option requires an argument -- 'p'" },
        { "--rate", "option '--rate' requires an argument" },
        { "--rat", "option '--rate' requires an argument" },
        { "--daemon=yes", "option '--daemon' doesn't allow an argument" },
        { "--cluster-t", "option '--cluster-timeout' requires an argument" },
        { "--c", "option '--c' is ambiguous; possibilities: '--cluster' "
                 "'--cluster-channel' '--cluster-timeout' '--connect-rate' "
                 "'--config' "
                 "'--check-config'" },
    };
    char out[4096], want[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(want, sizeof(want), "chatd: %s\nTry 'chatd --help' for "
                 "more information.\n", bad[i][1]);
        ck_assert_int_eq(run(out, sizeof(out), bad[i][0], NULL), 2);
        ck_assert_str_eq(out, want);
    }
}
END_TEST

/* --help names no placeholder address and fits 80 columns. */
START_TEST(test_help_text)
{
    char out[8192];

    ck_assert_int_eq(run(out, sizeof(out), "--help", NULL), 0);
    ck_assert_msg(strstr(out, "example.") == NULL && strchr(out, '@') ==
                  NULL, "%s", out);
    ck_assert_msg(strstr(out, "redis://127.0.0.1:6379") != NULL, "%s", out);
    for (char *line = out, *nl; *line; line = nl + 1) {
        ck_assert_ptr_nonnull(nl = strchr(line, '\n'));
        /* The config file's path is the build's (long under distcheck):
         * only its line may be wider, and only by the path. */
        if (strncmp(line, "  (default /", 12) == 0)
            continue;
        ck_assert_msg(nl - line < 80, "too wide: %.*s", (int)(nl - line),
                      line);
    }
}
END_TEST

/* ---------------------------------------------------------- Running */

/* -c: the file's MOTD greets clients; the file's port is overridden. */
START_TEST(test_config_file_used)
{
    struct hserver s;
    struct hconn *a;
    char conf[1024];

    snprintf(conf, sizeof(conf), "port = 7\nmotd = %s\n",
             put("motd", "Welcome to the test server.\nBe nice.\n"));
    start(&s, put("c.conf", conf), NULL);
    a = hconn_open(s.port);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(hconn_expect(a, "*** Welcome to the test server.",
                                  NULL, 0, H_TIMEOUT_MS), 1);
    ck_assert_int_eq(hconn_expect(a, "*** Be nice.", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(a);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP: a new MOTD reaches new clients; connected ones stay. */
START_TEST(test_sighup_motd)
{
    struct hserver s;
    struct hconn *a, *b;
    char conf[1024];
    const char *path;

    snprintf(conf, sizeof(conf), "motd = %s\n", put("m1", "first motd\n"));
    path = put("c.conf", conf);
    start(&s, path, NULL);
    a = hconn_open(s.port);
    ck_assert_int_eq(hconn_expect(a, "*** first motd", NULL, 0,
                                  H_TIMEOUT_MS), 1);

    snprintf(conf, sizeof(conf), "motd = %s\n", put("m2", "second motd\n"));
    put("c.conf", conf);
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    ck_assert(hserver_wait_log(&s, "SIGHUP: configuration reloaded",
                               H_TIMEOUT_MS));
    b = hconn_open(s.port);
    ck_assert_int_eq(hconn_expect(b, "*** second motd", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_send(b, "after the reload\n");
    ck_assert_int_eq(hconn_expect(a, "> after the reload", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP: a new rate applies at once, to clients already connected. */
START_TEST(test_sighup_rate)
{
    struct hserver s;
    struct hconn *a, *b;
    char line[256];
    const char *path = put("c.conf", "rate = 1\nburst = 1\n");

    start(&s, path, NULL);
    a = hconn_join(s.port, NULL, 0);
    b = hconn_join(s.port, NULL, 0);
    ck_assert(a != NULL && b != NULL);
    hconn_send(a, "one\ntwo\nthree\n");
    ck_assert_int_eq(hconn_expect(b, "> one", NULL, 0, H_TIMEOUT_MS), 1);
    /* Unthrottled, 'two' would have gone out with 'one': it would come
     * before b's own answer.  One round trip only: b has one token. */
    ck_assert_msg(hconn_roundtrip(b, line, sizeof(line)) == 1,
                  "rate 1 did not slow 'two' down: got \"%s\"", line);
    ck_assert_int_eq(hconn_expect(b, "> three", NULL, 0, H_TIMEOUT_MS), 1);

    put("c.conf", "rate = 0\nburst = 1\n");
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    ck_assert(hserver_wait_log(&s, "rate 0, burst 1", H_TIMEOUT_MS));
    for (int i = 0; i < 30; i++)
        hconn_send(a, "fast %d\n", i);
    long t0 = h_now_ms();
    for (int i = 0; i < 30; i++) {
        char want[32];
        snprintf(want, sizeof(want), "> fast %d", i);
        ck_assert_int_eq(hconn_expect(b, want, line, sizeof(line), 2000),
                         1);
    }
    ck_assert_int_lt(h_now_ms() - t0, 1500);
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP with a bad file: logged with file, line and key; nothing
 * changes and chatd keeps serving. */
START_TEST(test_sighup_bad_file)
{
    struct hserver s;
    struct hconn *a;
    char want[512];
    const char *path = put("c.conf", "rate = 5\n");

    start(&s, path, NULL);
    put("c.conf", "rate = 5\nmax-clients = none\n");
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    snprintf(want, sizeof(want), "SIGHUP: %s:2: max-clients: 'none'", path);
    ck_assert(hserver_wait_log(&s, want, H_TIMEOUT_MS));
    ck_assert(hserver_wait_log(&s, "running configuration is unchanged",
                               H_TIMEOUT_MS));
    a = hconn_join(s.port, NULL, 0);
    ck_assert_ptr_nonnull(a);
    hconn_close(a);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP: keys that need a restart are named in the log. */
START_TEST(test_sighup_not_live)
{
    struct hserver s;
    const char *path = put("c.conf", "history = 0\n");

    start(&s, path, NULL);
    put("c.conf", "history = 5\nmax-line = 2000\nrate = 3\n");
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    ck_assert(hserver_wait_log(&s, "SIGHUP: cannot change max-line, "
                               "history while running", H_TIMEOUT_MS));
    ck_assert(hserver_wait_log(&s, "rate 3", H_TIMEOUT_MS));
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGUSR1: one stats line with the counters. */
START_TEST(test_sigusr1_stats)
{
    struct hserver s;
    struct hconn *a, *b;

    start(&s, put("c.conf", "\n"), NULL);
    a = hconn_join(s.port, NULL, 0);
    b = hconn_join(s.port, NULL, 0);
    hconn_send(a, "hello\n");
    ck_assert_int_eq(hconn_expect(b, "> hello", NULL, 0, H_TIMEOUT_MS), 1);
    ck_assert_int_eq(hserver_signal(&s, SIGUSR1), 0);
    ck_assert(hserver_wait_log(&s, "stats: clients=2 connections=2 "
                               "messages_in=1 messages_out=", H_TIMEOUT_MS));
    ck_assert(hserver_wait_log(&s, " slow_disconnects=0 uptime=",
                               H_TIMEOUT_MS));
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

static Suite *
service_suite(void)
{
    Suite *su = suite_create("service");
    TCase *tc;

    tc = tcase_create("Check");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_check_good);
    tcase_add_test(tc, test_check_bad_line);
    tcase_add_test(tc, test_start_bad_file);
    tcase_add_test(tc, test_check_missing_file);
    tcase_add_test(tc, test_check_bad_values);
    tcase_add_test(tc, test_command_line_wins);
    tcase_add_test(tc, test_check_origins);
    tcase_add_test(tc, test_check_listen_address);
    tcase_add_test(tc, test_check_port_taken);
    tcase_add_test(tc, test_option_errors);
    tcase_add_test(tc, test_help_text);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(su, tc);

    tc = tcase_create("Signals");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_config_file_used);
    tcase_add_test(tc, test_sighup_motd);
    tcase_add_test(tc, test_sighup_rate);
    tcase_add_test(tc, test_sighup_bad_file);
    tcase_add_test(tc, test_sighup_not_live);
    tcase_add_test(tc, test_sigusr1_stats);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    return h_run_suite(service_suite());
}
