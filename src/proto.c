/*
 * proto.c: protocol v1's pure parts (see proto.h).  No I/O, no locks, no
 * global state: every function may run on any thread.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "proto.h"

/* ------------------------------------------------------------------ */
/* Sanitizing                                                          */
/* ------------------------------------------------------------------ */

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the
 * bytes there are not one: stray continuation bytes, overlong forms, UTF-16
 * surrogates, code points past U+10FFFF and truncated sequences.
 */
static size_t
utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;          /* overlong */
        else if (c == 0xED)
            hi = 0x9F;          /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;          /* overlong */
        else if (c == 0xF4)
            hi = 0x8F;          /* past U+10FFFF */
    } else
        return 0;
    if (n < need)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return need;
}

/*
 * Copy len bytes of in to out, fit to relay: C0 controls but TAB, DEL and
 * C1 controls (U+0080-U+009F) are removed and each byte that does not
 * start valid UTF-8 becomes U+FFFD.  The output stops before the first
 * character that would take it past max bytes, so it is never longer
 * than the input limit even though U+FFFD takes three bytes for one (a
 * line of invalid bytes would otherwise triple).  out must hold
 * min(3 * len, max) + 1 bytes.  Returns the output length; out is
 * NUL-terminated.
 */
size_t
proto_sanitize_max(const char *in, size_t len, char *out, size_t max)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n = utf8_valid_len(s + i, len - i);
        const unsigned char *from = s + i;
        size_t outn = n;

        if (n == 0) {
            from = (const unsigned char *)"\xEF\xBF\xBD";
            outn = 3;
            n = 1;
        } else if (n == 1 && ((c < 0x20 && c != '\t') || c == 0x7F)) {
            outn = 0;
        } else if (n == 2 && c == 0xC2 && s[i + 1] <= 0x9F) {
            outn = 0;
        }
        if (outn > max - o)
            break;
        memcpy(out + o, from, outn);
        o += outn;
        i += n;
    }
    out[o] = '\0';
    return o;
}

/* proto_sanitize_max() without a limit: out must hold 3 * len + 1. */
size_t
proto_sanitize(const char *in, size_t len, char *out)
{
    return proto_sanitize_max(in, len, out, (size_t)-1);
}

/* ------------------------------------------------------------------ */
/* Nicknames                                                           */
/* ------------------------------------------------------------------ */

/* Nonzero when the n bytes at s are all of A-Z a-z 0-9 _ - (the
 * characters of nicknames and of room names after their #). */
