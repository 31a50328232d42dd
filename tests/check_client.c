/*
 * check_client.c: tests for the chat client.  "Lines" unit-tests its
 * pure modules (srvline, nicks, render); the other cases run the real
 * client ($CHAT) against a real chatd ($CHATD, via harness.c): in a
 * pseudo-terminal (openpty + fork, so the test keeps the slave side and
 * can read its termios after the client exits), or with stdin a pipe.
 * Each test runs in check's forked child on one thread; the server of a
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
#include "nicks.h"
#include "render.h"
#include "srvline.h"

static struct hserver server;

static void
server_up(void)
{
    ck_assert_int_eq(hserver_start(&server, NULL), 0);
}

static void
server_down(void)
{
    ck_assert_int_eq(hserver_stop(&server), 0);
}

static const char *
chat_path(void)
{
    const char *p = getenv("CHAT");

    return p && *p ? p : "../src/chat/chat";
}

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

    out = render_own(&plain, PROTO_PUBLIC, "alice", "hi \033[31mred", 0);
    ck_assert_str_eq(out, "<alice> hi [31mred\n");   /* sanitized */
    free(out);
    out = render_own(&plain, PROTO_ACTION, "alice", "waves", 0);
    ck_assert_str_eq(out, "* alice waves\n");
    free(out);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The client in a pseudo-terminal                                     */
/* ------------------------------------------------------------------ */

struct pty {
    pid_t   pid;
    int     master, slave;
    char    out[1 << 17];   /* everything the client wrote */
    size_t  len;
    char    plain[1 << 17]; /* out without escape sequences and CRs */
    char    home[64];       /* HOME and XDG_STATE_HOME of the client */
};

/* Recompute p->plain from p->out: drop CSI, OSC, other ESC x and CR. */
static void
pty_plain(struct pty *p)
{
    size_t i = 0, o = 0;

    while (i < p->len) {
        unsigned char c = (unsigned char)p->out[i];
        if (c == '\033' && i + 1 < p->len && p->out[i + 1] == '[') {
            i += 2;
            while (i < p->len && !(p->out[i] >= 0x40 && p->out[i] <= 0x7e))
                i++;
            i++;
        } else if (c == '\033' && i + 1 < p->len && p->out[i + 1] == ']') {
            while (i < p->len && p->out[i] != '\007')
                i++;
            i++;
        } else if (c == '\033') {
            i += 2;
        } else if (c == '\r' || c == '\b') {
            i++;
        } else {
            p->plain[o++] = (char)c;
            i++;
        }
    }
    p->plain[o] = '\0';
}

/* Read what the client wrote, for up to ms.  Returns 1 if any came. */
static int
pty_read(struct pty *p, int ms)
{
    struct pollfd pfd = { .fd = p->master, .events = POLLIN };
    ssize_t n;

    if (poll(&pfd, 1, ms) <= 0)
        return 0;
    n = read(p->master, p->out + p->len, sizeof(p->out) - 1 - p->len);
    if (n <= 0)
        return 0;
    p->len += (size_t)n;
    p->out[p->len] = '\0';
    pty_plain(p);
    return 1;
}

/*
 * Wait up to ms for needle in the plain output at or after offset from.
 * Returns its offset, or -1 (and prints what there was).
 */
static long
pty_expect(struct pty *p, const char *needle, size_t from, int ms)
{
    long end = h_now_ms() + ms;
    const char *hit;

    for (;;) {
        if (strlen(p->plain) >= from &&
            (hit = strstr(p->plain + from, needle)) != NULL)
            return hit - p->plain;
        long left = end - h_now_ms();
        if (left <= 0) {
            fprintf(stderr, "expected \"%s\"; the screen said:\n%s\n",
                    needle, p->plain);
            return -1;
        }
        pty_read(p, (int)left);
    }
}

/* Type s at the client. */
static void
pty_type(struct pty *p, const char *s)
{
    ck_assert_int_eq(write(p->master, s, strlen(s)), (ssize_t)strlen(s));
}

/*
 * Start "$CHAT args..." (args NULL-terminated) on a new 80x24 pty with a
 * clean environment: TERM=xterm, HOME and XDG_STATE_HOME in home (NULL:
 * a fresh directory), no inputrc, plus env (NULL-terminated NAME=VALUE,
 * may be NULL).
 */
