/*
 * chatbench.c: main(): options, limits and the report of a chatbench run.
 * The event loop is in loop.c.  chatbench has one thread, which owns all
 * of its data.
 *
 * Exit status: 0 when nothing was lost, duplicated or corrupted (and, in
 * the idle mode, every client connected), 1 otherwise or on a run error,
 * 2 on bad usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "payload.h"

#define CLIENTS_MAX 1000000
#define TRACK_MAX_BYTES (4ull << 30)    /* delivery records, at most */
#define FD_SPARE 16

static const char *progname = "chatbench";

static void
usage(FILE *f)
{
    fprintf(f,
"Usage: %s [OPTION]...\n"
"Load generator for chatd (protocol v1) and Redis pub/sub: throughput,\n"
"latency, loss.  See chatbench(1).\n\n"
"Options:\n"
"  -H, --host HOST        server address (default 127.0.0.1)\n"
"  -p, --port PORT[,...]  server port (default 7777); with several, the\n"
"                         clients are spread over them in turn\n"
"      --protocol P       chat (default) or redis\n"
"  -c, --clients N        receiving clients (default 10)\n"
"  -s, --senders S        clients that also send (default 1; 0: idle mode)\n"
"  -b, --size B           payload bytes, %d..%d (default 64)\n"
"  -m, --messages M       messages per sender (default 1000)\n"
"  -w, --window W         in flight per sender, 0 for none (default 64)\n"
"  -r, --rate R           send R messages/s in total instead of -m\n"
"  -D, --duration SECS    with -r: how long to send (default 10)\n"
"      --server-pid PID   report the server's CPU, RSS and syscalls\n"
"      --drain-ms MS      stop after MS ms without progress (default 2000)\n"
"      --channel NAME     redis channel (default chatbench)\n"
"  -T, --timeout SECS     hard limit for the whole run (default 120)\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n",
            progname, PAYLOAD_MIN, PAYLOAD_MAX);
}

/* Complain about the command line and exit 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", progname);
    exit(2);
}

/* Parse a whole number in [min, max] for option opt, or exit 2. */
static long
parse_long(const char *opt, const char *arg, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
        bad_usage("%s: '%s' is not a whole number from %ld to %ld", opt,
                  arg, min, max);
    return v;
}

/*
 * Check -p's PORT[,PORT...] (clients are spread over the ports in turn,
 * for the nodes of a cluster), or exit 2.
 */
static void
parse_ports(const char *arg)
{
    char buf[256], *p, *save = NULL;
    int n = 0;

    if (arg[0] == '\0')
        bad_usage("-p/--port: '' is not a whole number from 1 to 65535");
    if (strlen(arg) >= sizeof(buf))
        bad_usage("-p/--port: '%s' is too long", arg);
    snprintf(buf, sizeof(buf), "%s", arg);
    if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
        bad_usage("-p/--port: '%s' has an empty port", arg);
    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        parse_long("-p/--port", p, 1, 65535);
        if (++n > BENCH_PORTS_MAX)
            bad_usage("-p/--port: at most %d ports", BENCH_PORTS_MAX);
    }
}

/* Parse a number greater than 0 and at most max for opt, or exit 2. */
static double
parse_positive(const char *opt, const char *arg, double max)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !isfinite(v) ||
        v <= 0 || v > max)
        bad_usage("%s: '%s' is not a number greater than 0 and at most %g",
                  opt, arg, max);
    return v;
}

enum {
    OPT_PROTOCOL = 256, OPT_SERVER_PID, OPT_DRAIN_MS, OPT_CHANNEL
};

