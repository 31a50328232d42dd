/*
 * fuzz_ws.c: libFuzzer harness for the WebSocket decoder (ws.c), the
 * read path of every browser client.  Byte 0 picks the longest message
 * (max-line, 1..256), byte 1 seeds the sizes of the pieces the input
 * arrives in and of the output room; the rest is the client's stream.
 * Checked, not merely survived:
 *
 *   - decoded in pieces with little output room, the decoder makes the
 *     bytes and the events it makes for the whole input at once;
 *   - the output is lines: valid UTF-8, no CR, each at most max bytes
 *     before its "\n";
 *   - it never makes more output than it took input (the transport
 *     relies on it), and after a close or an error it takes nothing
 *     more; an error has a close code of 1002, 1003, 1007 or 1009.
 *
 * Single-threaded: the harness plays the worker.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ws.h"

#define OUT_MAX 70000

struct run {
    uint8_t  out[OUT_MAX];
    size_t   len;
    int      events[64];
    int      nev;
    uint16_t code;
};

static unsigned seed;

static size_t
rnd(size_t mod)
{
    seed = seed * 1103515245u + 12345u;
    return 1 + (seed >> 8) % mod;
}

/* Decode in, in pieces of up to piece bytes with up to room of output. */
static void
decode(struct run *r, const uint8_t *in, size_t n, uint32_t max,
       size_t piece, size_t room)
{
    struct ws_dec d;
    size_t at = 0, used_total = 0;

    ws_dec_init(&d, max);
    memset(r, 0, offsetof(struct run, nev) + sizeof(r->nev));
    r->len = 0;
    r->nev = 0;
    while (at < n) {
        size_t k = piece ? rnd(piece) : n - at, used, made;
        if (k > n - at)
            k = n - at;
        size_t cap = room ? rnd(room) : OUT_MAX - r->len;
        if (cap > OUT_MAX - r->len)
            cap = OUT_MAX - r->len;
        enum ws_event ev = ws_decode(&d, in + at, k, &used, r->out + r->len,
                                     cap, &made);
        assert(used <= k && made <= cap);
        at += used;
        used_total += used;
        r->len += made;
        assert(r->len <= used_total);
        if (ev != WS_MORE && r->nev < 64)
            r->events[r->nev++] = ev;
        if (ev == WS_CLOSE || ev == WS_ERROR) {
            size_t u2, m2;
            assert(ws_decode(&d, in + at, n - at, &u2, r->out, 1, &m2) ==
                   ev && u2 == 0 && m2 == 0);
            if (ev == WS_ERROR) {
                assert(d.why != NULL);
                assert(d.close_code == 1002 || d.close_code == 1003 ||
                       d.close_code == 1007 || d.close_code == 1009);
            }
            r->code = d.close_code;
            break;
        }
        if (used == 0 && made == 0 && ev == WS_MORE && cap > 0)
            assert(k == 0);
    }
    if (r->nev == 0 || (r->events[r->nev - 1] != WS_CLOSE &&
                        r->events[r->nev - 1] != WS_ERROR)) {
        /* A message's "\n" may wait for output room: give it. */
        size_t used, made;
        enum ws_event ev = ws_decode(&d, in + n, 0, &used, r->out + r->len,
                                     OUT_MAX - r->len, &made);
        r->len += made;
        if (ev != WS_MORE && r->nev < 64)
            r->events[r->nev++] = ev;
        if (ev == WS_ERROR || ev == WS_CLOSE)
            r->code = d.close_code;
    }
}

/* The output is lines of valid UTF-8, each at most max bytes. */
static void
check_lines(const struct run *r, uint32_t max)
{
    size_t start = 0;

    for (size_t i = 0; i < r->len; i++) {
        assert(r->out[i] != '\r');
        if (r->out[i] == '\n') {
            assert(i - start <= max);
            start = i + 1;
        }
    }
    assert(r->len - start <= max);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, part;
    uint32_t max;

    if (size < 2)
        return 0;
    max = 1 + data[0];
    seed = data[1];
    decode(&whole, data + 2, size - 2, max, 0, 0);
    check_lines(&whole, max);
    seed = data[1];
    decode(&part, data + 2, size - 2, max, 17, 9);
    assert(part.nev == whole.nev && part.code == whole.code);
    assert(memcmp(part.events, whole.events,
                  sizeof(int) * (size_t)whole.nev) == 0);
    assert(part.len == whole.len &&
           memcmp(part.out, whole.out, whole.len) == 0);
    return 0;
}
