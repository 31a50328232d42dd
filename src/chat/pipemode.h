/*
 * pipemode.h: the chat client for scripts (stdin not a terminal).
 * main() hands it an open session; it returns the exit status.
 * Single-threaded: the main thread.
 */
#ifndef CHAT_PIPEMODE_H
#define CHAT_PIPEMODE_H

#include "session.h"

int pipe_run(struct session *s);

#endif
