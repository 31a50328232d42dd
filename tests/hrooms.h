/*
 * hrooms.h: what the rooms suites share (check_rooms, check_rooms_load):
 * each test starts its own chatd on port 0 in its checked fixture (in
 * the test's forked process; hchatd.c), so no client of another test can
 * leave or rename while a test proves silence.  Single-threaded use.
 */
#ifndef CHATD_HROOMS_H
#define CHATD_HROOMS_H

#include "hchatd.h"

struct hconn *member(const char *nick, const char *room);
void enter(struct hconn *c, const char *room);
void sync_with(struct hconn *c);
void want_lines(struct hconn *c, const char *const *want);
void quiet(struct hconn *c);
void settle(struct hconn *c);

#endif
