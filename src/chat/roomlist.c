/*
 * roomlist.c: the rooms the client knows of (see roomlist.h).  Pure; the
 * client's main thread.
 *
 * The list of rooms we are in copies the server's own rule: joining
 * appends and makes current, "you are in" makes current, and parting
 * the current room makes the last joined of those left current.  It is
 * fed only from the server's answers, never from what the user typed,
 * so a refused /join changes nothing.  Names to complete come from those
 * answers, /rooms replies and the prefixes of room lines.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "roomlist.h"
#include "srvline.h"
#include "xmalloc.h"

/* Start knowing only that we are in the default room, name unknown. */
void
rooms_init(struct rooms *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->in = xmalloc(sizeof(*rs->in));
    rs->incap = 1;
    rs->nin = 1;
    rs->in[0].name[0] = '\0';
    rs->in[0].is_default = 1;
    rs->current = 0;
}

void
rooms_free(struct rooms *rs)
{
    for (size_t i = 0; i < rs->nseen; i++)
        free(rs->seen[i]);
    free(rs->seen);
    free(rs->in);
    memset(rs, 0, sizeof(*rs));
    rs->current = -1;
}

/* Do a and b (NUL-terminated) name the same room, ignoring ASCII case? */
static int
same_room(const char *a, const char *b)
{
    char fa[PROTO_ROOM_MAX + 1], fb[PROTO_ROOM_MAX + 1];

    proto_room_fold(a, fa);
    proto_room_fold(b, fb);
    return strcmp(fa, fb) == 0;
}

/* Copy the room name of len bytes at name to out when valid; else 0. */
static int
valid_copy(const char *name, size_t len, char *out)
{
    if (len == 0 || len > PROTO_ROOM_MAX)
        return 0;
    memcpy(out, name, len);
    out[len] = '\0';
    return proto_room_valid(out, NULL);
}

/*
 * Remember a room name (len bytes) for completion unless it is invalid
 * or the list is full.  A known name keeps its place, takes the new case.
 */
void
rooms_seen_add(struct rooms *rs, const char *name, size_t len)
{
    char buf[PROTO_ROOM_MAX + 1];

    if (!valid_copy(name, len, buf))
        return;
    for (size_t i = 0; i < rs->nseen; i++)
        if (same_room(rs->seen[i], buf)) {
            memcpy(rs->seen[i], buf, len + 1);
            return;
        }
    if (rs->nseen == ROOMS_SEEN_MAX)
        return;
    if (rs->nseen == rs->seencap) {
        rs->seencap = rs->seencap ? rs->seencap * 2 : 16;
        rs->seen = xrealloc(rs->seen, rs->seencap * sizeof(*rs->seen));
    }
    rs->seen[rs->nseen++] = xstrdup(buf);
}

/*
 * Index of the room we are in called name, or -1.  A name we are in but
 * never joined is the default room's: the unnamed entry takes it.
 */
static long
find_in(struct rooms *rs, const char *name)
{
    for (size_t i = 0; i < rs->nin; i++)
        if (rs->in[i].name[0] != '\0' && same_room(rs->in[i].name, name))
            return (long)i;
    for (size_t i = 0; i < rs->nin; i++)
        if (rs->in[i].name[0] == '\0') {
            strcpy(rs->in[i].name, name);
            strcpy(rs->defname, name);
            return (long)i;
        }
    return -1;
}

/* Append name to the rooms we are in; its index, or -1 when full. */
static long
append_in(struct rooms *rs, const char *name)
{
    if (rs->nin == ROOMS_JOINED_MAX)
        return -1;
    if (rs->nin == rs->incap) {
        rs->incap = rs->incap ? rs->incap * 2 : 8;
        rs->in = xrealloc(rs->in, rs->incap * sizeof(*rs->in));
    }
    strcpy(rs->in[rs->nin].name, name);
    rs->in[rs->nin].is_default = rs->defname[0] != '\0' &&
                                 same_room(rs->defname, name);
    return (long)rs->nin++;
}

