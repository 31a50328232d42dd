/*
 * check_client.c: tests for the chat client.  "Lines" unit-tests its
 * pure modules (srvline, nicks, render); "Terminal" runs the real client
 * ($CHAT) in a pseudo-terminal (hpty.c) against a real chatd ($CHATD):
 * a partial line survives incoming ones, tab completion, pastes, colour
 * and NO_COLOR, Ctrl-C and Ctrl-D restore the terminal, history.  Each
 * test runs in check's forked child on one thread; the server of a
 * TCase belongs to its unchecked fixture in the parent.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <utmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "harness.h"
#include "hpty.h"
#include "nicks.h"
#include "render.h"
#include "srvline.h"

/* ------------------------------------------------------------------ */
/* Unit tests: srvline, nicks, render                                  */
/* ------------------------------------------------------------------ */

#define PLAIN (-1)     /* srvline: none of the protocol's forms */

START_TEST(test_srvline_kinds)
{
    static const struct {
        const char *line;
        int kind;           /* an enum proto_kind, or PLAIN */
        const char *nick, *text;
    } cases[] = {
        { "<alice> hi there", PROTO_PUBLIC, "alice", "hi there" },
        { "* bob waves", PROTO_ACTION, "bob", "waves" },
        { "*carol* psst", PROTO_PRIVATE, "carol", "psst" },
        { "-> *dave* psst", PROTO_SENT, "dave", "psst" },
        { "*** eve has joined", PROTO_NOTICE, NULL, "eve has joined" },
        { "*** error: line too long", PROTO_ERROR, NULL, "line too long" },
        { "<not a nick> x", PLAIN, NULL, "<not a nick> x" },
        { "* ", PLAIN, NULL, "* " },
        { "plain", PLAIN, NULL, "plain" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct srvline sl;
        srvline_parse(cases[i].line, &sl);
        ck_assert_int_eq(sl.known ? (int)sl.kind : PLAIN, cases[i].kind);
        ck_assert_str_eq(sl.text, cases[i].text);
        if (cases[i].nick) {
            ck_assert_uint_eq(sl.nicklen, strlen(cases[i].nick));
            ck_assert(strncmp(sl.nick, cases[i].nick, sl.nicklen) == 0);
        } else {
            ck_assert_ptr_null(sl.nick);
        }
    }
}
END_TEST

/* srvline reads back every kind that libchatd's proto_format() writes. */
START_TEST(test_srvline_inverts_format)
{
    static const enum proto_kind kinds[] = {
        PROTO_PUBLIC, PROTO_ACTION, PROTO_PRIVATE, PROTO_SENT,
        PROTO_NOTICE, PROTO_ERROR
    };

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        char line[128];
        struct srvline sl;
        size_t n = proto_format(line, sizeof(line), kinds[i], "alice",
                                "some text");
        line[n - 1] = '\0';                     /* the LF */
        srvline_parse(line, &sl);
        ck_assert_int_eq(sl.known, 1);
        ck_assert_int_eq(sl.kind, kinds[i]);
        ck_assert_str_eq(sl.text, "some text");
        ck_assert_uint_eq(sl.nicklen, sl.nick != NULL ? 5 : 0);
    }
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

START_TEST(test_nicks_learnt)
{
    struct nicks ns;

    nicks_init(&ns);
    nicks_observe(&ns, "*** welcome to chatd, guest7! 3 users online; "
                       "/help lists the commands");
    ck_assert_str_eq(nicks_self(&ns), "guest7");
    nicks_observe(&ns, "*** you are now known as alice");
    ck_assert_str_eq(nicks_self(&ns), "alice");
    nicks_observe(&ns, "*** you are already known as Alice");
    ck_assert_str_eq(nicks_self(&ns), "Alice");
    nicks_observe(&ns, "*** you are now known as alice");
    nicks_observe(&ns, "*** 3 users online:");
    nicks_observe(&ns, "***   bob alice carol");
    ck_assert(has_nick(&ns, "bob") && has_nick(&ns, "carol"));
    ck_assert(!has_nick(&ns, "alice"));         /* not ourselves */
    nicks_observe(&ns, "*** bob is now known as robert");
    ck_assert(!has_nick(&ns, "bob") && has_nick(&ns, "robert"));
    nicks_observe(&ns, "*** carol has left (quit: bye)");
    ck_assert(!has_nick(&ns, "carol"));
    nicks_observe(&ns, "*** dave has joined");
    nicks_observe(&ns, "<erin> hello");
    nicks_observe(&ns, "* frank waves");
    nicks_observe(&ns, "*gina* psst");
    ck_assert(has_nick(&ns, "dave") && has_nick(&ns, "erin") &&
              has_nick(&ns, "frank") && has_nick(&ns, "gina"));
    /* /help lines look like /who lines but follow no "online:" line. */
    nicks_observe(&ns, "*** commands:");
    nicks_observe(&ns, "***   text             say text to everyone");
    ck_assert(!has_nick(&ns, "text"));
    ck_assert_uint_eq(ns.n, 5);
    nicks_free(&ns);
}
END_TEST

START_TEST(test_render_plain_and_color)
{
    struct render plain = { 0, 0 }, color = { 1, 0 };
    static const char *const lines[] = {
        "<alice> hi", "* alice waves", "*alice* psst", "-> *bob* psst",
        "*** bob has joined", "*** error: no such nickname", NULL
    };

    for (size_t i = 0; lines[i]; i++) {
        char want[128];
        char *out = render_line(&plain, lines[i], 0);
        snprintf(want, sizeof(want), "%s\n", lines[i]);
        ck_assert_str_eq(out, want);
        free(out);
        out = render_line(&color, lines[i], 0);
        ck_assert_ptr_nonnull(strstr(out, "\033["));
        free(out);
    }
    /* A nickname has one colour whatever its case. */
    ck_assert_str_eq(render_nick_color("Alice", 5),
                     render_nick_color("alice", 5));
}
END_TEST

START_TEST(test_render_own)
{
    struct render plain = { 0, 0 };
    char *out;

    out = render_own(&plain, PROTO_PUBLIC, NULL, "alice", "hi \033[31mred",
                     0);
    ck_assert_str_eq(out, "<alice> hi [31mred\n");   /* sanitized */
    free(out);
    out = render_own(&plain, PROTO_ACTION, NULL, "alice", "waves", 0);
    ck_assert_str_eq(out, "* alice waves\n");
    free(out);
}
END_TEST
/* A replay is dimmed between its frame lines and ends with the marker
 * of live traffic; outside a replay a stamped-looking line is as is. */
START_TEST(test_render_replay)
{
    struct render plain = { 0, 0 }, color = { 1, 0 };
    int rep = 0;
    char *out;

    ck_assert_uint_eq(render_stamp_len("[2026-12-03 13:05] <a> x"), 19);
    ck_assert_uint_eq(render_stamp_len("[2026-12-03 13:05]<a> x"), 0);
    ck_assert_uint_eq(render_stamp_len("[2026-12-3 13:05] <a> x"), 0);
    ck_assert_uint_eq(render_stamp_len("[2026"), 0);
    out = render_server(&plain, &rep, "[2026-12-03 13:05] <a> x", 0);
    ck_assert_str_eq(out, "[2026-12-03 13:05] <a> x\n");
    free(out);
    out = render_server(&color, &rep, "[2026-12-03 13:05] <a> x", 0);
    ck_assert_ptr_null(strstr(out, "\033[2m"));          /* not replaying */
    free(out);
    out = render_server(&color, &rep, "*** end of history", 0);
    ck_assert_ptr_null(strstr(out, RENDER_LIVE_MARK));   /* no replay */
    free(out);
    out = render_server(&color, &rep, "*** history of #dev: 1 line", 0);
    ck_assert_int_eq(rep, 1);
    free(out);
    out = render_server(&color, &rep, "[2026-12-03 13:05] #dev <a> x", 0);
    ck_assert_str_eq(out, "\033[2m[2026-12-03 13:05] #dev <a> x\033[0m\n");
    free(out);
    out = render_server(&plain, &rep, "[2026-12-03 13:05] #dev <a> x", 0);
    ck_assert_str_eq(out, "[2026-12-03 13:05] #dev <a> x\n");
    free(out);
    out = render_server(&plain, &rep, "*** end of history", 0);
    ck_assert_str_eq(out, "*** end of history\n" RENDER_LIVE_MARK "\n");
    ck_assert_int_eq(rep, 0);
    free(out);
}
END_TEST

START_TEST(test_partial_line_survives)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);
    char line[512];
    long at;

    pty_type(&p, "hel");
    ck_assert_int_ge(pty_expect(&p, "> hel", 0, H_TIMEOUT_MS), 0);
    hconn_send(bob, "a message arrives mid-typing\n");
    at = pty_expect(&p, "<bob> a message arrives mid-typing\n", 0,
                    H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    /* The half-typed line is drawn again below the message... */
    ck_assert_int_ge(pty_expect(&p, "> hel", (size_t)at, H_TIMEOUT_MS), 0);
    /* ...and is still in readline's buffer, point at its end. */
    pty_type(&p, "lo\r");
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(line, "<alice> hello");
    /* Our own message is shown as the others see it. */
    ck_assert_int_ge(pty_expect(&p, "<alice> hello\n", (size_t)at,
                                H_TIMEOUT_MS), 0);
    quit_pair(&p, bob, 0);
}
END_TEST

