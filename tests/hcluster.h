/*
 * hcluster.h: a cluster for the cluster tests (check_cluster,
 * check_cluster_fail): a throwaway redis-server (hredis.c) and up to
 * NODES_MAX real chatd nodes joined through it, started by an unchecked
 * fixture in the parent process and stopped by PID; clients of the nodes
 * in the forked tests, on the test's thread.  Each read leaves the line
 * in line.  hcluster_main() is both suites' main().
 */
#ifndef CHATD_HCLUSTER_H
#define CHATD_HCLUSTER_H

#include <check.h>

#include "harness.h"
#include "hredis.h"

#define T H_TIMEOUT_MS
#define NODES_MAX 3
#define TIMEOUT_ARG "3"         /* --cluster-timeout for the tests */

extern char line[70000];
extern const char *redis_bin;
extern struct hredis rds;
extern struct hserver node[NODES_MAX];
extern int nnodes;
extern const char *const *node_args;   /* more options for every node */

void node_start(int i);
void cluster_up(int n);
void cluster_down(void);
void up2(void);
void up3(void);
struct hconn *join_at(int i, const char *nick);
void expect(struct hconn *c, const char *want);
void expect_not_before(struct hconn *c, const char *const *never,
                       const char *want);
void publish(const char *payload);
int  hcluster_main(const char *prog, Suite *(*suite)(int with_redis));

#endif
