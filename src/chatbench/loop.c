/*
 * loop.c: one chatbench run: the tables, the epoll loop and its phases.
 * Connect everyone (a bounded number at a time) and wait for each
 * greeting (chat: the first "*** " notice; redis: the SUBSCRIBE
 * confirmation or PONG), let the join notices settle, then send, then
 * drain until every delivery is in or nothing arrives for drain_ms.
 * The run's state (run.h) is owned by the main (and only) thread.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "xmalloc.h"

#define SETTLE_NS 200000000ull  /* quiet time after connecting */

struct bench_state bench;

/* CLOCK_MONOTONIC in ns; the clock the payload time stamps use. */
uint64_t
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Dispatch one epoll event. */
static void
handle_event(const struct epoll_event *ev)
{
    struct conn *c;

    if (ev->data.u64 == TIMER_TAG) {
        uint64_t ticks;
        if (read(bench.timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
            bench_fail("timerfd read: %s", strerror(errno));
        send_rate_due();
        return;
    }
    c = &bench.conn[ev->data.u64];
    if (c->state == C_CLOSED)
        return;
    if (c->state == C_CONNECTING) {
        conn_connected(c);
        return;
    }
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        recv_read(c);
    if (c->state != C_CLOSED && (ev->events & EPOLLOUT)) {
        if (conn_flush(c) == 0 && c->snd != NO_SENDER && bench.sending &&
            bench.conf->rate == 0)
            send_later(&bench.snd[c->snd]);
    }
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

        if (bench.failed)
            return -1;
        watch_progress(phase, now);
        if (done(now))
            return 0;
        if (now >= deadline)
            return 1;
        ms = (int)((deadline - now) / 1000000 + 1);
        if (ms > 50)
            ms = 50;                    /* to notice idle and ticks */
        if (bench.npump > 0)
            ms = 0;
        n = epoll_wait(bench.epfd, evs, 256, ms);
        if (n < 0 && errno != EINTR) {
            bench_fail("epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n && !bench.failed; i++)
            handle_event(&evs[i]);
        if (bench.sending && bench.conf->rate == 0)
            send_pump_all();
        if (!bench.sending)
            open_more();
    }
}

static int
all_ready(uint64_t now)
{
    return bench.res->connected == bench.nconn;
}

static int
settled(uint64_t now)
{
    return now - bench.last_input >= SETTLE_NS;
}

/*
 * The send phase is over when everything was sent and delivered, or when
 * nothing was sent or delivered for drain_ms.
 */
static int
run_done(uint64_t now)
{
    if (bench.res->sent == bench.res->planned &&
        bench.res->delivered >= bench.res->sent * bench.per_msg) {
        bench.res->stop = "complete";
        return 1;
    }
    if (now - bench.last_progress >= (uint64_t)bench.conf->drain_ms * 1000000ull) {
        bench.res->stop = "drain timeout";
        return 1;
    }
    return 0;
}

/* Build the connection table, the senders and the delivery records. */
static void
setup_tables(void)
{
    const struct bench_conf *c = bench.conf;
    uint32_t nrx = (uint32_t)c->clients;

    bench.nsnd = (uint32_t)c->senders;
    bench.nconn = (size_t)nrx + (c->proto == BENCH_REDIS ? bench.nsnd : 0);
    bench.conn = xcalloc(bench.nconn, sizeof(*bench.conn));
    for (size_t i = 0; i < bench.nconn; i++) {
        bench.conn[i].fd = -1;
        bench.conn[i].rx = i < nrx ? (uint32_t)i : NO_SENDER;
        bench.conn[i].snd = NO_SENDER;
        bench.conn[i].is_pub = i >= nrx;
    }
    bench.snd = xcalloc(bench.nsnd ? bench.nsnd : 1, sizeof(*bench.snd));
    bench.pump = xcalloc(bench.nsnd ? bench.nsnd : 1, sizeof(*bench.pump));
    if (c->rate > 0)
        bench.res->planned = (uint64_t)(c->rate * c->duration + 0.5);
    else
        bench.res->planned = (uint64_t)c->messages * bench.nsnd;
    for (uint32_t i = 0; i < bench.nsnd; i++) {
        struct sender *s = &bench.snd[i];
        s->conn = c->proto == BENCH_REDIS ? nrx + i : i;
        s->ack_rx = (i + 1) % nrx;
        s->total = (uint32_t)(bench.res->planned / bench.nsnd +
                              (i < bench.res->planned % bench.nsnd));
        bench.conn[s->conn].snd = i;
    }
    bench.per_msg = c->proto == BENCH_REDIS ? nrx : nrx - 1;
    if (bench.nsnd > 0) {
        uint32_t most = bench.snd[0].total;         /* sender 0 has the most */
        bench.words = (most + 63) / 64;
        bench.track = xcalloc((size_t)nrx * bench.nsnd, sizeof(*bench.track));
        for (size_t i = 0; i < (size_t)nrx * bench.nsnd; i++)
            bench.track[i].seen = xcalloc(bench.words ? bench.words : 1,
                                      sizeof(uint64_t));
    }
    if (c->proto == BENCH_REDIS) {
        char head[256];
        int n = snprintf(head, sizeof(head),
                         "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%ld\r\n",
                         strlen(c->channel), c->channel, c->size);
        bench.pub_prefix = xstrdup(head);
        bench.pub_prefix_len = (size_t)n;
    }
    bench.rbuf = xmalloc(RBUF_SIZE);
}

/* Close every connection and free every table. */
static void
teardown(void)
{
    for (size_t i = 0; i < bench.nconn; i++) {
        if (bench.conn[i].fd >= 0 && close(bench.conn[i].fd) < 0)
            fprintf(stderr, "chatbench: close: %s\n", strerror(errno));
        free(bench.conn[i].rest);
        free(bench.conn[i].out);
    }
    if (bench.track != NULL)
        for (size_t i = 0; i < (size_t)bench.conf->clients * bench.nsnd; i++)
            free(bench.track[i].seen);
    free(bench.track);
    free(bench.conn);
    free(bench.snd);
    free(bench.pump);
    free(bench.rbuf);
    free(bench.pub_prefix);
    for (size_t i = 0; i < bench.nai; i++)
        freeaddrinfo(bench.ai[i]);
    if (bench.timerfd >= 0)
        close(bench.timerfd);
    if (bench.epfd >= 0)
        close(bench.epfd);
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

    memset(&bench, 0, sizeof(bench));
    bench.conf = c;
    bench.res = r;
    bench.epfd = bench.timerfd = -1;
    memset(r, 0, sizeof(*r));
    hist_init(&r->lat);
    r->stop = "error";
    if (c->server_pid > 0)
        procstat_read(c->server_pid, &r->ps_before);
    if (resolve() < 0)
        return -1;
    if ((bench.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        bench_fail("epoll_create1: %s", strerror(errno));
        return -1;
    }
    setup_tables();
    bench.next_tick = t0 + TICK_NS;
    open_more();
    rc = run_until(all_ready, deadline, "connecting");
    r->connect_s = (double)(bench_now_ns() - t0) / 1e9;
    if (rc == 1) {
        r->stop = "timeout while connecting";
        bench_fail("timed out with %llu of %zu connections ready",
             (unsigned long long)r->connected, bench.nconn);
    }
    if (rc == 0)
        rc = run_until(settled, deadline, "settling");
    if (rc == 0 && bench.nsnd == 0) {
        r->stop = "idle";
        if (c->server_pid > 0)
            procstat_read(c->server_pid, &r->ps_end);
    } else if (rc == 0 && send_start() == 0) {
        rc = run_until(run_done, deadline, "running");
        if (rc == 1)
            r->stop = "hard timeout";
        r->run_s = (double)(bench.last_delivery - bench.t_run) / 1e9;
        if (c->server_pid > 0)
            procstat_read(c->server_pid, &r->ps_end);
    }
    r->expected = r->sent * bench.per_msg;
    watch_end_line();
    teardown();
    return bench.failed ? -1 : 0;
}
