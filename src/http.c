/*
 * http.c: the web port's HTTP/1.1 request parser (see http.h).  Pure;
 * the web thread calls it.
 *
 * Strict where RFC 9112 lets a server be: one space between the parts
 * of the request line, no space before a header's colon, no folded
 * lines, no control bytes in values, one Host.  A line may end in CRLF
 * or LF alone (RFC 9112 2.2); a CR anywhere else is refused.  Empty
 * lines before a request (left over from a previous one) are skipped.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "http.h"

/* RFC 9110 5.6.2: tchar. */
static int
is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
                                                        c) != NULL);
}

int
http_str_eq(struct http_str s, const char *word)
{
    return s.p != NULL && strlen(word) == s.n &&
           strncasecmp(s.p, word, s.n) == 0;
}

/* Fail req with status and why. */
static int
bad(struct http_req *req, int status, const char *why)
{
    req->why = why;
    return status;
}

/*
 * Find the end of the head: the byte after the blank line.  Goes on
 * from req->scanned.  Returns its offset, or 0 if not there yet.
 */
static size_t
find_end(const char *buf, size_t len, size_t start, struct http_req *req)
{
    size_t i = req->scanned > start ? req->scanned : start;

    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    /* Look again at the last two bytes: the end may straddle. */
    req->scanned = len > start + 2 ? len - 2 : start;
    return 0;
}

/* Split off the line at *pos (before end): sets *line and *n (without
 * CRLF or LF), moves *pos past it.  Returns 0, or -1 on a stray CR. */
static int
next_line(const char *buf, size_t end, size_t *pos, const char **line,
          size_t *n)
{
    const char *s = buf + *pos, *nl = memchr(s, '\n', end - *pos);
    size_t k = (size_t)(nl - s);

    *line = s;
    *n = k > 0 && s[k - 1] == '\r' ? k - 1 : k;
    *pos += k + 1;
    return memchr(s, '\r', *n) != NULL ? -1 : 0;
}

/* Parse "HTTP/1.1" into req->minor; a status on failure. */
static int
parse_version(const char *v, size_t n, struct http_req *req)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
        v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return bad(req, 400, "malformed HTTP version");
    if (v[5] != '1')
        return bad(req, 505, "HTTP version not supported");
    req->minor = v[7] - '0';
    return 0;
}

/* Parse the request line; 0 or a status. */
static int
parse_request_line(const char *s, size_t n, struct http_req *req)
{
    const char *sp1 = memchr(s, ' ', n), *sp2, *t, *q;
    size_t tn;

    if (sp1 == NULL || sp1 == s)
        return bad(req, 400, "malformed request line");
    for (const char *p = s; p < sp1; p++)
        if (!is_tchar((unsigned char)*p))
            return bad(req, 400, "malformed method");
    t = sp1 + 1;
    sp2 = memchr(t, ' ', n - (size_t)(t - s));
    if (sp2 == NULL || sp2 == t)
        return bad(req, 400, "malformed request line");
    tn = (size_t)(sp2 - t);
    if (t[0] != '/')
        return bad(req, 400, "request target is not a path");
    for (size_t i = 0; i < tn; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return bad(req, 400, "bad byte in request target");
    req->method_name = (struct http_str){ s, (size_t)(sp1 - s) };
    req->method = http_str_eq(req->method_name, "GET") ? HTTP_GET :
                  http_str_eq(req->method_name, "HEAD") ? HTTP_HEAD :
                  HTTP_OTHER;
    /* Methods are case-sensitive (RFC 9110 9.1): "get" is another. */
    if (req->method != HTTP_OTHER && memcmp(s, req->method == HTTP_GET ?
                                            "GET" : "HEAD",
                                            req->method_name.n) != 0)
        req->method = HTTP_OTHER;
    req->target = (struct http_str){ t, tn };
    q = memchr(t, '?', tn);
    req->path = (struct http_str){ t, q ? (size_t)(q - t) : tn };
    return parse_version(sp2 + 1, n - (size_t)(sp2 + 1 - s), req);
}

/* Call fn on each comma-separated token of v (OWS trimmed). */
static void
each_token(struct http_str v, struct http_req *req,
           void (*fn)(struct http_str tok, struct http_req *req))
{
    size_t i = 0;

    while (i < v.n) {
        size_t a = i, b;
        while (i < v.n && v.p[i] != ',')
            i++;
        b = i++;
        while (a < b && (v.p[a] == ' ' || v.p[a] == '\t'))
            a++;
        while (b > a && (v.p[b - 1] == ' ' || v.p[b - 1] == '\t'))
            b--;
        if (b > a)
            fn((struct http_str){ v.p + a, b - a }, req);
    }
}

static void
connection_token(struct http_str tok, struct http_req *req)
{
    if (http_str_eq(tok, "close"))
        req->connection |= HTTP_CONN_CLOSE;
    else if (http_str_eq(tok, "keep-alive"))
        req->connection |= HTTP_CONN_KEEPALIVE;
    else if (http_str_eq(tok, "upgrade"))
        req->connection |= HTTP_CONN_UPGRADE;
}

static void
upgrade_token(struct http_str tok, struct http_req *req)
{
    const char *slash = memchr(tok.p, '/', tok.n);

    if (slash != NULL)
        tok.n = (size_t)(slash - tok.p);
    if (http_str_eq(tok, "websocket"))
        req->upgrade_ws = 1;
}

/* Set *dst to v unless already set (a second one is an error). */
static int
once(struct http_str *dst, struct http_str v, struct http_req *req,
     const char *why)
{
    if (dst->p != NULL)
        return bad(req, 400, why);
    *dst = v;
    return 0;
}

/* Content-Length: digits; a second one must agree. */
static int
content_length(struct http_str v, struct http_req *req,
               struct http_str *seen)
{
    if (v.n == 0)
        return bad(req, 400, "empty Content-Length");
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] < '0' || v.p[i] > '9')
            return bad(req, 400, "malformed Content-Length");
    if (seen->p != NULL && (seen->n != v.n || memcmp(seen->p, v.p, v.n)))
        return bad(req, 400, "conflicting Content-Length");
    *seen = v;
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] != '0')
            req->has_body = 1;
    return 0;
}