/* Parse argv into c; exits 2 on any bad option or combination. */
static void
parse_args(int argc, char **argv, struct bench_conf *c)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "protocol", required_argument, NULL, OPT_PROTOCOL },
        { "clients", required_argument, NULL, 'c' },
        { "senders", required_argument, NULL, 's' },
        { "size", required_argument, NULL, 'b' },
        { "messages", required_argument, NULL, 'm' },
        { "window", required_argument, NULL, 'w' },
        { "rate", required_argument, NULL, 'r' },
        { "duration", required_argument, NULL, 'D' },
        { "server-pid", required_argument, NULL, OPT_SERVER_PID },
        { "drain-ms", required_argument, NULL, OPT_DRAIN_MS },
        { "channel", required_argument, NULL, OPT_CHANNEL },
        { "timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int ch, have_m = 0, have_w = 0, have_d = 0;

    while ((ch = getopt_long(argc, argv, "+H:p:c:s:b:m:w:r:D:T:hV", opts,
                             NULL)) != -1) {
        switch (ch) {
        case 'H':
            if (*optarg == '\0')
                bad_usage("-H/--host: empty host name");
            c->host = optarg;
            break;
        case 'p':
            parse_ports(optarg);
            c->port = optarg;
            break;
        case OPT_PROTOCOL:
            if (strcmp(optarg, "chat") == 0)
                c->proto = BENCH_CHAT;
            else if (strcmp(optarg, "redis") == 0)
                c->proto = BENCH_REDIS;
            else
                bad_usage("--protocol: '%s' is not chat or redis", optarg);
            break;
        case 'c':
            c->clients = parse_long("-c/--clients", optarg, 1, CLIENTS_MAX);
            break;
        case 's':
            c->senders = parse_long("-s/--senders", optarg, 0, CLIENTS_MAX);
            break;
        case 'b':
            c->size = parse_long("-b/--size", optarg, PAYLOAD_MIN,
                                 PAYLOAD_MAX);
            break;
        case 'm':
            c->messages = parse_long("-m/--messages", optarg, 1,
                                     1000000000);
            have_m = 1;
            break;
        case 'w':
            c->window = parse_long("-w/--window", optarg, 0, 1000000000);
            have_w = 1;
            break;
        case 'r':
            c->rate = parse_positive("-r/--rate", optarg, 1e9);
            break;
        case 'D':
            c->duration = parse_positive("-D/--duration", optarg, 86400);
            have_d = 1;
            break;
        case OPT_SERVER_PID:
            c->server_pid = (pid_t)parse_long("--server-pid", optarg, 1,
                                              INT_MAX);
            if (!procstat_exists(c->server_pid))
                bad_usage("--server-pid: no process %s to watch in /proc",
                          optarg);
            break;
        case OPT_DRAIN_MS:
            c->drain_ms = parse_long("--drain-ms", optarg, 1, 3600000);
            break;
        case OPT_CHANNEL:
            if (*optarg == '\0' || strlen(optarg) > 128 ||
                strpbrk(optarg, " \r\n") != NULL)
                bad_usage("--channel: '%s' is not a usable channel name",
                          optarg);
            c->channel = optarg;
            break;
        case 'T':
            c->timeout_s = parse_positive("-T/--timeout", optarg, 86400);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("chatbench (%s)\n", PACKAGE_STRING);
            exit(0);
        default:
            /* getopt_long has named the option */
            fprintf(stderr, "Try '%s --help' for more information.\n",
                    progname);
            exit(2);
        }
    }
    if (optind < argc)
        bad_usage("unexpected argument '%s'", argv[optind]);
    if (c->rate > 0 && (have_m || have_w))
        bad_usage("-r/--rate sends at a fixed rate: it does not go with "
                  "%s", have_m ? "-m/--messages" : "-w/--window");
    if (have_d && c->rate == 0)
        bad_usage("-D/--duration needs -r/--rate");
    if (c->senders > c->clients)
        bad_usage("-s/--senders: %ld senders but only %ld clients (-c)",
                  c->senders, c->clients);
    if (c->proto == BENCH_CHAT && c->senders > 0 && c->clients < 2)
        bad_usage("-c/--clients: chat needs at least 2 clients, since a "
                  "sender does not receive its own messages");
    if (c->rate > 0) {
        if (c->senders == 0)
            bad_usage("-r/--rate needs at least one sender (-s)");
        if (c->rate * c->duration / (double)c->senders > 1e9)
            bad_usage("-r/--rate, -D/--duration: too many messages");
        if (c->rate * c->duration < 1)
            bad_usage("-r/--rate, -D/--duration: less than one message");
    }
}

/*
 * Check that the delivery records fit in memory (one bit per receiver,
 * sender and message) and that the descriptor limit, raised to its hard
 * maximum, covers every connection.  Exits 2 or 1 when not.
 */
static void
check_limits(const struct bench_conf *c)
{
    double planned = c->rate > 0 ? c->rate * c->duration + 1 :
        (double)c->messages * (double)c->senders;
    double per = c->senders > 0 ? planned / (double)c->senders + 1 : 0;
    double bytes = (double)c->clients * (double)c->senders *
        (16.0 + 8.0 * (per / 64.0 + 1));
    long need = c->clients + (c->proto == BENCH_REDIS ? c->senders : 0) +
        FD_SPARE;
    struct rlimit rl;

    if (bytes > (double)TRACK_MAX_BYTES)
        bad_usage("-c/-s/-m: tracking every delivery would take %.0f MiB "
                  "(limit %llu MiB); use fewer clients, senders or "
                  "messages", bytes / 1048576.0, TRACK_MAX_BYTES >> 20);
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        perror("chatbench: getrlimit");
        exit(1);
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            perror("chatbench: setrlimit(RLIMIT_NOFILE)");
        else if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
            perror("chatbench: getrlimit");
            exit(1);
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)need > rl.rlim_cur) {
        fprintf(stderr, "%s: %ld connections need %ld descriptors, but the "
                "limit is %llu (see ulimit -n)\n", progname,
                need - FD_SPARE, need, (unsigned long long)rl.rlim_cur);
        exit(1);
    }
}

