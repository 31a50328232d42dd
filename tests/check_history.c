/*
 * check_history.c: stored history (SPEC "Lasting history") against the
 * real chatd on port 0 with a temporary state-dir and a real SQLite
 * database: lines survive a restart and a SIGKILL (chatd(8)'s promise),
 * rooms keep apart, history-keep trims, private lines are never stored,
 * /history and joins replay from the store, a logged-in user is replayed
 * what it missed, a long replay is sent a chunk at a time under a small
 * sendq, and a store that is held up never stalls a broadcast.  Each
 * test runs its own chatd in its forked child.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define T H_TIMEOUT_MS

static char tmp[64];
static char state[128];
static char db[160];
static char conf[128];                  /* an empty config file */
static struct hserver srv;
static char line[70000];

static void
setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/check_history.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(state, sizeof(state), "%s/state", tmp);
    snprintf(db, sizeof(db), "%s/history.db", state);
    snprintf(conf, sizeof(conf), "%s/chatd.conf", tmp);
    close(open(conf, O_WRONLY | O_CREAT, 0644));
}

static void
teardown(void)
{
    char cmdline[256];

    snprintf(cmdline, sizeof(cmdline), "rm -rf %s", tmp);
    if (system(cmdline) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
}

/* chatd with the temporary state-dir, no rate limit and up to four more
 * arguments (NULL ends them). */
static void
serve(const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *args[] = { "-c", conf, "--state-dir", state, "--rate",
                           "0", "--login-delay", "1", "-v", a1, a2, a3,
                           a4, NULL };

    ck_assert_msg(hserver_start(&srv, args) == 0, "chatd did not start");
    ck_assert(hserver_wait_log(&srv, "history in ", T));
}

static void
unserve(void)
{
    ck_assert_int_eq(hserver_stop(&srv), 0);
}

static struct hconn *
client(const char *nick)
{
    struct hconn *c = hconn_open(srv.port);

    ck_assert_ptr_nonnull(c);
    h_expect(c, "*** welcome to chatd, ", line, sizeof(line));
    if (nick) {
        hconn_send(c, "/nick %s\n", nick);
        h_expect(c, "*** you are now known as ", line, sizeof(line));
    }
    return c;
}

/* Send a line and wait for the line holding want. */
static void
say(struct hconn *c, const char *text, const char *want)
{
    hconn_send(c, "%s\n", text);
    h_expect(c, want, line, sizeof(line));
}

/* The next line is exactly want (H_STAMP first: a stamped line). */
static void
next_is(struct hconn *c, const char *want)
{
    ck_assert_int_gt(hconn_line(c, line, sizeof(line), T), 0);
    if (strncmp(want, H_STAMP, 4) == 0)
        ck_assert_msg(h_stamped_is(line, want), "got \"%s\", want \"%s\"",
                      line, want);
    else
        ck_assert_str_eq(line, want);
}

/* alice says "line FIRST" .. "line LAST-1" in the current room; watcher
 * has received them all when this returns. */
static void
say_lines(struct hconn *alice, struct hconn *watcher, int first, int last,
          const char *prefix)
{
    char want[128];

    for (int i = first; i < last; i++)
        hconn_send(alice, "line %d\n", i);
    snprintf(want, sizeof(want), "%s<alice> line %d", prefix, last - 1);
    h_expect(watcher, want, line, sizeof(line));
}

/* The frame of a replay of room with lines "line FIRST".."line LAST-1". */
static void
replayed(struct hconn *c, const char *room, int first, int last,
         const char *prefix)
{
    char want[160];
    int n = last - first;

    snprintf(want, sizeof(want), "*** history of %s: %d line%s", room, n,
             n == 1 ? "" : "s");
    h_expect(c, want, line, sizeof(line));
    for (int i = first; i < last; i++) {
        snprintf(want, sizeof(want), H_STAMP "%s<alice> line %d", prefix,
                 i);
        next_is(c, want);
    }
    next_is(c, "*** end of history");
}

/* One number from the history database (a query of the test's own). */
static long
db_count(const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *q;
    long n = -1;

    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return n;
}

/* ------------------------------------------------------------------ */

/* Lines said survive a restart: the next newcomer gets the last
 * `history` of them, framed and stamped, and /history N the last N. */
START_TEST(test_restart_survives)
{
    struct hconn *a, *b, *c;

    serve("--history", "3", NULL, NULL);
    a = client("alice");
    b = client("bob");
    say_lines(a, b, 0, 5, "");
    hconn_close(a);
    hconn_close(b);
    unserve();
    serve("--history", "3", NULL, NULL);
    c = hconn_open(srv.port);
    ck_assert_ptr_nonnull(c);
    h_expect(c, "*** welcome to chatd, ", line, sizeof(line));
    replayed(c, "#lobby", 2, 5, "");
    hconn_send(c, "/history 4\n");
    replayed(c, "#lobby", 1, 5, "");
    h_silent(c);
    hconn_close(c);
    unserve();
}
END_TEST

/* Each room has its own lines: a join replays only its room's, and
 * /history in the default room has none of #dev's. */
START_TEST(test_rooms_apart)
{
    struct hconn *a, *b, *c;

    serve("--history", "10", NULL, NULL);
    a = client("alice");
    b = client("bob");
    say(a, "/join #dev", "*** you joined #dev");
    say(b, "/join #dev", "*** you joined #dev");
    say_lines(a, b, 0, 3, "#dev ");
    say(a, "/join #ops", "*** you joined #ops");
    say(b, "/join #ops", "*** you joined #ops");
    say_lines(a, b, 10, 12, "#ops ");
    hconn_close(a);
    hconn_close(b);
    unserve();
    serve("--history", "10", NULL, NULL);
    c = client("carol");
    hconn_send(c, "/history\n");
    h_expect(c, "*** history of #lobby: 0 lines", line, sizeof(line));
    next_is(c, "*** end of history");
    say(c, "/join #dev", "*** you joined #dev");
    replayed(c, "#dev", 0, 3, "#dev ");
    say(c, "/join #ops", "*** you joined #ops");
    replayed(c, "#ops", 10, 12, "#ops ");
    h_silent(c);
    hconn_close(c);
    unserve();
}
END_TEST

/* history-keep trims each room to its last N lines, on disk too. */
START_TEST(test_keep_trims)
{
    struct hconn *a, *b;

    serve("--history-keep", "5", NULL, NULL);
    a = client("alice");
    b = client("bob");
    say_lines(a, b, 0, 8, "");
    say(a, "/join #dev", "*** you joined #dev");
    say(b, "/join #dev", "*** you joined #dev");
    say_lines(a, b, 20, 22, "#dev ");
    hconn_send(b, "/join #lobby\n");
    hconn_send(b, "/history 500\n");
    replayed(b, "#lobby", 3, 8, "");
    hconn_close(a);
    hconn_close(b);
    unserve();
    ck_assert_int_eq(db_count("SELECT count(*) FROM lines WHERE room = "
                              "'#lobby'"), 5);
    ck_assert_int_eq(db_count("SELECT count(*) FROM lines WHERE room = "
                              "'#dev'"), 2);
}
END_TEST

/* Private lines are never stored, nor replayed. */
START_TEST(test_private_not_stored)
{
    struct hconn *a, *b;

    serve("--history", "5", NULL, NULL);
    a = client("alice");
    b = client("bob");
    say(a, "/msg bob the secret word", "the secret word");
    h_expect(b, "the secret word", line, sizeof(line));
    say_lines(a, b, 0, 1, "");
    hconn_send(b, "/history\n");
    replayed(b, "#lobby", 0, 1, "");
    hconn_close(a);
    hconn_close(b);
    unserve();
    ck_assert_int_eq(db_count("SELECT count(*) FROM lines WHERE "
                              "instr(line, 'secret') > 0"), 0);
    ck_assert_int_eq(db_count("SELECT count(*) FROM lines"), 1);
}
END_TEST

/* chatd(8): a line acknowledged to its room is on disk within one
 * second; kill -9 loses at most that second.  Lines are acknowledged
 * (echoed to another member), chatd is killed 1.5 s later, and every
 * line is replayed after the restart. */
START_TEST(test_sigkill_keeps)
{
    struct hconn *a, *b;
    int status;

    serve(NULL, NULL, NULL, NULL);
    a = client("alice");
    b = client("bob");
    say_lines(a, b, 0, 200, "");
    usleep(1500 * 1000);                /* the promise: one second */
    ck_assert_int_eq(hserver_signal(&srv, SIGKILL), 0);
    ck_assert_int_eq(waitpid(srv.pid, &status, 0), srv.pid);
    ck_assert(WIFSIGNALED(status));
    hconn_close(a);
    hconn_close(b);
    serve(NULL, NULL, NULL, NULL);
    b = client("bob");
    hconn_send(b, "/history 500\n");
    replayed(b, "#lobby", 0, 200, "");
    hconn_close(b);
    unserve();
}
END_TEST

/* A logged-in user joining a room is replayed what it missed since it
 * left, across a restart, and only that; a guest gets nothing. */
START_TEST(test_missed_lines)
{
    struct hconn *a, *u, *g;

    serve(NULL, NULL, NULL, NULL);
    u = client("ursula");
    say(u, "/register ursulapass", "*** registered ursula");
    a = client("alice");
    say(a, "/join #dev", "*** you joined #dev");
    say(u, "/join #dev", "*** you joined #dev");
    say_lines(a, u, 0, 2, "#dev ");
    say(u, "/part #dev", "*** you left #dev");
    g = client("gus");
    say(g, "/join #dev", "*** you joined #dev");
    say_lines(a, g, 2, 5, "#dev ");
    say(u, "/join #dev", "*** you joined #dev");
    replayed(u, "#dev", 2, 5, "#dev ");
    say(u, "/part #dev", "*** you left #dev");
    say(g, "/part #dev", "*** you left #dev");
    say(g, "/join #dev", "*** you joined #dev");
    hconn_send(g, H_BARRIER_CMD "\n");
    h_expect(g, H_BARRIER_REPLY, line, sizeof(line));   /* no replay */
    say_lines(a, g, 5, 7, "#dev ");
    hconn_close(a);
    hconn_close(g);
    hconn_close(u);
    unserve();
    serve(NULL, NULL, NULL, NULL);
    a = client("alice");
    say(a, "/join #dev", "*** you joined #dev");
    hconn_send(a, "line 7\n");
    say(a, H_BARRIER_CMD, H_BARRIER_REPLY);
    u = client(NULL);
    say(u, "/login ursula ursulapass", "*** logged in as ursula");
    say(u, "/join #dev", "*** you joined #dev");
    replayed(u, "#dev", 5, 8, "#dev ");
    h_silent(u);
    hconn_close(a);
    hconn_close(u);
    unserve();
}
END_TEST

/* 500 long lines replayed to a client with a small sendq and a small
 * receive buffer: sent as it reads, nothing cut, nothing lost, and the
 * live line said during the replay comes after its end. */
START_TEST(test_replay_chunked)
{
    struct hconn *a, *b;
    char want[1024], *log;

    serve("--sendq", "16k", "--max-line", "1024");
    a = client("alice");
    b = client("bob");
    for (int i = 0; i < 500; i++)
        hconn_send(a, "line %d %0900d\n", i, 0);
    snprintf(want, sizeof(want), "<alice> line 499 %0900d", 0);
    h_expect(b, want, line, sizeof(line));
    ck_assert_int_eq(hconn_rcvbuf(b, 4096), 0);
    hconn_send(b, "/history 500\n");
    say(a, H_BARRIER_CMD, H_BARRIER_REPLY);
    usleep(200 * 1000);                 /* the replay is under way */
    hconn_send(a, "live\n");
    h_expect(b, "*** history of #lobby: 500 lines", line, sizeof(line));
    for (int i = 0; i < 500; i++) {
        snprintf(want, sizeof(want), H_STAMP "<alice> line %d %0900d", i,
                 0);
        next_is(b, want);
    }
    next_is(b, "*** end of history");
    next_is(b, "<alice> live");
    hconn_close(a);
    hconn_close(b);
    log = hserver_log(&srv);
    ck_assert_ptr_null(strstr(log, "sendq"));
    free(log);
    unserve();
}
END_TEST

/* A store held up (another process holds the database's write lock):
 * broadcasts go on at once, /history says it is unavailable after a
 * while, and once the lock goes the lines held up are stored. */
START_TEST(test_store_held_up)
{
    struct hconn *a, *b;
    sqlite3 *h;
    long t0;

    serve(NULL, NULL, NULL, NULL);
    a = client("alice");
    b = client("bob");
    say_lines(a, b, 0, 1, "");
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    t0 = h_now_ms();
    say_lines(a, b, 1, 50, "");
    ck_assert_int_lt(h_now_ms() - t0, 2500);   /* the lock: 5 s */
    hconn_send(b, "/history 5\n");
    h_expect(b, "*** history unavailable", line, sizeof(line));
    say_lines(a, b, 50, 51, "");         /* chat goes on */
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(h);
    hconn_send(b, "/history 3\n");
    replayed(b, "#lobby", 48, 51, "");
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

/* history-keep is checked like any key; 0 stores nothing. */
START_TEST(test_keep_zero)
{
    const char *args[] = { "-c", conf, "--state-dir", state,
                           "--history-keep", "0", "--history", "2", NULL };
    struct hconn *a, *b;
    char out[4096];
    int status;
    const char *bad[] = { hserver_chatd(), "-c", conf, "-t",
                          "--history-keep", "-1", NULL };
    char *log;

    ck_assert_int_eq(h_run(bad, out, sizeof(out), &status), 0);
    ck_assert_int_eq(status, 2);
    ck_assert_ptr_nonnull(strstr(out, "history-keep"));
    ck_assert_int_eq(hserver_start(&srv, args), 0);
    a = client("alice");
    b = client("bob");
    say_lines(a, b, 0, 1, "");
    hconn_send(b, "/history\n");
    replayed(b, "#lobby", 0, 1, "");    /* from memory */
    hconn_close(a);
    hconn_close(b);
    log = hserver_log(&srv);
    ck_assert_ptr_null(strstr(log, "history in "));
    free(log);
    unserve();
    ck_assert_int_ne(access(db, F_OK), 0);
}
END_TEST

static Suite *
history_suite(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("Stored");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_restart_survives);
    tcase_add_test(tc, test_rooms_apart);
    tcase_add_test(tc, test_keep_trims);
    tcase_add_test(tc, test_private_not_stored);
    tcase_add_test(tc, test_sigkill_keeps);
    tcase_add_test(tc, test_missed_lines);
    tcase_add_test(tc, test_replay_chunked);
    tcase_add_test(tc, test_store_held_up);
    tcase_add_test(tc, test_keep_zero);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(history_suite());
}
