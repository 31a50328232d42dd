/*
 * command.h: what a client's lines do.  Runs on the worker thread that
 * owns the client, through the session interface (session.h).
 */
#ifndef CHATD_COMMAND_H
#define CHATD_COMMAND_H

#include <stddef.h>

struct hub_welcome;
struct msg;
struct session;

void   command_welcome(struct session *s, struct hub_welcome *wel);
size_t command_motd(const char *text, struct msg ***out);
void   command_line(struct session *s, char *line, size_t len);
void   command_too_long(struct session *s);
void   command_claimed(struct session *s, const char *name, int result);
void   command_claim_orphan(const char *name, int result);
void   command_rename(struct session *s, const char *name);
void   command_nick_go(struct session *s, const char *name);

/* Rooms (roomcmd.c). */
void   roomcmd_join(struct session *s, const char *name);
void   roomcmd_part(struct session *s, const char *name, const char *reason);
void   roomcmd_rooms(struct session *s);
void   roomcmd_history(struct session *s, const char *count);
void   roomcmd_topic(struct session *s, const char *text);
void   roomcmd_who(struct session *s, const char *name);

#endif
