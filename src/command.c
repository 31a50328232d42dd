/*
 * command.c: protocol v1 commands, executed for a client by the worker
 * thread that owns it, through the session interface (session.h).  Text
 * is parsed by proto.c and sanitized before it is formatted; public lines
 * go out through the hub (the session's outbox), replies to the client
 * alone through the session, long replies as feeds (feed.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctcmd.h"
#include "client.h"
#include "cluster.h"
#include "command.h"
#include "feed.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "session.h"
#include "worker.h"
#include "wreplay.h"
#include "wrooms.h"
#include "xmalloc.h"

/* Longest MOTD line sent: session_notice() formats into 1 KiB and would
 * cut a longer one anywhere, even inside a UTF-8 character. */
#define COMMAND_MOTD_LINE_MAX 1000

/* The MOTD and the history from memory, as the client reads. */
static void
welcome_feed(struct session *s, struct hub_welcome *wel)
{
    const struct worker_conf *conf = session_conf(s);
    struct msg **v = NULL;
    struct feed *f;

    if (conf->nmotd > 0) {
        v = xmalloc(conf->nmotd * sizeof(*v));
        for (size_t i = 0; i < conf->nmotd; i++) {
            msg_ref(conf->motd[i], 1);
            v[i] = conf->motd[i];
        }
    }
    f = feed_list(v, conf->nmotd);
    if (wel->nhistory > 0)
        feed_add_history(f, wel->room_name, wel->history,
                         wel->history_times, wel->nhistory);
    else {
        free(wel->history);
        free(wel->history_times);
    }
    session_feed(s, f);
}

/*
 * Greet a client that has just joined: its nickname and how many are
 * online, then, as it reads, the MOTD (one notice per line) and the
 * default room's history, framed (wel's references are taken over).
 */
void
command_welcome(struct session *s, struct hub_welcome *wel)
{
    const struct worker_conf *conf = session_conf(s);
    size_t online = wel->online + cluster_remote_count();

    session_notice(s, "welcome to chatd, %s! %zu user%s online; "
                   "/help lists the commands", wel->nick, online,
                   online == 1 ? "" : "s");
    if (cluster_enabled() && !cluster_link_up()) {
        session_notice(s, "%s", CLUSTER_DOWN_TEXT);
        cluster_told_down();
    }
    if (conf->nmotd + wel->nhistory > 0)
        welcome_feed(s, wel);
    else {
        free(wel->history);
        free(wel->history_times);
    }
    /* With stored history, the replay comes from the history thread. */
    wreplay_ask(s, wel->room_name, wel->join_seq, (size_t)conf->history, 0,
                WREPLAY_QUIET);
}

/*
 * Format the MOTD text once, for every client to share: one sanitized
 * notice per line, cut at COMMAND_MOTD_LINE_MAX bytes on a character
 * boundary.  Stores a new array of messages (one reference each) in *out
 * and returns their number (0 and NULL for no text).  Main thread.
 */
size_t
command_motd(const char *text, struct msg ***out)
{
    size_t n = 0, cap = 0;
    struct msg **v = NULL;

    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *clean = xmalloc(len * 3 + 1);
        proto_sanitize_max(p, len, clean, COMMAND_MOTD_LINE_MAX);
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = msg_format(PROTO_NOTICE, NULL, clean);
        free(clean);
        p += len + (nl != NULL);
    }
    *out = v;
    return n;
}

/* Tell the sender its line was too long (the line is already dropped). */
void
command_too_long(struct session *s)
{
    session_error(s, "line too long (max %ld bytes)",
                  session_conf(s)->max_line);
}

/* A public line or action in the client's current room. */
static void
say(struct session *s, enum proto_kind kind, const char *text)
{
    struct client *c = session_client(s);
    size_t len = strlen(text);
    size_t max = (size_t)session_conf(s)->max_line;
    char stackbuf[4096], *clean;
    struct wmember *m;

    if (c->current < 0) {
        session_error(s, "you are in no room; /join one");
        return;
    }
    if (!acctcmd_may_talk(s))
        return;
    m = c->rooms[c->current];
    clean = len * 3 + 1 <= sizeof(stackbuf) ? stackbuf
                                            : xmalloc(len * 3 + 1);
    if (proto_sanitize_max(text, len, clean, max) > 0)
        hub_say(c->user, kind, m->id, m->is_default ? NULL : m->name,
                clean, session_outbox(s));
    if (clean != stackbuf)
        free(clean);
}

