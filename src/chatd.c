/*
 * chatd.c: main(): options, config file, limits, start and stop order,
 * signals.
 *
 * The main thread owns the settings (workers see only the worker_conf
 * built from them) and handles every signal with sigwait(); the other
 * threads block them all.  Start: read the command line (to find -c), the
 * config file, then the command line again over it (the command line
 * wins); raise the descriptor limit, open the listeners, detach (-d),
 * write the pidfile, drop privileges (-u), start the workers and the
 * acceptor, tell systemd we are ready.  SIGHUP reads the configuration
 * again and hands the workers a new worker_conf through the hub.  Stop
 * (SIGINT/SIGTERM): stop the acceptor, tell the workers through the hub,
 * join them, free, exit 0.
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
#include "command.h"
#include "conffile.h"
#include "daemon.h"
#include "hub.h"
#include "listener.h"
#include "log.h"
#include "settings.h"
#include "clock.h"
#include "worker.h"
#include "xmalloc.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CHATD_CONFIG_FILE SYSCONFDIR "/chatd.conf"
#define FD_RESERVE 32           /* descriptors kept for everything else */

#define OPT_MAX 64

/* What the command line says beyond the settings; main thread. */
static struct {
    const char     *progname;
    int             argc;
    char          **argv;
    const char     *config;         /* -c, or the default */
    int             config_given;   /* -c was given: it must exist */
    int             check;          /* -t */
    long            fd_room;        /* most clients the fd limit allows */
    char            startdir[4096]; /* to resolve relative paths */
} cmd = { .progname = "chatd", .config = CHATD_CONFIG_FILE };

static struct option long_opts[OPT_MAX];
static char short_opts[OPT_MAX * 2] = "+c:htVv";

/*
 * Fill long_opts and short_opts from settings_keys: a key with an
 * argument name takes a value, the others are flags.  A key without a
 * short option gets 256 + its index.
 */
static void
build_options(void)
{
    size_t n = 0, sl = strlen(short_opts);

    for (const struct settings_key *k = settings_keys; k->name; k++, n++) {
        long_opts[n] = (struct option){
            k->name, k->arg ? required_argument : no_argument, NULL,
            k->shortopt ? k->shortopt : 256 + (int)n };
        if (k->shortopt && k->shortopt != 'v') {
            short_opts[sl++] = (char)k->shortopt;
            if (k->arg)
                short_opts[sl++] = ':';
        }
    }
    short_opts[sl] = '\0';
    long_opts[n++] = (struct option){ "config", required_argument, NULL,
                                      'c' };
    long_opts[n++] = (struct option){ "check-config", no_argument, NULL,
                                      't' };
    long_opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
    long_opts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
    long_opts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* One line of --help: "-c, --config FILE" and its help text. */
static void
print_option(FILE *f, int shortopt, const char *name, const char *arg,
             const char *help)
{
    char opt[64];

    if (shortopt)
        snprintf(opt, sizeof(opt), "-%c, --%s%s%s", shortopt, name,
                 arg ? " " : "", arg ? arg : "");
    else
        snprintf(opt, sizeof(opt), "    --%s%s%s", name, arg ? " " : "",
                 arg ? arg : "");
    fprintf(f, "  %-26s %s\n", opt, help);
}

/*
 * Exit with status: 0 after printing the full help to stdout, else after
 * a one-line hint on stderr.
 */
static void __attribute__((noreturn))
usage(int status)
{
    FILE *f = status == 0 ? stdout : stderr;

    if (status != 0) {
        fprintf(f, "Try '%s --help' for more information.\n", cmd.progname);
        exit(status);
    }
    fprintf(f, "Usage: %s [OPTION]...\n"
            "Multi-client chat and broadcast server (protocol v1: one line "
            "per message;\nsee chatd(8)).\n\nOptions:\n", cmd.progname);
    print_option(f, 'c', "config", "FILE", "read settings from FILE");
    fprintf(f, "  %-26s (default %s)\n", "", CHATD_CONFIG_FILE);
    print_option(f, 't', "check-config", NULL,
                 "check the configuration and exit (-v: show it)");
    for (const struct settings_key *k = settings_keys; k->name; k++)
        print_option(f, k->shortopt, k->name, k->arg, k->help);
    print_option(f, 'h', "help", NULL, "show this help and exit");
    print_option(f, 'V', "version", NULL, "show the version and exit");
    fprintf(f, "\nEvery option but -c, -t, -h and -V is also a key of the "
            "config file;\nthe command line wins.  See chatd(8) and "
            "chatd.conf(5).\n");
    fprintf(f, "\nReport bugs to <%s>.\n", PACKAGE_BUGREPORT);
    exit(0);
}

static void __attribute__((noreturn))
bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
bad_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cmd.progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(2);
}

