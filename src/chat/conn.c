/*
 * conn.c: the client's server connection (see conn.h).  Single-threaded:
 * everything here belongs to the client's main thread.
 *
 * Output is queued and written without blocking, so a server that reads
 * slowly (chatd's flood control stops reading an over-rate client) never
 * freezes the user interface: the caller polls for POLLOUT while
 * conn_pending() is nonzero.  Over TLS (conntls.c) the same calls go
 * through OpenSSL, and poll asks for what it waits for (conn_events()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "conn.h"
#include "conntls.h"
#include "xmalloc.h"

/*
 * Connect fd (non-blocking) to ai within CONN_TIMEOUT_MS.  Returns 0, or
 * -1 with errno set.
 */
static int
connect_timeout(int fd, const struct addrinfo *ai)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    socklen_t sl = sizeof(int);
    int rc, soerr = 0;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    do
        rc = poll(&pfd, 1, CONN_TIMEOUT_MS);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

/*
 * Connect to host and port (a number or service name), trying each
 * address in turn, then with tls->on do the TLS handshake.  Returns 0
 * with c ready (the socket non-blocking), or -1 with a message for the
 * user in err.
 */
int
conn_open(struct conn *c, const char *host, const char *port,
          const struct conn_tls *tls, char *err, size_t errlen)
{
    struct addrinfo hints, *res, *ai;
    int rc, saved = 0;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->rd_events = POLLIN;
    c->wr_events = POLLOUT;
    linebuf_init(&c->in, CONN_LINE_MAX);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "cannot connect to %s port %s: %s", host, port,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family,
                        ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (connect_timeout(fd, ai) == 0) {
            c->fd = fd;
            break;
        }
        saved = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(err, errlen, "cannot connect to %s port %s: %s", host, port,
                 strerror(saved ? saved : ECONNREFUSED));
        return -1;
    }
    if (tls != NULL && tls->on &&
        conntls_start(c, host, port, tls, err, errlen) < 0) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* The poll events c waits for: to read, and to write what is queued. */
short
conn_events(const struct conn *c)
{
    return (short)(c->rd_events |
                   (conn_pending(c) > 0 ? c->wr_events : 0));
}

/* Map poll's revents to "a read may go on" and "a write may go on";
 * a hang-up or an error wakes both. */
void
conn_ready(const struct conn *c, short revents, int *can_read,
           int *can_write)
{
    short any = POLLHUP | POLLERR;

    *can_read = (revents & (c->rd_events | any)) != 0;
    *can_write = (revents & (c->wr_events | any)) != 0;
}

/* Tell the server we are done sending: close_notify over TLS, then a
 * half-close. */
void
conn_shutdown(struct conn *c)
{
    if (c->ssl != NULL)
        conntls_shutdown(c);
    shutdown(c->fd, SHUT_WR);
}

/* Close the socket and drop everything queued or buffered. */
void
conn_close(struct conn *c)
{
    conntls_free(c);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    linebuf_free(&c->in);
    free(c->out);
    c->out = NULL;
    c->outoff = c->outlen = c->outcap = 0;
}

/* Queue line (len bytes, no LF) and a LF for the server. */
void
conn_queue(struct conn *c, const char *line, size_t len)
{
    if (c->outoff > 0) {
        memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
        c->outlen -= c->outoff;
        c->outoff = 0;
    }
    if (c->outlen + len + 1 > c->outcap) {
        c->outcap = (c->outlen + len + 1) * 2;
        c->out = xrealloc(c->out, c->outcap);
    }
    memcpy(c->out + c->outlen, line, len);
    c->outlen += len;
    c->out[c->outlen++] = '\n';
}

/* Bytes queued and not yet handed to the kernel. */
size_t
conn_pending(const struct conn *c)
{
    return c->outlen - c->outoff;
}

/*
 * Write as much of the queue as the socket takes now.  Returns 0 (some
 * may still be pending), or -1 with errno set when the connection failed.
 */
int
conn_flush(struct conn *c)
{
    while (conn_pending(c) > 0) {
        ssize_t n = c->ssl != NULL ?
            conntls_write(c, c->out + c->outoff, conn_pending(c)) :
            send(c->fd, c->out + c->outoff, conn_pending(c),
                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->outoff += (size_t)n;
    }
    c->outoff = c->outlen = 0;
    return 0;
}

/* Over TLS: read what there is, and all OpenSSL has decrypted beyond
 * it (poll would not say so); as conn_fill() returns. */
static long
fill_tls(struct conn *c, char *buf, size_t cap)
{
    long n, got = 0;

    do {
        n = conntls_read(c, buf, cap);
        if (n > 0) {
            linebuf_append(&c->in, buf, (size_t)n);
            got += n;
        }
    } while (n > 0 && conntls_pending(c) > 0);
    if (got > 0)
        return got;
    if (n < 0)
        return errno == EAGAIN ? 1 : -1;
    return 0;
}

/*
 * Read what the server sent into c->in.  Returns the number of bytes read
 * (0 at EOF), 1 when there was nothing to read after all, or -1 with
 * errno set.
 */
long
conn_fill(struct conn *c)
{
    char buf[16384];
    ssize_t n;

    if (c->ssl != NULL)
        return fill_tls(c, buf, sizeof(buf));
    do
        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
    linebuf_append(&c->in, buf, (size_t)n);
    return (long)n;
}

/*
 * Bytes in the kernel's send queue that the server has not acknowledged
 * (Linux SIOCOUTQ), or -1 if unknown.  Used to tell a slow server from a
 * stuck one while waiting for it to take our last lines.
 */
long
conn_unsent(const struct conn *c)
{
    int n;

    if (ioctl(c->fd, SIOCOUTQ, &n) < 0)
        return -1;
    return n;
}
