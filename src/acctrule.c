/*
 * acctrule.c: the pure rules of accounts and abuse control (see
 * acctrule.h).  No I/O, no locks, no global state: any thread.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "acctrule.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0xff, 0xff };

/*
 * Parse a duration: a whole number of s(econds), m(inutes), h(ours),
 * d(ays) or w(eeks), such as "10m", "2h", "7d"; a bare number is
 * minutes.  From 1 second to ACCT_DURATION_MAX.  Returns 0 with *secs
 * set, or -1 with *why saying what is wrong.
 */
int
acct_duration_parse(const char *s, long *secs, const char **why)
{
    static const char bad[] = "a duration is a number and s, m, h, d or "
                              "w, such as 10m, 2h or 7d";
    long v = 0, unit;
    size_t i = 0;

    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > ACCT_DURATION_MAX) {
            *why = "duration too long (at most ten years)";
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0 || (s[i] != '\0' && s[i + 1] != '\0')) {
        *why = bad;
        return -1;
    }
    switch (s[i]) {
    case 's': unit = 1; break;
    case '\0':
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: *why = bad; return -1;
    }
    if (v == 0) {
        *why = "a duration must be more than 0";
        return -1;
    }
    if (v > ACCT_DURATION_MAX / unit) {
        *why = "duration too long (at most ten years)";
        return -1;
    }
    *secs = v * unit;
    return 0;
}

/* Write secs as the largest unit that divides it ("2h", "90s"). */
void
acct_duration_format(long secs, char *out, size_t cap)
{
    static const struct { long n; char c; } units[] = {
        { 7 * 86400, 'w' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (secs >= units[i].n && secs % units[i].n == 0) {
            snprintf(out, cap, "%ld%c", secs / units[i].n, units[i].c);
            return;
        }
    snprintf(out, cap, "%lds", secs);
}

/*
 * Parse an IPv4 (dotted quad) or IPv6 address into 16 bytes (IPv4 as
 * IPv4-mapped).  Returns 0, or -1 if s is neither.
 */
int
acct_addr_parse(const char *s, uint8_t out[16])
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strchr(s, ':') == NULL) {
        if (inet_pton(AF_INET, s, &a4) != 1)
            return -1;
        memcpy(out, v4_mapped, 12);
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a6) != 1)
        return -1;
    memcpy(out, &a6, 16);
    return 0;
}

/*
 * The address of a peer as net_addr_string() writes it: "1.2.3.4:port"
 * or "[::1]:port".  Returns 0, or -1 for anything else ("(unknown)").
 */
int
acct_peer_addr(const char *peer, uint8_t out[16])
{
    char host[64];
    const char *end;
    size_t n;

    if (peer[0] == '[') {
        end = strchr(peer, ']');
        if (end == NULL)
            return -1;
        peer++;
    } else {
        end = strrchr(peer, ':');
        if (end == NULL)
            end = peer + strlen(peer);
    }
    n = (size_t)(end - peer);
    if (n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, peer, n);
    host[n] = '\0';
    return acct_addr_parse(host, out);
}

/* Zero the bits of addr past the first bits. */
static void
mask_bits(uint8_t addr[16], unsigned bits)
{
    for (unsigned i = 0; i < 16; i++) {
        if (bits >= 8) {
            bits -= 8;
            continue;
        }
        addr[i] &= (uint8_t)(0xff00u >> bits);
        bits = 0;
    }
}

/* Parse the prefix length after '/': 0 to max.  -1 if it is none. */
static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    if (i == 0 || s[i] != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/*
 * Parse "ADDRESS" or "ADDRESS/PREFIX" (IPv4 /0-32, IPv6 /0-128; no
 * prefix: the one address) into m, the bits past the prefix cleared.
 * Returns 0, or -1 with *why saying what is wrong.
 */
int
acct_mask_parse(const char *s, struct acct_mask *m, const char **why)
{
    char host[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    unsigned bits;
    int v4;

    if (n == 0 || n >= sizeof(host)) {
        *why = "not an address: IPv4 or IPv6, with an optional /PREFIX";
        return -1;
    }
    memcpy(host, s, n);
    host[n] = '\0';
    if (acct_addr_parse(host, m->addr) < 0) {
        *why = "not an address: IPv4 or IPv6, with an optional /PREFIX";
        return -1;
    }
    v4 = strchr(host, ':') == NULL;
    bits = v4 ? 32 : 128;
    if (slash && parse_prefix(slash + 1, bits, &bits) < 0) {
        *why = v4 ? "an IPv4 prefix is /0 to /32"
                  : "an IPv6 prefix is /0 to /128";
        return -1;
    }
    m->bits = v4 ? bits + 96 : bits;
    mask_bits(m->addr, m->bits);
    return 0;
}

/* The mask of exactly one address. */
void
acct_mask_host(const uint8_t addr[16], struct acct_mask *m)
{
    memcpy(m->addr, addr, 16);
    m->bits = 128;
}

/* 1 if addr is within m, else 0. */
int
acct_mask_match(const struct acct_mask *m, const uint8_t addr[16])
{
    uint8_t a[16];

    memcpy(a, addr, 16);
    mask_bits(a, m->bits);
    return memcmp(a, m->addr, 16) == 0;
}

/* Write m as acct_mask_parse() reads it; the prefix only when it is not
 * the whole address ("10.0.0.0/8", "2001:db8::/32", "::1"). */
void
acct_mask_format(const struct acct_mask *m, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    int v4 = memcmp(m->addr, v4_mapped, 12) == 0 && m->bits >= 96;
    unsigned bits = v4 ? m->bits - 96 : m->bits;

    if (v4)
        inet_ntop(AF_INET, m->addr + 12, host, sizeof(host));
    else
        inet_ntop(AF_INET6, m->addr, host, sizeof(host));
    if (bits == (v4 ? 32u : 128u))
        snprintf(out, cap, "%s", host);
    else
        snprintf(out, cap, "%s/%u", host, bits);
}

/* 1 if pw is a password chatd accepts (its length), else 0 and *why. */
int
acct_password_ok(const char *pw, const char **why)
{
    size_t n = strnlen(pw, ACCT_PASSWORD_MAX + 1);

    if (n < ACCT_PASSWORD_MIN) {
        *why = "a password is at least 8 bytes";
        return 0;
    }
    if (n > ACCT_PASSWORD_MAX) {
        *why = "a password is at most 256 bytes";
        return 0;
    }
    return 1;
}
