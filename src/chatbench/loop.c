/*
 * loop.c: chatbench's connections and its one epoll loop.
 *
 * Everything here is owned by the main (and only) thread: the connection
 * table, the senders, the per-receiver delivery records and the results.
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
 * Phases: connect everyone (a bounded number at a time) and wait for each
 * greeting (chat: the first "*** " notice; redis: the SUBSCRIBE
 * confirmation or PONG), let the join notices settle, then send, then
 * drain until every delivery is in or nothing arrives for drain_ms.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "payload.h"
#include "resp.h"
#include "xmalloc.h"

#define MAX_PENDING 256         /* connections being set up at once */
#define RBUF_SIZE (512 * 1024)  /* shared read buffer */
#define REST_MAX (PAYLOAD_MAX + 4096)   /* longest partial frame kept */
#define OUT_HIGH (16 * 1024)    /* a sender stops formatting past this */
#define PUMP_ROUNDS 4           /* buffer refills per sender per turn */
#define SETTLE_NS 200000000ull  /* quiet time after connecting */
#define TICK_NS 1000000000ull   /* progress line period */
#define TIMER_TAG UINT64_MAX    /* epoll data of the rate timer */
#define NO_SENDER UINT32_MAX

enum conn_state {
    C_IDLE = 0,                 /* not opened yet */
    C_CONNECTING,               /* non-blocking connect() under way */
    C_HELLO,                    /* waiting for the greeting */
    C_READY,
    C_CLOSED
};

struct conn {
    int       fd;
    enum conn_state state;
    int       is_pub;           /* redis publishing connection */
    uint32_t  rx;               /* receiver index, clients only */
    uint32_t  snd;              /* sender writing here, or NO_SENDER */
    uint32_t  events;           /* registered with epoll */
    char     *rest;             /* unparsed input, a partial frame */
    size_t    rest_len;
    char     *out;              /* unsent output */
    size_t    out_off, out_len, out_cap;
};

struct sender {
    uint32_t conn;              /* where it writes */
    uint32_t ack_rx;            /* whose receipts open its window */
    uint32_t total;             /* messages it is to send */
    uint32_t next;              /* next sequence number */
    uint32_t acked;             /* received by ack_rx */
    int      dirty;             /* queued on the pump list */
};

/* What receiver r has seen from sender s (one record per pair). */
struct track {
    uint64_t *seen;             /* bit per sequence number */
    uint32_t  high;             /* highest sequence number seen + 1 */
};

static struct {
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
    size_t words;               /* uint64 per seen bitmap */
    uint64_t per_msg;           /* receivers per message */
    char *rbuf;
    char *pub_prefix;           /* "*3 ... PUBLISH ... $size\r\n" */
    size_t pub_prefix_len;
    int sending;                /* the send phase has begun */
    int on_screen;              /* a progress line waits for its newline */
    int failed;                 /* a fatal error was reported */
    uint64_t t_run;             /* send phase start */
    uint64_t last_input;        /* last byte read */
    uint64_t last_progress;     /* last delivery or send */
    uint64_t last_delivery;
    uint64_t next_tick;
    uint64_t rate_k;            /* rate mode: next message overall */
    uint64_t tick_delivered;    /* at the last progress line */
} B;

/* ------------------------------------------------------------ helpers */

/* CLOCK_MONOTONIC in ns; the clock the payload time stamps use. */
uint64_t
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* End the progress line, if one is showing, before other output. */
static void
end_progress(void)
{
    if (B.on_screen)
        fputc('\n', stderr);
    B.on_screen = 0;
}

/* Report a fatal run error (printf-style) and mark the run failed. */
static void __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
    va_list ap;

    end_progress();
    fputs("chatbench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    B.failed = 1;
}

