/*
 * worker.c: a worker thread and its event loop.
 *
 * Ownership: everything in struct worker below "Owner thread only" and
 * every client in w->clients belong to the worker's thread.  Other threads
 * use w->q (the acceptor, through worker_handoff()), w->mb (the hub) and
 * read w->load and w->stats.
 *
 * One loop iteration: wait for events; read and run clients' lines (their
 * public lines collect in the outbox); serve throttled clients whose
 * tokens are due; publish the outbox through the hub and drain the mailbox
 * into the sendlog; take new sockets; write to the clients with something
 * new, in one writev() each; close the clients marked for it; trim the log.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cluster.h"
#include "command.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "worker.h"
#include "xmalloc.h"

#define WORKER_EVENTS       256
#define WORKER_STOP_MS      2000    /* flush time allowed on shutdown */

static atomic_ullong next_client_id = 1;

static void *worker_main(void *arg);

int64_t
worker_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
count(atomic_ulong *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Start and stop: main thread                                         */
/* ------------------------------------------------------------------ */

/*
 * Create worker `index` and start its thread.  Main thread, before the
 * acceptor starts; the hub must be initialized.
 */
void
worker_start(struct worker *w, int index, const struct worker_conf *conf)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int rc;

    memset(w, 0, sizeof(*w));
    w->index = index;
    w->conf = conf;
    snprintf(w->name, sizeof(w->name), "worker %d", index);
    w->mb = hub_mbox(index);
    workq_init(&w->q);
    sendlog_init(&w->log);
    w->byid_cap = 256;
    w->byid = xcalloc(w->byid_cap, sizeof(*w->byid));
    if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        fatal("epoll_create1");
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->mb->efd, &ev) < 0)
        fatal("epoll_ctl");
    if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
        errno = rc;
        fatal("pthread_create");
    }
}

/*
 * Drop one reference to c; the last one frees it (and its MOTD).  Any
 * thread.  c was allocated by the main thread with refs set to the number
 * of workers it was given to.
 */
void
worker_conf_release(const struct worker_conf *c)
{
    struct worker_conf *mc = (struct worker_conf *)c;

    if (c != NULL &&
        atomic_fetch_sub_explicit(&mc->refs, 1, memory_order_acq_rel) == 1) {
        for (size_t i = 0; i < mc->nmotd; i++)
            msg_unref(mc->motd[i]);
        free(mc->motd);
        free(mc);
    }
}

/* Wait for the thread to end (after hub_shutdown()) and free w. */
void
worker_join(struct worker *w)
{
    int rc;

    if ((rc = pthread_join(w->thread, NULL)) != 0) {
        errno = rc;
        fatal("pthread_join");
    }
    workq_destroy(&w->q);
    sendlog_free(&w->log);
    mbox_vec_free(&w->outbox);
    mbox_vec_free(&w->inbox);
    free(w->byid);
    close(w->epfd);
}

/*
 * Give w an accepted socket.  Acceptor thread.  Returns with fd owned by
 * the worker (or closed, if the worker's queue is closed).
 */
void
worker_handoff(struct worker *w, int fd)
{
    atomic_fetch_add(&w->load, 1);
    if (workq_push(&w->q, fd) < 0) {
        atomic_fetch_sub(&w->load, 1);
        close(fd);
        return;
    }
    mbox_wake(w->mb);
}

/* ------------------------------------------------------------------ */
/* Client bookkeeping: owner thread                                    */
/* ------------------------------------------------------------------ */

static struct client **
byid_slot(struct worker *w, uint64_t id)
{
    return &w->byid[(id * 0x9E3779B97F4A7C15ULL >> 20) & (w->byid_cap - 1)];
}

static void
byid_grow(struct worker *w)
{
    struct client **old = w->byid;
    size_t oldcap = w->byid_cap;

    w->byid_cap *= 2;
    w->byid = xcalloc(w->byid_cap, sizeof(*w->byid));
    for (size_t i = 0; i < oldcap; i++) {
        struct client *c = old[i], *next;
        for (; c != NULL; c = next) {
            struct client **slot = byid_slot(w, c->id);
            next = c->hnext;
            c->hnext = *slot;
            *slot = c;
        }
    }
    free(old);
}

