/*
 * cluster_none.c: the cluster API when chatd is built without hiredis
 * (configure --without-cluster): --cluster is refused with a clear error,
 * everything else says "no cluster".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cluster.h"

int
cluster_check_conf(const struct cluster_conf *conf, char *err,
                   size_t errlen)
{
    snprintf(err, errlen, "cluster: this chatd was built without cluster "
             "support (configure --without-cluster); rebuild it with "
             "hiredis to use --cluster");
    return -1;
}

int
cluster_start(const struct cluster_conf *conf, char *err, size_t errlen)
{
    return 0;
}


void cluster_run(void) { }
void cluster_stop(void) { }
int cluster_enabled(void) { return 0; }
int cluster_link_up(void) { return 0; }
void cluster_told_down(void) { }

int
cluster_claim(const char *nick, uint64_t client, int worker)
{
    return -1;
}

void cluster_release(const char *nick) { }

int
cluster_lookup(const char *nick, char *real, char *node, size_t nodelen)
{
    return -1;
}

int
cluster_private(const char *from, const char *to, const char *node,
                const char *text)
{
    return -1;
}

size_t cluster_remote_count(void) { return 0; }

int
cluster_who_page(size_t *node, size_t *pos, size_t max,
                 void (*add)(void *arg, const char *nick), void *arg)
{
    return 0;
}

void
cluster_stats(char *buf, size_t len)
{
    snprintf(buf, len, "cluster=off");
}

void
cluster_metrics(struct cluster_metrics *m)
{
    memset(m, 0, sizeof(*m));
}
