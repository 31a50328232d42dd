/*
 * acctcmd.c: accounts and operators, the worker's side (see acctcmd.h).
 * The owner worker of the client only.  Nothing here blocks: passwords
 * and the store go to the store thread, whose answer comes back through
 * the mailbox (acctcmd_answer()); meanwhile the client's next lines wait
 * (c->storing).  Bans and mutes are read from their in-memory copy
 * (bans.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acctcmd.h"
#include "acctrule.h"
#include "bans.h"
#include "client.h"
#include "cluster.h"
#include "command.h"
#include "hub.h"
#include "log.h"
#include "mbox.h"
#include "msg.h"
#include "proto.h"
#include "session.h"
#include "storethr.h"
#include "worker.h"
#include "wreplay.h"
#include "xmalloc.h"

#define BANS_SHOWN 100              /* /bans lists at most this many */

/* Accounts are off (no usable state-dir): say so; returns 0. */
static int
need_store(struct session *s)
{
    if (storethr_enabled())
        return 1;
    session_error(s, "accounts are off on this server (no state-dir)");
    return 0;
}

/* A new request for the session's client (to be posted). */
static struct store_req *
request(struct session *s, enum store_op op)
{
    struct client *c = session_client(s);

    return storethr_req(op, c->id, session_worker(s), c->addr);
}

/* Post r and make the client wait for the answer. */
static void
post_wait(struct session *s, struct store_req *r)
{
    session_client(s)->storing = 1;
    storethr_post(r);
}

/* ------------------------------------------------------------------ */
/* Checks for other commands                                           */
/* ------------------------------------------------------------------ */

/* "until 14:05 UTC" or "" for a permanent one, into out. */
static void
until_text(int64_t until, char *out, size_t cap)
{
    time_t t = (time_t)until;
    struct tm tm;

    if (until == 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, cap, "%s", until == 0 ? "" : " (for a while)");
        return;
    }
    strftime(out, cap, " until %Y-%m-%d %H:%M UTC", &tm);
}

/*
 * May the client say something now?  Not while muted, nor as a guest
 * under login-required: each is told why.  1 or 0.
 */
int
acctcmd_may_talk(struct session *s)
{
    struct client *c = session_client(s);
    char when[64];
    int64_t until;

    if (session_conf(s)->login_required && c->account[0] == '\0') {
        session_error(s, "only logged-in users may talk here: /login NAME "
                      "PASSWORD, or /nick NAME and /register PASSWORD");
        return 0;
    }
    if (mutes_check(c->nick, (int64_t)time(NULL), &until) ||
        (c->account[0] &&
         mutes_check(c->account, (int64_t)time(NULL), &until))) {
        until_text(until, when, sizeof(when));
        session_error(s, "you are muted%s", when);
        return 0;
    }
    return 1;
}

/*
 * /nick name with accounts on: a banned name is refused; a name not the
 * client's own account goes to the store thread to learn whether it is
 * registered (1: the answer will continue /nick).  0: go on at once.
 */
int
acctcmd_nick(struct session *s, const char *name)
{
    struct client *c = session_client(s);
    struct store_req *r;
    struct ban b;

    if (!storethr_enabled())
        return 0;
    if (cluster_enabled() && !cluster_link_up())
        return 0;           /* names cannot change: /nick says why */
    if (bans_match_name(name, (int64_t)time(NULL), &b)) {
        session_error(s, "%s is banned on this server", name);
        return 1;
    }
    if (c->account[0] != '\0' && proto_nick_equal(c->account, name))
        return 0;
    r = request(s, STORE_OP_NICK);
    snprintf(r->name, sizeof(r->name), "%s", name);
    post_wait(s, r);
    return 1;
}

/*
 * A new client from peer: is it banned?  1 with the line to send it
 * (LF-terminated) in line, else 0.  Any worker.
 */
int
acctcmd_refusal(const char *peer, char *line, size_t cap)
{
    char when[64];
    struct ban b;

    if (!bans_match_peer(peer, (int64_t)time(NULL), &b))
        return 0;
    until_text(b.until, when, sizeof(when));
    snprintf(line, cap, "*** error: you are banned from this server%s%s%s\n",
             when, b.reason[0] ? ": " : "", b.reason);
    return 1;
}

/*
 * A ban was added: if one now covers the client (its address, its
 * nickname or its account), tell it why and close it.  1 if closed.
 */
