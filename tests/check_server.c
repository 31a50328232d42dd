/*
 * check_server.c: integration tests of the protocol and its limits.
 * "Protocol" (welcome, messages, nicknames, /who, /msg, /quit, hostile
 * bytes, IPv6, a port in use), "Limits" (max-line, max-clients, history)
 * and "Flood" (the rate limit) each start the real chatd ($CHATD) on port
 * 0 in an unchecked fixture (hchatd.c) and talk to it over real sockets;
 * teardown sends SIGTERM and checks for exit status 0.  Tests run in
 * forked children; the server belongs to the parent.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hchatd.h"

static void
start_limits(void)
{
    static const char *const args[] = {
        "--max-line", "100", "--max-clients", "4", "--history", "3",
        "--rate", "0", NULL };
    start(args);
}

static void
start_flood(void)
{
    static const char *const args[] = { "--rate", "10", "--burst", "5",
                                        NULL };
    start(args);
}

/* ------------------------------------------------------------------ */
/* Protocol                                                            */
/* ------------------------------------------------------------------ */

START_TEST(test_welcome_and_join_notice)
{
    char n1[32], n2[32], want[128];
    struct hconn *a = join(n1);
    struct hconn *b = join(n2);

    ck_assert(strncmp(n1, "guest", 5) == 0);
    ck_assert_str_ne(n1, n2);
    snprintf(want, sizeof(want), "*** %s has joined", n2);
    next_is(a, want);
    h_silent(b);                            /* no notice of itself */
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/*
 * Whoever joins right after someone never hears of them as a join: the
 * earlier client's notice is numbered before its welcome goes out (a
 * race between the workers, seen under ASan in CI).
 */
START_TEST(test_issue_join_notice_before_welcome)
{
    for (int round = 0; round < 50; round++) {
        char na[32], nb[32], notice[64];
        struct hconn *a = join(na);
        struct hconn *b = join(nb);

        snprintf(notice, sizeof(notice), "*** %s has joined", na);
        while (hconn_line(b, line, sizeof(line), 20) == 1)
            ck_assert_msg(strcmp(line, notice) != 0,
                          "round %d: %s told of %s joining", round, nb, na);
        hconn_close(a);
        hconn_close(b);
    }
}
END_TEST

START_TEST(test_public_message_not_echoed)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");
    struct hconn *c = join_as("carol");

    hconn_send(a, "hello, world\n");
    expect(b, "<alice> hello, world");
    expect(c, "<alice> hello, world");
    ck_assert_str_eq(line, "<alice> hello, world");
    hconn_send(b, "ping\n");
    expect(a, "<bob> ping");            /* a got nothing of its own */
    ck_assert_str_eq(line, "<bob> ping");
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
}
END_TEST

START_TEST(test_double_slash_and_crlf)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");

    hconn_send(a, "//etc is a dir\r\n");
    expect(b, "<alice> ");
    ck_assert_str_eq(line, "<alice> /etc is a dir");
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_nick_change_and_errors)
{
    struct hconn *a = join(NULL);
    struct hconn *b = join_as("bob");
    char old[32];

    hconn_send(a, "/who\n");
    expect(a, "users online");
    hconn_line(a, line, sizeof(line), T);
    sscanf(line, "***   %31s", old);
    hconn_send(a, "/nick alice\n");
    next_is(a, "*** you are now known as alice");
    char want[128];
    snprintf(want, sizeof(want), "*** %s is now known as alice", old);
    expect(b, want);
    hconn_send(a, "/nick BOB\n");
    next_is(a, "*** error: nickname is already in use: BOB");
    hconn_send(a, "/nick b@d\n");
    next_is(a, "*** error: nickname may only contain A-Z a-z 0-9 _ -");
    hconn_send(a, "/nick abcdefghijklmnopqrstuvwxyz\n");
    next_is(a, "*** error: nickname too long (max 24 characters)");
    hconn_send(a, "/nick\n");
    next_is(a, "*** error: usage: /nick NAME");
    hconn_send(a, "/nick alice\n");
    next_is(a, "*** you are already known as alice");
    hconn_send(a, "still here\n");
    expect(b, "<alice> still here");
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_who)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");

    hconn_send(a, "/who\n");
    expect(a, "users online:");
    hconn_line(a, line, sizeof(line), T);
    ck_assert_ptr_nonnull(strstr(line, "alice"));
    ck_assert_ptr_nonnull(strstr(line, "bob"));
    ck_assert(strncmp(line, "*** ", 4) == 0);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_private_message)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");
    struct hconn *c = join_as("carol");

    hconn_send(a, "/msg BOB psst, over here\n");
    next_is(a, "-> *bob* psst, over here");
    expect(b, "*alice* psst, over here");
    ck_assert_str_eq(line, "*alice* psst, over here");
    hconn_send(a, "/msg nobody hi\n");
    next_is(a, "*** error: no such nickname: nobody");
    hconn_send(a, "/msg bob\n");
    next_is(a, "*** error: usage: /msg NAME text");
    hconn_send(a, "public after private\n");
    /* carol saw the public line but never the private one */
    expect(c, "<alice>");
    ck_assert_str_eq(line, "<alice> public after private");
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
}
END_TEST

