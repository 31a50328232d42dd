/*
 * check_process.c: chatd as a process, and what a new user tripped over
 * (issue 11).  "Process" starts servers of its own: SIGTERM with clients
 * connected, log entries pinned by a stalled client, bad options,
 * --help and --version, the MOTD.  "Issue11" shares one default chatd
 * (hchatd.c): limits never refused for the sendq, /who and history
 * replies a slow reader still gets whole, replies that wait for their
 * reader, and the papercuts.  Tests run in forked children, over real
 * sockets; a fixture's server belongs to the parent.
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

/* ------------------------------------------------------------------ */
/* Shutdown and the command line                                       */
/* ------------------------------------------------------------------ */

START_TEST(test_sigterm_with_clients)
{
    struct hserver s2;
    struct hconn *c[3];
    char msg[64];

    ck_assert_int_eq(hserver_start(&s2, NULL), 0);
    for (int i = 0; i < 3; i++) {
        c[i] = hconn_join(s2.port, NULL, 0);
        ck_assert_ptr_nonnull(c[i]);
    }
    hconn_send(c[0], "/nick last\n");
    hconn_expect(c[0], "you are now known as", NULL, 0, T);
    hconn_send(c[0], "last words\n");
    ck_assert_int_eq(hconn_expect(c[1], "<last> last words", NULL, 0, T), 1);
    hserver_signal(&s2, SIGTERM);
    for (int i = 0; i < 3; i++) {
        snprintf(msg, sizeof(msg), "client %d", i);
        ck_assert_msg(hconn_expect(c[i], "*** server shutting down", NULL,
                                   0, T) == 1, "%s: no notice", msg);
        ck_assert_msg(hconn_closed(c[i], T), "%s: not closed", msg);
        hconn_close(c[i]);
    }
    ck_assert_int_eq(hserver_stop(&s2), 0);
}
END_TEST

/*
 * A bystander's cursor must not fall behind the send log's tail while
 * other clients' direct lines come and go: once more of them than the
 * ring holds had passed, it read reused slots and got the next public
 * line twice (and the log stopped trimming).  Found in review.
 */
START_TEST(test_issue_stale_cursor)
{
    struct hserver s2;
    const char *args[] = { "-w", "1", "--rate", "0", NULL };
    struct hconn *a, *b, *c;

    ck_assert_int_eq(hserver_start(&s2, args), 0);
    a = hconn_join(s2.port, NULL, 0);
    b = hconn_join(s2.port, NULL, 0);
    c = hconn_join(s2.port, NULL, 0);
    ck_assert(a && b && c);
    ck_assert(hconn_nick(c, "carol"));
    expect(b, "is now known as carol");     /* b's notices, read */
    for (int i = 0; i < 8; i++) {           /* 72 direct lines > 64 */
        hconn_send(a, "/help\n");
        ck_assert_int_eq(hconn_expect(a, "/help            this list", NULL,
                                      0, T), 1);
    }
    hconn_send(c, "hello-from-carol\n");
    ck_assert_int_eq(hconn_expect(b, "<carol> hello-from-carol", NULL, 0, T),
                     1);
    h_silent(b);                            /* not delivered twice */
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
    ck_assert_int_eq(hserver_stop(&s2), 0);
}
END_TEST

static void *
drain_socket(void *arg)
{
    struct hconn *c = arg;
    char buf[65536];

    while (recv(c->fd, buf, sizeof(buf), 0) > 0)
        ;
    return NULL;
}

/*
 * A client that stops reading while the others exchange only direct
 * lines (here: private messages) keeps the send log from being trimmed.
 * Its own backlog stays under sendq, but what it holds does not: it is
 * cut once it holds more than sendq bytes of the log.  Found in review:
 * memory grew without bound before.
 */