/*
 * Apply the command line to s.  The first -b (or -v) replaces what the
 * config file said rather than adding to it.  With first_pass set, also
 * note -c and -t and handle --help and --version; any bad option or value
 * exits 2.  (The command line has been checked by the first pass by the
 * time later passes run, so they cannot fail.)
 */
static void
apply_args(struct settings *s, int first_pass)
{
    char seen[OPT_MAX] = { 0 };
    char err[256];
    int ch;

    optind = 0;                         /* glibc: start over */
    opterr = first_pass;
    while ((ch = getopt_long(cmd.argc, cmd.argv, short_opts, long_opts,
                             NULL)) != -1) {
        const struct settings_key *key = NULL;
        switch (ch) {
        case 'h':
            usage(0);
        case 'V':
            printf("%s\n", PACKAGE_STRING);
            exit(0);
        case 'c':
            if (first_pass) {
                cmd.config = optarg;
                cmd.config_given = 1;
            }
            continue;
        case 't':
            cmd.check = 1;
            continue;
        case '?':
        case ':':
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
        if (!seen[key - settings_keys]++ &&
            (key->type == SET_LIST || key->type == SET_COUNT))
            settings_reset(s, key);
        if (settings_set(s, key, optarg, err, sizeof(err)) < 0)
            bad_usage("--%s", err);
    }
    if (optind < cmd.argc)
        bad_usage("unexpected argument '%s'", cmd.argv[optind]);
}

/* Make a relative path (a string s holds) absolute, from the start
 * directory, so that it still works after -d changed to /. */
static void
absolute_path(struct settings *s, const char **path)
{
    size_t len;
    char *abs;

    if (*path == NULL || (*path)[0] == '/' || cmd.startdir[0] == '\0')
        return;
    len = strlen(cmd.startdir) + 1 + strlen(*path);
    abs = settings_keep(s, "", len);
    snprintf(abs, len + 1, "%s/%s", cmd.startdir, *path);
    *path = abs;
}

/*
 * Read the whole configuration into s: defaults, then the config file
 * (the default one may be missing), then the command line, then the
 * checks across keys.  Returns 0, or -1 with a message in err naming the
 * file, line and key.  s must be settings_free()d either way.
 */
static int
load_settings(struct settings *s, char *err, size_t errlen)
{
    char msg[512];

    settings_defaults(s);
    if (conffile_load(cmd.config, !cmd.config_given, s, err, errlen) < 0)
        return -1;
    apply_args(s, 0);
    if (settings_check(s, msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    absolute_path(s, &s->motd_file);
    absolute_path(s, &s->pidfile);
    return 0;
}

/*
 * Raise the open-file limit as far as allowed and work out how many
 * clients fit below it, with room for listeners, workers' epoll and event
 * descriptors (cmd.fd_room).  Main thread, at start.
 */
static void
fit_fd_limit(int workers)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        fatal("getrlimit");
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
                     (unsigned long long)rl.rlim_max);
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
            fatal("getrlimit");
    }
    if (rl.rlim_cur > 100000000)
        rl.rlim_cur = 100000000;
    cmd.fd_room = (long)rl.rlim_cur - FD_RESERVE - 2L * workers;
    if (cmd.fd_room < 1)
        fatalx("open-file limit %llu is too low",
               (unsigned long long)rl.rlim_cur);
}

/* Keep max-clients within the open-file limit (see fit_fd_limit()). */
static void
fit_max_clients(struct settings *s)
{
    if (s->max_clients > cmd.fd_room) {
        log_warnx("max-clients lowered from %ld to %ld to fit the "
                  "open-file limit", s->max_clients, cmd.fd_room);
        s->max_clients = cmd.fd_room;
    }
}

