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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"
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

/*
 * Turn a failed SSL_read() or SSL_write() (its return value rc) into -1
 * and errno, setting *wait to the readiness it needs when it is only
 * waiting; 0 for a read that met the peer's close_notify.
 */
static ssize_t
failed(struct tport_tls *tt, int rc, unsigned char *wait, int reading)
{
    int e = SSL_get_error(tt->ssl, rc), saved = errno;

    switch (e) {
    case SSL_ERROR_WANT_READ:
        *wait = TPORT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *wait = TPORT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        if (reading)
            return 0;
        errno = EPIPE;
        return -1;
    case SSL_ERROR_SYSCALL:
        tt->broken = 1;
        tt->err = ERR_peek_last_error();
        errno = saved != 0 ? saved : ECONNRESET;
        return -1;
    default:
        tt->broken = 1;
        tt->err = ERR_peek_last_error();
        errno = EPROTO;
        return -1;
    }
}

static ssize_t
tls_read(struct transport *t, void *buf, size_t len)
{
    struct tport_tls *tt = (struct tport_tls *)t;
    int n;

    if (tt->broken) {
        errno = EPROTO;
        return -1;
    }
    ERR_clear_error();
    errno = 0;
    n = SSL_read(tt->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0) {
        t->rwait = TPORT_READ;
        return n;
    }
    return failed(tt, n, &t->rwait, 1);
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
        ERR_clear_error();
        errno = 0;
        int w = SSL_write(tt->ssl, wbuf + off, (int)(len - off));
        if (w <= 0) {
            ssize_t rc = failed(tt, w, &t->wwait, 0);
            if (off > 0 && errno == EAGAIN)
                break;
            return rc;
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
