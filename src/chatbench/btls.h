/*
 * btls.h: chatbench's TLS (btls.c): one client context for the run, each
 * connection's handshake as a step of the event loop, and reads and
 * writes through OpenSSL.  chatbench's only thread.
 */
#ifndef CHATBENCH_BTLS_H
#define CHATBENCH_BTLS_H

#include <stddef.h>
#include <sys/types.h>

struct conn;

int     btls_init(void);
void    btls_free(void);
int     btls_begin(struct conn *c);
void    btls_step(struct conn *c);
ssize_t btls_read(struct conn *c, void *buf, size_t len);
ssize_t btls_write(struct conn *c, const void *buf, size_t len);
size_t  btls_pending(const struct conn *c);
void    btls_close(struct conn *c);

#endif
