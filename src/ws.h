/*
 * ws.h: WebSocket framing (RFC 6455) for chatd's web port: a streaming
 * decoder of client frames, the encoder of server frames, and the
 * handshake's accept key.  Pure: no I/O, no allocation, no locks; the
 * connection's owner (the web thread, then one worker, through
 * tport_ws.c) calls it.
 *
 * The decoder never buffers a message: payload bytes are unmasked
 * straight into the caller's output as they arrive, checked as UTF-8
 * across frames, and a "\n" ends each text message, so a message is one
 * protocol line for the worker's line buffer.  CR and LF inside a
 * message become spaces (one frame is one line).  Only a control frame's
 * payload (at most 125 bytes) is kept, until it is complete.
 */
#ifndef CHATD_WS_H
#define CHATD_WS_H

#include <stddef.h>
#include <stdint.h>

#define WS_CTL_MAX     125      /* a control frame's payload */
#define WS_HEADER_MAX  14       /* a frame's header, mask included */
#define WS_ACCEPT_LEN  28       /* Sec-WebSocket-Accept, base64 */

/* Close codes (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL     1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL   1002
#define WS_CLOSE_DATA       1003    /* a kind of data not accepted */
#define WS_CLOSE_BAD_TEXT   1007    /* not UTF-8 */
#define WS_CLOSE_TOO_BIG    1009

/* ws_decode()'s answers. */
enum ws_event {
    WS_MORE = 0,        /* all input used (or the output is full) */
    WS_PING,            /* a ping: answer with ctl[0..ctl_len) */
    WS_CLOSE,           /* the peer closes; echo close_code (0: none) */
    WS_ERROR            /* bad input: close with close_code; see why */
};

enum { WS_ST_HEADER, WS_ST_DATA, WS_ST_CTL, WS_ST_DONE };

struct ws_dec {
    uint64_t      left;         /* payload bytes of this frame to come */
    uint32_t      max;          /* longest message, in bytes */
    uint32_t      msg_len;      /* bytes of the message so far */
    uint16_t      close_code;
    uint8_t       hdr[WS_HEADER_MAX];
    uint8_t       hlen;         /* header bytes so far */
    uint8_t       need;         /* header bytes this header needs */
    uint8_t       state;        /* WS_ST_* */
    uint8_t       done;         /* the event that ended it */
    uint8_t       ctl_op;       /* the control frame's opcode */
    uint8_t       fin;          /* this data frame ends its message */
    uint8_t       mask[4];
    uint8_t       moff;         /* position in the mask */
    uint8_t       in_msg;       /* a fragmented message goes on */
    uint8_t       u8need;       /* UTF-8 continuation bytes to come */
    uint8_t       u8lo, u8hi;   /* the next one's range */
    uint8_t       ctl_len;
    uint8_t       ctl[WS_CTL_MAX];
    const char   *why;          /* with WS_ERROR */
};

/* A decoder for messages of at most max bytes (max-line). */
void ws_dec_init(struct ws_dec *d, uint32_t max);

/*
 * Decode in[0..inlen): payload into out (at most outcap bytes; a
 * message's end adds "\n"), *used and *made say how much of each.
 * Stops after a control frame that needs an answer (WS_PING, WS_CLOSE)
 * or at bad input (WS_ERROR); call again with the rest.  After
 * WS_CLOSE or WS_ERROR it decodes nothing more.
 */
enum ws_event ws_decode(struct ws_dec *d, const uint8_t *in, size_t inlen,
                        size_t *used, uint8_t *out, size_t outcap,
                        size_t *made);

/* Write the header of an unmasked, final server frame of opcode (1:
 * text, 8: close, 10: pong) with len bytes of payload; returns its size
 * (2, 4 or 10; out has room for WS_HEADER_MAX). */
size_t ws_header(uint8_t *out, int opcode, uint64_t len);

/* The bytes a header for len payload bytes takes. */
size_t ws_header_len(uint64_t len);

/* A whole close frame with code (0: none) into out (4 bytes at most);
 * returns its size. */
size_t ws_close_frame(uint8_t *out, uint16_t code);

/* Is key a Sec-WebSocket-Key: base64 of 16 bytes? */
int  ws_key_valid(const char *key, size_t len);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key GUID)) into out
 * (WS_ACCEPT_LEN + 1 bytes, NUL-terminated).  Returns 0, -1 if OpenSSL
 * fails. */
int  ws_accept(const char *key, size_t len, char *out);

#endif
