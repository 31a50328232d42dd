/*
 * check_chatbench_run.c: the real $CHATBENCH run: its usage errors and
 * --help, servers that refuse or never greet, servers that stall (a
 * black hole, chatd with flood control), and short runs against a real
 * $CHATD, with and without rooms (--rooms).  The helpers that run them
 * are in tests/hbench.c.
 *
 * Servers that stall are started by the tests that need them.
 *
 * Single-threaded.  The chatd fixture is unchecked (runs once per TCase in
 * the parent process); its pid and port are set there and read-only in
 * the forked tests.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hbench.h"

#define OUT_MAX 65536

static pid_t chatd_pid = -1;    /* fixture: set in the parent */
static int chatd_err = -1;      /* read end of chatd's stderr */
static char chatd_port[16];

/* ---------------------------------------------------------- helpers */

/* Drain what chatd logged so far so its stderr pipe never fills. */
static void
chatd_drain(void)
{
    char buf[4096];

    while (chatd_err >= 0 && read(chatd_err, buf, sizeof(buf)) > 0)
        ;
}


/* Unchecked fixture: a chatd without flood control (--rate 0). */
static void
chatd_start(void)
{
    hb_chatd_spawn("0", &chatd_pid, &chatd_err, chatd_port,
                sizeof(chatd_port));
}

/* Unchecked fixture: stop chatd with SIGTERM; it must exit 0. */
static void
chatd_stop(void)
{
    int status;

    if (chatd_pid <= 0)
        return;
    chatd_drain();
    ck_assert_int_eq(kill(chatd_pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(chatd_pid, &status, 0), chatd_pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(chatd_err);
    chatd_pid = -1;
    chatd_err = -1;
}

/* ------------------------------------------------------------ usage */

/* Each bad command line, and what its error message must name. */
static const struct {
    const char *args[6];
    const char *names;
} bad[] = {
    { { "-c", "0" }, "-c/--clients" },
    { { "-c", "ten" }, "-c/--clients" },
    { { "-c", "2", "-s", "3" }, "-s/--senders" },
    { { "-c", "1", "-s", "1" }, "-c/--clients" },
    { { "-b", "10" }, "-b/--size" },
    { { "-b", "70000" }, "-b/--size" },
    { { "-m", "0" }, "-m/--messages" },
    { { "-w", "-1" }, "-w/--window" },
    { { "-r", "0" }, "-r/--rate" },
    { { "-r", "100", "-m", "5" }, "-m/--messages" },
    { { "-r", "100", "-w", "5" }, "-w/--window" },
    { { "-D", "5", "-m", "5" }, "-m/--messages" },
    { { "-r", "10", "-D", "x" }, "-D/--duration" },
    { { "-p", "70000" }, "-p/--port" },
    { { "-p", "" }, "-p/--port" },
    { { "-p", "7777,,7778" }, "-p/--port" },
    { { "-p", "7777,x" }, "-p/--port" },
    { { "-H", "" }, "-H/--host" },
    { { "-T", "0" }, "-T/--timeout" },
    { { "--drain-ms", "soon" }, "--drain-ms" },
    { { "--protocol", "irc" }, "--protocol" },
    { { "--server-pid", "2147483647" }, "--server-pid" },
    { { "--channel", "a b" }, "--channel" },
    { { "--rooms", "-1" }, "--rooms" },
    { { "--rooms", "two" }, "--rooms" },
    { { "--rooms", "100001" }, "--rooms" },
    { { "-c", "3", "--rooms", "4" }, "--rooms: 4 rooms but only 3" },
    { { "-c", "5", "--rooms", "3", "-s", "3" }, "#cb2 would have a sender" },
    { { "--bogus" }, "bogus" },
    { { "-c" }, "'c'" },
    { { "stray" }, "stray" },
};

START_TEST(test_bad_usage)
{
    char *argv[8] = { (char *)hb_chatbench_path() };
    char out[OUT_MAX];
    int status, n = 1;

    for (int i = 0; i < 6 && bad[_i].args[i] != NULL; i++)
        argv[n++] = (char *)bad[_i].args[i];
    argv[n] = NULL;
    status = hb_run(argv, out, sizeof(out), 5000);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2,
                  "case %d: status %d: %s", _i, status, out);
    ck_assert_msg(strstr(out, bad[_i].names) != NULL,
                  "case %d: '%s' not named in: %s", _i, bad[_i].names, out);
}
END_TEST

START_TEST(test_help)
{
    char *argv[] = { (char *)hb_chatbench_path(), "--help", NULL };
    char out[OUT_MAX];
    int status = hb_run(argv, out, sizeof(out), 5000);

    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_ptr_nonnull(strstr(out, "--server-pid"));
}
END_TEST

/*
 * A TCP socket bound to a free loopback port, listening (backlog) if
 * backlog > 0; its port number goes to port.  Returns the socket.
 */
static int
loopback_socket(int backlog, char *port, size_t cap)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    if (backlog > 0)
        ck_assert_int_eq(listen(fd, backlog), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(port, cap, "%d", ntohs(sin.sin_port));
    return fd;
}

/* Nothing listens on a bound but not listening port: exit 1, said why. */
START_TEST(test_refused)
{
    char port[16], out[OUT_MAX];
    char *argv[] = { (char *)hb_chatbench_path(), "-p", port, "-c", "3",
                     "-T", "5", NULL };
    int fd = loopback_socket(0, port, sizeof(port)), status;

    status = hb_run(argv, out, sizeof(out), 8000);
    close(fd);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "refused"));
}
END_TEST

