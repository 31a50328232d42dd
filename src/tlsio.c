/* tlsio.c: non-blocking TLS reads and writes (see tlsio.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>

#include <openssl/err.h>

#include "tlsio.h"

/* A failed SSL call (rc): -1 with errno EAGAIN and *wait set when it only
 * waits, 0 for the peer's close_notify, else -1 with errno. */
static long
failed(SSL *ssl, int rc, int *wait)
{
    int e = SSL_get_error(ssl, rc), saved = errno;

    switch (e) {
    case SSL_ERROR_WANT_READ:
        *wait = TLSIO_READABLE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *wait = TLSIO_WRITABLE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        errno = saved ? saved : ECONNRESET;
        return -1;
    default:
        errno = EPROTO;
        return -1;
    }
}

/* Read up to len bytes: > 0, 0 at the peer's close, -1 with errno
 * (EAGAIN: call again when *wait says).  *wait is TLSIO_READABLE after a
 * read that went through. */
long
tlsio_read(SSL *ssl, void *buf, size_t len, int *wait)
{
    int n;

    ERR_clear_error();
    errno = 0;
    n = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0) {
        *wait = TLSIO_READABLE;
        return n;
    }
    return failed(ssl, n, wait);
}

/* Write up to len bytes: how many were taken, or -1 with errno (EAGAIN:
 * again when *wait says; EPIPE: the peer closed). */
long
tlsio_write(SSL *ssl, const void *buf, size_t len, int *wait)
{
    int n;

    ERR_clear_error();
    errno = 0;
    n = SSL_write(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0) {
        *wait = TLSIO_WRITABLE;
        return n;
    }
    if (failed(ssl, n, wait) == 0)
        errno = EPIPE;
    return -1;
}
