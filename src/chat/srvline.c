/*
 * srvline.c: classify server lines (see srvline.h).  Pure; any caller.
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
 * Fill sl from line (NUL-terminated, already sanitized).  A line whose
 * prefix does not match one of the protocol's forms exactly is SRV_PLAIN
 * with text = line, so callers can always print sl->text.
 */
void
srvline_parse(const char *line, struct srvline *sl)
{
    size_t n;

    memset(sl, 0, sizeof(*sl));
    sl->kind = SRV_PLAIN;
    sl->text = line;
    if (strncmp(line, "*** error: ", 11) == 0) {
        sl->kind = SRV_ERROR;
        sl->text = line + 11;
    } else if (strncmp(line, "*** ", 4) == 0) {
        sl->kind = SRV_NOTICE;
        sl->text = line + 4;
    } else if (line[0] == '<' && (n = nick_until(line + 1, '>')) > 0 &&
               line[n + 2] == ' ') {
        sl->kind = SRV_PUBLIC;
        sl->nick = line + 1;
        sl->nicklen = n;
        sl->text = line + n + 3;
    } else if (strncmp(line, "* ", 2) == 0 &&
               (n = nick_until(line + 2, ' ')) > 0) {
        sl->kind = SRV_ACTION;
        sl->nick = line + 2;
        sl->nicklen = n;
        sl->text = line + n + 3;
    } else if (line[0] == '*' && (n = nick_until(line + 1, '*')) > 0 &&
               line[n + 2] == ' ') {
        sl->kind = SRV_PRIVATE;
        sl->nick = line + 1;
        sl->nicklen = n;
        sl->text = line + n + 3;
    } else if (strncmp(line, "-> *", 4) == 0 &&
               (n = nick_until(line + 4, '*')) > 0 && line[n + 5] == ' ') {
        sl->kind = SRV_SENT;
        sl->nick = line + 4;
        sl->nicklen = n;
        sl->text = line + n + 6;
    }
}
