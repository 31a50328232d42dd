/*
 * addrmask.c: exempt lists, connect-rate values, address buckets and
 * token buckets for the per-address limits (see addrmask.h).  Pure: no
 * I/O, no locks; the caller owns every structure it passes.
 *
 * The exempt syntax: addresses and prefixes separated by blanks, such as
 * "127.0.0.0/8 ::1 2001:db8::/32", or the word "none".  A prefix must
 * have no bit set past its length ("10.0.0.1/8" is refused: it is most
 * likely a typing error for 10.0.0.0/8 or 10.0.0.1).  An IPv4-mapped
 * IPv6 address or prefix of /96 or longer is stored as IPv4, as the
 * addresses it is compared with are.
 *
 * The connect-rate syntax: "none", or COUNT/UNIT with UNIT one of s, min
 * or h, such as "30/min": at most COUNT new connections at once from one
 * address, and COUNT more per UNIT after that (a token bucket of COUNT
 * tokens refilled evenly: 30/min lets one more in every 2 seconds).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrmask.h"

static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0xff, 0xff };

/* Are bits past the first `bits` of a (len bytes) all zero? */
static int
clean_past(const unsigned char *a, size_t len, unsigned bits)
{
    for (size_t i = 0; i < len; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 :
                        bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        unsigned char mask = keep == 8 ? 0xff :
                             (unsigned char)(0xff00u >> keep);
        if (a[i] & (unsigned char)~mask)
            return 0;
    }
    return 1;
}

/* Parse the prefix length after '/'; -1 if it is not 0..max. */
static int
parse_bits(const char *s, int max)
{
    char *end;
    long v;

    if (s[0] < '0' || s[0] > '9' || strlen(s) > 3)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return (errno || *end || v > max) ? -1 : (int)v;
}

/* Parse one entry (NUL-terminated) into p; NULL, or what is wrong. */
static const char *
parse_entry(char *tok, struct addr_prefix *p)
{
    char *slash = strchr(tok, '/');
    int bits;

    memset(p, 0, sizeof(*p));
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, tok, p->b) == 1) {
        bits = slash ? parse_bits(slash + 1, 32) : 32;
        if (bits < 0)
            return "a prefix length of IPv4 is 0 to 32";
    } else if (inet_pton(AF_INET6, tok, p->b) == 1) {
        bits = slash ? parse_bits(slash + 1, 128) : 128;
        if (bits < 0)
            return "a prefix length of IPv6 is 0 to 128";
        p->v6 = 1;
    } else {
        return "not an IPv4 or IPv6 address, with an optional /PREFIX";
    }
    if (!clean_past(p->b, p->v6 ? 16 : 4, (unsigned)bits))
        return "bits are set past the prefix length";
    if (p->v6 && bits >= 96 && memcmp(p->b, mapped, 12) == 0) {
        memmove(p->b, p->b + 12, 4);
        memset(p->b + 4, 0, 12);
        p->v6 = 0;
        bits -= 96;
    }
    p->bits = (unsigned char)bits;
    return NULL;
}

/*
 * Parse an exempt list (see the top of the file) into out.  Returns 0,
 * or -1 with err naming the entry and what is wrong with it.
 */
int
addrmask_parse_list(const char *text, struct addr_list *out, char *err,
                    size_t errlen)
{
    char tok[INET6_ADDRSTRLEN + 8];
    const char *why;

    memset(out, 0, sizeof(*out));
    text += strspn(text, " \t");
    if (strncmp(text, "none", 4) == 0 && text[4 + strspn(text + 4,
                                                         " \t")] == '\0')
        return 0;
    if (*text == '\0') {
        snprintf(err, errlen, "empty: give addresses and prefixes, or "
                 "none");
        return -1;
    }
    while (*text != '\0') {
        size_t n = strcspn(text, " \t");
        if (n >= sizeof(tok)) {
            snprintf(err, errlen, "'%.*s...': too long for an address",
                     20, text);
            return -1;
        }
        memcpy(tok, text, n);
        tok[n] = '\0';
        if (out->n == ADDRMASK_LIST_MAX) {
            snprintf(err, errlen, "more than %d entries", ADDRMASK_LIST_MAX);
            return -1;
        }
        if ((why = parse_entry(tok, &out->v[out->n])) != NULL) {
            snprintf(err, errlen, "'%.*s': %s", (int)n, text, why);
            return -1;
        }
        out->n++;
        text += n;
        text += strspn(text, " \t");
    }
    return 0;
}

/*
 * Parse a connect-rate value (see the top of the file) into out.
 * Returns 0, or -1 with err saying what is accepted.
 */
