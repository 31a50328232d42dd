/*
 * check_client_roomlist.c: the chat client and rooms.  "Lines" unit-tests
 * the pure parts: srvline's "#room " prefix, the rooms store (what we
 * are in, the current room, names to complete), nicks in room lines,
 * rendering of room lines and of our own echo in a room.  "Terminal"
 * runs the real client ($CHAT) in a pseudo-terminal (hpty.c) against a
 * real chatd ($CHATD): the prompt follows /join and /part, Tab completes
 * room names, another room's lines are marked, in colour or not.  Each
 * test runs in check's forked child on one thread; the server of a
 * TCase belongs to its unchecked fixture in the parent.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hpty.h"
#include "nicks.h"
#include "render.h"
#include "roomlist.h"
#include "srvline.h"

/* ------------------------------------------------------------------ */
/* Unit tests                                                          */
/* ------------------------------------------------------------------ */

#define PLAIN (-1)     /* srvline: none of the protocol's forms */

START_TEST(test_srvline_room_prefix)
{
    static const struct {
        const char *line;
        const char *room;   /* NULL: a v1 line */
        int kind;           /* an enum proto_kind, or PLAIN */
        const char *nick, *text;
    } cases[] = {
        { "#dev <alice> hi", "#dev", PROTO_PUBLIC, "alice", "hi" },
        { "#dev * alice waves", "#dev", PROTO_ACTION, "alice", "waves" },
        { "#Dev-2_x *** bob has joined", "#Dev-2_x", PROTO_NOTICE, NULL,
          "bob has joined" },
        { "#dev something else", "#dev", PLAIN, NULL, "something else" },
        { "#dev <not a nick> x", "#dev", PLAIN, NULL, "<not a nick> x" },
        { "#abcdefghijklmnopqrstuvwxyz012345 <a> b",
          "#abcdefghijklmnopqrstuvwxyz012345", PROTO_PUBLIC, "a", "b" },
        /* Not prefixes: 33 name characters, none, a bad one, no space. */
        { "#abcdefghijklmnopqrstuvwxyz0123456 <a> b", NULL, PLAIN, NULL,
          "#abcdefghijklmnopqrstuvwxyz0123456 <a> b" },
        { "# <a> b", NULL, PLAIN, NULL, "# <a> b" },
        { "#de!v <a> b", NULL, PLAIN, NULL, "#de!v <a> b" },
        { "#dev", NULL, PLAIN, NULL, "#dev" },
        { "<alice> #dev hi", NULL, PROTO_PUBLIC, "alice", "#dev hi" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct srvline sl;
        srvline_parse(cases[i].line, &sl);
        ck_assert_msg((sl.known ? (int)sl.kind : PLAIN) == cases[i].kind,
                      "kind of %s", cases[i].line);
        ck_assert_str_eq(sl.text, cases[i].text);
        if (cases[i].room != NULL) {
            ck_assert_ptr_eq(sl.room, cases[i].line);
            ck_assert_uint_eq(sl.roomlen, strlen(cases[i].room));
            ck_assert_ptr_eq(sl.body, cases[i].line + sl.roomlen + 1);
        } else {
            ck_assert_ptr_null(sl.room);
            ck_assert_ptr_eq(sl.body, cases[i].line);
        }
        if (cases[i].nick) {
            ck_assert_uint_eq(sl.nicklen, strlen(cases[i].nick));
            ck_assert(strncmp(sl.nick, cases[i].nick, sl.nicklen) == 0);
        } else {
            ck_assert_ptr_null(sl.nick);
        }
    }
}
END_TEST

/* The current room's name, "(default)" or "(none)". */
static const char *
current(const struct rooms *rs)
{
    const struct room_in *r = rooms_current(rs);

    if (r == NULL)
        return "(none)";
    return r->is_default ? "(default)" : r->name;
}

/* The current room follows the server's answers, with its rule. */
START_TEST(test_rooms_current)
{
    struct rooms rs;

    rooms_init(&rs);
    ck_assert_str_eq(current(&rs), "(default)");
    ck_assert_ptr_null(rooms_prefix(&rs));
    rooms_observe(&rs, "*** you joined #dev: 1 user; no topic");
    ck_assert_str_eq(current(&rs), "#dev");
    ck_assert_str_eq(rooms_prefix(&rs), "#dev");
    rooms_observe(&rs, "*** you joined #ops: 3 users; topic: on call");
    rooms_observe(&rs, "*** you joined #web: 2 users; no topic");
    ck_assert_str_eq(current(&rs), "#web");
    /* Already in: it becomes current, its place in the order kept. */
    rooms_observe(&rs, "*** you are in #DEV: 1 user; no topic");
    ck_assert_str_eq(current(&rs), "#dev");
    /* Parting another room leaves the current one current. */
    rooms_observe(&rs, "*** you left #ops");
    ck_assert_str_eq(current(&rs), "#dev");
    /* Parting the current one: the last joined of those left. */
    rooms_observe(&rs, "*** you left #dev");
    ck_assert_str_eq(current(&rs), "#web");
    rooms_observe(&rs, "*** you left #web");
    ck_assert_str_eq(current(&rs), "(default)");
    /* Neither errors, nor room lines, nor other notices are answers. */
    rooms_observe(&rs, "*** error: you are not in #x");
    rooms_observe(&rs, "#dev *** you joined #x: 1 user; no topic");
    rooms_observe(&rs, "<bob> *** you joined #x: 1 user; no topic");
    rooms_observe(&rs, "*** you joined #x");
    rooms_observe(&rs, "*** you left #");
    ck_assert_str_eq(current(&rs), "(default)");
    ck_assert_uint_eq(rs.nin, 1);
    rooms_free(&rs);
}
END_TEST

/* The default room's name is learnt from an answer that names it. */
START_TEST(test_rooms_default_named)
{
    struct rooms rs;

    rooms_init(&rs);
    rooms_observe(&rs, "*** you joined #dev: 1 user; no topic");
    rooms_observe(&rs, "*** you are in #lobby: 4 users; no topic");
    ck_assert_str_eq(current(&rs), "(default)");
    ck_assert_str_eq(rs.defname, "#lobby");
    ck_assert_ptr_null(rooms_prefix(&rs));
    rooms_observe(&rs, "*** you left #lobby");
    ck_assert_str_eq(current(&rs), "#dev");
    rooms_observe(&rs, "*** you left #dev");
    ck_assert_str_eq(current(&rs), "(none)");
    ck_assert_ptr_null(rooms_prefix(&rs));
    /* Back in the default room: its lines are v1 lines again. */
    rooms_observe(&rs, "*** you joined #Lobby: 4 users; no topic");
    ck_assert_str_eq(current(&rs), "(default)");
    ck_assert_str_eq(rooms_current(&rs)->name, "#Lobby");
    rooms_free(&rs);

    /* Parting the default room unnamed names it, too. */
    rooms_init(&rs);
    rooms_observe(&rs, "*** you joined #dev: 1 user; no topic");
    rooms_observe(&rs, "*** you left #main");
    ck_assert_str_eq(rs.defname, "#main");
    ck_assert_str_eq(current(&rs), "#dev");
    rooms_observe(&rs, "*** you left #dev");
    ck_assert_str_eq(current(&rs), "(none)");
    rooms_free(&rs);
}
END_TEST

static int
has_room(const struct rooms *rs, const char *name)
{
    for (size_t i = 0; i < rs->nseen; i++)
        if (strcmp(rs->seen[i], name) == 0)
            return 1;
    return 0;
}

/* Names to complete: answers, /rooms replies, prefixes of room lines. */
START_TEST(test_rooms_seen)
{
    struct rooms rs;

    rooms_init(&rs);
    rooms_observe(&rs, "*** you joined #dev: 1 user; no topic");
    rooms_observe(&rs, "*** 3 rooms:");
    rooms_observe(&rs, "***   #lobby  12 users");
    rooms_observe(&rs, "***   #ops  1 user  on call: see #pager  9 users");
    rooms_observe(&rs, "***   #web  2 users");
    rooms_observe(&rs, "#Chat *** bob has joined");
    rooms_observe(&rs, "#DEV <bob> hi");       /* known: takes the case */
    ck_assert(has_room(&rs, "#DEV") && has_room(&rs, "#lobby") &&
              has_room(&rs, "#ops") && has_room(&rs, "#web") &&
              has_room(&rs, "#Chat"));
    ck_assert_uint_eq(rs.nseen, 5);
    /* Look-alikes are not rooms: /help lines, messages, topics. */
    rooms_observe(&rs, "***   /join #room      join a room");
    rooms_observe(&rs, "***   #a  b users");
    rooms_observe(&rs, "***   #b 1 user");
    rooms_observe(&rs, "<bob> ***   #c  1 user");
    rooms_observe(&rs, "*** topic of #dev: see #d");
    ck_assert_uint_eq(rs.nseen, 5);
    rooms_free(&rs);
}
END_TEST

static int
has_nick(const struct nicks *ns, const char *nick)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], nick) == 0)
            return 1;
    return 0;
}

