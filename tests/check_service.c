/*
 * check_service.c: integration tests of chatd as a service: -t and -c,
 * the command line winning over the file, SIGHUP (MOTD, rate, bad files,
 * keys that need a restart), SIGUSR1 stats, -d with a pidfile, and the
 * sd_notify datagrams.  Each test runs the real chatd (harness.c) from
 * the test's own thread, with files in a fresh directory under /tmp.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char dir[64];

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/check_service.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Remove dir and the files the test made in it. */
static void
teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[512];

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Write text to dir/name; returns the path (static buffer per call). */
static const char *
put(const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    FILE *f;

    snprintf(path, 512, "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* Run chatd with args (NULL-terminated) to completion; returns its exit
 * status, its output in out. */
static int
run(char *out, size_t cap, const char *arg, ...)
{
    const char *argv[32] = { hserver_chatd() };
    size_t n = 1;
    va_list ap;
    int status;

    va_start(ap, arg);
    for (; arg != NULL && n < 31; arg = va_arg(ap, const char *))
        argv[n++] = arg;
    va_end(ap);
    argv[n] = NULL;
    ck_assert_int_eq(h_run(argv, out, cap, &status), 0);
    return status;
}

/* ------------------------------------------------------------ Check */

START_TEST(test_check_good)
{
    char out[4096];
    const char *conf = put("c.conf", "# fine\nport = 7001\nrate = 5\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 0);
    ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);
}
END_TEST

START_TEST(test_check_bad_line)
{
    char out[4096], want[512];
    const char *conf = put("c.conf", "port = 7001\n\nrate = lots\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:3: rate: 'lots' is not", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    conf = put("d.conf", "colour = red\n");
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:1: colour: unknown key", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
}
END_TEST

/* Without -t, a bad file stops chatd before it listens, with status 2. */
START_TEST(test_start_bad_file)
{
    char out[4096], want[512];
    const char *conf = put("c.conf", "burst = 0\n");

    ck_assert_int_eq(run(out, sizeof(out), "-p", "0", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:1: burst:", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "listening") == NULL, "%s", out);
}
END_TEST

START_TEST(test_check_missing_file)
{
    char out[4096], path[512];

    snprintf(path, sizeof(path), "%s/none.conf", dir);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", path, NULL), 2);
    ck_assert_msg(strstr(out, "No such file") != NULL, "%s", out);
}
END_TEST

/* A bad MOTD file, a bad user, or settings that do not fit together
 * are configuration errors too. */
START_TEST(test_check_bad_values)
{
    char out[4096], motd[512];

    snprintf(motd, sizeof(motd), "motd = %s/none\n", dir);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", put("a.conf", motd),
                         NULL), 2);
    ck_assert_msg(strstr(out, "motd: cannot open") != NULL, "%s", out);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c",
                         put("b.conf", "user = no-such-user-x\n"), NULL), 2);
    ck_assert_msg(strstr(out, "user: no-such-user-x") != NULL, "%s", out);
    /* Issue 11: a small sendq is no reason to refuse (long replies are
     * made as the client reads them). */
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c",
                         put("c.conf", "port = 0\nsendq = 4K\n"), NULL), 0);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "--bogus", NULL), 2);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "--rate", "x", NULL), 2);
    ck_assert_msg(strstr(out, "--rate: 'x'") != NULL, "%s", out);
}
END_TEST

/* The command line wins; -t -v shows the result.  The first -b on the
 * command line replaces the file's addresses. */
START_TEST(test_command_line_wins)
{
    char out[8192];
    const char *conf = put("c.conf", "rate = 5\nburst = 6\nbind = ::1\n"
                           "bind = 127.0.0.1\nverbose = 2\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, "--rate", "7",
                         "-b", "127.0.0.2", "-p", "0", NULL), 0);
    ck_assert_msg(strstr(out, "\nrate = 7  # command line\n") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "\nburst = 6  #") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nbind = 127.0.0.2  #") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "bind = ::1") == NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nverbose = 2  #") != NULL, "%s", out);
}
END_TEST

