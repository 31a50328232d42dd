/*
 * fuzz_acct.c: libFuzzer harness for what operators and users type that
 * accounts parse (acctrule.c, bans.c): durations, address masks, peers,
 * passwords, and the lines of the account commands (proto.c).
 *
 * The input is split at its first NUL or newline into fields.  Checked:
 *
 *   - no crash, leak or sanitizer report;
 *   - a duration that parses is 1 s to ten years and formats back to
 *     text that parses to the same number of seconds;
 *   - a mask that parses formats to text that parses to the same mask,
 *     matches its own address, and has at most 128 bits;
 *   - a refusal always says why (a non-empty message);
 *   - a parsed /login or /register never quotes its line in an error.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctrule.h"
#include "bans.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_acct: %s: \"%s\"\n", what, detail);
    abort();
}

static void
check_duration(const char *s)
{
    const char *why = NULL;
    char back[32];
    long v, w;

    if (acct_duration_parse(s, &v, &why) < 0) {
        if (why == NULL || why[0] == '\0')
            fail("duration refused without a reason", s);
        return;
    }
    if (v < 1 || v > ACCT_DURATION_MAX)
        fail("duration out of range", s);
    acct_duration_format(v, back, sizeof(back));
    if (acct_duration_parse(back, &w, &why) < 0 || w != v)
        fail("duration does not round-trip", s);
}

static void
check_mask(const char *s)
{
    struct acct_mask m, m2;
    const char *why = NULL;
    char back[ACCT_MASK_STRMAX];
    struct ban b = { .has_mask = 1 }, out;

    if (acct_mask_parse(s, &m, &why) < 0) {
        if (why == NULL || why[0] == '\0')
            fail("mask refused without a reason", s);
        return;
    }
    if (m.bits > 128)
        fail("mask of more than 128 bits", s);
    if (!acct_mask_match(&m, m.addr))
        fail("mask does not match its own address", s);
    acct_mask_format(&m, back, sizeof(back));
    if (acct_mask_parse(back, &m2, &why) < 0 || m2.bits != m.bits ||
        memcmp(m2.addr, m.addr, 16) != 0)
        fail("mask does not round-trip", s);
    b.mask = m;
    bans_clear();
    bans_add(&b);
    if (!bans_match_addr(m.addr, 0, &out))
        fail("ban does not cover its own address", s);
    if (!bans_find(back, &out))
        fail("ban not found by its own text", s);
    bans_clear();
}

static void
check_line(const char *s)
{
    struct proto_cmd cmd;
    char *line = strdup(s);

    if (line == NULL)
        abort();
    proto_parse(line, &cmd);
    if (cmd.type == PROTO_BAD && (cmd.text == NULL || cmd.text[0] == '\0'))
        fail("refused line without a reason", s);
    if (cmd.type == PROTO_BAD && cmd.text >= line &&
        cmd.text < line + strlen(s) + 1)
        fail("error text points into the line", s);
    if ((cmd.type == PROTO_LOGIN || cmd.type == PROTO_REGISTER ||
         cmd.type == PROTO_PASSWORD) && strpbrk(cmd.text, " \t"))
        fail("password with a blank", s);
    free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    const char *why;
    uint8_t a[16];

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    s[strcspn(s, "\n")] = '\0';
    check_duration(s);
    check_mask(s);
    (void)acct_peer_addr(s, a);
    (void)acct_password_ok(s, &why);
    check_line(s);
    free(s);
    return 0;
}
