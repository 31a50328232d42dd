/*
 * worker.c: the worker threads and their event loop.
 *
 * Ownership: a struct worker and every client in it belong to the
 * worker's thread, except what other threads may use: w->q (the
 * acceptor, through worker_handoff()), w->mb (the hub and the cluster
 * append to it), and w->load and w->stats (read by anyone).  The pool
 * array is fixed from worker_pool_start() to worker_pool_stop(), both on
 * the main thread.
 *
 * One loop iteration: wait for events; read and run clients' lines (their
 * public lines collect in the outbox); serve throttled clients whose
 * tokens are due; publish the outbox through the hub and drain the mailbox
 * into the sendlog; take new sockets; write to the clients with something
 * new, in one write each; close the clients marked for it; trim the log.
 * Clients' bytes move through their transport (transport.h: TCP or TLS),
 * whichever it is.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acctcmd.h"
#include "client.h"
#include "clientset.h"
#include "clock.h"
#include "cluster.h"
#include "command.h"
#include "counter.h"
#include "feed.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "sendlog.h"
#include "session.h"
#include "transport.h"
#include "worker_int.h"
#include "wreplay.h"
#include "xmalloc.h"

#define WORKER_EVENTS       256
#define WORKER_STOP_MS      2000    /* flush time allowed on shutdown */
#define WORKER_FEED_LOW     4096    /* a feed tops up replies below this */

static atomic_ullong next_client_id = 1;



/* ------------------------------------------------------------------ */
/* Client state: owner thread                                          */
/* ------------------------------------------------------------------ */

/* Register the epoll events c needs now: those its transport waits for
 * to read, while it may read, and to write, while a write is blocked. */
static void
update_events(struct worker *w, struct client *c)
{
    unsigned want = tport_events(c->tp, c->reading, c->blocked);
    struct epoll_event ev = { .events = want, .data.ptr = c };

    if (want == c->events)
        return;
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        log_warn("client %llu (%s): epoll_ctl", (unsigned long long)c->id,
                 c->addr);
        worker_close_client(w, c, "internal error");
        return;
    }
    c->events = want;
}

/*
 * Mark c to be closed at the end of this loop iteration, for `reason` (a
 * string that outlives c, or c->reason).  It reads nothing more.
 */
void
worker_close_client(struct worker *w, struct client *c, const char *reason)
{
    if (c->closing)
        return;
    c->closing = reason;
    c->reading = 0;
    /* A client on the flush list moves to the close list when the list
     * is flushed (flush_clients()); dnext links either list. */
    if (!c->dirty) {
        c->dnext = w->closeq;
        w->closeq = c;
    }
}

/* Have c flushed in this loop iteration.  A client marked for closing
 * is already on the close list, or moves there from the flush list. */
void
worker_mark_dirty(struct worker *w, struct client *c)
{
    if (c->dirty || c->closing)
        return;
    c->dirty = 1;
    c->dnext = w->flushq;
    w->flushq = c;
}

static void
unthrottle(struct worker *w, struct client *c)
{
    if (!c->throttled)
        return;
    c->throttled = 0;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        w->throttled = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    c->tprev = c->tnext = NULL;
}

/* Put c on the list served once c->wake_ms is due. */
static void
throttle(struct worker *w, struct client *c)
{
    if (c->throttled)
        return;
    c->throttled = 1;
    c->tprev = NULL;
    c->tnext = w->throttled;
    if (w->throttled)
        w->throttled->tprev = c;
    w->throttled = c;
}

/* Bytes of replies below which a feed tops up, and above which a client's
 * next lines wait: its own replies never build up past this. */
static size_t
reply_low(const struct worker *w)
{
    size_t low = (size_t)w->conf->sendq / 4;

    return low < WORKER_FEED_LOW ? low : WORKER_FEED_LOW;
}

