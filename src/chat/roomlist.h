/*
 * roomlist.h: the rooms the chat client knows of, learnt from what the
 * server says: every name seen (for tab completion) and the rooms we are
 * in, in the order we joined them, with the current one, so the prompt
 * and our own echo follow the server's idea of where a line goes.
 * Pure: no I/O.  Owned by the client's main thread.
 *
 * We are in the default room on connecting, but the server does not say
 * its name; it is learnt when an answer names a room we are in without
 * having joined it (`/join #lobby` answers "you are in #lobby").
 */
#ifndef CHAT_ROOMLIST_H
#define CHAT_ROOMLIST_H

#include <stddef.h>

#include "proto.h"

#define ROOMS_SEEN_MAX 1024     /* more names are not remembered */
#define ROOMS_JOINED_MAX 1024   /* more joins are not tracked */

struct room_in {
    char name[PROTO_ROOM_MAX + 1];  /* "" for the default room unnamed */
    int  is_default;                /* its lines have no "#room " prefix */
};

struct rooms {
    char          **seen;       /* room names, in order seen */
    size_t          nseen, seencap;
    struct room_in *in;         /* the rooms we are in, in join order */
    size_t          nin, incap;
    long            current;    /* index into in, -1 when in no room */
    char            defname[PROTO_ROOM_MAX + 1];    /* "" until learnt */
};

void rooms_init(struct rooms *rs);
void rooms_free(struct rooms *rs);
void rooms_seen_add(struct rooms *rs, const char *name, size_t len);
void rooms_observe(struct rooms *rs, const char *line);
const struct room_in *rooms_current(const struct rooms *rs);
const char *rooms_prefix(const struct rooms *rs);

#endif
