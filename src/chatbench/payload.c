/*
 * payload.c: encode and check chatbench message bodies (see payload.h).
 * Pure; any thread.
 */
#include "config.h"

#include <string.h>

#include "payload.h"

#define HEAD_LEN 38             /* "cb:" + 8 + ":" + 8 + ":" + 16 + ":" */
#define TAIL_LEN 9              /* ":" + 8 */

static const char hexdigit[] = "0123456789abcdef";

/* FNV-1a, 32 bits, over len bytes of data. */
uint32_t
payload_checksum(const char *data, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)data[i];
        h *= 16777619u;
    }
    return h;
}

/* Write v as exactly n lower-case hex digits at out. */
static void
put_hex(char *out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = hexdigit[v & 15];
        v >>= 4;
    }
}

/*
 * Parse exactly n hex digits at in into *v.  Returns 0, or -1 when one of
 * them is not a lower-case hex digit.
 */
static int
get_hex(const char *in, int n, uint64_t *v)
{
    uint64_t r = 0;

    for (int i = 0; i < n; i++) {
        char c = in[i];
        if (c >= '0' && c <= '9')
            r = r << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            r = r << 4 | (uint64_t)(c - 'a' + 10);
        else
            return -1;
    }
    *v = r;
    return 0;
}

/*
 * Write the payload p as exactly size bytes at out (no terminator).
 * size must be in [PAYLOAD_MIN, PAYLOAD_MAX].
 */
void
payload_encode(char *out, size_t size, const struct payload *p)
{
    size_t fill = size - HEAD_LEN - TAIL_LEN;

    memcpy(out, "cb:", 3);
    put_hex(out + 3, p->sender, 8);
    out[11] = ':';
    put_hex(out + 12, p->seq, 8);
    out[20] = ':';
    put_hex(out + 21, p->t_ns, 16);
    out[37] = ':';
    for (size_t i = 0; i < fill; i++)
        out[HEAD_LEN + i] = (char)('a' + (p->seq * 7u + i) % 26u);
    out[size - TAIL_LEN] = ':';
    put_hex(out + size - 8, payload_checksum(out, size - TAIL_LEN), 8);
}

/*
 * Check and parse a received payload of len bytes, expected to be size
 * bytes long.  Returns 0 and fills *p, or -1 when the text is not an
 * intact payload (wrong length, layout, digits or checksum).
 */
int
payload_decode(const char *in, size_t len, size_t size, struct payload *p)
{
    uint64_t sender, seq, t, sum;

    if (len != size || size < PAYLOAD_MIN || memcmp(in, "cb:", 3) != 0 ||
        in[11] != ':' || in[20] != ':' || in[37] != ':' ||
        in[size - TAIL_LEN] != ':')
        return -1;
    if (get_hex(in + 3, 8, &sender) < 0 || get_hex(in + 12, 8, &seq) < 0 ||
        get_hex(in + 21, 16, &t) < 0 || get_hex(in + size - 8, 8, &sum) < 0)
        return -1;
    if (sum != payload_checksum(in, size - TAIL_LEN))
        return -1;
    p->sender = (uint32_t)sender;
    p->seq = (uint32_t)seq;
    p->t_ns = t;
    return 0;
}