START_TEST(test_issue_log_pinned_by_stalled_client)
{
    struct hserver s2;
    const char *args[] = { "-w", "1", "--rate", "0", "--sendq", "8M", NULL };
    static char big[1001];
    static char pm[1001];
    struct hconn *d, *a, *b;
    pthread_t th, thb;

    ck_assert_int_eq(hserver_start(&s2, args), 0);
    d = hconn_join(s2.port, NULL, 0);
    ck_assert_ptr_nonnull(d);
    hconn_rcvbuf(d, 2048);
    ck_assert(hconn_nick(d, "stalled"));
    a = hconn_join(s2.port, NULL, 0);
    ck_assert_ptr_nonnull(a);
    b = hconn_join(s2.port, NULL, 0);
    ck_assert_ptr_nonnull(b);
    ck_assert(hconn_nick(b, "sink"));
    pthread_create(&th, NULL, drain_socket, a);
    pthread_create(&thb, NULL, drain_socket, b);
    memset(big, 'x', 999);
    big[999] = '\n';
    for (int i = 0; i < 6000; i++)          /* 6 MB: stalled is behind */
        ck_assert_int_eq(hconn_write(a, big, 1000), 0);
    /* ~14 MB of private lines to sink: with what the kernel took off
     * stalled's 6 MB (up to 4 MB), the log it holds passes 8 MB. */
    memcpy(pm, "/msg sink ", 10);
    memset(pm + 10, 'y', 989);
    pm[999] = '\n';
    for (int i = 0; i < 14000; i++)
        ck_assert_int_eq(hconn_write(a, pm, 1000), 0);
    ck_assert_msg(hserver_wait_log(&s2, "stalled: holding over 8388608 "
                                   "bytes of the send log", 20000),
                  "the stalled client was never cut");
    shutdown(a->fd, SHUT_RDWR);
    shutdown(b->fd, SHUT_RDWR);
    pthread_join(th, NULL);
    pthread_join(thb, NULL);
    hconn_close(a);
    hconn_close(b);
    hconn_close(d);
    ck_assert_int_eq(hserver_stop(&s2), 0);
}
END_TEST

static int
run_chatd(const char *a1, const char *a2, const char *a3, char *out,
          size_t cap)
{
    const char *argv[] = { hserver_chatd(), a1, a2, a3, NULL };
    int status = -1;

    ck_assert_int_eq(h_run(argv, out, cap, &status), 0);
    return status;
}

static void
bad_option(const char *a1, const char *a2, const char *a3,
           const char *needle)
{
    char out[4096];
    int st = run_chatd(a1, a2, a3, out, sizeof(out));

    ck_assert_msg(st == 2, "%s %s: exit %d, want 2", a1, a2 ? a2 : "", st);
    ck_assert_msg(strstr(out, needle) != NULL, "%s %s: \"%s\" not in: %s",
                  a1, a2 ? a2 : "", needle, out);
}

START_TEST(test_options_bad_values)
{
    bad_option("--workers", "0", NULL, "workers: '0' is not a whole number");
    bad_option("-w", "many", NULL, "workers: 'many'");
    bad_option("--port", "70000", NULL, "port: '70000'");
    bad_option("-p", "-1", NULL, "port: '-1'");
    bad_option("--max-line", "10", NULL, "max-line: '10'");
    bad_option("--sendq", "1X", NULL, "sendq: '1X' is not a size");
    bad_option("--rate", "fast", NULL, "rate: 'fast'");
    bad_option("--burst", "0", NULL, "burst: '0'");
    bad_option("--history", "1e3", NULL, "history: '1e3'");
    bad_option("--max-clients", "", NULL, "max-clients: ''");
    bad_option("--bogus", NULL, NULL, "unrecognized option '--bogus'");
    bad_option("-p", NULL, NULL, "requires an argument");
    bad_option("stray", NULL, NULL, "unexpected argument 'stray'");
    bad_option("--motd", "/nonexistent/motd", NULL,
               "motd: cannot open /nonexistent/motd");
}
END_TEST

START_TEST(test_options_help_version)
{
    char out[8192];

    ck_assert_int_eq(run_chatd("--help", NULL, NULL, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "Usage: chatd"));
    for (const char *o = "--port\0--bind\0--workers\0--max-clients\0"
                         "--max-line\0--sendq\0--rate\0--burst\0--history\0"
                         "--motd\0--verbose\0--version\0";
         *o; o += strlen(o) + 1)
        ck_assert_msg(strstr(out, o) != NULL, "%s not in --help", o);
    ck_assert_int_eq(run_chatd("--version", NULL, NULL, out, sizeof(out)),
                     0);
    ck_assert_str_eq(out, "chatd " PACKAGE_VERSION "\n");
}
END_TEST

