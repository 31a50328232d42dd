/*
 * fuzz_config.c: libFuzzer harness for chatd's configuration parsing.
 *
 * The input is a configuration file's text.  Today chatd parses only
 * option values (settings.c); the file parser (config.c) is on its way.
 * Until then parse_buffer() below stands in for it: "key = value" lines,
 * '#' comments, each value handed to settings_set(), then
 * settings_check().  When config.c lands, build with
 * -DHAVE_CONFIG_PARSE_BUFFER -DCONFIG_PARSE_HEADER='"its header"' and
 * parse_buffer() calls config_parse_buffer() instead; the checks stay the same:
 *
 *   - no crash, leak or sanitizer report;
 *   - on success every setting is within its key's bounds and the
 *     settings pass settings_check() (sendq fits the server's bursts);
 *   - on failure the error message is a non-empty, NUL-terminated,
 *     printable string that fits its buffer;
 *   - settings_parse_size() accepts exactly DIGITS[KMG] without overflow
 *     and returns the value a reference computation gives.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "xmalloc.h"

#ifdef HAVE_CONFIG_PARSE_BUFFER
#include CONFIG_PARSE_HEADER    /* e.g. -DCONFIG_PARSE_HEADER='"conf.h"' */
#endif

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

/* Is v a whole number as a user writes one: -?[0-9]+ ? */
static int
plain_number(const char *v)
{
    size_t i = v[0] == '-';

    if (v[i] == '\0')
        return 0;
    for (; v[i] != '\0'; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/*
 * Parse a configuration file held in buf (NUL-terminated, modified in
 * place; string settings point into it) into s.  Returns 0, or -1 with
 * err set.
 */
static int
parse_buffer(char *buf, struct settings *s, char *err, size_t errlen)
{
#ifdef HAVE_CONFIG_PARSE_BUFFER
    return config_parse_buffer("fuzz.conf", buf, strlen(buf), s, err,
                               errlen);
#else
    int lineno = 0;
    char *line, *next;

    for (line = buf; line != NULL; line = next) {
        char msg[256];
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        line = trim(line);
        if (*line == '\0')
            continue;
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "fuzz.conf:%d: expected key = value",
                     lineno);
            return -1;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        const struct settings_key *k = settings_find(key);
        if (k == NULL) {
            snprintf(err, errlen, "fuzz.conf:%d: unknown key", lineno);
            return -1;
        }
        if (settings_set(s, k, value, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "fuzz.conf:%d: %s", lineno, msg);
            return -1;
        }
        if ((k->type == SET_INT) && !plain_number(value))
            fail("settings_set took a malformed number", value);
        if (k->type == SET_SIZE) {
            long a, b;
            if (ref_size(value, &a) < 0 || settings_parse_size(value, &b) < 0
                || a != b)
                fail("settings_set took a malformed size", value);
        }
    }
    return settings_check(s, err, errlen);
#endif
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
    if (parse_buffer(buf, &s, err, sizeof(err)) == 0) {
        check_bounds(&s);
        if (settings_check(&s, err, sizeof(err)) != 0)
            fail("accepted settings fail settings_check", err);
    } else {
        check_err(err, sizeof(err));
    }
    free(buf);
    return 0;
}
