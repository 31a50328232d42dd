/*
 * fuzz_proto.c: libFuzzer harness for a client's input path: the framer
 * (linebuf.c), the command parser (proto.c) and the commands themselves
 * (command.c), with the real hub, msg and sendlog code behind them.
 * Bytes go in as a client would send them, split into reads; the lines
 * and replies that come out are checked, not merely survived:
 *
 *   - the framer's lines and too-long reports equal those of a simple
 *     reference framer (ref_frame() below) whenever the consumer drains
 *     the buffer before each append, as the worker does; with partial
 *     drains its lines still equal the reference's;
 *   - every line chatd would send (broadcasts, private messages, replies,
 *     notices) is LF-terminated, holds no other LF, no control bytes but
 *     TAB, no DEL, no C1 controls and only valid UTF-8;
 *   - a line relaying a client's text is at most max-line bytes plus the
 *     prefix (PROTO_PREFIX_MAX) plus the LF.
 *
 * Input layout: byte 0 picks max-line (64..319), bytes 1-2 seed the read
 * sizes, byte 3 holds flags (bit 0: partial drains; bit 1: the first
 * part of the input is the MOTD); the rest is the stream.
 *
 * Single-threaded: the harness plays the worker thread.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "command.h"
#include "hub.h"
#include "linebuf.h"
#include "msg.h"
#include "proto.h"
#include "sendlog.h"
#include "feed.h"
#include "session.h"
#include "transport.h"
#include "worker_int.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOTICE_MAX 1024     /* worker notices are formatted in 1 KiB */

/* ------------------------------------------------------------------ */
/* Reference framer                                                    */
/* ------------------------------------------------------------------ */

struct frame {
    int         toolong;
    const char *line;       /* into the input */
    size_t      len;
};

/*
 * Frame the whole stream at once, the obvious way: split at LF; a
 * segment longer than max+1 bytes is too long; else drop one trailing
 * CR, and if it is still longer than max it is too long; an unterminated
 * tail is reported only when it is already too long.  Returns the count
 * of frames stored in out (room for len + 1).
 */
