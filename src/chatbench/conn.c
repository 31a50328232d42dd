/*
 * conn.c: chatbench's connections: resolving the server, opening them a
 * bounded number at a time (with --tls, their handshakes: btls.c), the
 * greeting request, their output buffers and epoll registration, and
 * losing them.  Called from chatbench's only thread.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "btls.h"
#include "bws.h"
#include "resp.h"
#include "run.h"
#include "xmalloc.h"

#define MAX_PENDING 256         /* connections being set up at once */

/* Register events with epoll for c, if they changed.  0, or -1 after
 * bench_fail(). */
int
conn_events(struct conn *c, uint32_t events)
{
    struct epoll_event ev = { .events = events,
                              .data.u64 = (uint64_t)(c - bench.conn) };

    if (c->events == events)
        return 0;
    if (epoll_ctl(bench.epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        bench_fail("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    c->events = events;
    return 0;
}

/*
 * Close c (the server closed it, or it failed).  Counts a disconnect once
 * the run is set up; during set-up any loss of a connection is fatal.
 */
void
conn_lost(struct conn *c, const char *why)
{
    if (c->state == C_CLOSED)
        return;
    if (c->state != C_READY) {
        bench_fail("connection %zu closed during set-up: %s",
                   (size_t)(c - bench.conn), why);
    } else {
        bench.res->disconnects++;
        if (bench.res->disconnects == 1) {
            watch_end_line();
            fprintf(stderr, "chatbench: connection %zu lost: %s\n",
                    (size_t)(c - bench.conn), why);
        }
    }
    btls_close(c);
    if (close(c->fd) < 0 && errno != EINTR)
        bench_fail("close: %s", strerror(errno));
    c->fd = -1;
    c->state = C_CLOSED;
    free(c->rest);
    c->rest = NULL;
    c->rest_len = 0;
}

/* Make room for n more bytes of output on c. */
char *
out_reserve(struct conn *c, size_t n)
{
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = c->out_framed = 0;
    if (c->out_len + n > c->out_cap) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_framed -= c->out_off < c->out_framed ? c->out_off :
                             c->out_framed;
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
int
conn_flush(struct conn *c)
{
    if (bench.conf->ws && c->state != C_WS)
        bws_frame_out(c);
    while (c->out_off < c->out_len) {
        ssize_t n = c->ssl != NULL ?
            btls_write(c, c->out + c->out_off, c->out_len - c->out_off) :
            write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
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
        c->out_off = c->out_len = c->out_framed = 0;
    if (c->ssl != NULL)
        return conn_events(c, c->tls_rd | (c->out_len > 0 ? c->tls_wr : 0));
    return conn_events(c, c->out_len > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* Start connecting the next connection in the table. */
static void
conn_open(struct conn *c)
{
    struct epoll_event ev;
    int fd;

    /* Connection i goes to port i mod the number of ports. */
    const struct addrinfo *ai = bench.ai[(size_t)(c - bench.conn) % bench.nai];

    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
        bench_fail("socket: %s", strerror(errno));
        return;
    }
    c->fd = fd;
    c->state = C_CONNECTING;
    bench.pending++;
    ev.events = EPOLLOUT;
    ev.data.u64 = (uint64_t)(c - bench.conn);
    if (epoll_ctl(bench.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        bench_fail("epoll_ctl: %s", strerror(errno));
        return;
    }
    c->events = EPOLLOUT;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
        errno != EINPROGRESS)
        bench_fail("connect to %s port %s: %s", bench.conf->host,
                   bench.conf->port, strerror(errno));
}

/*
 * c's connect() finished: check how, then send the greeting request
 * (redis: SUBSCRIBE to its room's channel, or PING; chat: nothing, the
 * server greets first).
 */
void
conn_connected(struct conn *c)
{
    int err = 0, one = 1;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        bench_fail("connect to %s port %s: %s", bench.conf->host,
                   bench.conf->port, strerror(err));
        return;
    }
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        bench_fail("setsockopt(TCP_NODELAY): %s", strerror(errno));
    if (bench.conf->tls) {
        c->tls_rd = EPOLLIN;
        c->tls_wr = EPOLLOUT;
        btls_begin(c);
        return;
    }
    c->state = C_HELLO;
    conn_greet(c);
}

/* c is connected (and its TLS handshake done): send the greeting
 * request, if the protocol has one. */
void
conn_greet(struct conn *c)
{
    if (bench.conf->proto == BENCH_REDIS) {
        char cmd[256], ch[160];
        const char *argv[2] = { "SUBSCRIBE", ch };
        size_t argl[2] = { 9, 0 };
        size_t n;
        if (bench.conf->rooms > 0)
            snprintf(ch, sizeof(ch), "%s#cb%u", bench.conf->channel,
                     c->room);
        else
            snprintf(ch, sizeof(ch), "%s", bench.conf->channel);
        argl[1] = strlen(ch);
        if (c->is_pub) {
            argv[0] = "PING";
            argl[0] = 4;
            n = resp_command(cmd, sizeof(cmd), 1, argv, argl);
        } else {
            n = resp_command(cmd, sizeof(cmd), 2, argv, argl);
        }
        out_add(c, cmd, n);
    } else if (bench.conf->ws) {
        bws_upgrade(c);
    }
    conn_flush(c);
}

/* Open connections until MAX_PENDING are being set up or all are. */
void
open_more(void)
{
    while (!bench.failed && bench.pending < MAX_PENDING &&
           bench.next_open < bench.nconn)
        conn_open(&bench.conn[bench.next_open++]);
}

/*
 * Resolve the server address for each port of -p (a comma-separated
 * list): the first result getaddrinfo gives for each.
 */
int
resolve(void)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    char ports[256], *p, *save = NULL;

    snprintf(ports, sizeof(ports), "%s", bench.conf->port);
    for (p = strtok_r(ports, ",", &save); p && bench.nai < BENCH_PORTS_MAX;
         p = strtok_r(NULL, ",", &save)) {
        int rc = getaddrinfo(bench.conf->host, p, &hints,
                             &bench.ai[bench.nai]);
        if (rc != 0) {
            bench_fail("%s port %s: %s", bench.conf->host, p,
                       gai_strerror(rc));
            return -1;
        }
        bench.nai++;
    }
    return 0;
}
