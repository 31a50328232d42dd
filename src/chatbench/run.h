/*
 * run.h: the state of one chatbench run, shared by the files of its event
 * loop: loop.c (the phases and the loop), conn.c (connections and their
 * output), send.c (the senders), recv.c (input and the delivery records)
 * and watch.c (what is said while the run goes on).  chatbench has one
 * thread, the main thread; it owns all of this.
 *
 * Connections.  Client i (0 <= i < clients) is receiver i.  With the chat
 * protocol, clients 0..senders-1 also send, on the same connection; with
 * redis every sender has a publishing connection of its own (clients +
 * i), since a subscribed RESP connection cannot PUBLISH.
 *
 * Window.  chatd does not echo a public message to its sender, so the
 * window of sender i is driven by one designated receiver, its "ack
 * receiver": client (i + 1) % clients, the same rule for both protocols.
 * A message leaves sender i's window when that client has received it.
 *
 * Rooms (--rooms R).  Client i is in room i % R (#cbN with chat, channel
 * "CHANNEL#cbN" with redis); sender i speaks in its client's room, and
 * only the other members of that room receive it (its "fanout").  Its
 * ack receiver is the next member of its room: client i + R, or the
 * room's first one.  Without rooms everyone is in one room (R = 1).
 */
#ifndef CHATBENCH_RUN_H
#define CHATBENCH_RUN_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "bench.h"

#define RBUF_SIZE (512 * 1024)  /* shared read buffer */
#define NO_SENDER UINT32_MAX
#define TIMER_TAG UINT64_MAX    /* epoll data of the rate timer */
#define STALL_SAMPLES 4         /* one a second: the last 3 s of deliveries */
#define TICK_NS 1000000000ull   /* progress line period */

enum conn_state {
    C_IDLE = 0,                 /* not opened yet */
    C_CONNECTING,               /* non-blocking connect() under way */
    C_TLS,                      /* --tls: the handshake under way */
    C_WS,                       /* --protocol ws: waiting for the 101 */
    C_HELLO,                    /* waiting for the greeting */
    C_JOINING,                  /* --rooms: waiting for the /join answer */
    C_READY,
    C_CLOSED
};

struct conn {
    int       fd;
    enum conn_state state;
    int       is_pub;           /* redis publishing connection */
    uint32_t  rx;               /* receiver index, clients only */
    uint32_t  snd;              /* sender writing here, or NO_SENDER */
    uint32_t  room;             /* its room: 0 without --rooms */
    uint32_t  events;           /* registered with epoll */
    SSL      *ssl;              /* --tls, else NULL */
    uint8_t   tls_rd, tls_wr;   /* what a TLS read / write waits for */
    char     *rest;             /* unparsed input, a partial frame */
    size_t    rest_len;
    char     *out;              /* unsent output */
    size_t    out_off, out_len, out_cap;
    size_t    out_framed;       /* ws: out up to here is framed */
};

struct sender {
    uint32_t conn;              /* where it writes */
    uint32_t ack_rx;            /* whose receipts open its window */
    uint32_t total;             /* messages it is to send */
    uint32_t next;              /* next sequence number */
    uint32_t acked;             /* received by ack_rx */
    uint32_t fanout;            /* receivers of each of its messages */
    int      dirty;             /* queued on the pump list */
};

/* What receiver r has seen from sender s (one record per pair). */
struct track {
    uint64_t *seen;             /* bit per sequence number */
    uint32_t  words;            /* uint64 in seen (grows with -D alone) */
    uint32_t  high;             /* highest sequence number seen + 1 */
};

struct bench_state {
    const struct bench_conf *conf;
    struct bench_result *res;
    struct addrinfo *ai[BENCH_PORTS_MAX];   /* one per -p port */
    size_t nai;
    int epfd, timerfd;
    struct conn *conn;
    size_t nconn;
    size_t next_open;           /* next connection to open */
    size_t pending;             /* connecting or greeting */
    struct sender *snd;
    uint32_t nsnd;
    uint32_t *pump;             /* senders with work to do */
    uint32_t npump;
    struct track *track;        /* [rx * nsnd + s] */
    uint32_t nroom;             /* --rooms, or 1 without */
    uint64_t due;               /* deliveries due for the messages sent */
    uint64_t planned_due;       /* deliveries due for those planned */
    double per_msg;             /* receivers per message, on average */
    char *rbuf;
    char **pub_prefix;          /* per room: "*3 ... PUBLISH ... $size\r\n" */
    size_t *pub_prefix_len;
    int sending;                /* the send phase has begun */
    int on_screen;              /* a progress line waits for its newline */
    int failed;                 /* a fatal error was reported */
    uint64_t t_run;             /* send phase start */
    uint64_t t_end;             /* -D: when sending stops; or UINT64_MAX */
    uint64_t deadline;          /* -T: when the whole run stops */
    int send_over;              /* -D alone: t_end has passed */
    uint64_t last_input;        /* last byte read */
    uint64_t last_progress;     /* last delivery or send */
    uint64_t last_send;
    uint64_t last_delivery;
    uint64_t next_tick;
    uint64_t rate_k;            /* rate mode: next message overall */
    uint64_t tick_delivered;    /* at the last progress line */
    uint64_t sample_t[STALL_SAMPLES];       /* watch.c's ring: when, */
    uint64_t sample_d[STALL_SAMPLES];       /* and how many delivered */
    uint32_t nsample;
    int warned;                 /* watch.c said it looks rate-limited */
};


extern struct bench_state bench;

/* The number of clients in room r (see Rooms above). */
static inline uint32_t
room_members(uint32_t r)
{
    uint32_t n = (uint32_t)bench.conf->clients;

    return n / bench.nroom + (r < n % bench.nroom);
}

/* watch.c */
void watch_end_line(void);
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void watch_progress(const char *phase, uint64_t now);
int  watch_stalled(uint64_t now);

/* conn.c */
void  conn_lost(struct conn *c, const char *why);
char *out_reserve(struct conn *c, size_t n);
int   conn_flush(struct conn *c);
void  conn_connected(struct conn *c);
void  conn_greet(struct conn *c);
int   conn_events(struct conn *c, uint32_t events);
void  open_more(void);
int   resolve(void);

/* send.c */
void send_later(struct sender *s);
void send_pump_all(void);
void send_rate_due(void);
int  send_start(void);
int  send_finished(void);
void send_setup(void);
void send_free(void);

/* recv.c */
void recv_read(struct conn *c);
void recv_setup(void);
void recv_free(void);

#endif
