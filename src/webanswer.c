/*
 * webanswer.c: what the web thread answers each request (see web.h):
 * the page, /healthz, /metrics, the WebSocket handshake (RFC 6455 4.2:
 * its headers, the Origin check, the accept key, X-Forwarded-For from a
 * trusted proxy) and the error answers.  An answer is a head and a body
 * that web.c writes; nothing here does I/O but getpeername().  The web
 * thread only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"
#include "transport.h"
#include "web_int.h"
#include "webmetrics.h"
#include "ws.h"
#include "xmalloc.h"

/* Free c's answer. */
void
webanswer_free(struct wconn *c)
{
    free(c->head);
    free(c->own);
    c->head = c->own = NULL;
    c->body = NULL;
    c->head_len = c->body_len = c->woff = 0;
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */
/* ------------------------------------------------------------------ */

/* Set c's answer: status, extra header lines (each ending CRLF, or ""),
 * a body (kept as given: static or c->own) of type. */
static void
respond(struct wconn *c, int status, const char *extra, const char *type,
        const char *body, size_t body_len, int send_body)
{
    char h[1024];
    int n;

    n = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\n"
                 "Server: chatd\r\n"
                 "%s"
                 "%s%s%s"
                 "Content-Length: %zu\r\n"
                 "Connection: %s\r\n\r\n",
                 status, http_reason(status), extra,
                 type ? "Content-Type: " : "", type ? type : "",
                 type ? "\r\n" : "", body_len,
                 c->close_after ? "close" : "keep-alive");
    if (n < 0 || (size_t)n >= sizeof(h))
        n = (int)strlen(h);         /* cut short: cannot happen */
    c->head = xmalloc((size_t)n + 1);
    memcpy(c->head, h, (size_t)n + 1);
    c->head_len = (size_t)n;
    c->body = body;
    c->body_len = send_body ? body_len : 0;
    c->woff = 0;
    c->state = W_WRITE;
}

/* An error answer (the connection closes after it), why in the body. */
void
webanswer_error(struct wconn *c, int status, const char *extra,
                const char *why)
{
    char text[256];
    int n = snprintf(text, sizeof(text), "%d %s%s%s\n", status,
                     http_reason(status), why ? ": " : "", why ? why : "");

    c->close_after = 1;
    c->own = xmalloc((size_t)n + 1);
    memcpy(c->own, text, (size_t)n + 1);
    respond(c, status, extra, "text/plain; charset=utf-8", c->own,
            (size_t)n, 1);
    log_debug("web client (%s): %d: %s", c->addr, status,
              why ? why : http_reason(status));
}

static void
serve_page(struct wconn *c, const struct http_req *req)
{
    respond(c, 200, "Cache-Control: no-cache\r\n"
            "Content-Security-Policy: default-src 'none'; "
            "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self' ws: wss:; img-src 'none'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "Referrer-Policy: no-referrer\r\n",
            "text/html; charset=utf-8", (const char *)web_page,
            web_page_len, req->method == HTTP_GET);
}

static void
serve_metrics(struct wconn *c, const struct http_req *req, size_t nconns)
{
    size_t len;

    c->own = webmetrics_text(&len, nconns);
    respond(c, 200, "Cache-Control: no-store\r\n",
            "text/plain; version=0.0.4; charset=utf-8", c->own, len,
            req->method == HTTP_GET);
}

/* Is s one of the space-separated words of list, ignoring case? */
static int
in_list(struct http_str s, const char *list)
{
    while (*list != '\0') {
        size_t n = strcspn(list, " \t");
        if (n > 0 && n == s.n && strncasecmp(list, s.p, n) == 0)
            return 1;
        list += n;
        list += strspn(list, " \t");
    }
    return 0;
}

/* May a page from req's Origin open a WebSocket?  With no web-origins,
 * only the page's own: Origin's host[:port] is the Host asked for.  A
 * request without Origin comes from no browser page: allowed. */
static int
origin_ok(const struct http_req *req)
{
    struct http_str o = req->origin;
    const char *sep;

    if (o.p == NULL)
        return 1;
    if (web_opts.conf.origins != NULL)
        return in_list(o, web_opts.conf.origins);
    sep = o.n > 3 ? memmem(o.p, o.n, "://", 3) : NULL;
    if (sep == NULL || req->host.p == NULL)
        return 0;
    sep += 3;
    return (size_t)(o.p + o.n - sep) == req->host.n &&
           strncasecmp(sep, req->host.p, req->host.n) == 0;
}