/*
 * May c run its next line now?  Not while it is closing, waiting for the
 * cluster or a long reply, or has many replies unread (its lines wait and
 * TCP pushes back: nobody is cut for its own replies), nor once the
 * server is stopping.
 */
static int
can_run(const struct worker *w, const struct client *c)
{
    return !c->closing && !c->claiming && !c->storing && c->feed == NULL &&
           !c->replay_wait &&
           !w->stopping && c->rq_bytes < reply_low(w);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* Let c's feed top up its replies; when the feed is done, c reads its
 * next lines on the next round (through the throttled list). */
static void
feed_step(struct worker *w, struct client *c)
{
    if (c->feed == NULL)
        return;
    if (feed_fill(c->feed, c, reply_low(w)))
        return;
    feed_free(c->feed);
    c->feed = NULL;
    if (!c->replay_wait)
        c->replaying = 0;       /* its live lines go on */
    c->wake_ms = 0;
    throttle(w, c);
}

/* Write to c what it has pending; cut it if it is too far behind. */
static void
flush_client(struct worker *w, struct client *c)
{
    uint64_t lines = 0, bytes = 0;
    int rc;

    if (c->closing)
        return;
    do {
        feed_step(w, c);
        rc = client_flush(c, &w->log, &lines, &bytes);
    } while (rc == 0 && !c->blocked && c->feed != NULL);
    counter_add(&w->stats.lines_out, lines);
    counter_add(&w->stats.bytes_out, bytes);
    if (rc < 0) {
        snprintf(c->reason, sizeof(c->reason), "write error: %s",
                 strerror(errno));
        worker_close_client(w, c, c->reason);
        return;
    }
    if (client_backlog(c, &w->log) > (uint64_t)w->conf->sendq) {
        log_warnx("client %llu (%s) %s: over %ld unsent bytes, closing",
                  (unsigned long long)c->id, c->addr, c->nick,
                  w->conf->sendq);
        counter_add(&w->stats.slow, 1);
        worker_close_client(w, c, "too slow: send queue full");
        return;
    }
    /* Its replies drained: it may read its next lines again. */
    if (!c->reading && !c->throttled && can_run(w, c)) {
        c->wake_ms = 0;
        throttle(w, c);
    }
    update_events(w, c);
}

/* Flush every client with something new: all after a broadcast, else
 * those with replies. */
static void
flush_clients(struct worker *w)
{
    struct client *c, *next;

    for (c = w->flushq; c != NULL; c = next) {
        next = c->dnext;
        c->dirty = 0;
        c->dnext = NULL;
        if (c->closing) {
            c->dnext = w->closeq;
            w->closeq = c;
        } else if (!w->flush_all) {
            flush_client(w, c);
        }
    }
    w->flushq = NULL;
    if (w->flush_all) {
        w->flush_all = 0;
        for (c = w->clients.first; c != NULL; c = c->next)
            flush_client(w, c);
    }
}

/*
 * The log holds more than sendq bytes: cut the blocked clients that keep
 * more than that from being trimmed.  A client's own backlog counts its
 * broadcasts and its direct lines only; one that stops reading while the
 * others exchange only direct lines (private messages) would otherwise
 * hold the log, and memory, growing for good.
 */
static void
cut_pinning(struct worker *w)
{
    uint64_t limit = (uint64_t)w->conf->sendq;

    if (sendlog_bytes(&w->log) <= limit)
        return;
    for (struct client *c = w->clients.first; c != NULL; c = c->next) {
        if (c->closing || !c->blocked || client_pinned(c, &w->log) <= limit)
            continue;
        log_warnx("client %llu (%s) %s: holding over %ld bytes of the "
                  "send log, closing", (unsigned long long)c->id, c->addr,
                  c->nick, w->conf->sendq);
        counter_add(&w->stats.slow, 1);
        worker_close_client(w, c, "too slow: send queue full");
    }
}

/*
 * Close c for good: one last write of what it has pending, leave the hub
 * (the leave notice goes to the outbox), release its sendlog entries,
 * close the socket and free it.
 */
static void
finish_client(struct worker *w, struct client *c)
{
    uint64_t lines = 0, bytes = 0;

    if (!c->blocked && client_flush(c, &w->log, &lines, &bytes) == 0) {
        counter_add(&w->stats.lines_out, lines);
        counter_add(&w->stats.bytes_out, bytes);
    }
    /* A quit reason is the client's text: not logged by default. */
    if (strncmp(c->closing, "quit: ", 6) == 0) {
        log_info("client %llu (%s) %s left: quit",
                 (unsigned long long)c->id, c->addr, c->nick);
        log_debug("client %llu (%s) %s left: %s",
                  (unsigned long long)c->id, c->addr, c->nick, c->closing);
    } else {
        log_info("client %llu (%s) %s left: %s", (unsigned long long)c->id,
                 c->addr, c->nick, c->closing);
    }
    wreplay_forget(w, c);
    wreplay_left_all(c);
    if (c->user) {
        hub_leave(c->user, c->closing, &w->outbox);
        cluster_release(c->nick);
    }
    unthrottle(w, c);
    client_pass_all(c, &w->log);        /* its rooms tell what it held */
    while (c->nrooms > 0)
        wrooms_leave(&w->rooms, c, c->nrooms - 1);
    clientset_remove(&w->clients, c);
    atomic_fetch_sub_explicit(&w->stats.clients[c->tp->ops->kind], 1,
                              memory_order_relaxed);
    feed_free(c->feed);
    client_free(c);
    atomic_fetch_sub(&w->load, 1);
}

/* ------------------------------------------------------------------ */
/* Input                                                               */
/* ------------------------------------------------------------------ */

/*
 * Run c's buffered lines while it has tokens.  Out of tokens, c is
 * throttled: it stops reading (TCP pushes back on the sender) and the
 * rest waits in its buffer until a token is due.  Delayed, never lost.
 * A line that starts a long reply or a nickname claim also makes the
 * rest wait, until the reply is sent or the answer is in.
 */
void
worker_run_lines(struct worker *w, struct client *c, int64_t now)
{
    struct session s = { w, c };
    char *line;
    size_t len;

    while (can_run(w, c) && linebuf_has_line(&c->in)) {
        if (!client_take_token(c, now, w->conf->rate, w->conf->burst)) {
            throttle(w, c);
            break;
        }
        switch (linebuf_next(&c->in, &line, &len)) {
        case LINEBUF_LINE:
            counter_add(&w->stats.lines_in, 1);
            command_line(&s, line, len);
            break;
        case LINEBUF_TOOLONG:
            command_too_long(&s);
            break;
        case LINEBUF_NONE:
            break;
        }
    }
    if (!linebuf_has_line(&c->in))
        linebuf_next(&c->in, &line, &len);      /* frees an empty buffer */
    c->reading = can_run(w, c) && !c->throttled &&
                 !linebuf_has_line(&c->in);
    update_events(w, c);
}

/*
 * c's socket is readable: read once (fairness), then what the transport
 * has already decoded (epoll would not report it), and run what came.
 */
static void
on_readable(struct worker *w, struct client *c, int64_t now)
{
    ssize_t n;
    size_t got = 0;

    do {
        n = tport_read(c->tp, w->scratch, sizeof(w->scratch));
        if (n > 0) {
            linebuf_append(&c->in, w->scratch, (size_t)n);
            got += (size_t)n;
        }
    } while (n > 0 && tport_pending(c->tp) > 0);
    counter_add(&w->stats.bytes_in, (uint64_t)got);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        snprintf(c->reason, sizeof(c->reason), "read error: %s",
                 tport_strerror(c->tp, errno));
        worker_close_client(w, c, c->reason);
    } else if (n == 0) {
        worker_close_client(w, c, "connection closed");
    }
    if (got > 0 || n < 0)
        worker_run_lines(w, c, now);
}

