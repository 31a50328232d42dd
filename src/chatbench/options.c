/*
 * options.c: chatbench's command line: --help, each option's value, how
 * they combine, and whether the machine can hold the run (memory for the
 * delivery records, descriptors).  Called from main() in the only thread,
 * before the run.  Usage errors exit 2.
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

#include "bench.h"
#include "payload.h"

#define CLIENTS_MAX 1000000
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
"      --protocol P       chat (default), ws (chat over WebSocket, to\n"
"                         chatd's web-port) or redis\n"
"  -c, --clients N        receiving clients (default 10)\n"
"  -s, --senders S        clients that also send (default 1; 0: idle mode)\n"
"      --rooms R          spread the clients over R rooms, #cb0..#cbR-1\n"
"                         (client i joins room i mod R; a sender speaks\n"
"                         in its room); 0: the default room (default)\n"
"  -b, --size B           payload bytes, %d..%d (default 64)\n"
"  -m, --messages M       messages per sender (default 1000)\n"
"  -w, --window W         in flight per sender, 0 for none (default 64)\n"
"  -D, --duration SECS    send flat out for SECS seconds instead of -m\n"
"  -r, --rate R           send R messages/s in total instead of -m, for\n"
"                         -D SECS (default 10)\n"
"      --server-pid PID   report the server's CPU, RSS and syscalls\n"
"      --drain-ms MS      once all is sent, stop after MS ms without a\n"
"                         delivery (default 2000)\n"
"      --channel NAME     redis channel (default chatbench)\n"
"      --tls              connect over TLS (default port 7443), checking\n"
"                         the certificate against the system's CAs\n"
"      --ca FILE          ... against the CA in FILE (implies --tls)\n"
"      --insecure         TLS without a certificate check\n"
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
    OPT_PROTOCOL = 256, OPT_SERVER_PID, OPT_DRAIN_MS, OPT_CHANNEL,
    OPT_ROOMS, OPT_TLS, OPT_CA, OPT_INSECURE
};

/* Which of the options that exclude each other were given. */
struct seen {
    int m, w, d;
};

/*
 * Phase 1a: an option that says where and how to connect (-H, -p,
 * --protocol, --channel, --tls, --ca, --insecure, --server-pid).  Returns 1 if ch was one of them,
 * 0 if not; exits 2 on a bad value.
 */
static int
parse_server_option(int ch, const char *arg, struct bench_conf *c)
{
    switch (ch) {
    case 'H':
        if (*arg == '\0')
            bad_usage("-H/--host: empty host name");
        c->host = arg;
        return 1;
    case 'p':
        parse_ports(arg);
        c->port = arg;
        return 1;
    case OPT_PROTOCOL:
        c->ws = 0;
        if (strcmp(arg, "chat") == 0)
            c->proto = BENCH_CHAT;
        else if (strcmp(arg, "ws") == 0) {
            c->proto = BENCH_CHAT;
            c->ws = 1;
        } else if (strcmp(arg, "redis") == 0)
            c->proto = BENCH_REDIS;
        else
            bad_usage("--protocol: '%s' is not chat, ws or redis", arg);
        return 1;
    case OPT_CHANNEL:
        if (*arg == '\0' || strlen(arg) > 128 ||
            strpbrk(arg, " \r\n") != NULL)
            bad_usage("--channel: '%s' is not a usable channel name", arg);
        c->channel = arg;
        return 1;
    case OPT_TLS:
        c->tls = 1;
        return 1;
    case OPT_CA:
        c->tls = 1;
        c->ca = arg;
        return 1;
    case OPT_INSECURE:
        c->tls = 1;
        c->insecure = 1;
        return 1;
    case OPT_SERVER_PID:
        c->server_pid = (pid_t)parse_long("--server-pid", arg, 1, INT_MAX);
        if (!procstat_exists(c->server_pid))
            bad_usage("--server-pid: no process %s to watch in /proc", arg);
        return 1;
    }
    return 0;
}

/*
 * Phase 1b: an option that shapes the load or the run (-c, -s, --rooms,
 * -b, -m, -w, -r, -D, --drain-ms, -T), noting in seen the ones that exclude
 * others.  Returns 1 if ch was one of them, 0 if not; exits 2 on a bad
 * value.
 */
static int
parse_load_option(int ch, const char *arg, struct bench_conf *c,
                  struct seen *seen)
{
    switch (ch) {
    case 'c':
        c->clients = parse_long("-c/--clients", arg, 1, CLIENTS_MAX);
        return 1;
    case 's':
        c->senders = parse_long("-s/--senders", arg, 0, CLIENTS_MAX);
        return 1;
    case OPT_ROOMS:
        c->rooms = parse_long("--rooms", arg, 0, ROOMS_MAX);
        return 1;
    case 'b':
        c->size = parse_long("-b/--size", arg, PAYLOAD_MIN, PAYLOAD_MAX);
        return 1;
    case 'm':
        c->messages = parse_long("-m/--messages", arg, 1, 1000000000);
        seen->m = 1;
        return 1;
    case 'w':
        c->window = parse_long("-w/--window", arg, 0, 1000000000);
        seen->w = 1;
        return 1;
    case 'r':
        c->rate = parse_positive("-r/--rate", arg, 1e9);
        return 1;
    case 'D':
        c->duration = parse_positive("-D/--duration", arg, 86400);
        seen->d = 1;
        return 1;
    case OPT_DRAIN_MS:
        c->drain_ms = parse_long("--drain-ms", arg, 1, 3600000);
        return 1;
    case 'T':
        c->timeout_s = parse_positive("-T/--timeout", arg, 86400);
        return 1;
    }
    return 0;
}

