/*
 * web.c: the web thread (see web.h).
 *
 * Ownership: the queue web.q is the hand-off from the acceptor (plain
 * sockets) and the TLS handshake thread (finished TLS transports), under
 * its own lock.  Everything else, the epoll set and the connections, is
 * the web thread's alone; the settings in web_opts (web_int.h) are
 * read-only once it runs.
 *
 * A connection reads a request head into its buffer (HTTP_HEAD_MAX
 * bytes, so a longer head is a 431), answers it and, kept alive, reads
 * the next one (pipelined requests are answered in order).  It has
 * WEB_TIMEOUT_MS for each request head from when it began waiting, not
 * per byte, so a slow sender gets a 408 and is closed; an idle kept-alive
 * one is closed.  Connections are on a list in the order of their
 * deadlines (each deadline is "now + WEB_TIMEOUT_MS" when set, and a
 * connection whose deadline is set moves to the end), so the thread
 * sleeps until the first one's.  After an error answer the connection
 * stops sending and reads what the client still sends until it closes
 * (or the deadline), so the answer is not lost to a reset.
 *
 * What each request is answered is webanswer.c's.  GET /ws answered
 * with 101 leaves the list and the epoll set and goes, with a WebSocket
 * transport over its own (tport_ws.c) and the bytes read past the
 * request, to the least loaded worker, as tls.c hands off finished
 * handshakes.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "settings.h"
#include "transport.h"
#include "web_int.h"
#include "worker.h"
#include "workq.h"
#include "xmalloc.h"

#define WEB_EVENTS 256

struct web_opts web_opts;

static struct {
    struct workq    q;          /* acceptor, TLS thread -> web thread */
    int             wakefd;
    atomic_int      stop;
    int             running;
    pthread_t       thread;
    /* The web thread's alone. */
    int             epfd;
    struct wconn   *head, *tail;
    size_t          n;
} web = { .wakefd = -1, .epfd = -1 };

/* ------------------------------------------------------------------ */
/* Connections: the list, epoll, closing                               */
/* ------------------------------------------------------------------ */

static void
unlink_conn(struct wconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        web.head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        web.tail = c->prev;
    c->prev = c->next = NULL;
    web.n--;
}

/* (Re)start c's deadline: it moves to the end of the list. */
static void
set_deadline(struct wconn *c, int64_t now, int linked)
{
    if (linked)
        unlink_conn(c);
    c->deadline = now + WEB_TIMEOUT_MS;
    c->prev = web.tail;
    if (web.tail)
        web.tail->next = c;
    else
        web.head = c;
    web.tail = c;
    web.n++;
}

/* Close c and forget it. */
static void
drop(struct wconn *c, const char *why)
{
    log_debug("web client (%s): closed: %s", c->addr, why);
    epoll_ctl(web.epfd, EPOLL_CTL_DEL, c->tp->fd, NULL);
    unlink_conn(c);
    tport_close(c->tp);
    webanswer_free(c);
    free(c->fwd);
    free(c);
}

