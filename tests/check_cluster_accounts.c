/*
 * check_cluster_accounts.c: accounts, bans and mutes in a cluster, kept
 * in the cluster's Redis (store_redis.c): one set of accounts on every
 * node, chatd --add-account through Redis, and a ban made on one node
 * closing the client it covers on another within a second.  A real
 * redis-server on loopback and two real nodes (tests/hcluster.c),
 * skipped without redis-server unless CHATD_REQUIRE_REDIS is set.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hcluster.h"

/* chatd --cluster URL --add-account name --oper, pw on stdin; exit
 * status, output in out. */
static int
add_oper(const char *name, const char *pw, char *out, size_t cap)
{
    char url[64], conf[] = "/tmp/check_cluster_accounts.XXXXXX";
    int in[2], outp[2], st, fd = mkstemp(conf);
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", rds.port);
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(outp), 0);
    if ((pid = fork()) == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(outp[1], STDOUT_FILENO);
        dup2(outp[1], STDERR_FILENO);
        close(in[1]);
        close(outp[0]);
        execl(hserver_chatd(), "chatd", "-c", conf, "--cluster", url,
              "--add-account", name, "--oper", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    ck_assert_int_eq(write(in[1], pw, strlen(pw)), (ssize_t)strlen(pw));
    close(in[1]);
    while ((n = read(outp[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(outp[0]);
    waitpid(pid, &st, 0);
    unlink(conf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void
say(struct hconn *c, const char *text, const char *want)
{
    hconn_send(c, "%s\n", text);
    expect(c, want);
}

/* One set of accounts: made on one node (or from the shell), used on
 * the other; registered names are protected on both. */
START_TEST(test_accounts_shared)
{
    struct hconn *a, *b, *c;
    char out[4096];

    ck_assert_int_eq(add_oper("olga", "olgapass12\n", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "account olga saved (operator)"));
    a = join_at(0, NULL);
    say(a, "/login olga olgapass12", "*** logged in as olga (operator)");
    b = join_at(1, "pavel");
    say(b, "/register pavelpass1", "*** registered pavel");
    hconn_send(b, "/quit\n");
    ck_assert(hconn_closed(b, T));
    c = join_at(0, NULL);
    say(c, "/nick pavel",
        "*** error: pavel is registered; /login pavel PASSWORD");
    say(c, "/login pavel wrongpass1", "*** error: wrong name or password");
    say(c, "/login pavel pavelpass1", "*** logged in as pavel");
    expect(c, "*** you are now known as pavel");
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
}
END_TEST

/* A ban made on node 1 closes the client it covers on node 2, and is
 * kept: node 2 refuses that address before its welcome. */
START_TEST(test_ban_across_nodes)
{
    struct hconn *a, *v, *w;
    char out[4096];
    long t0, took;

    ck_assert_int_eq(add_oper("quinn", "quinnpass1\n", out, sizeof(out)),
                     0);
    a = join_at(0, NULL);
    say(a, "/login quinn quinnpass1", "*** logged in as quinn (operator)");
    v = hconn_open_addr("::1", node[1].port);
    ck_assert_ptr_nonnull(v);
    expect(v, "*** welcome to chatd, ");
    t0 = h_now_ms();
    say(a, "/ban ::1 5m across", "*** banned ::1 (5m)");
    ck_assert_msg(hconn_expect(v, "*** error: you are banned from this "
                               "server until ", line, sizeof(line), T) == 1,
                  "node 2 did not close the banned client");
    took = h_now_ms() - t0;
    ck_assert_ptr_nonnull(strstr(line, ": across"));
    ck_assert(hconn_closed(v, T));
    ck_assert_msg(took < 1000, "the ban took %ld ms to reach node 2", took);
    w = hconn_open_addr("::1", node[1].port);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(hconn_line(w, line, sizeof(line), T), 1);
    ck_assert_msg(strstr(line, "*** error: you are banned") == line, "%s",
                  line);
    hconn_close(w);
    say(a, "/unban ::1", "*** ban lifted: ::1");
    hconn_close(a);
    hconn_close(v);
}
END_TEST

/* A mute made on node 2 silences the user on node 1. */
START_TEST(test_mute_across_nodes)
{
    struct hconn *a, *m;
    char out[4096];

    ck_assert_int_eq(add_oper("rita", "ritapass12\n", out, sizeof(out)), 0);
    a = join_at(1, NULL);
    say(a, "/login rita ritapass12", "*** logged in as rita (operator)");
    m = join_at(0, "sam");
    say(a, "/mute sam 10m", "*** sam muted");
    for (int i = 0; i < 50; i++) {          /* until node 1 has loaded it */
        hconn_send(m, "hello %d\n", i);
        if (hconn_expect(m, "*** error: you are muted", line, sizeof(line),
                         100) == 1)
            break;
    }
    ck_assert_ptr_nonnull(strstr(line, "*** error: you are muted until"));
    say(a, "/unmute sam", "*** sam unmuted");
    hconn_close(a);
    hconn_close(m);
}
END_TEST

static Suite *
cluster_accounts_suite(int with_redis)
{
    Suite *s = suite_create("cluster_accounts");
    TCase *tc = tcase_create("Shared");

    suite_add_tcase(s, tc);
    if (!with_redis)
        return s;
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, up2, cluster_down);
    tcase_add_test(tc, test_accounts_shared);
    tcase_add_test(tc, test_ban_across_nodes);
    tcase_add_test(tc, test_mute_across_nodes);
    return s;
}

int
main(void)
{
    return hcluster_main("check_cluster_accounts", cluster_accounts_suite);
}
