/*
 * render.c: turn a sanitized server line into what the terminal shows
 * (see render.h).  Pure but for localtime_r(); the client's main thread.
 *
 * The text is printed exactly as the server sent it; colour only wraps
 * it.  A room's "#room " prefix is coloured on its own, then the rest
 * of the line as if it were a v1 line.  Our own messages go through
 * proto_format(), the server's own formatter, so they look the way the
 * others see them.
 *
 * A replay of a room's history ("*** history of #room: N lines", lines
 * stamped "[YYYY-MM-DD HH:MM] ", "*** end of history") is shown dimmed,
 * stamp and all, and followed by a marker line where live traffic
 * begins (render_server()); without colour, only the marker tells.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "srvline.h"
#include "xmalloc.h"

#define SGR_RESET   "\033[0m"
#define SGR_BOLD    "\033[1m"
#define SGR_NOTICE  "\033[90m"      /* grey */
#define SGR_ERROR   "\033[1;31m"    /* bold red */
#define SGR_TIME    "\033[2m"       /* faint */
#define SGR_REPLAY  "\033[2m"       /* faint: a replayed line */

/* Nickname colours: red is kept for errors, grey for notices. */
static const char *const palette[] = {
    "\033[32m", "\033[33m", "\033[34m", "\033[35m", "\033[36m",
    "\033[92m", "\033[93m", "\033[94m", "\033[95m", "\033[96m",
};

/* A growing string; every append keeps it NUL-terminated. */
struct sbuf {
    char   *s;
    size_t  len, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Add an SGR sequence, only when colour is on. */
static void
sb_sgr(struct sbuf *b, const struct render *r, const char *sgr)
{
    if (r->color)
        sb_str(b, sgr);
}

/* The palette entry of a name, by a hash of its case-folded bytes. */
static const char *
name_color(const char *name, size_t len)
{
    unsigned long h = 5381;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = h * 33 + c;
    }
    return palette[h % (sizeof(palette) / sizeof(palette[0]))];
}

/*
 * The colour of a nickname: a hash of its case-folded bytes picks one of
 * the palette, so alice is the same colour in every line and every run.
 */
const char *
render_nick_color(const char *nick, size_t len)
{
    return name_color(nick, len);
}

/*
 * The colour of a room's prefix ("#dev", with its '#'): picked like a
 * nickname's, so each room has one of its own in every run.  It is
 * shown bold, which no nickname is, so a room never reads as a nick.
 */
const char *
render_room_color(const char *room, size_t len)
{
    return name_color(room, len);
}

/* The "#room " prefix of sl, if any: the name bold in its colour. */
static void
add_room(struct sbuf *b, const struct render *r, const struct srvline *sl)
{
    if (sl->room == NULL)
        return;
    sb_sgr(b, r, SGR_BOLD);
    sb_sgr(b, r, render_room_color(sl->room, sl->roomlen));
    sb_add(b, sl->room, sl->roomlen);
    sb_sgr(b, r, SGR_RESET);
    sb_str(b, " ");
}

/* sl's nickname in its colour. */
static void
add_nick(struct sbuf *b, const struct render *r, const struct srvline *sl)
{
    sb_sgr(b, r, render_nick_color(sl->nick, sl->nicklen));
    sb_add(b, sl->nick, sl->nicklen);
    sb_sgr(b, r, SGR_RESET);
}

/* The prefix and text of a line that names a nickname, nick coloured. */
static void
add_message(struct sbuf *b, const struct render *r, const struct srvline *sl)
{
    switch (sl->kind) {
    case PROTO_PUBLIC:
        sb_str(b, "<");
        add_nick(b, r, sl);
        sb_str(b, "> ");
        break;
    case PROTO_ACTION:
        sb_str(b, "* ");
        add_nick(b, r, sl);
        sb_str(b, " ");
        break;
    case PROTO_PRIVATE:
        sb_sgr(b, r, SGR_BOLD);
        sb_str(b, "*");
        add_nick(b, r, sl);
        sb_sgr(b, r, SGR_BOLD);
        sb_str(b, "* ");
        break;
    default:            /* PROTO_SENT */
        sb_str(b, "-> *");
        add_nick(b, r, sl);
        sb_str(b, "* ");
        break;
    }
    sb_str(b, sl->text);
    if (sl->kind == PROTO_PRIVATE)
        sb_sgr(b, r, SGR_RESET);
}

