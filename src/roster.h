/*
 * roster.h: a set of nicknames (one node's users): an array in insertion
 * order and an index on the folded name (proto_nick_hash()).  Pure data:
 * no locks; its owner says which lock guards it (clnodes.h).
 */
#ifndef CHATD_ROSTER_H
#define CHATD_ROSTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define ROSTER_MAX  (1 << 20)       /* nicknames of one node */

struct roster {
    char          (*v)[PROTO_NICK_MAX + 1];
    size_t          n, cap;
    uint32_t       *idx;        /* open addressing: 0 free, else i + 1 */
    size_t          icap;       /* power of two, at least 2 * n */
};

ssize_t roster_find(const struct roster *r, const char *nick);
int     roster_add(struct roster *r, const char *nick);
int     roster_del(struct roster *r, const char *nick);
void    roster_free(struct roster *r);

#endif
