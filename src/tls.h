/*
 * tls.h: chatd's TLS: the server context (certificate and key, swapped
 * whole on SIGHUP) and the handshake thread, which owns every connection
 * from the TLS port until its handshake is done and then hands it to a
 * worker with its transport (tport_tls.c).  Handshakes, the part that
 * costs CPU, never run on a worker.
 */
#ifndef CHATD_TLS_H
#define CHATD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLS_HANDSHAKE_MS    10000   /* a handshake not done by then: closed */
#define TLS_HANDSHAKES_MAX  16384   /* in progress at once; more: closed */

struct transport;

/* Main thread. */
int   tls_init(const char *cert, const char *key, char *err, size_t errlen);
void  tls_start(void);
void  tls_reload(const char *cert, const char *key);
void  tls_stop(void);

/* The acceptor thread. */
void  tls_handoff(int fd);
void  tls_handoff_web(int fd);

/* Any thread. */
const char *tls_reason(unsigned long err);
SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err,
                        size_t errlen);
struct transport *tport_tls_new(int fd, SSL *ssl);

#endif