/* Rename the client to name (valid, and this node's in a cluster). */
void
command_rename(struct session *s, const char *name)
{
    struct client *c = session_client(s);
    const char *why;
    char old[PROTO_NICK_MAX + 1];
    int rc;

    rc = hub_nick(c->user, name, old, session_outbox(s), &why);
    if (rc < 0) {
        session_error(s, "%s: %s", why, name);
        return;
    }
    if (rc > 0) {
        session_notice(s, "you are already known as %s", name);
        return;
    }
    snprintf(c->nick, sizeof(c->nick), "%s", name);
    session_notice(s, "you are now known as %s", c->nick);
    log_debug("client %llu (%s): %s is now %s",
              (unsigned long long)c->id, c->addr, old, c->nick);
    if (!proto_nick_equal(old, name))
        cluster_release(old);
}

/* Is name someone else's, here or on another node? */
static int
taken(struct client *c, const char *name)
{
    char real[PROTO_NICK_MAX + 1], node[CLWIRE_NAME_MAX + 1];
    uint64_t id;
    int worker;

    return (hub_lookup(name, &id, &worker, real) == 0 && id != c->id) ||
           cluster_lookup(name, real, node, sizeof(node)) == 0;
}

/*
 * /nick.  Guest names (guest and a number) are the server's to give, on
 * one node or many.  In a cluster the name must first be this node's:
 * the cluster thread is asked (cluster_claim()) and the client reads
 * nothing more until the answer comes back through the mailbox
 * (command_claimed()).  While the link is down, names cannot change.
 */
static void
nick(struct session *s, const char *name)
{
    struct client *c = session_client(s);
    const char *why;

    if (!proto_nick_valid(name, &why)) {
        session_error(s, "%s", why);
        return;
    }
    if (strcmp(name, c->nick) == 0) {
        command_rename(s, name);
        return;
    }
    if (proto_guest_name(name)) {
        session_error(s, "names of guest and a number are for guests: %s",
                      name);
        return;
    }
    if (acctcmd_nick(s, name))
        return;                 /* the store says if name is registered */
    command_nick_go(s, name);
}

/*
 * The rest of /nick, once name is known to be free of accounts: on one
 * node, the rename; in a cluster, the claim.
 */
void
command_nick_go(struct session *s, const char *name)
{
    struct client *c = session_client(s);

    if (!cluster_enabled()) {
        command_rename(s, name);
        return;
    }
    if (taken(c, name)) {
        session_error(s, "nickname is already in use: %s", name);
        return;
    }
    if (cluster_claim(name, c->id, session_worker(s)) < 0) {
        session_error(s, "cluster link down: nicknames cannot change "
                      "until it is back, try again later");
        return;
    }
    c->claiming = 1;
}

/*
 * The cluster granted a claim of name to a client that has gone
 * meanwhile: give the name back unless someone here uses it.  Owner
 * worker of the client that asked.
 */
void
command_claim_orphan(const char *name, int result)
{
    char real[PROTO_NICK_MAX + 1];
    uint64_t id;
    int worker;

    if (result == CLUSTER_CLAIM_OK &&
        hub_lookup(name, &id, &worker, real) < 0)
        cluster_release(name);
}

/*
 * The cluster's answer to the client's claim of name.  Owner worker; the
 * caller lets the client read again.
 */
void
command_claimed(struct session *s, const char *name, int result)
{
    struct client *c = session_client(s);
    char guest[PROTO_NICK_MAX + 1];

    if (c->closing) {
        command_claim_orphan(name, result);
        return;
    }
    switch (result) {
    case CLUSTER_CLAIM_OK:
        command_rename(s, name);
        break;
    case CLUSTER_CLAIM_TAKEN:
        session_error(s, "nickname is already in use: %s", name);
        break;
    case CLUSTER_CLAIM_LOST:
        if (!proto_nick_equal(c->nick, name))
            break;                  /* renamed meanwhile */
        session_notice(s, "nickname %s is also in use on another "
                       "server, which had it first", name);
        hub_guest_name(guest);
        command_rename(s, guest);
        break;
    default:
        session_error(s, "cluster link down: nicknames cannot change "
                      "until it is back, try again later");
        break;
    }
}

/* "no such nickname" for to, sanitized: it is the client's text. */
static void
no_such_nick(struct session *s, const char *to)
{
    char safe[PROTO_NICK_MAX * 3 + 1];

    proto_sanitize(to, strnlen(to, PROTO_NICK_MAX), safe);
    session_error(s, "no such nickname: %s", safe);
}

