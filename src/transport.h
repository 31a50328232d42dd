/*
 * transport.h: how a worker moves a client's bytes, whatever carries
 * them: plain TCP (tport_plain.c), TLS (tport_tls.c) or a WebSocket
 * over either (tport_ws.c).  A transport belongs to one thread at a time: made
 * by the acceptor or the TLS handshake thread, handed through a worker's
 * queue (its lock orders the hand-off), then used only by that worker.
 *
 * Every call is non-blocking.  A call that cannot go on returns -1 with
 * errno EAGAIN and says in rwait (after a read) or wwait (after a write)
 * which readiness of the socket it waits for: TLS may need the socket
 * writable to go on reading, or readable to go on writing.  The worker
 * asks epoll for exactly those (tport_events()) and maps what epoll says
 * back (tport_ready()), so no stale interest is left to spin the loop.
 */
#ifndef CHATD_TRANSPORT_H
#define CHATD_TRANSPORT_H

#include <stddef.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/uio.h>

#define TPORT_READ  1           /* waits for the socket to be readable */
#define TPORT_WRITE 2           /* ... writable */

/* What carries a client, for the metrics (struct tport_ops' kind). */
enum tport_kind { TPORT_TCP, TPORT_TLS, TPORT_WS, TPORT_WSS, TPORT_KINDS };

struct transport;

struct tport_ops {
    const char *name;           /* "tcp", "tls", "ws", "wss" */
    enum tport_kind kind;
    /* Read up to len bytes: > 0, 0 at the peer's end, or -1 (errno). */
    ssize_t     (*read)(struct transport *t, void *buf, size_t len);
    /* Write from n iovecs, as one unit where the transport frames (one
     * TLS write): bytes taken (maybe fewer than given), or -1 (errno). */
    ssize_t     (*writev)(struct transport *t, const struct iovec *iov,
                          int n);
    /* Bytes already received and decoded that read() returns at once:
     * epoll will not report them. */
    size_t      (*pending)(const struct transport *t);
    /* What the last failed call's errno means here ("TLS: bad record
     * mac" rather than "Protocol error"). */
    const char *(*strerror)(const struct transport *t, int err);
    /* Say goodbye if the transport has a way to, close the socket and
     * free t. */
    void        (*close)(struct transport *t);
    /* The client's address when the transport knows better than the
     * socket (a trusted proxy's X-Forwarded-For), else NULL; the op
     * itself may be NULL. */
    const char *(*peer)(const struct transport *t);
};

struct transport {
    const struct tport_ops *ops;
    int                     fd;
    unsigned char           rwait;  /* TPORT_READ or TPORT_WRITE */
    unsigned char           wwait;  /* TPORT_WRITE or TPORT_READ */
};

/* A plain TCP transport for a connected non-blocking socket. */
struct transport *tport_plain_new(int fd);

/* A WebSocket transport over inner (whose handshake, HTTP's, is done):
 * pre[0..npre) are bytes already read after the request, max_line the
 * longest message, peer the client's address if not the socket's peer
 * (NULL).  It owns inner from now on. */
struct transport *tport_ws_new(struct transport *inner, const void *pre,
                               size_t npre, unsigned max_line,
                               const char *peer);

static inline ssize_t
tport_read(struct transport *t, void *buf, size_t len)
{
    return t->ops->read(t, buf, len);
}

static inline ssize_t
tport_writev(struct transport *t, const struct iovec *iov, int n)
{
    return t->ops->writev(t, iov, n);
}

static inline size_t
tport_pending(const struct transport *t)
{
    return t->ops->pending(t);
}

static inline const char *
tport_strerror(const struct transport *t, int err)
{
    return t->ops->strerror(t, err);
}

static inline const char *
tport_peer(const struct transport *t)
{
    return t->ops->peer != NULL ? t->ops->peer(t) : NULL;
}

static inline void
tport_close(struct transport *t)
{
    if (t != NULL)
        t->ops->close(t);
}

/* The epoll events to ask for, given whether its owner wants to read
 * and whether a write waits. */
static inline unsigned
tport_events(const struct transport *t, int reading, int writing)
{
    unsigned ev = 0, r = reading ? t->rwait : 0, w = writing ? t->wwait : 0;

    if ((r | w) & TPORT_READ)
        ev |= EPOLLIN;
    if ((r | w) & TPORT_WRITE)
        ev |= EPOLLOUT;
    return ev | (reading ? EPOLLRDHUP : 0);
}

/* Map what epoll reported to "a read may go on" (*can_read) and "a
 * write may go on" (*can_write).  Hang-ups and errors wake both, so a
 * read that waits for writability still sees the end. */
static inline void
tport_ready(const struct transport *t, unsigned events, int *can_read,
            int *can_write)
{
    unsigned got = ((events & EPOLLIN) ? TPORT_READ : 0) |
                   ((events & EPOLLOUT) ? TPORT_WRITE : 0);

    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        got = TPORT_READ | TPORT_WRITE;
    *can_read = (got & t->rwait) != 0;
    *can_write = (got & t->wwait) != 0;
}

#endif
