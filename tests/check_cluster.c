/*
 * check_cluster.c: clustering (--cluster) tests of what goes between the
 * nodes.  "Wire" unit-tests the pure wire format (clwire.c).  "Relay"
 * runs a real redis-server and three real chatd nodes joined through it
 * (hcluster.c) and talks to the nodes over sockets: lines relayed both
 * ways, notices, /who and /msg across nodes, nicknames unique across
 * them, one global order, garbage on the channel.  Everything here
 * belongs to the test's thread; servers started by an unchecked fixture
 * belong to the parent process and are stopped by PID.
 *
 * Without redis-server "Relay" is skipped (exit 77 after the wire
 * tests pass), unless CHATD_REQUIRE_REDIS is set (.ci/run sets it), which
 * makes a missing redis-server a failure.
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
/* Wire format (pure)                                                  */
/* ------------------------------------------------------------------ */

static int
parse(const char *s, struct clwire *m)
{
    return clwire_parse(s, strlen(s), m);
}

START_TEST(test_wire_parse_good)
{
    struct clwire m;

    ck_assert_int_eq(parse("v1 node-a:7777 1f 42 P 7 alice hi there", &m),
                     0);
    ck_assert_str_eq(m.node, "node-a:7777");
    ck_assert(m.run == 0x1f && m.seq == 42 && m.type == 'P' && m.id == 7);
    ck_assert_str_eq(m.nick, "alice");
    ck_assert_int_eq((int)m.textlen, 8);
    ck_assert(memcmp(m.text, "hi there", 8) == 0);
    ck_assert_int_eq(parse("v1 n 1 1 J 3 bob", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 2 L 3 bob quit: bye now", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 3 N 3 bob Robert", &m), 0);
    ck_assert_str_eq(m.nick2, "Robert");
    ck_assert_int_eq(parse("v1 n 1 4 M other bob amy psst", &m), 0);
    ck_assert_str_eq(m.target, "other");
    ck_assert_int_eq(parse("v1 n 1 5 H 0", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 6 H 1 a b c", &m), 0);
    ck_assert(m.more == 1 && m.textlen == 5);
    ck_assert_int_eq(parse("v1 n 1 7 Q", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 8 A 3 bob ", &m), 0);     /* empty */
}
END_TEST

START_TEST(test_wire_parse_bad)
{
    static const char *const bad[] = {
        "", "v1", "v2 n 1 1 Q", "v1  n 1 1 Q", "v1 n 1 0 Q", "v1 n x 1 Q",
        "v1 n 1 1x Q", "v1 n 1 1 Q ", "v1 n 1 1 Z", "v1 n 1 1 P 7 alice",
        "v1 n 1 1 P x alice hi", "v1 n 1 1 P 7 al!ce hi",
        "v1 n 1 1 J 3 bob extra", "v1 n 1 1 J 3", "v1 n 1 1 N 3 bob",
        "v1 n 1 1 H 2 a", "v1 bad/node 1 1 Q",
        "v1 n 1 1 P 7 aaaaaaaaaaaaaaaaaaaaaaaaa hi",       /* 25 chars */
        "v1 n 1 99999999999999999999999 Q", "v1 n 1 1 M bad! a b hi",
        NULL };
    struct clwire m;
    char *big;

    for (int i = 0; bad[i]; i++)
        ck_assert_msg(parse(bad[i], &m) < 0, "accepted \"%s\"", bad[i]);
    ck_assert(clwire_parse("v1 n 1 1 P 7 a h\0i", 17, &m) < 0);   /* NUL */
    ck_assert(parse("v1 n 1 1 P 7 a h\ni", &m) < 0);               /* LF */
    big = malloc(CLWIRE_MAX + 100);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', CLWIRE_MAX + 99);
    memcpy(big, "v1 n 1 1 P 7 a ", 15);
    big[CLWIRE_MAX + 99] = '\0';
    ck_assert(parse(big, &m) < 0);
    free(big);
}
END_TEST

START_TEST(test_wire_names_and_urls)
{
    struct clwire_url u;

    ck_assert(clwire_name_valid("node-1.example:7777"));
    ck_assert(!clwire_name_valid(""));
    ck_assert(!clwire_name_valid("has space"));
    ck_assert(proto_guest_name("guest12"));
    ck_assert(proto_guest_name("GUEST7"));
    ck_assert(!proto_guest_name("guest12-ab3d"));
    ck_assert(!proto_guest_name("guest"));
    ck_assert(!proto_guest_name("guesthouse"));
    ck_assert(!proto_guest_name("alice"));
    ck_assert_int_eq(clwire_parse_url("redis://127.0.0.1:6380", &u), 0);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 6380);
    ck_assert_int_eq(clwire_parse_url("redis://localhost", &u), 0);
    ck_assert_int_eq(u.port, 6379);
    ck_assert_int_eq(clwire_parse_url("redis://[::1]:7000", &u), 0);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_int_eq(u.port, 7000);
    ck_assert(clwire_parse_url("http://x:1", &u) < 0);
    ck_assert(clwire_parse_url("redis://:1", &u) < 0);
    ck_assert(clwire_parse_url("redis://x:0", &u) < 0);
    ck_assert(clwire_parse_url("redis://x:y", &u) < 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Relay                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_relay_both_ways)
{
    struct hconn *a = join_at(0, "alice");
    struct hconn *b = join_at(1, "bob");
    struct hconn *a2 = join_at(0, "amy");

    hconn_send(a, "hello from n1\n");
    expect(b, "<alice> hello from n1");
    expect(a2, "<alice> hello from n1");
    hconn_send(b, "hello from n2\n");
    expect(a, "<bob> hello from n2");
    expect(a2, "<bob> hello from n2");
    hconn_send(b, "/me waves\n");
    expect(a, "* bob waves");
    /* Exactly once, and never back to the sender: lines sent after them
     * are the barriers. */
    static const char *const once_b[] = { "hello from n1", "<bob>", NULL };
    static const char *const once_a[] = { "<alice>", NULL };
    hconn_send(a, "marker\n");
    expect_not_before(b, once_b, "<alice> marker");
    hconn_send(b, "sync\n");
    expect_not_before(a, once_a, "<bob> sync");
    hconn_close(a);
    expect_not_before(b, once_b, "*** alice has left (connection closed)");
    hconn_close(a2);
    hconn_close(b);
}
END_TEST

START_TEST(test_join_nick_leave_notices)
{
    struct hconn *a = join_at(0, "watcher");
    char nick[32], want[96];
    struct hconn *b = hconn_join(node[1].port, nick, sizeof(nick));

    ck_assert_ptr_nonnull(b);
    snprintf(want, sizeof(want), "*** %s has joined", nick);
    expect(a, want);
    hconn_send(b, "/nick carol\n");
    snprintf(want, sizeof(want), "*** %s is now known as carol", nick);
    expect(a, want);
    hconn_send(b, "/quit gone fishing\n");
    expect(a, "*** carol has left (quit: gone fishing)");
    hconn_close(b);
    hconn_close(a);
}
END_TEST

START_TEST(test_three_nodes)
{
    struct hconn *c[3];

    for (int i = 0; i < 3; i++) {
        char nick[16];
        snprintf(nick, sizeof(nick), "tri%d", i);
        c[i] = join_at(i, nick);
    }
    for (int i = 0; i < 3; i++) {
        char want[64];
        hconn_send(c[i], "from node %d\n", i);
        snprintf(want, sizeof(want), "<tri%d> from node %d", i, i);
        for (int j = 0; j < 3; j++)
            if (j != i)
                expect(c[j], want);
    }
    for (int i = 0; i < 3; i++)
        hconn_close(c[i]);
}
END_TEST

START_TEST(test_who_and_msg_across_nodes)
{
    struct hconn *a = join_at(0, "wally");
    struct hconn *b = join_at(1, "wendy");
    struct hconn *c = join_at(2, "wilma");
    int seen = 0;

    hconn_send(a, "/who\n");
    expect(a, "users online:");
    for (int i = 0; i < 10 && seen != 7; i++) {
        if (hconn_line(a, line, sizeof(line), T) != 1)
            break;
        seen |= strstr(line, "wally") ? 1 : 0;
        seen |= strstr(line, "wendy") ? 2 : 0;
        seen |= strstr(line, "wilma") ? 4 : 0;
    }
    ck_assert_int_eq(seen, 7);
    hconn_send(a, "/msg WENDY psst across\n");
    expect(a, "-> *wendy* psst across");
    expect(b, "*wally* psst across");
    hconn_send(c, "/msg wally \x1b[31mred\n");
    expect(a, "*wilma* [31mred");
    static const char *const not_b[] = { "red", NULL };
    hconn_send(c, "sync\n");
    expect_not_before(b, not_b, "<wilma> sync");
    hconn_send(a, "/msg nobody-here hi\n");
    expect(a, "*** error: no such nickname: nobody-here");
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
}
END_TEST

START_TEST(test_nick_unique_across_nodes)
{
    struct hconn *a = join_at(0, "keeper");
    struct hconn *b = join_at(1, NULL);
    struct hconn *x, *y;
    int ok = 0, taken = 0;

    hconn_send(b, "/nick KEEPER\n");
    expect(b, "*** error: nickname is already in use: KEEPER");
    hconn_send(b, "/nick guest99\n");
    expect(b, "*** error: names of guest and a number are for guests");
    /* The same new name on two nodes at once: one wins. */
    for (int round = 0; round < 5; round++) {
        char name[16];
        x = join_at(0, NULL);
        y = join_at(1, NULL);
        snprintf(name, sizeof(name), "race%d", round);
        hconn_send(x, "/nick %s\n", name);
        hconn_send(y, "/nick %s\n", name);
        struct hconn *both[2] = { x, y };
        for (int k = 0; k < 2; k++) {
            /* The answer; the winner's rename notice may come first. */
            for (;;) {
                int rc = hconn_line(both[k], line, sizeof(line), T);
                ck_assert_int_eq(rc, 1);
                if (strstr(line, "you are now known as")) {
                    ok++;
                    break;
                }
                if (strstr(line, "already in use")) {
                    taken++;
                    break;
                }
                ck_assert_msg(strncmp(line, "*** error", 9) != 0,
                              "unexpected: %s", line);
            }
        }
        hconn_close(x);
        hconn_close(y);
    }
    ck_assert_int_eq(ok, 5);
    ck_assert_int_eq(taken, 5);
    /* A name that is freed can be taken on another node. */
    hconn_close(a);
    expect(b, "*** keeper has left");
    hconn_send(b, "/nick keeper\n");
    expect(b, "you are now known as keeper");
    hconn_close(b);
}
END_TEST

#define ORDER_LINES 150

static void *
send_lines(void *arg)
{
    hconn_send_numbered(arg, ORDER_LINES);
    return NULL;
}

/* Collect `want` lines starting with "<s" from c into out. */
static void
collect(struct hconn *c, char **out, int want)
{
    int got = 0;

    while (got < want) {
        int rc = hconn_line(c, line, sizeof(line), 10000);
        ck_assert_msg(rc == 1, "got %d of %d lines", got, want);
        if (strncmp(line, "<s", 2) == 0)
            out[got++] = strdup(line);
    }
}

START_TEST(test_global_order_concurrent_senders)
{
    struct hconn *snd[3], *rd[3];
    pthread_t th[3];
    char **seen[3];
    const int total = 3 * ORDER_LINES;

    for (int i = 0; i < 3; i++) {
        char nick[16];
        snprintf(nick, sizeof(nick), "s%d", i);
        snd[i] = join_at(i, nick);
        snprintf(nick, sizeof(nick), "r%d", i);
        rd[i] = join_at(i, nick);
        seen[i] = calloc(total, sizeof(char *));
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, send_lines, snd[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++)
        collect(rd[i], seen[i], total);
    /* Every reader, one per node, saw one and the same order, and each
     * sender's lines in the order sent. */
    int next[3] = { 0 };
    for (int k = 0; k < total; k++) {
        int s, n;
        ck_assert_int_eq(sscanf(seen[0][k], "<s%d> m %d", &s, &n), 2);
        ck_assert_int_eq(n, next[s]++);
        for (int i = 1; i < 3; i++)
            ck_assert_msg(strcmp(seen[i][k], seen[0][k]) == 0,
                          "reader on n%d, line %d: %s; on n1: %s", i + 1,
                          k, seen[i][k], seen[0][k]);
    }
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < total; k++)
            free(seen[i][k]);
        free(seen[i]);
        hconn_close(snd[i]);
        hconn_close(rd[i]);
    }
}
END_TEST

START_TEST(test_garbage_on_channel)
{
    struct hconn *a = join_at(0, "victim");
    struct hconn *b = join_at(1, "sender");
    char *big = malloc(CLWIRE_MAX + 2);

    ck_assert_ptr_nonnull(big);
    publish("");
    publish("hello redis");
    publish("v1 n9 1 1 P 1 x\x01y text");
    publish("v1 n9 1 2 J 1 bad!nick");
    publish("v1 n9 1 3 P notanumber x hi");
    publish("v1 n2 0 1 Q");                 /* not n2's run: a replay */
    memset(big, 'x', CLWIRE_MAX + 1);
    memcpy(big, "v1 n9 1 4 P 1 huge ", 19);
    big[CLWIRE_MAX + 1] = '\0';
    publish(big);
    free(big);
    /* Well-formed but hostile text is sanitized like local text. */
    publish("v1 fake 1 1 P 1 mallory \x1b]0;owned\x07 \xc2\x9b ok");
    expect(a, "<mallory> ]0;owned");
    ck_assert(strchr(line, '\x1b') == NULL && strchr(line, '\x07') == NULL);
    ck_assert(strstr(line, "\xc2\x9b") == NULL);
    /* And the nodes still relay. */
    hconn_send(b, "still alive\n");
    expect(a, "<sender> still alive");
    for (int i = 0; i < 2; i++) {
        hserver_signal(&node[i], SIGUSR1);
        ck_assert(hserver_wait_log(&node[i], "cluster=up", T));
    }
    char *log = hserver_log(&node[0]);
    ck_assert_msg(strstr(log, "dropped a malformed message"), "no warning");
    free(log);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

static Suite *
cluster_suite(int with_redis)
{
    Suite *s = suite_create("cluster");
    TCase *tc;

    tc = tcase_create("Wire");
    tcase_add_test(tc, test_wire_parse_good);
    tcase_add_test(tc, test_wire_parse_bad);
    tcase_add_test(tc, test_wire_names_and_urls);
    suite_add_tcase(s, tc);
    if (!with_redis)
        return s;

    tc = tcase_create("Relay");
    tcase_add_unchecked_fixture(tc, up3, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_relay_both_ways);
    tcase_add_test(tc, test_join_nick_leave_notices);
    tcase_add_test(tc, test_three_nodes);
    tcase_add_test(tc, test_who_and_msg_across_nodes);
    tcase_add_test(tc, test_nick_unique_across_nodes);
    tcase_add_test(tc, test_global_order_concurrent_senders);
    tcase_add_test(tc, test_garbage_on_channel);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return hcluster_main("check_cluster", cluster_suite);
}