/* Register the events c wants with epoll, if they changed. */
static int
conn_want(struct conn *c, uint32_t events)
{
    struct epoll_event ev = { .events = events,
                              .data.u64 = (uint64_t)(c - B.conn) };

    if (c->events == events)
        return 0;
    if (epoll_ctl(B.epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        fail("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    c->events = events;
    return 0;
}

/*
 * Close c (the server closed it, or it failed).  Counts a disconnect once
 * the run is set up; during set-up any loss of a connection is fatal.
 */
static void
conn_lost(struct conn *c, const char *why)
{
    if (c->state == C_CLOSED)
        return;
    if (c->state != C_READY) {
        fail("connection %zu closed during set-up: %s",
             (size_t)(c - B.conn), why);
    } else {
        B.res->disconnects++;
        if (B.res->disconnects == 1) {
            end_progress();
            fprintf(stderr, "chatbench: connection %zu lost: %s\n",
                    (size_t)(c - B.conn), why);
        }
    }
    if (close(c->fd) < 0 && errno != EINTR)
        fail("close: %s", strerror(errno));
    c->fd = -1;
    c->state = C_CLOSED;
    free(c->rest);
    c->rest = NULL;
    c->rest_len = 0;
}

/* Make room for n more bytes of output on c. */
static char *
out_reserve(struct conn *c, size_t n)
{
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_len + n > c->out_cap) {
            size_t cap = c->out_cap ? c->out_cap : 4096;
            while (cap < c->out_len + n)
                cap *= 2;
            c->out = xrealloc(c->out, cap);
            c->out_cap = cap;
        }
    }
    return c->out + c->out_len;
}

/* Queue n bytes of output on c. */
static void
out_add(struct conn *c, const char *data, size_t n)
{
    memcpy(out_reserve(c, n), data, n);
    c->out_len += n;
}

/*
 * Write as much of c's output as the socket takes, then ask epoll for
 * EPOLLOUT if some is left.  Returns 0, or -1 if c was closed.
 */
static int
conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off,
                          c->out_len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            conn_lost(c, strerror(errno));
            return -1;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    return conn_want(c, c->out_len > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* ---------------------------------------------------------- sending */

/* Queue message seq of sender s, stamped t_ns, on its connection. */
static void
send_message(struct sender *s, uint32_t seq, uint64_t t_ns)
{
    struct conn *c = &B.conn[s->conn];
    size_t size = (size_t)B.conf->size;
    struct payload p = { .sender = (uint32_t)(s - B.snd), .seq = seq,
                         .t_ns = t_ns };
    char *o;

    if (B.conf->proto == BENCH_REDIS) {
        o = out_reserve(c, B.pub_prefix_len + size + 2);
        memcpy(o, B.pub_prefix, B.pub_prefix_len);
        payload_encode(o + B.pub_prefix_len, size, &p);
        memcpy(o + B.pub_prefix_len + size, "\r\n", 2);
        c->out_len += B.pub_prefix_len + size + 2;
    } else {
        o = out_reserve(c, size + 1);
        payload_encode(o, size, &p);
        o[size] = '\n';
        c->out_len += size + 1;
    }
    B.res->sent++;
}

/* Put sender s on the list of senders to pump, once. */
static void
pump_later(struct sender *s)
{
    if (!s->dirty) {
        s->dirty = 1;
        B.pump[B.npump++] = (uint32_t)(s - B.snd);
    }
}

/*
 * Full-speed mode: let sender s send what its window allows, stamping
 * each message with the time it is formatted.  A few buffer refills per
 * call keep one sender from starving the others; if it could go on, it
 * is queued again.
 */
static void
sender_pump(struct sender *s)
{
    struct conn *c = &B.conn[s->conn];
    long w = B.conf->window;

    for (int round = 0; round < PUMP_ROUNDS; round++) {
        if (c->state != C_READY)
            return;
        while (s->next < s->total &&
               (w == 0 || s->next - s->acked < (uint64_t)w) &&
               c->out_len - c->out_off < OUT_HIGH) {
            send_message(s, s->next++, bench_now_ns());
            B.last_progress = bench_now_ns();
        }
        if (conn_flush(c) < 0 || c->out_len > 0)
            return;                     /* closed, or EPOLLOUT will call */
        if (s->next == s->total ||
            (w != 0 && s->next - s->acked >= (uint64_t)w))
            return;                     /* done, or the window is full */
    }
    pump_later(s);
}

/* Run the pump list; senders may queue themselves again. */
static void
pump_all(void)
{
    uint32_t n = B.npump;

    B.npump = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct sender *s = &B.snd[B.pump[i]];
        s->dirty = 0;
        sender_pump(s);
    }
}

/* Rate mode: the intended send time of message k overall. */
static uint64_t
rate_time(uint64_t k)
{
    return B.t_run + (uint64_t)((double)k * 1e9 / B.conf->rate);
}

/*
 * Rate mode: queue every message whose intended time has come, stamped
 * with that time (not the time it is written, so a stalled socket shows
 * up as latency), and arm the timer for the next one.
 */
static void
rate_send(void)
{
    uint64_t now = bench_now_ns();
    struct itimerspec its = { 0 };
    uint64_t t;

    while (B.rate_k < B.res->planned && (t = rate_time(B.rate_k)) <= now) {
        struct sender *s = &B.snd[B.rate_k % B.nsnd];
        if (B.conn[s->conn].state == C_READY) {
            send_message(s, (uint32_t)(B.rate_k / B.nsnd), t);
            s->next++;
            pump_later(s);
        }
        B.rate_k++;
        B.last_progress = now;
    }
    for (uint32_t i = 0; i < B.npump; i++) {
        struct sender *s = &B.snd[B.pump[i]];
        s->dirty = 0;
        if (B.conn[s->conn].state == C_READY)
            conn_flush(&B.conn[s->conn]);
    }
    B.npump = 0;
    if (B.rate_k < B.res->planned) {
        t = rate_time(B.rate_k);
        its.it_value.tv_sec = (time_t)(t / 1000000000ull);
        its.it_value.tv_nsec = (long)(t % 1000000000ull);
    }
    if (timerfd_settime(B.timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        fail("timerfd_settime: %s", strerror(errno));
}

/* -------------------------------------------------------- receiving */

/*
 * Account for one payload that reached receiver rx at time now: check
 * it, then count it as delivered, duplicated (or echoed to its own
 * sender), reordered or corrupt; record its latency; open its sender's
 * window if rx is the sender's ack receiver.
 */
static void
deliver(uint32_t rx, const char *text, size_t len, uint64_t now)
{
    struct payload p;
    struct sender *s;
    struct track *t;
    uint64_t bit;

    if (payload_decode(text, len, (size_t)B.conf->size, &p) < 0 ||
        p.sender >= B.nsnd || p.seq >= B.snd[p.sender].total) {
        B.res->corrupt++;
        return;
    }
    s = &B.snd[p.sender];
    t = &B.track[(size_t)rx * B.nsnd + p.sender];
    bit = (uint64_t)1 << (p.seq % 64);
    if (!B.sending || (B.conf->proto == BENCH_CHAT && s->conn == rx) ||
        (t->seen[p.seq / 64] & bit)) {
        B.res->dup++;
        return;
    }
    t->seen[p.seq / 64] |= bit;
    if (p.seq < t->high)
        B.res->reordered++;
    else
        t->high = p.seq + 1;
    B.res->delivered++;
    hist_record(&B.res->lat, now > p.t_ns ? now - p.t_ns : 0);
    B.last_delivery = B.last_progress = now;
    if (rx == s->ack_rx) {
        s->acked++;
        if (B.conf->rate == 0)
            pump_later(s);
    }
}

/* The greeting arrived: c is ready. */
static void
conn_ready(struct conn *c)
{
    c->state = C_READY;
    B.pending--;
    B.res->connected++;
}

/* Note an error line or reply from the server; fatal during set-up. */
static void
server_error(struct conn *c, const char *text, size_t len)
{
    if (c->state != C_READY) {
        fail("server refused connection %zu: %.*s", (size_t)(c - B.conn),
             (int)(len > 200 ? 200 : len), text);
        return;
    }
    if (B.res->server_errors++ == 0) {
        end_progress();
        fprintf(stderr, "chatbench: server: %.*s\n",
                (int)(len > 200 ? 200 : len), text);
    }
}

/*
 * Chat: consume the complete lines in buf.  "*** " notices greet (the
 * first one) or are ignored; "<nick> text" carries a payload; other
 * lines (actions, private messages) are ignored.  Returns the bytes used.
 */
static size_t
chat_input(struct conn *c, char *buf, size_t len, uint64_t now)
{
    size_t pos = 0;
    char *nl;

    while (pos < len && (nl = memchr(buf + pos, '\n', len - pos)) != NULL) {
        char *line = buf + pos;
        size_t n = (size_t)(nl - line);
        pos += n + 1;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n >= 4 && memcmp(line, "*** ", 4) == 0) {
            if (n >= 11 && memcmp(line + 4, "error:", 6) == 0)
                server_error(c, line, n);
            else if (c->state == C_HELLO)
                conn_ready(c);
        } else if (n > 0 && line[0] == '<') {
            char *gt = memchr(line, '>', n);
            if (gt != NULL && (size_t)(gt - line) + 1 < n && gt[1] == ' ')
                deliver(c->rx, gt + 2, n - (size_t)(gt - line) - 2, now);
            else
                B.res->corrupt++;
        }
        if (B.failed)
            break;
    }
    return pos;
}

/*
 * Redis: consume the complete replies in buf.  A subscriber is ready on
 * its "subscribe" confirmation and then gets "message" arrays; a
 * publisher is ready on PONG and then gets one integer per PUBLISH.
 * Returns the bytes used, or -1 on a protocol error.
 */
static long
redis_input(struct conn *c, char *buf, size_t len, uint64_t now)
{
    size_t pos = 0;
    struct resp_reply r;
    long n;

    while (pos < len && (n = resp_parse(buf + pos, len - pos, &r)) > 0) {
        const char *start = buf + pos;
        pos += (size_t)n;
        if (r.type == RESP_ERROR) {
            server_error(c, start, (size_t)n - 2);
        } else if (r.type == RESP_ARRAY && r.n == 3 &&
                   resp_item_is(&r.item[0], "message") &&
                   r.item[2].type == RESP_BULK) {
            if (!c->is_pub)
                deliver(c->rx, r.item[2].str, r.item[2].len, now);
        } else if (c->state == C_HELLO) {
            if ((r.type == RESP_ARRAY && r.n == 3 &&
                 resp_item_is(&r.item[0], "subscribe")) ||
                (r.n == 1 && resp_item_is(&r.item[0], "PONG")))
                conn_ready(c);
        }
        if (B.failed)
            break;
    }
    if (pos < len && resp_parse(buf + pos, len - pos, &r) < 0)
        return -1;
    return (long)pos;
}

/*
 * c is readable: read once into the shared buffer (after c's partial
 * frame), hand complete lines or replies to the protocol, and keep the
 * remainder.  Level-triggered epoll calls again if more is waiting.
 */
static void
conn_read(struct conn *c)
{
    size_t have = c->rest_len;
    ssize_t n;
    long used;

    if (have > 0)
        memcpy(B.rbuf, c->rest, have);
    do
        n = read(c->fd, B.rbuf + have, RBUF_SIZE - have);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        conn_lost(c, n == 0 ? "closed by the server" : strerror(errno));
        return;
    }
    B.last_input = bench_now_ns();
    have += (size_t)n;
    if (B.conf->proto == BENCH_CHAT)
        used = (long)chat_input(c, B.rbuf, have, B.last_input);
    else
        used = redis_input(c, B.rbuf, have, B.last_input);
    if (used < 0 || have - (size_t)used > REST_MAX) {
        B.res->corrupt++;
        conn_lost(c, used < 0 ? "protocol error" : "line too long");
        return;
    }
    c->rest_len = have - (size_t)used;
    if (c->rest_len > 0) {
        c->rest = xrealloc(c->rest, c->rest_len);
        memcpy(c->rest, B.rbuf + used, c->rest_len);
    } else {
        free(c->rest);
        c->rest = NULL;
    }
}

/* ---------------------------------------------------------- connect */

/* Start connecting the next connection in the table. */
static void
conn_open(struct conn *c)
{
    struct epoll_event ev;
    int fd;

    /* Connection i goes to port i mod the number of ports. */
    const struct addrinfo *ai = B.ai[(size_t)(c - B.conn) % B.nai];

    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
        fail("socket: %s", strerror(errno));
        return;
    }
    c->fd = fd;
    c->state = C_CONNECTING;
    B.pending++;
    ev.events = EPOLLOUT;
    ev.data.u64 = (uint64_t)(c - B.conn);
    if (epoll_ctl(B.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        fail("epoll_ctl: %s", strerror(errno));
        return;
    }
    c->events = EPOLLOUT;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
        errno != EINPROGRESS)
        fail("connect to %s port %s: %s", B.conf->host, B.conf->port,
             strerror(errno));
}

