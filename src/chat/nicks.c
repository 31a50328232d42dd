/*
 * nicks.c: nicknames seen (see nicks.h).  Pure; the client's main thread.
 *
 * The list is fed from the server's own words: the welcome and "you are
 * now (or already) known as" lines name us; joins, leaves, renames, /who
 * replies (of any room) and the prefixes of messages (of any room) name
 * the others.  A linear list is plenty for the few hundred nicknames a
 * chat shows; it is capped at NICKS_MAX.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "nicks.h"
#include "srvline.h"
#include "xmalloc.h"

void
nicks_init(struct nicks *ns)
{
    memset(ns, 0, sizeof(*ns));
}

void
nicks_free(struct nicks *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
    nicks_init(ns);
}

/* Index of nick (len bytes, compared ignoring case), or -1. */
static long
find(const struct nicks *ns, const char *nick, size_t len)
{
    char buf[PROTO_NICK_MAX + 1];

    if (len == 0 || len > PROTO_NICK_MAX)
        return -1;
    memcpy(buf, nick, len);
    buf[len] = '\0';
    for (size_t i = 0; i < ns->n; i++)
        if (proto_nick_equal(ns->v[i], buf))
            return (long)i;
    return -1;
}

/* Copy nick (len bytes) to out when it is a valid nickname; else 0. */
static int
valid_copy(const char *nick, size_t len, char *out)
{
    if (len == 0 || len > PROTO_NICK_MAX)
        return 0;
    memcpy(out, nick, len);
    out[len] = '\0';
    return proto_nick_valid(out, NULL);
}

/*
 * Remember nick (len bytes) unless it is invalid, ours, already known or
 * the list is full.  A known nick keeps its place but takes the new case.
 */
void
nicks_add(struct nicks *ns, const char *nick, size_t len)
{
    char buf[PROTO_NICK_MAX + 1];
    long i;

    if (!valid_copy(nick, len, buf) || proto_nick_equal(buf, ns->self))
        return;
    if ((i = find(ns, nick, len)) >= 0) {
        memcpy(ns->v[i], buf, len + 1);
        return;
    }
    if (ns->n == NICKS_MAX)
        return;
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 16;
        ns->v = xrealloc(ns->v, ns->cap * sizeof(*ns->v));
    }
    ns->v[ns->n++] = xstrdup(buf);
}

/* Forget nick (len bytes), if known. */
void
nicks_remove(struct nicks *ns, const char *nick, size_t len)
{
    long i = find(ns, nick, len);

    if (i < 0)
        return;
    free(ns->v[i]);
    memmove(ns->v + i, ns->v + i + 1,
            (ns->n - (size_t)i - 1) * sizeof(*ns->v));
    ns->n--;
}

/* Our own nickname as the server last named it, "" before it did. */
const char *
nicks_self(const struct nicks *ns)
{
    return ns->self;
}

/* The server named us nick (len bytes): note it, and not as another. */
static void
set_self(struct nicks *ns, const char *nick, size_t len)
{
    char buf[PROTO_NICK_MAX + 1];

    if (valid_copy(nick, len, buf)) {
        memcpy(ns->self, buf, len + 1);
        nicks_remove(ns, buf, len);
    }
}

/* Length of the nickname-shaped word at s. */
static size_t
word_len(const char *s)
{
    size_t n = 0;

    while (srvline_nick_char((unsigned char)s[n]))
        n++;
    return n;
}

/* Does s, of which the nickname-shaped word takes n bytes, go on with w? */
static int
then(const char *s, size_t n, const char *w)
{
    return n > 0 && strncmp(s + n, w, strlen(w)) == 0;
}

/* s past prefix when s starts with it, else NULL. */
static const char *
after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* The words of a /who reply line ("  nick1 nick2 ..."). */
static void
add_words(struct nicks *ns, const char *s)
{
    for (;;) {
        while (*s == ' ')
            s++;
        size_t n = word_len(s);
        if (n == 0)
            return;
        nicks_add(ns, s, n);
        s += n;
    }
}

/* Is t the head of a /who reply: "N users online:" or "N users in #r:"? */
static int
who_head(const char *t)
{
    const char *p;
    size_t n;

    if (t[0] < '0' || t[0] > '9')
        return 0;
    if ((p = strstr(t, " online:")) != NULL && p[8] == '\0')
        return 1;
    if ((p = strstr(t, " in #")) == NULL)
        return 0;
    n = srvline_room_len(p + 4);
    return n > 0 && p[4 + n] == ':' && p[5 + n] == '\0';
}

/*
 * Learn from a notice's text (after "*** "); in_room when it came with a
 * room's prefix: there "has left" is a /part, and the nick may still be
 * in our other rooms, so it stays.
 */
static void
observe_notice(struct nicks *ns, const char *t, int in_room)
{
    size_t n = word_len(t);
    const char *p;

    if (ns->in_who && strncmp(t, "  ", 2) == 0) {
        add_words(ns, t);
        return;
    }
    ns->in_who = 0;
    if ((p = after(t, "welcome to chatd, ")) != NULL) {
        if (then(p, word_len(p), "!"))
            set_self(ns, p, word_len(p));
    } else if ((p = after(t, "you are now known as ")) != NULL ||
               (p = after(t, "you are already known as ")) != NULL) {
        if (p[word_len(p)] == '\0')
            set_self(ns, p, word_len(p));
    } else if (then(t, n, " has joined") && t[n + 11] == '\0') {
        nicks_add(ns, t, n);
    } else if (then(t, n, " has left")) {
        if (!in_room)
            nicks_remove(ns, t, n);
    } else if (then(t, n, " is now known as ")) {
        p = t + n + 17;
        if (p[word_len(p)] == '\0') {
            nicks_remove(ns, t, n);
            nicks_add(ns, p, word_len(p));
        }
    } else if (who_head(t)) {
        ns->in_who = 1;         /* names follow */
    }
}

/*
 * Learn what a server line (sanitized, NUL-terminated, no LF) says about
 * nicknames.  Lines that do not fit a known form change nothing.
 */
void
nicks_observe(struct nicks *ns, const char *line)
{
    struct srvline sl;

    srvline_parse(line, &sl);
    if (sl.known && sl.kind == PROTO_NOTICE) {
        observe_notice(ns, sl.text, sl.room != NULL);
        return;
    }
    if (sl.nick != NULL)        /* a message: its sender's nickname */
        nicks_add(ns, sl.nick, sl.nicklen);
    ns->in_who = 0;
}
