/*
 * msg.h: an immutable, reference-counted server line, formatted once and
 * shared by every recipient on every worker.  Any thread may take or drop a
 * reference; the data never changes after msg_new().
 */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct msg {
    atomic_uint refs;
    uint32_t    len;            /* bytes in data, LF included */
    char        data[];         /* the line, LF-terminated */
};

struct msg *msg_new(const char *data, size_t len);
struct msg *msg_format(enum proto_kind kind, const char *nick,
                       const char *text);
struct msg *msg_notice(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
struct msg *msg_format_in(const char *prefix, enum proto_kind kind,
                          const char *nick, const char *text);
struct msg *msg_notice_in(const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void        msg_ref(struct msg *m, unsigned n);
void        msg_unref(struct msg *m);

#endif