START_TEST(test_tab_completes_nick)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);
    char line[512];

    pty_type(&p, "thanks b\t");
    ck_assert_int_ge(pty_expect(&p, "thanks bob ", 0, H_TIMEOUT_MS), 0);
    pty_type(&p, "!\r");
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(line, "<alice> thanks bob !");
    /* Commands complete too. */
    pty_type(&p, "/wh\t\r");
    ck_assert_int_ge(pty_expect(&p, "*** 2 users online:", 100,
                                H_TIMEOUT_MS), 0);
    quit_pair(&p, bob, 0);
}
END_TEST

START_TEST(test_paste_sends_each_line)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);
    char line[512];

    /* Readline asked the terminal for bracketed paste... */
    ck_assert_ptr_nonnull(strstr(p.out, "\033[?2004h"));
    /* ...which wraps a paste; terminals send line breaks as CR. */
    pty_type(&p, "\033[200~first\rsecond\nthird\033[201~");
    ck_assert_int_ge(pty_expect(&p, "third", 0, H_TIMEOUT_MS), 0);
    pty_type(&p, "\r");
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(line, "<alice> first");
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(line, "<alice> second");
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(line, "<alice> third");
    quit_pair(&p, bob, 0);
}
END_TEST

/*
 * Bob spoke before alice's chat connected: chat shows the replay dimmed,
 * each line with its time, then the marker, then live lines as usual;
 * with NO_COLOR the same without a colour.
 */
