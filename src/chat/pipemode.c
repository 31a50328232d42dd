/*
 * pipemode.c: the chat client when stdin is not a terminal, for scripts
 * (see pipemode.h): every input line is sent as it is (so it may be a
 * /command), what the server sends is printed, and at the end of input
 * the client sends /quit and waits for the server to close.  The server
 * answers lines in order and closes only after the /quit, so that close
 * is the round trip after which every answer to our lines is in: an
 * "*** error:" among them makes the exit status CHAT_EXIT_REFUSED.
 * With -n, nothing is sent until the server has answered the /nick; if
 * it refused the name, nothing is sent at all.
 * Single-threaded: the main thread owns all.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"
#include "pipemode.h"
#include "signals.h"

#define PIPE_HIGH_WATER 65536   /* stop reading stdin past this queue */

/*
 * Queue the complete lines read from stdin; no local echo (the output is
 * the server's).  Stops at a /quit, setting *eof: the rest is not sent.
 */
static void
send_lines(struct session *s, struct linebuf *in, int *eof)
{
    enum linebuf_result r;
    char *line;
    size_t len;

    while (!s->quit_sent &&
           (r = linebuf_next(in, &line, &len)) != LINEBUF_NONE) {
        if (r == LINEBUF_TOOLONG) {
            warnx("an input line over %d bytes was skipped", CONN_LINE_MAX);
            continue;
        }
        free(session_submit(s, line, len));
    }
    if (s->quit_sent)
        *eof = 1;
}

/*
 * Read stdin into in.  Returns 1, or 0 at end of input (a last line
 * without LF is completed), or -1 on error.
 */
static int
read_stdin(struct linebuf *in)
{
    char buf[16384];
    ssize_t n;

    do
        n = read(STDIN_FILENO, buf, sizeof(buf));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN)
            return 1;
        warn("stdin");
        return -1;
    }
    if (n == 0) {
        if (linebuf_partial(in) > 0)
            linebuf_append(in, "\n", 1);
        return 0;
    }
    linebuf_append(in, buf, (size_t)n);
    return 1;
}

/*
 * Send /quit (unless a line did), wait for the close that answers it,
 * and turn the server's errors into the exit status.
 */
static int
leave(struct session *s)
{
    int rc;

    if (!s->quit_sent)
        free(session_submit(s, "/quit", 5));
    rc = session_finish(s);
    if (rc != CHAT_EXIT_OK)
        return rc;
    if (s->nick == SESSION_NICK_REFUSED) {
        warnx("the server refused the nickname %s: nothing was sent",
              s->opts->nick);
        return CHAT_EXIT_REFUSED;
    }
    if (s->errors > 0) {
        warnx("the server answered %lu line%s with an error", s->errors,
              s->errors == 1 ? "" : "s");
        return CHAT_EXIT_REFUSED;
    }
    return CHAT_EXIT_OK;
}

/*
 * One poll round: the server's side, then stdin (not read while the
 * /nick is unanswered or the queue is full).  Returns an exit status, or
 * -1 to go on; sets *eof at the end of input.
 */
static int
pipe_step(struct session *s, struct linebuf *in, int *eof)
{
    struct pollfd pfd[3];
    char *text;
    int rc, sig;

    if (conn_flush(&s->conn) < 0) {
        session_lost(s, -1);
        return CHAT_EXIT_FAIL;
    }
    session_pollfds(s, pfd);
    pfd[2] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
    if (s->nick == SESSION_NICK_ASKED ||
        conn_pending(&s->conn) >= PIPE_HIGH_WATER)
        pfd[2].fd = -1;     /* let the server answer or catch up first */
    if (poll(pfd, 3, -1) < 0) {
        if (errno == EINTR)
            return -1;
        warn("poll");
        return CHAT_EXIT_FAIL;
    }
    if ((sig = signals_take(s->sigfd)) != 0)
        return signals_status(sig);
    rc = session_serve(s, pfd[1].revents, &text);
    session_print(text);
    if (rc <= 0) {
        session_lost(s, rc);
        return CHAT_EXIT_FAIL;
    }
    if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
        if ((rc = read_stdin(in)) < 0)
            return CHAT_EXIT_FAIL;
        if (rc == 0)
            *eof = 1;
    }
    return -1;
}

/*
 * Run a session for a script: returns the exit status (0 when all input
 * was sent, the server closed after our /quit and answered no line with
 * an error).
 */
int
pipe_run(struct session *s)
{
    struct linebuf in;
    int eof = 0, rc = -1;

    linebuf_init(&in, CONN_LINE_MAX);
    session_ask_nick(s);
    while (rc < 0) {
        if (s->nick == SESSION_NICK_REFUSED) {
            rc = leave(s);      /* send nothing as a guest */
            break;
        }
        if (s->nick != SESSION_NICK_ASKED)
            send_lines(s, &in, &eof);
        if (eof && s->nick != SESSION_NICK_ASKED) {
            rc = leave(s);
            break;
        }
        rc = pipe_step(s, &in, &eof);
    }
    linebuf_free(&in);
    return rc;
}