static struct client *
find_client(struct worker *w, uint64_t id)
{
    for (struct client *c = *byid_slot(w, id); c; c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}

static void
add_client(struct worker *w, struct client *c)
{
    if (w->nclients >= w->byid_cap)
        byid_grow(w);
    struct client **slot = byid_slot(w, c->id);
    c->hnext = *slot;
    *slot = c;
    c->next = w->clients;
    if (w->clients)
        w->clients->prev = c;
    w->clients = c;
    w->nclients++;
}

static void
remove_client(struct worker *w, struct client *c)
{
    struct client **pp = byid_slot(w, c->id);

    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nclients--;
}

/* Register the epoll events c needs now: EPOLLIN while it may read,
 * EPOLLOUT while its socket is full. */
static void
update_events(struct worker *w, struct client *c)
{
    unsigned want = (c->reading ? EPOLLIN | EPOLLRDHUP : 0) |
                    (c->blocked ? EPOLLOUT : 0);

    if (want == c->events)
        return;
    struct epoll_event ev = { .events = want, .data.ptr = c };
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        log_warn("client %llu (%s): epoll_ctl", (unsigned long long)c->id,
                 c->addr);
        worker_close(w, c, "internal error");
        return;
    }
    c->events = want;
}

static void
mark_dirty(struct worker *w, struct client *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->dnext = w->flushq;
    w->flushq = c;
}

/*
 * Queue m (one reference, given away) for c alone, straight into the
 * sendlog: replies, errors and notices for one client.
 */
void
worker_reply(struct worker *w, struct client *c, struct msg *m)
{
    if (c->closing) {
        msg_unref(m);
        return;
    }
    c->direct_bytes += m->len;
    sendlog_append(&w->log, m, 0, 0, c->id, 1);
    mark_dirty(w, c);
}

static void
vreply(struct worker *w, struct client *c, enum proto_kind kind,
       const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void
vreply(struct worker *w, struct client *c, enum proto_kind kind,
       const char *fmt, va_list ap)
{
    char text[1024];

    vsnprintf(text, sizeof(text), fmt, ap);
    worker_reply(w, c, msg_format(kind, NULL, text));
}

/* "*** text" to c alone. */
void
worker_notice(struct worker *w, struct client *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreply(w, c, PROTO_NOTICE, fmt, ap);
    va_end(ap);
}

/* "*** error: text" to c alone. */
void
worker_error(struct worker *w, struct client *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreply(w, c, PROTO_ERROR, fmt, ap);
    va_end(ap);
}

/*
 * Mark c to be closed at the end of this loop iteration, for `reason`
 * (a string that outlives c, or c->reason).  It reads nothing more.
 */
void
worker_close(struct worker *w, struct client *c, const char *reason)
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
        count(&w->stats.lines_out, lines);
        count(&w->stats.bytes_out, bytes);
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
    if (c->user) {
        hub_leave(c->user, c->closing, &w->outbox);
        cluster_release(c->nick);
    }
    unthrottle(w, c);
    client_pass_all(c, &w->log);
    remove_client(w, c);
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
 */
static void
run_lines(struct worker *w, struct client *c, int64_t now)
{
    char *line;
    size_t len;

    while (!c->closing && !c->claiming && linebuf_has_line(&c->in)) {
        if (!client_take_token(c, now, w->conf->rate, w->conf->burst)) {
            throttle(w, c);
            break;
        }
        switch (linebuf_next(&c->in, &line, &len)) {
        case LINEBUF_LINE:
            count(&w->stats.lines_in, 1);
            command_line(w, c, line, len);
            break;
        case LINEBUF_TOOLONG:
            command_too_long(w, c);
            break;
        case LINEBUF_NONE:
            break;
        }
    }
    if (!linebuf_has_line(&c->in))
        linebuf_next(&c->in, &line, &len);      /* frees an empty buffer */
    c->reading = !c->closing && !c->throttled && !c->claiming &&
                 !w->stopping && !linebuf_has_line(&c->in);
    update_events(w, c);
}

/* c's socket is readable: read once (fairness) and run what came. */
static void
on_readable(struct worker *w, struct client *c, int64_t now)
{
    ssize_t n = read(c->fd, w->scratch, sizeof(w->scratch));

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        snprintf(c->reason, sizeof(c->reason), "read error: %s",
                 strerror(errno));
        worker_close(w, c, c->reason);
        return;
    }
    if (n == 0) {
        worker_close(w, c, "connection closed");
        return;
    }
    count(&w->stats.bytes_in, (uint64_t)n);
    linebuf_append(&c->in, w->scratch, (size_t)n);
    run_lines(w, c, now);
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
            run_lines(w, c, now);
        }
    }
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

