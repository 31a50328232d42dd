/*
 * loop.c: one chatbench run: the tables, the epoll loop and its phases.
 * Connect everyone (a bounded number at a time) and wait for each
 * greeting (chat: the first "*** " notice, and with --rooms the answer
 * to its /join; redis: the SUBSCRIBE confirmation or PONG), let the join
 * notices settle, then send, then
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

#include "btls.h"
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
    if (c->state == C_TLS) {
        btls_step(c);
        return;
    }
    if (c->ssl != NULL) {           /* either readiness may serve both */
        recv_read(c);
        if (c->state != C_CLOSED && conn_flush(c) == 0 &&
            c->snd != NO_SENDER && bench.sending && bench.conf->rate == 0)
            send_later(&bench.snd[c->snd]);
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

/* Connecting is over when every connection has been greeted. */
static int
all_ready(uint64_t now)
{
    return bench.res->connected == bench.nconn;
}

/* Settling is over when nothing was read for SETTLE_NS. */
static int
settled(uint64_t now)
{
    return now - bench.last_input >= SETTLE_NS;
}

/*
 * The send phase is over when everything was sent and delivered
 * ("complete"); when the senders are done, their output is written and
 * nothing has arrived for drain_ms ("drained": what is missing then is
 * lost); or when watch_stalled() finds that the run cannot end in time
 * ("stalled": what is missing may still arrive).  With -D and no -r,
 * sending ends at t_end and what was sent is what was planned.
 */
static int
run_done(uint64_t now)
{
    struct bench_result *r = bench.res;
    uint64_t drain = (uint64_t)bench.conf->drain_ms * 1000000ull;

    if (bench.conf->timed && !bench.send_over && now >= bench.t_end) {
        bench.send_over = 1;
        r->planned = r->sent;
    }
    if ((bench.conf->timed ? bench.send_over : r->sent == r->planned) &&
        r->delivered >= bench.due) {
        r->stop = "complete";
        return 1;
    }
    if (now - bench.last_progress >= drain && send_finished()) {
        r->stop = "drained";
        return 1;
    }
    if (watch_stalled(now)) {
        r->stop = "stalled";
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
    bench.nroom = c->rooms > 0 ? (uint32_t)c->rooms : 1;
    bench.nconn = (size_t)nrx + (c->proto == BENCH_REDIS ? bench.nsnd : 0);
    bench.conn = xcalloc(bench.nconn, sizeof(*bench.conn));
    for (size_t i = 0; i < bench.nconn; i++) {
        bench.conn[i].fd = -1;
        bench.conn[i].rx = i < nrx ? (uint32_t)i : NO_SENDER;
        bench.conn[i].room = (uint32_t)(i % bench.nroom);
        bench.conn[i].snd = NO_SENDER;
        bench.conn[i].is_pub = i >= nrx;
    }
    send_setup();
    recv_setup();
    bench.rbuf = xmalloc(RBUF_SIZE);
}

/* Close every connection and free every table. */
static void
teardown(void)
{
    for (size_t i = 0; i < bench.nconn; i++) {
        btls_close(&bench.conn[i]);
        if (bench.conn[i].fd >= 0 && close(bench.conn[i].fd) < 0)
            fprintf(stderr, "chatbench: close: %s\n", strerror(errno));
        free(bench.conn[i].rest);
        free(bench.conn[i].out);
    }
    btls_free();
    recv_free();
    send_free();
    free(bench.conn);
    free(bench.rbuf);
    for (size_t i = 0; i < bench.nai; i++)
        freeaddrinfo(bench.ai[i]);
    if (bench.timerfd >= 0)
        close(bench.timerfd);
    if (bench.epfd >= 0)
        close(bench.epfd);
}

/*
 * Connect every client and wait for their greetings and the join notices
 * to settle.  Returns 0, or -1 if the run failed (said on stderr).
 */
static int
connect_all(uint64_t t0)
{
    struct bench_result *r = bench.res;
    int rc;

    open_more();
    rc = run_until(all_ready, bench.deadline, "connecting");
    r->connect_s = (double)(bench_now_ns() - t0) / 1e9;
    if (rc == 1) {
        r->stop = "timeout while connecting";
        bench_fail("timed out with %llu of %zu connections ready",
                   (unsigned long long)r->connected, bench.nconn);
        return -1;
    }
    if (rc == 0)
        rc = run_until(settled, bench.deadline, "settling");
    r->quiet_s = (double)(bench.last_input - t0) / 1e9;
    return rc == 0 ? 0 : -1;
}

/*
 * Send and receive until run_done() or -T, then tell what is missing
 * apart: lost if the run drained, pending (may still arrive) if not.
 */
static void
send_phase(void)
{
    const struct bench_conf *c = bench.conf;
    struct bench_result *r = bench.res;
    uint64_t missing;

    if (send_start() < 0)
        return;
    if (run_until(run_done, bench.deadline, "running") == 1)
        r->stop = "hard timeout";
    if (c->timed && !bench.send_over)
        r->planned = r->sent;
    r->run_s = (double)(bench.last_delivery - bench.t_run) / 1e9;
    if (c->server_pid > 0)
        procstat_read(c->server_pid, &r->ps_end);
    r->expected = bench.due;
    missing = r->expected > r->delivered ? r->expected - r->delivered : 0;
    if (strcmp(r->stop, "drained") == 0)
        r->lost = missing;
    else
        r->pending = missing;
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

    memset(&bench, 0, sizeof(bench));
    bench.conf = c;
    bench.res = r;
    bench.epfd = bench.timerfd = -1;
    bench.deadline = t0 + (uint64_t)(c->timeout_s * 1e9);
    memset(r, 0, sizeof(*r));
    hist_init(&r->lat);
    r->stop = "error";
    if (c->server_pid > 0)
        procstat_read(c->server_pid, &r->ps_before);
    if (resolve() < 0 || (c->tls && btls_init() < 0))
        return -1;
    if ((bench.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        bench_fail("epoll_create1: %s", strerror(errno));
        return -1;
    }
    setup_tables();
    bench.next_tick = t0 + TICK_NS;
    if (connect_all(t0) < 0) {
        /* said, or -T passed while settling: r->stop is "error" */
    } else if (bench.nsnd == 0) {
        r->stop = "idle";
        if (c->server_pid > 0)
            procstat_read(c->server_pid, &r->ps_end);
    } else {
        send_phase();
    }
    watch_end_line();
    teardown();
    return bench.failed ? -1 : 0;
}