/* A server that never greets: the hard timeout (-T) ends the run. */
START_TEST(test_timeout)
{
    char port[16], out[OUT_MAX];
    char *argv[] = { (char *)hb_chatbench_path(), "-p", port, "-c", "3",
                     "-T", "0.5", NULL };
    int fd = loopback_socket(16, port, sizeof(port)), status;
    uint64_t t0 = hb_now_ms();

    status = hb_run(argv, out, sizeof(out), 5000);
    close(fd);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "timed out"));
    ck_assert_uint_lt(hb_now_ms() - t0, 3000);
}
END_TEST

/* ----------------------------------------------- servers that stall */

/*
 * Fork a server on a loopback port (written to port) that greets each
 * client with a "*** " notice, reads everything and delivers nothing: a
 * black hole.  Returns its pid; stop it with SIGKILL.
 */
static pid_t
blackhole_start(char *port, size_t cap)
{
    int lfd = loopback_socket(64, port, cap);
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct pollfd p[64] = { { .fd = lfd, .events = POLLIN } };
        nfds_t n = 1;
        char buf[4096];

        for (;;) {
            if (poll(p, n, -1) < 0)
                _exit(1);
            if ((p[0].revents & POLLIN) && n < 64) {
                int fd = accept(lfd, NULL, NULL);
                if (fd >= 0 && write(fd, "*** welcome\n", 12) == 12)
                    p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
            }
            for (nfds_t i = 1; i < n; i++)
                if (p[i].revents & (POLLIN | POLLHUP))
                    if (read(p[i].fd, buf, sizeof(buf)) <= 0)
                        p[i].events = 0;
        }
    }
    close(lfd);
    return pid;
}

/* Stop a server forked by the tests, by pid. */
static void
server_kill(pid_t pid)
{
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

/*
 * A window that no delivery opens: chatbench says within a few seconds
 * that nothing arrives, stops, and counts what it sent as in flight,
 * not as lost (the server might still deliver it).
 */
START_TEST(test_stall_no_progress)
{
    char port[16], out[OUT_MAX];
    char *argv[] = { (char *)hb_chatbench_path(), "-p", port, "-c", "3",
                     "-s", "1", "-m", "100", "-w", "4", NULL };
    pid_t server = blackhole_start(port, sizeof(port));
    uint64_t t0 = hb_now_ms();
    int status = hb_run(argv, out, sizeof(out), 20000);

    server_kill(server);
    ck_assert_uint_lt(hb_now_ms() - t0, 10000);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
    ck_assert_msg(strstr(out, "no delivery for 3 s") != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "stop=\"stalled\""));
    ck_assert_uint_eq(hb_field(out, "sent"), 4);
    ck_assert_uint_eq(hb_field(out, "lost"), 0);
    ck_assert_uint_eq(hb_field(out, "pending"), 8);
}
END_TEST