/* Room lines name nicks; a /part is not leaving the server. */
START_TEST(test_nicks_in_rooms)
{
    struct nicks ns;

    nicks_init(&ns);
    nicks_observe(&ns, "#dev <bob> hi");
    nicks_observe(&ns, "#dev *** carol has joined");
    ck_assert(has_nick(&ns, "bob") && has_nick(&ns, "carol"));
    nicks_observe(&ns, "#dev *** carol has left (lunch)");
    ck_assert(has_nick(&ns, "carol"));
    nicks_observe(&ns, "*** carol has left (quit)");
    ck_assert(!has_nick(&ns, "carol"));
    /* /who #room: its names follow "N users in #room:". */
    nicks_observe(&ns, "*** 2 users in #dev:");
    nicks_observe(&ns, "***   dave erin");
    ck_assert(has_nick(&ns, "dave") && has_nick(&ns, "erin"));
    nicks_observe(&ns, "*** 2 users in #dev: x");
    nicks_observe(&ns, "***   frank");
    ck_assert(!has_nick(&ns, "frank"));
    nicks_free(&ns);
}
END_TEST

START_TEST(test_render_room_line)
{
    struct render plain = { 0, 0 }, color = { 1, 0 };
    char want[256];
    char *out;

    out = render_line(&plain, "#dev <alice> hi", 0);
    ck_assert_str_eq(out, "#dev <alice> hi\n");
    free(out);
    /* The prefix bold in the room's colour, then the line as in v1. */
    out = render_line(&color, "#dev <alice> hi", 0);
    snprintf(want, sizeof(want), "\033[1m%s#dev\033[0m <%salice\033[0m> hi\n",
             render_room_color("#dev", 4), render_nick_color("alice", 5));
    ck_assert_str_eq(out, want);
    free(out);
    out = render_line(&color, "#dev *** bob has joined", 0);
    snprintf(want, sizeof(want),
             "\033[1m%s#dev\033[0m \033[90m*** bob has joined\033[0m\n",
             render_room_color("#dev", 4));
    ck_assert_str_eq(out, want);
    free(out);
    /* Each room its colour, whatever the case of its name. */
    ck_assert_str_eq(render_room_color("#DEV", 4),
                     render_room_color("#dev", 4));
    ck_assert_str_ne(render_room_color("#dev", 4),
                     render_room_color("#ops", 4));
    /* Our own message in a room, as the others see it. */
    out = render_own(&plain, PROTO_PUBLIC, "#dev", "alice", "hi", 0);
    ck_assert_str_eq(out, "#dev <alice> hi\n");
    free(out);
    out = render_own(&plain, PROTO_ACTION, "#dev", "alice", "waves", 0);
    ck_assert_str_eq(out, "#dev * alice waves\n");
    free(out);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The real client in a pseudo-terminal                                */
/* ------------------------------------------------------------------ */

/* Have bob (a plain connection) join room, and wait for the answer. */
static void
bob_joins(struct hconn *bob, const char *room)
{
    char want[64];

    snprintf(want, sizeof(want), "you joined %s", room);
    hconn_send(bob, "/join %s\n", room);
    ck_assert_int_eq(hconn_expect(bob, want, NULL, 0, H_TIMEOUT_MS), 1);
}

START_TEST(test_prompt_follows_room)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);
    char line[512];
    long at;

    ck_assert_int_ge(pty_expect(&p, "\n> ", 0, H_TIMEOUT_MS), 0);
    pty_type(&p, "/join #dev\r");
    at = pty_expect(&p, "*** you joined #dev: 1 user; no topic\n#dev> ", 0,
                    H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    /* A line typed there goes to #dev, and its echo says so. */
    bob_joins(bob, "#dev");
    ck_assert_int_ge(pty_expect(&p, "#dev *** bob has joined\n#dev> ",
                                (size_t)at, H_TIMEOUT_MS), 0);
    pty_type(&p, "hi dev\r");
    ck_assert_int_eq(hconn_expect(bob, "#dev <alice> hi dev", line,
                                  sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_int_ge(pty_expect(&p, "#dev <alice> hi dev\n#dev> ",
                                (size_t)at, H_TIMEOUT_MS), 0);
    /* A refused /join changes nothing: the server's answer rules. */
    pty_type(&p, "/join nohash\r");
    at = pty_expect(&p, "*** error: a room name starts with #: nohash\n"
                    "#dev> ",
                    (size_t)at, H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    pty_type(&p, "/part\r");
    at = pty_expect(&p, "*** you left #dev\n> ", (size_t)at, H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    pty_type(&p, "back in the lobby\r");
    ck_assert_int_eq(hconn_expect(bob, "<alice> back in the lobby", line,
                                  sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_int_ge(pty_expect(&p, "<alice> back in the lobby\n> ",
                                (size_t)at, H_TIMEOUT_MS), 0);
    ck_assert_ptr_null(strstr(p.plain, "#dev <alice> back"));
    quit_pair(&p, bob, 0);
}
END_TEST

START_TEST(test_tab_completes_room)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);
    long at;

    bob_joins(bob, "#devops");
    /* Not known yet: nothing to complete. */
    pty_type(&p, "/join #d\t");
    at = pty_expect(&p, "/join #d", 0, H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    pty_type(&p, "\025/rooms\r");       /* Ctrl-U: a fresh line */
    at = pty_expect(&p, "#devops  1 user", (size_t)at, H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    ck_assert_ptr_null(strstr(p.plain, "/join #devops"));
    pty_type(&p, "/join #d\t");
    at = pty_expect(&p, "/join #devops ", (size_t)at, H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    pty_type(&p, "\r");
    at = pty_expect(&p, "*** you joined #devops: 2 users", (size_t)at,
                    H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    /* /part completes too, in any case (readline redraws only what
     * changed, so the screen is judged by what the server answers). */
    pty_type(&p, "/part #DE\t\r");
    ck_assert_int_ge(pty_expect(&p, "*** you left #devops", (size_t)at,
                                H_TIMEOUT_MS), 0);
    quit_pair(&p, bob, 0);
}
END_TEST

/* alice (the client) and bob in #dev; bob speaks there. */
static void
room_line_from_bob(struct pty *p, struct hconn *bob)
{
    pty_type(p, "/join #dev\r");
    ck_assert_int_ge(pty_expect(p, "you joined #dev", 0, H_TIMEOUT_MS), 0);
    bob_joins(bob, "#dev");
    hconn_send(bob, "hello from dev\n");
    ck_assert_int_ge(pty_expect(p, "#dev <bob> hello from dev", 0,
                                H_TIMEOUT_MS), 0);
}

START_TEST(test_room_line_in_color)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);
    char want[128];

    room_line_from_bob(&p, bob);
    /* The prefix in its colour, then bob's nick in his. */
    snprintf(want, sizeof(want), "\033[1m%s#dev\033[0m <%sbob\033[0m> "
             "hello from dev", render_room_color("#dev", 4),
             render_nick_color("bob", 3));
    ck_assert_msg(strstr(p.out, want) != NULL, "no coloured room line");
    quit_pair(&p, bob, 0);
}
END_TEST

START_TEST(test_room_line_no_color)
{
    static const char *const env[] = { "NO_COLOR=1", NULL };
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, env);

    room_line_from_bob(&p, bob);
    ck_assert_ptr_nonnull(strstr(p.out, "#dev <bob> hello from dev"));
    ck_assert_int_eq(pty_find_sgr(p.out), -1);
    quit_pair(&p, bob, 0);
}
END_TEST

static Suite *
client_rooms_suite(void)
{
    Suite *s = suite_create("client_rooms");
    TCase *tc;

    tc = tcase_create("Lines");
    tcase_add_test(tc, test_srvline_room_prefix);
    tcase_add_test(tc, test_rooms_current);
    tcase_add_test(tc, test_rooms_default_named);
    tcase_add_test(tc, test_rooms_seen);
    tcase_add_test(tc, test_nicks_in_rooms);
    tcase_add_test(tc, test_render_room_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("Terminal");
    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_prompt_follows_room);
    tcase_add_test(tc, test_tab_completes_room);
    tcase_add_test(tc, test_room_line_in_color);
    tcase_add_test(tc, test_room_line_no_color);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return h_run_suite(client_rooms_suite());
}