/*
 * c's connect() finished: check how, then send the greeting request
 * (redis: SUBSCRIBE or PING; chat: nothing, the server greets first).
 */
static void
conn_connected(struct conn *c)
{
    int err = 0, one = 1;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        fail("connect to %s port %s: %s", B.conf->host, B.conf->port,
             strerror(err));
        return;
    }
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        fail("setsockopt(TCP_NODELAY): %s", strerror(errno));
    c->state = C_HELLO;
    if (B.conf->proto == BENCH_REDIS) {
        char cmd[256];
        const char *argv[2] = { "SUBSCRIBE", B.conf->channel };
        size_t argl[2] = { 9, strlen(B.conf->channel) };
        size_t n;
        if (c->is_pub) {
            argv[0] = "PING";
            argl[0] = 4;
            n = resp_command(cmd, sizeof(cmd), 1, argv, argl);
        } else {
            n = resp_command(cmd, sizeof(cmd), 2, argv, argl);
        }
        out_add(c, cmd, n);
    }
    conn_flush(c);
}

/* Open connections until MAX_PENDING are being set up or all are. */
static void
open_more(void)
{
    while (!B.failed && B.pending < MAX_PENDING && B.next_open < B.nconn)
        conn_open(&B.conn[B.next_open++]);
}

/* ------------------------------------------------------------- loop */