/*
 * Everything sent and written, then drain_ms of silence: what has not
 * arrived by then is lost.
 */
START_TEST(test_stall_drained_lost)
{
    char port[16], out[OUT_MAX];
    char *argv[] = { (char *)hb_chatbench_path(), "-p", port, "-c", "3",
                     "-s", "1", "-m", "10", "-w", "0", "--drain-ms", "300",
                     NULL };
    pid_t server = blackhole_start(port, sizeof(port));
    int status = hb_run(argv, out, sizeof(out), 10000);

    server_kill(server);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "stop=\"drained\""));
    ck_assert_uint_eq(hb_field(out, "sent"), 10);
    ck_assert_uint_eq(hb_field(out, "lost"), 20);
    ck_assert_uint_eq(hb_field(out, "pending"), 0);
}
END_TEST

/*
 * chatd with its default flood control (20 lines/s, bursts of 40) and
 * each way of sending: chatbench ends within seconds, not at -T, names
 * the likely cause and how to fix it, exits 1 and loses nothing.
 */
static const char *const limited[][6] = {
    { "-m", "2000", "-w", "64" },
    { "-m", "20000", "-w", "0" },
    { "-r", "500", "-D", "60" },
};

START_TEST(test_rate_limited)
{
    char port[16], out[OUT_MAX];
    char *argv[16] = { (char *)hb_chatbench_path(), "-p", port, "-c", "4",
                       "-s", "1" };
    int err, status, n = 7;
    uint64_t t0;
    pid_t pid;

    for (int i = 0; i < 6 && limited[_i][i] != NULL; i++)
        argv[n++] = (char *)limited[_i][i];
    argv[n] = NULL;
    hb_chatd_spawn(NULL, &pid, &err, port, sizeof(port));
    t0 = hb_now_ms();
    status = hb_run(argv, out, sizeof(out), 30000);
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    close(err);
    ck_assert_uint_lt(hb_now_ms() - t0, 15000);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
    ck_assert_msg(strstr(out, "rate-limiting") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "--rate 0") != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "stop=\"stalled\""));
    ck_assert_uint_eq(hb_field(out, "lost"), 0);
    ck_assert_uint_gt(hb_field(out, "pending"), 0);
}
END_TEST

/* ------------------------------------------------------ real chatd */

/*
 * Run chatbench (argv) against the fixture chatd, keeping chatd's log
 * drained; it must exit 0 within 10 s.  Its output goes to out.
 */
static void
run_ok(char *const argv[], char *out, size_t cap)
{
    int status = hb_run(argv, out, cap, 10000);

    chatd_drain();
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
}

START_TEST(test_chatd_window)
{
    char *argv[] = { (char *)hb_chatbench_path(), "-p", chatd_port, "-c", "10",
                     "-s", "2", "-m", "200", "-w", "16", "-T", "8", NULL };
    char out[OUT_MAX];

    run_ok(argv, out, sizeof(out));
    ck_assert_uint_eq(hb_field(out, "sent"), 400);
    ck_assert_uint_eq(hb_field(out, "delivered"), 400 * 9);
    ck_assert_uint_eq(hb_field(out, "lost"), 0);
    ck_assert_uint_eq(hb_field(out, "dup"), 0);
    ck_assert_uint_eq(hb_field(out, "corrupt"), 0);
}
END_TEST

/* -p with a list spreads the clients over the ports (here: one server
 * named twice); nothing is lost. */
START_TEST(test_chatd_port_list)
{
    char ports[40];
    char *argv[] = { (char *)hb_chatbench_path(), "-p", ports, "-c", "6",
                     "-s", "2", "-m", "100", "-w", "8", "-T", "8", NULL };
    char out[OUT_MAX];

    snprintf(ports, sizeof(ports), "%s,%s", chatd_port, chatd_port);
    run_ok(argv, out, sizeof(out));
    ck_assert_uint_eq(hb_field(out, "delivered"), 200 * 5);
    ck_assert_uint_eq(hb_field(out, "lost"), 0);
}
END_TEST

