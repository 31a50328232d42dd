/*
 * check_cluster_rooms.c: rooms across a cluster.  "Wire" unit-tests the
 * room messages of the wire format (clwire.c, pure).  "Rooms" runs a real
 * redis-server and three real chatd nodes (hcluster.c) and talks to them
 * over sockets: a room's members on every node see each other's lines in
 * one order, joins, parts, topics, /who #room and /rooms across nodes; a
 * node without members in a room is not subscribed to it; the v1 channel
 * carries v1 messages only.  "Gone" kills a node: its room members leave,
 * announced once; "Restart" restarts Redis: the rooms are subscribed
 * again.  Servers started by an unchecked fixture belong to the
 * parent process and are stopped by PID; clients to the forked test.
 *
 * Without redis-server the cluster cases are skipped (exit 77), unless
 * CHATD_REQUIRE_REDIS is set.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clwire.h"
#include "hcluster.h"
#include "msg.h"

/* ------------------------------------------------------------------ */
/* Wire format (pure)                                                  */
/* ------------------------------------------------------------------ */

static int
parse(const char *s, struct clwire *m)
{
    return clwire_parse(s, strlen(s), m);
}

START_TEST(test_wire_room_good)
{
    struct clwire m;

    ck_assert_int_eq(parse("v1 n 1 1 p #Dev 7 alice hi there", &m), 0);
    ck_assert(m.type == 'p' && m.id == 7);
    ck_assert_str_eq(m.room, "#Dev");
    ck_assert_str_eq(m.nick, "alice");
    ck_assert(m.textlen == 8 && memcmp(m.text, "hi there", 8) == 0);
    ck_assert_int_eq(parse("v1 n 1 2 a #dev 7 alice waves", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 3 j #dev 7 alice", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 4 l #dev 7 alice ", &m), 0);
    ck_assert_int_eq((int)m.textlen, 0);
    ck_assert_int_eq(parse("v1 n 1 5 l #dev 7 alice off to lunch", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 6 t #dev alice the plan", &m), 0);
    ck_assert_str_eq(m.nick, "alice");
    ck_assert_int_eq(parse("v1 n 1 7 t #dev alice ", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 8 T #dev the plan", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 9 R 0", &m), 0);
    ck_assert_int_eq(parse("v1 n 1 10 R 1 #a x y #b z", &m), 0);
    ck_assert(m.more == 1 && m.textlen == 11);
}
END_TEST

START_TEST(test_wire_room_bad)
{
    static const char *const bad[] = {
        "v1 n 1 1 p dev 7 alice hi",            /* no # */
        "v1 n 1 1 p # 7 alice hi",              /* empty name */
        "v1 n 1 1 p #d!v 7 alice hi",
        "v1 n 1 1 p #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 7 a hi",  /* 33 */
        "v1 n 1 1 p #dev 7 alice",              /* no text */
        "v1 n 1 1 p #dev x alice hi",
        "v1 n 1 1 j #dev 7", "v1 n 1 1 j #dev 7 alice extra",
        "v1 n 1 1 l #dev 7 alice",              /* no reason field */
        "v1 n 1 1 t #dev", "v1 n 1 1 t #dev alice",
        "v1 n 1 1 t #dev al!ce x", "v1 n 1 1 T #dev", "v1 n 1 1 T",
        "v1 n 1 1 R", "v1 n 1 1 R 2 #a", "v1 n 1 1 j", NULL };
    struct clwire m;

    for (int i = 0; bad[i]; i++)
        ck_assert_msg(parse(bad[i], &m) < 0, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_wire_room_writers)
{
    struct msg *w[] = {
        clwire_room_say(PROTO_PUBLIC, "#Dev", 3, "bob", "hello"),
        clwire_room_say(PROTO_ACTION, "#Dev", 3, "bob", "waves"),
        clwire_room_join("#Dev", 3, "bob"),
        clwire_room_part("#Dev", 3, "bob", ""),
        clwire_room_topic("#Dev", "bob", "new plan"),
        clwire_room_state("#Dev", "new plan"),
        clwire_room_roster(0, " #Dev bob amy", 13) };
    const char types[] = "pajltTR";
    char buf[512], room[PROTO_ROOM_MAX + 1];
    struct clwire m;

    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        int n = clwire_header(buf, sizeof(buf), "n1", 0xab, i + 1);
        memcpy(buf + n, w[i]->data, w[i]->len);
        ck_assert_msg(clwire_parse(buf, (size_t)n + w[i]->len, &m) == 0,
                      "cannot parse %.*s", (int)w[i]->len, w[i]->data);
        ck_assert_int_eq(m.type, types[i]);
        ck_assert_int_eq(clwire_body_room(w[i]->data, w[i]->len, room),
                         clwire_room_type(types[i]));
        if (clwire_room_type(types[i]))
            ck_assert_str_eq(room, "#Dev");
        msg_unref(w[i]);
    }
    /* v1 bodies name no room. */
    w[0] = clwire_say(PROTO_PUBLIC, 3, "bob", "#Dev hi");
    ck_assert_int_eq(clwire_body_room(w[0]->data, w[0]->len, room), 0);
    msg_unref(w[0]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A command to redis whose answer ends in an integer: that, or -1. */
static long
redis_int(int argc, const char *const *argv)
{
    struct hconn *c = hconn_open(rds.port);
    long v = -1;

    ck_assert_ptr_nonnull(c);
    hconn_send(c, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        hconn_send(c, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    for (int i = 0; i < 8; i++) {
        if (hconn_line(c, line, sizeof(line), T) != 1)
            break;
        if (line[0] == ':') {
            v = atol(line + 1);
            break;
        }
    }
    hconn_close(c);
    return v;
}

/* How many nodes subscribe to room's channel (name case-folded). */
static long
numsub(const char *folded)
{
    char chan[128];
    const char *argv[] = { "PUBSUB", "NUMSUB", chan };

    snprintf(chan, sizeof(chan), "chatd:room:%s", folded);
    return redis_int(3, argv);
}

/* Wait (up to 10 s) until numsub(folded) is want; its last value. */
static long
wait_numsub(const char *folded, long want)
{
    long n = -1;

    for (int i = 0; i < 100 && (n = numsub(folded)) != want; i++)
        usleep(100 * 1000);
    return n;
}

/*
 * /who room on c until it counts want users (the other nodes' members of
 * a room this node joined late come with their next heartbeat); at most
 * 10 s.  Returns the last count.
 */
static int
wait_who(struct hconn *c, const char *room, int want)
{
    char header[64];
    int n = -1;

    snprintf(header, sizeof(header), " in %s:", room);
    for (int i = 0; i < 100; i++) {
        hconn_send(c, "/who %s\n", room);
        ck_assert_int_eq(hconn_expect(c, header, line, sizeof(line), T), 1);
        ck_assert_int_eq(sscanf(line, "*** %d user", &n), 1);
        if (n == want)
            break;
        usleep(100 * 1000);
    }
    return n;
}

/* /rooms on c: 1 if a line of it holds want (any case), else 0. */
static int
rooms_has(struct hconn *c, const char *want)
{
    int n = 0, found = 0;

    hconn_send(c, "/rooms\n");
    ck_assert_int_eq(hconn_expect(c, " room", line, sizeof(line), T), 1);
    ck_assert_int_eq(sscanf(line, "*** %d room", &n), 1);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(hconn_line(c, line, sizeof(line), T), 1);
        if (strcasestr(line, want) != NULL)
            found = 1;
    }
    return found;
}

/* The same, asked again for up to 10 s (heartbeats bring it). */
static int
wait_rooms_has(struct hconn *c, const char *want)
{
    for (int i = 0; i < 100; i++) {
        if (rooms_has(c, want))
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

static void
join_room(struct hconn *c, const char *room)
{
    hconn_send(c, "/join %s\n", room);
    expect(c, "*** you joined #");
}

/* ------------------------------------------------------------------ */
/* Rooms                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_room_three_nodes)
{
    struct hconn *a = join_at(0, "ra");
    struct hconn *b = join_at(1, "rb");
    struct hconn *c = join_at(2, "rc");
    int seen = 0;

    join_room(a, "#Dev");
    ck_assert(strstr(line, "you joined #Dev: 1 user;"));
    ck_assert_int_eq(wait_numsub("#dev", 1), 1);   /* subscribed */
    join_room(b, "#dev");
    expect(a, "#Dev *** rb has joined");
    join_room(c, "#DEV");
    expect(a, "#Dev *** rc has joined");
    expect(b, "#dev *** rc has joined");
    /* Everyone knows everyone (n2 and n3 learn ra from n1's heartbeat). */
    ck_assert_int_eq(wait_who(a, "#Dev", 3), 3);
    ck_assert_int_eq(wait_who(b, "#dev", 3), 3);
    ck_assert_int_eq(wait_who(c, "#DEV", 3), 3);
    hconn_send(c, "/who #DEV\n");
    expect(c, "*** 3 users in #DEV:");
    for (int i = 0; i < 10 && seen != 7; i++) {
        ck_assert_int_eq(hconn_line(c, line, sizeof(line), T), 1);
        seen |= strstr(line, "ra") ? 1 : 0;
        seen |= strstr(line, "rb") ? 2 : 0;
        seen |= strstr(line, "rc") ? 4 : 0;
    }
    ck_assert_int_eq(seen, 7);

    hconn_send(a, "hello room\n");
    expect(b, "#dev <ra> hello room");
    expect(c, "#DEV <ra> hello room");
    hconn_send(b, "/me waves\n");
    expect(a, "#Dev * rb waves");
    expect(c, "#DEV * rb waves");
    hconn_send(c, "/topic the \x1b[31mplan\n");
    expect(a, "#Dev *** rc set the topic: the [31mplan");
    expect(b, "#dev *** rc set the topic: the [31mplan");
    hconn_send(a, "/topic\n");
    expect(a, "*** topic of #Dev: the [31mplan");
    ck_assert(wait_rooms_has(b, "#dev  3 users  the [31mplan"));
    ck_assert(wait_rooms_has(b, "#lobby  3 users"));

    /* A room line never reaches the default room's other members. */
    static const char *const not_there[] = { "hello room", "waves", NULL };
    struct hconn *lone = join_at(1, "lone");
    hconn_send(a, "/join #lobby\n");
    expect(a, "*** you are in #lobby");
    hconn_send(a, "sync one\n");
    expect_not_before(lone, not_there, "<ra> sync one");

    hconn_send(b, "/part #dev see you\n");
    expect(b, "*** you left #dev");
    expect(a, "#Dev *** rb has left (see you)");
    expect(c, "#DEV *** rb has left (see you)");
    ck_assert_int_eq(wait_who(a, "#Dev", 2), 2);
    /* Everyone stays in the default room in a cluster. */
    hconn_send(a, "/part #lobby\n");
    expect(a, "*** error: in a cluster everyone stays in the default "
           "room: #lobby");
    /* A user who leaves is announced once to a client sharing two rooms
     * with them. */
    static const char *const once[] = { "rc has left", NULL };
    hconn_close(c);
    expect(a, "*** rc has left (connection closed)");
    hconn_send(b, "sync two\n");
    expect_not_before(a, once, "<rb> sync two");
    ck_assert_int_eq(wait_who(a, "#Dev", 1), 1);
    hconn_close(a);
    hconn_close(b);
    hconn_close(lone);
}
END_TEST

#define ORDER_LINES 100

static void *
send_lines(void *arg)
{
    hconn_send_numbered(arg, ORDER_LINES);
    return NULL;
}

/* Collect `want` lines of senders in #ord from c into out. */
static void
collect(struct hconn *c, char **out, int want)
{
    int got = 0;

    while (got < want) {
        int rc = hconn_line(c, line, sizeof(line), 10000);
        ck_assert_msg(rc == 1, "got %d of %d lines", got, want);
        if (strncmp(line, "#ord <s", 7) == 0)
            out[got++] = strdup(line);
    }
}

START_TEST(test_room_order_concurrent_senders)
{
    struct hconn *snd[3], *rd[3];
    pthread_t th[3];
    char **seen[3], want[64];
    const int total = 3 * ORDER_LINES;

    for (int i = 0; i < 3; i++) {
        char nick[16];
        snprintf(nick, sizeof(nick), "or%d", i);
        rd[i] = join_at(i, nick);
        join_room(rd[i], "#ord");
        ck_assert_int_eq(wait_numsub("#ord", i + 1), i + 1);
        /* Subscribed: its join has come round to the first node. */
        snprintf(want, sizeof(want), "#ord *** or%d has joined", i);
        if (i > 0)
            expect(rd[0], want);
        seen[i] = calloc(total, sizeof(char *));
    }
    for (int i = 0; i < 3; i++) {
        char nick[16];
        snprintf(nick, sizeof(nick), "s%d", i);
        snd[i] = join_at(i, nick);
        join_room(snd[i], "#ord");
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, send_lines, snd[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++)
        collect(rd[i], seen[i], total);
    int next[3] = { 0 };
    for (int k = 0; k < total; k++) {
        int s, n;
        ck_assert_int_eq(sscanf(seen[0][k], "#ord <s%d> m %d", &s, &n), 2);
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

START_TEST(test_room_only_where_members)
{
    struct hconn *a = join_at(0, "qa");
    struct hconn *b = join_at(1, "qb");
    struct hconn *c = join_at(2, "qc");

    ck_assert_int_eq(numsub("#quiet"), 0);
    join_room(a, "#Quiet");
    ck_assert_int_eq(wait_numsub("#quiet", 1), 1);
    join_room(b, "#quiet");
    expect(a, "#Quiet *** qb has joined");
    /* n3 has nobody in #quiet: it does not hear the room's channel. */
    ck_assert_int_eq(numsub("#quiet"), 2);
    hconn_send(a, "not for n3\n");
    expect(b, "#quiet <qa> not for n3");
    /* But it lists the room, from the others' heartbeats. */
    ck_assert(wait_rooms_has(c, "#Quiet  2 users"));
    hconn_send(b, "/part\n");
    expect(b, "*** you left #quiet");
    expect(a, "#Quiet *** qb has left");
    ck_assert_int_eq(wait_numsub("#quiet", 1), 1);
    hconn_send(a, "/part #quiet\n");
    expect(a, "*** you left #Quiet");
    ck_assert_int_eq(wait_numsub("#quiet", 0), 0);
    /* Joining again subscribes again, and lines flow. */
    join_room(c, "#quiet");
    ck_assert_int_eq(wait_numsub("#quiet", 1), 1);   /* subscribed */
    join_room(a, "#quiet");
    expect(c, "#quiet *** qa has joined");
    hconn_send(c, "back\n");
    expect(a, "#quiet <qc> back");
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
}
END_TEST

/* The type letter of a v1 message "v1 NODE RUN SEQ TYPE ...". */
static char
wire_type(const char *payload)
{
    const char *p = payload;

    for (int i = 0; i < 4 && p != NULL; i++)
        if ((p = strchr(p, ' ')) != NULL)
            p++;
    return p != NULL ? *p : '?';
}

START_TEST(test_v1_channel_unchanged)
{
    struct hconn *spy = hconn_open(rds.port);
    struct hconn *a = join_at(0, "va");
    struct hconn *b = join_at(1, "vb");
    int n = 0;

    ck_assert_ptr_nonnull(spy);
    hconn_send(spy, "SUBSCRIBE chatd\r\n");
    ck_assert_int_eq(hconn_expect(spy, ":1", line, sizeof(line), T), 1);
    join_room(a, "#v2only");
    ck_assert_int_eq(wait_numsub("#v2only", 1), 1);   /* subscribed */
    join_room(b, "#v2only");
    expect(a, "#v2only *** vb has joined");
    hconn_send(a, "/topic rooms are new\n");
    expect(b, "#v2only *** va set the topic: rooms are new");
    hconn_send(b, "in the room\n");
    expect(a, "#v2only <vb> in the room");
    hconn_send(b, "/part\n");
    expect(a, "#v2only *** vb has left");
    hconn_send(a, "/join #lobby\n");
    expect(a, "*** you are in #lobby");
    hconn_send(a, "marker-v1\n");
    expect(b, "<va> marker-v1");
    /* Everything on the v1 channel up to the marker is of v1's types. */
    for (;;) {
        ck_assert_int_eq(hconn_line(spy, line, sizeof(line), T), 1);
        if (strncmp(line, "v1 ", 3) != 0)
            continue;
        n++;
        ck_assert_msg(strchr("PAJLNMHQ", wire_type(line)) != NULL,
                      "not a v1 type on the v1 channel: %s", line);
        if (strstr(line, "marker-v1"))
            break;
    }
    ck_assert_int_gt(n, 0);
    hconn_close(spy);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

START_TEST(test_room_topic_for_late_node)
{
    struct hconn *a = join_at(0, "ta");
    struct hconn *c = join_at(2, "tc");

    join_room(a, "#plans");
    ck_assert_int_eq(wait_numsub("#plans", 1), 1);   /* subscribed */
    hconn_send(a, "/topic ship it\n");
    expect(a, "#plans *** ta set the topic: ship it");
    /* n3 has nobody there; it learns the topic from n1's heartbeat, and
     * its first member is told it. */
    ck_assert(wait_rooms_has(c, "#plans  1 user  ship it"));
    join_room(c, "#plans");
    ck_assert_msg(strstr(line, "you joined #plans: 2 users; topic: ship it"),
                  "got %s", line);
    expect(a, "#plans *** tc has joined");
    /* Two topics at once: both nodes see them in one order, and end with
     * the last one. */
    char last_a[128], last_c[128];
    hconn_send(a, "/topic from a\n");
    hconn_send(c, "/topic from c\n");
    for (int k = 0; k < 2; k++) {
        expect(a, "set the topic: from");
        snprintf(last_a, sizeof(last_a), "%s", strstr(line, "from"));
        expect(c, "set the topic: from");
        snprintf(last_c, sizeof(last_c), "%s", strstr(line, "from"));
    }
    ck_assert_str_eq(last_a, last_c);
    hconn_send(a, "/topic\n");
    expect(a, "*** topic of #plans: from ");
    ck_assert_str_eq(strstr(line, "from"), last_a);
    hconn_send(c, "/topic\n");
    expect(c, "*** topic of #plans: from ");
    ck_assert_str_eq(strstr(line, "from"), last_a);
    hconn_close(a);
    hconn_close(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A node goes away                                                    */
/* ------------------------------------------------------------------ */

/*
 * Redis restarts: while it is down a room's lines stay on their node;
 * once it is back every node subscribes again to the rooms it has
 * members in, and the room spans the nodes again.
 */
START_TEST(test_room_after_redis_restart)
{
    struct hconn *a = join_at(0, "back1");
    struct hconn *b = join_at(1, "back2");
    struct hconn *a2 = join_at(0, "back3");
    int port = rds.port;

    join_room(a, "#back");
    ck_assert_int_eq(wait_numsub("#back", 1), 1);   /* subscribed */
    join_room(a2, "#back");
    join_room(b, "#back");
    expect(a, "#back *** back2 has joined");
    hredis_stop(&rds);
    expect(a, "*** cluster link down");
    expect(b, "*** cluster link down");
    hconn_send(a, "alone here\n");
    expect(a2, "#back <back1> alone here");
    ck_assert_int_eq(hredis_start(&rds, redis_bin, port), 0);
    expect(a, "*** cluster link is back");
    expect(b, "*** cluster link is back");
    ck_assert_int_eq(wait_numsub("#back", 2), 2);
    hconn_send(b, "together again\n");
    expect(a, "#back <back2> together again");
    expect(a2, "#back <back2> together again");
    hconn_send(a, "and back\n");
    expect(b, "#back <back1> and back");
    ck_assert_int_eq(wait_who(b, "#back", 3), 3);
    hconn_close(a);
    hconn_close(a2);
    hconn_close(b);
    hredis_stop(&rds);      /* started by this forked test */
}
END_TEST

START_TEST(test_room_node_gone)
{
    struct hconn *a = join_at(0, "ga");
    struct hconn *b = join_at(1, "gb");
    struct hconn *c = join_at(2, "gc");
    int status;

    join_room(a, "#gone");
    ck_assert_int_eq(wait_numsub("#gone", 1), 1);   /* subscribed */
    join_room(c, "#gone");
    expect(a, "#gone *** gc has joined");
    join_room(b, "#other");
    ck_assert_int_eq(wait_who(c, "#gone", 2), 2);
    kill(node[2].pid, SIGKILL);
    waitpid(node[2].pid, &status, 0);     /* fails: the parent's child */
    /* One notice, though ga shares two rooms with gc. */
    ck_assert_int_eq(hconn_expect(a, "gc has left (lost server n3)", line,
                                  sizeof(line), 15000), 1);
    ck_assert_str_eq(line, "*** gc has left (lost server n3)");
    static const char *const once[] = { "gc has left", NULL };
    hconn_send(b, "/join #lobby\n");
    expect(b, "*** you are in #lobby");
    hconn_send(b, "after\n");
    expect_not_before(a, once, "<gb> after");
    hconn_send(a, "/who #gone\n");
    expect(a, "*** 1 user in #gone:");
    /* The default room's topic spans the nodes too, and a node started
     * later learns it from the heartbeats. */
    hconn_send(a, "/join #lobby\n");
    expect(a, "*** you are in #lobby");
    hconn_send(a, "/topic lobby news\n");
    expect(b, "*** ga set the topic: lobby news");
    node_start(2);
    struct hconn *late = join_at(2, "late");
    int got = 0;
    for (int i = 0; i < 100 && !got; i++) {
        hconn_send(late, "/topic\n");
        expect(late, "topic");
        got = strstr(line, "*** topic of #lobby: lobby news") != NULL;
        if (!got)
            usleep(100 * 1000);
    }
    ck_assert_msg(got, "the new node says %s", line);
    hconn_close(late);
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
    ck_assert_int_eq(hserver_stop(&node[2]), 0);   /* this test's node */
}
END_TEST

/* ------------------------------------------------------------------ */
/* announce-limit                                                      */
/* ------------------------------------------------------------------ */

static void
up3_plain(void)
{
    node_args = NULL;
    cluster_up(3);
}

static void
up2_limit2(void)
{
    static const char *const args[] = { "--announce-limit", "2", NULL };

    node_args = args;
    cluster_up(2);
}

/* announce-limit counts a room's members on every node. */
START_TEST(test_room_announce_limit_cluster_wide)
{
    struct hconn *a1 = join_at(0, "al1");
    struct hconn *a2 = join_at(0, "al2");
    struct hconn *b1 = join_at(1, "bl1");
    struct hconn *b2 = join_at(1, "bl2");
    static const char *const never[] = { "bl1 has joined",
                                         "bl2 has joined", "bl2 has left",
                                         NULL };

    join_room(a1, "#big");
    join_room(a2, "#big");
    expect(a1, "#big *** al2 has joined");          /* 2: told */
    join_room(b1, "#big");
    ck_assert_int_eq(wait_who(b1, "#big", 3), 3);
    join_room(b2, "#big");                           /* 4 in all */
    ck_assert_int_eq(wait_who(b2, "#big", 4), 4);
    hconn_send(b2, "/part\n");
    expect(b2, "*** you left #big");
    hconn_send(b1, "over the limit\n");
    /* n1 has two members, but the room has three or four: quiet. */
    expect_not_before(a1, never, "#big <bl1> over the limit");
    expect_not_before(a2, never, "#big <bl1> over the limit");
    hconn_close(a1);
    hconn_close(a2);
    hconn_close(b1);
    hconn_close(b2);
}
END_TEST

static Suite *
rooms_suite(int with_redis)
{
    Suite *s = suite_create("cluster_rooms");
    TCase *tc;

    tc = tcase_create("Wire");
    tcase_add_test(tc, test_wire_room_good);
    tcase_add_test(tc, test_wire_room_bad);
    tcase_add_test(tc, test_wire_room_writers);
    suite_add_tcase(s, tc);
    if (!with_redis)
        return s;

    tc = tcase_create("Rooms");
    tcase_add_unchecked_fixture(tc, up3, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_room_three_nodes);
    tcase_add_test(tc, test_room_order_concurrent_senders);
    tcase_add_test(tc, test_room_only_where_members);
    tcase_add_test(tc, test_v1_channel_unchanged);
    tcase_add_test(tc, test_room_topic_for_late_node);
    suite_add_tcase(s, tc);

    tc = tcase_create("Restart");
    tcase_add_unchecked_fixture(tc, up2, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_room_after_redis_restart);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limit");
    tcase_add_unchecked_fixture(tc, up2_limit2, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_room_announce_limit_cluster_wide);
    suite_add_tcase(s, tc);

    tc = tcase_create("Gone");
    tcase_add_unchecked_fixture(tc, up3_plain, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_room_node_gone);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return hcluster_main("check_cluster_rooms", rooms_suite);
}
