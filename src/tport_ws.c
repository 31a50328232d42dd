/*
 * tport_ws.c: the WebSocket transport (see transport.h), layered over an
 * inner transport (plain TCP, or TLS with web-tls) whose HTTP upgrade
 * the web thread (web.c) has done.  Made by the web thread, then used
 * by one worker only; no shared state but the per-thread buffers.
 *
 * Reads: raw bytes from the inner transport (first those the web thread
 * read past the request) go through the decoder (ws.c), which writes
 * the messages' text straight into the worker's buffer, a "\n" after
 * each: the worker's line buffer sees the protocol as on TCP.  A ping is
 * answered with a pong, a close with a close echoing its code (then
 * read() returns 0); bad input fails the read with EPROTO, and close()
 * then sends the close code the RFC names.
 *
 * Writes: the worker's bytes are whole lines ("\n"-terminated); each
 * becomes one text frame without its "\n" (or "\r\n"), and all the
 * lines of one writev() are framed into one buffer and go out in one
 * write of the inner transport, so a batch costs what it costs on TCP.
 * What the socket does not take stays framed in a buffer of this
 * client's (allocated only then: an idle client keeps none), and the
 * call reports one byte fewer than it framed, the last line's last
 * byte: the worker then waits for the socket to be writable and offers
 * that byte again first, which is skipped, and the rest is written
 * before anything new.  Control answers share that buffer; while one
 * waits, reading waits for writability too (TLS does the same), so a
 * peer that pings and never reads stops being read.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "transport.h"
#include "ws.h"
#include "xmalloc.h"

#define WS_RBUF    16384        /* raw bytes read at once */
#define WS_WBUF    (2 * 65536 + 64) /* framed bytes per write: > max-line */
#define WS_OUT_MAX (WS_WBUF + 4096) /* unsent bytes kept: bounded */

struct tport_ws {
    struct transport  t;
    struct transport *in;
    struct ws_dec     dec;
    uint8_t          *out;          /* framed, not written yet */
    size_t            out_len, out_off;
    uint8_t          *pre;          /* raw, read but not decoded yet */
    size_t            pre_len, pre_off;
    const char       *why;          /* the read error, for strerror() */
    uint16_t          code;         /* the close code to send */
    unsigned          held:1;       /* the next byte offered is framed */
    unsigned          ctl_wait:1;   /* reading waits for out to drain */
    unsigned          closed:1;     /* the close frame is queued */
    unsigned          eof:1;        /* the peer closed */
    unsigned          broken:1;     /* the inner transport failed */
    char             *peer;         /* a proxy's word for the address */
};

static _Thread_local uint8_t rbuf[WS_RBUF];
static _Thread_local uint8_t wbuf[WS_WBUF];

/* Keep n framed bytes to write later. */
static void
keep_out(struct tport_ws *tw, const uint8_t *data, size_t n)
{
    size_t left = tw->out_len - tw->out_off;
    uint8_t *b = xmalloc(left + n);

    if (left > 0)
        memcpy(b, tw->out + tw->out_off, left);
    memcpy(b + left, data, n);
    free(tw->out);
    tw->out = b;
    tw->out_len = left + n;
    tw->out_off = 0;
}

/* Write what is kept.  Returns 1 when nothing is left, 0 when the socket
 * is full (wwait says for what), -1 on an error. */
static int
flush_out(struct tport_ws *tw)
{
    while (tw->out_off < tw->out_len) {
        struct iovec iov = { tw->out + tw->out_off,
                             tw->out_len - tw->out_off };
        ssize_t w = tport_writev(tw->in, &iov, 1);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            tw->broken = 1;
            return -1;
        }
        tw->out_off += (size_t)w;
    }
    free(tw->out);
    tw->out = NULL;
    tw->out_len = tw->out_off = 0;
    return 1;
}

/* Queue a control frame of opcode with payload p[0..n) and try to send
 * it; if it waits, reading waits for it. */
static void
control(struct tport_ws *tw, int opcode, const uint8_t *p, size_t n)
{
    uint8_t f[WS_HEADER_MAX + WS_CTL_MAX];
    size_t h = ws_header(f, opcode, n);

    memcpy(f + h, p, n);
    keep_out(tw, f, h + n);
    if (flush_out(tw) == 0)
        tw->ctl_wait = 1;
}

/* The peer closes: answer with its code (once). */
static void
close_echo(struct tport_ws *tw)
{
    uint8_t f[4];

    tw->eof = 1;
    if (!tw->closed) {
        tw->closed = 1;
        keep_out(tw, f, ws_close_frame(f, tw->dec.close_code));
        flush_out(tw);
    }
}

/* Keep raw bytes the decoder could not take yet (defensive: the output
 * is never smaller than what it decodes into). */
static void
keep_raw(struct tport_ws *tw, const uint8_t *p, size_t n)
{
    uint8_t *b = xmalloc(n);

    memcpy(b, p, n);
    free(tw->pre);
    tw->pre = b;
    tw->pre_len = n;
    tw->pre_off = 0;
}

