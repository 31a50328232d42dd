/*
 * check_clnodes.c: unit tests of the cluster's pure parts, without Redis:
 * rosters (roster.c), the node table with its run, sequence, gap, replay
 * and restart checks (clnodes.c), and Redis URLs with a user and password
 * (clwire.c).  Single-threaded; no sockets.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnodes.h"
#include "clwire.h"
#include "mbox.h"
#include "msg.h"
#include "roster.h"

static struct clnodes t;
static struct mbox_vec batch;

static void
setup(void)
{
    clnodes_init(&t, "me", 0x77);
    memset(&batch, 0, sizeof(batch));
}

static void
teardown(void)
{
    mbox_vec_free(&batch);
    clnodes_free(&t);
}

/* Take one wire message at time now. */
static enum clnodes_verdict
take(const char *s, int64_t now)
{
    struct clwire m;

    ck_assert_msg(clwire_parse(s, strlen(s), &m) == 0, "bad test input %s",
                  s);
    return clnodes_take(&t, &m, now, &batch);
}

/* How many lines in the batch contain what; the batch is emptied. */
static int
told(const char *what)
{
    int n = 0;

    for (size_t i = 0; i < batch.len; i++) {
        const struct msg *m = batch.v[i].msg;
        if (m != NULL && memmem(m->data, m->len, what, strlen(what)))
            n++;
    }
    mbox_vec_free(&batch);
    memset(&batch, 0, sizeof(batch));
    return n;
}

static int
known(const char *nick)
{
    char real[PROTO_NICK_MAX + 1], node[CLWIRE_NAME_MAX + 1];

    return clnodes_lookup(&t, nick, real, node, sizeof(node)) == 0;
}

/* ------------------------------------------------------------------ */
/* Rosters                                                             */
/* ------------------------------------------------------------------ */

