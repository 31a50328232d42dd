/*
 * check_cluster_fail.c: clustering (--cluster) tests of failures and of
 * what the nodes must agree on.  Each TCase runs a real redis-server and
 * real chatd nodes joined through it (hcluster.c), or starts them itself,
 * and talks to the nodes over sockets: Redis restarting, a split healed,
 * a clean stop, a node killed, starting without Redis, bad options, node
 * names in use, /who while Redis is down, reconnecting, guest names
 * unique across nodes and after a restart, and Redis AUTH.  Everything
 * here belongs to the test's thread; servers started by an unchecked
 * fixture belong to the parent process and are stopped by PID.
 *
 * Without redis-server every TCase is skipped (exit 77), unless
 * CHATD_REQUIRE_REDIS is set (.ci/run sets it), which makes a missing
 * redis-server a failure.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clwire.h"
#include "hcluster.h"

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

START_TEST(test_redis_restart)
{
    struct hconn *a = join_at(0, "ann");
    struct hconn *a2 = join_at(0, "art");
    struct hconn *b = join_at(1, "ben");
    int port = rds.port;

    hconn_send(a, "before\n");
    expect(b, "<ann> before");
    hredis_stop(&rds);
    expect(a, "*** cluster link down: only users on this server can see "
              "your messages");
    expect(b, "*** cluster link down");
    expect(a2, "*** cluster link down");
    /* Local chat goes on. */
    hconn_send(a, "local only\n");
    expect(a2, "<ann> local only");
    static const char *const local[] = { "local only", NULL };
    hconn_send(a, "/nick anna\n");
    expect(a, "*** error: cluster link down");
    ck_assert(hserver_wait_log(&node[0], "lost (", T));
    ck_assert_int_eq(hredis_start(&rds, redis_bin, port), 0);
    expect(a, "*** cluster link is back");
    expect_not_before(b, local, "*** cluster link is back");
    hconn_send(a, "after\n");
    expect_not_before(b, local, "<ann> after");   /* never went out */
    hconn_send(b, "reply\n");
    expect(a2, "<ben> reply");
    /* Nicknames were registered again. */
    struct hconn *c = join_at(1, NULL);
    hconn_send(c, "/nick art\n");
    expect(c, "*** error: nickname is already in use: art");
    hserver_signal(&node[0], SIGUSR1);
    ck_assert(hserver_wait_log(&node[0], "cluster_reconnects=1", T));
    hconn_close(a);
    hconn_close(a2);
    hconn_close(b);
    hconn_close(c);
    hredis_stop(&rds);      /* started by this forked test: its log too */
}
END_TEST

START_TEST(test_node_killed)
{
    struct hconn *a = join_at(0, "survivor");
    struct hconn *b = join_at(1, "doomed");
    long t0;
    int status;

    hconn_send(b, "last words\n");
    expect(a, "<doomed> last words");
    t0 = h_now_ms();
    kill(node[1].pid, SIGKILL);
    waitpid(node[1].pid, &status, 0);     /* fails: the parent's child */
    ck_assert_int_eq(hconn_expect(a, "*** doomed has left (lost server n2)",
                                  line, sizeof(line), 15000), 1);
    ck_assert_int_le(h_now_ms() - t0, 10000);
    /* Its nicknames are free again. */
    hconn_send(a, "/nick doomed\n");
    expect(a, "you are now known as doomed");
    hconn_send(a, "/who\n");
    expect(a, "*** 1 user online:");
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_start_without_redis)
{
    static const char *const args[] = {
        "--cluster", "redis://127.0.0.1:1", "--node-name", "lonely", NULL };
    struct hserver s;
    struct hconn *a, *b;

    ck_assert_int_eq(hserver_start(&s, args), 0);
    a = hconn_join(s.port, NULL, 0);
    ck_assert_ptr_nonnull(a);
    expect(a, "*** cluster link down");
    b = hconn_join(s.port, NULL, 0);
    ck_assert_ptr_nonnull(b);
    hconn_send(b, "anyone?\n");
    expect(a, "> anyone?");
    ck_assert(hserver_wait_log(&s, "cannot reach redis://127.0.0.1:1", T));
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

START_TEST(test_bad_options)
{
    static const char *const bad[][4] = {
        { "--cluster", "http://x", NULL },
        { "--cluster", "redis://h:1", "--node-name", "no space" },
        { "--cluster", "redis://h:1", "--cluster-channel", "a/b" },
        { "--cluster-timeout", "1", NULL },
    };
    char out[4096];
    int status;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[6] = { hserver_chatd() };
        for (int k = 0; k < 4 && bad[i][k]; k++)
            argv[k + 1] = bad[i][k];
        ck_assert_int_eq(h_run(argv, out, sizeof(out), &status), 0);
        ck_assert_msg(status == 2, "%s: exit %d", bad[i][1], status);
    }
    const char *help[] = { hserver_chatd(), "--help", NULL };
    ck_assert_int_eq(h_run(help, out, sizeof(out), &status), 0);
    ck_assert(strstr(out, "--cluster URL") && strstr(out, "--node-name") &&
              strstr(out, "--cluster-channel"));
}
END_TEST

