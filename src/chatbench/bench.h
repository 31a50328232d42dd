/*
 * bench.h: chatbench's run configuration and results, shared by the
 * option parsing (options.c), the run (loop.c and run.h's files) and the
 * report (report.c).  chatbench is single-threaded: the main thread owns
 * all of it.
 */
#ifndef CHATBENCH_BENCH_H
#define CHATBENCH_BENCH_H

#include <stdint.h>
#include <sys/types.h>

#include "hist.h"
#include "procstat.h"

enum bench_proto {
    BENCH_CHAT,                 /* chatd protocol v1 */
    BENCH_REDIS                 /* RESP: SUBSCRIBE / PUBLISH */
};

#define BENCH_PORTS_MAX 16      /* -p PORT,PORT,...: servers to spread over */
#define TRACK_MAX_BYTES (4ull << 30)    /* delivery records, at most */
#define ROOMS_MAX 100000        /* --rooms: #cb0..#cb99999 */

struct bench_conf {
    enum bench_proto proto;
    const char *host;
    const char *port;           /* one port, or several joined by commas */
    const char *channel;        /* redis channel */
    int    tls;                 /* --tls */
    int    ws;                  /* --protocol ws: chat over WebSocket */
    const char *ca;             /* --ca FILE, or NULL: the system's CAs */
    int    insecure;            /* --insecure: no certificate check */
    long   clients;             /* -c: receiving connections */
    long   rooms;               /* --rooms: #cb0..#cbR-1, 0: none */
    long   senders;             /* -s: 0 for the idle mode */
    long   size;                /* -b: payload bytes */
    long   messages;            /* -m: per sender, without -r or -D */
    long   window;              /* -w: in flight per sender, 0: no limit */
    double rate;                /* -r: messages/s in total, 0: no rate */
    double duration;            /* -D: seconds to send */
    int    timed;               /* -D without -r: flat out for duration */
    pid_t  server_pid;          /* --server-pid, 0 if none */
    long   drain_ms;            /* --drain-ms */
    double timeout_s;           /* -T */
    int    progress;            /* print a progress line on stderr */
};

struct bench_result {
    int      started;           /* the send phase began */
    uint64_t planned;           /* messages the senders were to send
                                   (-D without -r: those they sent) */
    uint64_t sent;              /* messages handed to the senders' sockets */
    uint64_t expected;          /* deliveries due for the messages sent */
    uint64_t delivered;         /* first deliveries (duplicates excluded) */
    uint64_t lost;              /* due, and can no longer arrive */
    uint64_t pending;           /* due, not in when the run was cut short */
    uint64_t dup;               /* repeated or echoed deliveries */
    uint64_t reordered;         /* per sender, arrived after a later one */
    uint64_t corrupt;           /* payloads that failed their checks */
    uint64_t misrouted;         /* payloads from a room not the receiver's */
    uint64_t disconnects;       /* connections the server closed */
    uint64_t server_errors;     /* error lines or replies from the server */
    uint64_t connected;         /* connections that completed handshake */
    double   connect_s;         /* time to connect and greet everyone
                                   (and, with rooms, join them) */
    double   quiet_s;           /* until the last line of the set-up (the
                                   join notices) had arrived */
    double   run_s;             /* first send to last delivery */
    const char *stop;           /* why the run ended */
    const char *hint;           /* why it stalled, what to do; or NULL */
    struct hist lat;            /* latency from intended send time */
    struct procstat ps_before;  /* before connecting */
    struct procstat ps_start;   /* after connecting, before sending */
    struct procstat ps_end;     /* after the run */
};

/* options.c: exit 2 on bad usage, 1 if the machine cannot hold the run */
void options_parse(int argc, char **argv, struct bench_conf *c);
void options_check_limits(const struct bench_conf *c);

/* loop.c */
int      bench_run(const struct bench_conf *c, struct bench_result *r);
uint64_t bench_now_ns(void);

/* report.c: on stdout */
void report_human(const struct bench_conf *c, const struct bench_result *r);
void report_line(const struct bench_conf *c, const struct bench_result *r);

#endif