static size_t
ref_frame(const char *s, size_t len, size_t max, struct frame *out)
{
    size_t n = 0, start = 0;

    for (size_t i = 0; i <= len; i++) {
        int end = i == len;
        if (!end && s[i] != '\n')
            continue;
        size_t seg = i - start;
        if (seg > max + 1) {
            out[n++] = (struct frame){ 1, NULL, 0 };
        } else if (!end) {
            if (seg > 0 && s[start + seg - 1] == '\r')
                seg--;
            if (seg > max)
                out[n++] = (struct frame){ 1, NULL, 0 };
            else
                out[n++] = (struct frame){ 0, s + start, seg };
        }
        start = i + 1;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Output checks                                                       */
/* ------------------------------------------------------------------ */

/*
 * Decode one UTF-8 character at s (n bytes left) the textbook way and
 * return its length, or 0 if it is invalid, overlong, a surrogate, past
 * U+10FFFF, or a C0/C1 control other than TAB, or DEL.
 */
static size_t
char_ok(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t need;

    if (s[0] < 0x80) {
        cp = s[0];
        need = 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1F;
        need = 2;
    } else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0F;
        need = 3;
    } else if ((s[0] & 0xF8) == 0xF0) {
        cp = s[0] & 0x07;
        need = 4;
    } else {
        return 0;
    }
    if (need > n)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < least[need] || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if ((cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F))
        return 0;
    return need;
}

static void
fail(const char *what, const char *line, size_t len)
{
    fprintf(stderr, "fuzz_proto: %s: %zu bytes: \"", what, len);
    for (size_t i = 0; i < len && i < 400; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\')
            fputc(ch, stderr);
        else
            fprintf(stderr, "\\x%02x", ch);
    }
    fprintf(stderr, "\"\n");
    abort();
}

/* Check one line chatd would send; limit is its longest allowed size. */
static void
check_line(const struct msg *m, size_t limit)
{
    const unsigned char *s = (const unsigned char *)m->data;
    size_t n = m->len;

    if (n == 0 || s[n - 1] != '\n')
        fail("line does not end in LF", m->data, n);
    if (n > limit)
        fail("line too long", m->data, n);
    for (size_t i = 0; i < n - 1;) {
        size_t k = char_ok(s + i, n - 1 - i);
        if (k == 0)
            fail("control byte or invalid UTF-8", m->data, n);
        i += k;
    }
}

/* ------------------------------------------------------------------ */
/* A worker and two clients, without sockets or threads                */
/* ------------------------------------------------------------------ */

static struct worker w;         /* static: it is large */

struct rig {
    struct worker_conf conf;
    struct client     *c;       /* the fuzzed client */
    struct hub_user   *bob;     /* another user, for /msg and /nick */
    size_t             relay_limit;
    size_t             notice_limit;
};

/* Finish the client's long reply, if it has one, as a reader would. */
static void
drain_feed(struct client *c)
{
    while (c->feed != NULL && feed_fill(c->feed, c, SIZE_MAX))
        ;
    feed_free(c->feed);
    c->feed = NULL;
}

/* The longest m may be: a notice's or a relayed line's, past a room's
 * "#room " prefix if it has one. */
static size_t
limit_of(const struct rig *r, const struct msg *m)
{
    const char *p = m->data;
    size_t room = 0;

    if (p[0] == '#') {
        room = strcspn(p, " ") + 1;
        p += room;
    }
    return (strncmp(p, "*** ", 4) == 0 ? r->notice_limit : r->relay_limit)
           + (room > PROTO_PREFIX_MAX / 2 ? room : 0);
}

/*
 * Check and drop everything the last command produced: the outbox
 * (broadcasts and private messages), the client's replies (long ones
 * made in full) and the sendlog.
 */
static void
collect(struct rig *r)
{
    struct client *c = r->c;

    drain_feed(c);
    for (size_t i = 0; i < c->rq_len; i++) {
        struct msg *m = c->rq[(c->rq_head + i) & (c->rq_cap - 1)];
        check_line(m, limit_of(r, m));
        msg_unref(m);
    }
    c->rq_len = c->rq_head = 0;
    c->rq_bytes = c->rq_off = 0;
    for (size_t i = 0; i < w.outbox.len; i++) {
        struct msg *m = w.outbox.v[i].msg;
        check_line(m, limit_of(r, m));
        msg_unref(m);
    }
    w.outbox.len = 0;
    for (uint64_t i = w.log.tail; i < w.log.head; i++) {
        struct sendlog_entry *e = sendlog_at(&w.log, i);
        check_line(e->msg, limit_of(r, e->msg));
        e->pending = 0;
    }
    sendlog_trim(&w.log);
    r->c->owed = 0;
    r->c->closing = NULL;       /* /quit: keep going */
    r->c->dirty = 0;
    w.flushq = w.closeq = NULL;
}

static void
rig_init(struct rig *r, size_t max_line, const char *motd)
{
    struct hub_welcome wel;
    char old[PROTO_NICK_MAX + 1];
    const char *why;

    memset(r, 0, sizeof(*r));
    r->conf = (struct worker_conf){ .max_line = (long)max_line,
                                    .sendq = 1L << 20 };
    r->conf.nmotd = command_motd(motd, &r->conf.motd);
    r->relay_limit = max_line + PROTO_PREFIX_MAX + 1;
    r->notice_limit = (max_line > NOTICE_MAX ? max_line : NOTICE_MAX) +
                      PROTO_PREFIX_MAX + 1;
    hub_init(1, 16, 4);
    memset(&w, 0, offsetof(struct worker, scratch));
    w.conf = &r->conf;
    sendlog_init(&w.log);
    wrooms_init(&w.rooms);

    r->bob = hub_join(2, 0, &wel, &w.outbox);
    free(wel.history);
    hub_nick(r->bob, "bob", old, &w.outbox, &why);

    r->c = client_new(tport_plain_new(-1), 1, max_line);
    r->c->user = hub_join(1, 0, &wel, &w.outbox);
    memcpy(r->c->nick, wel.nick, sizeof(r->c->nick));
    r->c->join_seq = wel.join_seq;
    wrooms_join(&w.rooms, r->c, wel.room, wel.room_name, 1, wel.join_seq);
    r->c->current = 0;
    command_welcome(&(struct session){ &w, r->c }, &wel);
    collect(r);
}

static void
rig_free(struct rig *r)
{
    hub_leave(r->c->user, "bye", &w.outbox);
    hub_leave(r->bob, "bye", &w.outbox);
    collect(r);
    while (r->c->nrooms > 0)
        wrooms_leave(&w.rooms, r->c, r->c->nrooms - 1);
    client_free(r->c);
    wrooms_free(&w.rooms);
    sendlog_free(&w.log);
    mbox_vec_free(&w.outbox);
    hub_destroy();
    for (size_t i = 0; i < r->conf.nmotd; i++)
        msg_unref(r->conf.motd[i]);
    free(r->conf.motd);
}

/* Run one framed line through the command code, as the worker does. */
static void
run_line(struct rig *r, const char *line, size_t len)
{
    char *copy = xmalloc(len + 1);  /* exact size: ASan sees overreads */

    memcpy(copy, line, len + 1);
    command_line(&(struct session){ &w, r->c }, copy, len);
    free(copy);
    collect(r);
}

/* ------------------------------------------------------------------ */
/* The fuzz target                                                     */
/* ------------------------------------------------------------------ */

/* xorshift: read sizes from the seed. */
static uint32_t
next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct linebuf lb;
    struct rig rig;
    char *motd = NULL;

    if (size < 4)
        return 0;
    size_t max = 64 + data[0];
    uint32_t seed = (uint32_t)(data[1] | data[2] << 8) | 1u << 16;
    int partial = data[3] & 1;
    const char *in = (const char *)data + 4;
    size_t len = size - 4;

    if ((data[3] & 2) && len > 0) {
        size_t mlen = (size_t)(unsigned char)in[0] * 8;
        mlen = mlen < len - 1 ? mlen : len - 1;
        motd = xmalloc(mlen + 1);
        memcpy(motd, in + 1, mlen);
        motd[mlen] = '\0';
        in += mlen + 1;
        len -= mlen + 1;
    }

    struct frame *ref = xmalloc((len + 1) * sizeof(*ref));
    size_t nref = ref_frame(in, len, max, ref), r = 0;

    rig_init(&rig, max, motd);
    linebuf_init(&lb, max);
    for (size_t off = 0; off <= len;) {
        int last = off == len;
        size_t chunk = 1 + next_rand(&seed) % 300;
        if (chunk > len - off)
            chunk = len - off;
        if (!last)
            linebuf_append(&lb, in + off, chunk);
        off += last ? 1 : chunk;

        /* Drain: all of it, or (partial mode) only some lines. */
        size_t budget = (partial && !last) ? next_rand(&seed) % 4 : SIZE_MAX;
        char *line;
        size_t n;
        enum linebuf_result res;
        while (budget-- > 0 && (res = linebuf_next(&lb, &line, &n)) !=
                               LINEBUF_NONE) {
            assert(linebuf_buffered(&lb) <= len);
            if (res == LINEBUF_LINE) {
                if (line[n] != '\0' || memchr(line, '\n', n) != NULL)
                    fail("framer: bad line", line, n);
                if (n > max)
                    fail("framer: line over max", line, n);
            }
            if (partial) {
                if (res == LINEBUF_TOOLONG)
                    continue;           /* may be merged: not compared */
                while (r < nref && ref[r].toolong)
                    r++;
            }
            if (r >= nref)
                fail("framer: more output than the reference", "", 0);
            if (res == LINEBUF_TOOLONG) {
                if (!ref[r].toolong)
                    fail("framer: too long, reference has a line",
                         ref[r].line, ref[r].len);
            } else if (ref[r].toolong || ref[r].len != n ||
                       memcmp(ref[r].line, line, n) != 0) {
                fail("framer: line differs from the reference", line, n);
            }
            r++;
            if (res == LINEBUF_LINE)
                run_line(&rig, line, n);
        }
        /* Memory: one partial line beyond the complete ones. */
        if (linebuf_partial(&lb) > max + 1)
            fail("framer: partial line over max+1", "", 0);
    }
    while (partial && r < nref && ref[r].toolong)
        r++;
    if (r != nref)
        fail("framer: the reference has more output", "", 0);

    linebuf_free(&lb);
    rig_free(&rig);
    free(ref);
    free(motd);
    return 0;
}
