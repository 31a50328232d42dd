/*
 * resp.h: just enough of the Redis protocol (RESP2) for pub/sub: build
 * commands, and parse replies incrementally.  Pure: no I/O, no locks.
 */
#ifndef CHATBENCH_RESP_H
#define CHATBENCH_RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_ELEMS 4            /* most elements of an array we parse */

enum resp_type {
    RESP_SIMPLE,                /* +text */
    RESP_ERROR,                 /* -text */
    RESP_INT,                   /* :n */
    RESP_BULK,                  /* $len text; str NULL for a nil */
    RESP_ARRAY                  /* *n of the above, not nested */
};

/* One scalar: points into the parsed buffer. */
struct resp_item {
    enum resp_type type;
    const char *str;
    size_t len;
    int64_t num;
};

struct resp_reply {
    enum resp_type type;        /* RESP_ARRAY or that of item[0] */
    size_t n;                   /* elements in item[] */
    struct resp_item item[RESP_ELEMS];
};

long   resp_parse(const char *buf, size_t len, struct resp_reply *r);
size_t resp_command(char *out, size_t cap, int argc, const char **argv,
                    const size_t *argl);
int    resp_item_is(const struct resp_item *it, const char *s);

#endif