/* The peer's address as 16 bytes (IPv4 mapped); 0, or -1. */
static int
peer_bytes(int fd, unsigned char out[16])
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    if (ss.ss_family == AF_INET6) {
        memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        return 0;
    }
    if (ss.ss_family != AF_INET)
        return -1;
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    return 0;
}

/* Is the socket's peer one of web-proxies? */
static int
from_proxy(int fd)
{
    unsigned char a[16];

    if (web_opts.nproxies == 0 || peer_bytes(fd, a) < 0)
        return 0;
    for (int i = 0; i < web_opts.nproxies; i++) {
        const struct settings_prefix *p = &web_opts.proxies[i];
        int full = p->bits / 8, rest = p->bits % 8;
        if (memcmp(a, p->addr, (size_t)full) != 0)
            continue;
        if (rest == 0 || ((a[full] ^ p->addr[full]) &
                          (0xff << (8 - rest)) & 0xff) == 0)
            return 1;
    }
    return 0;
}

/* Believe X-Forwarded-For from a proxy: its last address is the
 * client's (the one the proxy added). */
static void
take_forwarded(struct wconn *c, const struct http_req *req)
{
    struct http_str x = req->forwarded_for;
    char a[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    const char *p;
    size_t n;

    if (x.p == NULL || !from_proxy(c->tp->fd))
        return;
    p = x.p + x.n;
    while (p > x.p && p[-1] != ',')
        p--;
    while (p < x.p + x.n && (*p == ' ' || *p == '\t'))
        p++;
    n = (size_t)(x.p + x.n - p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(a))
        return;
    memcpy(a, p, n);
    a[n] = '\0';
    if (inet_pton(AF_INET, a, bin) != 1 && inet_pton(AF_INET6, a, bin) != 1)
        return;
    free(c->fwd);
    c->fwd = xstrdup(a);
}

/* GET /ws: check the handshake (RFC 6455 4.2) and answer 101. */
static void
serve_upgrade(struct wconn *c, const struct http_req *req)
{
    char accept[WS_ACCEPT_LEN + 1], extra[256];

    if (!req->upgrade_ws || !(req->connection & HTTP_CONN_UPGRADE)) {
        webanswer_error(c, 400, "", "not a WebSocket upgrade");
        return;
    }
    if (!http_str_eq(req->ws_version, "13")) {
        webanswer_error(c, 426, "Sec-WebSocket-Version: 13\r\n",
                      "WebSocket version 13 only");
        return;
    }
    if (!ws_key_valid(req->ws_key.p, req->ws_key.n)) {
        webanswer_error(c, 400, "", "bad Sec-WebSocket-Key");
        return;
    }
    if (!origin_ok(req)) {
        webanswer_error(c, 403, "", "Origin not allowed (web-origins)");
        return;
    }
    if (ws_accept(req->ws_key.p, req->ws_key.n, accept) < 0) {
        webanswer_error(c, 500, "", "cannot make the accept key");
        return;
    }
    take_forwarded(c, req);
    snprintf(extra, sizeof(extra), "Upgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
             accept);
    c->head = xstrdup("HTTP/1.1 101 Switching Protocols\r\n");
    c->head = xrealloc(c->head, strlen(c->head) + strlen(extra) + 1);
    strcat(c->head, extra);
    c->head_len = strlen(c->head);
    c->woff = 0;
    c->upgrade = 1;
    c->state = W_WRITE;
}

/* Answer one parsed request (nconns: the web thread's connections now,
 * for /metrics). */
void
webanswer(struct wconn *c, const struct http_req *req, size_t nconns)
{
    enum http_resource res;
    const char *allow;
    char extra[64];
    int status = http_route(req, &res, &allow);

    if (status == 405) {
        snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        webanswer_error(c, 405, extra, NULL);
        return;
    }
    if (status != 0) {
        webanswer_error(c, status, "", NULL);
        return;
    }
    if (req->has_body) {
        webanswer_error(c, 400, "", "a request body where none belongs");
        return;
    }
    c->close_after = !http_keep_alive(req);
    switch (res) {
    case HTTP_RES_PAGE:
        serve_page(c, req);
        break;
    case HTTP_RES_HEALTHZ:
        respond(c, 200, "Cache-Control: no-store\r\n",
                "text/plain; charset=utf-8", "ok\n", 3,
                req->method == HTTP_GET);
        break;
    case HTTP_RES_METRICS:
        serve_metrics(c, req, nconns);
        break;
    case HTTP_RES_WS:
        serve_upgrade(c, req);
        break;
    default:
        webanswer_error(c, 404, "", NULL);
    }
}
