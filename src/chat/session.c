/*
 * session.c: the session both front ends drive (see session.h): typed
 * lines out, display text in, the way out after a /quit.  Main thread.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "proto.h"
#include "session.h"
#include "signals.h"
#include "srvline.h"
#include "xmalloc.h"

/* Start a session for opts on the connection main() opens in s->conn. */
void
session_init(struct session *s, const struct chat_opts *opts, int sigfd)
{
    memset(s, 0, sizeof(*s));
    s->opts = opts;
    s->conn.fd = -1;
    s->sigfd = sigfd;
    nicks_init(&s->nicks);
    rooms_init(&s->rooms);
}

/* Close the connection and forget what was learnt. */
void
session_free(struct session *s)
{
    conn_close(&s->conn);
    nicks_free(&s->nicks);
    rooms_free(&s->rooms);
}

/* Ask for the -n nickname, if any: the answer sets s->nick. */
void
session_ask_nick(struct session *s)
{
    char cmd[PROTO_NICK_MAX + 8];

    if (s->opts->nick == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "/nick %s", s->opts->nick);
    free(session_submit(s, cmd, strlen(cmd)));
    s->nick = SESSION_NICK_ASKED;
}

/*
 * Send a line the user typed (len bytes, no LF; a trailing CR is
 * dropped; an empty line is not sent).  Returns the local echo, a
 * malloc'd string ending in LF, for lines the server will not show us
 * (our public messages and actions, with the current room's prefix as
 * the others see them; none when we are in no room: the server answers
 * with an error), else NULL.  Notes a /quit.
 */
char *
session_submit(struct session *s, const char *line, size_t len)
{
    struct proto_cmd cmd;
    const char *self;
    char *copy, *echo = NULL;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return NULL;
    conn_queue(&s->conn, line, len);
    copy = xmalloc(len + 1);
    memcpy(copy, line, len);
    copy[len] = '\0';
    proto_parse(copy, &cmd);
    self = nicks_self(&s->nicks);
    if (*self == '\0')
        self = s->opts->nick ? s->opts->nick : "me";
    if ((cmd.type == PROTO_SAY || cmd.type == PROTO_ME) &&
        rooms_current(&s->rooms) != NULL)
        echo = render_own(&s->opts->render,
                          cmd.type == PROTO_SAY ? PROTO_PUBLIC
                                                : PROTO_ACTION,
                          rooms_prefix(&s->rooms), self, cmd.text,
                          time(NULL));
    else if (cmd.type == PROTO_QUIT)
        s->quit_sent = 1;
    free(copy);
    return echo;
}

/* Append s to the malloc'd string *acc (NULL for empty). */
static void
append(char **acc, const char *s)
{
    size_t have = *acc ? strlen(*acc) : 0, n = strlen(s);

    *acc = xrealloc(*acc, have + n + 1);
    memcpy(*acc + have, s, n + 1);
}

/*
 * Note what a server line (sanitized) says to the session: nicknames
 * and rooms, an error (which answers the /nick while that is pending),
 * or the server naming us the nickname asked for.
 */
static void
note_line(struct session *s, const char *line)
{
    struct srvline sl;

    nicks_observe(&s->nicks, line);
    rooms_observe(&s->rooms, line);
    srvline_parse(line, &sl);
    if (sl.known && sl.kind == PROTO_ERROR) {
        s->errors++;
        if (s->nick == SESSION_NICK_ASKED)
            s->nick = SESSION_NICK_REFUSED;
    } else if (s->nick == SESSION_NICK_ASKED &&
               proto_nick_equal(nicks_self(&s->nicks), s->opts->nick)) {
        s->nick = SESSION_NICK_TAKEN;
    }
}

/* Render the complete lines in the input buffer onto *text. */
static void
drain_lines(struct session *s, char **text)
{
    enum linebuf_result r;
    char *line, *clean, *shown;
    size_t len;

    while ((r = linebuf_next(&s->conn.in, &line, &len)) != LINEBUF_NONE) {
        if (r == LINEBUF_TOOLONG) {
            append(text, "chat: an overlong line from the server was "
                         "dropped\n");
            continue;
        }
        /* Never trust the far end with our terminal: sanitize again. */
        clean = xmalloc(3 * len + 1);
        proto_sanitize(line, len, clean);
        note_line(s, clean);
        shown = render_server(&s->opts->render, &s->replaying, clean,
                              time(NULL));
        append(text, shown);
        free(shown);
        free(clean);
    }
}

/*
 * Read what the server sent.  *text gets the display text of the
 * complete lines (malloc'd, or NULL for none).  Returns 1 while the
 * connection is open, 0 when the server closed it (a last line without
 * LF is shown too), -1 on error with errno set.
 */