static void
pty_spawn(struct pty *p, const char *homedir, const char *const *env,
          const char *const *args)
{
    struct winsize ws = { .ws_row = 24, .ws_col = 80 };
    char home[sizeof(p->home)];
    const char *argv[16] = { chat_path() };
    size_t n = 1;

    snprintf(home, sizeof(home), "%s", homedir ? homedir : "");
    memset(p, 0, sizeof(*p));
    if (home[0] == '\0') {
        snprintf(home, sizeof(home), "/tmp/check_client.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(home));
    }
    memcpy(p->home, home, sizeof(home));
    for (size_t i = 0; args && args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    ck_assert_int_eq(openpty(&p->master, &p->slave, NULL, NULL, &ws), 0);
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        close(p->master);
        if (login_tty(dup(p->slave)) < 0)
            _exit(126);
        close(p->slave);
        clearenv();
        setenv("PATH", "/usr/bin:/bin", 1);
        setenv("TERM", "xterm", 1);
        setenv("HOME", home, 1);
        setenv("XDG_STATE_HOME", home, 1);
        setenv("INPUTRC", "/dev/null", 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
}

/*
 * Wait up to ms for the client to exit, reading its output meanwhile.
 * Returns its exit status (128+N for signal N), or -1 on timeout (it is
 * then killed).
 */
static int
pty_exit(struct pty *p, int ms)
{
    long end = h_now_ms() + ms;
    int st;

    while (h_now_ms() < end) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            while (pty_read(p, 50))
                ;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        pty_read(p, 20);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    fprintf(stderr, "chat did not exit; the screen said:\n%s\n", p->plain);
    return -1;
}

/* Close the pty; with clean set, remove p->home and what chat made. */
static void
pty_close(struct pty *p, int clean)
{
    char path[128];

    close(p->master);
    close(p->slave);
    if (!clean)
        return;
    snprintf(path, sizeof(path), "%s/chat/history", p->home);
    unlink(path);
    snprintf(path, sizeof(path), "%s/chat", p->home);
    rmdir(path);
    rmdir(p->home);
}

/* The slave's local modes: ICANON|ECHO set means cooked, as a shell. */
static tcflag_t
pty_lflag(struct pty *p)
{
    struct termios t;

    ck_assert_int_eq(tcgetattr(p->slave, &t), 0);
    return t.c_lflag;
}

/* Wait up to ms for readline to take the terminal (ICANON off). */
static int
pty_wait_raw(struct pty *p, int ms)
{
    long end = h_now_ms() + ms;

    while (h_now_ms() < end) {
        if (!(pty_lflag(p) & ICANON))
            return 1;
        pty_read(p, 10);
    }
    return 0;
}

/*
 * Start the client as alice (HOME in home, NULL for a fresh one) in a
 * pty with another user, bob, already connected; wait until the client
 * shows its /who reply naming bob and has readline running.
 */
static struct hconn *
start_pair(struct pty *p, const char *home, const char *const *env)
{
    static const char *const args[] = { "-n", "alice", "127.0.0.1", NULL };
    const char *argv[8];
    char port[16];
    struct hconn *bob;
    size_t n = 0;

    bob = hconn_join(server.port, NULL, 0);
    ck_assert_ptr_nonnull(bob);
    ck_assert_msg(hconn_nick(bob, "bob"), "bob could not take its nick");
    snprintf(port, sizeof(port), "%d", server.port);
    for (; args[n]; n++)
        argv[n] = args[n];
    argv[n++] = port;
    argv[n] = NULL;
    pty_spawn(p, home, env, argv);
    ck_assert_int_ge(pty_expect(p, "users online:\n***   ", 0, H_TIMEOUT_MS),
                     0);
    ck_assert_int_ge(pty_expect(p, "bob", 0, H_TIMEOUT_MS), 0);
    ck_assert(pty_wait_raw(p, H_TIMEOUT_MS));
    ck_assert_int_eq(hconn_expect(bob, "is now known as alice", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    return bob;
}

/*
 * Leave with /quit: exit 0 and the terminal back in cooked mode.  Closes
 * the pty, removing its home unless keep is set.
 */
static void
quit_pair(struct pty *p, struct hconn *bob, int keep)
{
    pty_type(p, "/quit\r");
    ck_assert_int_eq(pty_exit(p, H_TIMEOUT_MS), 0);
    ck_assert((pty_lflag(p) & (ICANON | ECHO)) == (ICANON | ECHO));
    ck_assert_int_eq(hconn_expect(bob, "alice has left", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(bob);
    pty_close(p, !keep);
}

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

/* Offset of the first SGR sequence (ESC [ ... m) in s, or -1. */
static long
find_sgr(const char *s)
{
    for (const char *e = strchr(s, '\033'); e; e = strchr(e + 1, '\033')) {
        const char *q = e + 1;
        if (*q != '[')
            continue;
        q++;
        while (*q >= 0x20 && *q <= 0x3f)
            q++;
        if (*q == 'm')
            return e - s;
    }
    return -1;
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
    ck_assert_int_eq(find_sgr(p.out), -1);
    quit_pair(&p, bob, 0);
}
END_TEST

START_TEST(test_color_by_default)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);

    hconn_send(bob, "colourful\n");
    ck_assert_int_ge(pty_expect(&p, "<bob> colourful", 0, H_TIMEOUT_MS), 0);
    ck_assert_int_ge(find_sgr(p.out), 0);
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

/* ------------------------------------------------------------------ */
/* Server going away, unreachable servers, pipe mode                   */
/* ------------------------------------------------------------------ */

START_TEST(test_server_gone)
{
    struct pty p;
    struct hconn *bob = start_pair(&p, NULL, NULL);

    pty_type(&p, "unsent");
    ck_assert_int_ge(pty_expect(&p, "unsent", 0, H_TIMEOUT_MS), 0);
    ck_assert_int_eq(hserver_stop(&server), 0);
    ck_assert_int_eq(pty_exit(&p, H_TIMEOUT_MS), 1);
    ck_assert_int_ge(pty_expect(&p, "connection closed", 0, 100), 0);
    ck_assert((pty_lflag(&p) & (ICANON | ECHO)) == (ICANON | ECHO));
    hconn_close(bob);
    pty_close(&p, 1);
    server_up();        /* for the fixture's teardown */
}
END_TEST

/*
 * Run "$CHAT args..." with input on its stdin (a pipe) and its stdout
 * and stderr into out.  Returns its exit status, -1 on a timeout.
 */
static int
run_piped(const char *input, const char *const *args, char *out, size_t cap)
{
    int in[2], o[2], st;
    const char *argv[16] = { chat_path() };
    size_t n = 1, len = 0, inlen = strlen(input), sent = 0;
    long end = h_now_ms() + 9000;
    pid_t pid;

    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    signal(SIGPIPE, SIG_IGN);   /* the client may exit before reading */
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(o, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(o[1], STDOUT_FILENO);
        dup2(o[1], STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    while (h_now_ms() < end) {
        struct pollfd pfd[2] = { { .fd = o[0], .events = POLLIN },
                                 { .fd = in[1], .events = POLLOUT } };
        if (sent == inlen && in[1] >= 0) {
            close(in[1]);
            in[1] = -1;
        }
        pfd[1].fd = in[1];
        if (poll(pfd, 2, 100) < 0)
            continue;
        if (pfd[1].revents & POLLOUT) {
            ssize_t w = write(in[1], input + sent, inlen - sent);
            if (w > 0)
                sent += (size_t)w;
        }
        if (pfd[0].revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(o[0], out + len, cap - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
        }
    }
    out[len] = '\0';
    if (in[1] >= 0)
        close(in[1]);
    close(o[0]);
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (h_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(10000);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_pipe_mode)
{
    char port[16], out[65536], want[64], line[512], input[4096];
    const char *args[] = { "-n", "ci", "127.0.0.1", port, NULL };
    struct hconn *bob = hconn_join(server.port, NULL, 0);
    size_t len = 0;

    ck_assert_ptr_nonnull(bob);
    snprintf(port, sizeof(port), "%d", server.port);
    /* 60 lines: past the server's burst of 40, so some wait for it. */
    for (int i = 1; i <= 60; i++)
        len += (size_t)snprintf(input + len, sizeof(input) - len,
                                "deploy step %d\n", i);
    snprintf(input + len, sizeof(input) - len, "no newline at the end");
    ck_assert_int_eq(run_piped(input, args, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "*** you are now known as ci"));
    ck_assert_ptr_null(strchr(out, '\033'));
    ck_assert_int_eq(hconn_expect(bob, "is now known as ci", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    for (int i = 1; i <= 60; i++) {
        snprintf(want, sizeof(want), "<ci> deploy step %d", i);
        ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS),
                         1);
        ck_assert_str_eq(line, want);
    }
    ck_assert_int_eq(hconn_line(bob, line, sizeof(line), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(line, "<ci> no newline at the end");
    ck_assert_int_eq(hconn_expect(bob, "ci has left (quit)", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(bob);
}
END_TEST

/*
 * Read c's lines until one holding until; fails on any holding bad
 * before it.  The hub orders a client's public lines before its leave
 * notice, so "has left" is the round trip after which a line it sent
 * would have arrived.
 */
static void
expect_none_before(struct hconn *c, const char *bad, const char *until)
{
    char line[512];

    for (;;) {
        ck_assert_int_eq(hconn_line(c, line, sizeof(line), H_TIMEOUT_MS),
                         1);
        ck_assert_msg(strstr(line, bad) == NULL, "got '%s'", line);
        if (strstr(line, until) != NULL)
            return;
    }
}

/* A script that asked for a taken nickname sends nothing, exits 3. */
START_TEST(test_pipe_nick_taken)
{
    char port[16], out[65536];
    const char *args[] = { "-n", "carol", "127.0.0.1", port, NULL };
    struct hconn *carol = hconn_join(server.port, NULL, 0);

    ck_assert_ptr_nonnull(carol);
    ck_assert_int_eq(hconn_nick(carol, "carol"), 1);
    snprintf(port, sizeof(port), "%d", server.port);
    ck_assert_int_eq(run_piped("hi from a script\n/me waves\n", args, out,
                               sizeof(out)), 3);
    ck_assert_ptr_nonnull(strstr(out, "*** error: nickname is already in "
                                      "use: carol"));
    ck_assert_ptr_nonnull(strstr(out, "refused the nickname carol"));
    /* Neither line arrived from the guest before it left. */
    expect_none_before(carol, "script", "has left (quit)");
    hconn_close(carol);
}
END_TEST

/* A line the server answers with an error makes the exit status 3. */
START_TEST(test_pipe_error_status)
{
    char port[16], out[65536];
    const char *args[] = { "127.0.0.1", port, NULL };
    struct hconn *bob = hconn_join(server.port, NULL, 0);

    ck_assert_ptr_nonnull(bob);
    snprintf(port, sizeof(port), "%d", server.port);
    /* The error answers the last line: only the close tells it came. */
    ck_assert_int_eq(run_piped("/bogus\n", args, out, sizeof(out)), 3);
    ck_assert_ptr_nonnull(strstr(out, "*** error: unknown command"));
    ck_assert_ptr_nonnull(strstr(out, "answered 1 line with an error"));
    /* Lines around a refused one are still sent. */
    ck_assert_int_eq(run_piped("first\n/msg nobody x\nlast\n", args, out,
                               sizeof(out)), 3);
    ck_assert_ptr_nonnull(strstr(out, "*** error: no such nickname"));
    ck_assert_int_eq(hconn_expect(bob, "> first", NULL, 0, H_TIMEOUT_MS),
                     1);
    ck_assert_int_eq(hconn_expect(bob, "> last", NULL, 0, H_TIMEOUT_MS), 1);
    hconn_close(bob);
}
END_TEST

START_TEST(test_unreachable)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sin);
    char port[16], out[4096];
    const char *args[] = { "127.0.0.1", port, NULL };
    int fd;

    /* A port bound but not listening: refused, and no one else's. */
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    snprintf(port, sizeof(port), "%d", ntohs(sin.sin_port));
    ck_assert_int_eq(run_piped("hello\n", args, out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "cannot connect to 127.0.0.1 port"));
    ck_assert_ptr_nonnull(strstr(out, "Connection refused"));
    close(fd);
}
END_TEST

START_TEST(test_options)
{
    const char *help[] = { chat_path(), "--help", NULL };
    const char *version[] = { chat_path(), "--version", NULL };
    const char *bad[] = { chat_path(), "-n", "no spaces", NULL };
    const char *extra[] = { chat_path(), "a", "1", "c", NULL };
    char out[8192];
    int st;

    ck_assert_int_eq(h_run(help, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: chat"));
    ck_assert_int_eq(h_run(version, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_nonnull(strstr(out, PACKAGE_VERSION));
    ck_assert_int_eq(h_run(bad, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 2);
    ck_assert_ptr_nonnull(strstr(out, "bad nickname"));
    ck_assert_int_eq(h_run(extra, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 2);
}
END_TEST

/* A port out of range or not a number is refused, never wrapped round. */
START_TEST(test_bad_port)
{
    static const char *const ports[] = {
        "99999", "65536", "0", "12x", "", "4294967297", NULL
    };
    char out[4096];
    int st;

    for (size_t i = 0; ports[i] != NULL; i++) {
        const char *argv[] = { chat_path(), "127.0.0.1", ports[i], NULL };
        ck_assert_int_eq(h_run(argv, out, sizeof(out), &st), 0);
        ck_assert_msg(st == 2, "port '%s': status %d", ports[i], st);
        ck_assert_ptr_nonnull(strstr(out, "bad port"));
        ck_assert_ptr_null(strstr(out, "cannot connect"));
    }
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

    tc = tcase_create("Exit");
    tcase_add_checked_fixture(tc, server_up, server_down);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_server_gone);
    tcase_add_test(tc, test_pipe_mode);
    tcase_add_test(tc, test_pipe_nick_taken);
    tcase_add_test(tc, test_pipe_error_status);
    tcase_add_test(tc, test_unreachable);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_bad_port);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(client_suite());
}