/* -t -v says where each value came from: the file's line, the command
 * line, or the default.  -v itself is a command-line value. */
START_TEST(test_check_origins)
{
    char out[8192], want[600];
    const char *conf = put("c.conf", "# top\nrate = 5\n\nbind = 127.0.0.1\n"
                           "motd = /dev/null\n");

    ck_assert_int_eq(run(out, sizeof(out), "-t", "-v", "-c", conf,
                         "--burst", "9", "-p", "0", NULL), 0);
    snprintf(want, sizeof(want), "\nrate = 5  # %s:2\n", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof(want), "\nbind = 127.0.0.1  # %s:4\n", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof(want), "\nmotd = /dev/null  # %s:5\n", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nburst = 9  # command line\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "port = 0  # command line\n") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "\nverbose = 1  # command line\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "\nsendq = 1048576  # default\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "\n# pidfile: not set (default)\n") != NULL,
                  "%s", out);
}
END_TEST

/* -t listens as a start would: an address that is not an address, or
 * not this host's, fails -t and a start alike, with status 2 and a
 * message naming it; a free port passes. */
START_TEST(test_check_listen_address)
{
    static const char *const bad[][2] = {
        { "192.0.2.1", "cannot listen on 192.0.2.1:0: Cannot assign "
                       "requested address" },
        { "1.2.3", "--bind: '1.2.3' is not an IPv4 address" },
        { "999.1.1.1", "--bind: '999.1.1.1' is not an IPv4 address" },
        { "::g", "--bind: '::g' is not an IPv6 address" },
    };
    char out[4096], want[600];
    const char *conf = put("c.conf", "\n");

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(want, sizeof(want), "chatd: %s\n", bad[i][1]);
        ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, "-p", "0",
                             "-b", bad[i][0], NULL), 2);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
        ck_assert_int_eq(run(out, sizeof(out), "-c", conf, "-p", "0", "-w",
                             "1", "-b", bad[i][0], NULL), 2);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
    }
    conf = put("d.conf", "# x\nbind = 1.2.3\n");
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, NULL), 2);
    snprintf(want, sizeof(want), "%s:2: bind: '1.2.3' is not an IPv4 "
             "address", conf);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", put("e.conf", "\n"),
                         "-p", "0", "-b", "127.0.0.1", "-b", "::1", NULL), 0);
    ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);
}
END_TEST

/* A port in use fails -t and a start alike: status 1 (chatd(8)), and the
 * last line says which address, as an error, not a warning. */