static int
name_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* ASCII lower-case copy of at most max bytes of in, NUL-terminated. */
static void
fold(const char *in, char *out, size_t max)
{
    size_t i;

    for (i = 0; in[i] != '\0' && i < max; i++) {
        char c = in[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[i] = '\0';
}

/*
 * Nonzero when nick is 1-24 of A-Z a-z 0-9 _ -.  Otherwise *why (if not
 * NULL) says what is wrong, for an error line.
 */
int
proto_nick_valid(const char *nick, const char **why)
{
    size_t n = strlen(nick);
    const char *dummy;

    if (why == NULL)
        why = &dummy;
    if (n == 0) {
        *why = "nickname is empty";
        return 0;
    }
    if (n > PROTO_NICK_MAX) {
        *why = "nickname too long (max 24 characters)";
        return 0;
    }
    if (!name_chars(nick, n)) {
        *why = "nickname may only contain A-Z a-z 0-9 _ -";
        return 0;
    }
    return 1;
}

/* ASCII lower-case copy of nick into out (PROTO_NICK_MAX + 1 bytes). */
void
proto_nick_fold(const char *nick, char *out)
{
    fold(nick, out, PROTO_NICK_MAX);
}

/*
 * 1 if nick is a guest name: "guest" (any case) and nothing but digits.
 * The server hands these out (unique across a cluster); users may not
 * take them with /nick, on one node or many.
 */
int
proto_guest_name(const char *nick)
{
    size_t i = 5;

    if (strncasecmp(nick, "guest", 5) != 0 || nick[5] == '\0')
        return 0;
    for (; nick[i] != '\0'; i++)
        if (nick[i] < '0' || nick[i] > '9')
            return 0;
    return 1;
}

/* A hash of nick that ignores ASCII case (djb2 of the folded name). */
size_t
proto_nick_hash(const char *nick)
{
    char fold[PROTO_NICK_MAX + 1];
    size_t h = 5381;

    proto_nick_fold(nick, fold);
    for (const unsigned char *p = (const unsigned char *)fold; *p; p++)
        h = h * 33 + *p;
    return h;
}

/* Nonzero when a and b are the same nickname, ignoring ASCII case. */
int
proto_nick_equal(const char *a, const char *b)
{
    char fa[PROTO_NICK_MAX + 1], fb[PROTO_NICK_MAX + 1];

    if (strlen(a) > PROTO_NICK_MAX || strlen(b) > PROTO_NICK_MAX)
        return strcmp(a, b) == 0;
    proto_nick_fold(a, fa);
    proto_nick_fold(b, fb);
    return strcmp(fa, fb) == 0;
}

/* ------------------------------------------------------------------ */
/* Room names                                                          */
/* ------------------------------------------------------------------ */

/*
 * Nonzero when name is '#' and 1-32 of A-Z a-z 0-9 _ -.  Otherwise *why
 * (if not NULL) says what is wrong, for an error line.
 */
int
proto_room_valid(const char *name, const char **why)
{
    size_t n = strlen(name);
    const char *dummy;

    if (why == NULL)
        why = &dummy;
    if (name[0] != '#') {
        *why = "a room name starts with #";
        return 0;
    }
    if (n < 2 || n > PROTO_ROOM_MAX) {
        *why = "a room name is # and 1-32 of A-Z a-z 0-9 _ -";
        return 0;
    }
    if (!name_chars(name + 1, n - 1)) {
        *why = "a room name is # and 1-32 of A-Z a-z 0-9 _ -";
        return 0;
    }
    return 1;
}

/* ASCII lower-case copy of a room name (PROTO_ROOM_MAX + 1 bytes). */
void
proto_room_fold(const char *name, char *out)
{
    fold(name, out, PROTO_ROOM_MAX);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static char *
skip_spaces(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Split "word rest": NUL-terminate the word, return the rest (no spaces). */
static char *
split_word(char *s)
{
    while (*s != '\0' && *s != ' ' && *s != '\t')
        s++;
    if (*s == '\0')
        return s;
    *s++ = '\0';
    return skip_spaces(s);
}

static void
bad(struct proto_cmd *cmd, const char *why)
{
    cmd->type = PROTO_BAD;
    cmd->text = why;
}

/* Table of commands: name and the handler that fills in cmd. */
static void
parse_nick(char *args, struct proto_cmd *cmd)
{
    char *rest = split_word(args);

    if (*args == '\0') {
        bad(cmd, "usage: /nick NAME");
        return;
    }
    if (*rest != '\0') {
        bad(cmd, "a nickname cannot contain spaces: 1-24 of "
                 "A-Z a-z 0-9 _ -");
        return;
    }
    cmd->type = PROTO_NICK;
    cmd->arg = args;
}

static void
parse_msg(char *args, struct proto_cmd *cmd)
{
    char *text = split_word(args);

    if (*args == '\0' || *text == '\0') {
        bad(cmd, "usage: /msg NAME text");
        return;
    }
    cmd->type = PROTO_MSG;
    cmd->arg = args;
    cmd->text = text;
}

static void
parse_me(char *args, struct proto_cmd *cmd)
{
    if (*args == '\0') {
        bad(cmd, "usage: /me text");
        return;
    }
    cmd->type = PROTO_ME;
    cmd->text = args;
}

/* /join #room */
static void
parse_join(char *args, struct proto_cmd *cmd)
{
    char *rest = split_word(args);

    if (*args == '\0' || *rest != '\0') {
        bad(cmd, "usage: /join #room");
        return;
    }
    cmd->type = PROTO_JOIN;
    cmd->arg = args;
}

/* /part [#room] [reason] */
static void
parse_part(char *args, struct proto_cmd *cmd)
{
    cmd->type = PROTO_PART;
    if (args[0] == '#') {
        cmd->arg = args;
        cmd->text = split_word(args);
    } else {
        cmd->text = args;
    }
}

/* /history [N]: N from 1 to PROTO_HISTORY_MAX, digits only. */
static void
parse_history(char *args, struct proto_cmd *cmd)
{
    char *rest = split_word(args);
    size_t n = strspn(args, "0123456789");
    long v = n > 0 && n <= 3 && args[n] == '\0' ? atol(args) : -1;

    if (*rest != '\0' || (*args != '\0' && (v < 1 ||
                                             v > PROTO_HISTORY_MAX))) {
        bad(cmd, "usage: /history [N], N lines from 1 to 500");
        return;
    }
    cmd->type = PROTO_HISTORY;
    cmd->arg = *args != '\0' ? args : NULL;
}

/* /who [#room] */
static void
parse_who(char *args, struct proto_cmd *cmd)
{
    char *rest = split_word(args);

    if (*rest != '\0' || (*args != '\0' && *args != '#')) {
        bad(cmd, "usage: /who [#room]");
        return;
    }
    cmd->type = PROTO_WHO;
    cmd->arg = *args != '\0' ? args : NULL;
}

static void
parse_noargs(char *args, struct proto_cmd *cmd, enum proto_cmd_type type,
             const char *usage)
{
    if (*args != '\0') {
        bad(cmd, usage);
        return;
    }
    cmd->type = type;
}

/* A line holding passwords: "/CMD A" (two: "/CMD A B"), one word each.
 * The error never quotes the line. */
static void
parse_secret(char *args, struct proto_cmd *cmd, enum proto_cmd_type type,
             int two, const char *usage)
{
    char *second = split_word(args), *rest = second;

    if (two)
        rest = split_word(second);
    if (*args == '\0' || (two && *second == '\0')) {
        bad(cmd, usage);
        return;
    }
    if (*rest != '\0') {
        bad(cmd, "a password cannot contain spaces");
        return;
    }
    cmd->type = type;
    cmd->arg = two ? args : NULL;
    cmd->text = two ? second : args;
}

/* "/CMD NAME [rest]" (rest_ok) or "/CMD NAME". */
static void
parse_target(char *args, struct proto_cmd *cmd, enum proto_cmd_type type,
             int rest_ok, const char *usage)
{
    char *rest = split_word(args);

    if (*args == '\0' || (!rest_ok && *rest != '\0')) {
        bad(cmd, usage);
        return;
    }
    cmd->type = type;
    cmd->arg = args;
    cmd->text = rest;
}

/* The commands of accounts and operators; 0 if name is none of them. */
static int
parse_account(const char *name, char *args, struct proto_cmd *cmd)
{
    if (strcasecmp(name, "register") == 0)
        parse_secret(args, cmd, PROTO_REGISTER, 0, "usage: /register "
                     "PASSWORD");
    else if (strcasecmp(name, "login") == 0)
        parse_secret(args, cmd, PROTO_LOGIN, 1,
                     "usage: /login NAME PASSWORD");
    else if (strcasecmp(name, "password") == 0)
        parse_secret(args, cmd, PROTO_PASSWORD, 1,
                     "usage: /password OLD NEW");
    else if (strcasecmp(name, "kick") == 0)
        parse_target(args, cmd, PROTO_KICK, 1, "usage: /kick NICK "
                     "[reason]");
    else if (strcasecmp(name, "ban") == 0)
        parse_target(args, cmd, PROTO_BAN, 1, "usage: /ban NICK|ADDRESS"
                     "[/PREFIX] [DURATION] [reason]");
    else if (strcasecmp(name, "unban") == 0)
        parse_target(args, cmd, PROTO_UNBAN, 0,
                     "usage: /unban NICK|ADDRESS[/PREFIX]");
    else if (strcasecmp(name, "bans") == 0)
        parse_noargs(args, cmd, PROTO_BANS, "usage: /bans");
    else if (strcasecmp(name, "mute") == 0)
        parse_target(args, cmd, PROTO_MUTE, 1,
                     "usage: /mute NICK [DURATION]");
    else if (strcasecmp(name, "unmute") == 0)
        parse_target(args, cmd, PROTO_UNMUTE, 0, "usage: /unmute NICK");
    else
        return 0;
    return 1;
}

/*
 * Parse one framed line (NUL-terminated, modified in place) into cmd.
 * Pointers in cmd point into line.  Text is not sanitized here.
 */
void
proto_parse(char *line, struct proto_cmd *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    if (*skip_spaces(line) == '\0')
        return;                         /* PROTO_EMPTY, or only blanks */
    if (line[0] != '/' || line[1] == '/') {
        cmd->type = PROTO_SAY;
        cmd->text = line[0] == '/' ? line + 1 : line;
        return;
    }

    char *name = line + 1;
    char *args = split_word(name);

    if (strcasecmp(name, "nick") == 0)
        parse_nick(args, cmd);
    else if (strcasecmp(name, "msg") == 0)
        parse_msg(args, cmd);
    else if (strcasecmp(name, "me") == 0)
        parse_me(args, cmd);
    else if (strcasecmp(name, "who") == 0)
        parse_who(args, cmd);
    else if (strcasecmp(name, "join") == 0)
        parse_join(args, cmd);
    else if (strcasecmp(name, "part") == 0)
        parse_part(args, cmd);
    else if (strcasecmp(name, "history") == 0)
        parse_history(args, cmd);
    else if (strcasecmp(name, "rooms") == 0)
        parse_noargs(args, cmd, PROTO_ROOMS, "usage: /rooms");
    else if (strcasecmp(name, "topic") == 0) {
        cmd->type = PROTO_TOPIC;
        cmd->text = args;
    }
    else if (strcasecmp(name, "help") == 0)
        parse_noargs(args, cmd, PROTO_HELP, "usage: /help");
    else if (strcasecmp(name, "quit") == 0) {
        cmd->type = PROTO_QUIT;
        cmd->text = args;
    } else if (parse_account(name, args, cmd))
        ;
    else if (name[0] == '\0')
        bad(cmd, "empty command (to send a line starting with /, "
                 "type //)");
    else
        bad(cmd, "unknown command (try /help)");
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

/*
 * Format one server line, LF-terminated, into out (cap bytes).  nick is
 * ignored for NOTICE and ERROR.  Returns its length, truncated to cap - 1
 * with the LF kept.
 */
size_t
proto_format(char *out, size_t cap, enum proto_kind kind, const char *nick,
             const char *text)
{
    int n;

    switch (kind) {
    case PROTO_PUBLIC:
        n = snprintf(out, cap, "<%s> %s\n", nick, text);
        break;
    case PROTO_ACTION:
        n = snprintf(out, cap, "* %s %s\n", nick, text);
        break;
    case PROTO_PRIVATE:
        n = snprintf(out, cap, "*%s* %s\n", nick, text);
        break;
    case PROTO_SENT:
        n = snprintf(out, cap, "-> *%s* %s\n", nick, text);
        break;
    case PROTO_NOTICE:
        n = snprintf(out, cap, "*** %s\n", text);
        break;
    case PROTO_ERROR:
    default:
        n = snprintf(out, cap, "*** error: %s\n", text);
        break;
    }
    if (n < 0)
        n = 0;
    if ((size_t)n >= cap) {
        n = (int)cap - 1;
        out[n - 1] = '\n';
        out[n] = '\0';
    }
    return (size_t)n;
}

static const char *const help_lines[] = {
    "commands:",
    "  text             say text to everyone (//text says /text)",
    "  /nick NAME       change your nickname (1-24 of A-Z a-z 0-9 _ -)",
    "  /who [#room]     list who is in the room (the current one)",
    "  /msg NAME text   private message to NAME",
    "  /me text         action",
    "  /join #room      join a room (made if new) and talk there",
    "  /part [#room] [reason]  leave a room (the current one)",
    "  /rooms           list the rooms",
    "  /topic [text]    show or set the current room's topic",
    "  /register PASSWORD      make your nickname an account",
    "  /login NAME PASSWORD    log in to account NAME (and take the name)",
    "  /password OLD NEW       change your account's password",
    "  /history [N]     replay the current room's last N lines (500)",
    "  /quit [reason]   leave",
    "  /help            this list",
    "operators: /kick NICK [reason], /ban NICK|ADDRESS[/PREFIX] "
    "[DURATION] [reason],",
    "  /unban NICK|ADDRESS[/PREFIX], /bans, /mute NICK [DURATION], "
    "/unmute NICK",
    NULL
};

/* The /help reply, one notice per line, NULL-terminated. */
const char *const *
proto_help_lines(void)
{
    return help_lines;
}
