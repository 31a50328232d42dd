/*
 * acctcmd.h: the commands of accounts and operators (/register, /login,
 * /password, /kick, /ban, /unban, /bans, /mute, /unmute), the checks
 * other commands make (registered nicknames, login-required, mutes,
 * bans at welcome) and the handling of the store thread's answers.
 * The worker thread that owns the client, through the session
 * interface; slow work goes to the store thread (storethr.h).
 */
#ifndef CHATD_ACCTCMD_H
#define CHATD_ACCTCMD_H

#include <stddef.h>

struct mbox_entry;
struct proto_cmd;
struct session;

void acctcmd_run(struct session *s, const struct proto_cmd *cmd);
int  acctcmd_nick(struct session *s, const char *name);
int  acctcmd_may_talk(struct session *s);
int  acctcmd_answer(struct session *s, const struct mbox_entry *e);
int  acctcmd_banned(struct session *s);
void acctcmd_evict(struct session *s, const struct mbox_entry *e);
int  acctcmd_refusal(const char *peer, char *line, size_t cap);

#endif