/* Ask epoll for what c waits for now. */
static int
want(struct wconn *c)
{
    unsigned ev = c->state == W_WRITE ? tport_events(c->tp, 0, 1) :
                  tport_events(c->tp, 1, 0);
    struct epoll_event e = { .events = ev, .data.ptr = c };

    if (ev == c->events)
        return 0;
    if (epoll_ctl(web.epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
                  c->tp->fd, &e) < 0)
        return -1;
    c->events = ev;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading and writing                                                 */
/* ------------------------------------------------------------------ */

/* Give c, upgraded, to a worker with a WebSocket transport over its
 * own, and the bytes past the request. */
static void
hand_off(struct wconn *c)
{
    struct transport *ws;

    epoll_ctl(web.epfd, EPOLL_CTL_DEL, c->tp->fd, NULL);
    unlink_conn(c);
    ws = tport_ws_new(c->tp, c->buf + c->used, c->len - c->used,
                      web_opts.conf.max_line, c->fwd);
    log_debug("web client (%s): WebSocket%s%s", c->addr,
              c->fwd ? " for " : "", c->fwd ? c->fwd : "");
    worker_handoff_tport(ws->fd, ws);
    webanswer_free(c);
    free(c->fwd);
    free(c);
}

/* Parse and answer what c has read; returns once it waits to read or
 * has an answer to write. */
static void
parse(struct wconn *c)
{
    struct http_req req;
    int rc;

    memset(&req, 0, sizeof(req));
    req.scanned = c->scanned;
    rc = http_parse(c->buf, c->len, &req);
    if (rc == HTTP_INCOMPLETE) {
        c->scanned = req.scanned;
        return;
    }
    if (rc != HTTP_OK) {
        webanswer_error(c, rc, "", req.why);
        return;
    }
    c->used = req.head_len;
    webanswer(c, &req, web.n);
}

/* The answer is sent: go on with the next request, hand off, or close
 * (draining). */
static int
sent(struct wconn *c, int64_t now)
{
    webanswer_free(c);
    if (c->upgrade) {
        hand_off(c);
        return 1;
    }
    if (c->close_after) {
        shutdown(c->tp->fd, SHUT_WR);
        c->state = W_DRAIN;
        set_deadline(c, now, 1);
        return 0;
    }
    memmove(c->buf, c->buf + c->used, c->len - c->used);
    c->len -= c->used;
    c->used = c->scanned = 0;
    c->state = W_READ;
    set_deadline(c, now, 1);
    return 0;
}

/* Write c's answer as far as the socket takes it.  Returns 1 if c is
 * gone (handed off or closed), else 0. */
static int
write_answer(struct wconn *c, int64_t now)
{
    while (c->state == W_WRITE) {
        struct iovec iov[2];
        int n = 0;
        if (c->woff < c->head_len)
            iov[n++] = (struct iovec){ c->head + c->woff,
                                       c->head_len - c->woff };
        size_t boff = c->woff > c->head_len ? c->woff - c->head_len : 0;
        if (boff < c->body_len)
            iov[n++] = (struct iovec){ (char *)c->body + boff,
                                       c->body_len - boff };
        if (n == 0) {
            if (sent(c, now))
                return 1;
            break;
        }
        ssize_t w = tport_writev(c->tp, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            drop(c, tport_strerror(c->tp, errno));
            return 1;
        }
        c->woff += (size_t)w;
    }
    return 0;
}

/* Read what c sent.  Returns 1 if c is gone. */
static int
read_request(struct wconn *c)
{
    char sink[4096];

    do {
        char *at = c->state == W_DRAIN ? sink : c->buf + c->len;
        size_t room = c->state == W_DRAIN ? sizeof(sink) :
                      sizeof(c->buf) - c->len;
        if (room == 0)
            return 0;               /* parse() says 431 */
        ssize_t n = tport_read(c->tp, at, room);
        if (n == 0) {
            drop(c, "closed by the client");
            return 1;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            drop(c, tport_strerror(c->tp, errno));
            return 1;
        }
        if (c->state != W_DRAIN)
            c->len += (size_t)n;
    } while (tport_pending(c->tp) > 0);
    return 0;
}

/* c's socket is ready (or c is new): read, answer, write, as far as it
 * goes without waiting. */
static void
step(struct wconn *c, int64_t now)
{
    for (;;) {
        if (c->state != W_WRITE && read_request(c))
            return;
        if (c->state == W_DRAIN)
            break;
        if (c->state == W_READ)
            parse(c);
        if (c->state == W_READ)
            break;                  /* waits for more */
        if (write_answer(c, now))
            return;
        if (c->state != W_READ || c->len == 0)
            break;                  /* waits to write, or for a request */
    }
    if (want(c) < 0)
        drop(c, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */
/* ------------------------------------------------------------------ */

/* A new connection with transport tp. */
static void
begin(struct transport *tp, int64_t now)
{
    static int64_t last_warn;
    struct wconn *c;

    if (web.n >= WEB_CONNS_MAX) {
        if (now - last_warn > 10000) {
            log_warnx("web: %d connections open; closing new ones",
                      WEB_CONNS_MAX);
            last_warn = now;
        }
        tport_close(tp);
        return;
    }
    c = xmalloc(sizeof(*c));
    memset(c, 0, offsetof(struct wconn, buf));
    c->tp = tp;
    net_peer_string(tp->fd, c->addr, sizeof(c->addr));
    set_deadline(c, now, 0);
    step(c, now);
}

static void
take_queue(void)
{
    uint64_t v;
    ssize_t n = read(web.wakefd, &v, sizeof(v));
    int64_t now = clock_ms();
    void *tp;
    int fd;

    (void)n;
    while ((fd = workq_trypop_data(&web.q, &tp)) >= 0)
        begin(tp != NULL ? tp : tport_plain_new(fd), now);
}

/* Close what is past its deadline (a late head is told 408); the time
 * to the next deadline, or -1. */
static int
expire(int64_t now)
{
    while (web.head != NULL && web.head->deadline <= now) {
        struct wconn *c = web.head;
        if (c->state == W_READ && c->len > 0) {
            static const char late[] = "HTTP/1.1 408 Request Timeout\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n";
            struct iovec iov = { (void *)late, sizeof(late) - 1 };
            ssize_t w = tport_writev(c->tp, &iov, 1);
            (void)w;
        }
        drop(c, c->state == W_READ && c->len > 0 ?
             "request head not sent in time (408)" : "idle");
    }
    return web.head ? (int)(web.head->deadline - now) : -1;
}

static void *
web_main(void *arg)
{
    struct epoll_event events[WEB_EVENTS];
    int timeout = -1;

    (void)arg;
    log_set_role("web");
    while (!atomic_load(&web.stop)) {
        int n = epoll_wait(web.epfd, events, WEB_EVENTS, timeout);
        if (n < 0 && errno != EINTR)
            fatal("epoll_wait");
        int64_t now = clock_ms();
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                take_queue();
            else
                step(events[i].data.ptr, now);
        }
        timeout = expire(clock_ms());
        if (n > 0 && web.n == 0)
            malloc_trim(0);
    }
    while (web.head != NULL)
        drop(web.head, "server shutting down");
    return NULL;
}

/* Check the lists of conf and keep it for the thread.  Main thread,
 * before web_start().  Returns 0, or -1 with err saying what is wrong. */
int
web_init(const struct web_conf *conf, char *err, size_t errlen)
{
    const char *p = conf->proxies ? conf->proxies : "";

    web_opts.conf = *conf;
    web_opts.nproxies = 0;
    while (*p != '\0') {
        size_t n = strcspn(p, " \t");
        if (n > 0) {
            if (web_opts.nproxies == WEB_PROXIES) {
                snprintf(err, errlen, "web-proxies: more than %d",
                         WEB_PROXIES);
                return -1;
            }
            if (settings_parse_prefix(p, n,
                                      &web_opts.proxies[web_opts.nproxies]) < 0) {
                snprintf(err, errlen, "web-proxies: '%.*s' is not an "
                         "address", (int)n, p);
                return -1;
            }
            web_opts.nproxies++;
        }
        p += n;
        p += strspn(p, " \t");
    }
    return 0;
}

/* Start the web thread (after the workers and the TLS thread, before
 * the acceptor).  Main thread. */
void
web_start(void)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int rc;

    workq_init(&web.q);
    if ((web.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        fatal("eventfd");
    if ((web.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        fatal("epoll_create1");
    if (epoll_ctl(web.epfd, EPOLL_CTL_ADD, web.wakefd, &ev) < 0)
        fatal("epoll_ctl");
    if ((rc = pthread_create(&web.thread, NULL, web_main, NULL)) != 0) {
        errno = rc;
        fatal("pthread_create");
    }
    web.running = 1;
}

/* Queue a connection for the web thread and wake it. */
static void
push(int fd, struct transport *tp)
{
    uint64_t one = 1;

    if (workq_push_data(&web.q, fd, tp) < 0) {
        if (tp != NULL)
            tport_close(tp);
        else
            close(fd);
        return;
    }
    if (write(web.wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("web: eventfd");
}

/* A socket accepted on web-port (plain HTTP).  The acceptor thread. */
void
web_handoff(int fd)
{
    push(fd, NULL);
}

/* A finished TLS handshake from web-port.  The TLS handshake thread. */
void
web_handoff_tport(struct transport *tp)
{
    push(tp->fd, tp);
}

/* Stop the web thread (after the acceptor and the TLS thread, before
 * the workers), closing what has not upgraded.  Main thread. */
void
web_stop(void)
{
    uint64_t one = 1;
    void *tp;
    int rc, fd;

    if (!web.running)
        return;
    workq_close(&web.q);
    atomic_store(&web.stop, 1);
    if (write(web.wakefd, &one, sizeof(one)) < 0)
        log_warn("web: eventfd");
    if ((rc = pthread_join(web.thread, NULL)) != 0) {
        errno = rc;
        fatal("pthread_join");
    }
    while ((fd = workq_trypop_data(&web.q, &tp)) >= 0) {
        if (tp != NULL)
            tport_close(tp);
        else
            close(fd);
    }
    workq_destroy(&web.q);
    close(web.epfd);
    close(web.wakefd);
    web.running = 0;
}
