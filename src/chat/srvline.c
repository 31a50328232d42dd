/*
 * srvline.c: classify server lines (see srvline.h): the inverse of
 * libchatd's proto_format(), past the "#room " prefix of
 * a room's lines.  Pure; any caller.
 */
#include "config.h"

#include <string.h>

#include "proto.h"
#include "srvline.h"

/* Nonzero for the characters a nickname may hold: A-Z a-z 0-9 _ -. */
int
srvline_nick_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * Length of the nickname at s when it is followed by the byte `end`, or 0
 * when s does not start with a valid nickname so terminated.
 */
static size_t
nick_until(const char *s, char end)
{
    size_t n = 0;

    while (n <= PROTO_NICK_MAX && srvline_nick_char((unsigned char)s[n]))
        n++;
    if (n == 0 || n > PROTO_NICK_MAX || s[n] != end)
        return 0;
    return n;
}

/*
 * Length of the room name ('#' and 1 to PROTO_ROOM_MAX - 1 name
 * characters) at s, or 0 when s does not start with one.  What follows
 * is the caller's to check.
 */
size_t
srvline_room_len(const char *s)
{
    size_t n = 1;

    if (s[0] != '#')
        return 0;
    while (n <= PROTO_ROOM_MAX && srvline_nick_char((unsigned char)s[n]))
        n++;
    return n >= 2 && n <= PROTO_ROOM_MAX ? n : 0;
}

/* Note that sl is a message of kind from nick (n bytes at nick). */
static void
set_message(struct srvline *sl, enum proto_kind kind, const char *nick,
            size_t n, const char *text)
{
    sl->known = 1;
    sl->kind = kind;
    sl->nick = nick;
    sl->nicklen = n;
    sl->text = text;
}

/*
 * Fill sl from line (NUL-terminated, already sanitized).  A room name
 * and one space first are the room's prefix (sl->room); the rest, the
 * body, is parsed as a v1 line.  A body that does not match one of the
 * protocol's forms exactly is not known (sl->known 0) with text = body,
 * so callers can always print the prefix and sl->text.
 */
void
srvline_parse(const char *line, struct srvline *sl)
{
    size_t n;

    memset(sl, 0, sizeof(*sl));
    if ((n = srvline_room_len(line)) > 0 && line[n] == ' ') {
        sl->room = line;
        sl->roomlen = n;
        line += n + 1;
    }
    sl->body = line;
    sl->text = line;
    if (strncmp(line, "*** error: ", 11) == 0)
        set_message(sl, PROTO_ERROR, NULL, 0, line + 11);
    else if (strncmp(line, "*** ", 4) == 0)
        set_message(sl, PROTO_NOTICE, NULL, 0, line + 4);
    else if (line[0] == '<' && (n = nick_until(line + 1, '>')) > 0 &&
             line[n + 2] == ' ')
        set_message(sl, PROTO_PUBLIC, line + 1, n, line + n + 3);
    else if (strncmp(line, "* ", 2) == 0 &&
             (n = nick_until(line + 2, ' ')) > 0)
        set_message(sl, PROTO_ACTION, line + 2, n, line + n + 3);
    else if (line[0] == '*' && (n = nick_until(line + 1, '*')) > 0 &&
             line[n + 2] == ' ')
        set_message(sl, PROTO_PRIVATE, line + 1, n, line + n + 3);
    else if (strncmp(line, "-> *", 4) == 0 &&
             (n = nick_until(line + 4, '*')) > 0 && line[n + 5] == ' ')
        set_message(sl, PROTO_SENT, line + 4, n, line + n + 6);
}
