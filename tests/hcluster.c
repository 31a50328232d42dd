/*
 * hcluster.c: the cluster of the cluster tests (hcluster.h): redis and
 * the nodes belong to the fixture in the parent process, the clients to
 * the forked test, each on its one thread.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcluster.h"

char line[70000];
const char *redis_bin;

struct hredis rds;
struct hserver node[NODES_MAX];
int nnodes;

const char *const *node_args;

/* Start node i ("n1", "n2", ...) joined to rds, with node_args too. */
void
node_start(int i)
{
    char url[64], name[16];
    const char *args[24] = { "--rate", "0", "--cluster", url, "--node-name",
                             name, "--cluster-timeout", TIMEOUT_ARG, NULL };

    for (size_t k = 0; node_args != NULL && node_args[k] != NULL && k < 15;
         k++)
        args[8 + k] = node_args[k];

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", rds.port);
    snprintf(name, sizeof(name), "n%d", i + 1);
    ck_assert_msg(hserver_start(&node[i], args) == 0, "node %s did not "
                  "start", name);
    ck_assert_msg(hserver_wait_log(&node[i], "link up", 10000),
                  "node %s did not join the cluster", name);
}

/* Start redis and n nodes, and wait until every node knows the others. */
void
cluster_up(int n)
{
    ck_assert_msg(hredis_start(&rds, redis_bin, 0) == 0,
                  "redis-server did not start");
    nnodes = n;
    for (int i = 0; i < n; i++)
        node_start(i);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            char want[32];
            if (i == j)
                continue;
            snprintf(want, sizeof(want), "node n%d ", j + 1);
            ck_assert_msg(hserver_wait_log(&node[i], want, 10000),
                          "n%d never heard of n%d", i + 1, j + 1);
        }
}

/*
 * Stop the nodes and redis.  Every node must exit 0 on SIGTERM, but for
 * one that a test killed with SIGKILL (tests run in a forked child, so
 * the parent only learns it here).
 */
void
cluster_down(void)
{
    int rc[NODES_MAX];

    for (int i = 0; i < nnodes; i++)
        rc[i] = node[i].pid > 0 ? hserver_stop(&node[i]) : 0;
    hredis_stop(&rds);
    for (int i = 0; i < nnodes; i++)
        ck_assert_msg(rc[i] == 0 || rc[i] == 128 + SIGKILL,
                      "node n%d exit status %d", i + 1, rc[i]);
}

void up2(void) { cluster_up(2); }
void up3(void) { cluster_up(3); }

struct hconn *
join_at(int i, const char *nick)
{
    struct hconn *c = hconn_join(node[i].port, NULL, 0);

    ck_assert_msg(c != NULL, "could not join n%d", i + 1);
    if (nick) {
        hconn_send(c, "/nick %s\n", nick);
        ck_assert_msg(hconn_expect(c, "you are now known as", line,
                                   sizeof(line), T) == 1,
                      "no nick %s on n%d", nick, i + 1);
    }
    return c;
}

/* A line containing want must arrive; it is left in line. */
void
expect(struct hconn *c, const char *want)
{
    h_expect(c, want, line, sizeof(line));
}

/*
 * A line containing want must arrive, and no line containing any of
 * never (NULL-terminated) before it.  The barrier across the cluster:
 * with want a line sent after the ones that must not come, by a client
 * that had seen them go out, a line that would have come is in the way.
 * Redis hands every node the channel's lines in one order, and a node
 * keeps that order to its clients.
 */
void
expect_not_before(struct hconn *c, const char *const *never,
                  const char *want)
{
    for (;;) {
        int rc = hconn_line(c, line, sizeof(line), T);
        ck_assert_msg(rc == 1, "expected \"%s\", got %s", want,
                      rc == 0 ? "nothing (timeout)" : "EOF");
        if (strstr(line, want) != NULL)
            return;
        for (int i = 0; never[i] != NULL; i++)
            ck_assert_msg(strstr(line, never[i]) == NULL,
                          "unexpected \"%s\"", line);
    }
}

/* Publish payload on the cluster's channel, as anyone with Redis could. */
void
publish(const char *payload)
{
    const char *argv[] = { "PUBLISH", "chatd", payload };

    ck_assert_int_eq(hredis_cmd(rds.port, 3, argv), 0);
}

/*
 * A suite's main(): find redis-server, run the suite (its redis TCases
 * only with one), and exit 77 (skip) without one, unless
 * CHATD_REQUIRE_REDIS is set, which makes a missing one a failure.
 */
int
hcluster_main(const char *prog, Suite *(*suite)(int with_redis))
{
    int with_redis;

    signal(SIGPIPE, SIG_IGN);
    redis_bin = hredis_find();
#ifndef HAVE_CLUSTER
    fprintf(stderr, "%s: built --without-cluster\n", prog);
    redis_bin = NULL;
#endif
    with_redis = redis_bin != NULL;
    if (!with_redis && getenv("CHATD_REQUIRE_REDIS")) {
        fprintf(stderr, "%s: redis-server not found and "
                "CHATD_REQUIRE_REDIS is set\n", prog);
        return EXIT_FAILURE;
    }
    if (h_run_suite(suite(with_redis)) != EXIT_SUCCESS)
        return EXIT_FAILURE;
    if (!with_redis) {
        fprintf(stderr, "%s: %s: cluster tests skipped\n", prog,
#ifdef HAVE_CLUSTER
                "redis-server not found"
#else
                "chatd built --without-cluster"
#endif
                );
        return 77;
    }
    return EXIT_SUCCESS;
}
