/*
 * clock.h: the project's clock.  Milliseconds of CLOCK_MONOTONIC, for
 * timers, deadlines and rate limits; any thread.
 */
#ifndef CHATD_CLOCK_H
#define CHATD_CLOCK_H

#include <stdint.h>

int64_t clock_ms(void);

#endif
