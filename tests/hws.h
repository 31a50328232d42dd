/*
 * hws.h: a small WebSocket and HTTP client for the web tests (hws.c):
 * the upgrade of a real socket to chatd's web port, then a struct hconn
 * whose io frames each line sent as one masked text frame and turns each
 * text frame received into a line, so every hconn_* helper works on it.
 * Raw frames and raw HTTP for the bad cases.  Single-threaded use.
 */
#ifndef CHATD_HWS_H
#define CHATD_HWS_H

#include <stddef.h>

#include "harness.h"

/* The port of chatd's first "listening on ... (web)" (or "(web tls)")
 * line, or 0. */
int  hws_web_port(struct hserver *s);

/* Upgrade a connection to port with GET /ws (origin: the Origin header,
 * NULL for none; extra: more header lines, each ending "\r\n", or NULL).
 * Returns the connection, or NULL with the HTTP status in *status. */
struct hconn *hws_open(int port, const char *origin, const char *extra,
                       int *status);

/* The same on c, open already (over TLS: htls_open()). */
struct hconn *hws_upgrade(struct hconn *c, int port, const char *origin,
                          const char *extra, int *status);

/* hws_open() and read the welcome, as hconn_join(). */
struct hconn *hws_join(int port, char *nick, size_t len);

/* Send one raw frame (opcode, fin, masked) of payload[0..n). */
int  hws_frame(struct hconn *c, int op, int fin, int masked,
               const void *payload, size_t n);

/* Read until the server's close frame: its code (0: none), or -1 if the
 * connection ended without one or nothing came within ms. */
int  hws_close_code(struct hconn *c, int ms);

/* Send raw bytes to port and read one HTTP answer (its body too, by
 * Content-Length); returns the status, or -1.  The answer goes to out. */
int  hws_http(int port, const void *req, size_t len, char *out, size_t cap);

/* The same on an open connection (keep-alive, or TLS). */
int  hws_http_conn(struct hconn *c, const void *req, size_t len, char *out,
                   size_t cap);

#endif