START_TEST(test_action_help_unknown)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");

    hconn_send(a, "/me waves\n");
    expect(b, "* alice waves");
    ck_assert_str_eq(line, "* alice waves");
    hconn_send(a, "/help\n");
    expect(a, "/msg NAME text");
    hconn_send(a, "/frob\n");
    expect(a, "*** error: unknown command");
    hconn_send(a, "/me\n");
    expect(a, "*** error: usage: /me text");
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_quit_with_reason)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");

    hconn_send(a, "/quit gone fishing\n");
    ck_assert(hconn_closed(a, T));
    expect(b, "*** alice has left (quit: gone fishing)");
    /* The reason is the client's text: the log says only "quit". */
    ck_assert(hserver_wait_log(&srv, "alice left: quit", T));
    char *log = hserver_log(&srv);
    ck_assert_ptr_null(strstr(log, "gone fishing"));
    free(log);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_eof_and_half_line)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");

    hconn_send(a, "complete\nhalf a line");
    expect(b, "<alice> complete");
    shutdown(a->fd, SHUT_WR);
    expect(b, "*** alice has left (connection closed)");
    h_silent(b);                            /* the half line is dropped */
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_hostile_bytes_sanitized)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");
    static const char evil[] =
        "\x1b[2J\x1b]0;owned\x07red\rfake\x00nul\x7f\xc2\x9b" "c1 "
        "bad\xff utf8 \xe2\x82\xac\n";

    hconn_write(a, evil, sizeof(evil) - 1);
    expect(b, "<alice> ");
    ck_assert_str_eq(line, "<alice> [2J]0;ownedredfakenulc1 bad\xef\xbf\xbd"
                           " utf8 \xe2\x82\xac");
    /* A line cannot forge another speaker's line. */
    hconn_send(a, "hi\r<bob> I owe alice money\n");
    expect(b, "<alice> ");
    ck_assert_str_eq(line, "<alice> hi<bob> I owe alice money");
    /* Only control characters: nothing to relay. */
    hconn_send(a, "\x1b\x07\nafter\n");
    next_is(b, "<alice> after");
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_ipv6_loopback)
{
    struct hconn *a = hconn_open_addr("::1", srv.port);

    if (a == NULL && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL ||
                      errno == ENETUNREACH))
        return;                             /* no IPv6 on this host */
    ck_assert_ptr_nonnull(a);
    expect(a, "*** welcome to chatd, ");
    hconn_close(a);
}
END_TEST

START_TEST(test_port_in_use)
{
    char out[4096], port[16];
    const char *argv[] = { hserver_chatd(), "-b", "127.0.0.1", "-p", port,
                           NULL };
    int status = -1;

    snprintf(port, sizeof(port), "%d", srv.port);       /* taken */
    ck_assert_int_eq(h_run(argv, out, sizeof(out), &status), 0);
    ck_assert_int_eq(status, 1);
    ck_assert_msg(strstr(out, "cannot listen on 127.0.0.1:") != NULL &&
                  strstr(out, "Address already in use") != NULL, "%s", out);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_line_too_long_keeps_connection)
{
    char big[300];
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");

    memset(big, 'x', sizeof(big));
    hconn_send(a, "%.100s\n", big);                 /* exactly max-line */
    expect(b, "<alice> xxx");
    ck_assert_uint_eq(strlen(line), 8 + 100);
    hconn_send(a, "%.101s\n", big);                 /* one over */
    next_is(a, "*** error: line too long (max 100 bytes)");
    hconn_send(a, "%.300s", big);                   /* in pieces */
    hconn_send(a, "%.300s\nstill connected\n", big);
    next_is(a, "*** error: line too long (max 100 bytes)");
    expect(b, "<alice> still connected");
    h_silent(b);                                    /* no fragments */
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_server_full)
{
    struct hconn *c[4], *extra;

    for (int i = 0; i < 4; i++)
        c[i] = join(NULL);
    extra = hconn_open(srv.port);
    ck_assert_ptr_nonnull(extra);
    next_is(extra, "*** error: server full");
    ck_assert(hconn_closed(extra, T));
    hconn_close(extra);
    hconn_close(c[0]);
    expect(c[1], "has left");
    struct hconn *again = join(NULL);               /* room again */
    hconn_close(again);
    for (int i = 1; i < 4; i++)
        hconn_close(c[i]);
}
END_TEST

