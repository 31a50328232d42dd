/*
 * linebuf.c: newline framing (see linebuf.h).  Pure; the owner of the
 * struct linebuf is the only thread that touches it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "xmalloc.h"

void
linebuf_init(struct linebuf *lb, size_t max)
{
    memset(lb, 0, sizeof(*lb));
    lb->max = max;
}

void
linebuf_free(struct linebuf *lb)
{
    size_t max = lb->max;

    free(lb->buf);
    linebuf_init(lb, max);
}

/* Make room for `more` bytes after the buffered data. */
static void
reserve(struct linebuf *lb, size_t more)
{
    if (lb->start > 0 && lb->len > 0)
        memmove(lb->buf, lb->buf + lb->start, lb->len);
    lb->start = 0;
    if (lb->len + more <= lb->cap)
        return;
    size_t cap = lb->cap ? lb->cap : 256;
    while (cap < lb->len + more)
        cap *= 2;
    lb->buf = xrealloc(lb->buf, cap);
    lb->cap = cap;
}

/*
 * Append `len` bytes read from the stream.  Bytes of a line already known
 * to be too long are dropped here; if the trailing partial line grows past
 * max+1 bytes (room for a CR), it is dropped and a LINEBUF_TOOLONG report
 * is queued behind the complete lines.
 */
void
linebuf_append(struct linebuf *lb, const char *data, size_t len)
{
    if (lb->discard) {
        const char *nl = memchr(data, '\n', len);
        if (nl == NULL)
            return;
        lb->discard = 0;
        len -= (size_t)(nl + 1 - data);
        data = nl + 1;
    }
    if (len == 0)
        return;

    const char *last = memrchr(data, '\n', len);
    size_t tail = last ? len - (size_t)(last + 1 - data) : len;
    size_t partial = last ? tail : lb->partial + tail;

    if (partial > lb->max + 1) {
        /* Keep the complete lines, drop the partial one and what follows. */
        size_t keep = last ? (size_t)(last + 1 - data) : 0;
        size_t oldfull = lb->len - lb->partial;
        if (last == NULL) {
            lb->len = oldfull;
        } else if (keep > 0) {
            reserve(lb, keep);
            memcpy(lb->buf + lb->len, data, keep);
            lb->len += keep;
        }
        lb->partial = 0;
        lb->discard = 1;
        lb->toolong = 1;
        return;
    }
    reserve(lb, len);
    memcpy(lb->buf + lb->start + lb->len, data, len);
    lb->len += len;
    lb->partial = partial;
}

/*
 * Take the next complete line.  On LINEBUF_LINE, *line points at the line,
 * NUL-terminated in place without its LF (and CR), valid until the next
 * call on lb.  Returns LINEBUF_TOOLONG once per over-long line, in stream
 * order, and LINEBUF_NONE when no complete line is left (then an empty
 * buffer is released).
 */
enum linebuf_result
linebuf_next(struct linebuf *lb, char **line, size_t *len)
{
    size_t full = lb->len - lb->partial;

    if (full == 0) {
        if (lb->toolong) {
            lb->toolong = 0;
            return LINEBUF_TOOLONG;
        }
        if (lb->len == 0 && lb->buf != NULL) {
            free(lb->buf);
            lb->buf = NULL;
            lb->cap = lb->start = 0;
        }
        return LINEBUF_NONE;
    }

    char *p = lb->buf + lb->start;
    char *nl = memchr(p, '\n', full);   /* present: full > 0 */
    size_t n = (size_t)(nl - p);

    lb->start += n + 1;
    lb->len -= n + 1;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (n > lb->max)
        return LINEBUF_TOOLONG;
    p[n] = '\0';
    *line = p;
    *len = n;
    return LINEBUF_LINE;
}

/* Nonzero when linebuf_next() would return something other than NONE. */
int
linebuf_has_line(const struct linebuf *lb)
{
    return lb->len > lb->partial || lb->toolong;
}

size_t
linebuf_buffered(const struct linebuf *lb)
{
    return lb->len;
}

size_t
linebuf_partial(const struct linebuf *lb)
{
    return lb->partial;
}