/* Open loop: no window, everything as fast as the sockets take it. */
START_TEST(test_chatd_open_loop)
{
    char *argv[] = { (char *)hb_chatbench_path(), "-p", chatd_port, "-c", "4",
                     "-s", "4", "-m", "300", "-w", "0", "-T", "8", NULL };
    char out[OUT_MAX];

    run_ok(argv, out, sizeof(out));
    ck_assert_uint_eq(hb_field(out, "sent"), 1200);
    ck_assert_uint_eq(hb_field(out, "delivered"), 1200 * 3);
    ck_assert_uint_eq(hb_field(out, "reordered"), 0);
}
END_TEST

START_TEST(test_chatd_rate)
{
    char pid[16];
    char *argv[] = { (char *)hb_chatbench_path(), "-p", chatd_port, "-c", "5",
                     "-s", "1", "-r", "400", "-D", "1", "-b", "100",
                     "--server-pid", pid, "-T", "8", NULL };
    char out[OUT_MAX];

    snprintf(pid, sizeof(pid), "%ld", (long)chatd_pid);
    run_ok(argv, out, sizeof(out));
    ck_assert_uint_eq(hb_field(out, "sent"), 400);
    ck_assert_uint_eq(hb_field(out, "delivered"), 400 * 4);
    ck_assert_uint_eq(hb_field(out, "lost"), 0);
    ck_assert_ptr_nonnull(strstr(out, " server_rss_kb="));
    ck_assert_ptr_nonnull(strstr(out, " p999_us="));
    /* messages are sent per second, deliveries made per second */
    ck_assert_ptr_nonnull(strstr(out, "load        400 msg/s for 1.0 s"));
    ck_assert_ptr_nonnull(strstr(out, " deliveries/s, "));
    ck_assert_ptr_nonnull(strstr(out, " deliveries_per_s="));
    ck_assert_ptr_null(strstr(out, "msgs_per_s"));
}
END_TEST

/* -D without -r: flat out, window-driven, for about that long. */
START_TEST(test_chatd_duration)
{
    char *argv[] = { (char *)hb_chatbench_path(), "-p", chatd_port, "-c", "4",
                     "-s", "1", "-w", "16", "-D", "1.5", "-T", "8", NULL };
    char out[OUT_MAX];
    uint64_t t0 = hb_now_ms(), took;

    run_ok(argv, out, sizeof(out));
    took = hb_now_ms() - t0;
    ck_assert_msg(took >= 1500 && took < 5000, "took %llu ms",
                  (unsigned long long)took);
    ck_assert_ptr_nonnull(strstr(out, "flat out for 1.5 s"));
    ck_assert_uint_gt(hb_field(out, "sent"), 100);
    ck_assert_uint_eq(hb_field(out, "planned"), hb_field(out, "sent"));
    ck_assert_uint_eq(hb_field(out, "delivered"), hb_field(out, "sent") * 3);
    ck_assert_uint_eq(hb_field(out, "lost"), 0);
    ck_assert_ptr_nonnull(strstr(out, "stop=\"complete\""));
}
END_TEST

START_TEST(test_chatd_idle)
{
    char pid[16];
    char *argv[] = { (char *)hb_chatbench_path(), "-p", chatd_port, "-c", "50",
                     "-s", "0", "--server-pid", pid, "-T", "8", NULL };
    char out[OUT_MAX];

    snprintf(pid, sizeof(pid), "%ld", (long)chatd_pid);
    run_ok(argv, out, sizeof(out));
    ck_assert_uint_eq(hb_field(out, "connected"), 50);
    ck_assert_ptr_nonnull(strstr(out, " rss_per_conn_b="));
    ck_assert_ptr_nonnull(strstr(out, " quiet_s="));
}
END_TEST

/*
 * Rooms: each layout (clients, rooms, senders, messages each) with the
 * deliveries it is due, computed by hand from "client i is in room i mod
 * R".  40 in 4: rooms of 10, each sender reaches 9.  11 in 4: rooms of 3,
 * 3, 3 and 2; senders 0-5 are in rooms 0 1 2 3 0 1 and reach 2 2 2 1 2 2.
 * 12 in 1: one room, not the default one, everyone else receives.
 */