static void
replay_shown(const char *const *env)
{
    static const char *const args[] = { "-n", "alice", "127.0.0.1", NULL,
                                        NULL };
    const char *argv[5];
    char port[16], tmp[256];
    struct pty p;
    struct hconn *bob = hconn_join(server.port, NULL, 0);
    long at;

    ck_assert_ptr_nonnull(bob);
    ck_assert(hconn_nick(bob, "bob"));
    hconn_send(bob, "before one\nbefore two\n");
    ck_assert_int_ge(hconn_roundtrip(bob, tmp, sizeof(tmp)), 0);
    snprintf(port, sizeof(port), "%d", server.port);
    memcpy(argv, args, sizeof(argv));
    argv[3] = port;
    pty_spawn(&p, NULL, env, argv);
    at = pty_expect(&p, "*** history of #lobby: ", 0, H_TIMEOUT_MS);
    ck_assert_int_ge(at, 0);
    ck_assert_int_ge(pty_expect(&p, "] <bob> before two\n*** end of history"
                                "\n" RENDER_LIVE_MARK "\n", (size_t)at,
                                H_TIMEOUT_MS), 0);
    ck_assert(pty_wait_raw(&p, H_TIMEOUT_MS));
    hconn_send(bob, "now live\n");
    ck_assert_int_ge(pty_expect(&p, RENDER_LIVE_MARK "\n", 0, 0), 0);
    ck_assert_int_ge(pty_expect(&p, "<bob> now live\n", 0, H_TIMEOUT_MS),
                     0);
    if (env != NULL)
        ck_assert_int_eq(pty_find_sgr(p.out), -1);
    else
        ck_assert_ptr_nonnull(strstr(p.out, "\033[2m["));
    quit_pair(&p, bob, 0);
}

START_TEST(test_replay_dimmed)
{
    replay_shown(NULL);
}
END_TEST

START_TEST(test_replay_no_color)
{
    static const char *const env[] = { "NO_COLOR=1", NULL };

    replay_shown(env);
}
END_TEST

static void
server_up_history(void)
{
    static const char *const args[] = { "--history", "10", NULL };

    ck_assert_int_eq(hserver_start(&server, args), 0);
}

