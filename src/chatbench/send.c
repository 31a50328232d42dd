/*
 * send.c: chatbench's senders: their table, formatting messages, the
 * window-driven full-speed pump (for -m messages, or flat out for -D
 * seconds) and the fixed-rate timer (-r).  Called from chatbench's only
 * thread.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#include "payload.h"
#include "run.h"
#include "xmalloc.h"

#define OUT_HIGH (16 * 1024)    /* a sender stops formatting past this */
#define PUMP_ROUNDS 4           /* buffer refills per sender per turn */

/* Queue message seq of sender s, stamped t_ns, on its connection. */
static void
send_message(struct sender *s, uint32_t seq, uint64_t t_ns)
{
    struct conn *c = &bench.conn[s->conn];
    size_t size = (size_t)bench.conf->size;
    struct payload p = { .sender = (uint32_t)(s - bench.snd), .seq = seq,
                         .t_ns = t_ns };
    char *o;

    if (bench.conf->proto == BENCH_REDIS) {
        const char *pre = bench.pub_prefix[c->room];
        size_t pl = bench.pub_prefix_len[c->room];
        o = out_reserve(c, pl + size + 2);
        memcpy(o, pre, pl);
        payload_encode(o + pl, size, &p);
        memcpy(o + pl + size, "\r\n", 2);
        c->out_len += pl + size + 2;
    } else {
        o = out_reserve(c, size + 1);
        payload_encode(o, size, &p);
        o[size] = '\n';
        c->out_len += size + 1;
    }
    bench.res->sent++;
    bench.due += s->fanout;
}

/* Put sender s on the list of senders to pump, once. */
void
send_later(struct sender *s)
{
    if (!s->dirty) {
        s->dirty = 1;
        bench.pump[bench.npump++] = (uint32_t)(s - bench.snd);
    }
}

/*
 * Full-speed mode: let sender s send what its window allows, until its
 * total or (-D) t_end, stamping each message with the time it is
 * formatted.  A few buffer refills per call keep one sender from
 * starving the others; if it could go on, it is queued again.
 */
static void
sender_pump(struct sender *s)
{
    struct conn *c = &bench.conn[s->conn];
    long w = bench.conf->window;
    uint64_t now = bench_now_ns();

    for (int round = 0; round < PUMP_ROUNDS; round++) {
        if (c->state != C_READY)
            return;
        while (s->next < s->total && now < bench.t_end &&
               (w == 0 || s->next - s->acked < (uint64_t)w) &&
               c->out_len - c->out_off < OUT_HIGH) {
            send_message(s, s->next++, now);
            bench.last_progress = bench.last_send = now = bench_now_ns();
        }
        if (conn_flush(c) < 0 || c->out_len > 0)
            return;                     /* closed, or EPOLLOUT will call */
        if (s->next == s->total || now >= bench.t_end ||
            (w != 0 && s->next - s->acked >= (uint64_t)w))
            return;                     /* done, or the window is full */
    }
    send_later(s);
}

/* Run the pump list; senders may queue themselves again. */
void
send_pump_all(void)
{
    uint32_t n = bench.npump;

    bench.npump = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct sender *s = &bench.snd[bench.pump[i]];
        s->dirty = 0;
        sender_pump(s);
    }
}

/* Rate mode: the intended send time of message k overall. */
static uint64_t
rate_time(uint64_t k)
{
    return bench.t_run + (uint64_t)((double)k * 1e9 / bench.conf->rate);
}

/*
 * Rate mode: queue every message whose intended time has come, stamped
 * with that time (not the time it is written, so a stalled socket shows
 * up as latency), and arm the timer for the next one.
 */
void
send_rate_due(void)
{
    uint64_t now = bench_now_ns();
    struct itimerspec its = { 0 };
    uint64_t t;

    while (bench.rate_k < bench.res->planned &&
           (t = rate_time(bench.rate_k)) <= now) {
        struct sender *s = &bench.snd[bench.rate_k % bench.nsnd];
        if (bench.conn[s->conn].state == C_READY) {
            send_message(s, (uint32_t)(bench.rate_k / bench.nsnd), t);
            s->next++;
            send_later(s);
        }
        bench.rate_k++;
        bench.last_progress = bench.last_send = now;
    }
    for (uint32_t i = 0; i < bench.npump; i++) {
        struct sender *s = &bench.snd[bench.pump[i]];
        s->dirty = 0;
        if (bench.conn[s->conn].state == C_READY)
            conn_flush(&bench.conn[s->conn]);
    }
    bench.npump = 0;
    if (bench.rate_k < bench.res->planned) {
        t = rate_time(bench.rate_k);
        its.it_value.tv_sec = (time_t)(t / 1000000000ull);
        its.it_value.tv_nsec = (long)(t % 1000000000ull);
    }
    if (timerfd_settime(bench.timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        bench_fail("timerfd_settime: %s", strerror(errno));
}

/*
 * Start the send phase: sample the server, then either arm the rate
 * timer or let every sender fill its window.
 */
int
send_start(void)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMER_TAG };

    if (bench.conf->server_pid > 0)
        procstat_read(bench.conf->server_pid, &bench.res->ps_start);
    bench.sending = 1;
    bench.res->started = 1;
    bench.t_run = bench.last_progress = bench.last_delivery = bench_now_ns();
    bench.last_send = bench.t_run;
    bench.t_end = bench.conf->rate > 0 || bench.conf->timed ?
        bench.t_run + (uint64_t)(bench.conf->duration * 1e9) : UINT64_MAX;
    bench.tick_delivered = 0;
    if (bench.conf->rate > 0) {
        bench.timerfd = timerfd_create(CLOCK_MONOTONIC,
                                       TFD_NONBLOCK | TFD_CLOEXEC);
        if (bench.timerfd < 0 ||
            epoll_ctl(bench.epfd, EPOLL_CTL_ADD, bench.timerfd, &ev) < 0) {
            bench_fail("timerfd: %s", strerror(errno));
            return -1;
        }
        send_rate_due();
    } else {
        for (uint32_t i = 0; i < bench.nsnd; i++)
            send_later(&bench.snd[i]);
    }
    return 0;
}

