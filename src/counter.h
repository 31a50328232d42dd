/*
 * counter.h: statistics counters.  Each is written by one owner and read
 * by anyone (relaxed atomics: a reader sees some recent value).
 */
#ifndef CHATD_COUNTER_H
#define CHATD_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

static inline void
counter_add(atomic_ulong *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline unsigned long
counter_get(atomic_ulong *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

#endif