START_TEST(test_no_color)
{
    static const char *const env[] = { "NO_COLOR=1", NULL };
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, env);

    hconn_send(bob, "colourless\n");
    hconn_send(bob, "/me waves\n");
    ck_assert_int_ge(pty_expect(&p, "* bob waves", 0, H_TIMEOUT_MS), 0);
    pty_type(&p, "/nosuchcommand\r");
    ck_assert_int_ge(pty_expect(&p, "*** error:", 0, H_TIMEOUT_MS), 0);
    ck_assert_int_eq(pty_find_sgr(p.out), -1);
    quit_pair(&p, bob, 0);
}
END_TEST

START_TEST(test_color_by_default)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);

    hconn_send(bob, "colourful\n");
    ck_assert_int_ge(pty_expect(&p, "<bob> colourful", 0, H_TIMEOUT_MS), 0);
    ck_assert_int_ge(pty_find_sgr(p.out), 0);
    quit_pair(&p, bob, 0);
}
END_TEST

START_TEST(test_ctrl_c_restores_terminal)
{
    struct pty p;
    struct hconn *bob;

    bob = start_pair(&p, NULL, NULL);
    ck_assert(!(pty_lflag(&p) & (ICANON | ECHO)));
    pty_type(&p, "half a line");
    ck_assert_int_ge(pty_expect(&p, "half a line", 0, H_TIMEOUT_MS), 0);
    pty_type(&p, "\003");
    ck_assert_int_eq(pty_exit(&p, H_TIMEOUT_MS), 128 + SIGINT);
    ck_assert((pty_lflag(&p) & (ICANON | ECHO)) == (ICANON | ECHO));
    ck_assert_int_eq(hconn_expect(bob, "alice has left", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(bob);
    pty_close(&p, 1);
}
END_TEST

START_TEST(test_ctrl_d_and_sigterm)
{
    struct pty p;
    struct hconn *bob;

    bob = start_pair(&p, NULL, NULL);
    pty_type(&p, "\004");
    ck_assert_int_eq(pty_exit(&p, H_TIMEOUT_MS), 0);
    ck_assert((pty_lflag(&p) & (ICANON | ECHO)) == (ICANON | ECHO));
    ck_assert_int_eq(hconn_expect(bob, "alice has left (quit)", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(bob);
    pty_close(&p, 1);

    bob = start_pair(&p, NULL, NULL);
    kill(p.pid, SIGTERM);
    ck_assert_int_eq(pty_exit(&p, H_TIMEOUT_MS), 128 + SIGTERM);
    ck_assert((pty_lflag(&p) & (ICANON | ECHO)) == (ICANON | ECHO));
    hconn_close(bob);
    pty_close(&p, 1);
}
END_TEST

START_TEST(test_history_persists)
{
    struct pty p;
    struct hconn *bob;
    char line[512], home[sizeof(p.home)];

    bob = start_pair(&p, NULL, NULL);
    pty_type(&p, "remember me\r");
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    memcpy(home, p.home, sizeof(home));
    quit_pair(&p, bob, 1);
    /* A second run in the same home recalls it with Up (and Enter). */
    bob = start_pair(&p, home, NULL);
    pty_type(&p, "\033[A\033[A\r");
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(line, "<alice> remember me");
    quit_pair(&p, bob, 0);
}
END_TEST

static Suite *
client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc;

    tc = tcase_create("Lines");
    tcase_add_test(tc, test_srvline_kinds);
    tcase_add_test(tc, test_srvline_inverts_format);
    tcase_add_test(tc, test_nicks_learnt);
    tcase_add_test(tc, test_render_plain_and_color);
    tcase_add_test(tc, test_render_own);
    tcase_add_test(tc, test_render_replay);
    suite_add_tcase(s, tc);

    tc = tcase_create("Replay");
    tcase_add_unchecked_fixture(tc, server_up_history, server_down);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_replay_dimmed);
    tcase_add_test(tc, test_replay_no_color);
    suite_add_tcase(s, tc);

    tc = tcase_create("Terminal");
    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_partial_line_survives);
    tcase_add_test(tc, test_tab_completes_nick);
    tcase_add_test(tc, test_paste_sends_each_line);
    tcase_add_test(tc, test_no_color);
    tcase_add_test(tc, test_color_by_default);
    tcase_add_test(tc, test_ctrl_c_restores_terminal);
    tcase_add_test(tc, test_ctrl_d_and_sigterm);
    tcase_add_test(tc, test_history_persists);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return h_run_suite(client_suite());
}
