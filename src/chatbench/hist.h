/*
 * hist.h: a log-linear latency histogram in the manner of HdrHistogram.
 * Values are nanoseconds; every power of two is split into HIST_SUB
 * buckets, so a reported value is within 1/HIST_SUB (under 1%) of the
 * true one.  Values above HIST_MAX_NS land in the last bucket; the exact
 * maximum is kept separately.  Pure: no I/O, no locks; a histogram
 * belongs to the thread that records into it.
 */
#ifndef CHATBENCH_HIST_H
#define CHATBENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7                 /* 128 buckets per power of two */
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_NS 60000000000ull      /* 60 s */
#define HIST_BUCKETS ((36 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t min;                       /* exact, ns; UINT64_MAX if empty */
    uint64_t max;                       /* exact, ns */
    uint64_t sum;                       /* ns, for the mean */
    uint64_t bucket[HIST_BUCKETS];
};

void     hist_init(struct hist *h);
void     hist_record(struct hist *h, uint64_t ns);
uint64_t hist_percentile(const struct hist *h, double pct);
unsigned hist_index(uint64_t ns);
uint64_t hist_bucket_high(unsigned idx);

#endif
