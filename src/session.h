/*
 * session.h: what a command may do for the client it runs for: the
 * narrow interface the worker (worker.c) gives command.c.  A session is
 * one client of one worker, valid for one call; the worker's own thread
 * only.
 */
#ifndef CHATD_SESSION_H
#define CHATD_SESSION_H

#include <stddef.h>

struct client;
struct feed;
struct hub_joined;
struct mbox_vec;
struct msg;
struct worker_conf;

struct session;

struct client *session_client(struct session *s);
const struct worker_conf *session_conf(struct session *s);
struct mbox_vec *session_outbox(struct session *s);
int  session_worker(struct session *s);
void session_reply(struct session *s, struct msg *m);
void session_notice(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_feed(struct session *s, struct feed *f);
void session_close(struct session *s, const char *reason);
void session_enter(struct session *s, const struct hub_joined *j);
void session_leave(struct session *s, size_t i);

#endif