int
acctcmd_banned(struct session *s)
{
    struct client *c = session_client(s);
    int64_t now = (int64_t)time(NULL);
    char when[64];
    struct ban b;

    if (c->closing)
        return 0;
    if (!bans_match_peer(c->addr, now, &b) &&
        !bans_match_name(c->nick, now, &b) &&
        !(c->account[0] && bans_match_name(c->account, now, &b)))
        return 0;
    until_text(b.until, when, sizeof(when));
    session_error(s, "you are banned from this server%s%s%s", when,
                  b.reason[0] ? ": " : "", b.reason);
    log_info("client %llu (%s) %s: closed by ban %lld",
             (unsigned long long)c->id, c->addr, c->nick, (long long)b.id);
    session_close(s, "banned");
    return 1;
}

/* ------------------------------------------------------------------ */
/* Accounts                                                            */
/* ------------------------------------------------------------------ */

/* Copy a password into the request's buffer; 0, or -1 told. */
static int
take_password(struct session *s, const char *pw, char *dst, size_t cap)
{
    const char *why;

    if (!acct_password_ok(pw, &why)) {
        session_error(s, "%s", why);
        return -1;
    }
    snprintf(dst, cap, "%s", pw);
    return 0;
}

static void
do_register(struct session *s, const char *pw)
{
    struct client *c = session_client(s);
    struct store_req *r;

    if (c->account[0] != '\0') {
        session_error(s, "you are already logged in as %s", c->account);
        return;
    }
    if (proto_guest_name(c->nick)) {
        session_error(s, "guest names cannot be registered: /nick NAME "
                      "first");
        return;
    }
    if (!storethr_registration_open()) {
        session_error(s, "registration is closed on this server; ask an "
                      "operator");
        return;
    }
    r = request(s, STORE_OP_REGISTER);
    snprintf(r->name, sizeof(r->name), "%s", c->nick);
    if (take_password(s, pw, r->pw, sizeof(r->pw)) < 0) {
        storethr_free(r);
        return;
    }
    post_wait(s, r);
}

static void
do_login(struct session *s, const char *name, const char *pw)
{
    struct store_req *r;
    const char *why;

    if (!proto_nick_valid(name, &why)) {
        session_error(s, "%s", why);
        return;
    }
    r = request(s, STORE_OP_LOGIN);
    snprintf(r->name, sizeof(r->name), "%s", name);
    if (take_password(s, pw, r->pw, sizeof(r->pw)) < 0) {
        storethr_free(r);
        return;
    }
    post_wait(s, r);
}

static void
do_password(struct session *s, const char *old, const char *pw)
{
    struct client *c = session_client(s);
    struct store_req *r;

    if (c->account[0] == '\0') {
        session_error(s, "you are not logged in: /login NAME PASSWORD");
        return;
    }
    r = request(s, STORE_OP_PASSWORD);
    snprintf(r->name, sizeof(r->name), "%s", c->account);
    snprintf(r->pw, sizeof(r->pw), "%s", old);
    if (take_password(s, pw, r->pw2, sizeof(r->pw2)) < 0) {
        storethr_free(r);
        return;
    }
    post_wait(s, r);
}

/* ------------------------------------------------------------------ */
/* Operators                                                           */
/* ------------------------------------------------------------------ */

/* Is the client an operator?  If not, it is told (what: the command). */
static int
need_oper(struct session *s, const char *what)
{
    struct client *c = session_client(s);

    if (c->oper && c->account[0] != '\0')
        return 1;
    session_error(s, "only operators may %s%s", what,
                  c->account[0] ? "" : " (log in first)");
    return 0;
}

/* A reason as others will read it: sanitized, cut short. */
static void
clean_reason(const char *text, char *out)
{
    proto_sanitize_max(text, strnlen(text, ACCT_REASON_MAX), out,
                       ACCT_REASON_MAX);
}

static void
do_kick(struct session *s, const char *nick, const char *reason)
{
    struct client *c = session_client(s);
    char real[PROTO_NICK_MAX + 1], why[ACCT_REASON_MAX * 3 + 1];
    struct mbox_entry e = { .kind = MBOX_STORE, .op = STORE_OP_KICK };

    if (hub_lookup(nick, &e.to, &e.worker, real) < 0) {
        session_error(s, "no such nickname here: %s",
                      proto_nick_valid(nick, NULL) ? nick : "(invalid)");
        return;
    }
    clean_reason(reason, why);
    e.msg = msg_notice("kicked by %s%s%s", c->account, why[0] ? ": " : "",
                       why);
    hub_post(&e);
    log_info("client %llu (%s) %s kicked %s", (unsigned long long)c->id,
             c->addr, c->account, real);
    session_notice(s, "kicked %s", real);
}

/* "[DURATION] [reason]": the duration (0: none) and where the reason
 * starts.  -1 if a duration was meant but is wrong (told). */