/* Latency percentile in microseconds. */
static double
pct_us(const struct hist *h, double p)
{
    return (double)hist_percentile(h, p) / 1000.0;
}

/* The human-readable summary, on stdout. */
static void
report_human(const struct bench_conf *c, const struct bench_result *r)
{
    const char *proto = c->proto == BENCH_CHAT ? "chat" : "redis";
    uint64_t lost = r->expected > r->delivered ? r->expected - r->delivered
        : 0;

    printf("%s %s:%s: %ld client%s, %ld sender%s, %ld-byte payloads\n",
           proto, c->host, c->port, c->clients, c->clients == 1 ? "" : "s",
           c->senders, c->senders == 1 ? "" : "s", c->size);
    printf("  connected   %llu connections in %.2f s\n",
           (unsigned long long)r->connected, r->connect_s);
    if (c->senders > 0 && r->started) {
        double s = r->run_s > 0 ? r->run_s : 1e-9;
        if (c->rate > 0)
            printf("  load        %.0f msg/s for %.1f s, no window\n",
                   c->rate, c->duration);
        else
            printf("  load        %ld per sender, window %ld%s\n",
                   c->messages, c->window, c->window ? "" : " (open loop)");
        printf("  sent        %llu of %llu (stopped: %s)\n",
               (unsigned long long)r->sent, (unsigned long long)r->planned,
               r->stop);
        printf("  delivered   %llu of %llu: lost %llu, duplicated %llu, "
               "reordered %llu, corrupt %llu\n",
               (unsigned long long)r->delivered,
               (unsigned long long)r->expected, (unsigned long long)lost,
               (unsigned long long)r->dup, (unsigned long long)r->reordered,
               (unsigned long long)r->corrupt);
        printf("  throughput  %.0f msg/s, %.2f MB/s over %.3f s\n",
               (double)r->delivered / s,
               (double)r->delivered * (double)c->size / s / 1e6, r->run_s);
        printf("  latency     p50 %.1f us, p90 %.1f us, p99 %.1f us, "
               "p99.9 %.1f us, max %.1f us\n", pct_us(&r->lat, 50),
               pct_us(&r->lat, 90), pct_us(&r->lat, 99),
               pct_us(&r->lat, 99.9), (double)r->lat.max / 1000.0);
    }
    if (r->disconnects || r->server_errors)
        printf("  trouble     %llu disconnects, %llu server errors\n",
               (unsigned long long)r->disconnects,
               (unsigned long long)r->server_errors);
    if (c->server_pid > 0) {
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
}

/* The machine-readable line, last on stdout: "chatbench: k=v ...". */
static void
report_line(const struct bench_conf *c, const struct bench_result *r)
{
    const struct procstat *a = &r->ps_start, *b = &r->ps_end;
    uint64_t lost = r->expected > r->delivered ? r->expected - r->delivered
        : 0;
    double s = r->run_s > 0 ? r->run_s : 1e-9;

    printf("chatbench: proto=%s clients=%ld senders=%ld size=%ld",
           c->proto == BENCH_CHAT ? "chat" : "redis", c->clients,
           c->senders, c->size);
    printf(" connected=%llu connect_s=%.3f", (unsigned long long)r->connected,
           r->connect_s);
    if (c->senders > 0) {
        printf(" planned=%llu", (unsigned long long)r->planned);
        printf(" sent=%llu expected=%llu delivered=%llu lost=%llu dup=%llu "
               "reordered=%llu corrupt=%llu disconnects=%llu",
               (unsigned long long)r->sent, (unsigned long long)r->expected,
               (unsigned long long)r->delivered, (unsigned long long)lost,
               (unsigned long long)r->dup, (unsigned long long)r->reordered,
               (unsigned long long)r->corrupt,
               (unsigned long long)r->disconnects);
        printf(" elapsed_s=%.3f msgs_per_s=%.0f mb_per_s=%.2f", r->run_s,
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

int
main(int argc, char **argv)
{
    struct bench_conf c = {
        .proto = BENCH_CHAT, .host = "127.0.0.1", .port = "7777",
        .channel = "chatbench", .clients = 10, .senders = 1, .size = 64,
        .messages = 1000, .window = 64, .rate = 0, .duration = 10,
        .drain_ms = 2000, .timeout_s = 120
    };
    static struct bench_result r;      /* large: the histogram */
    int failed;

    parse_args(argc, argv, &c);
    check_limits(&c);
    c.progress = isatty(STDERR_FILENO);
    failed = bench_run(&c, &r) < 0;
    report_human(&c, &r);
    report_line(&c, &r);
    if (fflush(stdout) != 0) {
        perror("chatbench: stdout");
        return 1;
    }
    if (failed || r.connected < (uint64_t)c.clients)
        return 1;
    if (c.senders > 0 && (r.sent < r.planned || r.delivered < r.expected ||
                          r.dup > 0 || r.corrupt > 0))
        return 1;
    return 0;
}
