/*
 * hpty.c: the client in a pseudo-terminal, and the chatd it talks to
 * (hpty.h).  The server belongs to the fixture; the pty and the client
 * to the forked test, on its one thread.
 */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utmp.h>

#include "hpty.h"

struct hserver server;

void
server_up(void)
{
    ck_assert_int_eq(hserver_start(&server, NULL), 0);
}

void
server_down(void)
{
    ck_assert_int_eq(hserver_stop(&server), 0);
}

const char *
chat_path(void)
{
    const char *p = getenv("CHAT");

    return p && *p ? p : "../src/chat/chat";
}

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
int
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
long
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
void
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
void
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
int
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
void
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
tcflag_t
pty_lflag(struct pty *p)
{
    struct termios t;

    ck_assert_int_eq(tcgetattr(p->slave, &t), 0);
    return t.c_lflag;
}

/* Wait up to ms for readline to take the terminal (ICANON off). */
int
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
struct hconn *
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
void
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

/* Offset of the first SGR sequence (ESC [ ... m) in s, or -1. */
long
pty_find_sgr(const char *s)
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
