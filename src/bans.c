/*
 * bans.c: the bans and mutes in force (see bans.h).  Two arrays under
 * one rwlock: the store thread writes, everyone reads.  Expired entries
 * stay until the next change and simply no longer match.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bans.h"
#include "xmalloc.h"

static struct {
    pthread_rwlock_t lock;
    struct ban      *v;             /* lock */
    size_t           n, cap;        /* lock */
    struct mute     *m;             /* lock */
    size_t           nm, capm;      /* lock */
} bans = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static int
live(int64_t until, int64_t now)
{
    return until == 0 || until > now;
}

/* Forget every ban and mute (a fresh load, or the end). */
void
bans_clear(void)
{
    pthread_rwlock_wrlock(&bans.lock);
    free(bans.v);
    free(bans.m);
    bans.v = NULL;
    bans.m = NULL;
    bans.n = bans.cap = bans.nm = bans.capm = 0;
    pthread_rwlock_unlock(&bans.lock);
}

/* Replace every ban and mute by v (n) and m (nm), given away (from
 * xmalloc()): the bans loaded again, with no moment without any. */
void
bans_replace(struct ban *v, size_t n, struct mute *m, size_t nm)
{
    struct ban *oldv;
    struct mute *oldm;

    pthread_rwlock_wrlock(&bans.lock);
    oldv = bans.v;
    oldm = bans.m;
    bans.v = v;
    bans.n = bans.cap = n;
    bans.m = m;
    bans.nm = bans.capm = nm;
    pthread_rwlock_unlock(&bans.lock);
    free(oldv);
    free(oldm);
}

/* Add b (copied). */
void
bans_add(const struct ban *b)
{
    pthread_rwlock_wrlock(&bans.lock);
    if (bans.n == bans.cap) {
        bans.cap = bans.cap ? bans.cap * 2 : 16;
        bans.v = xrealloc(bans.v, bans.cap * sizeof(*bans.v));
    }
    bans.v[bans.n++] = *b;
    pthread_rwlock_unlock(&bans.lock);
}

/* Remove the ban numbered id; returns how many went (0 or 1). */
size_t
bans_remove(int64_t id)
{
    size_t o = 0, n;

    pthread_rwlock_wrlock(&bans.lock);
    for (size_t i = 0; i < bans.n; i++)
        if (bans.v[i].id != id)
            bans.v[o++] = bans.v[i];
    n = bans.n - o;
    bans.n = o;
    pthread_rwlock_unlock(&bans.lock);
    return n;
}

/* Mute m->name until m->until (replacing a mute of that name). */
void
mutes_set(const struct mute *m)
{
    pthread_rwlock_wrlock(&bans.lock);
    for (size_t i = 0; i < bans.nm; i++)
        if (strcmp(bans.m[i].name, m->name) == 0) {
            bans.m[i] = *m;
            pthread_rwlock_unlock(&bans.lock);
            return;
        }
    if (bans.nm == bans.capm) {
        bans.capm = bans.capm ? bans.capm * 2 : 16;
        bans.m = xrealloc(bans.m, bans.capm * sizeof(*bans.m));
    }
    bans.m[bans.nm++] = *m;
    pthread_rwlock_unlock(&bans.lock);
}

/* Unmute name (folded); 1 if it was muted, else 0. */
int
mutes_remove(const char *name)
{
    int found = 0;

    pthread_rwlock_wrlock(&bans.lock);
    for (size_t i = 0; i < bans.nm; i++)
        if (strcmp(bans.m[i].name, name) == 0) {
            bans.m[i] = bans.m[--bans.nm];
            found = 1;
            break;
        }
    pthread_rwlock_unlock(&bans.lock);
    return found;
}

