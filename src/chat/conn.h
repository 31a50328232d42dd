/*
 * conn.h: the chat client's connection to the server: connect with a
 * timeout (and a TLS handshake that checks the server's certificate),
 * a non-blocking output queue flushed when the socket is writable, and
 * newline framing of what the server sends.  Owned by the client's main
 * thread (the client has no other thread).
 */
#ifndef CHAT_CONN_H
#define CHAT_CONN_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "linebuf.h"

#define CONN_LINE_MAX 65536     /* longest server line we keep */
#define CONN_TIMEOUT_MS 10000   /* connect timeout per address */

/* TLS as the command line asks: off, or on with the system's CAs, one
 * CA file, or no check at all. */
struct conn_tls {
    int             on;         /* --tls */
    const char     *ca;         /* --ca FILE, or NULL */
    int             insecure;   /* --insecure */
};

struct conn {
    int             fd;         /* -1 when closed */
    SSL_CTX        *ctx;        /* TLS, or NULL */
    SSL            *ssl;
    short           rd_events;  /* what a read waits for (POLLIN) */
    short           wr_events;  /* what a write waits for (POLLOUT) */
    struct linebuf  in;         /* server lines not yet handled */
    char           *out;        /* queued bytes: out[outoff..outlen) */
    size_t          outoff, outlen, outcap;
};

int    conn_open(struct conn *c, const char *host, const char *port,
                 const struct conn_tls *tls, char *err, size_t errlen);
short  conn_events(const struct conn *c);
void   conn_ready(const struct conn *c, short revents, int *can_read,
                  int *can_write);
void   conn_shutdown(struct conn *c);
void   conn_close(struct conn *c);
void   conn_queue(struct conn *c, const char *line, size_t len);
size_t conn_pending(const struct conn *c);
int    conn_flush(struct conn *c);
long   conn_fill(struct conn *c);
long   conn_unsent(const struct conn *c);

#endif
