/*
 * check_daemon.c: integration tests of chatd as a daemon: -d with a
 * pidfile, and the sd_notify datagrams (and that -d does not send
 * them).  Each test runs the real chatd (harness.c, hsvc.c) from the
 * test's own thread, with files in a fresh directory under /tmp.
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

#include "hsvc.h"

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
daemon_suite(void)
{
    Suite *su = suite_create("daemon");
    TCase *tc;

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
    return h_run_suite(daemon_suite());
}
