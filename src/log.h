/*
 * log.h: logging to stderr (foreground) or syslog (daemon), after OpenBSD
 * ntpd's log.c.  Every function may be called from any thread; each line is
 * emitted with one write(2).
 */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

#include <stdarg.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

void log_init(int to_syslog, int verbose, const char *ident);
void log_set_verbose(int verbose);
void log_reopen(void);
void log_set_role(const char *role);
void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_warnx(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_debug(const char *fmt, ...) LOG_FMT(1, 2);
void fatal(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));

#endif