/* Best-effort line to a socket that is about to be closed. */
static void
refuse(int fd, const char *line)
{
    ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);

    (void)n;
    close(fd);
}

/* Take a socket from the acceptor: register, greet, replay history. */
static void
accept_client(struct worker *w, int fd, int64_t now)
{
    struct hub_welcome wel;
    struct client *c;
    int one = 1;

    if (w->stopping) {
        refuse(fd, "*** error: server shutting down\n");
        atomic_fetch_sub(&w->load, 1);
        return;
    }
    c = client_new(fd, atomic_fetch_add(&next_client_id, 1),
                   (size_t)w->conf->max_line);
    c->user = hub_join(c->id, w->index, &wel, &w->outbox);
    if (c->user == NULL) {
        char line[64];
        log_warnx("client %s refused: %s", c->addr, wel.refused);
        snprintf(line, sizeof(line), "*** error: %s\n", wel.refused);
        c->fd = -1;
        refuse(fd, line);
        client_free(c);
        atomic_fetch_sub(&w->load, 1);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memcpy(c->nick, wel.nick, sizeof(c->nick));
    c->join_seq = wel.join_seq;
    c->cur = w->log.head;
    c->tokens = (double)w->conf->burst;
    c->refill_ms = now;
    c->reading = 1;
    c->events = EPOLLIN | EPOLLRDHUP;
    add_client(w, c);
    struct epoll_event ev = { .events = c->events, .data.ptr = c };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        log_warn("client %s: epoll_ctl", c->addr);
        worker_close(w, c, "internal error");
    }
    count(&w->stats.connections, 1);
    log_info("client %llu (%s) connected as %s", (unsigned long long)c->id,
             c->addr, c->nick);
    command_welcome(w, c, wel.online);
    for (size_t i = 0; i < wel.nhistory; i++)
        worker_reply(w, c, wel.history[i]);
    free(wel.history);
}

