/*
 * command.c: protocol v1 commands, executed for a client by the worker
 * thread that owns it.  Text is parsed by proto.c and sanitized before it
 * is formatted; public lines go out through the worker's outbox, replies
 * straight into its sendlog.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "command.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "worker.h"
#include "xmalloc.h"

/* Longest MOTD line sent: worker_notice() formats into 1 KiB and would
 * cut a longer one anywhere, even inside a UTF-8 character. */
#define COMMAND_MOTD_LINE_MAX 1000

/*
 * Greet a client that has just joined: its nickname, how many are online
 * and the MOTD, one notice per line.  The caller sends the history next.
 */
void
command_welcome(struct worker *w, struct client *c, size_t online)
{
    if (cluster_enabled())
        online += cluster_remote_count();
    worker_notice(w, c, "welcome to chatd, %s! %zu user%s online; "
                  "/help lists the commands", c->nick, online,
                  online == 1 ? "" : "s");
    if (cluster_enabled() && !cluster_link_up()) {
        worker_notice(w, c, "%s", CLUSTER_DOWN_TEXT);
        cluster_told_down();
    }
    for (size_t i = 0; i < w->conf->nmotd; i++) {
        msg_ref(w->conf->motd[i], 1);
        worker_reply(w, c, w->conf->motd[i]);
    }
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
command_too_long(struct worker *w, struct client *c)
{
    worker_error(w, c, "line too long (max %ld bytes)", w->conf->max_line);
}

static void
say(struct worker *w, struct client *c, enum proto_kind kind,
    const char *text)
{
    size_t len = strlen(text);
    char stackbuf[4096];
    char *clean = len * 3 + 1 <= sizeof(stackbuf) ? stackbuf
                                                  : xmalloc(len * 3 + 1);

    if (proto_sanitize_max(text, len, clean, (size_t)w->conf->max_line) > 0)
        hub_outbox_relay(&w->outbox, msg_format(kind, c->nick, clean),
                         c->id, 1,
                         hub_wire("%c %llu %s %s",
                                  kind == PROTO_ACTION ? 'A' : 'P',
                                  (unsigned long long)c->id, c->nick,
                                  clean));
    if (clean != stackbuf)
        free(clean);
}

/* Rename c to name (valid, and this node's in a cluster). */
static void
rename_client(struct worker *w, struct client *c, const char *name)
{
    const char *why;
    char old[PROTO_NICK_MAX + 1];
    int rc;

    rc = hub_nick(c->user, name, old, &w->outbox, &why);
    if (rc < 0) {
        worker_error(w, c, "%s: %s", why, name);
        return;
    }
    if (rc > 0) {
        worker_notice(w, c, "you are already known as %s", name);
        return;
    }
    snprintf(c->nick, sizeof(c->nick), "%s", name);
    worker_notice(w, c, "you are now known as %s", c->nick);
    log_debug("client %llu (%s): %s is now %s",
              (unsigned long long)c->id, c->addr, old, c->nick);
    if (!proto_nick_equal(old, name))
        cluster_release(old);
}

/*
 * /nick.  In a cluster the name must first be this node's: the cluster
 * thread is asked (cluster_claim()) and c reads nothing more until the
 * answer comes back through the mailbox (command_claimed()).  While the
 * link is down, names cannot change.
 */
static void
nick(struct worker *w, struct client *c, const char *name)
{
    char real[PROTO_NICK_MAX + 1], node[CLWIRE_NAME_MAX + 1];
    const char *why;
    uint64_t id;
    int worker;

    if (!proto_nick_valid(name, &why)) {
        worker_error(w, c, "%s", why);
        return;
    }
    if (!cluster_enabled() || strcmp(name, c->nick) == 0) {
        rename_client(w, c, name);
        return;
    }
    if (clwire_guest_name(name)) {
        worker_error(w, c, "names starting with guest and a digit are "
                     "for guests: %s", name);
        return;
    }
    if ((hub_lookup(name, &id, &worker, real) == 0 && id != c->id) ||
        cluster_lookup(name, real, node, sizeof(node)) == 0) {
        worker_error(w, c, "nickname is already in use: %s", name);
        return;
    }
    if (cluster_claim(name, c->id, w->index) < 0) {
        worker_error(w, c, "cluster link down: nicknames cannot change "
                     "until it is back, try again later");
        return;
    }
    c->claiming = 1;
}

/*
 * The cluster's answer to c's claim of name (c is NULL if it has gone
 * meanwhile).  Owner worker; the caller lets c read again.
 */
void
command_claimed(struct worker *w, struct client *c, const char *name,
                int result)
{
    uint64_t id;
    int worker;
    char real[PROTO_NICK_MAX + 1];

    if (c == NULL || c->closing) {
        if (result == CLUSTER_CLAIM_OK &&
            hub_lookup(name, &id, &worker, real) < 0)
            cluster_release(name);
        return;
    }
    switch (result) {
    case CLUSTER_CLAIM_OK:
        rename_client(w, c, name);
        break;
    case CLUSTER_CLAIM_TAKEN:
        worker_error(w, c, "nickname is already in use: %s", name);
        break;
    case CLUSTER_CLAIM_LOST: {
        char guest[PROTO_NICK_MAX + 1];
        if (!proto_nick_equal(c->nick, name))
            break;                  /* renamed meanwhile */
        worker_notice(w, c, "nickname %s is also in use on another "
                      "server, which had it first", name);
        hub_guest_name(guest);
        rename_client(w, c, guest);
        break;
    }
    default:
        worker_error(w, c, "cluster link down: nicknames cannot change "
                     "until it is back, try again later");
        break;
    }
}

static void
privmsg(struct worker *w, struct client *c, const char *to,
        const char *text)
{
    char real[PROTO_NICK_MAX + 1];
    uint64_t id;
    int worker;
    size_t len = strlen(text);
    char *clean;

    char node[CLWIRE_NAME_MAX + 1];
    int remote = 0;

    if (!proto_nick_valid(to, NULL) ||
        (hub_lookup(to, &id, &worker, real) < 0 &&
         !(remote = cluster_lookup(to, real, node, sizeof(node)) == 0))) {
        char safe[PROTO_NICK_MAX * 3 + 1];
        proto_sanitize(to, strnlen(to, PROTO_NICK_MAX), safe);
        worker_error(w, c, "no such nickname: %s", safe);
        return;
    }
    clean = xmalloc(len * 3 + 1);
    if (proto_sanitize_max(text, len, clean,
                           (size_t)w->conf->max_line) > 0) {
        if (!remote)
            hub_outbox_direct(&w->outbox,
                              msg_format(PROTO_PRIVATE, c->nick, clean), id,
                              worker);
        if (remote && cluster_private(c->nick, real, node, clean) < 0)
            worker_error(w, c, "cluster link down: cannot reach %s on "
                         "server %s", real, node);
        else
            worker_reply(w, c, msg_format(PROTO_SENT, real, clean));
    }
    free(clean);
}

static void
who_line(void *arg, const char *line)
{
    void **a = arg;

    worker_notice(a[0], a[1], "%s", line);
}

static void
quit(struct worker *w, struct client *c, const char *reason)
{
    size_t len = strnlen(reason, 24);
    char clean[24 * 3 + 1];

    proto_sanitize(reason, len, clean);
    if (clean[0] == '\0') {
        worker_close(w, c, "quit");
        return;
    }
    snprintf(c->reason, sizeof(c->reason), "quit: %s", clean);
    worker_close(w, c, c->reason);
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

/* Run one framed line from c (NUL-terminated, may be modified). */
void
command_line(struct worker *w, struct client *c, char *line, size_t len)
{
    struct proto_cmd cmd;

    if (memchr(line, '\0', len) != NULL)
        strip_nul(line, len);
    proto_parse(line, &cmd);
    switch (cmd.type) {
    case PROTO_EMPTY:
        break;
    case PROTO_SAY:
        say(w, c, PROTO_PUBLIC, cmd.text);
        break;
    case PROTO_ME:
        say(w, c, PROTO_ACTION, cmd.text);
        break;
    case PROTO_NICK:
        nick(w, c, cmd.arg);
        break;
    case PROTO_MSG:
        privmsg(w, c, cmd.arg, cmd.text);
        break;
    case PROTO_WHO: {
        void *arg[2] = { w, c };
        if (!cluster_enabled()) {
            hub_who(who_line, arg);
            break;
        }
        hub_who_total(who_line, arg, cluster_remote_count());
        cluster_who(who_line, arg);
        break;
    }
    case PROTO_HELP:
        for (const char *const *h = proto_help_lines(); *h; h++)
            worker_notice(w, c, "%s", *h);
        break;
    case PROTO_QUIT:
        quit(w, c, cmd.text);
        break;
    case PROTO_BAD:
        worker_error(w, c, "%s", cmd.text);
        break;
    }
}