START_TEST(test_history_replayed)
{
    struct hconn *a = join_as("alice");

    for (int i = 1; i <= 5; i++)
        hconn_send(a, "message %d\n", i);
    hconn_send(a, "/who\n");                        /* a barrier */
    expect(a, "online:");
    struct hconn *b = join(NULL);
    next_is(b, "*** history of #lobby: 3 lines");   /* history 3 */
    next_is(b, H_STAMP "<alice> message 3");
    next_is(b, H_STAMP "<alice> message 4");
    next_is(b, H_STAMP "<alice> message 5");
    next_is(b, "*** end of history");
    hconn_send(a, "live\n");
    next_is(b, "<alice> live");                     /* exactly once */
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* /history [N] replays the current room framed, as on joining; a bad N
 * is refused and says what is accepted. */
START_TEST(test_history_command)
{
    static const char *const bad[] = { "0", "501", "-1", "abc", "1 2",
                                       "1000", "+3", "2x", NULL };
    struct hconn *a = join_as("alice");

    for (int i = 1; i <= 4; i++)
        hconn_send(a, "line %d\n", i);
    hconn_send(a, "/history\n");
    next_is(a, "*** history of #lobby: 3 lines");   /* all it keeps */
    next_is(a, H_STAMP "<alice> line 2");
    next_is(a, H_STAMP "<alice> line 3");
    next_is(a, H_STAMP "<alice> line 4");
    next_is(a, "*** end of history");
    hconn_send(a, "/HISTORY 1\n");
    next_is(a, "*** history of #lobby: 1 line");
    next_is(a, H_STAMP "<alice> line 4");
    next_is(a, "*** end of history");
    hconn_send(a, "/history 500\n");
    next_is(a, "*** history of #lobby: 3 lines");
    for (int i = 0; i < 4; i++)
        hconn_line(a, line, sizeof(line), T);
    ck_assert_str_eq(line, "*** end of history");
    for (int i = 0; bad[i]; i++) {
        hconn_send(a, "/history %s\n", bad[i]);
        next_is(a, "*** error: usage: /history [N], N lines from 1 to 500");
    }
    h_silent(a);
    hconn_close(a);
}
END_TEST

START_TEST(test_flood_delayed_not_lost)
{
    struct hconn *a = join_as("flooder");
    struct hconn *b = join_as("bob");
    long t0 = h_now_ms();
    char want[64];

    /* burst 5, then 10/s: 25 lines take about 2 s, and all arrive. */
    for (int i = 0; i < 25; i++)
        hconn_send(a, "flood %d\n", i);
    for (int i = 0; i < 25; i++) {
        snprintf(want, sizeof(want), "<flooder> flood %d", i);
        int rc = hconn_line(b, line, sizeof(line), 10000);
        ck_assert_int_eq(rc, 1);
        ck_assert_str_eq(line, want);
    }
    ck_assert_int_ge(h_now_ms() - t0, 1500);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

static Suite *
server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc;

    tc = tcase_create("Protocol");
    tcase_add_unchecked_fixture(tc, start_default, stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_welcome_and_join_notice);
    tcase_add_test(tc, test_issue_join_notice_before_welcome);
    tcase_add_test(tc, test_public_message_not_echoed);
    tcase_add_test(tc, test_double_slash_and_crlf);
    tcase_add_test(tc, test_nick_change_and_errors);
    tcase_add_test(tc, test_who);
    tcase_add_test(tc, test_private_message);
    tcase_add_test(tc, test_action_help_unknown);
    tcase_add_test(tc, test_quit_with_reason);
    tcase_add_test(tc, test_eof_and_half_line);
    tcase_add_test(tc, test_hostile_bytes_sanitized);
    tcase_add_test(tc, test_ipv6_loopback);
    tcase_add_test(tc, test_port_in_use);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_unchecked_fixture(tc, start_limits, stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_line_too_long_keeps_connection);
    tcase_add_test(tc, test_server_full);
    tcase_add_test(tc, test_history_replayed);
    tcase_add_test(tc, test_history_command);
    suite_add_tcase(s, tc);

    tc = tcase_create("Flood");
    tcase_add_unchecked_fixture(tc, start_flood, stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_flood_delayed_not_lost);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return h_run_suite(server_suite());
}
