/*
 * tport_plain.c: the plain TCP transport (see transport.h): read(),
 * writev() and close() on the socket.  Whichever thread owns the
 * transport; no shared state.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"
#include "xmalloc.h"

static ssize_t
plain_read(struct transport *t, void *buf, size_t len)
{
    ssize_t n;

    do
        n = read(t->fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

static ssize_t
plain_writev(struct transport *t, const struct iovec *iov, int n)
{
    ssize_t w;

    do
        w = writev(t->fd, iov, n);
    while (w < 0 && errno == EINTR);
    return w;
}

static size_t
plain_pending(const struct transport *t)
{
    (void)t;
    return 0;                   /* the kernel holds it; epoll sees it */
}

static const char *
plain_strerror(const struct transport *t, int err)
{
    (void)t;
    return strerror(err);
}

static void
plain_close(struct transport *t)
{
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

static const struct tport_ops plain_ops = {
    .name = "tcp",
    .kind = TPORT_TCP,
    .read = plain_read,
    .writev = plain_writev,
    .pending = plain_pending,
    .strerror = plain_strerror,
    .close = plain_close,
};

/* A plain transport for fd, which it closes when closed. */
struct transport *
tport_plain_new(int fd)
{
    struct transport *t = xmalloc(sizeof(*t));

    t->ops = &plain_ops;
    t->fd = fd;
    t->rwait = TPORT_READ;
    t->wwait = TPORT_WRITE;
    return t;
}
