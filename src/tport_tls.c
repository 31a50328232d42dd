/*
 * tport_tls.c: the TLS transport (see transport.h): an OpenSSL SSL
 * object whose handshake is done, on its non-blocking socket.  Made by
 * the TLS handshake thread (tls.c), then used by one worker thread only:
 * the SSL object is never touched by two threads.
 *
 * Reads: one SSL_read(); what OpenSSL has decrypted beyond it is
 * tport_pending(), which the worker drains at once (epoll does not see
 * it).  Writes: a batch of lines is copied into one buffer and goes out
 * in as few records as it takes (one SSL_write() per record of up to
 * 16 KiB, with partial writes on), rather than one record per line.  A
 * write that must wait says so in wwait; OpenSSL wants the same bytes
 * again then, which the caller's queue gives it, since it only moves
 * past bytes this reports as taken.  Either direction may wait for the
 * other readiness (WANT_READ during a write, WANT_WRITE during a read);
 * each call sets its wait afresh, so none is left stale.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "tlsio.h"
#include "transport.h"
#include "xmalloc.h"

#define TLS_WBUF 65536          /* bytes coalesced per write */

struct tport_tls {
    struct transport t;
    SSL             *ssl;
    unsigned long    err;       /* OpenSSL's error, for strerror() */
    int              broken;    /* a fatal error: no close_notify */
};

/* One per thread that writes (the workers): lines are copied here. */
static _Thread_local char wbuf[TLS_WBUF];

/* What tlsio says a call waits for, as the worker's epoll wants it. */
static unsigned char
tport_wait(int wait)
{
    return wait == TLSIO_WRITABLE ? TPORT_WRITE : TPORT_READ;
}

/* After a call that failed for good: the link is broken; keep OpenSSL's
 * reason for tls_strerror(). */
static void
broke(struct tport_tls *tt)
{
    tt->broken = 1;
    tt->err = ERR_peek_last_error();
}

static ssize_t
tls_read(struct transport *t, void *buf, size_t len)
{
    struct tport_tls *tt = (struct tport_tls *)t;
    int wait = 0;
    long n;

    if (tt->broken) {
        errno = EPROTO;
        return -1;
    }
    n = tlsio_read(tt->ssl, buf, len, &wait);
    if (n > 0 || (n < 0 && errno == EAGAIN))
        t->rwait = tport_wait(wait);
    else if (n < 0)
        broke(tt);
    return n;
}

/* Copy what of iov fits into wbuf; returns the bytes copied. */
static size_t
coalesce(const struct iovec *iov, int n)
{
    size_t len = 0;

    for (int i = 0; i < n && len < sizeof(wbuf); i++) {
        size_t k = iov[i].iov_len;
        if (k > sizeof(wbuf) - len)
            k = sizeof(wbuf) - len;
        memcpy(wbuf + len, iov[i].iov_base, k);
        len += k;
    }
    return len;
}

static ssize_t
tls_writev(struct transport *t, const struct iovec *iov, int n)
{
    struct tport_tls *tt = (struct tport_tls *)t;
    size_t len = coalesce(iov, n), off = 0;

    if (tt->broken) {
        errno = EPIPE;
        return -1;
    }
    while (off < len) {
        int wait = 0;
        long w = tlsio_write(tt->ssl, wbuf + off, len - off, &wait);
        if (w < 0) {
            if (errno != EAGAIN) {
                if (errno != EPIPE)
                    broke(tt);
                return -1;
            }
            t->wwait = tport_wait(wait);
            if (off > 0)
                break;
            return -1;
        }
        off += (size_t)w;
    }
    if (off == len)
        t->wwait = TPORT_WRITE;
    return (ssize_t)off;
}

static size_t
tls_pending(const struct transport *t)
{
    const struct tport_tls *tt = (const struct tport_tls *)t;

    return tt->broken ? 0 : (size_t)SSL_pending(tt->ssl);
}

static const char *
tls_strerror(const struct transport *t, int err)
{
    const struct tport_tls *tt = (const struct tport_tls *)t;
    static _Thread_local char buf[128];

    if (tt->err == 0)
        return err == EPROTO ? "TLS protocol error" : strerror(err);
    snprintf(buf, sizeof(buf), "TLS: %s", tls_reason(tt->err));
    return buf;
}

/* Send close_notify (once, without waiting) unless the link broke. */
static void
tls_close(struct transport *t)
{
    struct tport_tls *tt = (struct tport_tls *)t;

    if (!tt->broken) {
        ERR_clear_error();
        SSL_shutdown(tt->ssl);
    }
    SSL_free(tt->ssl);
    ERR_clear_error();
    if (t->fd >= 0)
        close(t->fd);
    free(tt);
}

static const struct tport_ops tls_ops = {
    .name = "tls",
    .kind = TPORT_TLS,
    .read = tls_read,
    .writev = tls_writev,
    .pending = tls_pending,
    .strerror = tls_strerror,
    .close = tls_close,
};

/* A TLS transport for fd and ssl, whose handshake is done; it owns (and
 * closes) both. */
struct transport *
tport_tls_new(int fd, SSL *ssl)
{
    struct tport_tls *tt = xcalloc(1, sizeof(*tt));

    tt->t.ops = &tls_ops;
    tt->t.fd = fd;
    tt->t.rwait = TPORT_READ;
    tt->t.wwait = TPORT_WRITE;
    tt->ssl = ssl;
    return &tt->t;
}
