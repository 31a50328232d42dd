/*
 * chatd.c: main(): options, limits, start and stop order, signals.
 *
 * The main thread owns the settings (read-only once the workers run) and
 * handles every signal with sigwait(); the other threads block them all.
 * Start: parse options, raise the descriptor limit, open the listeners,
 * start the workers, start the acceptor.  Stop (SIGINT/SIGTERM): stop the
 * acceptor, tell the workers through the hub, join them, free, exit 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cluster.h"
#include "hub.h"
#include "listener.h"
#include "log.h"
#include "settings.h"
#include "worker.h"
#include "xmalloc.h"

#define FD_RESERVE 32           /* descriptors kept for everything else */

static const char *progname = "chatd";

static void __attribute__((noreturn))
usage(int status)
{
    FILE *f = status == 0 ? stdout : stderr;

    if (status != 0) {
        fprintf(f, "Try '%s --help' for more information.\n", progname);
        exit(status);
    }
    fprintf(f, "Usage: %s [OPTION]...\n"
            "Multi-client chat and broadcast server (protocol v1: one line "
            "per message;\nsee chatd(8)).\n\nOptions:\n", progname);
    for (const struct settings_key *k = settings_keys; k->name; k++) {
        char opt[64];
        if (k->shortopt)
            snprintf(opt, sizeof(opt), "-%c, --%s %s", k->shortopt, k->name,
                     k->arg);
        else
            snprintf(opt, sizeof(opt), "    --%s %s", k->name, k->arg);
        fprintf(f, "  %-26s %s\n", opt, k->help);
    }
    fprintf(f, "  %-26s %s\n", "-v, --verbose", "log debug messages");
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help and exit");
    fprintf(f, "  %-26s %s\n", "-V, --version", "show the version and exit");
    fprintf(f, "\nReport bugs to <%s>.\n", PACKAGE_BUGREPORT);
    exit(0);
}

static void __attribute__((noreturn))
bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
bad_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(2);
}

/* Parse the command line into s; exits 2 on a bad option or value. */
static void
parse_args(int argc, char **argv, struct settings *s)
{
    static struct option opts[32];
    char shorts[64] = "+hVv";
    size_t n = 0, sl = strlen(shorts);
    int ch;
    char err[256];

    for (const struct settings_key *k = settings_keys; k->name; k++, n++) {
        opts[n] = (struct option){ k->name, required_argument, NULL,
                                   k->shortopt ? k->shortopt : 256 + (int)n };
        if (k->shortopt) {
            shorts[sl++] = (char)k->shortopt;
            shorts[sl++] = ':';
        }
    }
    shorts[sl] = '\0';
    opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
    opts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
    opts[n++] = (struct option){ "verbose", no_argument, NULL, 'v' };
    opts[n] = (struct option){ NULL, 0, NULL, 0 };

    while ((ch = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        const struct settings_key *key = NULL;
        switch (ch) {
        case 'h':
            usage(0);
        case 'V':
            printf("%s\n", PACKAGE_STRING);
            exit(0);
        case 'v':
            s->verbose++;
            continue;
        case '?':
            usage(2);
        default:
            break;
        }
        if (ch >= 256)
            key = &settings_keys[ch - 256];
        else
            for (key = settings_keys; key->name; key++)
                if (key->shortopt == ch)
                    break;
        if (key == NULL || key->name == NULL)
            usage(2);
        if (settings_set(s, key, optarg, err, sizeof(err)) < 0)
            bad_usage("--%s", err);
    }
    if (optind < argc)
        bad_usage("unexpected argument '%s'", argv[optind]);
    if (settings_check(s, err, sizeof(err)) < 0)
        bad_usage("%s", err);
}

/*
 * Raise the open-file limit as far as allowed and keep max-clients below
 * it, with room for listeners, workers' epoll and event descriptors.
 */
static void
fit_fd_limit(struct settings *s)
{
    struct rlimit rl;
    long room;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        fatal("getrlimit");
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
                     (unsigned long long)rl.rlim_max);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    room = (long)rl.rlim_cur - FD_RESERVE - 2L * s->workers;
    if (room < 1)
        fatalx("open-file limit %llu is too low",
               (unsigned long long)rl.rlim_cur);
    if (s->max_clients > room) {
        log_warnx("max-clients lowered from %ld to %ld to fit the "
                  "open-file limit of %llu", s->max_clients, room,
                  (unsigned long long)rl.rlim_cur);
        s->max_clients = room;
    }
}

