/*
 * tlsio.h: reading and writing a non-blocking TLS connection: what a
 * call waits for when OpenSSL cannot go on.  Used by the server's TLS
 * transport (tport_tls.c), the chat program and chatbench.  No state;
 * the thread that owns the SSL object.
 */
#ifndef CHATD_TLSIO_H
#define CHATD_TLSIO_H

#include <stddef.h>

#include <openssl/ssl.h>

enum tlsio_wait {
    TLSIO_READABLE = 1,         /* call again when the socket reads */
    TLSIO_WRITABLE = 2          /* ... when it takes more */
};

long tlsio_read(SSL *ssl, void *buf, size_t len, int *wait);
long tlsio_write(SSL *ssl, const void *buf, size_t len, int *wait);

#endif