/* Decode src[0..n) into buf; returns the bytes made or -1 (errno). */
static ssize_t
decode(struct tport_ws *tw, const uint8_t *src, size_t n, uint8_t *buf,
       size_t len, int from_pre)
{
    size_t i = 0, o = 0;

    while (i < n && !tw->eof) {
        size_t used, made;
        enum ws_event ev = ws_decode(&tw->dec, src + i, n - i, &used,
                                     buf + o, len - o, &made);
        i += used;
        o += made;
        if (ev == WS_PING)
            control(tw, 0xa, tw->dec.ctl, tw->dec.ctl_len);
        else if (ev == WS_CLOSE)
            close_echo(tw);
        else if (ev == WS_ERROR) {
            tw->why = tw->dec.why;
            tw->code = tw->dec.close_code;
            errno = EPROTO;
            return -1;
        } else if (used == 0 && made == 0)
            break;
    }
    if (from_pre)
        tw->pre_off += i;
    else if (i < n && !tw->eof)
        keep_raw(tw, src + i, n - i);
    if (tw->pre != NULL && tw->pre_off >= tw->pre_len) {
        free(tw->pre);
        tw->pre = NULL;
        tw->pre_len = tw->pre_off = 0;
    }
    return (ssize_t)o;
}

/* Can reading go on, or must a control answer go out first? */
static int
read_blocked(struct tport_ws *tw)
{
    if (!tw->ctl_wait)
        return 0;
    if (flush_out(tw) == 0 && tw->out_len - tw->out_off > 0) {
        tw->t.rwait = tw->in->wwait;
        return 1;
    }
    tw->ctl_wait = 0;
    return 0;
}

static ssize_t
ws_read(struct transport *t, void *buf, size_t len)
{
    struct tport_ws *tw = (struct tport_ws *)t;
    size_t cap = len - 1 < sizeof(rbuf) ? len - 1 : sizeof(rbuf);

    if (tw->why != NULL || tw->broken || len < 2) {
        errno = EPROTO;
        return -1;
    }
    for (;;) {
        ssize_t n, o;
        if (tw->eof)
            return 0;
        if (read_blocked(tw)) {
            errno = EAGAIN;
            return -1;
        }
        if (tw->pre != NULL) {
            n = (ssize_t)(tw->pre_len - tw->pre_off);
            n = (size_t)n > cap ? (ssize_t)cap : n;
            o = decode(tw, tw->pre + tw->pre_off, (size_t)n, buf, len, 1);
        } else {
            n = tport_read(tw->in, rbuf, cap);
            t->rwait = tw->in->rwait;
            if (n <= 0)
                return n;
            o = decode(tw, rbuf, (size_t)n, buf, len, 0);
        }
        if (tw->ctl_wait)
            t->rwait = tw->in->wwait;   /* a control answer waits */
        if (o != 0)
            return o;               /* text, or -1 */
    }
}

/* The length of the line at iov[*vi] + *off: its payload (without "\n"
 * or "\r\n") in *payload; returns its raw bytes, "\n" included (all that
 * is left if no "\n" comes). */
static size_t
line_len(const struct iovec *iov, int n, int vi, size_t off,
         size_t *payload, int *whole)
{
    size_t raw = 0;

    *whole = 0;
    for (; vi < n; vi++, off = 0) {
        const char *p = (const char *)iov[vi].iov_base + off;
        size_t k = iov[vi].iov_len - off;
        const char *nl = memchr(p, '\n', k);
        if (nl != NULL) {
            raw += (size_t)(nl - p) + 1;
            *whole = 1;
            break;
        }
        raw += k;
    }
    *payload = *whole ? raw - 1 : raw;
    return raw;
}

/* Copy count bytes from iov at (*vi, *off) to dst, moving along. */
static void
copy_from(const struct iovec *iov, int *vi, size_t *off, uint8_t *dst,
          size_t count)
{
    while (count > 0) {
        size_t k = iov[*vi].iov_len - *off;
        if (k > count)
            k = count;
        memcpy(dst, (const char *)iov[*vi].iov_base + *off, k);
        dst += k;
        count -= k;
        *off += k;
        if (*off == iov[*vi].iov_len) {
            (*vi)++;
            *off = 0;
        }
    }
}

/* Skip count bytes of iov at (*vi, *off). */
static void
skip(const struct iovec *iov, int n, int *vi, size_t *off, size_t count)
{
    while (count > 0 && *vi < n) {
        size_t k = iov[*vi].iov_len - *off;
        if (k > count)
            k = count;
        count -= k;
        *off += k;
        if (*off == iov[*vi].iov_len) {
            (*vi)++;
            *off = 0;
        }
    }
}

/* The byte at raw position at from (vi, off). */
static uint8_t
byte_at(const struct iovec *iov, int vi, size_t off, size_t at)
{
    for (;;) {
        size_t k = iov[vi].iov_len - off;
        if (at < k)
            return ((const uint8_t *)iov[vi].iov_base)[off + at];
        at -= k;
        vi++;
        off = 0;
    }
}

/* Frame the whole lines of iov from (vi, off) into wbuf; *taken gets
 * the raw bytes framed.  Returns the framed length. */
