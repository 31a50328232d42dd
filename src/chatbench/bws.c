/*
 * bws.c: chatbench's WebSocket client side (see bws.h).  Server frames
 * are unmasked and each text frame is one line: they are unframed in
 * place (a frame's header is never shorter than the "\n" that replaces
 * it), so the chat protocol's input code reads lines as over TCP.
 * Output: the lines the senders queue are framed, each masked with a
 * key of its own, when the connection flushes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bws.h"
#include "run.h"
#include "xmalloc.h"

#define HEAD_MAX 4096           /* the 101 answer, at most */

/* A cheap mask source (xorshift); masking needs no secrecy here. */
static uint32_t
next_mask(void)
{
    static uint32_t x = 2463534242u;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* Queue the upgrade request on c; it then waits for the 101. */
void
bws_upgrade(struct conn *c)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET /ws HTTP/1.1\r\n"
                     "Host: %s:%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: Y2hhdGJlbmNoIGtleSAxMg==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     bench.conf->host, bench.conf->port);

    memcpy(out_reserve(c, (size_t)n), req, (size_t)n);
    c->out_len += (size_t)n;
    c->out_framed = c->out_len;
    c->state = C_WS;
}

/* Take the 101 answer at buf; its length, 0 if not all there, -1. */
static long
take_answer(struct conn *c, const char *buf, size_t have)
{
    const char *end = memmem(buf, have, "\r\n\r\n", 4);

    if (end == NULL) {
        if (have > HEAD_MAX) {
            conn_lost(c, "no answer to the WebSocket upgrade");
            return -1;
        }
        return 0;
    }
    if (have < 13 || memcmp(buf, "HTTP/1.1 101 ", 13) != 0) {
        bench_fail("WebSocket upgrade refused: %.*s",
                   (int)strcspn(buf, "\r\n"), buf);
        return -1;
    }
    c->state = C_HELLO;
    return (long)(end + 4 - buf);
}

/*
 * Unframe the server's frames at buf[0..have): their lines go to the
 * front of buf (*lines bytes of them); returns the bytes of buf taken
 * (a partial frame is left), or -1 if c was lost.
 */
long
bws_input(struct conn *c, char *buf, size_t have, size_t *lines)
{
    size_t r = 0, w = 0;
    uint8_t *b = (uint8_t *)buf;

    *lines = 0;
    if (c->state == C_WS) {
        long n = take_answer(c, buf, have);
        if (n <= 0)
            return n;
        r = (size_t)n;
    }
    while (have - r >= 2) {
        uint64_t len = b[r + 1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (have - r < 4)
                break;
            len = (uint64_t)b[r + 2] << 8 | b[r + 3];
            h = 4;
        } else if (len == 127) {
            if (have - r < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | b[r + 2 + i];
            h = 10;
        }
        if (have - r - h < len)
            break;
        if ((b[r] & 0x0f) == 8) {
            conn_lost(c, "WebSocket closed by the server");
            return -1;
        }
        if ((b[r] & 0x0f) == 1) {
            memmove(buf + w, buf + r + h, (size_t)len);
            w += (size_t)len;
            buf[w++] = '\n';
        }
        r += h + (size_t)len;
    }
    *lines = w;
    return (long)r;
}

/* Frame the lines queued on c since the last flush, each masked. */
void
bws_frame_out(struct conn *c)
{
    static char *tmp;
    static size_t cap;
    size_t raw = c->out_len - c->out_framed, at = 0;

    if (raw == 0)
        return;
    if (raw > cap) {
        cap = raw * 2;
        tmp = xrealloc(tmp, cap);
    }
    memcpy(tmp, c->out + c->out_framed, raw);
    c->out_len = c->out_framed;
    while (at < raw) {
        char *nl = memchr(tmp + at, '\n', raw - at);
        size_t n = nl ? (size_t)(nl - (tmp + at)) : raw - at, h = 0;
        uint8_t *o = (uint8_t *)out_reserve(c, n + 8);
        uint32_t m = next_mask();
        uint8_t mk[4] = { (uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16),
                          (uint8_t)(m >> 24) };
        o[h++] = 0x81;
        if (n < 126) {
            o[h++] = (uint8_t)(0x80 | n);
        } else {
            o[h++] = 0x80 | 126;
            o[h++] = (uint8_t)(n >> 8);
            o[h++] = (uint8_t)n;
        }
        memcpy(o + h, mk, 4);
        h += 4;
        for (size_t i = 0; i < n; i++)
            o[h + i] = (uint8_t)tmp[at + i] ^ mk[i & 3];
        c->out_len += h + n;
        at += n + (nl != NULL);
    }
    c->out_framed = c->out_len;
}
