/*
 * nicks.h: the nicknames the chat client has seen, for tab completion,
 * and its own nickname, learnt from what the server says.  Pure: no I/O.
 * Owned by the client's main thread (the client has no other thread).
 */
#ifndef CHAT_NICKS_H
#define CHAT_NICKS_H

#include <stddef.h>

#include "proto.h"

#define NICKS_MAX 4096          /* more are not remembered */

struct nicks {
    char  **v;                  /* others' nicknames, in order seen */
    size_t  n, cap;
    char    self[PROTO_NICK_MAX + 1];   /* "" until the server says */
    int     in_who;             /* inside a /who reply */
};

void        nicks_init(struct nicks *ns);
void        nicks_free(struct nicks *ns);
void        nicks_add(struct nicks *ns, const char *nick, size_t len);
void        nicks_remove(struct nicks *ns, const char *nick, size_t len);
void        nicks_observe(struct nicks *ns, const char *line);
const char *nicks_self(const struct nicks *ns);

#endif
