/*
 * addrmask.h: the pure parts of the per-address limits (addrlimit.c):
 * the exempt list (addresses and prefixes), the connect-rate value, the
 * bucket a client's address counts in (an IPv4 address, or the /64 of an
 * IPv6 one; an IPv4-mapped IPv6 address counts as its IPv4 address), and
 * the token bucket of connect-rate.  No I/O, no locks, no threads of its
 * own: any thread, on data it owns.
 */
#ifndef CHATD_ADDRMASK_H
#define CHATD_ADDRMASK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDRMASK_LIST_MAX 64        /* entries of an exempt list */
#define ADDRMASK_RATE_MAX 1000000   /* most connections of a rate */

/* The bucket an address counts in: 4 bytes of IPv4, or 8 of IPv6. */
struct addr_key {
    unsigned char   b[8];
    unsigned char   v6;
};

struct addr_prefix {
    unsigned char   b[16];          /* IPv4 in the first 4 */
    unsigned char   v6;
    unsigned char   bits;
};

struct addr_list {
    struct addr_prefix v[ADDRMASK_LIST_MAX];
    int             n;              /* 0: exempt = none */
};

/* connect-rate: at most count connections at once, and count more every
 * per_ms; count 0 is none (no limit). */
struct addr_rate {
    long            count;
    long            per_ms;
};

/* A token bucket for one address under an addr_rate. */
struct addr_tokens {
    double          tokens;
    int64_t         last_ms;
};

int  addrmask_parse_list(const char *text, struct addr_list *out,
                         char *err, size_t errlen);
int  addrmask_parse_rate(const char *text, struct addr_rate *out,
                         char *err, size_t errlen);
int  addrmask_format_rate(const struct addr_rate *r, char *out, size_t len);
int  addrmask_normalize(const struct sockaddr *sa, unsigned char a[16],
                        int *v6);
void addrmask_key(const unsigned char a[16], int v6, struct addr_key *k);
int  addrmask_match(const struct addr_list *l, const unsigned char a[16],
                    int v6);
uint32_t addrmask_hash(const struct addr_key *k);
void addrmask_tokens_init(struct addr_tokens *t, const struct addr_rate *r,
                          int64_t now_ms);
int  addrmask_take(struct addr_tokens *t, const struct addr_rate *r,
                   int64_t now_ms);
int  addrmask_full(const struct addr_tokens *t, const struct addr_rate *r,
                   int64_t now_ms);

#endif
