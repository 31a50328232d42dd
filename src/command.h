/*
 * command.h: what a client's lines do.  Runs on the worker thread that
 * owns the client.
 */
#ifndef CHATD_COMMAND_H
#define CHATD_COMMAND_H

#include <stddef.h>

struct worker;
struct client;
struct msg;

void command_welcome(struct worker *w, struct client *c, size_t online);
size_t command_motd(const char *text, struct msg ***out);
void command_line(struct worker *w, struct client *c, char *line,
                  size_t len);
void command_too_long(struct worker *w, struct client *c);
void command_claimed(struct worker *w, struct client *c, const char *name,
                     int result);

#endif