/* "you joined NAME" (joined) or "you are in NAME": make it current. */
static void
entered(struct rooms *rs, const char *name, int joined)
{
    long i = -1;

    for (size_t k = 0; joined && k < rs->nin; k++)
        if (same_room(rs->in[k].name, name))
            i = (long)k;
    if (!joined)
        i = find_in(rs, name);
    if (i < 0)                  /* new, or a join we did not see */
        i = append_in(rs, name);
    if (i >= 0)
        rs->current = i;
}

/* "you left NAME": forget it; the server's rule picks the current one. */
static void
left(struct rooms *rs, const char *name)
{
    long i = find_in(rs, name);

    if (i < 0)
        return;
    memmove(rs->in + i, rs->in + i + 1,
            (rs->nin - (size_t)i - 1) * sizeof(*rs->in));
    rs->nin--;
    if (rs->current == i)
        rs->current = (long)rs->nin - 1;
    else if (rs->current > i)
        rs->current--;
}

/* s past prefix when s starts with it, else NULL. */
static const char *
after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/*
 * The room name at s when the byte `end` follows it: copied to out,
 * returns 1; else 0.
 */
static int
room_until(const char *s, char end, char *out)
{
    size_t n = srvline_room_len(s);

    return n > 0 && s[n] == end && valid_copy(s, n, out);
}

/*
 * Is t a line of a /rooms reply, "  #name  N user[s][  topic]"?  The
 * form is matched whole rather than after the reply's head, since other
 * lines may arrive between the pages of a long reply.
 */
static int
rooms_item(const char *t, char *name)
{
    size_t n, d;

    if (strncmp(t, "  ", 2) != 0 || !room_until(t + 2, ' ', name))
        return 0;
    t += 2 + strlen(name);
    if (strncmp(t, "  ", 2) != 0)
        return 0;
    t += 2;
    d = strspn(t, "0123456789");
    n = strlen(" user");
    return d > 0 && strncmp(t + d, " user", n) == 0 &&
           (t[d + n] == '\0' || t[d + n] == ' ' || t[d + n] == 's');
}

/* Learn from a notice's text (after "*** ") that has no room prefix. */
static void
observe_notice(struct rooms *rs, const char *t)
{
    char name[PROTO_ROOM_MAX + 1];
    const char *p;

    if (rooms_item(t, name)) {
        rooms_seen_add(rs, name, strlen(name));
    } else if ((p = after(t, "you joined ")) != NULL &&
               room_until(p, ':', name)) {
        rooms_seen_add(rs, name, strlen(name));
        entered(rs, name, 1);
    } else if ((p = after(t, "you are in ")) != NULL &&
               room_until(p, ':', name)) {
        rooms_seen_add(rs, name, strlen(name));
        entered(rs, name, 0);
    } else if ((p = after(t, "you left ")) != NULL &&
               room_until(p, '\0', name)) {
        left(rs, name);
    }
}

/*
 * Learn what a server line (sanitized, NUL-terminated, no LF) says about
 * rooms.  Lines that fit no known form change nothing.
 */
void
rooms_observe(struct rooms *rs, const char *line)
{
    struct srvline sl;

    srvline_parse(line, &sl);
    if (sl.room != NULL)
        rooms_seen_add(rs, sl.room, sl.roomlen);
    else if (sl.known && sl.kind == PROTO_NOTICE)
        observe_notice(rs, sl.text);
}

/* The current room, or NULL when we are in none. */
const struct room_in *
rooms_current(const struct rooms *rs)
{
    return rs->current >= 0 ? &rs->in[rs->current] : NULL;
}

/*
 * The prefix the server gives lines of the current room: its name, or
 * NULL for the default room (v1 lines) and when we are in no room.
 */
const char *
rooms_prefix(const struct rooms *rs)
{
    const struct room_in *r = rooms_current(rs);

    return r != NULL && !r->is_default ? r->name : NULL;
}
