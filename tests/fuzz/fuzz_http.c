/*
 * fuzz_http.c: libFuzzer harness for the web port's request parser
 * (http.c).  The input is fed as a client would send it, in pieces
 * (byte 0 seeds their sizes), and the answers are checked, not merely
 * survived:
 *
 *   - fed piece by piece, the parser gives the answer it gives for the
 *     whole input at once (the end of the head is found where it is);
 *   - a parsed request's strings lie inside its head, the head inside
 *     the input and within HTTP_HEAD_MAX; an error has a reason; a head
 *     of HTTP_HEAD_MAX bytes with no end is a 431;
 *   - routing gives a resource, 404 or 405 with an Allow.
 *
 * Single-threaded, as the web thread.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

static void
inside(struct http_str s, const char *buf, size_t len)
{
    if (s.p != NULL)
        assert(s.p >= buf && s.p + s.n <= buf + len);
}

static void
check_ok(const struct http_req *r, const char *buf, size_t len)
{
    enum http_resource res;
    const char *allow = NULL;
    int st;

    assert(r->head_len > 0 && r->head_len <= len &&
           r->head_len <= HTTP_HEAD_MAX);
    inside(r->target, buf, r->head_len);
    inside(r->path, buf, r->head_len);
    inside(r->host, buf, r->head_len);
    inside(r->ws_key, buf, r->head_len);
    inside(r->origin, buf, r->head_len);
    inside(r->forwarded_for, buf, r->head_len);
    assert(r->target.n > 0 && r->target.p[0] == '/');
    st = http_route(r, &res, &allow);
    assert(st == 0 || st == 404 || (st == 405 && allow != NULL));
    assert(st != 0 || res != HTTP_RES_NONE);
    (void)http_keep_alive(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[HTTP_HEAD_MAX + 64];
    struct http_req whole, part;
    size_t len, at = 0;
    unsigned seed;
    int rw, rp = HTTP_INCOMPLETE;

    if (size < 1)
        return 0;
    seed = data[0];
    len = size - 1 > HTTP_HEAD_MAX ? HTTP_HEAD_MAX : size - 1;
    memcpy(buf, data + 1, len);
    memset(&whole, 0, sizeof(whole));
    rw = http_parse(buf, len, &whole);
    memset(&part, 0, sizeof(part));
    while (at < len && rp == HTTP_INCOMPLETE) {
        size_t step = 1 + (seed = seed * 1103515245u + 12345u) % 97;
        at = at + step > len ? len : at + step;
        size_t scanned = part.scanned;
        memset(&part, 0, sizeof(part));
        part.scanned = scanned;
        rp = http_parse(buf, at, &part);
    }
    if (len == 0)
        return 0;
    assert(rp == rw);
    if (rw == HTTP_OK) {
        assert(part.head_len == whole.head_len);
        check_ok(&whole, buf, len);
    } else if (rw != HTTP_INCOMPLETE) {
        assert(whole.why != NULL && http_reason(rw)[0] != '\0');
    } else {
        assert(len < HTTP_HEAD_MAX);
    }
    return 0;
}
