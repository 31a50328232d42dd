/*
 * http.h: a small, strictly bounded HTTP/1.1 request parser (RFC 9110,
 * RFC 9112) for the web port.  Pure: no I/O, no allocation, no locks;
 * whoever owns the connection (the web thread) calls it.
 *
 * The caller keeps a request's bytes in its own buffer of at most
 * HTTP_HEAD_MAX bytes and calls http_parse() each time more arrive: it
 * goes on looking for the end of the head where it stopped, and parses
 * the head once it is all there.  The request's strings point into that
 * buffer (struct http_str); nothing is copied.  Only what chatd serves
 * is understood: GET and HEAD of a few paths, the WebSocket upgrade.
 * A request with a body is refused (chatd takes none).
 */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <stddef.h>

#define HTTP_HEAD_MAX  8192     /* request line and headers, in bytes */

/* http_parse()'s answers besides an HTTP status code. */
#define HTTP_INCOMPLETE 0       /* the head is not all there yet */
#define HTTP_OK         1       /* parsed: see struct http_req */

/* Connection: tokens seen. */
#define HTTP_CONN_CLOSE     1
#define HTTP_CONN_KEEPALIVE 2
#define HTTP_CONN_UPGRADE   4

enum http_method { HTTP_GET = 1, HTTP_HEAD, HTTP_OTHER };

/* What chatd serves: http_route()'s answer. */
enum http_resource {
    HTTP_RES_NONE = 0, HTTP_RES_PAGE, HTTP_RES_HEALTHZ, HTTP_RES_METRICS,
    HTTP_RES_WS
};

/* Bytes of the caller's buffer; p is NULL when absent. */
struct http_str {
    const char *p;
    size_t      n;
};

struct http_req {
    size_t           head_len;  /* bytes of the head, blank line included */
    size_t           scanned;   /* how far the end was looked for */
    enum http_method method;
    struct http_str  method_name;
    struct http_str  target;    /* origin-form: "/path?query" */
    struct http_str  path;      /* target without the query */
    int              minor;     /* HTTP/1.minor */
    struct http_str  host;
    unsigned         connection;    /* HTTP_CONN_* */
    int              upgrade_ws;    /* Upgrade: lists websocket */
    struct http_str  ws_key;        /* Sec-WebSocket-Key */
    struct http_str  ws_version;    /* Sec-WebSocket-Version */
    struct http_str  origin;
    struct http_str  forwarded_for; /* the last X-Forwarded-For */
    int              has_body;      /* Content-Length > 0 or chunked */
    const char      *why;           /* what is wrong, with an error */
};

/*
 * Look at the len bytes of buf (one request's, from its first byte).
 * req->scanned must be 0 for a new request.  Returns HTTP_INCOMPLETE
 * (wait for more; if len is HTTP_HEAD_MAX already, the answer is 431),
 * HTTP_OK with req filled in, or the status to answer with: 400 (bad
 * syntax), 431 (head too large), 505 (not HTTP/1.x), 501 (a
 * Transfer-Encoding chatd cannot take); req->why says what is wrong.
 */
int  http_parse(const char *buf, size_t len, struct http_req *req);

/*
 * What a parsed request asks for.  Returns 0 and sets *res, or the
 * status to answer with: 404 (no such path) or 405 (a method the path
 * does not take; *allow is then the Allow header's value).
 */
int  http_route(const struct http_req *req, enum http_resource *res,
                const char **allow);

/* Keep the connection open after answering req?  (HTTP/1.1 unless
 * "Connection: close"; HTTP/1.0 only with "keep-alive".) */
int  http_keep_alive(const struct http_req *req);

/* The reason phrase of status ("Not Found"), "" if unknown. */
const char *http_reason(int status);

/* Does s equal the NUL-terminated word, ignoring ASCII case? */
int  http_str_eq(struct http_str s, const char *word);

#endif
