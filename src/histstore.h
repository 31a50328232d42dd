/*
 * histstore.h: where public room lines last (SPEC "Lasting history"):
 * one interface, implemented in SQLite in state-dir (hist_sqlite.c).
 * A history store is used by one thread only, the history thread
 * (history.c); every call may block on the disk.
 *
 * Each line is kept with its room (folded name), its UTC time, and its
 * place: the boot (a number the store gives each start of chatd, 1, 2,
 * ...) and the hub's sequence number in that boot.  (boot, seq) orders
 * the lines of one node, so "before this join" and "after this user
 * left" are exact.
 */
#ifndef CHATD_HISTSTORE_H
#define CHATD_HISTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct msg;

/* A place in the order of lines: (boot, seq), compared as a pair. */
struct hist_pos {
    uint64_t boot, seq;
};

struct hist_line {
    char            room[PROTO_ROOM_MAX + 1];   /* folded */
    int64_t         at;                 /* seconds since the epoch, UTC */
    struct hist_pos pos;
    struct msg     *m;                  /* the line as sent (one
                                           reference), its newline
                                           last */
};

/* What a replay selects: the last `max` lines of room before `before`
 * (exclusive) and, if has_after, at or after `after`. */
struct hist_query {
    const char     *room;               /* folded */
    size_t          max;
    struct hist_pos before;
    int             has_after;
    struct hist_pos after;
};

/* What a select returns: n lines, oldest first, as new messages. */
struct hist_rows {
    struct msg    **v;
    int64_t        *t;
    size_t          n;
};

struct histstore;

struct histstore_ops {
    /* Write v (one transaction), then trim each room written to its
     * last `keep` lines.  0, or -1 (nothing written). */
    int  (*write)(struct histstore *h, const struct hist_line *v,
                  size_t n, long keep);
    /* 0 with *out filled (the caller frees it), or -1. */
    int  (*select)(struct histstore *h, const struct hist_query *q,
                   struct hist_rows *out);
    /* Account `account` (folded) left room at pos. 0, or -1. */
    int  (*mark)(struct histstore *h, const char *account,
                 const char *room, struct hist_pos pos);
    /* 1 with *pos where account last left room, 0 if never, -1. */
    int  (*left)(struct histstore *h, const char *account,
                 const char *room, struct hist_pos *pos);
    void (*close)(struct histstore *h);
};

struct histstore {
    const struct histstore_ops *ops;
    uint64_t boot;                      /* this start's number */
    char     err[256];                  /* the last error, for the log */
};

int  hist_sqlite_open(const char *dir, struct histstore **out, char *err,
                      size_t errlen);
void hist_rows_free(struct hist_rows *r);

#endif