/*
 * Render one server line (sanitized, NUL-terminated, without LF) for the
 * terminal.  Returns a malloc'd string ending in LF that the caller
 * frees.  now is the time shown by --timestamps.
 */
char *
render_line(const struct render *r, const char *line, time_t now)
{
    struct sbuf b = { NULL, 0, 0 };
    struct srvline sl;

    sb_add(&b, "", 0);
    if (r->timestamps) {
        char ts[16];
        struct tm tm;
        if (localtime_r(&now, &tm) != NULL &&
            strftime(ts, sizeof(ts), "%H:%M ", &tm) > 0) {
            sb_sgr(&b, r, SGR_TIME);
            sb_str(&b, ts);
            sb_sgr(&b, r, SGR_RESET);
        }
    }
    srvline_parse(line, &sl);
    add_room(&b, r, &sl);
    if (!sl.known) {
        sb_str(&b, sl.body);
    } else if (sl.kind == PROTO_ERROR || sl.kind == PROTO_NOTICE) {
        sb_sgr(&b, r, sl.kind == PROTO_ERROR ? SGR_ERROR : SGR_NOTICE);
        sb_str(&b, sl.body);
        sb_sgr(&b, r, SGR_RESET);
    } else {
        add_message(&b, r, &sl);
    }
    sb_str(&b, "\n");
    return b.s;
}

/*
 * The length of a replayed line's stamp, "[YYYY-MM-DD HH:MM] " (19), if
 * line starts with one, else 0.
 */
size_t
render_stamp_len(const char *line)
{
    static const char form[] = "[dddd-dd-dd dd:dd] ";

    for (size_t i = 0; i < sizeof(form) - 1; i++) {
        if (form[i] == 'd' ? (line[i] < '0' || line[i] > '9') :
            line[i] != form[i])
            return 0;
    }
    return sizeof(form) - 1;
}

/* A replayed line: all of it faint, its stamp kept, no other colour. */
static char *
render_replayed(const struct render *r, const char *line)
{
    struct sbuf b = { NULL, 0, 0 };

    sb_add(&b, "", 0);
    sb_sgr(&b, r, SGR_REPLAY);
    sb_str(&b, line);
    sb_sgr(&b, r, SGR_RESET);
    sb_str(&b, "\n");
    return b.s;
}

/*
 * Render a server line as the session shows it: as render_line(), but
 * between "*** history of ..." and "*** end of history" (*replaying, the
 * caller's state, starting at 0) stamped lines are dimmed, and the end
 * is followed by RENDER_LIVE_MARK.  Returns a malloc'd string.
 */
char *
render_server(const struct render *r, int *replaying, const char *line,
              time_t now)
{
    char *out;

    if (*replaying && render_stamp_len(line) > 0)
        return render_replayed(r, line);
    out = render_line(r, line, now);
    if (strncmp(line, "*** history of ", 15) == 0) {
        *replaying = 1;
    } else if (*replaying && strcmp(line, "*** end of history") == 0) {
        struct sbuf b = { out, strlen(out), strlen(out) + 1 };
        *replaying = 0;
        sb_sgr(&b, r, SGR_NOTICE);
        sb_str(&b, RENDER_LIVE_MARK);
        sb_sgr(&b, r, SGR_RESET);
        sb_str(&b, "\n");
        out = b.s;
    }
    return out;
}

/*
 * Render a message of ours the way the server shows it to the others:
 * kind is PROTO_PUBLIC or PROTO_ACTION, text is what we sent (it is
 * sanitized here as the server would), room the "#room" it went to, or
 * NULL for the default room (no prefix).  Returns a malloc'd string
 * ending in LF.
 */
char *
render_own(const struct render *r, enum proto_kind kind, const char *room,
           const char *nick, const char *text, time_t now)
{
    size_t len = strlen(text);
    char *clean = xmalloc(3 * len + 1);
    size_t cap = 3 * len + PROTO_ROOM_MAX + PROTO_PREFIX_MAX + 3;
    char *line = xmalloc(cap);
    char *out;
    size_t n = 0;

    proto_sanitize(text, len, clean);
    if (room != NULL)
        n = (size_t)snprintf(line, cap, "%.*s ", PROTO_ROOM_MAX, room);
    n += proto_format(line + n, cap - n, kind, nick, clean);
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    out = render_line(r, line, now);
    free(line);
    free(clean);
    return out;
}