static const struct {
    const char *clients, *rooms, *senders, *each;
    unsigned long long sent, delivered;
} layout[] = {
    { "40", "4", "4", "200", 800, 800 * 9 },
    { "11", "4", "6", "100", 600, 100 * 11 },
    { "12", "1", "2", "100", 200, 200 * 11 },
};

/* Every payload arrives once, in order, only in its sender's room. */
START_TEST(test_chatd_rooms)
{
    char *argv[] = { (char *)hb_chatbench_path(), "-p", chatd_port,
                     "-c", (char *)layout[_i].clients,
                     "--rooms", (char *)layout[_i].rooms,
                     "-s", (char *)layout[_i].senders,
                     "-m", (char *)layout[_i].each,
                     "-w", "16", "-T", "8", NULL };
    char out[OUT_MAX], want[32];

    run_ok(argv, out, sizeof(out));
    snprintf(want, sizeof(want), " rooms=%s ", layout[_i].rooms);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_uint_eq(hb_field(out, "sent"), layout[_i].sent);
    ck_assert_uint_eq(hb_field(out, "expected"), layout[_i].delivered);
    ck_assert_uint_eq(hb_field(out, "delivered"), layout[_i].delivered);
    ck_assert_uint_eq(hb_field(out, "lost"), 0);
    ck_assert_uint_eq(hb_field(out, "dup"), 0);
    ck_assert_uint_eq(hb_field(out, "reordered"), 0);
    ck_assert_uint_eq(hb_field(out, "corrupt"), 0);
    ck_assert_uint_eq(hb_field(out, "misrouted"), 0);
    ck_assert_ptr_nonnull(strstr(out, "stop=\"complete\""));
}
END_TEST

/* Rooms at a fixed rate, no window: 9 in 3 rooms of 3, each reaches 2. */
START_TEST(test_chatd_rooms_rate)
{
    char *argv[] = { (char *)hb_chatbench_path(), "-p", chatd_port,
                     "-c", "9", "--rooms", "3", "-s", "3", "-r", "300",
                     "-D", "1", "-T", "8", NULL };
    char out[OUT_MAX];

    run_ok(argv, out, sizeof(out));
    ck_assert_uint_eq(hb_field(out, "sent"), 300);
    ck_assert_uint_eq(hb_field(out, "delivered"), 300 * 2);
    ck_assert_uint_eq(hb_field(out, "misrouted"), 0);
}
END_TEST

static Suite *
chatbench_run_suite(void)
{
    Suite *s = suite_create("chatbench_run");
    TCase *tc;

    tc = tcase_create("Usage");
    tcase_add_loop_test(tc, test_bad_usage, 0,
                        (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_timeout);
    tcase_set_timeout(tc, 10);
    suite_add_tcase(s, tc);

    tc = tcase_create("Stall");
    tcase_add_test(tc, test_stall_no_progress);
    tcase_add_test(tc, test_stall_drained_lost);
    tcase_add_loop_test(tc, test_rate_limited, 0,
                        (int)(sizeof(limited) / sizeof(limited[0])));
    tcase_set_timeout(tc, 40);
    suite_add_tcase(s, tc);

    tc = tcase_create("Chatd");
    tcase_add_unchecked_fixture(tc, chatd_start, chatd_stop);
    tcase_add_test(tc, test_chatd_window);
    tcase_add_test(tc, test_chatd_open_loop);
    tcase_add_test(tc, test_chatd_port_list);
    tcase_add_test(tc, test_chatd_rate);
    tcase_add_test(tc, test_chatd_duration);
    tcase_add_test(tc, test_chatd_idle);
    tcase_add_loop_test(tc, test_chatd_rooms, 0,
                        (int)(sizeof(layout) / sizeof(layout[0])));
    tcase_add_test(tc, test_chatd_rooms_rate);
    tcase_set_timeout(tc, 15);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(chatbench_run_suite());
}