/* Serve throttled clients whose next token is due. */
static void
serve_throttled(struct worker *w, int64_t now)
{
    struct client *c, *tn;

    for (c = w->throttled; c != NULL; c = tn) {
        tn = c->tnext;
        if (!c->closing && c->wake_ms <= now) {
            unthrottle(w, c);
            worker_run_lines(w, c, now);
        }
    }
}

/* The sooner of two epoll timeouts (-1: none). */
static int
min_timeout(int a, int b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Milliseconds until a throttled client's next token is due (-1: none).
 * Asked after settle(), which may throttle clients too. */
static int
throttle_timeout(struct worker *w, int64_t now)
{
    int64_t next = -1;

    for (struct client *c = w->throttled; c != NULL; c = c->tnext)
        if (next < 0 || c->wake_ms - now < next)
            next = c->wake_ms > now ? c->wake_ms - now : 0;
    return (int)next;
}

/* ------------------------------------------------------------------ */
/* New clients                                                         */
/* ------------------------------------------------------------------ */

/* Best-effort line to a transport that is about to be closed. */
static void
refuse(struct transport *tp, const char *line)
{
    struct iovec iov = { (void *)line, strlen(line) };
    ssize_t n = tport_writev(tp, &iov, 1);

    (void)n;
    tport_close(tp);
}

/* Register c with epoll and greet it; c has joined the hub. */
static void
greet(struct worker *w, struct client *c, struct hub_welcome *wel,
      int64_t now)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
                              .data.ptr = c };
    int one = 1;

    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memcpy(c->nick, wel->nick, sizeof(c->nick));
    c->join_seq = wel->join_seq;
    c->cur = w->log.head;
    c->tokens = (double)w->conf->burst;
    c->refill_ms = now;
    c->reading = 1;
    c->events = ev.events;
    clientset_add(&w->clients, c);
    wrooms_join(&w->rooms, c, wel->room, wel->room_name, 1, wel->join_seq);
    c->current = 0;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        log_warn("client %s: epoll_ctl", c->addr);
        worker_close_client(w, c, "internal error");
    }
    counter_add(&w->stats.connections, 1);
    atomic_fetch_add_explicit(&w->stats.clients[c->tp->ops->kind], 1,
                              memory_order_relaxed);
    log_info("client %llu (%s) connected as %s", (unsigned long long)c->id,
             c->addr, c->nick);
    command_welcome(&(struct session){ w, c }, wel);
}

