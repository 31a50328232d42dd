/*
 * listener.h: the acceptor thread, the only caller of accept().  It owns
 * the listening sockets and hands each accepted socket to the least
 * loaded worker (plain TCP), to the TLS handshake thread (tls.h) or to
 * the web thread (web.h).
 */
#ifndef CHATD_LISTENER_H
#define CHATD_LISTENER_H


#include <stddef.h>

#define LISTENER_OFF (-1)       /* a port not to listen on */

/* The ports to open (each may be LISTENER_OFF; 0 is set to the port
 * picked). */
struct listener_ports {
    int *port;                  /* plain chat protocol */
    int *tls_port;              /* the same over TLS */
    int *web_port;              /* HTTP and WebSocket (web.h) */
    int  web_tls;               /* web_port over TLS */
};

int  listener_open(const char *const *addrs, int naddrs,
                   const struct listener_ports *ports, char *err,
                   size_t errlen);
void listener_close(void);
void listener_start(void);
void listener_stop(void);

#endif
