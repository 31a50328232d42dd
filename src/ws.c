/*
 * ws.c: WebSocket framing (see ws.h).  Pure; whichever thread owns the
 * connection calls it.
 *
 * A frame's header arrives byte by byte into d->hdr until it is whole
 * (its second byte says how long it is), then its payload streams: a
 * text or continuation payload is unmasked into the output, a control
 * payload into d->ctl.  Every rule of RFC 6455 5 that a server must
 * enforce ends the decoding with the close code the RFC names:
 * reserved bits, unknown opcodes, an unmasked frame, a fragmented or
 * long control frame, a continuation with nothing to continue, a new
 * message inside one: 1002; binary: 1003; bad UTF-8: 1007; a message
 * longer than max: 1009.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "ws.h"

#define OP_CONT   0x0
#define OP_TEXT   0x1
#define OP_BINARY 0x2
#define OP_CLOSE  0x8
#define OP_PING   0x9
#define OP_PONG   0xa

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void
ws_dec_init(struct ws_dec *d, uint32_t max)
{
    memset(d, 0, sizeof(*d));
    d->max = max;
    d->need = 2;
}

static enum ws_event
fail(struct ws_dec *d, uint16_t code, const char *why)
{
    d->close_code = code;
    d->why = why;
    return WS_ERROR;
}

/* Take one byte of a UTF-8 stream: 0, or -1 if it cannot be there. */
static int
utf8_step(struct ws_dec *d, uint8_t b)
{
    if (d->u8need > 0) {
        if (b < d->u8lo || b > d->u8hi)
            return -1;
        d->u8need--;
        d->u8lo = 0x80;
        d->u8hi = 0xbf;
        return 0;
    }
    d->u8lo = 0x80;
    d->u8hi = 0xbf;
    if (b < 0x80)
        return 0;
    if (b >= 0xc2 && b <= 0xdf)
        d->u8need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
        d->u8need = 2;
        if (b == 0xe0)
            d->u8lo = 0xa0;         /* overlong */
        else if (b == 0xed)
            d->u8hi = 0x9f;         /* surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        d->u8need = 3;
        if (b == 0xf0)
            d->u8lo = 0x90;         /* overlong */
        else if (b == 0xf4)
            d->u8hi = 0x8f;         /* past U+10FFFF */
    } else
        return -1;
    return 0;
}

/* The header is whole: check it and set the frame up. */
static enum ws_event
start_frame(struct ws_dec *d)
{
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1], op = b0 & 0x0f;
    uint64_t len = b1 & 0x7f;
    size_t at = 2;

    if (len == 126) {
        len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
        at = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | d->hdr[2 + i];
        at = 10;
        if (len >> 63)
            return fail(d, WS_CLOSE_PROTOCOL, "frame length over 2^63");
    }
    memcpy(d->mask, d->hdr + at, 4);
    d->moff = 0;
    d->hlen = 0;
    d->need = 2;
    d->fin = (b0 & 0x80) != 0;
    d->left = len;
    if (op >= OP_CLOSE) {
        d->ctl_op = op;
        d->ctl_len = 0;
        d->state = WS_ST_CTL;
        return WS_MORE;
    }
    d->state = WS_ST_DATA;
    if (d->msg_len + len > d->max)
        return fail(d, WS_CLOSE_TOO_BIG, "message longer than max-line");
    d->in_msg = !d->fin;
    return WS_MORE;
}

/* Check the first two bytes of a header; how long it is in d->need. */
static enum ws_event
check_start(struct ws_dec *d)
{
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1], op = b0 & 0x0f;
    uint8_t len = b1 & 0x7f;

    if (b0 & 0x70)
        return fail(d, WS_CLOSE_PROTOCOL, "reserved bits set");
    if (!(b1 & 0x80))
        return fail(d, WS_CLOSE_PROTOCOL, "unmasked client frame");
    if (op == OP_BINARY)
        return fail(d, WS_CLOSE_DATA, "binary frame");
    if (op >= OP_CLOSE) {
        if (op != OP_CLOSE && op != OP_PING && op != OP_PONG)
            return fail(d, WS_CLOSE_PROTOCOL, "unknown opcode");
        if (!(b0 & 0x80))
            return fail(d, WS_CLOSE_PROTOCOL, "fragmented control frame");
        if (len > WS_CTL_MAX)
            return fail(d, WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
    } else if (op == OP_CONT) {
        if (!d->in_msg)
            return fail(d, WS_CLOSE_PROTOCOL, "continuation of nothing");
    } else if (op == OP_TEXT) {
        if (d->in_msg)
            return fail(d, WS_CLOSE_PROTOCOL, "new message inside one");
    } else
        return fail(d, WS_CLOSE_PROTOCOL, "unknown opcode");
    d->need = (uint8_t)(2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + 4);
    return WS_MORE;
}

/* Is code one a peer may send (RFC 6455 7.4)? */
static int
close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011)
           || (code >= 3000 && code <= 4999);
}