/* Take a socket from the acceptor (tp NULL: plain TCP) or a finished
 * TLS handshake: register, greet, replay history. */
static void
accept_client(struct worker *w, int fd, struct transport *tp, int64_t now)
{
    struct hub_welcome wel;
    char banned[256];
    struct client *c;

    if (tp == NULL)
        tp = tport_plain_new(fd);
    if (w->stopping) {
        refuse(tp, "*** error: server shutting down\n");
        atomic_fetch_sub(&w->load, 1);
        return;
    }
    c = client_new(tp, atomic_fetch_add(&next_client_id, 1),
                   (size_t)w->conf->max_line);
    if (acctcmd_refusal(c->addr, banned, sizeof(banned))) {
        log_info("client %s refused: banned", c->addr);
        c->tp = NULL;
        refuse(tp, banned);
        client_free(c);
        atomic_fetch_sub(&w->load, 1);
        return;
    }
    c->user = hub_join(c->id, w->index, &wel, &w->outbox);
    if (c->user == NULL) {
        char line[64];
        log_warnx("client %s refused: %s", c->addr, wel.refused);
        snprintf(line, sizeof(line), "*** error: %s\n", wel.refused);
        c->tp = NULL;
        refuse(tp, line);
        client_free(c);
        atomic_fetch_sub(&w->load, 1);
        return;
    }
    greet(w, c, &wel, now);
    /* Bytes its transport already holds (a WebSocket's first frames,
     * read with the upgrade) would wake no epoll. */
    if (!c->closing && tport_pending(c->tp) > 0)
        on_readable(w, c, now);
}