/* /msg: to a user here, through the hub; to one elsewhere, through the
 * cluster. */
static void
privmsg(struct session *s, const char *to, const char *text)
{
    struct client *c = session_client(s);
    char real[PROTO_NICK_MAX + 1], node[CLWIRE_NAME_MAX + 1];
    size_t len = strlen(text);
    int worker, remote = 0;
    uint64_t id;
    char *clean;

    if (!acctcmd_may_talk(s))
        return;
    if (!proto_nick_valid(to, NULL) ||
        (hub_lookup(to, &id, &worker, real) < 0 &&
         !(remote = cluster_lookup(to, real, node, sizeof(node)) == 0))) {
        no_such_nick(s, to);
        return;
    }
    clean = xmalloc(len * 3 + 1);
    if (proto_sanitize_max(text, len, clean,
                           (size_t)session_conf(s)->max_line) > 0) {
        if (!remote)
            mbox_vec_direct(session_outbox(s),
                            msg_format(PROTO_PRIVATE, c->nick, clean), id,
                            worker);
        if (remote && cluster_private(c->nick, real, node, clean) < 0)
            session_error(s, "cluster link down: cannot reach %s on "
                          "server %s", real, node);
        else
            session_reply(s, msg_format(PROTO_SENT, real, clean));
    }
    free(clean);
}

/* /quit: a last "*** bye", then the close, with the reason (client text,
 * sanitized and cut short) for the others. */
static void
quit(struct session *s, const char *reason)
{
    struct client *c = session_client(s);
    size_t len = strnlen(reason, 24);
    char clean[24 * 3 + 1];

    proto_sanitize(reason, len, clean);
    session_notice(s, "bye");
    if (clean[0] == '\0') {
        session_close(s, "quit");
        return;
    }
    snprintf(c->reason, sizeof(c->reason), "quit: %s", clean);
    session_close(s, c->reason);
}

/*
 * Drop NUL bytes from the line (the sanitizer would anyway) so that the
 * text after one is not lost to the C-string parser.
 */
static void
strip_nul(char *line, size_t len)
{
    char *end = line + len, *o = line;

    for (char *p = line; p < end; p++)
        if (*p != '\0')
            *o++ = *p;
    *o = '\0';
}

/* Run one framed line from the client (NUL-terminated, may be
 * modified). */
void
command_line(struct session *s, char *line, size_t len)
{
    struct proto_cmd cmd;

    if (memchr(line, '\0', len) != NULL)
        strip_nul(line, len);
    proto_parse(line, &cmd);
    switch (cmd.type) {
    case PROTO_EMPTY:
        break;
    case PROTO_SAY:
        say(s, PROTO_PUBLIC, cmd.text);
        break;
    case PROTO_ME:
        say(s, PROTO_ACTION, cmd.text);
        break;
    case PROTO_NICK:
        nick(s, cmd.arg);
        break;
    case PROTO_MSG:
        privmsg(s, cmd.arg, cmd.text);
        break;
    case PROTO_WHO:
        roomcmd_who(s, cmd.arg);
        break;
    case PROTO_JOIN:
        roomcmd_join(s, cmd.arg);
        break;
    case PROTO_PART:
        roomcmd_part(s, cmd.arg, cmd.text ? cmd.text : "");
        break;
    case PROTO_ROOMS:
        roomcmd_rooms(s);
        break;
    case PROTO_HISTORY:
        roomcmd_history(s, cmd.arg);
        break;
    case PROTO_TOPIC:
        roomcmd_topic(s, cmd.text ? cmd.text : "");
        break;
    case PROTO_HELP:
        for (const char *const *h = proto_help_lines(); *h; h++)
            session_notice(s, "%s", *h);
        break;
    case PROTO_QUIT:
        quit(s, cmd.text);
        break;
    case PROTO_REGISTER:
    case PROTO_LOGIN:
    case PROTO_PASSWORD:
    case PROTO_KICK:
    case PROTO_BAN:
    case PROTO_UNBAN:
    case PROTO_BANS:
    case PROTO_MUTE:
    case PROTO_UNMUTE:
        acctcmd_run(s, &cmd);
        explicit_bzero(line, len);      /* it may have held a password */
        break;
    case PROTO_BAD:
        session_error(s, "%s", cmd.text);
        break;
    }
}