static void
accept_clients(struct worker *w, int64_t now)
{
    int fd;

    while ((fd = workq_trypop(&w->q)) >= 0)
        accept_client(w, fd, now);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void
start_stopping(struct worker *w)
{
    w->stopping = 1;
    w->stop_deadline = worker_now_ms() + WORKER_STOP_MS;
    workq_close(&w->q);     /* no more sockets; queued ones are refused */
    for (struct client *c = w->clients; c; c = c->next) {
        c->reading = 0;
        update_events(w, c);
    }
}

/* Move the mailbox's entries into the sendlog. */
static void
drain_mailbox(struct worker *w)
{
    mbox_take(w->mb, &w->inbox);
    for (size_t i = 0; i < w->inbox.len; i++) {
        struct mbox_entry *e = &w->inbox.v[i];
        struct client *c;

        switch (e->kind) {
        case MBOX_BROADCAST:
            sendlog_append(&w->log, e->msg, e->seq, e->from, 0,
                           (uint32_t)w->nclients);
            w->flush_all = 1;
            break;
        case MBOX_DIRECT:
            c = find_client(w, e->to);
            if (c != NULL)
                worker_reply(w, c, e->msg);
            else
                msg_unref(e->msg);
            break;
        case MBOX_STOP:
            start_stopping(w);
            break;
        case MBOX_CONF:
            worker_conf_release(w->conf);
            w->conf = e->conf;
            break;
        case MBOX_CLAIM:
            c = find_client(w, e->to);
            command_claimed(w, c, e->msg->data, e->result);
            msg_unref(e->msg);
            /* A lost name is news, not the answer to a pending claim. */
            if (c != NULL && c->claiming &&
                e->result != CLUSTER_CLAIM_LOST) {
                c->claiming = 0;
                if (!c->closing)
                    run_lines(w, c, worker_now_ms());
            }
            break;
        }
    }
    w->inbox.len = 0;
}

/* Write to c what it has pending; cut it if it is too far behind. */
static void
flush_client(struct worker *w, struct client *c)
{
    uint64_t lines = 0, bytes = 0;

    if (c->closing)
        return;
    if (client_flush(c, &w->log, &lines, &bytes) < 0) {
        snprintf(c->reason, sizeof(c->reason), "write error: %s",
                 strerror(errno));
        worker_close(w, c, c->reason);
        return;
    }
    count(&w->stats.lines_out, lines);
    count(&w->stats.bytes_out, bytes);
    if (client_backlog(c, &w->log) > (uint64_t)w->conf->sendq) {
        log_warnx("client %llu (%s) %s: over %ld unsent bytes, closing",
                  (unsigned long long)c->id, c->addr, c->nick,
                  w->conf->sendq);
        count(&w->stats.slow, 1);
        worker_close(w, c, "too slow: send queue full");
        return;
    }
    update_events(w, c);
}

/* Flush every client with something new: all after a broadcast, else
 * those with direct lines. */
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
        for (c = w->clients; c != NULL; c = c->next)
            flush_client(w, c);
    }
}

/*
 * The log holds more than sendq bytes: cut the blocked clients that keep
 * more than that from being trimmed.  A client's own backlog counts its
 * broadcasts and its direct lines only; one that stops reading while the
 * others exchange only direct lines (replies, /msg) would otherwise hold
 * the log, and memory, growing for good.
 */
static void
cut_pinning(struct worker *w)
{
    uint64_t limit = (uint64_t)w->conf->sendq;

    if (sendlog_bytes(&w->log) <= limit)
        return;
    for (struct client *c = w->clients; c != NULL; c = c->next) {
        if (c->closing || !c->blocked || client_pinned(c, &w->log) <= limit)
            continue;
        log_warnx("client %llu (%s) %s: holding over %ld bytes of the "
                  "send log, closing", (unsigned long long)c->id, c->addr,
                  c->nick, w->conf->sendq);
        count(&w->stats.slow, 1);
        worker_close(w, c, "too slow: send queue full");
    }
}

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
    drain_mailbox(w);
    accept_clients(w, worker_now_ms());
    do {
        hub_publish(&w->outbox, w->index);
        drain_mailbox(w);
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
        for (c = w->clients; c != NULL; c = c->next)
            flush_client(w, c);
        for (c = w->clients; c != NULL; c = c->next)
            if (!c->closing && c->cur < w->log.head)
                return 0;
    }
    for (c = w->clients; c != NULL; c = c->next)
        worker_close(w, c, "server shutting down");
    settle(w);
    return 1;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

static void
handle_event(struct worker *w, struct epoll_event *ev, int64_t now)
{
    struct client *c = ev->data.ptr;

    if (c->closing)
        return;
    if (ev->events & EPOLLOUT) {
        c->blocked = 0;
        mark_dirty(w, c);
    }
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (c->reading || (ev->events & (EPOLLHUP | EPOLLERR)))
            on_readable(w, c, now);
    }
}

static void *
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
        int64_t now = worker_now_ms();
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr != NULL)
                handle_event(w, &events[i], now);
            else
                mbox_clear(w->mb);  /* before the queue and mailbox */
        }
        serve_throttled(w, now);
        settle(w);
        timeout = throttle_timeout(w, worker_now_ms());
        if (w->stopping) {
            if (stop_done(w, now))
                break;
            timeout = 50;
        }
    }
    log_debug("stopped");
    return NULL;
}