/*
 * Phase 2, rooms: at most one room per client, and with chat every room
 * that has a sender needs another member to receive it.  Room r has
 * clients / R members, one more if r < clients % R; the senders are in
 * rooms 0..min(S, R)-1, the last of which is the smallest.
 */
static void
check_rooms(const struct bench_conf *c)
{
    long last, members;

    if (c->rooms == 0)
        return;
    if (c->rooms > c->clients)
        bad_usage("--rooms: %ld rooms but only %ld clients (-c): every "
                  "room needs a member", c->rooms, c->clients);
    if (c->proto != BENCH_CHAT || c->senders == 0)
        return;
    last = (c->senders < c->rooms ? c->senders : c->rooms) - 1;
    members = c->clients / c->rooms + (last < c->clients % c->rooms);
    if (members < 2)
        bad_usage("--rooms: room #cb%ld would have a sender and no one "
                  "to receive it (%ld clients in %ld rooms); use fewer "
                  "rooms or more clients", last, c->clients, c->rooms);
}

/*
 * Phase 2: the options must make one run: no two that exclude each
 * other, enough clients for the senders.  Exits 2 when not.
 */
static void
check_combination(const struct bench_conf *c, const struct seen *seen)
{
    if (c->rate > 0 && (seen->m || seen->w))
        bad_usage("-r/--rate sends at a fixed rate: it does not go with "
                  "%s", seen->m ? "-m/--messages" : "-w/--window");
    if (seen->d && seen->m)
        bad_usage("-D/--duration sends for a time: it does not go with "
                  "-m/--messages");
    if (seen->d && c->rate == 0 && c->senders == 0)
        bad_usage("-D/--duration needs at least one sender (-s)");
    if (c->senders > c->clients)
        bad_usage("-s/--senders: %ld senders but only %ld clients (-c)",
                  c->senders, c->clients);
    if (c->proto == BENCH_CHAT && c->senders > 0 && c->clients < 2)
        bad_usage("-c/--clients: chat needs at least 2 clients, since a "
                  "sender does not receive its own messages");
    check_rooms(c);
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
 * Parse argv into c: each option (phase 1), then how they combine (phase
 * 2).  -h and -V print and exit 0; anything wrong exits 2.
 */
void
options_parse(int argc, char **argv, struct bench_conf *c)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "protocol", required_argument, NULL, OPT_PROTOCOL },
        { "clients", required_argument, NULL, 'c' },
        { "senders", required_argument, NULL, 's' },
        { "rooms", required_argument, NULL, OPT_ROOMS },
        { "size", required_argument, NULL, 'b' },
        { "messages", required_argument, NULL, 'm' },
        { "window", required_argument, NULL, 'w' },
        { "rate", required_argument, NULL, 'r' },
        { "duration", required_argument, NULL, 'D' },
        { "server-pid", required_argument, NULL, OPT_SERVER_PID },
        { "drain-ms", required_argument, NULL, OPT_DRAIN_MS },
        { "channel", required_argument, NULL, OPT_CHANNEL },
        { "tls", no_argument, NULL, OPT_TLS },
        { "ca", required_argument, NULL, OPT_CA },
        { "insecure", no_argument, NULL, OPT_INSECURE },
        { "timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    struct seen seen = { 0, 0, 0 };
    int ch, port_given = 0;

    while ((ch = getopt_long(argc, argv, "+H:p:c:s:b:m:w:r:D:T:hV", opts,
                             NULL)) != -1) {
        port_given |= ch == 'p';
        if (parse_server_option(ch, optarg, c) ||
            parse_load_option(ch, optarg, c, &seen))
            continue;
        if (ch == 'h') {
            usage(stdout);
            exit(0);
        }
        if (ch == 'V') {
            printf("chatbench (%s)\n", PACKAGE_STRING);
            exit(0);
        }
        /* getopt_long has named the option */
        fprintf(stderr, "Try '%s --help' for more information.\n",
                progname);
        exit(2);
    }
    if (optind < argc)
        bad_usage("unexpected argument '%s'", argv[optind]);
    check_combination(c, &seen);
    if (c->tls && !port_given)
        c->port = "7443";
    if (c->ca != NULL && c->insecure)
        bad_usage("--ca and --insecure contradict each other");
    c->timed = seen.d && c->rate == 0;
}

/*
 * Check that the delivery records fit in memory (one bit per receiver,
 * sender and message; with -D and no -r the run caps each sender
 * instead) and that the descriptor limit, raised to its hard maximum,
 * covers every connection.  Exits 2 or 1 when not.
 */
void
options_check_limits(const struct bench_conf *c)
{
    double planned = c->rate > 0 ? c->rate * c->duration + 1 :
        (double)c->messages * (double)c->senders;
    double per = c->senders > 0 ? planned / (double)c->senders + 1 : 0;
    double pairs = (double)c->clients * (double)c->senders;
    double bytes = pairs * 16.0 + pairs / (c->rooms > 0 ? c->rooms : 1) *
        8.0 * (per / 64.0 + 1);
    long need = c->clients + (c->proto == BENCH_REDIS ? c->senders : 0) +
        FD_SPARE;
    struct rlimit rl;

    if (!c->timed && bytes > (double)TRACK_MAX_BYTES)
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
