/*
 * check_privdrop.c: -u drops root privileges after the listeners are
 * open, chatd started as root without -u warns, and a pidfile is removed
 * at exit by the user chatd became (or refused at start when it could
 * not be).  Needs root: exits 77 (SKIP) otherwise.  Single test thread.
 */
#include "config.h"

#include <check.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define DROP_USER "nobody"

/* The real, effective, saved and file-system IDs from /proc/PID/status
 * line "Uid:" or "Gid:"; 1 if all four are id. */
static int
ids_are(pid_t pid, const char *field, long id)
{
    char path[64], line[256];
    long v[4];
    int ok = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, strlen(field)) == 0 &&
            sscanf(line + strlen(field), "%ld %ld %ld %ld", &v[0], &v[1],
                   &v[2], &v[3]) == 4)
            ok = v[0] == id && v[1] == id && v[2] == id && v[3] == id;
    fclose(f);
    return ok;
}

/* -u nobody: every user and group ID is nobody's, no supplementary
 * group is root's, and chatd still serves clients. */
START_TEST(test_drop_to_user)
{
    const char *args[] = { "-b", "127.0.0.1", "-u", DROP_USER, NULL };
    struct passwd *pw = getpwnam(DROP_USER);
    struct hserver s;
    struct hconn *a, *b;

    ck_assert_ptr_nonnull(pw);
    ck_assert_int_eq(hserver_start(&s, args), 0);
    ck_assert(hserver_wait_log(&s, "running as user " DROP_USER, 1000));
    ck_assert_msg(ids_are(s.pid, "Uid:", (long)pw->pw_uid), "uid");
    ck_assert_msg(ids_are(s.pid, "Gid:", (long)pw->pw_gid), "gid");
    a = hconn_join(s.port, NULL, 0);
    b = hconn_join(s.port, NULL, 0);
    ck_assert(a != NULL && b != NULL);
    hconn_send(a, "from an unprivileged server\n");
    ck_assert_int_eq(hconn_expect(b, "> from an unprivileged server", NULL,
                                  0, H_TIMEOUT_MS), 1);
    hconn_close(a);
    hconn_close(b);
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* Started as root without -u, chatd says so in the log. */
START_TEST(test_root_warns)
{
    const char *args[] = { "-b", "127.0.0.1", NULL };
    struct hserver s;

    ck_assert_int_eq(hserver_start(&s, args), 0);
    ck_assert(hserver_wait_log(&s, "warning: main: running as root", 1000));
    ck_assert_int_eq(hserver_stop(&s), 0);
}
END_TEST

/* An unknown user stops chatd before it serves anyone. */
START_TEST(test_unknown_user)
{
    const char *argv[] = { hserver_chatd(), "-p", "0", "-b", "127.0.0.1",
                           "-u", "no-such-user-x", NULL };
    char out[4096];
    int status;

    ck_assert_int_eq(h_run(argv, out, sizeof(out), &status), 0);
    ck_assert_int_eq(status, 2);
    ck_assert_msg(strstr(out, "no-such-user-x") != NULL, "%s", out);
}
END_TEST

/* ----------------------------------------------------------- Pidfile */

/* A fresh directory with mode mode and an empty chatd.conf in it; the
 * path goes to dir (cap bytes). */
static void
make_dir(char *dir, size_t cap, mode_t mode)
{
    char conf[512];
    FILE *f;

    snprintf(dir, cap, "%s/chatd-privdrop.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, mode), 0);
    snprintf(conf, sizeof(conf), "%s/chatd.conf", dir);
    ck_assert_ptr_nonnull(f = fopen(conf, "w"));
    ck_assert_int_eq(fclose(f), 0);
}

/* Remove what make_dir() made, once the test is done. */
static void
remove_dir(const char *dir)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/chatd.conf", dir);
    unlink(path);
    ck_assert_msg(rmdir(dir) == 0, "%s is not empty", dir);
}

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

/*
 * The README's recipe, in a sticky world-writable directory like /tmp
 * (where only a file's owner may remove it): chatd -d -u nobody
 * --pidfile, then SIGTERM.  The pidfile is nobody's while chatd runs, and
 * gone once it has exited.
 */
START_TEST(test_pidfile_removed_after_drop)
{
    char dir[256], conf[512], pidpath[512], buf[64];
    const char *argv[] = { "chatd", "-p", "0", "-w", "2", "-b",
                           "127.0.0.1", "-c", conf, "-d", "-u", DROP_USER,
                           "--pidfile", pidpath, NULL };
    struct passwd *pw = getpwnam(DROP_USER);
    struct hserver s;
    struct hconn *a;
    struct stat st;
    int status = -1, dropped, owned;
    pid_t dpid;
    FILE *f;

    ck_assert_ptr_nonnull(pw);
    make_dir(dir, sizeof(dir), 01777);
    snprintf(conf, sizeof(conf), "%s/chatd.conf", dir);
    snprintf(pidpath, sizeof(pidpath), "%s/chatd.pid", dir);
    ck_assert_msg(hserver_start_argv(&s, argv) == 0, "chatd did not start");
    for (long end = h_now_ms() + H_TIMEOUT_MS; h_now_ms() < end;
         usleep(10000))
        if (waitpid(s.pid, &status, WNOHANG) == s.pid)
            break;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "parent status %d", status);
    ck_assert_ptr_nonnull(f = fopen(pidpath, "r"));
    ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
    fclose(f);
    dpid = (pid_t)atol(buf);
    ck_assert_int_gt(dpid, 1);
    dropped = ids_are(dpid, "Uid:", (long)pw->pw_uid);
    owned = stat(pidpath, &st) == 0 && st.st_uid == pw->pw_uid;

    /* Serving; a client sees the shutdown, then chatd is gone and so is
     * its pidfile.  (Stopped before any assertion on what was seen while
     * it ran, so a failure leaves no daemon behind.) */
    a = hconn_join(s.port, NULL, 0);
    ck_assert_int_eq(kill(dpid, SIGTERM), 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(hconn_expect(a, "*** server shutting down", NULL, 0,
                                  H_TIMEOUT_MS), 1);
    hconn_close(a);
    ck_assert_msg(gone(dpid, 10000), "chatd did not exit");
    ck_assert_msg(dropped, "chatd did not run as " DROP_USER);
    ck_assert_msg(owned, "the pidfile was not " DROP_USER "'s");
    ck_assert_msg(access(pidpath, F_OK) == -1, "%s left behind", pidpath);
    unlink(s.logpath);
    remove_dir(dir);
}
END_TEST

/*
 * A pidfile in a directory only root may write (as /run) could not be
 * removed by nobody at exit: -t says so and exits 2, and so does a start
 * with -d, before creating anything.
 */
START_TEST(test_pidfile_unremovable_refused)
{
    char dir[256], conf[512], pidpath[512], out[4096];
    const char *check[] = { hserver_chatd(), "-c", conf, "-t", "-u",
                            DROP_USER, "--pidfile", pidpath, NULL };
    const char *start[] = { hserver_chatd(), "-c", conf, "-p", "0", "-b",
                            "127.0.0.1", "-d", "-u", DROP_USER,
                            "--pidfile", pidpath, NULL };
    int status;

    make_dir(dir, sizeof(dir), 0755);
    snprintf(conf, sizeof(conf), "%s/chatd.conf", dir);
    snprintf(pidpath, sizeof(pidpath), "%s/chatd.pid", dir);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(h_run(i == 0 ? check : start, out, sizeof(out),
                               &status), 0);
        ck_assert_msg(status == 2, "%s: status %d: %s", i ? "start" : "-t",
                      status, out);
        ck_assert_msg(strstr(out, "could not remove it at exit") != NULL &&
                      strstr(out, dir) != NULL, "%s", out);
        ck_assert_msg(access(pidpath, F_OK) == -1, "%s created", pidpath);
    }
    remove_dir(dir);
}
END_TEST

int
main(void)
{
    Suite *su;
    TCase *tc;

    if (geteuid() != 0) {
        fprintf(stderr, "check_privdrop: not root, skipped\n");
        return 77;
    }
    su = suite_create("privdrop");
    tc = tcase_create("Root");
    tcase_add_test(tc, test_drop_to_user);
    tcase_add_test(tc, test_root_warns);
    tcase_add_test(tc, test_unknown_user);
    tcase_add_test(tc, test_pidfile_removed_after_drop);
    tcase_add_test(tc, test_pidfile_unremovable_refused);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(su, tc);
    return h_run_suite(su);
}
