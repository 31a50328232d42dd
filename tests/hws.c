/*
 * hws.c: the web tests' WebSocket and HTTP client (hws.h).  Frames are
 * built and parsed here independently of chatd's ws.c, so a bug there is
 * not mirrored.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "hws.h"

struct hws {
    uint8_t raw[72000];        /* server bytes not yet parsed */
    size_t  len;
    int     close_code;         /* -2: none yet */
    const struct hconn_io *inner;   /* TLS under it (htls.c), or NULL */
    void   *inner_state;
};

static const struct hconn_io ws_io;

int
hws_web_port(struct hserver *s)
{
    char *log = hserver_log(s);
    const char *p = log ? strstr(log, " (web)\n") : NULL;

    if (p == NULL && log != NULL)
        p = strstr(log, " (web tls)\n");
    int port = 0;

    if (p != NULL) {
        while (p > log && p[-1] != ':')
            p--;
        port = atoi(p);
    }
    free(log);
    return port;
}

/* Wait up to ms for fd to be readable: 1, 0 on timeout. */
static int
wait_in(int fd, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int rc;

    do
        rc = poll(&pfd, 1, ms < 0 ? 0 : ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            poll(&pfd, 1, H_TIMEOUT_MS);
            continue;
        }
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read what the socket (or the TLS under the WebSocket, or the
 * connection's own io before the upgrade) has, waiting up to ms: > 0, 0
 * on timeout, -1 at the end. */
static ssize_t
io_read(struct hconn *c, void *buf, size_t len, int ms)
{
    struct hws *w = c->io == &ws_io ? c->tls : NULL;
    ssize_t n;

    if (w != NULL && w->inner != NULL) {
        c->tls = w->inner_state;
        n = w->inner->read(c, buf, len, ms);
        c->tls = w;
        return n;
    }
    if (w == NULL && c->io != NULL)
        return c->io->read(c, buf, len, ms);
    for (;;) {
        if (!wait_in(c->fd, ms))
            return 0;
        n = read(c->fd, buf, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        return n > 0 ? n : -1;
    }
}

static int
io_write(struct hconn *c, const void *data, size_t len)
{
    struct hws *w = c->io == &ws_io ? c->tls : NULL;
    int rc;

    if (w != NULL && w->inner != NULL) {
        c->tls = w->inner_state;
        rc = w->inner->write(c, data, len);
        c->tls = w;
        return rc;
    }
    if (w == NULL && c->io != NULL)
        return c->io->write(c, data, len);
    return write_all(c->fd, data, len);
}

/* Parse one whole server frame at the front of w->raw into buf; returns
 * the payload bytes put (a text frame's, then "\n"), 0 for another kind,
 * -1 if no whole frame is there, -2 on a close. */
static ssize_t
one_frame(struct hws *w, uint8_t *buf, size_t cap)
{
    uint64_t n;
    size_t h = 2;

    if (w->len < 2)
        return -1;
    n = w->raw[1] & 0x7f;
    ck_assert_msg(!(w->raw[1] & 0x80), "server frame is masked");
    if (n == 126) {
        if (w->len < 4)
            return -1;
        n = (uint64_t)w->raw[2] << 8 | w->raw[3];
        h = 4;
    } else if (n == 127) {
        if (w->len < 10)
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | w->raw[2 + i];
        h = 10;
    }
    if (w->len < h + n)
        return -1;
    int op = w->raw[0] & 0x0f;
    ssize_t put = 0;
    if (op == 1) {
        ck_assert_msg(n + 1 <= cap, "frame larger than the test's buffer");
        ck_assert_msg(memchr(w->raw + h, '\n', n) == NULL,
                      "a text frame holds a newline");
        memcpy(buf, w->raw + h, n);
        buf[n] = '\n';
        put = (ssize_t)n + 1;
    } else if (op == 8) {
        w->close_code = n >= 2 ? w->raw[h] << 8 | w->raw[h + 1] : 0;
        put = -2;
    }
    memmove(w->raw, w->raw + h + n, w->len - h - n);
    w->len -= h + n;
    return put;
}

static ssize_t
ws_read(struct hconn *c, void *buf, size_t len, int ms)
{
    struct hws *w = c->tls;
    long end = h_now_ms() + ms;

    for (;;) {
        ssize_t put;
        while ((put = one_frame(w, buf, len)) >= 0)
            if (put > 0)
                return put;
        if (put == -2)
            return -1;
        long left = end - h_now_ms();
        ssize_t n = io_read(c, w->raw + w->len, sizeof(w->raw) - w->len,
                            left > 0 ? (int)left : 0);
        if (n <= 0)
            return n;
        w->len += (size_t)n;
    }
}

/* A masked frame into out; returns its length. */
static size_t
make_frame(uint8_t *out, int op, int fin, int masked, const void *payload,
           size_t n)
{
    const uint8_t *p = payload;
    uint8_t m[4];
    size_t h = 0;

    RAND_bytes(m, 4);
    out[h++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126)
        out[h++] = (uint8_t)((masked ? 0x80 : 0) | n);
    else if (n < 65536) {
        out[h++] = (uint8_t)((masked ? 0x80 : 0) | 126);
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = (uint8_t)((masked ? 0x80 : 0) | 127);
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    if (masked) {
        memcpy(out + h, m, 4);
        h += 4;
    }
    for (size_t i = 0; i < n; i++)
        out[h + i] = masked ? p[i] ^ m[i & 3] : p[i];
    return h + n;
}

int
hws_frame(struct hconn *c, int op, int fin, int masked, const void *payload,
          size_t n)
{
    uint8_t *f = malloc(n + 14);
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = io_write(c, f, make_frame(f, op, fin, masked, payload, n));
    free(f);
    return rc;
}

/* Each line of data becomes one text frame; all go in one write. */
static int
ws_write(struct hconn *c, const void *data, size_t len)
{
    const char *p = data, *end = p + len;
    uint8_t *buf = malloc(len + 14 * (len + 1));
    size_t o = 0;
    int rc;

    ck_assert_ptr_nonnull(buf);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        o += make_frame(buf + o, 1, 1, 1, p, n);
        p += n + (nl != NULL);
    }
    rc = io_write(c, buf, o);
    free(buf);
    return rc;
}

static void
ws_close(struct hconn *c)
{
    struct hws *w = c->tls;

    c->tls = w->inner_state;
    if (w->inner != NULL)
        w->inner->close(c);
    free(w);
    c->tls = NULL;
}

static const struct hconn_io ws_io = { ws_read, ws_write, ws_close };

int
hws_close_code(struct hconn *c, int ms)
{
    struct hws *w = c->tls;
    static char sink[70000];
    long end = h_now_ms() + ms;

    while (h_now_ms() < end) {
        ssize_t n = ws_read(c, sink, sizeof(sink), (int)(end - h_now_ms()));
        if (n < 0)
            return w->close_code >= 0 ? w->close_code : -1;
    }
    return -1;
}

static size_t last_len;        /* bytes read_answer() read */
static int head_only;           /* the answer to HEAD has no body */

/* Read an HTTP answer from fd into out: the head and Content-Length
 * bytes of body.  Returns the status, or -1. */
static int
read_answer(struct hconn *c, char *out, size_t cap)
{
    size_t len = 0;
    long end = h_now_ms() + H_TIMEOUT_MS;

    for (;;) {
        char *eoh;
        out[len] = '\0';
        if ((eoh = strstr(out, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(out, "\r\nContent-Length:");
            size_t body = cl && cl < eoh && !head_only ?
                          strtoul(cl + 17, NULL, 10) : 0;
            if (len >= (size_t)(eoh + 4 - out) + body ||
                strncmp(out, "HTTP/1.1 101 ", 13) == 0) {
                last_len = len;
                return atoi(out + 9);
            }
        }
        long left = end - h_now_ms();
        if (len + 1 >= cap || left <= 0)
            return -1;
        ssize_t n = io_read(c, out + len, cap - len - 1, (int)left);
        if (n == 0)
            return -1;
        if (n < 0) {
            last_len = len;
            return len > 12 ? atoi(out + 9) : -1;
        }
        len += (size_t)n;
    }
}

int
hws_http_conn(struct hconn *c, const void *req, size_t len, char *out,
              size_t cap)
{
    if (len > 0 && io_write(c, req, len) < 0)
        return -1;
    head_only = len >= 5 && memcmp(req, "HEAD ", 5) == 0;
    return read_answer(c, out, cap);
}

int
hws_http(int port, const void *req, size_t len, char *out, size_t cap)
{
    struct hconn *c = hconn_open(port);
    int st;

    if (c == NULL)
        return -1;
    st = hws_http_conn(c, req, len, out, cap);
    hconn_close(c);
    return st;
}

/* The accept key for key, as RFC 6455 4.2.2 says. */
static void
accept_for(const char *key, char *out)
{
    char in[128];
    unsigned char md[SHA_DIGEST_LENGTH];

    snprintf(in, sizeof(in), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const unsigned char *)in, strlen(in), md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

struct hconn *
hws_open(int port, const char *origin, const char *extra, int *status)
{
    return hws_upgrade(hconn_open(port), port, origin, extra, status);
}

struct hconn *
hws_upgrade(struct hconn *c, int port, const char *origin, const char *extra,
            int *status)
{
    unsigned char nonce[16];
    char key[32], req[2048], want[40], ans[4096], hdr[80];
    int st = -1;

    *status = -1;
    if (c == NULL)
        return NULL;
    RAND_bytes(nonce, sizeof(nonce));
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
    snprintf(req, sizeof(req), "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
             "%s%s%s%s\r\n", port, key, origin ? "Origin: " : "",
             origin ? origin : "", origin ? "\r\n" : "", extra ? extra : "");
    if (io_write(c, req, strlen(req)) < 0 ||
        (st = read_answer(c, ans, sizeof(ans))) != 101) {
        *status = st;
        hconn_close(c);
        return NULL;
    }
    *status = 101;
    accept_for(key, want);
    snprintf(hdr, sizeof(hdr), "Sec-WebSocket-Accept: %s\r\n", want);
    ck_assert_msg(strstr(ans, hdr) != NULL, "bad accept key in %s", ans);
    struct hws *w = calloc(1, sizeof(*w));
    ck_assert_ptr_nonnull(w);
    w->close_code = -2;
    /* Bytes after the 101's head are frames already. */
    char *eoh = strstr(ans, "\r\n\r\n");
    size_t rest = last_len - (size_t)(eoh + 4 - ans);
    memcpy(w->raw, eoh + 4, rest);
    w->len = rest;
    w->inner = c->io;
    w->inner_state = c->tls;
    c->tls = w;
    c->io = &ws_io;
    return c;
}

struct hconn *
hws_join(int port, char *nick, size_t len)
{
    int st;
    struct hconn *c = hws_open(port, NULL, NULL, &st);
    char l[512];

    if (c == NULL)
        return NULL;
    if (hconn_expect(c, "*** welcome to chatd, ", l, sizeof(l),
                     H_TIMEOUT_MS) != 1) {
        hconn_close(c);
        return NULL;
    }
    if (nick) {
        const char *p = l + strlen("*** welcome to chatd, ");
        snprintf(nick, len, "%.*s", (int)strcspn(p, "!"), p);
    }
    return c;
}