/* Read the MOTD file (up to CHATD_MOTD_MAX bytes); NULL if none. */
static char *
read_motd(const char *path)
{
    char *buf;
    ssize_t n;
    int fd;

    if (path == NULL)
        return NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "%s: motd: cannot open %s: %s\n", progname, path,
                strerror(errno));
        exit(2);
    }
    buf = xmalloc(CHATD_MOTD_MAX + 1);
    n = read(fd, buf, CHATD_MOTD_MAX);
    close(fd);
    if (n < 0) {
        fprintf(stderr, "%s: motd: cannot read %s: %s\n", progname, path,
                strerror(errno));
        exit(2);
    }
    buf[n] = '\0';
    return buf;
}

static void
log_stats(struct worker *workers, int n, int64_t start_ms)
{
    unsigned long conn = 0, in = 0, out = 0, bin = 0, bout = 0, slow = 0;
    char cluster[512];

    for (int i = 0; i < n; i++) {
        struct worker_stats *st = &workers[i].stats;
        conn += atomic_load(&st->connections);
        in += atomic_load(&st->lines_in);
        out += atomic_load(&st->lines_out);
        bin += atomic_load(&st->bytes_in);
        bout += atomic_load(&st->bytes_out);
        slow += atomic_load(&st->slow);
    }
    cluster_stats(cluster, sizeof(cluster));
    log_info("stats: clients=%zu connections=%lu messages_in=%lu "
             "messages_out=%lu bytes_in=%lu bytes_out=%lu "
             "slow_disconnects=%lu uptime=%llds %s", hub_count(), conn, in,
             out, bin, bout, slow,
             (long long)(worker_now_ms() - start_ms) / 1000, cluster);
}

/* Handle signals until told to stop. */
static void
signal_loop(const sigset_t *set, struct worker *workers, int n)
{
    int64_t start = worker_now_ms();
    int sig;

    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        switch (sig) {
        case SIGINT:
        case SIGTERM:
            log_info("%s: shutting down", strsignal(sig));
            return;
        case SIGUSR1:
            log_stats(workers, n, start);
            break;
        case SIGHUP:
            log_info("SIGHUP: no configuration file to re-read");
            break;
        }
    }
}

int
main(int argc, char **argv)
{
    struct settings s;
    struct worker_conf conf;
    struct worker *workers;
    struct cluster_conf cc;
    char err[256];
    sigset_t set;

    if (argv[0] && strrchr(argv[0], '/'))
        progname = strrchr(argv[0], '/') + 1;
    else if (argv[0])
        progname = argv[0];
    settings_defaults(&s);
    parse_args(argc, argv, &s);
    cc = (struct cluster_conf){ .url = s.cluster_url, .node = s.node_name,
                                .channel = s.cluster_channel,
                                .timeout = s.cluster_timeout };
    if (s.cluster_url && cluster_check_conf(&cc, err, sizeof(err)) < 0)
        bad_usage("%s", err);
    log_init(0, s.verbose, progname);

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    fit_fd_limit(&s);
    conf = (struct worker_conf){ .max_line = s.max_line, .sendq = s.sendq,
                                 .rate = s.rate, .burst = s.burst,
                                 .motd = read_motd(s.motd_file) };
    if (listener_open(s.bind, s.nbind, &s.port) < 0)
        exit(1);

    hub_init(s.workers, s.max_clients, s.history);
    if (s.cluster_url) {
        cc.port = s.port;
        cluster_start(&cc);
    }
    workers = xcalloc((size_t)s.workers, sizeof(*workers));
    for (int i = 0; i < s.workers; i++)
        worker_start(&workers[i], i, &conf);
    listener_start(workers, s.workers);
    log_info("%s ready: %d workers, max-clients %ld", PACKAGE_STRING,
             s.workers, s.max_clients);

    signal_loop(&set, workers, s.workers);

    listener_stop();
    cluster_stop();
    hub_shutdown();
    for (int i = 0; i < s.workers; i++)
        worker_join(&workers[i]);
    hub_destroy();
    free(workers);
    free((char *)conf.motd);
    log_info("stopped");
    return 0;
}