/* 1 with *out set if a ban in force at now covers addr, else 0. */
int
bans_match_addr(const uint8_t addr[16], int64_t now, struct ban *out)
{
    int hit = 0;

    pthread_rwlock_rdlock(&bans.lock);
    for (size_t i = 0; i < bans.n && !hit; i++)
        if (bans.v[i].has_mask && live(bans.v[i].until, now) &&
            acct_mask_match(&bans.v[i].mask, addr)) {
            *out = bans.v[i];
            hit = 1;
        }
    pthread_rwlock_unlock(&bans.lock);
    return hit;
}

/* The same for a peer as net_addr_string() writes it. */
int
bans_match_peer(const char *peer, int64_t now, struct ban *out)
{
    uint8_t a[16];

    return acct_peer_addr(peer, a) == 0 && bans_match_addr(a, now, out);
}

/* 1 with *out set if a ban in force at now names nick, else 0. */
int
bans_match_name(const char *nick, int64_t now, struct ban *out)
{
    char fold[PROTO_NICK_MAX + 1];
    int hit = 0;

    proto_nick_fold(nick, fold);
    pthread_rwlock_rdlock(&bans.lock);
    for (size_t i = 0; i < bans.n && !hit; i++)
        if (bans.v[i].name[0] != '\0' && live(bans.v[i].until, now) &&
            strcmp(bans.v[i].name, fold) == 0) {
            *out = bans.v[i];
            hit = 1;
        }
    pthread_rwlock_unlock(&bans.lock);
    return hit;
}

/*
 * The ban an operator names for /unban: by its name (a nick) or its
 * address mask as /bans shows it.  1 with *out set, or 0.
 */
int
bans_find(const char *target, struct ban *out)
{
    char fold[PROTO_NICK_MAX + 1];
    struct acct_mask m;
    const char *why;
    int hit = 0, is_mask = acct_mask_parse(target, &m, &why) == 0;

    proto_nick_fold(target, fold);
    pthread_rwlock_rdlock(&bans.lock);
    for (size_t i = 0; i < bans.n && !hit; i++) {
        const struct ban *b = &bans.v[i];
        if (is_mask && b->has_mask) {
            hit = b->mask.bits == m.bits &&
                  memcmp(b->mask.addr, m.addr, 16) == 0;
        } else if (!is_mask && b->name[0] != '\0') {
            hit = strcmp(b->name, fold) == 0;
        }
        if (hit)
            *out = *b;
    }
    pthread_rwlock_unlock(&bans.lock);
    return hit;
}

/* Copy up to max bans in force at now into out; returns how many. */
size_t
bans_list(struct ban *out, size_t max, int64_t now)
{
    size_t n = 0;

    pthread_rwlock_rdlock(&bans.lock);
    for (size_t i = 0; i < bans.n && n < max; i++)
        if (live(bans.v[i].until, now))
            out[n++] = bans.v[i];
    pthread_rwlock_unlock(&bans.lock);
    return n;
}

/* 1 with *until set if nick is muted at now, else 0. */
int
mutes_check(const char *nick, int64_t now, int64_t *until)
{
    char fold[PROTO_NICK_MAX + 1];
    int hit = 0;

    proto_nick_fold(nick, fold);
    pthread_rwlock_rdlock(&bans.lock);
    for (size_t i = 0; i < bans.nm && !hit; i++)
        if (strcmp(bans.m[i].name, fold) == 0 &&
            live(bans.m[i].until, now)) {
            *until = bans.m[i].until;
            hit = 1;
        }
    pthread_rwlock_unlock(&bans.lock);
    return hit;
}

/* What a ban covers, for /bans and the banned: "bob", "10.0.0.0/8",
 * "bob 192.0.2.7". */
void
ban_describe(const struct ban *b, char *out, size_t cap)
{
    char mask[ACCT_MASK_STRMAX] = "";

    if (b->has_mask)
        acct_mask_format(&b->mask, mask, sizeof(mask));
    snprintf(out, cap, "%s%s%s", b->name, b->name[0] && mask[0] ? " " : "",
             mask);
}
