/*
 * tty.h: the chat client on a terminal (GNU readline).  main() hands it
 * an open session; it returns the exit status.  Single-threaded: the
 * main thread.
 */
#ifndef CHAT_TTY_H
#define CHAT_TTY_H

#include "session.h"

int tty_run(struct session *s);

#endif
