/*
 * hsvc.h: what the service suites share (check_service, check_daemon):
 * a fresh directory under /tmp for each test's files (the checked
 * fixture setup, teardown), files written into it (put), and the real
 * chatd run with them, to completion (run) or as a server (start).
 * Everything runs on the test's own thread.
 */
#ifndef CHATD_HSVC_H
#define CHATD_HSVC_H

#include <stddef.h>

#include "harness.h"

extern char dir[64];

void  setup(void);
void  teardown(void);
const char *put(const char *name, const char *text);
int   run(char *out, size_t cap, const char *arg, ...);
void  start(struct hserver *s, const char *conf, const char *extra);

#endif
