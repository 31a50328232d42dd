/* msg.c: reference-counted lines (see msg.h); any thread. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xmalloc.h"

/* A new message holding a copy of data, with one reference. */
struct msg *
msg_new(const char *data, size_t len)
{
    struct msg *m = xmalloc(sizeof(*m) + len);

    atomic_init(&m->refs, 1);
    m->len = (uint32_t)len;
    memcpy(m->data, data, len);
    return m;
}

/*
 * Format a server line (see proto_format()) into a new message.  nick and
 * text must already be sanitized.
 */
struct msg *
msg_format(enum proto_kind kind, const char *nick, const char *text)
{
    size_t cap = strlen(text) + PROTO_PREFIX_MAX + 2;
    char stackbuf[4096];
    char *buf = cap <= sizeof(stackbuf) ? stackbuf : xmalloc(cap);
    size_t n = proto_format(buf, cap, kind, nick ? nick : "", text);
    struct msg *m = msg_new(buf, n);

    if (buf != stackbuf)
        free(buf);
    return m;
}

/* A new "*** text" notice, text formatted from fmt (at most 511 bytes;
 * the caller's arguments must already be sanitized). */
struct msg *
msg_notice(const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return msg_format(PROTO_NOTICE, NULL, text);
}

/* Like msg_format(), the line started with "ROOM " when prefix (a room
 * name) is not NULL. */
struct msg *
msg_format_in(const char *prefix, enum proto_kind kind, const char *nick,
              const char *text)
{
    size_t cap = strlen(text) + PROTO_PREFIX_MAX + PROTO_ROOM_MAX + 3;
    char stackbuf[4096];
    char *buf = cap <= sizeof(stackbuf) ? stackbuf : xmalloc(cap);
    size_t n = 0;
    struct msg *m;

    if (prefix == NULL) {
        if (buf != stackbuf)
            free(buf);
        return msg_format(kind, nick, text);
    }
    n = (size_t)snprintf(buf, cap, "%s ", prefix);
    n += proto_format(buf + n, cap - n, kind, nick ? nick : "", text);
    m = msg_new(buf, n);
    if (buf != stackbuf)
        free(buf);
    return m;
}

/* A notice, like msg_notice(), in room prefix (NULL: the default). */
struct msg *
msg_notice_in(const char *prefix, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return msg_format_in(prefix, PROTO_NOTICE, NULL, text);
}

/* Take n more references. */
void
msg_ref(struct msg *m, unsigned n)
{
    atomic_fetch_add_explicit(&m->refs, n, memory_order_relaxed);
}

/* Drop one reference; the last one frees the message. */
void
msg_unref(struct msg *m)
{
    if (m == NULL)
        return;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        free(m);
}
