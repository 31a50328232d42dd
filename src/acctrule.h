/*
 * acctrule.h: the pure rules of accounts and abuse control: durations
 * ("10m", "2h", "7d"), address masks with prefixes (IPv4 and IPv6, an
 * IPv4 client on a dual-stack socket counted as IPv4), peer addresses as
 * chatd logs them, passwords' lengths.  No I/O, no locks, no global
 * state: any thread.  Their inputs come from clients: tests/fuzz/
 * fuzz_acct.c.
 */
#ifndef CHATD_ACCTRULE_H
#define CHATD_ACCTRULE_H

#include <stddef.h>
#include <stdint.h>

#define ACCT_PASSWORD_MIN   8       /* bytes */
#define ACCT_PASSWORD_MAX   256     /* bytes */
#define ACCT_DURATION_MAX   (10L * 366 * 86400)     /* ten years, secs */
#define ACCT_MASK_STRMAX    64      /* "ffff:...:ffff/128" and a NUL */
#define ACCT_REASON_MAX     120     /* bytes of a ban's reason */

/* An address and how many of its leading bits count.  IPv4 is kept as
 * IPv4-mapped IPv6 (::ffff:a.b.c.d), its prefix plus 96. */
struct acct_mask {
    uint8_t  addr[16];
    unsigned bits;                  /* 0-128 */
};

int  acct_duration_parse(const char *s, long *secs, const char **why);
void acct_duration_format(long secs, char *out, size_t cap);
int  acct_addr_parse(const char *s, uint8_t out[16]);
int  acct_peer_addr(const char *peer, uint8_t out[16]);
int  acct_mask_parse(const char *s, struct acct_mask *m, const char **why);
int  acct_mask_match(const struct acct_mask *m, const uint8_t addr[16]);
void acct_mask_format(const struct acct_mask *m, char *out, size_t cap);
void acct_mask_host(const uint8_t addr[16], struct acct_mask *m);
int  acct_password_ok(const char *pw, const char **why);

#endif