int
addrmask_parse_rate(const char *text, struct addr_rate *out, char *err,
                    size_t errlen)
{
    static const struct { const char *name; long ms; } units[] = {
        { "s", 1000 }, { "min", 60000 }, { "h", 3600000 }, { NULL, 0 }
    };
    char *end;
    long v;

    memset(out, 0, sizeof(*out));
    if (strcmp(text, "none") == 0)
        return 0;
    errno = 0;
    v = (text[0] >= '0' && text[0] <= '9') ? strtol(text, &end, 10) : -1;
    if (v < 1 || errno || v > ADDRMASK_RATE_MAX || *end != '/')
        goto bad;
    for (int i = 0; units[i].name; i++)
        if (strcmp(end + 1, units[i].name) == 0) {
            out->count = v;
            out->per_ms = units[i].ms;
            return 0;
        }
bad:
    snprintf(err, errlen, "not none or COUNT/UNIT, COUNT from 1 to %d and "
             "UNIT s, min or h, such as 30/min", ADDRMASK_RATE_MAX);
    return -1;
}

/* Write r as its value is spelt ("30/min", "none"); what snprintf()
 * returns. */
int
addrmask_format_rate(const struct addr_rate *r, char *out, size_t len)
{
    if (r->count == 0)
        return snprintf(out, len, "none");
    return snprintf(out, len, "%ld/%s", r->count,
                    r->per_ms == 1000 ? "s" : r->per_ms == 60000 ? "min" :
                    "h");
}

/*
 * The address of sa in a (16 bytes; IPv4 in the first 4) and *v6.  An
 * IPv4-mapped IPv6 address becomes its IPv4 address.  Returns 0, or -1
 * for a family that is neither.
 */
int
addrmask_normalize(const struct sockaddr *sa, unsigned char a[16], int *v6)
{
    memset(a, 0, 16);
    if (sa->sa_family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        *v6 = 0;
        return 0;
    }
    if (sa->sa_family != AF_INET6)
        return -1;
    memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    *v6 = 1;
    if (memcmp(a, mapped, 12) == 0) {
        memmove(a, a + 12, 4);
        memset(a + 4, 0, 12);
        *v6 = 0;
    }
    return 0;
}

/* The bucket address a (normalized) counts in: itself, or its /64. */
void
addrmask_key(const unsigned char a[16], int v6, struct addr_key *k)
{
    memset(k, 0, sizeof(*k));
    memcpy(k->b, a, v6 ? 8 : 4);
    k->v6 = (unsigned char)(v6 != 0);
}

/* Is a (normalized) in one of l's prefixes? */
int
addrmask_match(const struct addr_list *l, const unsigned char a[16], int v6)
{
    for (int i = 0; i < l->n; i++) {
        const struct addr_prefix *p = &l->v[i];
        unsigned full = p->bits / 8u, rest = p->bits % 8u;
        if (p->v6 != (v6 != 0) || memcmp(p->b, a, full) != 0)
            continue;
        if (rest == 0 ||
            ((p->b[full] ^ a[full]) & (unsigned char)(0xff00u >> rest)) == 0)
            return 1;
    }
    return 0;
}

/* A hash of k (FNV-1a). */
uint32_t
addrmask_hash(const struct addr_key *k)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < sizeof(k->b); i++)
        h = (h ^ k->b[i]) * 16777619u;
    return (h ^ k->v6) * 16777619u;
}

/* A full bucket at now_ms. */
void
addrmask_tokens_init(struct addr_tokens *t, const struct addr_rate *r,
                     int64_t now_ms)
{
    t->tokens = (double)r->count;
    t->last_ms = now_ms;
}

static void
refill(struct addr_tokens *t, const struct addr_rate *r, int64_t now_ms)
{
    if (now_ms > t->last_ms) {
        t->tokens += (double)(now_ms - t->last_ms) * (double)r->count /
                     (double)r->per_ms;
        if (t->tokens > (double)r->count)
            t->tokens = (double)r->count;
    }
    t->last_ms = now_ms;
}

/* Take a token for one more connection: 1 if there was one, else 0 (and
 * nothing is taken).  Always 1 for a rate of none. */
int
addrmask_take(struct addr_tokens *t, const struct addr_rate *r,
              int64_t now_ms)
{
    if (r->count == 0)
        return 1;
    refill(t, r, now_ms);
    if (t->tokens < 1.0)
        return 0;
    t->tokens -= 1.0;
    return 1;
}

/* Would t be full at now_ms (so forgetting it loses nothing)? */
int
addrmask_full(const struct addr_tokens *t, const struct addr_rate *r,
              int64_t now_ms)
{
    struct addr_tokens u = *t;

    if (r->count == 0)
        return 1;
    refill(&u, r, now_ms);
    return u.tokens >= (double)r->count;
}