START_TEST(test_motd_shown)
{
    char path[] = "/tmp/chatd-motd-XXXXXX";
    int fd = mkstemp(path);
    struct hserver s2;
    const char *args[] = { "--motd", path, NULL };

    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(write(fd, "Be nice.\nNo \x1b[31mspam\n", 22), 0);
    close(fd);
    ck_assert_int_eq(hserver_start(&s2, args), 0);
    struct hconn *c = hconn_join(s2.port, NULL, 0);
    ck_assert_ptr_nonnull(c);
    next_is(c, "*** Be nice.");
    next_is(c, "*** No [31mspam");
    hconn_close(c);
    ck_assert_int_eq(hserver_stop(&s2), 0);
    unlink(path);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Issue 11: what a new user tripped over                              */
/* ------------------------------------------------------------------ */

/* chatd -t -p 0 with one more option and its value: the exit status. */
static int
check_with(const char *opt, const char *val)
{
    const char *argv[] = { hserver_chatd(), "-t", "-p", "0", opt, val,
                           NULL };
    char out[4096];
    int status = -1;

    ck_assert_int_eq(h_run(argv, out, sizeof(out), &status), 0);
    ck_assert_msg(strstr(out, "sendq") == NULL, "%s %s: %s", opt, val, out);
    return status;
}

/* Point 5: no valid combination of limits is refused for sendq reasons. */
START_TEST(test_issue_11_limits_never_refused_for_sendq)
{
    ck_assert_int_eq(check_with("--max-clients", "20000"), 0);
    ck_assert_int_eq(check_with("--max-clients", "1000000"), 0);
    ck_assert_int_eq(check_with("--sendq", "65536"), 0);
    ck_assert_int_eq(check_with("--sendq", "4096"), 0);
    ck_assert_int_eq(check_with("--history", "10000"), 0);
}
END_TEST

/* Let the kernel buffers fill, as for a client that reads slowly.  Not
 * a silence check: nothing is asserted about what came meanwhile. */
static void
fall_behind(struct hconn *c)
{
    hconn_rcvbuf(c, 1024);
    usleep(300 * 1000);
}

/*
 * Point 5: /who of 600 users with a 4 KiB sendq goes out as the client
 * reads it, complete, in one list; the client is not cut; its next line
 * is answered after the list.
 */
START_TEST(test_issue_11_who_made_as_read)
{
    static const char *const args[] = { "--sendq", "4096", "--rate", "0",
                                        "--max-clients", "2000",
                                        "--max-line", "64", NULL };
    enum { N = 600 };           /* ~5.4 KB of names: more than sendq */
    struct hconn *c[N], *r;
    struct hserver s2;
    int names = 0;

    ck_assert_int_eq(hserver_start(&s2, args), 0);
    for (int i = 0; i < N; i++)
        ck_assert_ptr_nonnull(c[i] = hconn_join(s2.port, NULL, 0));
    ck_assert_ptr_nonnull(r = hconn_join(s2.port, NULL, 0));
    hconn_send(r, "/who\n/help\n");
    fall_behind(r);
    ck_assert_int_eq(hconn_expect(r, "users online:", line, sizeof(line),
                                  T), 1);
    ck_assert_str_eq(line, "*** 601 users online:");
    for (;;) {
        ck_assert_int_eq(hconn_line(r, line, sizeof(line), T), 1);
        if (strcmp(line, "*** commands:") == 0)
            break;                  /* /help comes after the whole list */
        ck_assert_msg(strncmp(line, "***   guest", 11) == 0, "%s", line);
        ck_assert_uint_lt(strlen(line), 420);
        for (char *p = strstr(line, "guest"); p; p = strstr(p + 1, "guest"))
            names++;
    }
    ck_assert_int_eq(names, N + 1);
    char *log = hserver_log(&s2);
    ck_assert_ptr_null(strstr(log, "too slow"));
    free(log);
    for (int i = 0; i < N; i++)
        hconn_close(c[i]);
    hconn_close(r);
    ck_assert_int_eq(hserver_stop(&s2), 0);
}
END_TEST

/* Point 5: 300 history lines of 900 bytes with an 8 KiB sendq reach a
 * slow joiner in full and in order. */
START_TEST(test_issue_11_history_made_as_read)
{
    static const char *const args[] = { "--sendq", "8192", "--rate", "0",
                                        "--history", "300", NULL };
    static char text[901];
    struct hconn *a, *b;
    struct hserver s2;

    ck_assert_int_eq(hserver_start(&s2, args), 0);
    ck_assert_ptr_nonnull(a = hconn_join(s2.port, NULL, 0));
    memset(text, 'h', 890);
    for (int i = 0; i < 300; i++)
        hconn_send(a, "%04d %.890s\n", i, text);
    hconn_send(a, "/help\n");       /* answered once all 300 are in */
    ck_assert_int_eq(hconn_expect(a, "*** commands:", line, sizeof(line),
                                  T), 1);
    ck_assert_ptr_nonnull(b = hconn_join(s2.port, NULL, 0));
    fall_behind(b);
    for (int i = 0; i < 300; i++) {
        char want[16];
        ck_assert_int_eq(hconn_expect(b, "> ", line, sizeof(line), T), 1);
        snprintf(want, sizeof(want), "> %04d ", i);
        ck_assert_msg(strstr(line, want) != NULL, "line %d: %.40s", i,
                      line);
    }
    ck_assert_int_eq(hconn_expect(b, "*** end of history", line,
                                  sizeof(line), T), 1);
    /* /history makes the same replay as it is read, framed again. */
    hconn_send(b, "/history\n");
    ck_assert_int_eq(hconn_expect(b, "*** history of #lobby: 300 lines",
                                  line, sizeof(line), T), 1);
    fall_behind(b);
    for (int i = 0; i < 300; i++) {
        char want[16];
        ck_assert_int_eq(hconn_line(b, line, sizeof(line), T), 1);
        snprintf(want, sizeof(want), "> %04d ", i);
        ck_assert_msg(h_stamp_ok(line) && strstr(line, want) != NULL,
                      "line %d: %.40s", i, line);
    }
    next_is(b, "*** end of history");
    hconn_send(b, "/help\n");
    ck_assert_int_eq(hconn_expect(b, "*** commands:", line, sizeof(line),
                                  T), 1);
    char *log = hserver_log(&s2);
    ck_assert_ptr_null(strstr(log, "too slow"));
    free(log);
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s2), 0);
}
END_TEST