/*
 * Read the MOTD file (up to CHATD_MOTD_MAX bytes) into *out (NULL if
 * path is NULL).  Returns 0, or -1 with err set.
 */
static int
read_motd(const char *path, char **out, char *err, size_t errlen)
{
    size_t len = 0;
    ssize_t n;
    char *buf;
    int fd;

    *out = NULL;
    if (path == NULL)
        return 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "motd: cannot open %s: %s", path,
                 strerror(errno));
        return -1;
    }
    buf = xmalloc(CHATD_MOTD_MAX + 1);
    while (len < CHATD_MOTD_MAX) {
        n = read(fd, buf + len, CHATD_MOTD_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "motd: cannot read %s: %s", path,
                     strerror(errno));
            close(fd);
            free(buf);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/*
 * Build the workers' view of s, for nworkers workers (one reference
 * each), reading the MOTD file.  Returns NULL with err set if it cannot.
 */
static struct worker_conf *
make_conf(const struct settings *s, int nworkers, char *err, size_t errlen)
{
    struct worker_conf *c;
    char *motd;

    if (read_motd(s->motd_file, &motd, err, errlen) < 0)
        return NULL;
    c = xcalloc(1, sizeof(*c));
    atomic_init(&c->refs, nworkers);
    c->max_line = s->max_line;
    c->sendq = s->sendq;
    c->rate = s->rate;
    c->burst = s->burst;
    c->nmotd = command_motd(motd, &c->motd);
    free(motd);
    return c;
}

/*
 * SIGHUP: reopen the log, read the configuration again and apply what can
 * change while clients are connected (the keys marked live: MOTD, rate,
 * burst, sendq, max-clients, verbose).  The other keys keep their running
 * values and the log says which of them the file would change.  A bad
 * file changes nothing.  run is the configuration chatd started with.
 */
static void
reload(const struct settings *run)
{
    struct settings ns;
    struct worker_conf *conf;
    char err[1024], fixed[512] = "";
    size_t n = 0;

    log_reopen();
    if (load_settings(&ns, err, sizeof(err)) < 0 ||
        (conf = make_conf(&ns, run->workers, err, sizeof(err))) == NULL) {
        log_warnx("SIGHUP: %s; the running configuration is unchanged",
                  err);
        settings_free(&ns);
        return;
    }
    for (const struct settings_key *k = settings_keys; k->name; k++)
        if (!k->live && !settings_equal(&ns, run, k) && n < sizeof(fixed))
            n += (size_t)snprintf(fixed + n, sizeof(fixed) - n, "%s%s",
                                  n ? ", " : "", k->name);
    fit_max_clients(&ns);
    hub_set_limits(ns.max_clients);
    log_set_verbose(ns.verbose);
    worker_pool_conf(conf);
    log_info("SIGHUP: configuration reloaded from %s: max-clients %ld, "
             "sendq %ld, rate %ld, burst %ld, motd %s", cmd.config,
             ns.max_clients, ns.sendq, ns.rate, ns.burst,
             ns.motd_file ? ns.motd_file : "none");
    if (n > 0)
        log_warnx("SIGHUP: cannot change %s while running; restart chatd "
                  "to apply", fixed);
    settings_free(&ns);
}

/* Log one line of counters (SIGUSR1). */
static void
log_stats(int64_t start_ms)
{
    struct worker_totals t;
    char cluster[512];

    worker_pool_totals(&t);
    cluster_stats(cluster, sizeof(cluster));
    log_info("stats: clients=%zu connections=%lu messages_in=%lu "
             "messages_out=%lu bytes_in=%lu bytes_out=%lu "
             "slow_disconnects=%lu uptime=%llds %s", hub_count(),
             t.connections, t.lines_in, t.lines_out, t.bytes_in,
             t.bytes_out, t.slow,
             (long long)(clock_ms() - start_ms) / 1000, cluster);
}

/* Handle signals until told to stop. */
static void
signal_loop(const sigset_t *set, const struct settings *run)
{
    int64_t start = clock_ms();
    char state[64];
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
            log_stats(start);
            break;
        case SIGHUP:
            snprintf(state, sizeof(state), "RELOADING=1\n"
                     "MONOTONIC_USEC=%lld",
                     (long long)clock_ms() * 1000);
            daemon_notify(state);
            reload(run);
            daemon_notify("READY=1");
            break;
        }
    }
}

