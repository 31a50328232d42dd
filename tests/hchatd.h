/*
 * hchatd.h: one chatd shared by the tests of a TCase (check_server,
 * check_load, check_process).  An unchecked fixture starts it on port 0
 * in the parent process with start() and stops it with stop(), which
 * wants exit status 0; the tests run in forked children, talk to it over
 * real sockets and leave the last line they read in line.  Single-threaded
 * use per process.
 */
#ifndef CHATD_HCHATD_H
#define CHATD_HCHATD_H

#include "harness.h"

#define T H_TIMEOUT_MS

extern struct hserver srv;
extern char line[70000];

void start(const char *const *args);
void stop(void);
void start_default(void);
struct hconn *join(char *nick);
struct hconn *join_as(const char *nick);
void expect(struct hconn *c, const char *want);
void next_is(struct hconn *c, const char *want);

#endif
