/*
 * payload.h: the text chatbench sends as a message body.  Pure: no I/O,
 * no locks, callable from any thread.
 *
 * A payload is exactly `size` bytes of printable ASCII, lower-case hex
 * fields separated by colons:
 *
 *     cb:SSSSSSSS:QQQQQQQQ:TTTTTTTTTTTTTTTT:pppp...:CCCCCCCC
 *
 * S is the sender id, Q the sender's sequence number (from 0), T the
 * intended send time (CLOCK_MONOTONIC, ns), p a filler that depends on
 * Q, and C the 32-bit FNV-1a checksum of every byte before the last colon.
 */
#ifndef CHATBENCH_PAYLOAD_H
#define CHATBENCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_MIN 48          /* smallest size with one filler byte */
#define PAYLOAD_MAX 65536

struct payload {
    uint32_t sender;
    uint32_t seq;
    uint64_t t_ns;
};

void payload_encode(char *out, size_t size, const struct payload *p);
int  payload_decode(const char *in, size_t len, size_t size,
                    struct payload *p);
uint32_t payload_checksum(const char *data, size_t len);

#endif
