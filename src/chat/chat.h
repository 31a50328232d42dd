/*
 * chat.h: the chat client's session and the pieces its two front ends
 * share: the terminal one (tty.c, GNU readline) and the script one
 * (pipemode.c, stdin not a terminal).  The client is single-threaded:
 * the main thread owns everything here; signal handlers only write to
 * the self-pipe.
 */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include <stddef.h>

#include "conn.h"
#include "nicks.h"
#include "render.h"

#define CHAT_EXIT_OK 0          /* /quit, Ctrl-D, end of input */
#define CHAT_EXIT_FAIL 1        /* cannot connect, connection lost */
#define CHAT_EXIT_USAGE 2       /* bad command line */
#define CHAT_QUIT_IDLE_MS 10000 /* give up on a server that stops taking
                                   our last lines and never closes */

struct chat {
    const char     *host, *port;
    const char     *nick;       /* -n, or NULL */
    struct render   render;
    struct conn     conn;
    struct nicks    nicks;
    int             quit_sent;  /* a /quit is queued: a close is expected */
    int             sigfd;      /* read end of the signal self-pipe */
};

char *chat_submit(struct chat *ch, const char *line, size_t len);
int   chat_receive(struct chat *ch, char **text);
int   chat_signal_take(struct chat *ch);
int   chat_signal_status(int sig);
int   chat_finish(struct chat *ch);
void  chat_closed_message(struct chat *ch, int rc);
void  chat_put(char *s);

int   tty_run(struct chat *ch);
int   pipe_run(struct chat *ch);

#endif
