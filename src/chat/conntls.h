/*
 * conntls.h: the TLS half of the chat client's connection (conntls.c),
 * used by conn.c only.  Single-threaded.
 */
#ifndef CHAT_CONNTLS_H
#define CHAT_CONNTLS_H

#include <stddef.h>

struct conn;
struct conn_tls;

int    conntls_start(struct conn *c, const char *host, const char *port,
                     const struct conn_tls *tls, char *err, size_t errlen);
long   conntls_read(struct conn *c, void *buf, size_t len);
long   conntls_write(struct conn *c, const void *buf, size_t len);
size_t conntls_pending(const struct conn *c);
void   conntls_shutdown(struct conn *c);
void   conntls_free(struct conn *c);

#endif
