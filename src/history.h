/*
 * history.h: the history thread: the only user of the history store
 * (histstore.h) while chatd runs.  The hub hands it every public room
 * line as it numbers it (history_keep(), under hub.lock: never waits,
 * drops and counts when the store is behind); workers ask it for
 * replays and tell it where a logged-in user left a room
 * (history_ask()); replays come back to the asking worker's mailbox as
 * MBOX_HISTORY entries (see wreplay.c).
 * Lock: history.lock (its queues); lock order hub.lock -> history.lock
 * -> mbox.lock.
 */
#ifndef CHATD_HISTORY_H
#define CHATD_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "histstore.h"
#include "proto.h"

struct msg;

enum hist_kind {
    HIST_REPLAY,            /* answer the last lines of room */
    HIST_MARK               /* account left room at pos */
};

struct hist_req {
    enum hist_kind   kind;
    uint64_t         client;        /* replay: who asked, on worker */
    int              worker;
    uint64_t         id;            /* replay: the client's request */
    char             room[PROTO_ROOM_MAX + 1];      /* folded */
    char             name[PROTO_ROOM_MAX + 1];      /* as shown */
    char             account[PROTO_NICK_MAX + 1];   /* folded, or "" */
    size_t           max;           /* replay: lines; if account is set
                                       and missed lines since it left,
                                       those instead (at most 500) */
    struct hist_pos  pos;           /* replay: before this (the join);
                                       mark: where it left */
    int              framed;        /* replay: framed even with no lines */
    struct hist_req *next;
};

/* An MBOX_HISTORY entry's answer (the entry's `hist`). */
struct hist_answer {
    uint64_t         id;            /* the request's */
    char             name[PROTO_ROOM_MAX + 1];
    struct hist_rows rows;
    int              failed;        /* the store failed: no lines */
    int              framed;        /* the request's */
};

/* Main thread. */
int      history_start(struct histstore *h, long keep);
void     history_quiet(void);
void     history_stop(void);

/* Any thread. */
int      history_enabled(void);
uint64_t history_boot(void);
uint64_t history_dropped(void);
uint64_t history_stored(void);
void     history_ask(struct hist_req *r);
void     history_answer_free(struct hist_answer *a);

/* The hub, hub.lock held. */
void     history_keep(const char *room, struct msg *m, uint64_t seq,
                      int64_t at);

#endif
