/*
 * listener.h: the acceptor thread, the only caller of accept().  It owns
 * the listening sockets and hands each accepted socket to the least
 * loaded worker (plain TCP) or to the TLS handshake thread (tls.h).
 */
#ifndef CHATD_LISTENER_H
#define CHATD_LISTENER_H


#include <stddef.h>

#define LISTENER_OFF (-1)       /* a port not to listen on */

int  listener_open(const char *const *addrs, int naddrs, int *port,
                   int *tls_port, char *err, size_t errlen);
void listener_close(void);
void listener_start(void);
void listener_stop(void);

#endif
