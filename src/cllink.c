/*
 * cllink.c: the hiredis link of the cluster (cllink.h): contexts, AUTH,
 * SUBSCRIBE, reading the channel, the command pipeline and the node-name
 * claim.  Touched by one thread at a time (the cluster thread, or the
 * main thread before it starts); no locks, no globals.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "cllink.h"

/*
 * Claim a node name: set KEYS[1] to ARGV[1] (this run) for ARGV[2] ms if
 * it is free or ours already, and return 0; else return 1 + the ms the
 * other run's claim has left (1 + 0 if it has no expiry).
 */
static const char node_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false or v == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 0 end "
    "local t = redis.call('PTTL', KEYS[1]) "
    "if t < 0 then t = 0 end return t + 1";

/* AUTH on c as the URL says (nothing without a password or user). */
static int
authenticate(const struct clwire_url *u, redisContext *c, char *err,
             size_t errlen)
{
    redisReply *r;

    if (u->user[0] == '\0' && u->pass[0] == '\0')
        return 0;
    if (u->user[0] != '\0')
        r = redisCommand(c, "AUTH %s %s", u->user, u->pass);
    else
        r = redisCommand(c, "AUTH %s", u->pass);
    if (r == NULL) {
        snprintf(err, errlen, "AUTH: %s", c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis refused the password (AUTH): %s",
                 r->str);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/*
 * Open one context to l's Redis with the timeouts set and AUTH done.
 * Returns 0 with *out set, or -1 with a message in err (never the
 * password).
 */
int
cllink_connect(const struct cllink *l, redisContext **out, char *err,
               size_t errlen)
{
    struct timeval tv = { CLLINK_TIMEOUT_S, 0 };
    redisContext *c = redisConnectWithTimeout(l->url.host, l->url.port, tv);

    *out = NULL;
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (c->err == 0 && redisSetTimeout(c, tv) != REDIS_OK)
        snprintf(c->errstr, sizeof(c->errstr), "cannot set timeout");
    if (c->err == 0)
        redisEnableKeepAlive(c);
    if (c->err != 0) {
        snprintf(err, errlen, "%s", c->errstr);
        redisFree(c);
        return -1;
    }
    if (authenticate(&l->url, c, err, errlen) < 0) {
        redisFree(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* Open both contexts and send SUBSCRIBE (its answer comes through
 * cllink_read()).  0, or -1 with err set and nothing left open. */
int
cllink_open(struct cllink *l, char *err, size_t errlen)
{
    int done = 0;

    if (cllink_connect(l, &l->pub, err, errlen) < 0 ||
        cllink_connect(l, &l->sub, err, errlen) < 0) {
        cllink_close(l);
        return -1;
    }
    if (redisAppendCommand(l->sub, "SUBSCRIBE %b %b", l->channel,
                           strlen(l->channel), l->rooms,
                           strlen(l->rooms)) != REDIS_OK)
        done = -1;
    while (done == 0)
        if (redisBufferWrite(l->sub, &done) != REDIS_OK)
            done = -1;
    if (done < 0) {
        snprintf(err, errlen, "%s", l->sub->errstr);
        cllink_close(l);
        return -1;
    }
    return 0;
}

/*
 * SUBSCRIBE (on) or UNSUBSCRIBE channel on the subscriber, written now;
 * its answer comes through cllink_read().  0, or -1 with err set (the
 * link is broken).
 */
int
cllink_subscribe(struct cllink *l, const char *channel, int on, char *err,
                 size_t errlen)
{
    int done = 0;

    if (redisAppendCommand(l->sub, on ? "SUBSCRIBE %b" : "UNSUBSCRIBE %b",
                           channel, strlen(channel)) != REDIS_OK)
        done = -1;
    while (done == 0)
        if (redisBufferWrite(l->sub, &done) != REDIS_OK)
            done = -1;
    if (done < 0) {
        snprintf(err, errlen, "%s", l->sub->errstr);
        return -1;
    }
    return 0;
}

void
cllink_close(struct cllink *l)
{
    if (l->pub)
        redisFree(l->pub);
    if (l->sub)
        redisFree(l->sub);
    l->pub = l->sub = NULL;
}

/* The subscriber's socket to poll, or -1 when closed. */
int
cllink_fd(const struct cllink *l)
{
    return l->sub != NULL ? l->sub->fd : -1;
}

/* What went wrong on the command context. */
const char *
cllink_error(const struct cllink *l)
{
    return l->pub != NULL ? l->pub->errstr : "not connected";
}

/* One reply on the subscriber: a message, or a (un)subscription. */
static void
on_reply(redisReply *r, cllink_message_fn *fn, void *arg)
{
    const char *what, *chan;

    if (r->type == REDIS_REPLY_ERROR) {
        fn(arg, CLLINK_REFUSED, NULL, r->str, r->len);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    what = r->element[0]->str;
    chan = r->element[1]->str;
    if (strcmp(what, "message") == 0 &&
        r->element[2]->type == REDIS_REPLY_STRING)
        fn(arg, CLLINK_MESSAGE, chan, r->element[2]->str,
           r->element[2]->len);
    else if (strcmp(what, "subscribe") == 0)
        fn(arg, CLLINK_SUBSCRIBED, chan, NULL, 0);
    else if (strcmp(what, "unsubscribe") == 0)
        fn(arg, CLLINK_UNSUBSCRIBED, chan, NULL, 0);
}

/*
 * The subscriber's socket is readable: read it and call fn for every
 * complete reply.  0, or -1 with err set (the link is broken).
 */
int
cllink_read(struct cllink *l, cllink_message_fn *fn, void *arg, char *err,
            size_t errlen)
{
    void *r;

    if (redisBufferRead(l->sub) != REDIS_OK) {
        snprintf(err, errlen, "%s", l->sub->errstr);
        return -1;
    }
    for (;;) {
        if (redisGetReplyFromReader(l->sub, &r) != REDIS_OK) {
            snprintf(err, errlen, "%s", l->sub->errstr);
            return -1;
        }
        if (r == NULL)
            return 0;
        on_reply(r, fn, arg);
        freeReplyObject(r);
    }
}

/* Pipeline: append a command (0, or -1 on a context error). */
int
cllink_publish(struct cllink *l, const char *data, size_t len)
{
    return redisAppendCommand(l->pub, "PUBLISH %b %b", l->channel,
                              strlen(l->channel), data, len) == REDIS_OK
           ? 0 : -1;
}

/* Pipeline: PUBLISH on another channel (0, or -1 on a context error). */
int
cllink_publish_to(struct cllink *l, const char *channel, const char *data,
                  size_t len)
{
    return redisAppendCommand(l->pub, "PUBLISH %b %b", channel,
                              strlen(channel), data, len) == REDIS_OK
           ? 0 : -1;
}

int
cllink_eval(struct cllink *l, const char *script, const char *key,
            const char *arg1, const char *arg2)
{
    return redisAppendCommand(l->pub, "EVAL %s 1 %s %s %s", script, key,
                              arg1, arg2) == REDIS_OK ? 0 : -1;
}

/* Pipeline: the next reply, in order.  0, or -1 on a context error. */
int
cllink_reply(struct cllink *l, struct cllink_reply *out)
{
    redisReply *r;

    memset(out, 0, sizeof(*out));
    if (redisGetReply(l->pub, (void **)&r) != REDIS_OK)
        return -1;
    if (r->type == REDIS_REPLY_INTEGER) {
        out->integer_ok = 1;
        out->integer = r->integer;
    } else {
        snprintf(out->err, sizeof(out->err), "%s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "(not a number)");
    }
    freeReplyObject(r);
    return 0;
}

/* Pipeline: append the node-name claim (see node_lua); its reply is 0
 * while the name is ours. */
int
cllink_append_claim_node(struct cllink *l, const char *key, uint64_t run,
                         long ttl_ms)
{
    char runs[24], ttls[24];

    snprintf(runs, sizeof(runs), "%llx", (unsigned long long)run);
    snprintf(ttls, sizeof(ttls), "%ld", ttl_ms);
    return cllink_eval(l, node_lua, key, runs, ttls);
}

/* INCRBY key n on c, now: the new value, or -1 with err set. */
long long
cllink_incrby_now(redisContext *c, const char *key, long long n, char *err,
                  size_t errlen)
{
    redisReply *r = redisCommand(c, "INCRBY %s %lld", key, n);
    long long v = -1;

    if (r == NULL) {
        snprintf(err, errlen, "%s", c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else
        snprintf(err, errlen, "INCRBY %s: %s", key,
                 r->type == REDIS_REPLY_ERROR ? r->str : "not a number");
    freeReplyObject(r);
    return v;
}

void
cllink_free_context(redisContext *c)
{
    if (c != NULL)
        redisFree(c);
}

/*
 * Claim the node-name key `key` for `run` for ttl_ms, now (blocking, on a
 * context with no pipeline pending).  Returns 0 if it is ours, 1 + the ms
 * left of another run's claim, or -1 with err set.
 */
long long
cllink_claim_node(redisContext *c, const char *key, uint64_t run,
                  long ttl_ms, char *err, size_t errlen)
{
    char runs[24], ttls[24];
    redisReply *r;
    long long v = -1;

    snprintf(runs, sizeof(runs), "%llx", (unsigned long long)run);
    snprintf(ttls, sizeof(ttls), "%ld", ttl_ms);
    r = redisCommand(c, "EVAL %s 1 %s %s %s", node_lua, key, runs, ttls);
    if (r == NULL) {
        snprintf(err, errlen, "%s", c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0)
        v = r->integer;
    else
        snprintf(err, errlen, "unexpected reply to the node-name claim: "
                 "%s", r->type == REDIS_REPLY_ERROR ? r->str : "?");
    freeReplyObject(r);
    return v;
}