static int
split_duration(struct session *s, const char *text, long *secs,
               const char **reason)
{
    char word[32];
    size_t n = strcspn(text, " \t");
    const char *why;

    *secs = 0;
    *reason = text;
    if (n == 0 || text[0] < '0' || text[0] > '9')
        return 0;
    snprintf(word, sizeof(word), "%.*s", (int)(n < 31 ? n : 31), text);
    if (n > 31 || acct_duration_parse(word, secs, &why) < 0) {
        session_error(s, "%s", n > 31 ? "duration too long" : why);
        return -1;
    }
    text += n;
    *reason = text + strspn(text, " \t");
    return 0;
}

/* Fill the ban's target: an address mask (it has '.', ':' or '/', which
 * nicknames never do) or a nickname.  0, or -1 told. */
static int
ban_target(struct session *s, const char *target, struct ban *b)
{
    struct client *c = session_client(s);
    const char *why;
    uint8_t mine[16];

    if (strpbrk(target, ".:/") == NULL) {
        if (!proto_nick_valid(target, &why)) {
            session_error(s, "%s", why);
            return -1;
        }
        proto_nick_fold(target, b->name);
        return 0;
    }
    if (acct_mask_parse(target, &b->mask, &why) < 0) {
        session_error(s, "%s", why);
        return -1;
    }
    b->has_mask = 1;
    if (acct_peer_addr(c->addr, mine) == 0 &&
        acct_mask_match(&b->mask, mine)) {
        session_error(s, "that ban would cover your own address");
        return -1;
    }
    return 0;
}

static void
do_ban(struct session *s, const char *target, const char *rest)
{
    struct client *c = session_client(s);
    struct store_req *r = request(s, STORE_OP_BAN);
    const char *reason;
    long secs;

    if (ban_target(s, target, &r->ban) < 0 ||
        split_duration(s, rest, &secs, &reason) < 0) {
        storethr_free(r);
        return;
    }
    if (r->ban.name[0] && proto_nick_equal(r->ban.name, c->account)) {
        session_error(s, "you cannot ban yourself");
        storethr_free(r);
        return;
    }
    r->ban.until = secs ? (int64_t)time(NULL) + secs : 0;
    snprintf(r->what, sizeof(r->what), "permanent");
    if (secs)
        acct_duration_format(secs, r->what, sizeof(r->what));
    clean_reason(reason, r->ban.reason);
    snprintf(r->ban.by, sizeof(r->ban.by), "%s", c->account);
    storethr_post(r);
}

static void
do_unban(struct session *s, const char *target)
{
    struct store_req *r;
    struct ban b;

    if (!bans_find(target, &b)) {
        session_error(s, "no ban on %s (/bans lists them)",
                      strpbrk(target, ".:/") || proto_nick_valid(target,
                      NULL) ? target : "that");
        return;
    }
    r = request(s, STORE_OP_UNBAN);
    r->ban = b;
    ban_describe(&b, r->what, sizeof(r->what));
    snprintf(r->name, sizeof(r->name), "%s", session_client(s)->account);
    storethr_post(r);
}

static void
do_bans(struct session *s)
{
    struct ban *list = xmalloc(BANS_SHOWN * sizeof(*list));
    char what[96], when[64];
    size_t n = bans_list(list, BANS_SHOWN, (int64_t)time(NULL));

    if (n == 0)
        session_notice(s, "no bans");
    for (size_t i = 0; i < n; i++) {
        ban_describe(&list[i], what, sizeof(what));
        until_text(list[i].until, when, sizeof(when));
        session_notice(s, "ban %s%s%s by %s%s%s", what, when,
                       list[i].until ? "" : " (permanent)", list[i].by,
                       list[i].reason[0] ? ": " : "", list[i].reason);
    }
    free(list);
}

static void
do_mute(struct session *s, const char *nick, const char *rest, int on)
{
    struct store_req *r;
    const char *why, *extra;
    long secs = 0;

    if (!proto_nick_valid(nick, &why)) {
        session_error(s, "%s", why);
        return;
    }
    if (on && split_duration(s, rest, &secs, &extra) < 0)
        return;
    if (on && extra[0] != '\0') {
        session_error(s, "usage: /mute NICK [DURATION]");
        return;
    }
    r = request(s, on ? STORE_OP_MUTE : STORE_OP_UNMUTE);
    proto_nick_fold(nick, r->mute.name);
    r->mute.until = secs ? (int64_t)time(NULL) + secs : 0;
    snprintf(r->name, sizeof(r->name), "%s", session_client(s)->account);
    storethr_post(r);
}

