/*
 * chatd.c: main(): the config file, limits, start and stop order,
 * signals (the command line: cmdline.c).
 *
 * The main thread owns the settings (workers see only the worker_conf
 * built from them) and handles every signal with sigwait(); the other
 * threads block them all.  main() runs five phases:
 *
 *   parse   the command line, for -c, -t and bad options (exit 2);
 *   check   the config file, then the command line again over it (the
 *           command line wins), the MOTD, the user, and the listening
 *           sockets, opened here for a start and for -t alike (exit 2,
 *           or 1 for a port in use, with one "chatd: ..." line; -t then
 *           closes them and exits 0);
 *   start   logging, the descriptor limit, detach (-d), the pidfile,
 *           dropping privileges (-u), the hub, the cluster, the workers
 *           and the acceptor; tell systemd we are ready;
 *   run     signals until SIGINT or SIGTERM: SIGHUP reads the
 *           configuration again and hands the workers a new worker_conf
 *           through the hub, SIGUSR1 logs the counters;
 *   stop    the acceptor, then the workers through the hub; free; exit 0.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "addrlimit.h"
#include "cluster.h"
#include "command.h"
#include "conffile.h"
#include "daemon.h"
#include "hub.h"
#include "listener.h"
#include "log.h"
#include "net.h"
#include "settings.h"
#include "clock.h"
#include "cmdline.h"
#include "proto.h"
#include "tls.h"
#include "web.h"
#include "worker.h"
#include "xmalloc.h"
#include "acctadd.h"
#include "store.h"
#include "storethr.h"
#include "history.h"

#define FD_RESERVE 32           /* descriptors kept for everything else */

/* What the phases of main() hand on to each other; main thread. */
struct chatd {
    struct settings      s;         /* as started; SIGHUP compares */
    struct worker_conf  *conf;      /* the workers' first view of s */
    struct cluster_conf  cc;
    sigset_t             sigs;      /* handled by sigwait() */
    int                  port;      /* the bound one (s.port may be 0) */
    int                  tls_port;  /* the same for TLS */
    int                  web_port;  /* the same for the web */
    int                  detach;    /* s.daemon, unless under systemd */
    struct store        *store;     /* NULL: no accounts */
};

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
    settings_defaults(s);
    if (conffile_load(cmd.config, !cmd.config_given, s, err, errlen) < 0)
        return -1;
    cmdline_apply(s, 0);
    absolute_path(s, &s->motd_file);
    absolute_path(s, &s->pidfile);
    absolute_path(s, &s->tls_cert);
    absolute_path(s, &s->tls_key);
    absolute_path(s, &s->state_dir);
    return settings_check(s, err, errlen);
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
    const char *why;
    size_t len;

    *out = NULL;
    if (path == NULL)
        return 0;
    if (conffile_read_file(path, CHATD_MOTD_MAX, 0, out, &len, &why) < 0) {
        snprintf(err, errlen, "motd: %s %s: %s", why, path,
                 strerror(errno));
        return -1;
    }
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
    /* A line must fit: sendq never counts for less than two of the
     * longest lines (sanitized, with their prefix). */
    c->sendq = s->sendq;
    if (c->sendq < 2 * (s->max_line * 3 + PROTO_PREFIX_MAX))
        c->sendq = 2 * (s->max_line * 3 + PROTO_PREFIX_MAX);
    c->rate = s->rate;
    c->burst = s->burst;
    c->login_required = s->login_required;
    c->history = s->history;
    c->nmotd = command_motd(motd, &c->motd);
    free(motd);
    return c;
}

/*
 * SIGHUP: reopen the log, read the configuration again and apply what can
 * change while clients are connected (the keys marked live: MOTD, rate,
 * burst, sendq, max-clients, verbose, the per-address limits).  The other keys keep their running
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
    conf->login_required = run->login_required;    /* needs a restart */
    fit_max_clients(&ns);
    hub_set_limits(ns.max_clients);
    if (addrlimit_set(ns.max_per_address, ns.connect_rate, ns.exempt, err,
                      sizeof(err)) < 0)
        log_warnx("SIGHUP: %s", err);       /* checked: cannot happen */
    log_set_verbose(ns.verbose);
    worker_pool_conf(conf);
    if (run->tls_port != CHATD_PORT_OFF || run->web_tls)
        tls_reload(ns.tls_cert, ns.tls_key);
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
 * Phase parse: read the command line for -c, -t, --help, --version and
 * bad options (exit 2), and make the config file's path absolute.
 */
static void
parse_command_line(int argc, char **argv)
{
    static char path[8192];
    struct settings s;

    if (argv[0] && strrchr(argv[0], '/'))
        cmd.progname = strrchr(argv[0], '/') + 1;
    else if (argv[0])
        cmd.progname = argv[0];
    cmd.argc = argc;
    cmd.argv = argv;
    if (getcwd(cmd.startdir, sizeof(cmd.startdir)) == NULL)
        cmd.startdir[0] = '\0';
    cmdline_build();
    settings_defaults(&s);
    cmdline_apply(&s, 1);
    settings_free(&s);
    if (cmd.config[0] != '/' && cmd.startdir[0] != '\0') {
        snprintf(path, sizeof(path), "%s/%s", cmd.startdir, cmd.config);
        cmd.config = path;
    }
}

