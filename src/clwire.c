/*
 * clwire.c: the cluster's wire format (see clwire.h): writing and
 * parsing.  No I/O and no locks; any thread.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clwire.h"
#include "msg.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static struct msg *
body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A body formatted from fmt, or NULL when it is too long to relay. */
static struct msg *
body(const char *fmt, ...)
{
    char stackbuf[4096], *buf = stackbuf;
    struct msg *m;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(stackbuf), fmt, ap);
    va_end(ap);
    if (n < 0 || n > CLWIRE_MAX - CLWIRE_HEADER_MAX)
        return NULL;
    if ((size_t)n >= sizeof(stackbuf)) {
        buf = xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    m = msg_new(buf, (size_t)n);
    if (buf != stackbuf)
        free(buf);
    return m;
}

/* P or A: a public line or an action from client id. */
struct msg *
clwire_say(enum proto_kind kind, uint64_t id, const char *nick,
           const char *text)
{
    return body("%c %llu %s %s", kind == PROTO_ACTION ? 'A' : 'P',
                (unsigned long long)id, nick, text);
}

struct msg *
clwire_join(uint64_t id, const char *nick)
{
    return body("J %llu %s", (unsigned long long)id, nick);
}

struct msg *
clwire_leave(uint64_t id, const char *nick, const char *reason)
{
    return body("L %llu %s %s", (unsigned long long)id, nick, reason);
}

struct msg *
clwire_rename(uint64_t id, const char *old, const char *nick)
{
    return body("N %llu %s %s", (unsigned long long)id, old, nick);
}

struct msg *
clwire_private(const char *node, const char *from, const char *to,
               const char *text)
{
    return body("M %s %s %s %s", node, from, to, text);
}

/* H: a part of the roster; nicks is " NICK NICK ..." (len bytes). */
struct msg *
clwire_roster(int more, const char *nicks, size_t len)
{
    return body("H %d%.*s", more != 0, (int)len, nicks);
}

struct msg *
clwire_quit(void)
{
    return body("Q");
}

/* p or a: a public line or an action in room from client id. */
struct msg *
clwire_room_say(enum proto_kind kind, const char *room, uint64_t id,
                const char *nick, const char *text)
{
    return body("%c %s %llu %s %s", kind == PROTO_ACTION ? 'a' : 'p', room,
                (unsigned long long)id, nick, text);
}

struct msg *
clwire_room_join(const char *room, uint64_t id, const char *nick)
{
    return body("j %s %llu %s", room, (unsigned long long)id, nick);
}

struct msg *
clwire_room_part(const char *room, uint64_t id, const char *nick,
                 const char *reason)
{
    return body("l %s %llu %s %s", room, (unsigned long long)id, nick,
                reason);
}

struct msg *
clwire_room_topic(const char *room, const char *nick, const char *text)
{
    return body("t %s %s %s", room, nick, text);
}

/* R: a part of the rooms' roster; list is " #ROOM NICK ... #ROOM ...". */
struct msg *
clwire_room_roster(int more, const char *list, size_t len)
{
    return body("R %d%.*s", more != 0, (int)len, list);
}

/* T: a room's topic, as this node knows it. */
struct msg *
clwire_room_state(const char *room, const char *topic)
{
    return body("T %s %s", room, topic);
}

/* 1 if type goes on a room's channel (p a j l t). */
int
clwire_room_type(char type)
{
    return type == 'p' || type == 'a' || type == 'j' || type == 'l' ||
           type == 't';
}

/*
 * The room of a body written above (TYPE ROOM ...): 1 with room set for
 * p a j l t, else 0.
 */
int
clwire_body_room(const char *body, size_t len, char room[PROTO_ROOM_MAX + 1])
{
    const char *p = body + 2, *end = body + len, *q;

    if (len < 4 || !clwire_room_type(body[0]) || body[1] != ' ')
        return 0;
    for (q = p; q < end && *q != ' '; q++)
        ;
    if (q == p || (size_t)(q - p) > PROTO_ROOM_MAX)
        return 0;
    memcpy(room, p, (size_t)(q - p));
    room[q - p] = '\0';
    return 1;
}

/*
 * The header "v1 NODE RUN SEQ " into buf; returns its length, or -1 if
 * it does not fit in cap bytes.
 */
int
clwire_header(char *buf, size_t cap, const char *node, uint64_t run,
              uint64_t seq)
{
    int n = snprintf(buf, cap, "v1 %s %llx %llu ", node,
                     (unsigned long long)run, (unsigned long long)seq);

    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/* A cursor over the message being parsed. */
struct cursor {
    const char *p, *end;
};

static int
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == ':';
}

/* 1 if name is a valid node or channel name: 1-64 of A-Z a-z 0-9 . _ - : */
int
clwire_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > CLWIRE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return 0;
    return 1;
}

/*
 * Copy the next space-separated token (at most max bytes) into out and
 * step over it and one following space.  Returns 0, or -1 when the token
 * is empty or too long.  The token ends at a space or at the end.
 */