/*
 * After a split two nodes may have given out one name; once the link is
 * whole, the node that finds the name's key held by the other (at its
 * next refresh, within 10 s) renames its user to a guest name and says
 * why.  The split is staged by handing the key to n2 in Redis.
 */
START_TEST(test_nick_conflict_after_split)
{
    struct hconn *a = join_at(0, "splitnick");
    struct hconn *b = join_at(1, NULL);
    const char *argv[] = { "SET", "chatd:nick:splitnick", "n2" };

    ck_assert_int_eq(hredis_cmd(rds.port, 3, argv), 0);
    ck_assert_int_eq(hconn_expect(a, "nickname splitnick is also in use "
                                  "on another server", NULL, 0, 15000), 1);
    ck_assert_int_eq(hconn_expect(a, "*** you are now known as guest",
                                  NULL, 0, T), 1);
    ck_assert_int_eq(hconn_expect(b, "*** splitnick is now known as guest",
                                  NULL, 0, T), 1);
    /* The name stays n2's: nobody on n1 may take it back. */
    hconn_send(a, "/nick splitnick\n");
    ck_assert_int_eq(hconn_expect(a, "*** error: nickname is already in "
                                  "use: splitnick", NULL, 0, T), 1);
    ck_assert_int_eq(hserver_signal(&node[0], SIGUSR1), 0);
    ck_assert(hserver_wait_log(&node[0], "nick_conflicts=1", T));
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/*
 * A node stopped cleanly gives up its users' nicknames at once: another
 * node's user can take one right away, not only once the key expires.
 */
START_TEST(test_clean_stop_frees_nicks)
{
    struct hconn *a = join_at(1, "leaver");
    struct hconn *b = join_at(0, NULL);

    ck_assert_int_eq(hserver_signal(&node[1], SIGTERM), 0);
    expect(b, "*** leaver has left");
    hconn_send(b, "/nick leaver\n");
    ck_assert_int_eq(hconn_expect(b, "*** you are now known as leaver",
                                  NULL, 0, T), 1);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Node names, /who while down, guests, AUTH                           */
/* ------------------------------------------------------------------ */

/*
 * Read c's lines until one contains barrier; fail if one before it
 * contains bad.  Whatever c's node would have said in between has come by
 * then (the barrier went through the same channel after it).
 */
static void
until_barrier(struct hconn *c, const char *barrier, const char *bad)
{
    for (;;) {
        int rc = hconn_line(c, line, sizeof(line), T);
        ck_assert_msg(rc == 1, "no \"%s\" (%s)", barrier,
                      rc == 0 ? "timeout" : "EOF");
        ck_assert_msg(strstr(line, bad) == NULL, "unexpected \"%s\"", line);
        if (strstr(line, barrier))
            return;
    }
}

/* chatd joined to rds as node `name` in the foreground: its output and
 * exit status (it is expected to exit by itself). */
static int
run_node(const char *name, char *out, size_t cap)
{
    char url[64];
    const char *argv[] = { hserver_chatd(), "-p", "0", "--cluster", url,
                           "--node-name", name, "--cluster-timeout",
                           TIMEOUT_ARG, NULL };
    int status;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", rds.port);
    ck_assert_int_eq(h_run(argv, out, cap, &status), 0);
    return status;
}

/*
 * A second node started with a name in use is refused (exit 2, says why)
 * and the node that has the name, and its users, notice nothing.
 */
START_TEST(test_name_in_use_refused)
{
    struct hconn *a = join_at(0, "holder");
    struct hconn *b = join_at(1, "other");
    char out[8192];

    ck_assert_int_eq(run_node("n1", out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "node name n1 is in use by another running "
                          "node: give each node its own --node-name"),
                  "no reason given: %s", out);
    hconn_send(b, "barrier after the twin\n");
    until_barrier(a, "<other> barrier after the twin", "cluster link");
    hconn_send(a, "still relaying\n");
    expect(b, "<holder> still relaying");
    char *log = hserver_log(&node[0]);
    ck_assert_msg(strstr(log, "leaving") == NULL &&
                  strstr(log, "link to") == NULL, "n1 noticed: %s", log);
    free(log);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/*
 * A node that finds its name held by another run (here: set by hand, as
 * after a restart of Redis lost the keys) stays out loudly, retrying,
 * and comes back once the name is free.
 */
START_TEST(test_name_taken_later_stays_out)
{
    struct hconn *a = join_at(0, "outsider");
    struct hconn *a2 = join_at(0, "outsider2");
    struct hconn *b = join_at(1, "insider");
    struct hconn *b2 = join_at(1, "insider2");
    const char *set[] = { "SET", "chatd:node:n1", "beef" };
    const char *del[] = { "DEL", "chatd:node:n1" };

    ck_assert_int_eq(hredis_cmd(rds.port, 3, set), 0);
    expect(a, "*** cluster link down");
    ck_assert(hserver_wait_log(&node[0], "node name n1 is in use by "
                               "another running node: staying out", T));
    /* Delivered on n1 alone: had it been published, it would be on the
     * channel before b's barrier. */
    hconn_send(a, "not relayed\n");
    expect(a2, "<outsider> not relayed");
    hconn_send(b, "barrier\n");
    until_barrier(b2, "<insider> barrier", "not relayed");
    ck_assert_int_eq(hredis_cmd(rds.port, 2, del), 0);
    ck_assert_int_eq(hconn_expect(a, "*** cluster link is back", line,
                                  sizeof(line), 10000), 1);
    hconn_send(a, "relayed again\n");
    expect(b, "<outsider> relayed again");
    hconn_close(a);
    hconn_close(a2);
    hconn_close(b);
    hconn_close(b2);
}
END_TEST

/* /who's names (after the count line) until a barrier: one string. */
static void
who(struct hconn *c, char *count, size_t countlen, char *names,
    size_t len)
{
    names[0] = '\0';
    hconn_send(c, "/who\n/msg no-such-user-zz x\n");
    expect(c, "online:");
    snprintf(count, countlen, "%.200s", line);
    for (;;) {
        expect(c, "***");
        if (strstr(line, "no such nickname: no-such-user-zz"))
            return;
        strncat(names, line, len - strlen(names) - 1);
    }
}

/*
 * While Redis is down /who lists only the users reachable (this node's)
 * and counts them; /msg to another node's user says the link is down.
 * Once Redis is back, the other node's users are listed again.
 */
START_TEST(test_who_while_down)
{
    struct hconn *a = join_at(0, "wholocal");
    struct hconn *b = join_at(1, "whoremote");
    char count[256], names[4096];
    int port = rds.port;

    hconn_send(b, "here\n");               /* n1 knows b's name now */
    expect(a, "<whoremote> here");
    who(a, count, sizeof(count), names, sizeof(names));
    ck_assert_msg(strstr(count, "*** 2 users online:"), "%s", count);
    ck_assert_msg(strstr(names, "wholocal") && strstr(names, "whoremote"),
                  "%s", names);
    hredis_stop(&rds);
    expect(a, "*** cluster link down");
    who(a, count, sizeof(count), names, sizeof(names));
    ck_assert_msg(strstr(count, "*** 1 user online:"), "%s", count);
    ck_assert_msg(strstr(names, "wholocal") && !strstr(names, "whoremote"),
                  "%s", names);
    hconn_send(a, "/msg whoremote are you there\n");
    expect(a, "*** error: cluster link down");
    ck_assert_int_eq(hredis_start(&rds, redis_bin, port), 0);
    expect(a, "*** cluster link is back");
    for (long end = h_now_ms() + 10000; h_now_ms() < end;) {
        who(a, count, sizeof(count), names, sizeof(names));
        if (strstr(names, "whoremote"))
            break;
    }
    ck_assert_msg(strstr(count, "*** 2 users online:"), "%s", count);
    ck_assert(strstr(names, "whoremote"));
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/*
 * Whenever the node says "reconnecting" or "retrying", it does: after
 * Redis is killed and started again on its port, the log says link up
 * again and the nodes relay again.  (Also for a node started with Redis
 * out of reach, below.)
 */
START_TEST(test_reconnecting_means_it)
{
    struct hconn *a = join_at(0, "again1");
    struct hconn *b = join_at(1, "again2");
    int port = rds.port;

    for (int round = 1; round <= 2; round++) {
        char want[64];
        hredis_stop(&rds);
        expect(a, "*** cluster link down");
        ck_assert(hserver_wait_log(&node[0], "reconnecting", T));
        ck_assert_int_eq(hredis_start(&rds, redis_bin, port), 0);
        expect(a, "*** cluster link is back");
        expect(b, "*** cluster link is back");
        snprintf(want, sizeof(want), "cluster_reconnects=%d", round);
        hserver_signal(&node[0], SIGUSR1);
        ck_assert(hserver_wait_log(&node[0], want, T));
        hconn_send(a, "round %d\n", round);
        snprintf(want, sizeof(want), "<again1> round %d", round);
        expect(b, want);
    }
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_retrying_after_start_without_redis)
{
    struct hredis late = { 0 };
    struct hserver s;
    char url[64];
    int port;
    const char *args[] = { "--cluster", url, "--node-name", "late",
                           "--cluster-timeout", TIMEOUT_ARG, NULL };
    struct hconn *a;

    /* A port redis-server could take just now, free again: the node
     * finds nobody there, and hredis_start() retries if someone takes
     * it meanwhile. */
    ck_assert_int_eq(hredis_start(&late, redis_bin, 0), 0);
    port = late.port;
    hredis_stop(&late);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    ck_assert_int_eq(hserver_start(&s, args), 0);
    ck_assert(hserver_wait_log(&s, "retrying", T));
    a = hconn_join(s.port, NULL, 0);
    ck_assert_ptr_nonnull(a);
    expect(a, "*** cluster link down");
    ck_assert_int_eq(hredis_start(&late, redis_bin, port), 0);
    ck_assert(hserver_wait_log(&s, "link up", 10000));
    expect(a, "*** cluster link is back");
    hconn_close(a);
    ck_assert_int_eq(hserver_stop(&s), 0);
    hredis_stop(&late);
}
END_TEST

/* Guests are guestN on every node, and no two nodes give out one N. */
START_TEST(test_guests_unique_across_nodes)
{
    struct hconn *c[12];
    char nicks[12][32];

    for (int i = 0; i < 12; i++) {
        c[i] = hconn_join(node[i % 3].port, nicks[i], sizeof(nicks[i]));
        ck_assert_ptr_nonnull(c[i]);
        ck_assert_msg(proto_guest_name(nicks[i]), "%s", nicks[i]);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(nicks[i], nicks[j]) != 0,
                          "%s twice (n%d and n%d)", nicks[i], i % 3 + 1,
                          j % 3 + 1);
    }
    hconn_send(c[0], "/nick guest5\n");
    expect(c[0], "*** error: names of guest and a number are for guests");
    for (int i = 0; i < 12; i++)
        hconn_close(c[i]);
}
END_TEST

/*
 * A Redis restarted without its data does not hand out guest numbers a
 * node still holds: the nodes raise its counter when they reconnect, so
 * a node that starts afterwards gets numbers of its own (found in
 * review: it got the first block again).
 */
START_TEST(test_guests_after_redis_restart)
{
    struct hconn *a, *b, *c;
    char na[32], nc[32];
    int port = rds.port;

    ck_assert_ptr_nonnull(a = hconn_join(node[0].port, na, sizeof(na)));
    ck_assert_ptr_nonnull(b = hconn_join(node[1].port, NULL, 0));
    hredis_stop(&rds);
    expect(a, "*** cluster link down");
    ck_assert_int_eq(hredis_start(&rds, redis_bin, port), 0);
    expect(a, "*** cluster link is back");
    expect(b, "*** cluster link is back");
    /* Through the channel after n1's request to raise the counter. */
    hconn_send(a, "after the restart\n");
    expect(b, "after the restart");
    node_start(2);
    ck_assert_ptr_nonnull(c = hconn_join(node[2].port, nc, sizeof(nc)));
    ck_assert_msg(strcmp(na, nc) != 0, "%s on n1 and on n3", na);
    ck_assert_msg(strtoull(nc + 5, NULL, 10) > strtoull(na + 5, NULL, 10),
                  "n3's %s is not above n1's %s", nc, na);
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
    ck_assert_int_eq(hserver_stop(&node[2]), 0);
    hredis_stop(&rds);      /* started by this forked test: its log too */
}
END_TEST

/*
 * A node that never reached Redis names its guests from a range no block
 * from Redis ever uses (above 2^40), so they cannot clash with guests
 * numbered by the cluster once it joins.
 */
START_TEST(test_guests_without_redis)
{
    static const char *const args[] = {
        "--cluster", "redis://127.0.0.1:1", "--node-name", "alone", NULL };
    struct hserver s;
    char nick[32];
    struct hconn *a;

    ck_assert_int_eq(hserver_start(&s, args), 0);
    a = hconn_join(s.port, nick, sizeof(nick));
    ck_assert_ptr_nonnull(a);
    ck_assert_msg(proto_guest_name(nick) &&
                  strtoull(nick + 5, NULL, 10) > (1ULL << 40), "%s", nick);
    hconn_close(a);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* Redis with a password (requirepass) and an ACL user. */
static void
up_auth(void)
{
    static const char *const acl[] = { "ACL", "SETUSER", "chat", "on",
                                       ">hunter2", "~*", "&*", "+@all" };
    static const char *const pass[] = { "CONFIG", "SET", "requirepass",
                                        "secret" };

    ck_assert_msg(hredis_start(&rds, redis_bin, 0) == 0,
                  "redis-server did not start");
    ck_assert_int_eq(hredis_cmd(rds.port, 8, acl), 0);
    ck_assert_int_eq(hredis_cmd(rds.port, 4, pass), 0);
    nnodes = 0;
}

/* Start node i as name with URL redis://USERINFO@127.0.0.1:PORT. */
static void
auth_node(int i, const char *name, const char *userinfo)
{
    char url[128];
    const char *args[] = { "--rate", "0", "--cluster", url, "--node-name",
                           name, "--cluster-timeout", TIMEOUT_ARG, NULL };

    snprintf(url, sizeof(url), "redis://%s@127.0.0.1:%d", userinfo,
             rds.port);
    ck_assert_int_eq(hserver_start(&node[i], args), 0);
    nnodes = i + 1;
}

/* No log of any node, nor out, has a password in it. */
static void
no_password(const char *out)
{
    for (int i = 0; i < nnodes; i++) {
        char *log = hserver_log(&node[i]);
        ck_assert_msg(!strstr(log, "secret") && !strstr(log, "hunter2") &&
                      !strstr(log, "wrongpass"), "n%d log: %s", i + 1, log);
        free(log);
    }
    ck_assert_msg(out == NULL || (!strstr(out, "secret") &&
                                  !strstr(out, "hunter2")), "%s", out);
}

START_TEST(test_auth)
{
    struct hconn *a, *b;
    char out[16384];
    int status;

    auth_node(0, "pw", ":secret");
    auth_node(1, "acl", "chat:hunter2");
    auth_node(2, "wrong", ":wrongpass");
    for (int i = 0; i < 2; i++)
        ck_assert_msg(hserver_wait_log(&node[i], "link up", 10000),
                      "n%d did not join", i + 1);
    ck_assert(hserver_wait_log(&node[0], "node acl ", 10000));
    a = join_at(0, "authed");
    b = join_at(1, "acled");
    hconn_send(a, "through auth\n");
    expect(b, "<authed> through auth");
    ck_assert(hserver_wait_log(&node[2], "redis refused the password "
                               "(AUTH): ", 10000));
    const char *t[] = { hserver_chatd(), "-t", "-v", "--cluster",
                        "redis://chat:hunter2@127.0.0.1:1", NULL };
    ck_assert_int_eq(h_run(t, out, sizeof(out), &status), 0);
    ck_assert_int_eq(status, 0);
    ck_assert_msg(strstr(out, "redis://chat:***@127.0.0.1:1"), "%s", out);
    no_password(out);
    const char *bad[] = { hserver_chatd(), "--cluster",
                          "redis://:secret@127.0.0.1:x", NULL };
    ck_assert_int_eq(h_run(bad, out, sizeof(out), &status), 0);
    ck_assert_int_eq(status, 2);
    ck_assert_msg(strstr(out, "redis://:***@127.0.0.1:x"), "%s", out);
    no_password(out);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* A TCase of one or two tests on a fresh cluster made by up. */
static void
fixture_case(Suite *s, const char *name, void (*up)(void),
             const TTest *t1, const TTest *t2)
{
    TCase *tc = tcase_create(name);

    tcase_add_unchecked_fixture(tc, up, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t1);
    if (t2 != NULL)
        tcase_add_test(tc, t2);
    suite_add_tcase(s, tc);
}

static Suite *
cluster_fail_suite(int with_redis)
{
    Suite *s = suite_create("cluster_fail");
    TCase *tc;

    if (!with_redis)
        return s;

    tc = tcase_create("RedisRestart");
    tcase_add_unchecked_fixture(tc, up2, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_redis_restart);
    suite_add_tcase(s, tc);

    tc = tcase_create("Split");
    tcase_add_unchecked_fixture(tc, up2, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_nick_conflict_after_split);
    suite_add_tcase(s, tc);

    tc = tcase_create("CleanStop");
    tcase_add_unchecked_fixture(tc, up2, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_clean_stop_frees_nicks);
    suite_add_tcase(s, tc);

    fixture_case(s, "Names", up2, test_name_in_use_refused,
                 test_name_taken_later_stays_out);
    fixture_case(s, "Down", up2, test_who_while_down, NULL);
    fixture_case(s, "Reconnect", up2, test_reconnecting_means_it, NULL);
    fixture_case(s, "Guests", up3, test_guests_unique_across_nodes, NULL);
    fixture_case(s, "GuestsRestart", up2, test_guests_after_redis_restart,
                 NULL);
    fixture_case(s, "Auth", up_auth, test_auth, NULL);

    tc = tcase_create("NodeDeath");
    tcase_add_unchecked_fixture(tc, up2, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_node_killed);
    suite_add_tcase(s, tc);

    tc = tcase_create("Process");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_start_without_redis);
    tcase_add_test(tc, test_retrying_after_start_without_redis);
    tcase_add_test(tc, test_guests_without_redis);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return hcluster_main("check_cluster_fail", cluster_fail_suite);
}
