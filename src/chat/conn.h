/*
 * conn.h: the chat client's connection to the server: connect with a
 * timeout, a non-blocking output queue flushed when the socket is
 * writable, and newline framing of what the server sends.  Owned by the
 * client's main thread (the client has no other thread).
 */
#ifndef CHAT_CONN_H
#define CHAT_CONN_H

#include <stddef.h>

#include "linebuf.h"

#define CONN_LINE_MAX 65536     /* longest server line we keep */
#define CONN_TIMEOUT_MS 10000   /* connect timeout per address */

struct conn {
    int             fd;         /* -1 when closed */
    struct linebuf  in;         /* server lines not yet handled */
    char           *out;        /* queued bytes: out[outoff..outlen) */
    size_t          outoff, outlen, outcap;
};

int    conn_open(struct conn *c, const char *host, const char *port,
                 char *err, size_t errlen);
void   conn_close(struct conn *c);
void   conn_queue(struct conn *c, const char *line, size_t len);
size_t conn_pending(const struct conn *c);
int    conn_flush(struct conn *c);
long   conn_fill(struct conn *c);
long   conn_unsent(const struct conn *c);

#endif