START_TEST(test_check_port_taken)
{
    struct hserver s;
    const char *conf = put("c.conf", "\n");
    const char *argv[] = { "chatd", "-p", "0", "-w", "1", "-b", "127.0.0.1",
                           "-c", conf, NULL };
    char out[4096], port[16], want[256];

    ck_assert_msg(hserver_start_argv(&s, argv) == 0, "chatd did not start");
    snprintf(port, sizeof(port), "%d", s.port);
    snprintf(want, sizeof(want), "chatd: cannot listen on 127.0.0.1:%d: "
             "Address already in use\n", s.port);
    ck_assert_int_eq(run(out, sizeof(out), "-t", "-c", conf, "-p", port,
                         "-b", "127.0.0.1", NULL), 1);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(run(out, sizeof(out), "-c", conf, "-p", port, "-w", "1",
                         "-b", "127.0.0.1", NULL), 1);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* Every option error begins with "chatd: " (not argv[0], which is a
 * path here), exits 2 and points at --help. */
START_TEST(test_option_errors)
{
    static const char *const bad[][2] = {
        { "--bogus", "unrecognized option '--bogus'" },
        { "-x", "invalid option -- 'x'" },
        { "-p", "option requires an argument -- 'p'" },
        { "--rate", "option '--rate' requires an argument" },
        { "--rat", "option '--rate' requires an argument" },
        { "--daemon=yes", "option '--daemon' doesn't allow an argument" },
        { "--cluster-t", "option '--cluster-timeout' requires an argument" },
        { "--c", "option '--c' is ambiguous; possibilities: '--cluster' "
                 "'--cluster-channel' '--cluster-timeout' '--config' "
                 "'--check-config'" },
    };
    char out[4096], want[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(want, sizeof(want), "chatd: %s\nTry 'chatd --help' for "
                 "more information.\n", bad[i][1]);
        ck_assert_int_eq(run(out, sizeof(out), bad[i][0], NULL), 2);
        ck_assert_str_eq(out, want);
    }
}
END_TEST

/* --help names no placeholder address and fits 80 columns. */
START_TEST(test_help_text)
{
    char out[8192];

    ck_assert_int_eq(run(out, sizeof(out), "--help", NULL), 0);
    ck_assert_msg(strstr(out, "example.") == NULL && strchr(out, '@') ==
                  NULL, "%s", out);
    ck_assert_msg(strstr(out, "redis://127.0.0.1:6379") != NULL, "%s", out);
    for (char *line = out, *nl; *line; line = nl + 1) {
        ck_assert_ptr_nonnull(nl = strchr(line, '\n'));
        /* The config file's path is the build's (long under distcheck):
         * only its line may be wider, and only by the path. */
        if (strncmp(line, "  (default /", 12) == 0)
            continue;
        ck_assert_msg(nl - line < 80, "too wide: %.*s", (int)(nl - line),
                      line);
    }
}
END_TEST

/* ---------------------------------------------------------- Running */

static void
start(struct hserver *s, const char *conf, const char *extra)
{
    const char *argv[] = { "chatd", "-p", "0", "-w", "2", "-b",
                           "127.0.0.1", "-c", conf, extra, NULL };

    ck_assert_msg(hserver_start_argv(s, argv) == 0, "chatd did not start");
}

/* -c: the file's MOTD greets clients; the file's port is overridden. */
START_TEST(test_config_file_used)
{
    struct hserver s;
    struct hconn *a;
    char conf[1024];

    snprintf(conf, sizeof(conf), "port = 7\nmotd = %s\n",
             put("motd", "Welcome to the test server.\nBe nice.\n"));
    start(&s, put("c.conf", conf), NULL);
    a = hconn_open(s.port);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(hconn_expect(a, "*** Welcome to the test server.",
                                  NULL, 0, H_TIMEOUT_MS), 1);
    ck_assert_int_eq(hconn_expect(a, "*** Be nice.", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(a);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP: a new MOTD reaches new clients; connected ones stay. */
START_TEST(test_sighup_motd)
{
    struct hserver s;
    struct hconn *a, *b;
    char conf[1024];
    const char *path;

    snprintf(conf, sizeof(conf), "motd = %s\n", put("m1", "first motd\n"));
    path = put("c.conf", conf);
    start(&s, path, NULL);
    a = hconn_open(s.port);
    ck_assert_int_eq(hconn_expect(a, "*** first motd", NULL, 0,
                                  H_TIMEOUT_MS), 1);

    snprintf(conf, sizeof(conf), "motd = %s\n", put("m2", "second motd\n"));
    put("c.conf", conf);
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    ck_assert(hserver_wait_log(&s, "SIGHUP: configuration reloaded",
                               H_TIMEOUT_MS));
    b = hconn_open(s.port);
    ck_assert_int_eq(hconn_expect(b, "*** second motd", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_send(b, "after the reload\n");
    ck_assert_int_eq(hconn_expect(a, "> after the reload", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP: a new rate applies at once, to clients already connected. */
START_TEST(test_sighup_rate)
{
    struct hserver s;
    struct hconn *a, *b;
    char line[256];
    const char *path = put("c.conf", "rate = 1\nburst = 1\n");

    start(&s, path, NULL);
    a = hconn_join(s.port, NULL, 0);
    b = hconn_join(s.port, NULL, 0);
    ck_assert(a != NULL && b != NULL);
    hconn_send(a, "one\ntwo\nthree\n");
    ck_assert_int_eq(hconn_expect(b, "> one", NULL, 0, H_TIMEOUT_MS), 1);
    /* Unthrottled, 'two' would have gone out with 'one': it would come
     * before b's own answer.  One round trip only: b has one token. */
    ck_assert_msg(hconn_roundtrip(b, line, sizeof(line)) == 1,
                  "rate 1 did not slow 'two' down: got \"%s\"", line);
    ck_assert_int_eq(hconn_expect(b, "> three", NULL, 0, H_TIMEOUT_MS), 1);

    put("c.conf", "rate = 0\nburst = 1\n");
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    ck_assert(hserver_wait_log(&s, "rate 0, burst 1", H_TIMEOUT_MS));
    for (int i = 0; i < 30; i++)
        hconn_send(a, "fast %d\n", i);
    long t0 = h_now_ms();
    for (int i = 0; i < 30; i++) {
        char want[32];
        snprintf(want, sizeof(want), "> fast %d", i);
        ck_assert_int_eq(hconn_expect(b, want, line, sizeof(line), 2000),
                         1);
    }
    ck_assert_int_lt(h_now_ms() - t0, 1500);
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP with a bad file: logged with file, line and key; nothing
 * changes and chatd keeps serving. */
START_TEST(test_sighup_bad_file)
{
    struct hserver s;
    struct hconn *a;
    char want[512];
    const char *path = put("c.conf", "rate = 5\n");

    start(&s, path, NULL);
    put("c.conf", "rate = 5\nmax-clients = none\n");
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    snprintf(want, sizeof(want), "SIGHUP: %s:2: max-clients: 'none'", path);
    ck_assert(hserver_wait_log(&s, want, H_TIMEOUT_MS));
    ck_assert(hserver_wait_log(&s, "running configuration is unchanged",
                               H_TIMEOUT_MS));
    a = hconn_join(s.port, NULL, 0);
    ck_assert_ptr_nonnull(a);
    hconn_close(a);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGHUP: keys that need a restart are named in the log. */
START_TEST(test_sighup_not_live)
{
    struct hserver s;
    const char *path = put("c.conf", "history = 0\n");

    start(&s, path, NULL);
    put("c.conf", "history = 5\nmax-line = 2000\nrate = 3\n");
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    ck_assert(hserver_wait_log(&s, "SIGHUP: cannot change max-line, "
                               "history while running", H_TIMEOUT_MS));
    ck_assert(hserver_wait_log(&s, "rate 3", H_TIMEOUT_MS));
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* SIGUSR1: one stats line with the counters. */
START_TEST(test_sigusr1_stats)
{
    struct hserver s;
    struct hconn *a, *b;

    start(&s, put("c.conf", "\n"), NULL);
    a = hconn_join(s.port, NULL, 0);
    b = hconn_join(s.port, NULL, 0);
    hconn_send(a, "hello\n");
    ck_assert_int_eq(hconn_expect(b, "> hello", NULL, 0, H_TIMEOUT_MS), 1);
    ck_assert_int_eq(hserver_signal(&s, SIGUSR1), 0);
    ck_assert(hserver_wait_log(&s, "stats: clients=2 connections=2 "
                               "messages_in=1 messages_out=", H_TIMEOUT_MS));
    ck_assert(hserver_wait_log(&s, " slow_disconnects=0 uptime=",
                               H_TIMEOUT_MS));
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* ----------------------------------------------------------- Daemon */

/* 1 once pid has exited (gone, or a zombie of someone else's), within
 * ms. */
static int
gone(pid_t pid, int ms)
{
    long end = h_now_ms() + ms;
    char path[64], stat[256];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    while (h_now_ms() < end) {
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return 1;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *p = strrchr(stat, ')');
        if (p && p[1] == ' ' && p[2] == 'Z')
            return 1;
        usleep(10000);
    }
    return 0;
}

/* -d: the parent exits 0 once the child listens; the pidfile names the
 * child, which serves clients, stops on SIGTERM and removes it. */
START_TEST(test_daemon_pidfile)
{
    struct hserver s;
    struct hconn *a;
    char pidpath[512], buf[64];
    const char *argv[] = { "chatd", "-p", "0", "-w", "2", "-b",
                           "127.0.0.1", "-c", put("c.conf", "\n"), "-d",
                           "--pidfile", pidpath, NULL };
    int status = -1;
    pid_t dpid;
    FILE *f;

    snprintf(pidpath, sizeof(pidpath), "%s/chatd.pid", dir);
    ck_assert_msg(hserver_start_argv(&s, argv) == 0, "chatd did not start");
    for (long end = h_now_ms() + H_TIMEOUT_MS; h_now_ms() < end;
         usleep(10000))
        if (waitpid(s.pid, &status, WNOHANG) == s.pid)
            break;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "parent status %d", status);
    f = fopen(pidpath, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
    fclose(f);
    dpid = (pid_t)atol(buf);
    ck_assert_int_gt(dpid, 1);
    ck_assert_int_ne(dpid, s.pid);
    ck_assert_int_eq(kill(dpid, 0), 0);

    /* A second daemon with the same pidfile refuses to start. */
    char out[4096];
    ck_assert_int_eq(run(out, sizeof(out), "-p", "0", "-b", "127.0.0.1",
                         "-c", put("d.conf", "\n"), "--pidfile", pidpath,
                         NULL), 1);
    ck_assert_msg(strstr(out, "already running") != NULL, "%s", out);

    a = hconn_join(s.port, NULL, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(kill(dpid, SIGHUP), 0);
    ck_assert_int_eq(kill(dpid, SIGTERM), 0);
    ck_assert_int_eq(hconn_expect(a, "*** server shutting down", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(a);
    ck_assert_msg(gone(dpid, 10000), "daemon did not stop");
    ck_assert_int_eq(access(pidpath, F_OK), -1);

    /* The parent is reaped; only its log file is left to remove. */
    unlink(s.logpath);
}
END_TEST

/* ----------------------------------------------------------- Notify */

/*
 * Bind a datagram socket at dir/name for sd_notify, with SO_PASSCRED so
 * that each datagram says which process sent it, and point NOTIFY_SOCKET
 * at it.  Returns the socket.
 */
static int
notify_socket(const char *name)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, on = 1;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on,
                                sizeof(on)), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    return fd;
}

/* Read one datagram from fd into buf within ms, and the sender's pid
 * into *pid; 1, or 0 on timeout. */
static int
recv_state_from(int fd, char *buf, size_t cap, pid_t *pid, int ms)
{
    union {
        struct cmsghdr hdr;
        char           buf[CMSG_SPACE(sizeof(struct ucred))];
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = ctl.buf,
                          .msg_controllen = sizeof(ctl.buf) };
    struct pollfd p = { .fd = fd, .events = POLLIN };
    struct cmsghdr *c;
    ssize_t n;

    *pid = -1;
    if (poll(&p, 1, ms) != 1 || (n = recvmsg(fd, &msg, 0)) < 0)
        return 0;
    buf[n] = '\0';
    for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
            *pid = ((struct ucred *)(void *)CMSG_DATA(c))->pid;
    return 1;
}

/* The same, without the pid. */
static int
recv_state(int fd, char *buf, size_t cap, int ms)
{
    pid_t pid;

    return recv_state_from(fd, buf, cap, &pid, ms);
}

/* sd_notify: READY=1 once listening; RELOADING=1 and READY=1 around a
 * SIGHUP; STOPPING=1 on SIGTERM. */
START_TEST(test_sd_notify)
{
    struct hserver s;
    char buf[256];
    int fd = notify_socket("notify");

    start(&s, put("c.conf", "\n"), NULL);
    unsetenv("NOTIFY_SOCKET");

    ck_assert_int_eq(recv_state(fd, buf, sizeof(buf), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(buf, "READY=1");
    ck_assert(hserver_wait_log(&s, "listening on 127.0.0.1:", 100));
    ck_assert_int_eq(hserver_signal(&s, SIGHUP), 0);
    ck_assert_int_eq(recv_state(fd, buf, sizeof(buf), H_TIMEOUT_MS), 1);
    ck_assert_msg(strncmp(buf, "RELOADING=1\n", 12) == 0, "%s", buf);
    ck_assert_msg(strstr(buf, "MONOTONIC_USEC=") != NULL, "%s", buf);
    ck_assert_int_eq(recv_state(fd, buf, sizeof(buf), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(buf, "READY=1");
    ck_assert_int_eq(hserver_stop(&s), 0);
    ck_assert_int_eq(recv_state(fd, buf, sizeof(buf), H_TIMEOUT_MS), 1);
    ck_assert_str_eq(buf, "STOPPING=1");
    close(fd);
}
END_TEST

/* "daemon = yes" under a service manager that waits for READY=1: chatd
 * says it ignores it, stays the process that was started, in the
 * foreground, and that process tells READY=1. */
START_TEST(test_notify_ignores_daemon)
{
    struct hserver s;
    char buf[256];
    pid_t from;
    int fd = notify_socket("notify");

    start(&s, put("c.conf", "daemon = yes\n"), NULL);
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(recv_state_from(fd, buf, sizeof(buf), &from,
                                     H_TIMEOUT_MS), 1);
    ck_assert_str_eq(buf, "READY=1");
    ck_assert_int_eq(from, s.pid);
    ck_assert_int_eq(waitpid(s.pid, NULL, WNOHANG), 0);
    ck_assert(hserver_wait_log(&s, "warning: main: daemon: ignored under a "
                               "service manager (NOTIFY_SOCKET is set): "
                               "staying in the foreground", 100));
    ck_assert_int_eq(hserver_stop(&s), 0);
    ck_assert_int_eq(recv_state_from(fd, buf, sizeof(buf), &from,
                                     H_TIMEOUT_MS), 1);
    ck_assert_str_eq(buf, "STOPPING=1");
    close(fd);
}
END_TEST

static Suite *
service_suite(void)
{
    Suite *su = suite_create("service");
    TCase *tc;

    tc = tcase_create("Check");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_check_good);
    tcase_add_test(tc, test_check_bad_line);
    tcase_add_test(tc, test_start_bad_file);
    tcase_add_test(tc, test_check_missing_file);
    tcase_add_test(tc, test_check_bad_values);
    tcase_add_test(tc, test_command_line_wins);
    tcase_add_test(tc, test_check_origins);
    tcase_add_test(tc, test_check_listen_address);
    tcase_add_test(tc, test_check_port_taken);
    tcase_add_test(tc, test_option_errors);
    tcase_add_test(tc, test_help_text);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(su, tc);

    tc = tcase_create("Signals");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_config_file_used);
    tcase_add_test(tc, test_sighup_motd);
    tcase_add_test(tc, test_sighup_rate);
    tcase_add_test(tc, test_sighup_bad_file);
    tcase_add_test(tc, test_sighup_not_live);
    tcase_add_test(tc, test_sigusr1_stats);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(su, tc);

    tc = tcase_create("Daemon");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_daemon_pidfile);
    tcase_add_test(tc, test_sd_notify);
    tcase_add_test(tc, test_notify_ignores_daemon);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    return h_run_suite(service_suite());
}
