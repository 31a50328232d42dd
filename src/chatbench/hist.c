/*
 * hist.c: log-linear latency histogram (see hist.h).  Pure; the histogram
 * is owned by the thread that records into it (chatbench's only thread).
 *
 * Layout: values below HIST_SUB ns each have a bucket of their own.  A
 * value whose highest set bit is e (e >= HIST_SUB_BITS) goes to group
 * g = e - HIST_SUB_BITS + 1, which covers [2^e, 2^(e+1)) in HIST_SUB equal
 * buckets chosen by the HIST_SUB_BITS bits right below the leading one.
 */
#include "config.h"

#include <string.h>

#include "hist.h"

void
hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

/*
 * Bucket index of a value in ns, clamped to the last bucket for values
 * beyond HIST_MAX_NS.
 */
unsigned
hist_index(uint64_t ns)
{
    unsigned e, idx;

    if (ns > HIST_MAX_NS)
        ns = HIST_MAX_NS;
    if (ns < HIST_SUB)
        return (unsigned)ns;
    e = 63u - (unsigned)__builtin_clzll(ns);
    /* the top HIST_SUB_BITS + 1 bits; the leading one selects the half */
    idx = (e - HIST_SUB_BITS + 1) * HIST_SUB +
        (unsigned)((ns >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The highest value, in ns, that falls into bucket idx. */
uint64_t
hist_bucket_high(unsigned idx)
{
    unsigned group = idx / HIST_SUB, sub = idx % HIST_SUB;
    unsigned e;

    if (group == 0)
        return idx;
    e = group + HIST_SUB_BITS - 1;
    return ((uint64_t)(HIST_SUB + sub + 1) << (e - HIST_SUB_BITS)) - 1;
}

void
hist_record(struct hist *h, uint64_t ns)
{
    h->bucket[hist_index(ns)]++;
    h->count++;
    h->sum += ns;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

/*
 * The value at percentile pct (0 < pct <= 100): the upper edge of the
 * bucket holding the ceil(pct% * count)-th smallest value, never more than
 * the exact maximum.  Returns 0 for an empty histogram.
 */
uint64_t
hist_percentile(const struct hist *h, double pct)
{
    uint64_t want, seen = 0;
    double exact;

    if (h->count == 0)
        return 0;
    exact = pct / 100.0 * (double)h->count;

    want = (uint64_t)exact;
    if ((double)want < exact)
        want++;                         /* ceil() without libm */
    if (want < 1)
        want = 1;
    if (want > h->count)
        want = h->count;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= want) {
            uint64_t v = hist_bucket_high(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}