/*
 * Whether the senders have sent all they will (-r: every message is due;
 * -D alone: t_end has passed; -m: each has sent its total) and written
 * it to their sockets.  Senders whose connection closed are done.
 */
int
send_finished(void)
{
    const struct bench_conf *c = bench.conf;

    if (c->rate > 0 && bench.rate_k < bench.res->planned)
        return 0;
    if (c->timed && !bench.send_over)
        return 0;
    for (uint32_t i = 0; i < bench.nsnd; i++) {
        const struct sender *s = &bench.snd[i];
        const struct conn *cn = &bench.conn[s->conn];
        if (cn->state != C_READY)
            continue;
        if (cn->out_len > cn->out_off)
            return 0;
        if (c->rate == 0 && !c->timed && s->next < s->total)
            return 0;
    }
    return 1;
}

/*
 * -D without -r: how many messages each sender may send, so that the
 * delivery records (a bit per receiver, sender and message) stay within
 * TRACK_MAX_BYTES.
 */
static uint32_t
timed_cap(void)
{
    double bits = (double)TRACK_MAX_BYTES * 8.0 /
        ((double)bench.conf->clients * (double)bench.nsnd);

    return bits > 1e9 ? 1000000000u : (uint32_t)bits;
}

/*
 * The RESP PUBLISH prefix of each room's channel: CHANNEL, or with
 * --rooms CHANNEL#cbN.
 */
static void
prefix_setup(void)
{
    const struct bench_conf *c = bench.conf;

    bench.pub_prefix = xcalloc(bench.nroom, sizeof(*bench.pub_prefix));
    bench.pub_prefix_len = xcalloc(bench.nroom,
                                   sizeof(*bench.pub_prefix_len));
    for (uint32_t i = 0; i < bench.nroom; i++) {
        char ch[160], head[256];
        int len;

        if (c->rooms > 0)
            snprintf(ch, sizeof(ch), "%s#cb%u", c->channel, i);
        else
            snprintf(ch, sizeof(ch), "%s", c->channel);
        len = snprintf(head, sizeof(head),
                       "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%ld\r\n",
                       strlen(ch), ch, c->size);
        bench.pub_prefix[i] = xstrdup(head);
        bench.pub_prefix_len[i] = (size_t)len;
    }
}

/*
 * Build the senders: the planned messages spread over them (sender 0 has
 * the most), each one's connection, room, fanout and ack receiver (the
 * next member of its room, see run.h); the deliveries due if all goes
 * out; and the RESP PUBLISH prefixes.  Called once the connection table
 * exists.
 */
void
send_setup(void)
{
    const struct bench_conf *c = bench.conf;
    uint32_t nrx = (uint32_t)c->clients, n = bench.nsnd, R = bench.nroom;
    struct bench_result *r = bench.res;

    bench.snd = xcalloc(n ? n : 1, sizeof(*bench.snd));
    bench.pump = xcalloc(n ? n : 1, sizeof(*bench.pump));
    if (c->rate > 0)
        r->planned = (uint64_t)(c->rate * c->duration + 0.5);
    else if (c->timed)
        r->planned = n > 0 ? (uint64_t)timed_cap() * n : 0;
    else
        r->planned = (uint64_t)c->messages * n;
    for (uint32_t i = 0; i < n; i++) {
        struct sender *s = &bench.snd[i];
        uint32_t members = room_members(i % R);
        s->conn = c->proto == BENCH_REDIS ? nrx + i : i;
        s->ack_rx = i + R < nrx ? i + R : i % R;
        s->fanout = c->proto == BENCH_REDIS ? members : members - 1;
        s->total = (uint32_t)(r->planned / n + (i < r->planned % n));
        bench.conn[s->conn].snd = i;
        bench.conn[s->conn].room = i % R;
        bench.planned_due += (uint64_t)s->total * s->fanout;
    }
    bench.per_msg = r->planned > 0 ?
        (double)bench.planned_due / (double)r->planned : 1;
    if (c->proto == BENCH_REDIS)
        prefix_setup();
}

/* Free what send_setup() built. */
void
send_free(void)
{
    free(bench.snd);
    free(bench.pump);
    for (uint32_t i = 0; bench.pub_prefix != NULL && i < bench.nroom; i++)
        free(bench.pub_prefix[i]);
    free(bench.pub_prefix);
    free(bench.pub_prefix_len);
}