/* Dispatch one epoll event. */
static void
handle_event(const struct epoll_event *ev)
{
    struct conn *c;

    if (ev->data.u64 == TIMER_TAG) {
        uint64_t ticks;
        if (read(B.timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
            fail("timerfd read: %s", strerror(errno));
        rate_send();
        return;
    }
    c = &B.conn[ev->data.u64];
    if (c->state == C_CLOSED)
        return;
    if (c->state == C_CONNECTING) {
        conn_connected(c);
        return;
    }
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        conn_read(c);
    if (c->state != C_CLOSED && (ev->events & EPOLLOUT)) {
        if (conn_flush(c) == 0 && c->snd != NO_SENDER && B.sending &&
            B.conf->rate == 0)
            pump_later(&B.snd[c->snd]);
    }
}

/* Print the progress line (terminal only), at most once per second. */
static void
progress(const char *phase, uint64_t now)
{
    double dt;

    if (!B.conf->progress || now < B.next_tick)
        return;
    dt = (double)(now - B.next_tick + TICK_NS) / 1e9;
    if (B.sending)
        fprintf(stderr, "\r%s: %.0fs sent %llu delivered %llu "
                "(%.0f msg/s), %lld pending   ", phase,
                (double)(now - B.t_run) / 1e9,
                (unsigned long long)B.res->sent,
                (unsigned long long)B.res->delivered,
                (double)(B.res->delivered - B.tick_delivered) / dt,
                (long long)(B.res->sent * B.per_msg - B.res->delivered));
    else
        fprintf(stderr, "\r%s: %llu of %zu connections ready   ", phase,
                (unsigned long long)B.res->connected, B.nconn);
    B.on_screen = 1;
    B.tick_delivered = B.res->delivered;
    B.next_tick = now + TICK_NS;
}

/*
 * Run the loop until done() says so, the deadline passes (returns 1) or
 * a fatal error (returns -1).  Returns 0 when done.
 */
static int
run_until(int (*done)(uint64_t now), uint64_t deadline, const char *phase)
{
    struct epoll_event evs[256];

    for (;;) {
        uint64_t now = bench_now_ns();
        int n, ms;

        if (B.failed)
            return -1;
        progress(phase, now);
        if (done(now))
            return 0;
        if (now >= deadline)
            return 1;
        ms = (int)((deadline - now) / 1000000 + 1);
        if (ms > 50)
            ms = 50;                    /* to notice idle and ticks */
        if (B.npump > 0)
            ms = 0;
        n = epoll_wait(B.epfd, evs, 256, ms);
        if (n < 0 && errno != EINTR) {
            fail("epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n && !B.failed; i++)
            handle_event(&evs[i]);
        if (B.sending && B.conf->rate == 0)
            pump_all();
        if (!B.sending)
            open_more();
    }
}

static int
all_ready(uint64_t now)
{
    return B.res->connected == B.nconn;
}

static int
settled(uint64_t now)
{
    return now - B.last_input >= SETTLE_NS;
}

/*
 * The send phase is over when everything was sent and delivered, or when
 * nothing was sent or delivered for drain_ms.
 */
static int
run_done(uint64_t now)
{
    if (B.res->sent == B.res->planned &&
        B.res->delivered >= B.res->sent * B.per_msg) {
        B.res->stop = "complete";
        return 1;
    }
    if (now - B.last_progress >= (uint64_t)B.conf->drain_ms * 1000000ull) {
        B.res->stop = "drain timeout";
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ setup */

/*
 * Resolve the server address for each port of -p (a comma-separated
 * list): the first result getaddrinfo gives for each.
 */
static int
resolve(void)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    char ports[256], *p, *save = NULL;

    snprintf(ports, sizeof(ports), "%s", B.conf->port);
    for (p = strtok_r(ports, ",", &save); p && B.nai < BENCH_PORTS_MAX;
         p = strtok_r(NULL, ",", &save)) {
        int rc = getaddrinfo(B.conf->host, p, &hints, &B.ai[B.nai]);
        if (rc != 0) {
            fail("%s port %s: %s", B.conf->host, p, gai_strerror(rc));
            return -1;
        }
        B.nai++;
    }
    return 0;
}

/* Build the connection table, the senders and the delivery records. */
static void
setup_tables(void)
{
    const struct bench_conf *c = B.conf;
    uint32_t nrx = (uint32_t)c->clients;

    B.nsnd = (uint32_t)c->senders;
    B.nconn = (size_t)nrx + (c->proto == BENCH_REDIS ? B.nsnd : 0);
    B.conn = xcalloc(B.nconn, sizeof(*B.conn));
    for (size_t i = 0; i < B.nconn; i++) {
        B.conn[i].fd = -1;
        B.conn[i].rx = i < nrx ? (uint32_t)i : NO_SENDER;
        B.conn[i].snd = NO_SENDER;
        B.conn[i].is_pub = i >= nrx;
    }
    B.snd = xcalloc(B.nsnd ? B.nsnd : 1, sizeof(*B.snd));
    B.pump = xcalloc(B.nsnd ? B.nsnd : 1, sizeof(*B.pump));
    if (c->rate > 0)
        B.res->planned = (uint64_t)(c->rate * c->duration + 0.5);
    else
        B.res->planned = (uint64_t)c->messages * B.nsnd;
    for (uint32_t i = 0; i < B.nsnd; i++) {
        struct sender *s = &B.snd[i];
        s->conn = c->proto == BENCH_REDIS ? nrx + i : i;
        s->ack_rx = (i + 1) % nrx;
        s->total = (uint32_t)(B.res->planned / B.nsnd +
                              (i < B.res->planned % B.nsnd));
        B.conn[s->conn].snd = i;
    }
    B.per_msg = c->proto == BENCH_REDIS ? nrx : nrx - 1;
    if (B.nsnd > 0) {
        uint32_t most = B.snd[0].total;         /* sender 0 has the most */
        B.words = (most + 63) / 64;
        B.track = xcalloc((size_t)nrx * B.nsnd, sizeof(*B.track));
        for (size_t i = 0; i < (size_t)nrx * B.nsnd; i++)
            B.track[i].seen = xcalloc(B.words ? B.words : 1,
                                      sizeof(uint64_t));
    }
    if (c->proto == BENCH_REDIS) {
        char head[256];
        int n = snprintf(head, sizeof(head),
                         "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%ld\r\n",
                         strlen(c->channel), c->channel, c->size);
        B.pub_prefix = xstrdup(head);
        B.pub_prefix_len = (size_t)n;
    }
    B.rbuf = xmalloc(RBUF_SIZE);
}

/* Close every connection and free every table. */
static void
teardown(void)
{
    for (size_t i = 0; i < B.nconn; i++) {
        if (B.conn[i].fd >= 0 && close(B.conn[i].fd) < 0)
            fprintf(stderr, "chatbench: close: %s\n", strerror(errno));
        free(B.conn[i].rest);
        free(B.conn[i].out);
    }
    if (B.track != NULL)
        for (size_t i = 0; i < (size_t)B.conf->clients * B.nsnd; i++)
            free(B.track[i].seen);
    free(B.track);
    free(B.conn);
    free(B.snd);
    free(B.pump);
    free(B.rbuf);
    free(B.pub_prefix);
    for (size_t i = 0; i < B.nai; i++)
        freeaddrinfo(B.ai[i]);
    if (B.timerfd >= 0)
        close(B.timerfd);
    if (B.epfd >= 0)
        close(B.epfd);
}

/*
 * Start the send phase: sample the server, then either arm the rate
 * timer or let every sender fill its window.
 */
static int
start_sending(void)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMER_TAG };

    if (B.conf->server_pid > 0)
        procstat_read(B.conf->server_pid, &B.res->ps_start);
    B.sending = 1;
    B.res->started = 1;
    B.t_run = B.last_progress = B.last_delivery = bench_now_ns();
    B.tick_delivered = 0;
    if (B.conf->rate > 0) {
        B.timerfd = timerfd_create(CLOCK_MONOTONIC,
                                   TFD_NONBLOCK | TFD_CLOEXEC);
        if (B.timerfd < 0 ||
            epoll_ctl(B.epfd, EPOLL_CTL_ADD, B.timerfd, &ev) < 0) {
            fail("timerfd: %s", strerror(errno));
            return -1;
        }
        rate_send();
    } else {
        for (uint32_t i = 0; i < B.nsnd; i++)
            pump_later(&B.snd[i]);
    }
    return 0;
}

/*
 * Run one benchmark as configured in c, filling r.  Returns 0 when the
 * run took place (r says how well), -1 after a fatal error that has been
 * reported on stderr (connect refused, server full, ...).
 */
int
bench_run(const struct bench_conf *c, struct bench_result *r)
{
    uint64_t t0 = bench_now_ns();
    uint64_t deadline = t0 + (uint64_t)(c->timeout_s * 1e9);
    int rc;

    memset(&B, 0, sizeof(B));
    B.conf = c;
    B.res = r;
    B.epfd = B.timerfd = -1;
    memset(r, 0, sizeof(*r));
    hist_init(&r->lat);
    r->stop = "error";
    if (c->server_pid > 0)
        procstat_read(c->server_pid, &r->ps_before);
    if (resolve() < 0)
        return -1;
    if ((B.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        fail("epoll_create1: %s", strerror(errno));
        return -1;
    }
    setup_tables();
    B.next_tick = t0 + TICK_NS;
    open_more();
    rc = run_until(all_ready, deadline, "connecting");
    r->connect_s = (double)(bench_now_ns() - t0) / 1e9;
    if (rc == 1) {
        r->stop = "timeout while connecting";
        fail("timed out with %llu of %zu connections ready",
             (unsigned long long)r->connected, B.nconn);
    }
    if (rc == 0)
        rc = run_until(settled, deadline, "settling");
    if (rc == 0 && B.nsnd == 0) {
        r->stop = "idle";
        if (c->server_pid > 0)
            procstat_read(c->server_pid, &r->ps_end);
    } else if (rc == 0 && start_sending() == 0) {
        rc = run_until(run_done, deadline, "running");
        if (rc == 1)
            r->stop = "hard timeout";
        r->run_s = (double)(B.last_delivery - B.t_run) / 1e9;
        if (c->server_pid > 0)
            procstat_read(c->server_pid, &r->ps_end);
    }
    r->expected = r->sent * B.per_msg;
    end_progress();
    teardown();
    return B.failed ? -1 : 0;
}