/*
 * Exit with status after "chatd: err" on stderr: 2 when the
 * configuration is bad, 1 when chatd cannot start for another reason.
 */
static void __attribute__((noreturn))
refuse(int status, const char *err)
{
    fprintf(stderr, "%s: %s\n", cmd.progname, err);
    exit(status);
}

/*
 * Phase check: read the whole configuration into d and check everything
 * a start would: the settings, the MOTD, the cluster URL, the user, and
 * the listening sockets, opened here as a start needs them.  Any failure
 * exits 2, but for a listening socket that fails for a reason other than
 * its address (the port is in use, say): that exits 1.  With -t, close
 * the sockets, show the configuration with -v, and exit 0.
 */
static void
check_configuration(struct chatd *d)
{
    struct settings *s = &d->s;
    char err[1024];
    uid_t uid;
    gid_t gid;
    int rc;

    if (load_settings(s, err, sizeof(err)) < 0 ||
        (d->conf = make_conf(s, s->workers, err, sizeof(err))) == NULL)
        refuse(2, err);
    d->cc = (struct cluster_conf){ .url = s->cluster_url,
                                   .node = s->node_name,
                                   .channel = s->cluster_channel,
                                   .timeout = s->cluster_timeout };
    if (s->cluster_url && cluster_check_conf(&d->cc, err, sizeof(err)) < 0)
        refuse(2, err);
    if ((s->user && daemon_lookup_user(s->user, &uid, &gid, err,
                                       sizeof(err)) < 0) ||
        (s->pidfile && daemon_pidfile_check(s->pidfile, s->user, err,
                                            sizeof(err)) < 0))
        refuse(2, err);
    if ((s->tls_port != CHATD_PORT_OFF || s->web_tls) &&
        tls_init(s->tls_cert, s->tls_key, err, sizeof(err)) < 0)
        refuse(2, err);
    if (s->web_port != CHATD_PORT_OFF &&
        web_init(&(struct web_conf){ .max_line = (unsigned)s->max_line,
                                     .origins = s->web_origins,
                                     .proxies = s->web_proxies },
                 err, sizeof(err)) < 0)
        refuse(2, err);
    d->port = s->port;
    d->tls_port = s->tls_port;
    d->web_port = s->web_port;
    if ((rc = listener_open(s->bind, s->nbind, &(struct listener_ports){
                                .port = &d->port, .tls_port = &d->tls_port,
                                .web_port = &d->web_port,
                                .web_tls = s->web_tls },
                            err, sizeof(err))) < 0)
        refuse(rc == NET_BADADDR ? 2 : 1, err);
    if (!cmd.check)
        return;
    listener_close();
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

/* Keys that need accounts, set in s: their names, or NULL if none. */
static const char *
needs_accounts(const struct settings *s)
{
    if (s->login_required && s->opers)
        return "login-required and opers";
    if (s->login_required)
        return "login-required";
    return s->opers ? "opers" : NULL;
}

/*
 * Open the store in state-dir, as the user chatd runs as.  If it cannot,
 * say so once and go on without accounts, unless a key needs them
 * (exit 2) or the database is a newer chatd's (exit 2: running without
 * the accounts it holds would let anyone take their names).
 */
static void
open_store(struct chatd *d)
{
    struct settings *s = &d->s;
    const char *need = needs_accounts(s);
    char err[1024];
    int rc;

    if (s->cluster_url != NULL) {
        rc = store_redis_open(s->cluster_url, s->cluster_channel,
                              &d->store, err, sizeof(err));
        if (rc == STORE_OK) {
            log_info("accounts in the cluster's Redis");
            return;
        }
    } else {
        if (s->state_dir == NULL)
            return;
        rc = store_sqlite_open(s->state_dir, &d->store, err, sizeof(err));
        if (rc == STORE_OK) {
            log_info("accounts in %s/chatd.db", s->state_dir);
            return;
        }
    }
    d->store = NULL;
    if (rc == STORE_FUTURE || need != NULL) {
        log_warnx("%s%s%s", err, need ? "; needed by " : "",
                  need ? need : "");
        daemon_pidfile_remove();
        exit(2);
    }
    log_warnx("%s: running without accounts and stored history", err);
}

/*
 * Open the history store beside the accounts (state-dir, not clustered:
 * a cluster's history is each node's memory) and start its thread.  If
 * it cannot, say so and go on with history in memory only.
 */
static void
open_history(struct chatd *d)
{
    struct settings *s = &d->s;
    struct histstore *h;
    char err[1024];

    if (d->store == NULL || s->cluster_url != NULL || s->history_keep == 0)
        return;
    if (hist_sqlite_open(s->state_dir, &h, err, sizeof(err)) < 0) {
        log_warnx("%s: history is kept in memory only", err);
        return;
    }
    if (history_start(h, s->history_keep) < 0) {
        h->ops->close(h);
        return;
    }
    log_info("history in %s/history.db, %ld lines per room", s->state_dir,
             s->history_keep);
}

/*
 * The end of phase start (start()): the hub, the cluster, the workers and the
 * acceptor; then tell systemd, and the parent waiting after -d.
 */
static void
start_serving(struct chatd *d)
{
    struct settings *s = &d->s;
    char err[512];

    long ring = history_enabled() ? 0 : s->history;   /* stored: none */

    hub_init(s->workers, s->max_clients, ring);
    if (hub_set_rooms(&(struct hub_rooms_conf){
                          .deflt = s->default_room, .permanent = s->rooms,
                          .max_rooms = s->max_rooms,
                          .max_joins = s->max_joins,
                          .announce_limit = s->announce_limit,
                          .history = ring }, err, sizeof(err)) < 0)
        refuse(2, err);
    if (s->cluster_url) {
        d->cc.port = d->port > 0 ? d->port : d->tls_port > 0 ?
                     d->tls_port : d->web_port;      /* bound */
        if (cluster_start(&d->cc, err, sizeof(err)) < 0) {
            daemon_pidfile_remove();
            refuse(2, err);             /* the node name is in use */
        }
    }
    worker_pool_start(s->workers, d->conf);
    /* After the workers, whose mailboxes it answers; before anyone
     * connects. */
    if (d->store && storethr_start(d->store, &(struct storethr_conf){
                         .workers = s->workers,
                         .login_delay = s->login_delay,
                         .opers = s->opers,
                         .registration = s->registration }) < 0) {
        daemon_pidfile_remove();
        exit(2);
    }
    cluster_run();
    if (s->tls_port != CHATD_PORT_OFF || s->web_tls)
        tls_start();
    if (addrlimit_set(s->max_per_address, s->connect_rate, s->exempt, err,
                      sizeof(err)) < 0)
        refuse(2, err);
    if (s->web_port != CHATD_PORT_OFF)
        web_start();
    listener_start();
    log_info("%s ready: %d workers, max-clients %ld", PACKAGE_STRING,
             s->workers, s->max_clients);
    if (daemon_notify("READY=1") < 0)
        log_warn("sd_notify");
    if (d->detach) {
        daemon_ready();
        log_init(1, s->verbose, cmd.progname);
        log_info("%s running in the background", PACKAGE_STRING);
    }
}

/*
 * Phase start, from logging to the first READY=1: see the top of the
 * file.  Errors here exit 1.  Under a service manager that waits for
 * READY=1 (NOTIFY_SOCKET is set), "daemon" is ignored: detaching would
 * make the process it watches exit.
 */
static void
start(struct chatd *d)
{
    struct settings *s = &d->s;
    char err[1024];

    log_init(s->syslog, s->verbose, cmd.progname);
    d->detach = s->daemon;
    if (d->detach && getenv("NOTIFY_SOCKET") != NULL) {
        log_warnx("daemon: ignored under a service manager (NOTIFY_SOCKET "
                  "is set): staying in the foreground");
        d->detach = 0;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&d->sigs);
    sigaddset(&d->sigs, SIGINT);
    sigaddset(&d->sigs, SIGTERM);
    sigaddset(&d->sigs, SIGHUP);
    sigaddset(&d->sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &d->sigs, NULL);
    fit_fd_limit(s->workers);
    fit_max_clients(s);
    addrlimit_init();
    if (d->detach)
        daemon_detach();
    if (s->pidfile && daemon_pidfile(s->pidfile, s->user, err,
                                    sizeof(err)) < 0)
        fatalx("%s", err);
    if (s->user) {
        if (daemon_drop_privileges(s->user, err, sizeof(err)) < 0)
            fatalx("%s", err);
        log_info("running as user %s", s->user);
    } else if (geteuid() == 0) {
        log_warnx("running as root: use -u USER (the user key) to drop "
                  "privileges after opening the listeners");
    }
    open_store(d);
    open_history(d);
    start_serving(d);
}

/* Phase stop, after SIGINT or SIGTERM: see the top of the file. */
static void
stop(struct chatd *d)
{
    daemon_notify("STOPPING=1");
    listener_stop();
    tls_stop();
    storethr_stop();
    web_stop();
    cluster_stop();
    hub_shutdown();
    history_quiet();            /* no more answers: the workers stop */
    worker_pool_stop();
    history_stop();             /* after the workers' last marks */
    addrlimit_free();
    hub_destroy();
    daemon_pidfile_remove();
    settings_free(&d->s);
    log_info("stopped");
}

/* --add-account: the configuration, then acctadd.c; exit 2 if bad. */
static int
add_account(struct chatd *d)
{
    char err[1024];

    if (load_settings(&d->s, err, sizeof(err)) < 0)
        refuse(2, err);
    return acctadd_run(&d->s);
}

/* Start, serve until SIGTERM or SIGINT, stop; see the top of the file. */
int
main(int argc, char **argv)
{
    static struct chatd d;

    parse_command_line(argc, argv);
    if (cmd.add_account != NULL)
        return add_account(&d);
    check_configuration(&d);
    start(&d);
    signal_loop(&d.sigs, &d.s);
    stop(&d);
    return 0;
}