static size_t
frame_lines(const struct iovec *iov, int n, int vi, size_t off,
            size_t *taken)
{
    size_t wlen = 0;

    while (vi < n) {
        size_t payload, raw;
        int whole;
        if (off == iov[vi].iov_len) {
            vi++;
            off = 0;
            continue;
        }
        raw = line_len(iov, n, vi, off, &payload, &whole);
        if (!whole && (wlen > 0 || *taken > 0))
            break;                  /* a part line waits for its end */
        if (whole && payload > 0 &&
            byte_at(iov, vi, off, payload - 1) == '\r')
            payload--;              /* "\r\n": the frame ends before it */
        if (ws_header_len(payload) + payload > sizeof(wbuf) - wlen) {
            if (wlen > 0)
                break;
            payload = raw = sizeof(wbuf) - WS_HEADER_MAX;   /* defensive */
        }
        wlen += ws_header(wbuf + wlen, 1, payload);
        copy_from(iov, &vi, &off, wbuf + wlen, payload);
        skip(iov, n, &vi, &off, raw - payload);
        wlen += payload;
        *taken += raw;
    }
    return wlen;
}

static ssize_t
ws_writev(struct transport *t, const struct iovec *iov, int n)
{
    struct tport_ws *tw = (struct tport_ws *)t;
    size_t taken = 0, off = 0, wlen;
    int vi = 0, r;
    ssize_t w;

    if (tw->broken || tw->closed) {
        errno = EPIPE;
        return -1;
    }
    if (tw->out != NULL && (r = flush_out(tw)) <= 0) {
        t->wwait = tw->in->wwait;
        if (r == 0)
            errno = EAGAIN;
        return -1;
    }
    if (tw->held) {
        skip(iov, n, &vi, &off, 1);
        tw->held = 0;
        taken = 1;
    }
    wlen = frame_lines(iov, n, vi, off, &taken);
    if (wlen == 0)
        return (ssize_t)taken;
    w = tport_writev(tw->in, &(struct iovec){ wbuf, wlen }, 1);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        tw->broken = 1;
        return -1;
    }
    if (w < 0)
        w = 0;
    t->wwait = tw->in->wwait;
    if ((size_t)w < wlen) {
        keep_out(tw, wbuf + w, wlen - (size_t)w);
        tw->held = 1;
        taken--;
    }
    return (ssize_t)taken;
}

static size_t
ws_pending(const struct transport *t)
{
    const struct tport_ws *tw = (const struct tport_ws *)t;

    if (tw->why != NULL || tw->broken)
        return 0;
    return tport_pending(tw->in) + (tw->pre_len - tw->pre_off);
}

static const char *
ws_strerror(const struct transport *t, int err)
{
    const struct tport_ws *tw = (const struct tport_ws *)t;
    static _Thread_local char buf[128];

    if (tw->why == NULL)
        return tport_strerror(tw->in, err);
    snprintf(buf, sizeof(buf), "WebSocket: %s (close %u)", tw->why,
             (unsigned)tw->code);
    return buf;
}

static const char *
ws_peer(const struct transport *t)
{
    return ((const struct tport_ws *)t)->peer;
}

/* Send what is kept and a close frame, once, without waiting; close
 * the inner transport. */
static void
ws_close(struct transport *t)
{
    struct tport_ws *tw = (struct tport_ws *)t;
    uint8_t f[4];

    if (!tw->broken && !tw->closed && tw->out_len - tw->out_off <
        WS_OUT_MAX) {
        keep_out(tw, f, ws_close_frame(f, tw->code ? tw->code :
                                       WS_CLOSE_NORMAL));
        tw->closed = 1;
    }
    if (!tw->broken)
        flush_out(tw);
    tport_close(tw->in);
    free(tw->out);
    free(tw->pre);
    free(tw->peer);
    free(tw);
}

static const struct tport_ops ws_ops = {
    .name = "ws", .kind = TPORT_WS, .read = ws_read, .writev = ws_writev,
    .pending = ws_pending, .strerror = ws_strerror, .close = ws_close,
    .peer = ws_peer,
};

static const struct tport_ops wss_ops = {
    .name = "wss", .kind = TPORT_WSS, .read = ws_read, .writev = ws_writev,
    .pending = ws_pending, .strerror = ws_strerror, .close = ws_close,
    .peer = ws_peer,
};

struct transport *
tport_ws_new(struct transport *inner, const void *pre, size_t npre,
             unsigned max_line, const char *peer)
{
    struct tport_ws *tw = xcalloc(1, sizeof(*tw));

    tw->t.ops = inner->ops->kind == TPORT_TLS ? &wss_ops : &ws_ops;
    tw->t.fd = inner->fd;
    tw->t.rwait = inner->rwait;
    tw->t.wwait = TPORT_WRITE;
    tw->in = inner;
    ws_dec_init(&tw->dec, max_line);
    if (npre > 0)
        keep_raw(tw, pre, npre);
    if (peer != NULL)
        tw->peer = xstrdup(peer);
    return &tw->t;
}
