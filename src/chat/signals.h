/*
 * signals.h: the chat client's signals, turned into bytes on a self-pipe
 * that the poll loops watch, so that the terminal is restored by
 * ordinary code, never from a handler.  main() sets them up; the modes
 * read them.  Single-threaded: the handler only writes to the pipe.
 */
#ifndef CHAT_SIGNALS_H
#define CHAT_SIGNALS_H

int signals_init(int tty);
int signals_take(int fd);
int signals_status(int sig);

#endif
