/*
 * log.c: leveled logging.  The configuration (destination, verbosity,
 * ident) is written by the main thread only, at start, after detaching
 * and on SIGHUP; other threads read the destination and verbosity as
 * relaxed atomics, so a change takes effect between two lines.  The role
 * name is thread-local.  Safe to call from any thread.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static atomic_int log_syslog;   /* written by the main thread */
static atomic_int log_verbose;  /* written by the main thread */
static const char *log_ident = "chatd";     /* main thread */
static _Thread_local const char *log_role = "main";

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix);

/*
 * Set the destination (stderr, or syslog with to_syslog), the verbosity
 * and the syslog ident (a string that outlives the process's logging).
 * Main thread; may be called again, e.g. after detaching.
 */
void
log_init(int to_syslog, int verbose, const char *ident)
{
    log_ident = ident;
    if (to_syslog)
        openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    atomic_store_explicit(&log_verbose, verbose, memory_order_relaxed);
    atomic_store_explicit(&log_syslog, to_syslog, memory_order_relaxed);
}

/* Main thread, any time (SIGHUP). */
void
log_set_verbose(int verbose)
{
    atomic_store_explicit(&log_verbose, verbose, memory_order_relaxed);
}

/*
 * Reopen the log (SIGHUP): reconnect to syslog, e.g. after syslogd was
 * restarted.  stderr is the caller's business and is left alone.  Main
 * thread.
 */
void
log_reopen(void)
{
    if (!atomic_load_explicit(&log_syslog, memory_order_relaxed))
        return;
    closelog();
    openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Name the calling thread in its log lines ("acceptor", "worker 2"). */
void
log_set_role(const char *role)
{
    log_role = role;
}

static const char *
level_name(int pri)
{
    switch (pri) {
    case LOG_CRIT:    return "fatal";
    case LOG_WARNING: return "warning";
    case LOG_INFO:    return "info";
    default:          return "debug";
    }
}

/*
 * Format one line and emit it with a single write (stderr) or syslog call.
 * suffix, when not NULL, is appended after ": ".
 */
static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
    char line[2048], ts[32];
    int n = 0, m;

    if (atomic_load_explicit(&log_syslog, memory_order_relaxed)) {
        m = vsnprintf(line, sizeof(line), fmt, ap);
        if (m < 0)
            return;
        if (suffix)
            syslog(pri, "%s: %s: %s", log_role, line, suffix);
        else
            syslog(pri, "%s: %s", log_role, line);
        return;
    }

    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    localtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "%s.%03ld %s: %s: ", ts,
                 now.tv_nsec / 1000000, level_name(pri), log_role);
    m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (m > 0)
        n += m;
    if (n > (int)sizeof(line) - 2)
        n = sizeof(line) - 2;
    if (suffix) {
        m = snprintf(line + n, sizeof(line) - n, ": %s", suffix);
        if (m > 0)
            n += m;
        if (n > (int)sizeof(line) - 2)
            n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    /* One write per line, so lines from different threads never mix. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void
log_warn(const char *fmt, ...)
{
    char err[128];
    int saved = errno;
    va_list ap;

    snprintf(err, sizeof(err), "%s", strerror(saved));
    va_start(ap, fmt);
    vlog(LOG_WARNING, fmt, ap, err);
    va_end(ap);
    errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_WARNING, fmt, ap, NULL);
    va_end(ap);
}

void
log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_INFO, fmt, ap, NULL);
    va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
    va_list ap;

    if (!atomic_load_explicit(&log_verbose, memory_order_relaxed))
        return;
    va_start(ap, fmt);
    vlog(LOG_DEBUG, fmt, ap, NULL);
    va_end(ap);
}

void
fatal(const char *fmt, ...)
{
    char err[128];
    va_list ap;

    snprintf(err, sizeof(err), "%s", strerror(errno));
    va_start(ap, fmt);
    vlog(LOG_CRIT, fmt, ap, err);
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_CRIT, fmt, ap, NULL);
    va_end(ap);
    exit(1);
}