/*
 * A client's own replies never get it cut: 8000 /help lines in one go
 * (48 KB) with a 64 KiB sendq and no flood control; its
 * lines wait while its replies are unread.  Found in review: they all ran
 * at once and the client was cut past sendq.
 */
struct burst {
    struct hconn *c;
    const char   *data;
    size_t        len;
};

/* Write a burst from a thread of its own: the server may push back. */
static void *
write_burst(void *arg)
{
    struct burst *b = arg;

    hconn_write(b->c, b->data, b->len);
    return NULL;
}

START_TEST(test_issue_11_replies_wait_for_the_reader)
{
    static const char *const args[] = { "--sendq", "65536", "--rate", "0",
                                        NULL };
    enum { N = 8000 };          /* 7 MB of replies: more than the kernel
                                   buffers on both sides hold */
    static char burst[N * 6 + 1];
    struct hconn *a;
    struct hserver s2;
    int seen = 0;

    ck_assert_int_eq(hserver_start(&s2, args), 0);
    ck_assert_ptr_nonnull(a = hconn_join(s2.port, NULL, 0));
    for (int i = 0; i < N; i++)
        memcpy(burst + 6 * i, "/help\n", 6);
    struct burst b = { a, burst, N * 6 };
    pthread_t th;

    hconn_rcvbuf(a, 16384);
    pthread_create(&th, NULL, write_burst, &b);
    usleep(300 * 1000);             /* behind, as in fall_behind() */
    while (seen < N) {
        ck_assert_int_eq(hconn_expect(a, "*** commands:", line, sizeof(line),
                                      T), 1);
        seen++;
    }
    pthread_join(th, NULL);
    char *log = hserver_log(&s2);
    ck_assert_ptr_null(strstr(log, "too slow"));
    free(log);
    hconn_close(a);
    ck_assert_int_eq(hserver_stop(&s2), 0);
}
END_TEST

/* Point 15: blank lines, command case, nick errors, guest names, bye. */
START_TEST(test_issue_11_papercuts)
{
    struct hconn *a = join_as("alice");
    struct hconn *b = join_as("bob");

    hconn_send(a, "    \n\t \nafter blanks\n");
    next_is(b, "<alice> after blanks");     /* nothing came before it */
    hconn_send(a, "/MSG bob upper case\n");
    next_is(a, "-> *bob* upper case");
    next_is(b, "*alice* upper case");
    hconn_send(a, "/Nick bad name\n");
    next_is(a, "*** error: a nickname cannot contain spaces: 1-24 of "
               "A-Z a-z 0-9 _ -");
    hconn_send(a, "/nick guest5\n");
    next_is(a, "*** error: names of guest and a number are for guests: "
               "guest5");
    hconn_send(a, "/nick GUEST77\n");
    next_is(a, "*** error: names of guest and a number are for guests: "
               "GUEST77");
    hconn_send(a, "/nick guest5x\n");
    next_is(a, "*** you are now known as guest5x");
    hconn_send(a, "/quit\n");
    next_is(a, "*** bye");
    ck_assert(hconn_closed(a, T));
    hconn_close(a);
    hconn_close(b);
}
END_TEST

static Suite *
process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc;

    tc = tcase_create("Process");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sigterm_with_clients);
    tcase_add_test(tc, test_issue_stale_cursor);
    tcase_add_test(tc, test_issue_log_pinned_by_stalled_client);
    tcase_add_test(tc, test_options_bad_values);
    tcase_add_test(tc, test_options_help_version);
    tcase_add_test(tc, test_motd_shown);
    suite_add_tcase(s, tc);

    tc = tcase_create("Issue11");
    tcase_add_unchecked_fixture(tc, start_default, stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_issue_11_limits_never_refused_for_sendq);
    tcase_add_test(tc, test_issue_11_who_made_as_read);
    tcase_add_test(tc, test_issue_11_history_made_as_read);
    tcase_add_test(tc, test_issue_11_replies_wait_for_the_reader);
    tcase_add_test(tc, test_issue_11_papercuts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return h_run_suite(process_suite());
}
