/*
 * store_redis.c: the store (store.h) in the cluster's Redis, so that
 * every node sees one set of accounts, bans and mutes.  Its own
 * connection (hiredis, opened like the cluster's: timeouts, AUTH), used
 * by one thread (the store thread, or main for --add-account); a broken
 * connection is opened again at the next call.  Keys, under the
 * cluster's channel name P:
 *
 *   P:acct:NAME    hash: name, hash, oper (NAME folded to lower case)
 *   P:ban:ID       hash: name, mask, until, reason, by
 *   P:bans         set of ban IDs;  P:banid  the last ID given
 *   P:mutes        hash: NAME -> until
 *   P:banver       counter, raised by every change of bans or mutes:
 *                  the other nodes' store threads poll it (changed())
 *                  and load the bans again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#ifdef HAVE_CLUSTER

#include <hiredis/hiredis.h>
#include <time.h>

#include "cllink.h"
#include "xmalloc.h"

struct rs {
    struct store  st;
    struct cllink link;             /* url and prefix (as channel) */
    redisContext *c;
    long long     banver;           /* last P:banver seen */
};

/* The context, opened again if it broke.  NULL with st->err set. */
static redisContext *
ctx(struct rs *r)
{
    char err[200];

    if (r->c != NULL && r->c->err == 0)
        return r->c;
    if (r->c != NULL)
        redisFree(r->c);
    r->c = NULL;
    if (cllink_connect(&r->link, &r->c, err, sizeof(err)) < 0) {
        snprintf(r->st.err, sizeof(r->st.err), "redis: %s", err);
        return NULL;
    }
    return r->c;
}

/* Run a command (argv form, binary-safe).  The reply, or NULL with
 * st->err set (an error reply counts as a failure). */
