/*
 * check_privdrop.c: -u drops root privileges after the listeners are
 * open, and chatd started as root without -u warns.  Needs root: exits
 * 77 (SKIP) otherwise.  Single test thread.
 */
#include "config.h"

#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    tcase_set_timeout(tc, 30);
    suite_add_tcase(su, tc);
    return h_run_suite(su);
}
