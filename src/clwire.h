/*
 * clwire.h: the cluster's wire format on the Redis channel: the one
 * module that writes and parses it, and checks names and Redis URLs
 * (with a user and password: clwire_url_redact() hides the password).  No
 * I/O and no locks; callable from any thread.
 *
 * A message is one line of text, no LF, at most CLWIRE_MAX bytes:
 *
 *   v1 NODE RUN SEQ TYPE FIELDS...
 *
 * NODE is the origin's node name, RUN a hex number that changes each time
 * the origin starts, SEQ the origin's per-node sequence number (1, 2, ...
 * for everything it publishes).  TYPE and FIELDS:
 *
 *   P ID NICK TEXT         public message from client ID of NODE
 *   A ID NICK TEXT         action (/me)
 *   J ID NICK              NICK has joined
 *   L ID NICK REASON       NICK has left
 *   N ID OLD NEW           OLD is now known as NEW
 *   M TONODE FROM TO TEXT  private message from FROM to TO on TONODE
 *   H MORE NICK...         roster (heartbeat); MORE 1: more parts follow
 *   Q                      NODE is shutting down
 *
 * Those are the v1 types of chatd 0.1, on the channel CHANNEL (the
 * --cluster-channel): the default room and the nodes' rosters.  chatd
 * 0.2 adds rooms, on channels of their own, which a 0.1 node never
 * subscribes to (so it keeps working in the default room):
 *
 * On CHANNEL:room:#FOLD (one per room, FOLD its case-folded name; a node
 * subscribes to it while it has members in the room):
 *
 *   p ROOM ID NICK TEXT    public message in ROOM (its name as shown)
 *   a ROOM ID NICK TEXT    action in ROOM
 *   j ROOM ID NICK         NICK joined ROOM
 *   l ROOM ID NICK REASON  NICK left ROOM (/part; REASON may be empty)
 *   t ROOM NICK TEXT       NICK set ROOM's topic to TEXT (may be empty)
 *
 * On CHANNEL:rooms (every 0.2 node subscribes to it):
 *
 *   R MORE ROOM NICK... ROOM NICK...   the node's rooms and their local
 *                          members (heartbeat); MORE 1: more parts follow
 *   T ROOM TEXT            ROOM's topic as the node knows it (heartbeat)
 *   t ROOM NICK TEXT       the default room's topic set (it has no
 *                          channel of its own: CHANNEL is v1's)
 *
 * SEQ counts per channel: CHANNEL's stay 1, 2, 3, ... as in v1; each other
 * channel has its own numbers, which receivers do not check for gaps (a
 * node hears a room only while subscribed).  A message on a channel that
 * does not carry its type, or a room message on another room's channel,
 * is dropped.
 *
 * Fields are separated by one space; TEXT and REASON run to the end.
 * Nicknames follow proto_nick_valid(), room names proto_room_valid(); text
 * is sanitized by the receiver.
 */
#ifndef CHATD_CLWIRE_H
#define CHATD_CLWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define CLWIRE_MAX          (256 * 1024)    /* longest message accepted */
#define CLWIRE_NAME_MAX     64              /* node and channel names */
#define CLWIRE_HEADER_MAX   (CLWIRE_NAME_MAX + 64)

struct clwire {
    char        node[CLWIRE_NAME_MAX + 1];
    uint64_t    run;
    uint64_t    seq;
    char        type;                       /* 'P', 'A', ... */
    char        room[PROTO_ROOM_MAX + 1];   /* p a j l t T */
    uint64_t    id;                         /* P A J L N */
    char        nick[PROTO_NICK_MAX + 1];   /* P A J L; N: old; M: from */
    char        nick2[PROTO_NICK_MAX + 1];  /* N: new; M: to */
    char        target[CLWIRE_NAME_MAX + 1];/* M: node of the recipient */
    int         more;                       /* H */
    const char *text;                       /* P A M p a t T: text; L l: */
    size_t      textlen;                    /* reason; H R: the list; raw */
};

/* A Redis URL: redis://[[USER]:PASSWORD@]HOST[:PORT] */
struct clwire_url {
    char        host[256];
    int         port;
    char        user[128];                  /* "": none (AUTH PASSWORD) */
    char        pass[256];                  /* "": no AUTH at all */
};

struct msg;

/*
 * Writing: each returns a new message with one reference holding a body
 * (TYPE FIELDS..., without the header), or NULL when it would be too long
 * to relay.  Nicknames must be valid and text sanitized.
 */
struct msg *clwire_say(enum proto_kind kind, uint64_t id, const char *nick,
                       const char *text);
struct msg *clwire_join(uint64_t id, const char *nick);
struct msg *clwire_leave(uint64_t id, const char *nick, const char *reason);
struct msg *clwire_rename(uint64_t id, const char *old, const char *nick);
struct msg *clwire_private(const char *node, const char *from,
                           const char *to, const char *text);
struct msg *clwire_roster(int more, const char *nicks, size_t len);
struct msg *clwire_quit(void);
struct msg *clwire_room_say(enum proto_kind kind, const char *room,
                            uint64_t id, const char *nick, const char *text);
struct msg *clwire_room_join(const char *room, uint64_t id,
                             const char *nick);
struct msg *clwire_room_part(const char *room, uint64_t id, const char *nick,
                             const char *reason);
struct msg *clwire_room_topic(const char *room, const char *nick,
                              const char *text);
struct msg *clwire_room_roster(int more, const char *list, size_t len);
struct msg *clwire_room_state(const char *room, const char *topic);
int         clwire_body_room(const char *body, size_t len,
                             char room[PROTO_ROOM_MAX + 1]);
int         clwire_room_type(char type);
int         clwire_header(char *buf, size_t cap, const char *node,
                          uint64_t run, uint64_t seq);

int  clwire_parse(const char *buf, size_t len, struct clwire *m);
int  clwire_name_valid(const char *name);
int  clwire_parse_url(const char *url, struct clwire_url *u);
int  clwire_url_redact(const char *url, char *out, size_t cap);
int  clwire_next_nick(const char **p, const char *end,
                      char nick[PROTO_NICK_MAX + 1]);
int  clwire_next_name(const char **p, const char *end,
                      char name[PROTO_ROOM_MAX + 1]);

#endif
