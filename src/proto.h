/*
 * proto.h: protocol v1, the pure parts: sanitizing relayed text, nickname
 * rules, parsing client lines into commands, formatting server lines.
 * No I/O and no locks; callable from any thread.
 */
#ifndef CHATD_PROTO_H
#define CHATD_PROTO_H

#include <stddef.h>

#define PROTO_NICK_MAX 24       /* longest nickname, bytes */
#define PROTO_PREFIX_MAX 64     /* longest prefix proto_format() adds */
#define PROTO_ROOM_MAX 33       /* longest room name: '#' and 32 */
#define PROTO_TOPIC_MAX 300     /* longest topic, bytes (sanitized) */
#define PROTO_HISTORY_MAX 500   /* most lines /history replays */

/* What a client line asks for. */
enum proto_cmd_type {
    PROTO_EMPTY = 0,    /* nothing to do: an empty line */
    PROTO_SAY,          /* text (also //text) */
    PROTO_NICK,         /* arg: new nickname */
    PROTO_WHO,          /* arg: room or NULL (current) */
    PROTO_MSG,          /* arg: target nickname, text */
    PROTO_ME,           /* text */
    PROTO_QUIT,         /* text: reason, may be empty */
    PROTO_HELP,
    PROTO_JOIN,         /* arg: room */
    PROTO_PART,         /* arg: room or NULL (current); text: reason */
    PROTO_ROOMS,
    PROTO_TOPIC,        /* text: new topic, or "" to show it */
    PROTO_REGISTER,     /* text: password */
    PROTO_LOGIN,        /* arg: name, text: password */
    PROTO_PASSWORD,     /* arg: old password, text: new */
    PROTO_KICK,         /* arg: nickname, text: reason, may be empty */
    PROTO_BAN,          /* arg: nickname or address[/prefix], text:
                           [duration] [reason], may be empty */
    PROTO_UNBAN,        /* arg: nickname or address[/prefix] */
    PROTO_BANS,
    PROTO_MUTE,         /* arg: nickname, text: duration or "" */
    PROTO_UNMUTE,       /* arg: nickname */
    PROTO_HISTORY,      /* arg: how many lines (1-500), or NULL */
    PROTO_BAD           /* text: what is wrong, for "*** error: " */
};

struct proto_cmd {
    enum proto_cmd_type type;
    const char *arg;
    const char *text;
};

/* Kinds of line the server sends. */
enum proto_kind {
    PROTO_PUBLIC,       /* <nick> text */
    PROTO_ACTION,       /* * nick text */
    PROTO_PRIVATE,      /* *nick* text */
    PROTO_SENT,         /* -> *nick* text */
    PROTO_NOTICE,       /* *** text */
    PROTO_ERROR         /* *** error: text */
};

size_t proto_sanitize(const char *in, size_t len, char *out);
size_t proto_sanitize_max(const char *in, size_t len, char *out,
                          size_t max);
int    proto_nick_valid(const char *nick, const char **why);
int    proto_nick_equal(const char *a, const char *b);
void   proto_nick_fold(const char *nick, char *out);
size_t proto_nick_hash(const char *nick);
int    proto_guest_name(const char *nick);
void   proto_parse(char *line, struct proto_cmd *cmd);
size_t proto_format(char *out, size_t cap, enum proto_kind kind,
                    const char *nick, const char *text);
int    proto_room_valid(const char *name, const char **why);
void   proto_room_fold(const char *name, char *out);
const char *const *proto_help_lines(void);

#endif