static redisReply *
cmd(struct rs *r, int argc, const char **argv)
{
    redisContext *c = ctx(r);
    redisReply *rep;

    if (c == NULL)
        return NULL;
    rep = redisCommandArgv(c, argc, argv, NULL);
    if (rep == NULL) {
        snprintf(r->st.err, sizeof(r->st.err), "redis: %s", c->errstr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->st.err, sizeof(r->st.err), "redis: %s", rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* A command whose reply is an integer: it, or -1. */
static long long
cmd_int(struct rs *r, int argc, const char **argv)
{
    redisReply *rep = cmd(r, argc, argv);
    long long v = -1;

    if (rep == NULL)
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    freeReplyObject(rep);
    return v;
}

static void
key(const struct rs *r, char *out, size_t cap, const char *what,
    const char *name)
{
    snprintf(out, cap, "%s:%s%s%s", r->link.channel, what,
             name ? ":" : "", name ? name : "");
}

/* Field f of a HGETALL reply, or NULL. */
static const char *
field(const redisReply *rep, const char *f)
{
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(rep->element[i]->str, f) == 0 &&
            rep->element[i + 1]->type == REDIS_REPLY_STRING)
            return rep->element[i + 1]->str;
    return NULL;
}

static int
rs_account_get(struct store *st, const char *name, struct store_account *a)
{
    struct rs *r = (struct rs *)st;
    char fold[PROTO_NICK_MAX + 1], k[300];
    const char *argv[2] = { "HGETALL", k };
    const char *n, *h, *o;
    redisReply *rep;

    proto_nick_fold(name, fold);
    key(r, k, sizeof(k), "acct", fold);
    if ((rep = cmd(r, 2, argv)) == NULL)
        return -1;
    n = field(rep, "name");
    h = field(rep, "hash");
    o = field(rep, "oper");
    if (n == NULL || h == NULL) {
        freeReplyObject(rep);
        return 0;
    }
    snprintf(a->name, sizeof(a->name), "%s", n);
    snprintf(a->hash, sizeof(a->hash), "%s", h);
    a->oper = o != NULL && strcmp(o, "1") == 0;
    freeReplyObject(rep);
    return 1;
}

static int
rs_account_put(struct store *st, const struct store_account *a,
               enum store_put how)
{
    struct rs *r = (struct rs *)st;
    char fold[PROTO_NICK_MAX + 1], k[300];
    const char *setnx[] = { "HSETNX", k, "name", a->name };
    const char *exists[] = { "HEXISTS", k, "hash" };
    const char *set[] = { "HSET", k, "name", a->name, "hash", a->hash,
                          "oper", a->oper ? "1" : "0" };
    long long v;

    proto_nick_fold(a->name, fold);
    key(r, k, sizeof(k), "acct", fold);
    if (how == STORE_CREATE) {
        if ((v = cmd_int(r, 4, setnx)) <= 0)
            return (int)v;
    } else if (how == STORE_PASSWORD) {
        if ((v = cmd_int(r, 3, exists)) <= 0)
            return (int)v;
        set[2] = "hash";                /* HSET k hash H */
        set[3] = a->hash;
        return cmd_int(r, 4, set) < 0 ? -1 : 1;
    }
    return cmd_int(r, 8, set) < 0 ? -1 : 1;
}

/* Raise P:banver: the other nodes load the bans again. */
static int
bump(struct rs *r)
{
    char k[300];
    const char *argv[] = { "INCR", k };

    key(r, k, sizeof(k), "banver", NULL);
    return cmd_int(r, 2, argv) < 0 ? -1 : 0;
}

static int
rs_ban_add(struct store *st, struct ban *b)
{
    struct rs *r = (struct rs *)st;
    char k[300], idk[300], set[300], id[32], until[32];
    char mask[ACCT_MASK_STRMAX] = "";
    const char *incr[] = { "INCR", idk };
    const char *hset[] = { "HSET", k, "name", b->name, "mask", mask,
                           "until", until, "reason", b->reason, "by",
                           b->by };
    const char *sadd[] = { "SADD", set, id };
    long long v;

    key(r, idk, sizeof(idk), "banid", NULL);
    if ((v = cmd_int(r, 2, incr)) <= 0)
        return -1;
    b->id = v;
    snprintf(id, sizeof(id), "%lld", v);
    snprintf(until, sizeof(until), "%lld", (long long)b->until);
    if (b->has_mask)
        acct_mask_format(&b->mask, mask, sizeof(mask));
    key(r, k, sizeof(k), "ban", id);
    key(r, set, sizeof(set), "bans", NULL);
    if (cmd_int(r, 12, hset) < 0 || cmd_int(r, 3, sadd) < 0)
        return -1;
    return bump(r);
}

static int
rs_ban_del(struct store *st, int64_t bid)
{
    struct rs *r = (struct rs *)st;
    char k[300], set[300], id[32];
    const char *del[] = { "DEL", k };
    const char *srem[] = { "SREM", set, id };

    snprintf(id, sizeof(id), "%lld", (long long)bid);
    key(r, k, sizeof(k), "ban", id);
    key(r, set, sizeof(set), "bans", NULL);
    if (cmd_int(r, 2, del) < 0 || cmd_int(r, 3, srem) < 0)
        return -1;
    return bump(r);
}

static int
rs_mute_set(struct store *st, const struct mute *m)
{
    struct rs *r = (struct rs *)st;
    char k[300], until[32];
    const char *hset[] = { "HSET", k, m->name, until };

    key(r, k, sizeof(k), "mutes", NULL);
    snprintf(until, sizeof(until), "%lld", (long long)m->until);
    if (cmd_int(r, 4, hset) < 0)
        return -1;
    return bump(r);
}

static int
rs_mute_del(struct store *st, const char *name)
{
    struct rs *r = (struct rs *)st;
    char k[300];
    const char *hdel[] = { "HDEL", k, name };

    key(r, k, sizeof(k), "mutes", NULL);
    if (cmd_int(r, 3, hdel) < 0)
        return -1;
    return bump(r);
}

/* Ban id from its hash into *b; 0, or -1 if it is gone or bad. */
static int
load_ban(struct rs *r, const char *id, struct ban *b)
{
    char k[300];
    const char *argv[] = { "HGETALL", k };
    const char *name, *mask, *until, *why;
    redisReply *rep;
    int rc = -1;

    key(r, k, sizeof(k), "ban", id);
    if ((rep = cmd(r, 2, argv)) == NULL)
        return -1;
    memset(b, 0, sizeof(*b));
    b->id = atoll(id);
    name = field(rep, "name");
    mask = field(rep, "mask");
    until = field(rep, "until");
    if (name != NULL && mask != NULL && until != NULL) {
        snprintf(b->name, sizeof(b->name), "%s", name);
        snprintf(b->reason, sizeof(b->reason), "%s",
                 field(rep, "reason") ? field(rep, "reason") : "");
        snprintf(b->by, sizeof(b->by), "%s",
                 field(rep, "by") ? field(rep, "by") : "");
        b->until = atoll(until);
        b->has_mask = mask[0] != '\0';
        rc = b->has_mask && acct_mask_parse(mask, &b->mask, &why) < 0 ? -1
                                                                     : 0;
    }
    freeReplyObject(rep);
    return rc;
}

static int
load_mutes(struct rs *r, int64_t now, void (*mute)(const struct mute *m))
{
    char k[300];
    const char *argv[] = { "HGETALL", k };
    redisReply *rep;
    struct mute m;

    key(r, k, sizeof(k), "mutes", NULL);
    if ((rep = cmd(r, 2, argv)) == NULL)
        return -1;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        memset(&m, 0, sizeof(m));
        snprintf(m.name, sizeof(m.name), "%s", rep->element[i]->str);
        m.until = atoll(rep->element[i + 1]->str);
        if (m.until == 0 || m.until > now)
            mute(&m);
    }
    freeReplyObject(rep);
    return 0;
}

static int
rs_load(struct store *st, int64_t now, void (*ban)(const struct ban *b),
        void (*mute)(const struct mute *m))
{
    struct rs *r = (struct rs *)st;
    char k[300];
    const char *argv[] = { "SMEMBERS", k };
    redisReply *rep;
    struct ban b;

    key(r, k, sizeof(k), "bans", NULL);
    if ((rep = cmd(r, 2, argv)) == NULL)
        return -1;
    for (size_t i = 0; i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            load_ban(r, rep->element[i]->str, &b) == 0 &&
            (b.until == 0 || b.until > now))
            ban(&b);
    freeReplyObject(rep);
    return load_mutes(r, now, mute);
}

/* 1 if the bans or mutes changed since the last call (on any node), 0
 * if not, -1 on error. */
static int
rs_changed(struct store *st)
{
    struct rs *r = (struct rs *)st;
    char k[300];
    const char *argv[] = { "GET", k };
    redisReply *rep;
    long long v;

    key(r, k, sizeof(k), "banver", NULL);
    if ((rep = cmd(r, 2, argv)) == NULL)
        return -1;
    v = rep->type == REDIS_REPLY_STRING ? atoll(rep->str) : 0;
    freeReplyObject(rep);
    if (v == r->banver)
        return 0;
    r->banver = v;
    return 1;
}

static void
rs_close(struct store *st)
{
    struct rs *r = (struct rs *)st;

    if (r->c != NULL)
        redisFree(r->c);
    explicit_bzero(&r->link.url, sizeof(r->link.url));
    free(r);
}

static const struct store_ops rs_ops = {
    rs_account_get, rs_account_put, rs_ban_add, rs_ban_del, rs_mute_set,
    rs_mute_del, rs_load, rs_close, rs_changed
};

/*
 * Open the store in the Redis at url (redis://...), its keys under
 * prefix.  STORE_OK with *out set, or STORE_UNUSABLE with err saying why
 * (never the password).
 */
int
store_redis_open(const char *url, const char *prefix, struct store **out,
                 char *err, size_t errlen)
{
    struct rs *r = xcalloc(1, sizeof(*r));

    r->st.ops = &rs_ops;
    if (clwire_parse_url(url, &r->link.url) < 0) {
        snprintf(err, errlen, "cluster: not a redis:// URL");
        free(r);
        return STORE_UNUSABLE;
    }
    snprintf(r->link.channel, sizeof(r->link.channel), "%s", prefix);
    if (ctx(r) == NULL || rs_changed(&r->st) < 0) {
        snprintf(err, errlen, "%s", r->st.err);
        rs_close(&r->st);
        return STORE_UNUSABLE;
    }
    *out = &r->st;
    return STORE_OK;
}

#else /* !HAVE_CLUSTER */

int
store_redis_open(const char *url, const char *prefix, struct store **out,
                 char *err, size_t errlen)
{
    (void)url;
    (void)prefix;
    (void)out;
    snprintf(err, errlen, "this chatd was built without the cluster");
    return STORE_UNUSABLE;
}

#endif
