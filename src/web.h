/*
 * web.h: the web thread, which owns every connection from web-port
 * until it upgrades to a WebSocket: it reads and answers HTTP requests
 * (the page, /healthz, /metrics) and hands each upgraded connection to
 * the least loaded worker with a WebSocket transport (tport_ws.c).  With
 * web-tls the TLS handshake thread (tls.c) does the handshake first and
 * gives the web thread the finished TLS transport.  HTTP parsing never
 * runs on a worker.
 */
#ifndef CHATD_WEB_H
#define CHATD_WEB_H

#include <stddef.h>

#define WEB_TIMEOUT_MS  5000    /* a request head, an idle keep-alive */
#define WEB_CONNS_MAX   8192    /* connections in the web thread at once */

struct transport;

struct web_conf {
    unsigned    max_line;       /* longest WebSocket message */
    const char *origins;        /* allowed Origins; NULL: the page's own */
    const char *proxies;        /* trusted for X-Forwarded-For; NULL: none */
};

/* Main thread. */
int   web_init(const struct web_conf *conf, char *err, size_t errlen);
void  web_start(void);
void  web_stop(void);

/* The acceptor (a plain socket from web-port) and the TLS handshake
 * thread (a finished handshake from web-port with web-tls). */
void  web_handoff(int fd);
void  web_handoff_tport(struct transport *tp);

/* The page built into chatd (src/webpage.c, from src/web/index.html). */
extern const unsigned char web_page[];
extern const size_t web_page_len;

#endif
