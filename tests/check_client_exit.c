/*
 * check_client_exit.c: how the chat client ($CHAT) ends and what it
 * refuses: the server going away under it (in a pseudo-terminal,
 * hpty.c), pipe mode and its exit statuses, unreachable servers, its
 * options and bad ports.  Each test runs in check's forked child on one
 * thread, with a real chatd ($CHATD) of its own from a checked fixture.
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
client_exit_suite(void)
{
    Suite *s = suite_create("client_exit");
    TCase *tc;

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
    return s;
}

int
main(void)
{
    return h_run_suite(client_exit_suite());
}