/* A control frame is whole: what it asks for. */
static enum ws_event
end_control(struct ws_dec *d)
{
    if (d->ctl_op == OP_PING)
        return WS_PING;
    if (d->ctl_op == OP_PONG)
        return WS_MORE;
    d->close_code = 0;
    if (d->ctl_len == 1)
        return fail(d, WS_CLOSE_PROTOCOL, "close frame of one byte");
    if (d->ctl_len >= 2) {
        unsigned code = (unsigned)d->ctl[0] << 8 | d->ctl[1];
        if (!close_code_ok(code))
            return fail(d, WS_CLOSE_PROTOCOL, "bad close code");
        d->u8need = 0;
        for (size_t i = 2; i < d->ctl_len; i++)
            if (utf8_step(d, d->ctl[i]) < 0)
                return fail(d, WS_CLOSE_BAD_TEXT, "close reason not UTF-8");
        if (d->u8need)
            return fail(d, WS_CLOSE_BAD_TEXT, "close reason not UTF-8");
        d->close_code = (uint16_t)code;
    }
    d->why = "closed by the client";
    return WS_CLOSE;
}

/* Unmask n payload bytes of a data frame from in into out; *done says
 * how many were good (n, unless the text is not UTF-8). */
static enum ws_event
data_bytes(struct ws_dec *d, const uint8_t *in, size_t n, uint8_t *out,
           size_t *done)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i] ^ d->mask[d->moff++ & 3];
        *done = i;
        if (utf8_step(d, b) < 0)
            return fail(d, WS_CLOSE_BAD_TEXT, "text not UTF-8");
        out[i] = b == '\r' || b == '\n' ? ' ' : b;
    }
    *done = n;
    d->left -= n;
    d->msg_len += (uint32_t)n;
    return WS_MORE;
}

/* The payload of a data frame is done: a message may end. */
static enum ws_event
end_data(struct ws_dec *d, uint8_t *out, size_t *o)
{
    if (!d->fin)
        return WS_MORE;
    if (d->u8need)
        return fail(d, WS_CLOSE_BAD_TEXT, "text ends inside a character");
    out[(*o)++] = '\n';
    d->msg_len = 0;
    d->in_msg = 0;
    return WS_MORE;
}

enum ws_event
ws_decode(struct ws_dec *d, const uint8_t *in, size_t inlen, size_t *used,
          uint8_t *out, size_t outcap, size_t *made)
{
    size_t i = 0, o = 0, k;
    enum ws_event ev = WS_MORE;

    if (d->state == WS_ST_DONE) {
        *used = *made = 0;
        return (enum ws_event)d->done;
    }
    while (ev == WS_MORE) {
        switch (d->state) {
        case WS_ST_HEADER:
            if (i == inlen)
                goto out;
            d->hdr[d->hlen++] = in[i++];
            if (d->hlen == 2)
                ev = check_start(d);
            if (ev == WS_MORE && d->hlen == d->need)
                ev = start_frame(d);
            break;
        case WS_ST_CTL:
            k = inlen - i < d->left ? inlen - i : (size_t)d->left;
            for (size_t j = 0; j < k; j++)
                d->ctl[d->ctl_len++] = in[i + j] ^ d->mask[d->moff++ & 3];
            i += k;
            d->left -= k;
            if (d->left > 0)
                goto out;
            d->state = WS_ST_HEADER;
            ev = end_control(d);
            break;
        case WS_ST_DATA:
            if (d->left > 0) {
                k = inlen - i < d->left ? inlen - i : (size_t)d->left;
                if (k > outcap - o)
                    k = outcap - o;
                if (k == 0)
                    goto out;
                ev = data_bytes(d, in + i, k, out + o, &k);
                i += k;
                o += k;
                break;
            }
            if (d->fin && o == outcap)
                goto out;           /* no room for the "\n" yet */
            d->state = WS_ST_HEADER;
            ev = end_data(d, out, &o);
            break;
        }
    }
    if (ev != WS_MORE && ev != WS_PING) {
        d->state = WS_ST_DONE;
        d->done = (uint8_t)ev;
    }
out:
    *used = i;
    *made = o;
    return ev;
}

/* ------------------------------------------------------------------ */
/* Server frames and the handshake                                     */
/* ------------------------------------------------------------------ */

size_t
ws_header_len(uint64_t len)
{
    return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

size_t
ws_header(uint8_t *out, int opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t
ws_close_frame(uint8_t *out, uint16_t code)
{
    if (code == 0)
        return ws_header(out, OP_CLOSE, 0);
    ws_header(out, OP_CLOSE, 2);
    out[2] = (uint8_t)(code >> 8);
    out[3] = (uint8_t)code;
    return 4;
}

int
ws_key_valid(const char *key, size_t len)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    if (len != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (key[i] == '\0' || strchr(b64, key[i]) == NULL)
            return 0;
    return 1;
}

int
ws_accept(const char *key, size_t len, char *out)
{
    unsigned char in[64 + sizeof(ws_guid)], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (len > 64)
        return -1;
    memcpy(in, key, len);
    memcpy(in + len, ws_guid, sizeof(ws_guid) - 1);
    if (EVP_Digest(in, len + sizeof(ws_guid) - 1, md, &mdlen, EVP_sha1(),
                   NULL) != 1 || mdlen != 20)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, md, 20) == WS_ACCEPT_LEN ?
           0 : -1;
}
