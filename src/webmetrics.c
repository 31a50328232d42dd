/*
 * webmetrics.c: the text of GET /metrics, in Prometheus's text
 * exposition format (HELP and TYPE before each family).  Called by the
 * web thread; it only reads counters (relaxed atomics, and the hub's and
 * cluster's counts, each copied under its lock and formatted after), so
 * nobody waits while it formats.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "history.h"
#include "hub.h"
#include "transport.h"
#include "webmetrics.h"
#include "worker.h"
#include "xmalloc.h"

#define METRICS_WORKERS 256

struct mbuf {
    char   *p;
    size_t  len, cap;
};

__attribute__((format(printf, 2, 3)))
static void
put(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len)
            break;
        b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0);
        b->p = xrealloc(b->p, b->cap);
    }
    b->len += (size_t)n;
}

/* HELP and TYPE of a family. */
static void
family(struct mbuf *b, const char *name, const char *type,
       const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
one(struct mbuf *b, const char *name, const char *type, const char *help,
    unsigned long v)
{
    family(b, name, type, help);
    put(b, "%s %lu\n", name, v);
}

static void
workers(struct mbuf *b, const struct worker_totals *t)
{
    static const char *const kinds[TPORT_KINDS] = {
        [TPORT_TCP] = "tcp", [TPORT_TLS] = "tls", [TPORT_WS] = "ws",
        [TPORT_WSS] = "wss",
    };
    long loads[METRICS_WORKERS];
    int n = worker_pool_loads(loads, METRICS_WORKERS);

    family(b, "chatd_clients", "gauge",
           "Clients connected now, by transport.");
    for (int k = 0; k < TPORT_KINDS; k++)
        put(b, "chatd_clients{transport=\"%s\"} %ld\n", kinds[k],
            t->clients[k] > 0 ? t->clients[k] : 0);
    family(b, "chatd_worker_clients", "gauge",
           "Clients each worker thread serves now.");
    for (int i = 0; i < n && i < METRICS_WORKERS; i++)
        put(b, "chatd_worker_clients{worker=\"%d\"} %ld\n", i, loads[i]);
}

static void
cluster(struct mbuf *b)
{
    struct cluster_metrics m;

    cluster_metrics(&m);
    one(b, "chatd_cluster_enabled", "gauge",
        "1 if this node is part of a cluster.", (unsigned long)m.enabled);
    if (!m.enabled)
        return;
    one(b, "chatd_cluster_link_up", "gauge",
        "1 while the link to the cluster's Redis is up.",
        (unsigned long)m.link_up);
    one(b, "chatd_cluster_nodes", "gauge",
        "Nodes of the cluster seen, this one included.", m.nodes);
    one(b, "chatd_cluster_messages_out_total", "counter",
        "Messages sent to the other nodes.", m.relay_out);
    one(b, "chatd_cluster_messages_in_total", "counter",
        "Messages received from the other nodes.", m.relay_in);
    one(b, "chatd_cluster_gaps_total", "counter",
        "Gaps seen in other nodes' sequences.", m.gaps);
    one(b, "chatd_cluster_dropped_total", "counter",
        "Messages dropped: the outgoing queue was full.", m.dropped);
    one(b, "chatd_cluster_reconnects_total", "counter",
        "Times the link to Redis was made again.", m.reconnects);
}

/* The whole text, malloc'd (*len bytes); web_conns is the web thread's
 * connections now. */
char *
webmetrics_text(size_t *len, size_t web_conns)
{
    struct mbuf b = { xmalloc(4096), 0, 4096 };
    struct worker_totals t;

    worker_pool_totals(&t);
    workers(&b, &t);
    one(&b, "chatd_users", "gauge", "Users in the hub (this node's).",
        hub_count());
    one(&b, "chatd_rooms", "gauge", "Rooms that exist now.", hub_rooms());
    one(&b, "chatd_connections_total", "counter",
        "Clients accepted since start.", t.connections);
    one(&b, "chatd_lines_in_total", "counter",
        "Lines received from clients.", t.lines_in);
    one(&b, "chatd_lines_out_total", "counter",
        "Lines delivered to clients.", t.lines_out);
    one(&b, "chatd_bytes_in_total", "counter",
        "Bytes received from clients.", t.bytes_in);
    one(&b, "chatd_bytes_out_total", "counter",
        "Bytes sent to clients.", t.bytes_out);
    one(&b, "chatd_slow_clients_cut_total", "counter",
        "Clients cut off for falling behind (sendq).", t.slow);
    one(&b, "chatd_history_stored_total", "counter",
        "Room lines written to the history store.",
        (unsigned long)history_stored());
    one(&b, "chatd_history_dropped_total", "counter",
        "Room lines not stored: the history store was behind or failed.",
        (unsigned long)history_dropped());
    one(&b, "chatd_web_connections", "gauge",
        "HTTP connections not upgraded (yet).", web_conns);
    cluster(&b);
    *len = b.len;
    return b.p;
}