START_TEST(test_roster_add_find_del)
{
    struct roster r = { 0 };
    char nick[16];

    ck_assert_int_eq(roster_find(&r, "x"), -1);
    for (int i = 0; i < 500; i++) {
        snprintf(nick, sizeof(nick), "user%d", i);
        ck_assert_int_eq(roster_add(&r, nick), 1);
    }
    ck_assert_int_eq((int)r.n, 500);
    ck_assert_int_eq(roster_add(&r, "USER7"), 0);       /* any case */
    ck_assert_str_eq(r.v[roster_find(&r, "user7")], "USER7");
    ck_assert_int_eq(roster_del(&r, "User8"), 1);
    ck_assert_int_eq(roster_del(&r, "user8"), 0);
    ck_assert_int_eq(roster_find(&r, "user8"), -1);
    for (int i = 0; i < 500; i++) {
        snprintf(nick, sizeof(nick), "user%d", i);
        ck_assert_msg((roster_find(&r, nick) >= 0) == (i != 8), "%s", nick);
    }
    ck_assert_int_eq((int)r.n, 499);
    roster_free(&r);
    ck_assert_int_eq((int)r.n, 0);
    ck_assert_int_eq(roster_find(&r, "user1"), -1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The node table                                                      */
/* ------------------------------------------------------------------ */

START_TEST(test_nodes_join_leave_rename)
{
    ck_assert_int_eq(take("v1 b 5 1 J 1 bob", 0), CLNODES_TAKEN);
    ck_assert_int_eq(told("*** bob has joined"), 1);
    ck_assert(known("BOB"));
    ck_assert_int_eq(take("v1 b 5 2 P 1 bob hello there", 0), CLNODES_TAKEN);
    ck_assert_int_eq(told("<bob> hello there"), 1);
    ck_assert_int_eq(take("v1 b 5 3 N 1 bob robert", 0), CLNODES_TAKEN);
    ck_assert_int_eq(told("bob is now known as robert"), 1);
    ck_assert(!known("bob") && known("robert"));
    ck_assert_int_eq((int)clnodes_users(&t), 1);
    ck_assert_int_eq(take("v1 b 5 4 L 1 robert quit: bye", 0),
                     CLNODES_TAKEN);
    ck_assert_int_eq(told("robert has left (quit: bye)"), 1);
    ck_assert_int_eq((int)clnodes_users(&t), 0);
    ck_assert_int_eq((int)t.gaps, 0);
}
END_TEST

START_TEST(test_nodes_replay_and_gap)
{
    ck_assert_int_eq(take("v1 b 5 10 J 1 bob", 0), CLNODES_TAKEN);
    told("");
    /* Old numbers are replays: dropped, nothing said. */
    ck_assert_int_eq(take("v1 b 5 10 P 1 bob again", 0), CLNODES_REPLAY);
    ck_assert_int_eq(take("v1 b 5 3 P 1 bob older", 0), CLNODES_REPLAY);
    ck_assert_int_eq(told("<bob>"), 0);
    /* A jump is a gap: counted, and the message still taken. */
    ck_assert_int_eq(take("v1 b 5 14 P 1 bob later", 0), CLNODES_TAKEN);
    ck_assert_int_eq((int)t.gaps, 3);
    ck_assert_int_eq(told("<bob> later"), 1);
    ck_assert_int_eq(take("v1 b 5 15 P 1 bob next", 0), CLNODES_TAKEN);
    ck_assert_int_eq((int)t.gaps, 3);
}
END_TEST

START_TEST(test_nodes_restart)
{
    take("v1 b 5 1 J 1 bob", 0);
    take("v1 b 5 2 J 2 bea", 0);
    told("");
    /* A new run of b: its users left; its numbers start again. */
    ck_assert_int_eq(take("v1 b 6 1 J 1 ben", 0), CLNODES_TAKEN);
    ck_assert_int_eq(told("(server restarted)"), 2);
    ck_assert(!known("bob") && !known("bea") && known("ben"));
    ck_assert_int_eq((int)t.gaps, 0);
    /* The old run's messages are then replays of another run: a restart
     * back would drop ben; the table follows the latest run seen. */
    ck_assert_int_eq(take("v1 b 6 1 P 1 ben dup", 0), CLNODES_REPLAY);
}
END_TEST

START_TEST(test_nodes_own_and_foreign)
{
    ck_assert_int_eq(take("v1 me 77 1 P 1 al hi", 0), CLNODES_OWN);
    /* Our name, another run: a twin or a stale replay, never obeyed. */
    ck_assert_int_eq(take("v1 me 78 1 Q", 0), CLNODES_FOREIGN);
    ck_assert_int_eq(take("v1 me 78 2 H 0 al bo", 0), CLNODES_FOREIGN);
    ck_assert_int_eq((int)t.n, 0);
    ck_assert_int_eq(told(""), 0);
}
END_TEST

START_TEST(test_nodes_roster_parts)
{
    ck_assert_int_eq(take("v1 c 9 1 H 1 ann art", 0), CLNODES_TAKEN);
    ck_assert(!known("ann"));               /* not until the last part */
    ck_assert_int_eq(take("v1 c 9 2 H 0 amy", 0), CLNODES_TAKEN);
    ck_assert(known("ann") && known("art") && known("amy"));
    /* A gap in the middle of a roster drops its parts so far. */
    take("v1 c 9 3 H 1 zed", 0);
    ck_assert_int_eq(take("v1 c 9 5 H 0 yan", 0), CLNODES_TAKEN);
    ck_assert(known("yan") && !known("zed") && !known("ann"));
    /* A malformed part is refused, the roster kept. */
    ck_assert_int_eq(take("v1 c 9 6 H 0 ok bad!nick", 0), CLNODES_BAD);
    ck_assert(known("yan"));
    ck_assert_int_eq(told("has joined"), 0);    /* rosters are quiet */
}
END_TEST

START_TEST(test_nodes_lost_and_back)
{
    take("v1 d 3 1 H 0 dora dan", 1000);
    take("v1 e 4 1 H 0 eve", 1500);
    ck_assert_int_eq((int)clnodes_expire(&t, 3000, 1800, &batch, NULL,
                                         NULL), 1);
    ck_assert_int_eq(told("has left (lost server d)"), 2);
    ck_assert(!known("dora") && known("eve"));
    /* d comes back: the users of its first roster are announced. */
    take("v1 d 3 2 H 0 dora", 3100);
    ck_assert_int_eq(told("*** dora has joined"), 1);
    take("v1 d 3 3 H 0 dora dan", 3200);
    ck_assert_int_eq(told("has joined"), 0);    /* only once back */
    /* A node that says goodbye is not "lost": no announcement later. */
    take("v1 e 4 2 Q", 3300);
    ck_assert_int_eq(told("eve has left (server shutting down)"), 1);
    take("v1 e 4 3 H 0 eve", 3400);
    ck_assert_int_eq(told("has joined"), 0);
}
END_TEST

/* clnodes_expire() offers each lost user's key with its node. */
static int released;

static void
count_release(void *arg, const char *nick, const char *node)
{
    (void)arg;
    ck_assert_str_eq(node, "f");
    ck_assert(strcmp(nick, "fay") == 0 || strcmp(nick, "fox") == 0);
    released++;
}

START_TEST(test_nodes_expire_releases)
{
    take("v1 f 1 1 H 0 fay fox", 0);
    clnodes_expire(&t, 100, 1000, &batch, count_release, NULL);
    ck_assert_int_eq(released, 0);
    clnodes_expire(&t, 1001, 1000, &batch, count_release, NULL);
    ck_assert_int_eq(released, 2);
    ck_assert_int_eq((int)t.n, 0);
}
END_TEST

static void
collect(void *arg, const char *nick)
{
    strcat(arg, nick);
    strcat(arg, " ");
}

START_TEST(test_nodes_who_pages)
{
    char out[256] = "";
    size_t node = 0, pos = 0;
    int pages = 0;

    take("v1 g 1 1 H 0 g1 g2 g3", 0);
    take("v1 h 1 1 H 0 h1 h2", 0);
    while (clnodes_who_page(&t, &node, &pos, 2, collect, out))
        pages++;
    ck_assert_int_eq(pages, 2);
    ck_assert_str_eq(out, "g1 g2 g3 h1 h2 ");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Redis URLs                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_url_user_password)
{
    struct clwire_url u;
    char out[128];

    ck_assert_int_eq(clwire_parse_url("redis://:secret@127.0.0.1:6391",
                                      &u), 0);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 6391);
    ck_assert_str_eq(u.user, "");
    ck_assert_str_eq(u.pass, "secret");
    ck_assert_int_eq(clwire_parse_url("redis://al:pw@h", &u), 0);
    ck_assert_str_eq(u.user, "al");
    ck_assert_str_eq(u.pass, "pw");
    ck_assert_int_eq(u.port, 6379);
    /* The last @ ends the password, which may hold @ and :. */
    ck_assert_int_eq(clwire_parse_url("redis://al:p@s:s@h:7/", &u), 0);
    ck_assert_str_eq(u.pass, "p@s:s");
    ck_assert_str_eq(u.host, "h");
    ck_assert_int_eq(u.port, 7);
    ck_assert_int_eq(clwire_parse_url("redis://a%3Ab:p%40%2f@[::1]:9", &u),
                     0);
    ck_assert_str_eq(u.user, "a:b");
    ck_assert_str_eq(u.pass, "p@/");
    ck_assert_str_eq(u.host, "::1");
    /* Empty password: no AUTH at all; a user with an empty one. */
    ck_assert_int_eq(clwire_parse_url("redis://:@h:1", &u), 0);
    ck_assert_str_eq(u.user, "");
    ck_assert_str_eq(u.pass, "");
    ck_assert_int_eq(clwire_parse_url("redis://bob:@h:1", &u), 0);
    ck_assert_str_eq(u.user, "bob");
    ck_assert_str_eq(u.pass, "");
    /* Refused: no colon before @, no host, bad escapes, NUL. */
    ck_assert(clwire_parse_url("redis://secret@h:1", &u) < 0);
    ck_assert(clwire_parse_url("redis://:pw@", &u) < 0);
    ck_assert(clwire_parse_url("redis://:pw@:1", &u) < 0);
    ck_assert(clwire_parse_url("redis://:p%zz@h", &u) < 0);
    ck_assert(clwire_parse_url("redis://:p%00@h", &u) < 0);
    ck_assert(clwire_parse_url("redis://:p%4@h", &u) < 0);
    ck_assert(clwire_parse_url("redis://h:1/x", &u) < 0);
    ck_assert(clwire_parse_url("redis://h/x", &u) < 0);
    /* Shown without the password. */
    clwire_url_redact("redis://al:secret@h:1", out, sizeof(out));
    ck_assert_str_eq(out, "redis://al:***@h:1");
    clwire_url_redact("redis://:sec@ret@h:1", out, sizeof(out));
    ck_assert_str_eq(out, "redis://:***@h:1");
    clwire_url_redact("redis://secret@h:1", out, sizeof(out));
    ck_assert_str_eq(out, "redis://***@h:1");
    clwire_url_redact("redis://h:1", out, sizeof(out));
    ck_assert_str_eq(out, "redis://h:1");
    clwire_url_redact("bogus:secret@x", out, sizeof(out));
    ck_assert(strstr(out, "secret") == NULL);
}
END_TEST


/* ------------------------------------------------------------------ */
/* Rooms                                                               */
/* ------------------------------------------------------------------ */

/* The rooms "here": #dev (id 5, shown "#Dev") and #ops (id 6). */
static uint32_t
stub_room(void *arg, const char *fold, char name[PROTO_ROOM_MAX + 1])
{
    (void)arg;
    if (strcmp(fold, "#lobby") == 0)
        return MBOX_ROOM_DEFAULT;
    if (strcmp(fold, "#dev") == 0) {
        snprintf(name, PROTO_ROOM_MAX + 1, "#Dev");
        return 5;
    }
    if (strcmp(fold, "#ops") == 0) {
        snprintf(name, PROTO_ROOM_MAX + 1, "#ops");
        return 6;
    }
    return 0;
}

static void
room_setup(void)
{
    setup();
    t.room_id = stub_room;
}

static enum clnodes_verdict
take_room(const char *s, int64_t now)
{
    struct clwire m;

    ck_assert_msg(clwire_parse(s, strlen(s), &m) == 0, "bad test input %s",
                  s);
    return clnodes_take_room(&t, &m, now, &batch);
}

/* The batch is one user's news: n MBOX_USER entries of one message for
 * the rooms given (0-terminated); emptied. */
static void
news_for(const char *what, const uint32_t *rooms)
{
    size_t n = 0;

    while (rooms[n] != 0)
        n++;
    ck_assert_int_eq((int)batch.len, (int)n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(batch.v[i].kind, MBOX_USER);
        ck_assert_ptr_eq(batch.v[i].msg, batch.v[0].msg);
        ck_assert_int_eq(batch.v[i].room, rooms[i]);
    }
    ck_assert_int_eq(told(what), (int)n);
}

START_TEST(test_rooms_rosters_and_news)
{
    static const uint32_t all3[] = { MBOX_ROOM_DEFAULT, 5, 6, 0 };
    static const uint32_t dflt[] = { MBOX_ROOM_DEFAULT, 0 };
    static const uint32_t two[] = { MBOX_ROOM_DEFAULT, 5, 0 };
    char topic[PROTO_TOPIC_MAX + 1];

    ck_assert_int_eq(take("v1 b 1 1 H 0 alice bob carol", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(take_room("v1 b 1 1 R 1 #dev alice", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(clnodes_room_count(&t, "#dev"), 0);   /* more due */
    ck_assert_int_eq(take_room("v1 b 1 2 R 0 bob #OPS alice", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(take_room("v1 b 1 3 T #ops the ops", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(clnodes_room_count(&t, "#dev"), 2);
    ck_assert_int_eq(clnodes_room_count(&t, "#ops"), 1);
    ck_assert(clnodes_room_topic(&t, "#ops", topic));
    ck_assert_str_eq(topic, "the ops");
    ck_assert_int_eq(told("***"), 0);           /* rosters are quiet */
    /* A rename and a leave: once per client, over every shared room. */
    ck_assert_int_eq(take("v1 b 1 2 N 1 alice al", 1000), CLNODES_TAKEN);
    news_for("alice is now known as al", all3);
    ck_assert_int_eq(take("v1 b 1 3 L 1 al bye", 1000), CLNODES_TAKEN);
    news_for("al has left (bye)", all3);
    ck_assert_int_eq(clnodes_room_count(&t, "#dev"), 1);
    ck_assert_int_eq(clnodes_room_count(&t, "#ops"), 0);
    ck_assert_int_eq(take("v1 b 1 4 L 2 carol x", 1000), CLNODES_TAKEN);
    news_for("carol has left (x)", dflt);
    /* A node lost: its users leave every room, each announced once. */
    clnodes_expire(&t, 100000, 20000, &batch, NULL, NULL);
    news_for("bob has left (lost server b)", two);
    ck_assert_int_eq(clnodes_room_count(&t, "#dev"), 0);
}
END_TEST

START_TEST(test_rooms_channel_messages)
{
    size_t cursor = 0;
    struct clnodes_room v[4];

    ck_assert_int_eq(take("v1 b 1 1 H 0 amy", 1000), CLNODES_TAKEN);
    ck_assert_int_eq(take_room("v1 b 1 1 j #dev 1 amy", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq((int)batch.len, 1);
    ck_assert_int_eq(batch.v[0].room, 5);
    ck_assert(batch.v[0].announce);
    ck_assert_int_eq(told("#Dev *** amy has joined\n"), 1);
    ck_assert_int_eq(take_room("v1 b 1 2 p #DEV 1 amy hi \x1b[1mthere", 1000),
                     CLNODES_TAKEN);
    ck_assert(batch.v[0].history);
    ck_assert_int_eq(told("#Dev <amy> hi [1mthere"), 1);
    ck_assert_int_eq(take_room("v1 b 1 3 a #dev 1 amy waves", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(told("#Dev * amy waves"), 1);
    ck_assert_int_eq(take_room("v1 b 1 4 t #dev amy new \x07topic", 1000),
                     CLNODES_TAKEN);
    ck_assert_str_eq(t.clean, "new topic");
    ck_assert_int_eq(told("#Dev *** amy set the topic: new topic"), 1);
    ck_assert_int_eq(clnodes_room_count(&t, "#dev"), 1);
    /* A room nobody is in here: rosters only. */
    ck_assert_int_eq(take_room("v1 b 1 5 j #far 1 amy", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(told("amy"), 0);
    ck_assert_int_eq(clnodes_room_count(&t, "#far"), 1);
    /* Another node in #dev too: /rooms lists each room once. */
    ck_assert_int_eq(take("v1 c 2 1 H 0 cy", 1000), CLNODES_TAKEN);
    ck_assert_int_eq(take_room("v1 c 2 1 R 0 #DEV cy", 1000), CLNODES_TAKEN);
    ck_assert_int_eq(clnodes_rooms_page(&t, &cursor, v, 4), 2);
    ck_assert_str_eq(v[0].name, "#dev");
    ck_assert_int_eq(v[0].members, 2);
    ck_assert_str_eq(v[0].topic, "new topic");
    ck_assert_str_eq(v[1].name, "#far");
    ck_assert(cursor == SIZE_MAX);
    /* A part with and without a reason. */
    ck_assert_int_eq(take_room("v1 b 1 6 l #dev 1 amy ", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(told("#Dev *** amy has left\n"), 1);
    ck_assert_int_eq(clnodes_room_count(&t, "#dev"), 1);
    /* Lines of a node not heard on the main channel yet are shown, but
     * change no roster; our own and another run's are the caller's. */
    ck_assert_int_eq(take_room("v1 z 9 1 j #dev 1 zed", 1000),
                     CLNODES_TAKEN);
    ck_assert_int_eq(told("zed has joined"), 1);
    ck_assert_int_eq(clnodes_room_count(&t, "#dev"), 1);
    ck_assert_int_eq(take_room("v1 me 77 1 p #dev 1 x y", 1000),
                     CLNODES_OWN);
    ck_assert_int_eq(take_room("v1 me 78 1 p #dev 1 x y", 1000),
                     CLNODES_FOREIGN);
    ck_assert_int_eq(take_room("v1 b 5 9 p #dev 1 amy old run", 1000),
                     CLNODES_REPLAY);
    ck_assert_int_eq(take_room("v1 b 1 9 R 0 #dev bad!nick", 1000),
                     CLNODES_BAD);
    ck_assert_int_eq(told("***"), 0);
}
END_TEST

static Suite *
clnodes_suite(void)
{
    Suite *s = suite_create("clnodes");
    TCase *tc;

    tc = tcase_create("Roster");
    tcase_add_test(tc, test_roster_add_find_del);
    suite_add_tcase(s, tc);

    tc = tcase_create("Nodes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_nodes_join_leave_rename);
    tcase_add_test(tc, test_nodes_replay_and_gap);
    tcase_add_test(tc, test_nodes_restart);
    tcase_add_test(tc, test_nodes_own_and_foreign);
    tcase_add_test(tc, test_nodes_roster_parts);
    tcase_add_test(tc, test_nodes_lost_and_back);
    tcase_add_test(tc, test_nodes_expire_releases);
    tcase_add_test(tc, test_nodes_who_pages);
    suite_add_tcase(s, tc);

    tc = tcase_create("Rooms");
    tcase_add_checked_fixture(tc, room_setup, teardown);
    tcase_add_test(tc, test_rooms_rosters_and_news);
    tcase_add_test(tc, test_rooms_channel_messages);
    suite_add_tcase(s, tc);

    tc = tcase_create("Url");
    tcase_add_test(tc, test_url_user_password);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(clnodes_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
