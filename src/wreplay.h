/*
 * wreplay.h: a worker's side of stored history (history.h): asking the
 * history thread for a replay, holding the client's live lines until it
 * has been sent, giving up after WREPLAY_WAIT_MS, and noting where a
 * logged-in user leaves a room.  The worker thread that owns the client
 * only.
 */
#ifndef CHATD_WREPLAY_H
#define CHATD_WREPLAY_H

#include <stddef.h>
#include <stdint.h>

#define WREPLAY_WAIT_MS 2000        /* then "*** history unavailable" */

struct client;
struct mbox_entry;
struct session;
struct worker;

/* How a replay is framed when it has no lines. */
enum wreplay_empty { WREPLAY_QUIET, WREPLAY_FRAMED };

int  wreplay_ask(struct session *s, const char *room, uint64_t before,
                 size_t max, int missed, enum wreplay_empty empty);
void wreplay_answered(struct worker *w, struct mbox_entry *e);
void wreplay_expire(struct worker *w, int64_t now);
int  wreplay_timeout(const struct worker *w, int64_t now);
void wreplay_missed(struct session *s);
void wreplay_forget(struct worker *w, struct client *c);
void wreplay_left(struct client *c, const char *room);
void wreplay_left_all(struct client *c);

#endif