static int
receive(struct session *s, char **text)
{
    long n = conn_fill(&s->conn);

    *text = NULL;
    if (n == 0 && linebuf_partial(&s->conn.in) > 0)
        linebuf_append(&s->conn.in, "\n", 1);
    drain_lines(s, text);
    if (n < 0)
        return -1;
    return n == 0 ? 0 : 1;
}

/*
 * The poll entries of a session: pfd[0] the signal pipe, pfd[1] the
 * socket (readable, and writable while output is queued).
 */
void
session_pollfds(const struct session *s, struct pollfd pfd[2])
{
    pfd[0] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = s->conn.fd,
                              .events = conn_events(&s->conn) };
}

/*
 * The server's side of one poll round, for the socket's revents: write
 * what it takes, read what came.  *text gets the display text (malloc'd
 * or NULL).  Returns 1 to go on, 0 when the server closed the
 * connection, -1 when it failed (errno set): see session_lost().
 */
int
session_serve(struct session *s, short revents, char **text)
{
    int can_read, can_write;

    *text = NULL;
    conn_ready(&s->conn, revents, &can_read, &can_write);
    if (can_write && conn_flush(&s->conn) < 0)
        return -1;
    if (!can_read)
        return 1;
    return receive(s, text);
}

/* Say why the session ended, for rc from session_serve() or a flush. */
void
session_lost(const struct session *s, int rc)
{
    if (rc < 0)
        warn("connection to %s port %s lost", s->opts->host,
             s->opts->port);
    else
        warnx("connection closed by the server");
}

/* Print text (may be NULL) on stdout and free it. */
void
session_print(char *text)
{
    if (text != NULL) {
        fputs(text, stdout);
        fflush(stdout);
        free(text);
    }
}

/* The monotonic clock in milliseconds. */
static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * One round of leaving: flush, half-close once all is written, and
 * return the deadline for progress (bytes taken by the server since
 * *last_unsent was counted push it back), or -1 when the connection
 * failed: *status is then the exit status.
 */
static long
finish_flush(struct session *s, int *shut, long *last_unsent, long end,
             int *status)
{
    long unsent;

    if (conn_flush(&s->conn) < 0) {
        if (errno == EPIPE || errno == ECONNRESET) {
            *status = CHAT_EXIT_OK;     /* closed after our /quit */
            return -1;
        }
        session_lost(s, -1);
        *status = CHAT_EXIT_FAIL;
        return -1;
    }
    if (!*shut && conn_pending(&s->conn) == 0) {
        conn_shutdown(&s->conn);
        *shut = 1;
    }
    unsent = (long)conn_pending(&s->conn) + conn_unsent(&s->conn);
    if (end < 0 || unsent != *last_unsent)
        end = now_ms() + CHAT_QUIT_IDLE_MS;
    *last_unsent = unsent;
    return end;
}

/*
 * Leave after a /quit was queued (the terminal is already restored):
 * flush our queue, half-close, and print what the server still sends
 * until it closes the connection, the close that answers our /quit.
 * Gives up after CHAT_QUIT_IDLE_MS without progress (bytes taken by the
 * server or received from it).  Returns the exit status.
 */
int
session_finish(struct session *s)
{
    long end = -1, last_unsent = -1;
    int shut = 0, status = CHAT_EXIT_OK;

    for (;;) {
        struct pollfd pfd[2];
        long now;
        int rc, sig;
        char *text;

        if ((end = finish_flush(s, &shut, &last_unsent, end, &status)) < 0)
            return status;
        if ((now = now_ms()) >= end) {
            warnx("the server did not close the connection; "
                  "some lines may not have been delivered");
            return CHAT_EXIT_FAIL;
        }
        session_pollfds(s, pfd);
        rc = poll(pfd, 2, (int)(end - now < 200 ? end - now : 200));
        if (rc < 0 && errno != EINTR) {
            warn("poll");
            return CHAT_EXIT_FAIL;
        }
        if ((sig = signals_take(s->sigfd)) != 0 && sig != SIGWINCH &&
            sig != SIGTSTP)
            return signals_status(sig);
        int can_read = 0, can_write;
        if (rc > 0)
            conn_ready(&s->conn, pfd[1].revents, &can_read, &can_write);
        if (can_read) {
            rc = receive(s, &text);
            session_print(text);
            if (rc <= 0)
                return CHAT_EXIT_OK;    /* the close we asked for */
            end = now + CHAT_QUIT_IDLE_MS;
        }
    }
}