/* Run one of the commands of accounts and operators. */
void
acctcmd_run(struct session *s, const struct proto_cmd *cmd)
{
    static const char *const names[] = {
        [PROTO_KICK] = "/kick", [PROTO_BAN] = "/ban",
        [PROTO_UNBAN] = "/unban", [PROTO_BANS] = "/bans",
        [PROTO_MUTE] = "/mute", [PROTO_UNMUTE] = "/unmute" };

    if (!need_store(s))
        return;
    if (cmd->type >= PROTO_KICK && !need_oper(s, names[cmd->type]))
        return;
    switch (cmd->type) {
    case PROTO_REGISTER: do_register(s, cmd->text); break;
    case PROTO_LOGIN:    do_login(s, cmd->arg, cmd->text); break;
    case PROTO_PASSWORD: do_password(s, cmd->arg, cmd->text); break;
    case PROTO_KICK:     do_kick(s, cmd->arg, cmd->text); break;
    case PROTO_BAN:      do_ban(s, cmd->arg, cmd->text); break;
    case PROTO_UNBAN:    do_unban(s, cmd->arg); break;
    case PROTO_BANS:     do_bans(s); break;
    case PROTO_MUTE:     do_mute(s, cmd->arg, cmd->text, 1); break;
    case PROTO_UNMUTE:   do_mute(s, cmd->arg, "", 0); break;
    default:             break;
    }
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */
/* ------------------------------------------------------------------ */

/* Logged in to name (as registered): take the nickname, asking its
 * holder here to give it up first.  1 if the client waits for that. */
static int
logged_in(struct session *s, const char *name, int oper)
{
    struct client *c = session_client(s);
    struct mbox_entry e = { .kind = MBOX_STORE, .op = STORE_OP_EVICT };
    char real[PROTO_NICK_MAX + 1];

    snprintf(c->account, sizeof(c->account), "%s", name);
    c->oper = oper ? 1 : 0;
    session_notice(s, "logged in as %s%s", name,
                   oper ? " (operator)" : "");
    wreplay_missed(s);
    if (proto_nick_equal(c->nick, name)) {
        if (strcmp(c->nick, name) != 0)
            command_rename(s, name);
        return 0;
    }
    if (hub_lookup(name, &e.to, &e.worker, real) == 0 && e.to != c->id) {
        e.msg = msg_new(name, strlen(name) + 1);
        e.back = c->id;
        e.back_worker = session_worker(s);
        hub_post(&e);
        return 1;
    }
    command_nick_go(s, name);
    return 0;
}

/*
 * STORE_OP_EVICT: the client of s (NULL: gone) gives up e's name, if it
 * still holds it, and becomes a guest; the one waiting is told to take
 * it.
 */
void
acctcmd_evict(struct session *s, const struct mbox_entry *e)
{
    const char *name = e->msg->data;
    struct mbox_entry take = { .kind = MBOX_STORE, .op = STORE_OP_TAKE,
                               .to = e->back, .worker = e->back_worker };
    struct client *c = s ? session_client(s) : NULL;
    char guest[PROTO_NICK_MAX + 1];

    if (c != NULL && !c->closing && proto_nick_equal(c->nick, name)) {
        int was = proto_nick_equal(c->account, name);
        if (was) {                  /* one session holds an account */
            c->account[0] = '\0';
            c->oper = 0;
        }
        hub_guest_name(guest);
        session_notice(s, "%s logged in to its account: you are a guest "
                       "now%s", name, was ? " (logged out)" : "");
        command_rename(s, guest);
    }
    take.msg = msg_new(name, strlen(name) + 1);
    hub_post(&take);
}

/*
 * The answer e for the client of s (the store thread's, or another
 * worker's hand-off).  Returns 1 if the client goes on waiting, else 0
 * (its lines may run again).
 */
int
acctcmd_answer(struct session *s, const struct mbox_entry *e)
{
    const char *text = e->msg ? e->msg->data : "";
    struct client *c = session_client(s);

    switch (e->op) {
    case STORE_OP_REGISTER:
    case STORE_OP_LOGIN:
        if (e->result != STORE_R_OK)
            break;
        if (e->op == STORE_OP_LOGIN)
            return logged_in(s, text, e->oper);
        snprintf(c->account, sizeof(c->account), "%s", text);
        c->oper = e->oper ? 1 : 0;
        session_notice(s, "registered %s; you are logged in%s", text,
                       e->oper ? " (operator)" : "");
        return 0;
    case STORE_OP_NICK:
        if (e->result == STORE_R_TAKEN)
            session_error(s, "%s is registered; /login %s PASSWORD", text,
                          text);
        else if (e->result == STORE_R_FREE)
            command_nick_go(s, text);
        else
            break;
        return 0;
    case STORE_OP_TAKE:
        command_nick_go(s, text);
        return 0;
    case STORE_OP_KICK:
        msg_ref(e->msg, 1);
        session_reply(s, e->msg);
        session_close(s, "kicked");
        return 0;
    default:
        break;
    }
    if (e->result == STORE_R_OK)
        session_notice(s, "%s", text);
    else
        session_error(s, "%s", text);
    return 0;
}
