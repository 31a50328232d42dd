/*
 * session.h: one connection to a chatd server as both front ends drive
 * it: the terminal one (tty.c) and the script one (pipemode.c).  It owns
 * sending a typed line (with its local echo), turning what the server
 * sends into display text (and what it says about nicknames and rooms),
 * noting
 * the server's errors and its answer to our -n nickname, and leaving
 * cleanly after a /quit.  main() (chat.c) fills the options, connects,
 * and hands the session to one mode; the modes know nothing of main()
 * or of each other.  Single-threaded: the client's main thread owns it.
 */
#ifndef CHAT_SESSION_H
#define CHAT_SESSION_H

#include <poll.h>
#include <stddef.h>

#include "conn.h"
#include "nicks.h"
#include "render.h"
#include "roomlist.h"

#define CHAT_EXIT_OK 0          /* /quit, Ctrl-D, end of input */
#define CHAT_EXIT_FAIL 1        /* cannot connect, connection lost */
#define CHAT_EXIT_USAGE 2       /* bad command line */
#define CHAT_EXIT_REFUSED 3     /* script: the server refused the nickname
                                   or answered a line with an error */
#define CHAT_QUIT_IDLE_MS 10000 /* give up on a server that stops taking
                                   our last lines and never closes */

/* What the command line asked for: main() fills it, the modes read it. */
struct chat_opts {
    const char     *host, *port;
    const char     *nick;       /* -n, or NULL */
    struct conn_tls tls;        /* --tls, --ca, --insecure */
    struct render   render;
};

/* What became of the nickname asked for with -n. */
enum session_nick {
    SESSION_NICK_NONE = 0,      /* none asked for */
    SESSION_NICK_ASKED,         /* /nick sent, not answered yet */
    SESSION_NICK_TAKEN,         /* the server named us so */
    SESSION_NICK_REFUSED        /* it answered with an error */
};

struct session {
    const struct chat_opts *opts;
    struct conn     conn;       /* opened by main() */
    struct nicks    nicks;
    struct rooms    rooms;      /* the current one sets our echo's prefix */
    int             sigfd;      /* the signal self-pipe (signals.h) */
    int             quit_sent;  /* a /quit is queued: a close is expected */
    enum session_nick nick;
    unsigned long   errors;     /* "*** error:" lines received */
    int             replaying;  /* inside a history replay (render.c) */
};

void  session_init(struct session *s, const struct chat_opts *opts,
                   int sigfd);
void  session_free(struct session *s);
void  session_ask_nick(struct session *s);
char *session_submit(struct session *s, const char *line, size_t len);
void  session_pollfds(const struct session *s, struct pollfd pfd[2]);
int   session_serve(struct session *s, short revents, char **text);
int   session_finish(struct session *s);
void  session_lost(const struct session *s, int rc);
void  session_print(char *text);

#endif
