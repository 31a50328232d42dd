/*
 * fuzz_config.c: libFuzzer harness for chatd's configuration parsing.
 *
 * The input is a configuration file's text, parsed by the real parser,
 * conffile_parse() (which hands each value to settings_set()).  Checked:
 *
 *   - no crash, leak or sanitizer report;
 *   - on success every setting is within its key's bounds;
 *   - on failure the error message is a non-empty, NUL-terminated
 *     string that fits its buffer and names the file;
 *   - settings_parse_size() accepts exactly DIGITS[KMG] without overflow
 *     and returns the value a reference computation gives.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "settings.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: %s: \"%s\"\n", what, detail);
    abort();
}

/* The reference for settings_parse_size(): -1, or 0 and *out. */
static int
ref_size(const char *v, long *out)
{
    long x = 0, mult = 1;
    size_t i = 0;

    if (v[0] < '0' || v[0] > '9')
        return -1;
    for (; v[i] >= '0' && v[i] <= '9'; i++)
        if (__builtin_mul_overflow(x, 10, &x) ||
            __builtin_add_overflow(x, v[i] - '0', &x))
            return -1;
    switch (v[i]) {
    case 'k': case 'K': mult = 1L << 10; i++; break;
    case 'm': case 'M': mult = 1L << 20; i++; break;
    case 'g': case 'G': mult = 1L << 30; i++; break;
    default: break;
    }
    if (v[i] != '\0' || __builtin_mul_overflow(x, mult, &x))
        return -1;
    *out = x;
    return 0;
}

/* Every setting within the bounds its key declares. */
static void
check_bounds(const struct settings *s)
{
    const char *base = (const char *)s;

    for (const struct settings_key *k = settings_keys; k->name; k++) {
        long v;
        if (k->type != SET_INT && k->type != SET_SIZE)
            continue;
        if (k->offset == offsetof(struct settings, port) ||
            k->offset == offsetof(struct settings, workers))
            v = *(const int *)(base + k->offset);
        else
            v = *(const long *)(base + k->offset);
        if (v < k->min || v > k->max)
            fail("setting out of bounds", k->name);
    }
    if (s->nbind < 0 || s->nbind > CHATD_BIND_MAX)
        fail("too many bind addresses", "bind");
}

static void
check_err(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);

    if (n == 0 || n == errlen)
        fail("error message empty or unterminated", "");
    if (strncmp(err, "fuzz.conf:", 10) != 0)
        fail("error message does not name the file", err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct settings s;
    char err[256];
    char *buf = xmalloc(size + 1);
    long a, b;

    memcpy(buf, data, size);
    buf[size] = '\0';

    /* The whole input as one size value. */
    int ra = ref_size(buf, &a), rb = settings_parse_size(buf, &b);
    if (ra != rb || (ra == 0 && a != b))
        fail("settings_parse_size differs from the reference", buf);

    /* The whole input as a configuration file. */
    settings_defaults(&s);
    memset(err, 0x55, sizeof(err));
    if (conffile_parse("fuzz.conf", (const char *)data, size, &s, err,
                       sizeof(err)) == 0)
        check_bounds(&s);
    else
        check_err(err, sizeof(err));
    settings_free(&s);
    free(buf);
    return 0;
}
