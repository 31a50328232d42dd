/*
 * harness.h: what every test suite shares.  h_run_suite() is every
 * suite's main().  The rest are integration-test helpers: start the real
 * chatd ($CHATD) on port 0, read its "listening on" line, talk to it over
 * real sockets, prove that nothing more arrives with a round trip, stop it
 * with SIGTERM.  The server's stderr goes to a temporary file, so its log
 * can be searched from forked check tests too.  Single-threaded use per
 * struct.
 */
#ifndef CHATD_HARNESS_H
#define CHATD_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

#define H_TIMEOUT_MS 5000       /* default wait for an expected line */

/* A command chatd answers to its sender alone, at once, with one line:
 * the barrier of hconn_roundtrip(). */
#define H_BARRIER_CMD   "/barrier"
#define H_BARRIER_REPLY "*** error: unknown command (try /help)"

struct hserver {
    pid_t   pid;
    int     port;               /* the first port logged */
    int     tls_port;           /* the "(tls)" one, or 0 */
    char    logpath[64];        /* chatd's stderr goes to this file */
};

struct hconn;

/* How a connection that is not plain TCP moves its bytes (htls.c: TLS).
 * read waits up to ms: > 0 bytes, 0 on timeout, -1 on EOF or error. */
struct hconn_io {
    ssize_t (*read)(struct hconn *c, void *buf, size_t len, int ms);
    int     (*write)(struct hconn *c, const void *data, size_t len);
    void    (*close)(struct hconn *c);
};

struct hconn {
    int     fd;
    const struct hconn_io *io;  /* NULL: plain TCP */
    void   *tls;                /* the io's state */
    char    buf[65536];
    size_t  off;                /* first unread byte */
    size_t  len;                /* end of the data in buf */
};

/* If set, called in the child between fork() and exec() of chatd (to
 * lower a limit, say); async-signal-safe calls only. */
extern void (*hserver_pre_exec)(void);

int   hserver_start(struct hserver *s, const char *const *args);
int   hserver_start_argv(struct hserver *s, const char *const *argv);
int   hserver_stop(struct hserver *s);
int   hserver_signal(struct hserver *s, int sig);
int   hserver_wait_log(struct hserver *s, const char *needle, int ms);
char *hserver_log(struct hserver *s);
long  hserver_rss_kb(struct hserver *s);
int   hserver_nfds(struct hserver *s);
const char *hserver_chatd(void);

struct hconn *hconn_open(int port);
struct hconn *hconn_open_addr(const char *addr, int port);
struct hconn *hconn_open_from(const char *src, const char *addr, int port);
struct hconn *hconn_join(int port, char *nick, size_t len);
void  hconn_close(struct hconn *c);
int   hconn_send(struct hconn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int   hconn_write(struct hconn *c, const void *data, size_t len);
int   hconn_send_numbered(struct hconn *c, int n);
int   hconn_line(struct hconn *c, char *out, size_t cap, int ms);
int   hconn_expect(struct hconn *c, const char *needle, char *out,
                   size_t cap, int ms);
void  h_expect(struct hconn *c, const char *want, char *out, size_t cap);
int   hconn_roundtrip(struct hconn *c, char *out, size_t cap);
int   hconn_barrier(struct hconn *c, char *out, size_t cap);
void  h_silent(struct hconn *c);
int   hconn_closed(struct hconn *c, int ms);
int   hconn_nick(struct hconn *c, const char *nick);
int   hconn_rcvbuf(struct hconn *c, int bytes);

/* A want of next_is() that starts with H_STAMP matches a replayed
 * history line: "[YYYY-MM-DD HH:MM] " of about now (UTC), then the rest
 * of want. */
#define H_STAMP "[T] "
int   h_stamp_ok(const char *line);
int   h_stamped_is(const char *line, const char *want);

int   h_run_suite(Suite *s);
TCase *h_tcase(Suite *s, const char *name, void (*setup)(void),
               void (*teardown)(void), int secs);
long  h_now_ms(void);
char *h_read_file(const char *path);
int   h_run(const char *const *argv, char *out, size_t cap, int *status);

#endif
