/*
 * check_rooms.c: integration tests of rooms on one node (SPEC "Rooms",
 * issue 13): protocol v1 unchanged for a client that never uses rooms,
 * the "#room " prefix, /join, /part, /rooms, /topic, /who #room, names,
 * news of a user exactly once, the limits, announce-limit and history per
 * room.  Every test starts its own real chatd ($CHATD) on port 0 in its
 * checked fixture and talks to it over real sockets; silence is proven
 * with round trips (h_silent()).  check_rooms_load.c has order, bursts
 * and the send queue.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hrooms.h"

static void
start_limits(void)
{
    static const char *const args[] = {
        "--max-rooms", "4", "--max-joins", "3", "--rooms", "#a #B", NULL };
    start(args);
}

static void
start_announce(void)
{
    static const char *const args[] = { "--announce-limit", "3", NULL };
    start(args);
}

static void
start_history(void)
{
    static const char *const args[] = { "--history", "3", NULL };
    start(args);
}

/* ------------------------------------------------------------------ */
/* Protocol v1, for clients that never use rooms                       */
/* ------------------------------------------------------------------ */

/* Two v1 clients see v1 byte for byte, while a third uses rooms. */
START_TEST(test_v1_unchanged)
{
    char n1[32], n2[32];
    struct hconn *a = hconn_open(srv.port), *b, *r;

    ck_assert_ptr_nonnull(a);
    next_is(a, "*** welcome to chatd, guest1! 1 user online; "
               "/help lists the commands");
    b = join(n2);
    ck_assert_str_eq(n2, "guest2");
    next_is(a, "*** guest2 has joined");
    hconn_send(b, "/nick bob\n");
    next_is(b, "*** you are now known as bob");
    next_is(a, "*** guest2 is now known as bob");
    hconn_send(b, "hi there\n/me waves\n");
    next_is(a, "<bob> hi there");
    next_is(a, "* bob waves");
    hconn_send(a, "/who\n");
    next_is(a, "*** 2 users online:");
    next_is(a, "***   guest1 bob");
    /* A third client joins, talks in #dev, sets its topic there. */
    r = join(n1);
    next_is(a, "*** guest3 has joined");
    next_is(b, "*** guest3 has joined");
    hconn_send(r, "/join #dev\nin dev\n/me dances in dev\n/topic t\n"
               "/part #dev bye\n");
    expect(r, "*** you left #dev");
    h_silent(a);
    h_silent(b);
    hconn_send(b, "/quit bye\n");
    next_is(r, "*** bob has left (quit: bye)");
    sync_with(r);                   /* nothing unread: a clean close */
    ck_assert(hconn_closed(b, T));
    hconn_close(b);
    next_is(a, "*** bob has left (quit: bye)");
    hconn_close(r);
    next_is(a, "*** guest3 has left (connection closed)");
    h_silent(a);
    hconn_close(a);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Room lines                                                          */
/* ------------------------------------------------------------------ */

/* Every line of another room starts with "#room ": public, action, join,
 * part with its reason, topic; the default room's lines stay v1. */
START_TEST(test_room_prefix)
{
    struct hconn *a = member("alice", "#dev");
    struct hconn *b = member("bob", "#dev");
    struct hconn *l = member("lobbyist", NULL);

    next_is(a, "#dev *** bob has joined");
    hconn_send(b, "hi\n/me waves\n");
    next_is(a, "#dev <bob> hi");
    next_is(a, "#dev * bob waves");
    struct hconn *c = member("carol", "#dev");
    next_is(a, "#dev *** carol has joined");
    next_is(b, "#dev *** carol has joined");
    hconn_send(c, "/part #dev see you\n");
    next_is(c, "*** you left #dev");
    next_is(a, "#dev *** carol has left (see you)");
    next_is(b, "#dev *** carol has left (see you)");
    hconn_send(c, "/join #dev\n/part\n");
    next_is(a, "#dev *** carol has joined");
    next_is(a, "#dev *** carol has left");
    next_is(b, "#dev *** carol has joined");
    next_is(b, "#dev *** carol has left");
    hconn_send(b, "/topic the dev room\n");
    next_is(a, "#dev *** bob set the topic: the dev room");
    next_is(b, "#dev *** bob set the topic: the dev room");
    hconn_send(l, "lobby line\n");
    next_is(a, "<lobbyist> lobby line");       /* v1: no prefix */
    h_silent(a);
    quiet(l);                       /* nothing of #dev reached it */
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
    hconn_close(l);
}
END_TEST

/* /join answers with the count and topic; joining again makes a room
 * current; plain lines and /me go to the current room. */
START_TEST(test_join_and_current)
{
    struct hconn *a = member("alice", NULL);
    struct hconn *b = member("bob", "#one");
    struct hconn *c = member("carol", "#two");

    hconn_send(b, "/topic first\n");
    next_is(b, "#one *** bob set the topic: first");
    hconn_send(a, "/join #one\n");
    next_is(a, "*** you joined #one: 2 users; topic: first");
    hconn_send(a, "/join #two\n");
    next_is(a, "*** you joined #two: 2 users; no topic");
    hconn_send(a, "to two\n");
    next_is(c, "#two *** alice has joined");
    next_is(c, "#two <alice> to two");
    hconn_send(a, "/join #ONE\n/me is back in one\n");
    next_is(a, "*** you are in #one: 2 users; topic: first");
    next_is(b, "#one *** alice has joined");
    next_is(b, "#one * alice is back in one");
    h_silent(c);
    hconn_send(a, "/join #lobby\nlobby again\n");
    next_is(a, "*** you are in #lobby: 3 users; no topic");
    next_is(b, "<alice> lobby again");
    next_is(c, "<alice> lobby again");
    h_silent(b);
    h_silent(c);
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
}
END_TEST

/* /part [#room] [reason]: the named or current room; the last joined of
 * those left becomes current; a room one is not in is an error. */
START_TEST(test_part)
{
    struct hconn *a = member("alice", NULL);
    struct hconn *b = member("bob", NULL);

    enter(b, "#x");
    enter(b, "#y");
    enter(a, "#x");
    enter(a, "#y");
    enter(a, "#z");
    next_is(b, "#x *** alice has joined");
    next_is(b, "#y *** alice has joined");
    hconn_send(a, "/join #x\n/part\n");         /* current: #x */
    next_is(a, "*** you are in #x: 2 users; no topic");
    next_is(a, "*** you left #x");
    next_is(b, "#x *** alice has left");
    hconn_send(a, "where\n");                   /* current: #z */
    sync_with(a);                   /* before bob is in #z: not his */
    hconn_send(b, "/join #z\n");
    next_is(b, "*** you joined #z: 2 users; no topic");
    next_is(a, "#z *** bob has joined");
    hconn_send(a, "/part #Y gone for lunch\nnow\n");
    next_is(a, "*** you left #y");
    next_is(b, "#y *** alice has left (gone for lunch)");
    next_is(b, "#z <alice> now");               /* #z still current */
    hconn_send(a, "/part #y\n/part #nowhere\n/part #b@d\n");
    next_is(a, "*** error: you are not in #y");
    next_is(a, "*** error: you are not in #nowhere");
    next_is(a, "*** error: a room name is # and 1-32 of A-Z a-z 0-9 _ -: "
               "#b@d");
    hconn_send(a, "/part\nlast\n");             /* #z goes: #lobby */
    next_is(a, "*** you left #z");
    next_is(b, "#z *** alice has left");
    next_is(b, "<alice> last");
    h_silent(a);
    h_silent(b);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* A client in no room: its lines are refused, it hears nothing of the
 * default room, and it can join again. */
START_TEST(test_no_room)
{
    struct hconn *a = member("alice", NULL);
    struct hconn *b = member("bob", NULL);

    hconn_send(a, "/part #lobby\nhello?\n/me waves\n/topic\n/who\n/part\n");
    next_is(a, "*** you left #lobby");
    next_is(a, "*** error: you are in no room; /join one");
    next_is(a, "*** error: you are in no room; /join one");
    next_is(a, "*** error: you are in no room; /join one");
    next_is(a, "*** error: you are in no room; /join one, or /who #room");
    next_is(a, "*** error: you are in no room; /join one");
    next_is(b, "*** alice has left");   /* parting the lobby: v1 */
    h_silent(b);                        /* nothing reached the lobby */
    hconn_send(b, "lobby talk\n/nick robert\n");
    next_is(b, "*** you are now known as robert");
    sync_with(b);
    h_silent(a);
    hconn_send(b, "/msg alice still there?\n");
    next_is(b, "-> *alice* still there?");
    next_is(a, "*robert* still there?");        /* private still works */
    hconn_send(a, "/who #lobby\n/join #lobby\nback\n");
    next_is(a, "*** 1 user online:");
    next_is(a, "***   robert");
    next_is(a, "*** you joined #lobby: 2 users; no topic");
    next_is(b, "*** alice has joined");
    next_is(b, "<alice> back");
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* /topic shows and sets the current room's topic, sanitized, at most
 * 300 bytes; a room's topic goes with it when it goes. */
START_TEST(test_topic)
{
    struct hconn *a = member("alice", "#t");
    struct hconn *b = member("bob", "#t");
    char big[400], want[400];

    next_is(a, "#t *** bob has joined");
    hconn_send(a, "/topic\n");
    next_is(a, "*** #t has no topic");
    hconn_send(b, "/topic \x1b[31mred\x07 \x7f\xc2\x9b" "alert\r!\n");
    next_is(a, "#t *** bob set the topic: [31mred alert!");
    next_is(b, "#t *** bob set the topic: [31mred alert!");
    hconn_send(a, "/topic\n/rooms\n");
    next_is(a, "*** topic of #t: [31mred alert!");
    next_is(a, "*** 2 rooms:");
    next_is(a, "***   #lobby  2 users");
    next_is(a, "***   #t  2 users  [31mred alert!");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hconn_send(a, "/topic %s\n", big);
    snprintf(want, sizeof(want), "#t *** alice set the topic: %.300s", big);
    next_is(b, want);
    next_is(a, want);
    hconn_send(a, "/part\n");
    next_is(a, "*** you left #t");
    /* alice's notice reaches bob through the hub, maybe from another
     * worker: wait for it before bob leaves, or he is rightly spared it */
    next_is(b, "#t *** alice has left");
    hconn_send(b, "/part\n");
    next_is(b, "*** you left #t");
    hconn_send(b, "/join #t\n");
    next_is(b, "*** you joined #t: 1 user; no topic");
    h_silent(a);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* /who #room and /who of the current room list its members in join
 * order; /who of the default room stays v1. */
START_TEST(test_who_room)
{
    struct hconn *a = member("alice", "#w");
    struct hconn *b = member("bob", NULL);
    struct hconn *c = member("carol", "#w");

    hconn_send(b, "/who #W\n/who\n/who #none\n/who nope\n");
    next_is(b, "*** 2 users in #w:");
    next_is(b, "***   alice carol");
    next_is(b, "*** 3 users online:");
    next_is(b, "***   alice bob carol");
    next_is(b, "*** error: no such room: #none");
    next_is(b, "*** error: usage: /who [#room]");
    hconn_send(c, "/who\n");
    next_is(c, "*** 2 users in #w:");
    next_is(c, "***   alice carol");
    next_is(a, "#w *** carol has joined");
    quiet(a);
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
}
END_TEST

/* Names are compared ignoring case and shown as first written, until the
 * room goes; invalid ones are refused with what is wrong. */
START_TEST(test_room_names)
{
    struct hconn *a = member("alice", "#DevOps");
    struct hconn *b = member("bob", NULL);
    char big[64];

    hconn_send(b, "/join #devops\n");
    next_is(b, "*** you joined #DevOps: 2 users; no topic");
    hconn_send(b, "yo\n");
    next_is(a, "#DevOps *** bob has joined");
    next_is(a, "#DevOps <bob> yo");
    hconn_send(a, "/part #DEVOPS\n");
    next_is(a, "*** you left #DevOps");
    next_is(b, "#DevOps *** alice has left");
    hconn_send(b, "/part #devOPS\n");
    next_is(b, "*** you left #DevOps");
    hconn_send(b, "/join #devops\n");          /* a new room: new name */
    next_is(b, "*** you joined #devops: 1 user; no topic");

    snprintf(big, sizeof(big), "#%033d", 0);     /* # and 33 */
    hconn_send(b, "/join dev\n/join #\n/join #a.b\n/join %s\n"
               "/join #a\x1b[2Jb\n/join #a #b\n/join\n/who #\n", big);
    next_is(b, "*** error: a room name starts with #: dev");
    next_is(b, "*** error: a room name is # and 1-32 of A-Z a-z 0-9 _ -: "
               "#");
    next_is(b, "*** error: a room name is # and 1-32 of A-Z a-z 0-9 _ -: "
               "#a.b");
    snprintf(line, sizeof(line), "*** error: a room name is # and 1-32 of "
             "A-Z a-z 0-9 _ -: %.33s", big);
    next_is(b, line);
    next_is(b, "*** error: a room name is # and 1-32 of A-Z a-z 0-9 _ -: "
               "#a[2Jb");
    next_is(b, "*** error: usage: /join #room");
    next_is(b, "*** error: usage: /join #room");
    next_is(b, "*** error: a room name is # and 1-32 of A-Z a-z 0-9 _ -: "
               "#");
    snprintf(big, sizeof(big), "#%032d", 7);     /* # and 32: fine */
    hconn_send(b, "/join %s\n", big);
    snprintf(line, sizeof(line), "*** you joined %s: 1 user; no topic",
             big);
    next_is(b, line);
    quiet(a);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* News of a user: exactly once                                        */
/* ------------------------------------------------------------------ */

/*
 * A rename and a leave reach each client sharing one room or several
 * with the user exactly once, as a v1 line, and never a client sharing
 * none.  b shares the lobby, #x and #y with a; c shares #x and #y but
 * not the lobby; d shares #x only; e shares nothing.
 */
START_TEST(test_news_exactly_once)
{
    struct hconn *a = member("alice", NULL);
    struct hconn *b = member("bob", NULL);
    struct hconn *c = member("carol", NULL);
    struct hconn *d = member("dave", NULL);
    struct hconn *e = member("eve", "#z");
    struct hconn *v[] = { b, c, d };

    enter(a, "#x");
    enter(a, "#y");
    enter(b, "#x");
    enter(b, "#y");
    enter(c, "#x");
    enter(c, "#y");
    enter(d, "#x");
    hconn_send(c, "/part #lobby\n");
    expect(c, "*** you left #lobby");
    hconn_send(d, "/part #lobby\n");
    expect(d, "*** you left #lobby");
    hconn_send(e, "/part #lobby\n");
    expect(e, "*** you left #lobby");
    sync_with(e);
    for (size_t i = 0; i < 3; i++)
        settle(v[i]);               /* the joins and parts of the setup */
    settle(a);

    hconn_send(a, "/nick al\n");
    next_is(a, "*** you are now known as al");
    sync_with(a);
    for (size_t i = 0; i < 3; i++) {
        next_is(v[i], "*** alice is now known as al");
        h_silent(v[i]);
    }
    h_silent(e);
    hconn_send(a, "/quit bye\n");
    ck_assert(hconn_closed(a, T));
    hconn_close(a);
    for (size_t i = 0; i < 3; i++) {
        next_is(v[i], "*** al has left (quit: bye)");
        h_silent(v[i]);
    }
    h_silent(e);
    /* The user is gone from its rooms. */
    hconn_send(d, "/who #x\n");
    next_is(d, "*** 3 users in #x:");
    next_is(d, "***   bob carol dave");
    for (size_t i = 0; i < 3; i++)
        hconn_close(v[i]);
    hconn_close(e);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

/* rooms = #a #B: they exist with no member, outlive their last member,
 * count towards max-rooms; other rooms go with their last member. */
START_TEST(test_permanent_rooms)
{
    struct hconn *a = member("alice", NULL);

    hconn_send(a, "/rooms\n");
    next_is(a, "*** 3 rooms:");
    next_is(a, "***   #lobby  1 user");
    next_is(a, "***   #a  0 users");
    next_is(a, "***   #B  0 users");
    hconn_send(a, "/join #b\n/topic bee\n");
    next_is(a, "*** you joined #B: 1 user; no topic");
    next_is(a, "#B *** alice set the topic: bee");
    hconn_send(a, "/join #tmp\n/rooms\n");
    next_is(a, "*** you joined #tmp: 1 user; no topic");
    next_is(a, "*** 4 rooms:");
    next_is(a, "***   #lobby  1 user");
    next_is(a, "***   #a  0 users");
    next_is(a, "***   #B  1 user  bee");
    next_is(a, "***   #tmp  1 user");
    hconn_send(a, "/part #b\n/part #tmp\n/rooms\n");
    next_is(a, "*** you left #B");
    next_is(a, "*** you left #tmp");
    next_is(a, "*** 3 rooms:");
    next_is(a, "***   #lobby  1 user");
    next_is(a, "***   #a  0 users");
    next_is(a, "***   #B  0 users  bee");
    h_silent(a);
    hconn_close(a);
}
END_TEST

/* max-rooms: an error naming the limit, until a room goes. */
START_TEST(test_max_rooms)
{
    struct hconn *a = member("alice", "#c");
    struct hconn *b = member("bob", NULL);

    hconn_send(b, "/join #d\n");
    next_is(b, "*** error: as many rooms exist as max-rooms allows: #d");
    hconn_send(b, "/join #C\n");                /* exists: fine */
    next_is(b, "*** you joined #c: 2 users; no topic");
    next_is(a, "#c *** bob has joined");
    hconn_send(a, "/part\n");
    next_is(a, "*** you left #c");
    next_is(b, "#c *** alice has left");
    hconn_send(b, "/part\n/join #d\n");
    next_is(b, "*** you left #c");
    next_is(b, "*** you joined #d: 1 user; no topic");
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* max-joins: the default room counts; an error naming the limit, and
 * joining a room one is in still works. */
START_TEST(test_max_joins)
{
    struct hconn *a = member("alice", "#a");

    hconn_send(a, "/join #B\n/join #c\n/join #A\n");
    next_is(a, "*** you joined #B: 1 user; no topic");
    next_is(a, "*** error: you are in as many rooms as max-joins allows; "
               "/part one: #c");
    next_is(a, "*** you are in #a: 1 user; no topic");
    hconn_send(a, "/part #b\n/join #c\n");
    next_is(a, "*** you left #B");
    next_is(a, "*** you joined #c: 1 user; no topic");
    hconn_close(a);
}
END_TEST

/* ------------------------------------------------------------------ */
/* announce-limit (3)                                                  */
/* ------------------------------------------------------------------ */

/*
 * A room of more than announce-limit members announces no single joins
 * or leaves (its 4th and 5th member's joins, the leaves from a room of 4
 * or more), /who still lists everyone, and a room of 3 announces again.
 */
START_TEST(test_announce_limit)
{
    struct hconn *m[5];
    char nick[16];

    for (int i = 0; i < 5; i++) {
        snprintf(nick, sizeof(nick), "m%d", i);
        m[i] = member(nick, "#big");
    }
    next_is(m[0], "#big *** m1 has joined");
    next_is(m[0], "#big *** m2 has joined");
    quiet(m[0]);                    /* not m3's nor m4's; new names */
    hconn_send(m[0], "/who\n");
    next_is(m[0], "*** 5 users in #big:");
    next_is(m[0], "***   m0 m1 m2 m3 m4");
    hconn_send(m[4], "/part #big\n");
    next_is(m[4], "*** you left #big");
    hconn_send(m[3], "/part #big\n");      /* from a room of 4 */
    next_is(m[3], "*** you left #big");
    hconn_send(m[1], "still here\n");
    next_is(m[0], "#big <m1> still here");
    h_silent(m[0]);                     /* no part from 5 nor from 4 */
    hconn_send(m[3], "/join #big\n");
    next_is(m[3], "*** you joined #big: 4 users; no topic");
    hconn_send(m[3], "/quit\n");           /* from a room of 4 */
    ck_assert(hconn_closed(m[3], T));
    hconn_send(m[1], "still here\n");
    next_is(m[0], "#big <m1> still here");      /* after the quit */
    h_silent(m[0]);                     /* no join nor leave with 4 */
    hconn_send(m[2], "/part #big\n/join #big\n/quit\n");
    ck_assert(hconn_closed(m[2], T));
    next_is(m[0], "#big *** m2 has left");       /* a room of 3 */
    next_is(m[0], "#big *** m2 has joined");
    next_is(m[0], "*** m2 has left (quit)");     /* lobby: 4, #big: 3 */
    h_silent(m[0]);
    for (int i = 0; i < 5; i++)
        hconn_close(m[i]);          /* m2 and m3: closed by the server */
}
END_TEST

/* A new name is no join nor leave: it reaches everyone sharing a room
 * with the user, however big the rooms are. */
START_TEST(test_nick_over_announce_limit)
{
    struct hconn *m[5];
    char nick[16];

    for (int i = 0; i < 5; i++) {
        snprintf(nick, sizeof(nick), "m%d", i);
        m[i] = member(nick, i < 4 ? "#big" : NULL);
    }
    sync_with(m[4]);
    for (int i = 0; i < 5; i++)
        settle(m[i]);
    hconn_send(m[0], "/nick boss\n");
    next_is(m[0], "*** you are now known as boss");
    sync_with(m[0]);
    for (int i = 1; i < 5; i++) {
        next_is(m[i], "*** m0 is now known as boss");
        h_silent(m[i]);
    }
    for (int i = 0; i < 5; i++)
        hconn_close(m[i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* History per room (3)                                                */
/* ------------------------------------------------------------------ */

/* Joining a room replays its last 3 lines, not the default room's nor
 * another room's; a room that went took its history with it. */
START_TEST(test_history_per_room)
{
    struct hconn *a = member("alice", NULL);
    struct hconn *b;

    hconn_send(a, "l1\nl2\nl3\nl4\n/join #dev\nd1\nd2\nd3\nd4\nd5\n"
               "/join #other\no1\n/join #dev\n/me d6\n");
    expect(a, "*** you are in #dev");
    sync_with(a);
    b = join(NULL);
    want_lines(b, (const char *const[]){
        "*** history of #lobby: 3 lines", H_STAMP "<alice> l2",
        H_STAMP "<alice> l3", H_STAMP "<alice> l4", "*** end of history",
        NULL });
    hconn_send(b, "/join #dev\n");
    want_lines(b, (const char *const[]){
        "*** you joined #dev: 2 users; no topic",
        "*** history of #dev: 3 lines", H_STAMP "#dev <alice> d4",
        H_STAMP "#dev <alice> d5", H_STAMP "#dev * alice d6",
        "*** end of history", NULL });
    hconn_send(b, "/history 2\n");
    want_lines(b, (const char *const[]){
        "*** history of #dev: 2 lines", H_STAMP "#dev <alice> d5",
        H_STAMP "#dev * alice d6", "*** end of history", NULL });
    next_is(a, "#dev *** guest2 has joined");
    hconn_send(a, "d7\n");
    want_lines(b, (const char *const[]){ "#dev <alice> d7", NULL });
    hconn_send(a, "/part #other\n");
    next_is(a, "*** you left #other");
    hconn_send(b, "/join #other\n");
    want_lines(b, (const char *const[]){
        "*** you joined #other: 1 user; no topic", NULL });
    hconn_send(b, "/history\n");                   /* it went: none */
    want_lines(b, (const char *const[]){
        "*** history of #other: 0 lines", "*** end of history", NULL });
    hconn_send(b, "/part #other\n/part #dev\n/part\n/history\n");
    want_lines(b, (const char *const[]){
        "*** you left #other", "*** you left #dev", "*** you left #lobby",
        "*** error: you are in no room; /join one", NULL });
    hconn_close(a);
    hconn_close(b);
}
END_TEST

static Suite *
rooms_suite(void)
{
    Suite *s = suite_create("rooms");
    TCase *tc;

    tc = h_tcase(s, "Protocol", start_default, stop, 60);
    tcase_add_test(tc, test_v1_unchanged);
    tcase_add_test(tc, test_room_prefix);
    tcase_add_test(tc, test_join_and_current);
    tcase_add_test(tc, test_part);
    tcase_add_test(tc, test_no_room);
    tcase_add_test(tc, test_topic);
    tcase_add_test(tc, test_who_room);
    tcase_add_test(tc, test_room_names);
    tcase_add_test(tc, test_news_exactly_once);

    tc = h_tcase(s, "Limits", start_limits, stop, 60);
    tcase_add_test(tc, test_permanent_rooms);
    tcase_add_test(tc, test_max_rooms);
    tcase_add_test(tc, test_max_joins);

    tc = h_tcase(s, "Announce", start_announce, stop, 60);
    tcase_add_test(tc, test_announce_limit);
    tcase_add_test(tc, test_nick_over_announce_limit);

    tc = h_tcase(s, "History", start_history, stop, 60);
    tcase_add_test(tc, test_history_per_room);
    return s;
}

int
main(void)
{
    return h_run_suite(rooms_suite());
}
