/*
 * linebuf.h: newline framing of a byte stream.  Pure: no I/O, no locks.
 * A struct linebuf belongs to whoever reads the stream (a worker thread for
 * a client's input; the chat client for the server's output).
 *
 * Lines end in LF; a CR right before the LF is dropped.  A line longer than
 * `max` bytes (terminator excluded) is reported once as LINEBUF_TOOLONG and
 * its bytes are discarded up to the next LF without being buffered, so the
 * buffer never holds more than one partial line of at most max+1 bytes
 * beyond the complete lines appended with it.  An empty buffer holds no
 * memory at all, which keeps idle connections small.
 */
#ifndef CHATD_LINEBUF_H
#define CHATD_LINEBUF_H

#include <stddef.h>

struct linebuf {
    char   *buf;        /* NULL while empty */
    size_t  start;      /* first unconsumed byte */
    size_t  len;        /* unconsumed bytes from start */
    size_t  cap;        /* allocated size of buf */
    size_t  partial;    /* length of the trailing line without LF */
    size_t  max;        /* longest line accepted, terminator excluded */
    int     discard;    /* dropping input up to the next LF */
    int     toolong;    /* a too-long report is due after the full lines */
};

enum linebuf_result {
    LINEBUF_NONE = 0,   /* no complete line buffered */
    LINEBUF_LINE,       /* *line / *len hold the next line */
    LINEBUF_TOOLONG     /* a line was over max and has been discarded */
};

void   linebuf_init(struct linebuf *lb, size_t max);
void   linebuf_free(struct linebuf *lb);
void   linebuf_append(struct linebuf *lb, const char *data, size_t len);
enum linebuf_result linebuf_next(struct linebuf *lb, char **line,
                                 size_t *len);
int    linebuf_has_line(const struct linebuf *lb);
size_t linebuf_buffered(const struct linebuf *lb);
size_t linebuf_partial(const struct linebuf *lb);

#endif
