/*
 * hbench.h: helpers of the chatbench suites (tests/hbench.c): the real
 * $CHATBENCH and $CHATD.  Single-threaded.
 */
#ifndef HBENCH_H
#define HBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

uint64_t hb_now_ms(void);
const char *hb_chatbench_path(void);
int  hb_run(char *const argv[], char *out, size_t cap, int timeout_ms);
unsigned long long hb_field(const char *out, const char *key);
void hb_chatd_spawn(const char *rate, pid_t *pid, int *err, char *port,
                    size_t cap);

#endif