/*
 * Check what start-up would check beyond the settings themselves (the
 * user exists); exit 2 if that fails.  With -t, show the configuration
 * with -v and exit 0.
 */
static void
check_config(const struct settings *s)
{
    char err[512];
    uid_t uid;
    gid_t gid;

    if (s->user && daemon_lookup_user(s->user, &uid, &gid, err,
                                      sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", cmd.progname, err);
        exit(2);
    }
    if (!cmd.check)
        return;
    if (s->verbose)
        conffile_dump(stdout, s);
    if (access(cmd.config, F_OK) == 0)
        fprintf(stderr, "%s: %s: configuration OK\n", cmd.progname,
                cmd.config);
    else
        fprintf(stderr, "%s: configuration OK (no %s)\n", cmd.progname,
                cmd.config);
    exit(0);
}

/* Start, serve until SIGTERM or SIGINT, stop; see the top of the file. */
int
main(int argc, char **argv)
{
    struct settings s;
    struct worker_conf *conf;
    struct cluster_conf cc;
    sigset_t set;
    char err[1024];
    int port;

    if (argv[0] && strrchr(argv[0], '/'))
        cmd.progname = strrchr(argv[0], '/') + 1;
    else if (argv[0])
        cmd.progname = argv[0];
    cmd.argc = argc;
    cmd.argv = argv;
    if (getcwd(cmd.startdir, sizeof(cmd.startdir)) == NULL)
        cmd.startdir[0] = '\0';
    build_options();
    settings_defaults(&s);
    apply_args(&s, 1);                  /* -c, -t, and bad options */
    settings_free(&s);
    if (cmd.config[0] != '/' && cmd.startdir[0] != '\0') {
        static char path[8192];
        snprintf(path, sizeof(path), "%s/%s", cmd.startdir, cmd.config);
        cmd.config = path;
    }
    if (load_settings(&s, err, sizeof(err)) < 0 ||
        (conf = make_conf(&s, s.workers, err, sizeof(err))) == NULL) {
        fprintf(stderr, "%s: %s\n", cmd.progname, err);
        exit(2);
    }
    cc = (struct cluster_conf){ .url = s.cluster_url, .node = s.node_name,
                                .channel = s.cluster_channel,
                                .timeout = s.cluster_timeout };
    if (s.cluster_url && cluster_check_conf(&cc, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", cmd.progname, err);
        exit(2);
    }
    check_config(&s);
    log_init(s.syslog, s.verbose, cmd.progname);

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    fit_fd_limit(s.workers);
    fit_max_clients(&s);
    port = s.port;                      /* s keeps 0 for SIGHUP */
    if (listener_open(s.bind, s.nbind, &port) < 0)
        exit(1);
    if (s.daemon)
        daemon_detach();
    if (s.pidfile && daemon_pidfile(s.pidfile, err, sizeof(err)) < 0)
        fatalx("%s", err);
    if (s.user) {
        if (daemon_drop_privileges(s.user, err, sizeof(err)) < 0)
            fatalx("%s", err);
        log_info("running as user %s", s.user);
    } else if (geteuid() == 0) {
        log_warnx("running as root: use -u USER (the user key) to drop "
                  "privileges after opening the listeners");
    }

    hub_init(s.workers, s.max_clients, s.history);
    if (s.cluster_url) {
        cc.port = port;                 /* the bound one, not 0 */
        if (cluster_start(&cc, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s: %s\n", cmd.progname, err);
            daemon_pidfile_remove();
            exit(2);
        }
    }
    worker_pool_start(s.workers, conf);
    listener_start();
    log_info("%s ready: %d workers, max-clients %ld", PACKAGE_STRING,
             s.workers, s.max_clients);
    if (daemon_notify("READY=1") < 0)
        log_warn("sd_notify");
    if (s.daemon) {
        daemon_ready();
        log_init(1, s.verbose, cmd.progname);
        log_info("%s running in the background", PACKAGE_STRING);
    }

    signal_loop(&set, &s);

    daemon_notify("STOPPING=1");
    listener_stop();
    cluster_stop();
    hub_shutdown();
    worker_pool_stop();
    hub_destroy();
    daemon_pidfile_remove();
    settings_free(&s);
    log_info("stopped");
    return 0;
}