/* One header field the parser knows, or ignores; 0 or a status. */
static int
use_field(struct http_str name, struct http_str v, struct http_req *req,
          struct http_str *clen)
{
    if (http_str_eq(name, "host"))
        return once(&req->host, v, req, "more than one Host");
    if (http_str_eq(name, "connection"))
        each_token(v, req, connection_token);
    else if (http_str_eq(name, "upgrade"))
        each_token(v, req, upgrade_token);
    else if (http_str_eq(name, "sec-websocket-key"))
        return once(&req->ws_key, v, req, "more than one Sec-WebSocket-Key");
    else if (http_str_eq(name, "sec-websocket-version"))
        return once(&req->ws_version, v, req,
                    "more than one Sec-WebSocket-Version");
    else if (http_str_eq(name, "origin"))
        return once(&req->origin, v, req, "more than one Origin");
    else if (http_str_eq(name, "x-forwarded-for"))
        req->forwarded_for = v;
    else if (http_str_eq(name, "content-length"))
        return content_length(v, req, clen);
    else if (http_str_eq(name, "transfer-encoding"))
        req->has_body = 1;
    return 0;
}

/* Parse one header line; 0 or a status. */
static int
parse_field(const char *s, size_t n, struct http_req *req,
            struct http_str *clen)
{
    const char *colon = memchr(s, ':', n);
    size_t a, b;

    if (s[0] == ' ' || s[0] == '\t')
        return bad(req, 400, "folded header line");
    if (colon == NULL || colon == s)
        return bad(req, 400, "malformed header line");
    for (const char *p = s; p < colon; p++)
        if (!is_tchar((unsigned char)*p))
            return bad(req, 400, "malformed header name");
    a = (size_t)(colon - s) + 1;
    b = n;
    while (a < b && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
        b--;
    for (size_t i = a; i < b; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return bad(req, 400, "control byte in header value");
    }
    return use_field((struct http_str){ s, (size_t)(colon - s) },
                     (struct http_str){ s + a, b - a }, req, clen);
}

/* Parse the whole head, buf[start, end); 0 or a status. */
static int
parse_head(const char *buf, size_t start, size_t end, struct http_req *req)
{
    struct http_str clen = { NULL, 0 };
    size_t pos = start, n;
    const char *line;
    int rc;

    if (next_line(buf, end, &pos, &line, &n) < 0)
        return bad(req, 400, "stray CR in request line");
    if ((rc = parse_request_line(line, n, req)) != 0)
        return rc;
    for (;;) {
        if (next_line(buf, end, &pos, &line, &n) < 0)
            return bad(req, 400, "stray CR in header");
        if (n == 0)
            break;
        if ((rc = parse_field(line, n, req, &clen)) != 0)
            return rc;
    }
    if (req->minor >= 1 && req->host.p == NULL)
        return bad(req, 400, "no Host header");
    return 0;
}

int
http_parse(const char *buf, size_t len, struct http_req *req)
{
    size_t start = 0, end, scanned = req->scanned;
    int rc;

    while (start < len && (buf[start] == '\n' ||
                           (buf[start] == '\r' && start + 1 < len &&
                            buf[start + 1] == '\n')))
        start += buf[start] == '\r' ? 2 : 1;
    memset(req, 0, sizeof(*req));
    req->scanned = scanned;
    if ((end = find_end(buf, len, start, req)) == 0) {
        if (len >= HTTP_HEAD_MAX)
            return bad(req, 431, "request head over 8 KiB");
        return HTTP_INCOMPLETE;
    }
    if (end > HTTP_HEAD_MAX)
        return bad(req, 431, "request head over 8 KiB");
    req->head_len = end;
    if ((rc = parse_head(buf, start, end, req)) != 0)
        return rc;
    return HTTP_OK;
}

/* The paths chatd serves, with the methods each takes. */
static const struct {
    const char         *path;
    enum http_resource  res;
    int                 head_ok;    /* HEAD as well as GET */
} routes[] = {
    { "/", HTTP_RES_PAGE, 1 },
    { "/index.html", HTTP_RES_PAGE, 1 },
    { "/healthz", HTTP_RES_HEALTHZ, 1 },
    { "/metrics", HTTP_RES_METRICS, 1 },
    { "/ws", HTTP_RES_WS, 0 },
};

int
http_route(const struct http_req *req, enum http_resource *res,
           const char **allow)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (req->path.n != strlen(routes[i].path) ||
            memcmp(req->path.p, routes[i].path, req->path.n) != 0)
            continue;
        *allow = routes[i].head_ok ? "GET, HEAD" : "GET";
        if (req->method == HTTP_GET ||
            (req->method == HTTP_HEAD && routes[i].head_ok)) {
            *res = routes[i].res;
            return 0;
        }
        return 405;
    }
    *res = HTTP_RES_NONE;
    return 404;
}

int
http_keep_alive(const struct http_req *req)
{
    if (req->connection & HTTP_CONN_CLOSE)
        return 0;
    return req->minor >= 1 || (req->connection & HTTP_CONN_KEEPALIVE);
}

const char *
http_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default:  return "";
    }
}
