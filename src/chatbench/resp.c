/*
 * resp.c: RESP2 command building and incremental reply parsing (see
 * resp.h).  Pure; any thread.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

/*
 * Find the CRLF-terminated line starting at buf[pos].  Returns the offset
 * of its CR, or -1 if the line is not complete yet.
 */
static long
find_crlf(const char *buf, size_t len, size_t pos)
{
    while (pos < len) {
        const char *cr = memchr(buf + pos, '\r', len - pos);
        if (cr == NULL || (size_t)(cr - buf) + 1 >= len)
            return -1;
        if (cr[1] == '\n')
            return cr - buf;
        pos = (size_t)(cr - buf) + 1;
    }
    return -1;
}

/* Parse a decimal integer of exactly len bytes. Returns 0 or -1. */
static int
parse_int(const char *s, size_t len, int64_t *out)
{
    int neg = 0;
    int64_t v = 0;
    size_t i = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len || len - i > 18)
        return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/*
 * Parse one scalar at buf[*pos] into it, advancing *pos past it.
 * Returns 1 when done, 0 if more input is needed, -1 on a protocol error.
 */
static int
parse_item(const char *buf, size_t len, size_t *pos, struct resp_item *it)
{
    long cr = find_crlf(buf, len, *pos);
    const char *line = buf + *pos + 1;
    size_t llen;

    if (*pos >= len)
        return 0;
    if (cr < 0)
        return 0;
    llen = (size_t)cr - *pos - 1;
    switch (buf[*pos]) {
    case '+':
    case '-':
        it->type = buf[*pos] == '+' ? RESP_SIMPLE : RESP_ERROR;
        it->str = line;
        it->len = llen;
        *pos = (size_t)cr + 2;
        return 1;
    case ':':
        it->type = RESP_INT;
        if (parse_int(line, llen, &it->num) < 0)
            return -1;
        *pos = (size_t)cr + 2;
        return 1;
    case '$':
        it->type = RESP_BULK;
        if (parse_int(line, llen, &it->num) < 0 || it->num < -1)
            return -1;
        if (it->num == -1) {
            it->str = NULL;
            it->len = 0;
            *pos = (size_t)cr + 2;
            return 1;
        }
        if ((size_t)cr + 2 + (size_t)it->num + 2 > len)
            return 0;
        it->str = buf + cr + 2;
        it->len = (size_t)it->num;
        if (memcmp(it->str + it->len, "\r\n", 2) != 0)
            return -1;
        *pos = (size_t)cr + 2 + it->len + 2;
        return 1;
    default:
        return -1;
    }
}

/*
 * Parse one complete reply from the len bytes at buf into *r; its strings
 * point into buf.  Returns the number of bytes it took, 0 when buf holds
 * only part of a reply (call again with more), or -1 on a protocol error
 * or an array deeper or longer than this parser handles.
 */
long
resp_parse(const char *buf, size_t len, struct resp_reply *r)
{
    size_t pos = 0;
    int64_t n;
    long cr;
    int rc;

    if (len == 0)
        return 0;
    if (buf[0] != '*') {
        rc = parse_item(buf, len, &pos, &r->item[0]);
        if (rc <= 0)
            return rc;
        r->type = r->item[0].type;
        r->n = 1;
        return (long)pos;
    }
    if ((cr = find_crlf(buf, len, 0)) < 0)
        return 0;
    if (parse_int(buf + 1, (size_t)cr - 1, &n) < 0 || n < 0 ||
        n > RESP_ELEMS)
        return -1;
    r->type = RESP_ARRAY;
    r->n = (size_t)n;
    pos = (size_t)cr + 2;
    for (int64_t i = 0; i < n; i++) {
        if (pos < len && buf[pos] == '*')
            return -1;
        rc = parse_item(buf, len, &pos, &r->item[i]);
        if (rc <= 0)
            return rc;
    }
    return (long)pos;
}

/*
 * Write the command argv[0..argc) (argl[i] bytes each) as a RESP array of
 * bulk strings into out.  Returns its length, or 0 if cap is too small.
 */
size_t
resp_command(char *out, size_t cap, int argc, const char **argv,
             const size_t *argl)
{
    size_t pos;
    int n;

    n = snprintf(out, cap, "*%d\r\n", argc);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    pos = (size_t)n;
    for (int i = 0; i < argc; i++) {
        n = snprintf(out + pos, cap - pos, "$%zu\r\n", argl[i]);
        if (n < 0 || (size_t)n >= cap - pos || cap - pos - (size_t)n <
            argl[i] + 2)
            return 0;
        pos += (size_t)n;
        memcpy(out + pos, argv[i], argl[i]);
        pos += argl[i];
        memcpy(out + pos, "\r\n", 2);
        pos += 2;
    }
    return pos;
}

/* Whether it is a string (simple or bulk) equal to s, ignoring case. */
int
resp_item_is(const struct resp_item *it, const char *s)
{
    size_t n = strlen(s);

    return (it->type == RESP_BULK || it->type == RESP_SIMPLE) &&
        it->str != NULL && it->len == n && strncasecmp(it->str, s, n) == 0;
}