static int
token(struct cursor *c, char *out, size_t max)
{
    const char *s = c->p;
    size_t n;

    while (c->p < c->end && *c->p != ' ')
        c->p++;
    n = (size_t)(c->p - s);
    if (n == 0 || n > max)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    if (c->p < c->end)
        c->p++;                         /* the separator */
    return 0;
}

/* Parse an unsigned number in base (10 or 16) of at most 20 digits. */
static int
number(struct cursor *c, int base, uint64_t *out)
{
    char buf[21], *end;
    unsigned long long v;

    if (token(c, buf, 20) < 0)
        return -1;
    for (char *q = buf; *q; q++)
        if (!(*q >= '0' && *q <= '9') &&
            !(base == 16 && ((*q >= 'a' && *q <= 'f'))))
            return -1;
    errno = 0;
    v = strtoull(buf, &end, base);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int
nick(struct cursor *c, char *out)
{
    return token(c, out, PROTO_NICK_MAX) == 0 &&
           proto_nick_valid(out, NULL) ? 0 : -1;
}

static int
room(struct cursor *c, char *out)
{
    return token(c, out, PROTO_ROOM_MAX) == 0 &&
           proto_room_valid(out, NULL) ? 0 : -1;
}

/* 1 if the cursor was stopped by a separator (more fields follow). */
static int
had_space(const struct cursor *c)
{
    return c->p[-1] == ' ';
}

/* The rest of the message is the text field. */
static void
rest(struct cursor *c, struct clwire *m)
{
    m->text = c->p;
    m->textlen = (size_t)(c->end - c->p);
    c->p = c->end;
}

/* MORE: 0 or 1, then the list. */
static int
list(struct cursor *c, struct clwire *m)
{
    char more[2];

    if (token(c, more, 1) < 0 || (more[0] != '0' && more[0] != '1'))
        return -1;
    m->more = more[0] == '1';
    rest(c, m);
    return 0;
}

/* The fields of the room types (p a j l t T), after TYPE. */
static int
room_fields(struct cursor *c, struct clwire *m)
{
    if (room(c, m->room) < 0 || !had_space(c))
        return -1;
    switch (m->type) {
    case 'p':
    case 'a':
    case 'l':
        if (number(c, 10, &m->id) < 0 || nick(c, m->nick) < 0 ||
            !had_space(c))
            return -1;
        break;
    case 'j':
        if (number(c, 10, &m->id) < 0 || nick(c, m->nick) < 0)
            return -1;
        return c->p == c->end && !had_space(c) ? 0 : -1;
    case 't':
        if (nick(c, m->nick) < 0 || !had_space(c))
            return -1;
        break;
    default:                            /* T */
        break;
    }
    rest(c, m);
    return 0;
}

/* Parse the fields after TYPE. */
static int
fields(struct cursor *c, struct clwire *m)
{
    switch (m->type) {
    case 'p':
    case 'a':
    case 'j':
    case 'l':
    case 't':
    case 'T':
        return room_fields(c, m);
    case 'R':
        return list(c, m);
    case 'P':
    case 'A':
    case 'L':
        if (number(c, 10, &m->id) < 0 || nick(c, m->nick) < 0 ||
            !had_space(c))
            return -1;
        rest(c, m);
        return 0;
    case 'J':
        if (number(c, 10, &m->id) < 0 || nick(c, m->nick) < 0)
            return -1;
        return c->p == c->end && !had_space(c) ? 0 : -1;
    case 'N':
        if (number(c, 10, &m->id) < 0 || nick(c, m->nick) < 0 ||
            nick(c, m->nick2) < 0)
            return -1;
        return c->p == c->end && !had_space(c) ? 0 : -1;
    case 'M':
        if (token(c, m->target, CLWIRE_NAME_MAX) < 0 ||
            !clwire_name_valid(m->target) || nick(c, m->nick) < 0 ||
            nick(c, m->nick2) < 0 || !had_space(c))
            return -1;
        rest(c, m);
        return 0;
    case 'H':
        return list(c, m);
    case 'Q':
        return 0;
    default:
        return -1;
    }
}

/*
 * Parse and check one message of len bytes (it need not be NUL-terminated
 * and may hold anything).  Returns 0 with m filled in, text pointing into
 * buf, or -1 when the message is malformed or longer than CLWIRE_MAX.
 */
int
clwire_parse(const char *buf, size_t len, struct clwire *m)
{
    struct cursor c = { buf, buf + len };
    char type[2];

    memset(m, 0, sizeof(*m));
    if (len < 3 || len > CLWIRE_MAX || memcmp(buf, "v1 ", 3) != 0 ||
        memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL)
        return -1;
    c.p += 3;
    if (token(&c, m->node, CLWIRE_NAME_MAX) < 0 ||
        !clwire_name_valid(m->node) || number(&c, 16, &m->run) < 0 ||
        number(&c, 10, &m->seq) < 0 || m->seq == 0 ||
        token(&c, type, 1) < 0)
        return -1;
    m->type = type[0];
    if (m->type != 'Q' && !had_space(&c))
        return -1;
    if (m->type == 'Q' && (c.p != c.end || had_space(&c)))
        return -1;
    return fields(&c, m);
}

/*
 * Take the next nickname from a roster list (space-separated) at *p.
 * Returns 1 with nick set, 0 at the end, -1 for an invalid name (the
 * list should then be dropped).
 */
int
clwire_next_nick(const char **p, const char *end,
                 char nick[PROTO_NICK_MAX + 1])
{
    struct cursor c = { *p, end };

    if (c.p >= c.end)
        return 0;
    if (token(&c, nick, PROTO_NICK_MAX) < 0 || !proto_nick_valid(nick, NULL))
        return -1;
    *p = c.p;
    return 1;
}

/*
 * Take the next name from a rooms' roster (R: "#ROOM NICK ... #ROOM ..."):
 * 1 with name set (a room when it starts with #, else a nickname), 0 at
 * the end, -1 for an invalid name (drop the list).
 */
int
clwire_next_name(const char **p, const char *end,
                 char name[PROTO_ROOM_MAX + 1])
{
    struct cursor c = { *p, end };

    if (c.p >= c.end)
        return 0;
    if (token(&c, name, PROTO_ROOM_MAX) < 0)
        return -1;
    if (name[0] == '#' ? !proto_room_valid(name, NULL)
                       : strlen(name) > PROTO_NICK_MAX ||
                         !proto_nick_valid(name, NULL))
        return -1;
    *p = c.p;
    return 1;
}

/* Value of hex digit c, or -1. */
static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Copy [p, end) to out (cap bytes), decoding %XX.  Returns 0, or -1 if it
 * does not fit, a %XX is broken or it decodes to a NUL.
 */
static int
unescape(const char *p, const char *end, char *out, size_t cap)
{
    size_t n = 0;

    for (; p < end; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi, lo;
            if (end - p < 3 || (hi = hexval(p[1])) < 0 ||
                (lo = hexval(p[2])) < 0 || (hi | lo) == 0)
                return -1;
            c = hi << 4 | lo;
            p += 2;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* HOST[:PORT][/] of a Redis URL into u; 0, or -1. */
static int
parse_hostport(const char *h, struct clwire_url *u)
{
    const char *colon, *end;
    size_t n;

    if (*h == '[') {
        if ((end = strchr(h, ']')) == NULL)
            return -1;
        h++;
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] != '\0' && strcmp(end + 1, "/") != 0 && colon == NULL)
            return -1;
    } else {
        colon = strchr(h, ':');
        end = colon ? colon : h + strcspn(h, "/");
        if (colon == NULL && *end != '\0' && strcmp(end, "/") != 0)
            return -1;
    }
    n = (size_t)(end - h);
    if (n == 0 || n >= sizeof(u->host) || memchr(h, '/', n))
        return -1;
    memcpy(u->host, h, n);
    u->host[n] = '\0';
    u->port = 6379;
    if (colon != NULL) {
        char *e;
        long v;
        errno = 0;
        v = strtol(colon + 1, &e, 10);
        if (colon[1] < '0' || colon[1] > '9' || errno != 0 || v < 1 ||
            v > 65535 || (*e != '\0' && strcmp(e, "/") != 0))
            return -1;
        u->port = (int)v;
    }
    return 0;
}

/*
 * Split "redis://[[USER]:PASSWORD@]HOST[:PORT][/]" (HOST may be
 * "[v6addr]"; USER and PASSWORD may use %XX; the last @ ends them, so a
 * password may hold @ and :) into u: port 6379 by default, user and pass
 * "" when not given.  Returns 0, or -1 when url is not of that form.
 */
int
clwire_parse_url(const char *url, struct clwire_url *u)
{
    const char *h, *at, *colon;

    memset(u, 0, sizeof(*u));
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    h = url + 8;
    if ((at = strrchr(h, '@')) != NULL) {
        if ((colon = memchr(h, ':', (size_t)(at - h))) == NULL ||
            unescape(h, colon, u->user, sizeof(u->user)) < 0 ||
            unescape(colon + 1, at, u->pass, sizeof(u->pass)) < 0)
            return -1;
        h = at + 1;
    }
    return parse_hostport(h, u) < 0 ? -1 : 0;
}

/*
 * url with its password replaced by *** (redis://USER:***@HOST:PORT; all
 * of USER too when it has no colon), for showing settings and errors;
 * works on any string.  Returns what snprintf() does.
 */
int
clwire_url_redact(const char *url, char *out, size_t cap)
{
    const char *h = strstr(url, "://"), *at, *colon;

    h = h != NULL ? h + 3 : url;
    if ((at = strrchr(h, '@')) == NULL)
        return snprintf(out, cap, "%s", url);
    /* No colon: it could be a password given as the user; hide it all. */
    if ((colon = memchr(h, ':', (size_t)(at - h))) == NULL)
        return snprintf(out, cap, "%.*s***%s", (int)(h - url), url, at);
    return snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
}
