/*
 * feed.h: long replies made as the client reads them (the welcome's MOTD
 * and history, /who, /rooms), so that they never need a send queue that grows
 * with the number of users or lines: a feed adds the next lines to its
 * client's replies only while fewer than `low` bytes of them wait.  The
 * worker that owns the client only.
 */
#ifndef CHATD_FEED_H
#define CHATD_FEED_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct msg;

struct feed *feed_list(struct msg **v, size_t n);
int  feed_add_history(struct feed *f, const char *room, struct msg **v,
                      int64_t *t, size_t n);
int  feed_has_history(const struct feed *f);
struct feed *feed_who(uint32_t room, int is_default, const char *name,
                      size_t members);
struct feed *feed_rooms(void);
int  feed_fill(struct feed *f, struct client *c, size_t low);
void feed_free(struct feed *f);

#endif
