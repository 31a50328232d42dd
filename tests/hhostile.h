/*
 * hhostile.h: what the hostile-client suites share (check_hostile,
 * check_hostile_conn; issue 7).
 *
 * Each test starts its own chatd with start(), lets slow, broken or
 * hostile clients loose on it while honest clients chat, and then checks
 * the same things (after()): the server is alive, a fresh pair of clients
 * chats normally, its descriptor count is back to where it started, its
 * RSS is within RSS_SLACK_KB of where it started, the honest clients got
 * every line they were due, in order (struct watcher), and every line
 * they got was clean (valid UTF-8, no control bytes, at most max-line
 * plus the prefix).  Finally SIGTERM must give exit status 0.
 *
 * Everything here runs on the test's thread; each TCase has a timeout.
 */
#ifndef CHATD_HHOSTILE_H
#define CHATD_HHOSTILE_H

#include <check.h>
#include <stddef.h>

#include "harness.h"

#define MAX_LINE        1024    /* chatd's default max-line */
#define RSS_SLACK_KB    (32 * 1024)
/* An honest line's round trip while others misbehave.  A stall would be
 * unbounded; this is generous so valgrind and TSan runs do not flake. */
#define HONEST_MS       2000
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED       1       /* shadow memory and quarantine: no RSS */
#else
#define SANITIZED       0
#endif

/*
 * An honest client that watches a numbered stream: lines "<nick> TAG N"
 * from one sender must arrive with N = 0, 1, 2, ... and no gaps.
 */
struct watcher {
    struct hconn *c;
    char          prefix[128];  /* "<nick> TAG " */
    int           next;         /* next N expected */
    long          lines;        /* lines read */
    const char   *look;         /* if set: count lines containing it */
    int           seen;
};

extern struct hserver srv;
extern int base_fds;
extern long base_rss;

int   rss_checked(void);
int   clean_line(const char *s);
void  watch(struct watcher *w, struct hconn *c, const char *nick,
            const char *tag);
void  got_line(struct watcher *w, const char *line);
void  drain(struct watcher *w, int ms);
void  drain_until(struct watcher *w, int count, int ms);
int   raw_connect(void);
void  close_rst(int fd);
void  discard_input(int fd);
long  server_cpu_ticks(void);
int   server_alive(void);
void  start(const char *const *args);
void  after(const char *what);
struct hconn *join(char *nick, size_t len);
void  hostile_case(Suite *s, const char *name, const TTest *t,
                   int timeout);

#endif