static void
accept_clients(struct worker *w, int64_t now)
{
    void *tp;
    int fd;

    while ((fd = workq_trypop_data(&w->q, &tp)) >= 0)
        accept_client(w, fd, tp, now);
}

/* MBOX_STOP: no more sockets, no more reading; flush and close. */
void
worker_start_stopping(struct worker *w)
{
    w->stopping = 1;
    w->stop_deadline = clock_ms() + WORKER_STOP_MS;
    workq_close(&w->q);     /* no more sockets; queued ones are refused */
    wreplay_expire(w, INT64_MAX);   /* no replay will come now */
    for (struct client *c = w->clients.first; c; c = c->next) {
        c->reading = 0;
        update_events(w, c);
    }
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

/*
 * Take new sockets, publish, deliver and close until nothing is left to
 * do.  The order matters:
 *  - the mailbox before new sockets, so a client accepted after a SIGHUP
 *    is served under the configuration (MBOX_CONF) posted before it;
 *  - new sockets before publishing, so a client's join notice is numbered
 *    before its welcome can go out: whoever joins after it hears of it
 *    through the welcome's count and /who, never as a join notice.
 */
static void
settle(struct worker *w)
{
    worker_drain(w);
    accept_clients(w, clock_ms());
    do {
        hub_publish(&w->outbox, w->index);
        worker_drain(w);
        flush_clients(w);
        sendlog_trim(&w->log);
        cut_pinning(w);
        while (w->closeq != NULL) {
            struct client *c = w->closeq;
            w->closeq = c->dnext;
            finish_client(w, c);
        }
    } while (w->outbox.len > 0);
    sendlog_trim(&w->log);
}

/* Shutting down: done when every client has been sent everything, or
 * the deadline has passed. */
static int
stop_done(struct worker *w, int64_t now)
{
    struct client *c;

    /* Flush everyone first: a client with nothing of its own left is
     * done even if its cursor lags behind other clients' lines. */
    if (now < w->stop_deadline) {
        for (c = w->clients.first; c != NULL; c = c->next)
            flush_client(w, c);
        for (c = w->clients.first; c != NULL; c = c->next)
            if (!c->closing && (c->cur < w->log.head || c->rq_len > 0))
                return 0;
    }
    for (c = w->clients.first; c != NULL; c = c->next)
        worker_close_client(w, c, "server shutting down");
    settle(w);
    return 1;
}

static void
handle_event(struct worker *w, struct epoll_event *ev, int64_t now)
{
    struct client *c = ev->data.ptr;
    int can_read, can_write;

    if (c->closing)
        return;
    tport_ready(c->tp, ev->events, &can_read, &can_write);
    if (can_write && c->blocked) {
        c->blocked = 0;
        worker_mark_dirty(w, c);
    }
    if (can_read && (c->reading || (ev->events & (EPOLLHUP | EPOLLERR))))
        on_readable(w, c, now);
}

/* The thread: the loop described at the top of the file. */
void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event events[WORKER_EVENTS];
    int timeout = -1;

    log_set_role(w->name);
    log_debug("started");
    for (;;) {
        int n = epoll_wait(w->epfd, events, WORKER_EVENTS, timeout);
        if (n < 0 && errno != EINTR)
            fatal("epoll_wait");
        int64_t now = clock_ms();
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr != NULL)
                handle_event(w, &events[i], now);
            else
                mbox_clear(&w->mb); /* before the queue and mailbox */
        }
        serve_throttled(w, now);
        wreplay_expire(w, now);
        settle(w);
        now = clock_ms();
        timeout = min_timeout(throttle_timeout(w, now),
                              wreplay_timeout(w, now));
        if (w->stopping) {
            if (stop_done(w, now))
                break;
            timeout = 50;
        }
    }
    log_debug("stopped");
    return NULL;
}
