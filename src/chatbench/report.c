/*
 * report.c: the end of a chatbench run on stdout: the human-readable
 * summary, then the machine-readable "chatbench: k=v ..." line.  Called
 * from main() in the only thread, after the run.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include "bench.h"

/* Latency percentile in microseconds. */
static double
pct_us(const struct hist *h, double p)
{
    return (double)hist_percentile(h, p) / 1000.0;
}

/* The send phase of the summary: load, sent, delivered, rates, latency. */
static void
report_sending(const struct bench_conf *c, const struct bench_result *r)
{
    double s = r->run_s > 0 ? r->run_s : 1e-9;

    if (c->rate > 0)
        printf("  load        %.0f msg/s for %.1f s, no window\n",
               c->rate, c->duration);
    else if (c->timed)
        printf("  load        flat out for %.1f s, window %ld%s\n",
               c->duration, c->window, c->window ? "" : " (open loop)");
    else
        printf("  load        %ld per sender, window %ld%s\n",
               c->messages, c->window, c->window ? "" : " (open loop)");
    printf("  sent        %llu of %llu (stopped: %s)\n",
           (unsigned long long)r->sent, (unsigned long long)r->planned,
           r->stop);
    printf("  delivered   %llu of %llu: lost %llu, in flight %llu, "
           "duplicated %llu, reordered %llu, corrupt %llu",
           (unsigned long long)r->delivered,
           (unsigned long long)r->expected, (unsigned long long)r->lost,
           (unsigned long long)r->pending, (unsigned long long)r->dup,
           (unsigned long long)r->reordered, (unsigned long long)r->corrupt);
    if (c->rooms > 0 || r->misrouted > 0)
        printf(", misrouted %llu", (unsigned long long)r->misrouted);
    putchar('\n');
    if (r->pending > 0)
        printf("              (in flight: not in when the run was cut "
               "short, so not counted as lost)\n");
    printf("  throughput  %.0f deliveries/s, %.2f MB/s over %.3f s\n",
           (double)r->delivered / s,
           (double)r->delivered * (double)c->size / s / 1e6, r->run_s);
    printf("  latency     p50 %.1f us, p90 %.1f us, p99 %.1f us, "
           "p99.9 %.1f us, max %.1f us\n", pct_us(&r->lat, 50),
           pct_us(&r->lat, 90), pct_us(&r->lat, 99),
           pct_us(&r->lat, 99.9), (double)r->lat.max / 1000.0);
}

/* The server's part of the summary (--server-pid): CPU, RSS, syscalls. */
static void
report_server(const struct bench_conf *c, const struct bench_result *r)
{
    const struct procstat *a = &r->ps_start, *b = &r->ps_end;

    if (c->senders == 0)
        a = &r->ps_before;
    if (b->have_cpu && a->have_cpu)
        printf("  server      %.2f s CPU", b->cpu_s - a->cpu_s);
    else
        printf("  server      CPU n/a");
    if (b->have_rss)
        printf(", RSS %ld kB (before connecting %ld kB)", b->rss_kb,
               r->ps_before.rss_kb);
    if (b->have_io && a->have_io)
        printf(", %llu reads, %llu writes",
               (unsigned long long)(b->syscr - a->syscr),
               (unsigned long long)(b->syscw - a->syscw));
    putchar('\n');
}

/* The human-readable summary, on stdout. */
void
report_human(const struct bench_conf *c, const struct bench_result *r)
{
    const char *proto = c->ws ? "ws" : c->proto == BENCH_CHAT ? "chat" :
                        "redis";

    printf("%s %s:%s: %ld client%s, %ld sender%s, %ld-byte payloads",
           proto, c->host, c->port, c->clients, c->clients == 1 ? "" : "s",
           c->senders, c->senders == 1 ? "" : "s", c->size);
    if (c->rooms > 0)
        printf(", %ld room%s", c->rooms, c->rooms == 1 ? "" : "s");
    printf("\n  connected   %llu connections in %.2f s%s (quiet after "
           "%.2f s)\n", (unsigned long long)r->connected, r->connect_s,
           c->rooms > 0 ? ", joined" : "", r->quiet_s);
    if (c->senders > 0 && r->started)
        report_sending(c, r);
    if (r->hint != NULL)
        printf("  note        %s\n", r->hint);
    if (r->disconnects || r->server_errors)
        printf("  trouble     %llu disconnects, %llu server errors\n",
               (unsigned long long)r->disconnects,
               (unsigned long long)r->server_errors);
    if (c->server_pid > 0)
        report_server(c, r);
}

/* The machine-readable line, last on stdout: "chatbench: k=v ...". */
void
report_line(const struct bench_conf *c, const struct bench_result *r)
{
    const struct procstat *a = &r->ps_start, *b = &r->ps_end;
    double s = r->run_s > 0 ? r->run_s : 1e-9;

    printf("chatbench: proto=%s clients=%ld senders=%ld rooms=%ld size=%ld",
           c->ws ? "ws" : c->proto == BENCH_CHAT ? "chat" : "redis",
           c->clients,
           c->senders, c->rooms, c->size);
    printf(" connected=%llu connect_s=%.3f quiet_s=%.3f",
           (unsigned long long)r->connected, r->connect_s, r->quiet_s);
    if (c->senders > 0) {
        printf(" planned=%llu", (unsigned long long)r->planned);
        printf(" sent=%llu expected=%llu delivered=%llu lost=%llu "
               "pending=%llu dup=%llu reordered=%llu corrupt=%llu "
               "misrouted=%llu disconnects=%llu",
               (unsigned long long)r->sent, (unsigned long long)r->expected,
               (unsigned long long)r->delivered, (unsigned long long)r->lost,
               (unsigned long long)r->pending, (unsigned long long)r->dup,
               (unsigned long long)r->reordered,
               (unsigned long long)r->corrupt,
               (unsigned long long)r->misrouted,
               (unsigned long long)r->disconnects);
        printf(" elapsed_s=%.3f deliveries_per_s=%.0f mb_per_s=%.2f",
               r->run_s,
               (double)r->delivered / s,
               (double)r->delivered * (double)c->size / s / 1e6);
        printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
               "max_us=%.1f", pct_us(&r->lat, 50), pct_us(&r->lat, 90),
               pct_us(&r->lat, 99), pct_us(&r->lat, 99.9),
               (double)r->lat.max / 1000.0);
    }
    if (c->server_pid > 0) {
        if (c->senders == 0)
            a = &r->ps_before;
        if (a->have_cpu && b->have_cpu)
            printf(" server_cpu_s=%.2f", b->cpu_s - a->cpu_s);
        if (b->have_rss)
            printf(" server_rss_kb=%ld", b->rss_kb);
        if (c->senders == 0 && b->have_rss && r->ps_before.have_rss)
            printf(" server_rss_before_kb=%ld rss_per_conn_b=%.0f",
                   r->ps_before.rss_kb,
                   (double)(b->rss_kb - r->ps_before.rss_kb) * 1024.0 /
                   (double)c->clients);
        if (c->senders > 0 && a->have_io && b->have_io) {
            printf(" server_syscr=%llu server_syscw=%llu",
                   (unsigned long long)(b->syscr - a->syscr),
                   (unsigned long long)(b->syscw - a->syscw));
            printf(" writes_per_msg=%.4f", r->delivered == 0 ? 0.0 :
                   (double)(b->syscw - a->syscw) / (double)r->delivered);
        }
    }
    printf(" stop=\"%s\"\n", r->stop);
}
