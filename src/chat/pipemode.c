/*
 * pipemode.c: the chat client when stdin is not a terminal, for scripts:
 * every input line is sent as it is (so it may be a /command), what the
 * server sends is printed, and at the end of input the client sends
 * /quit and waits for the server to close, so that every line has been
 * taken before it exits 0.  Single-threaded: the main thread owns all.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "linebuf.h"

#define PIPE_HIGH_WATER 65536   /* stop reading stdin past this queue */


/*
 * Queue the complete lines read from stdin; no local echo (the output is
 * the server's).  Stops at a /quit, setting *eof: the rest is not sent.
 */
static void
send_lines(struct chat *ch, struct linebuf *in, int *eof)
{
    enum linebuf_result r;
    char *line;
    size_t len;

    while (!ch->quit_sent &&
           (r = linebuf_next(in, &line, &len)) != LINEBUF_NONE) {
        if (r == LINEBUF_TOOLONG) {
            warnx("an input line over %d bytes was skipped", CONN_LINE_MAX);
            continue;
        }
        free(chat_submit(ch, line, len));
    }
    if (ch->quit_sent)
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

/* Handle the server's side of one poll round; returns -1 to go on. */
static int
server_ready(struct chat *ch, const struct pollfd *p)
{
    char *text;
    int rc;

    if (p->revents & POLLOUT && conn_flush(&ch->conn) < 0) {
        chat_closed_message(ch, -1);
        return CHAT_EXIT_FAIL;
    }
    if (!(p->revents & (POLLIN | POLLHUP | POLLERR)))
        return -1;
    rc = chat_receive(ch, &text);
    chat_put(text);
    if (rc > 0)
        return -1;
    chat_closed_message(ch, rc);
    return CHAT_EXIT_FAIL;
}

/*
 * Run a session for a script: returns the exit status (0 when all input
 * was sent and the server closed after our /quit).
 */
int
pipe_run(struct chat *ch)
{
    struct linebuf in;
    int eof = 0, rc = -1;
    char cmd[PROTO_NICK_MAX + 8];

    linebuf_init(&in, CONN_LINE_MAX);
    if (ch->nick != NULL) {
        snprintf(cmd, sizeof(cmd), "/nick %s", ch->nick);
        free(chat_submit(ch, cmd, strlen(cmd)));
    }
    while (rc < 0) {
        struct pollfd pfd[3];
        int sig;

        send_lines(ch, &in, &eof);
        if (eof) {
            if (!ch->quit_sent)
                free(chat_submit(ch, "/quit", 5));
            rc = chat_finish(ch);
            break;
        }
        if (conn_flush(&ch->conn) < 0) {
            chat_closed_message(ch, -1);
            rc = CHAT_EXIT_FAIL;
            break;
        }
        pfd[0] = (struct pollfd){ .fd = ch->sigfd, .events = POLLIN };
        pfd[1] = (struct pollfd){ .fd = ch->conn.fd, .events = POLLIN };
        if (conn_pending(&ch->conn) > 0)
            pfd[1].events |= POLLOUT;
        pfd[2] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
        if (conn_pending(&ch->conn) >= PIPE_HIGH_WATER)
            pfd[2].fd = -1;     /* let the server catch up first */
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            warn("poll");
            rc = CHAT_EXIT_FAIL;
            break;
        }
        if ((sig = chat_signal_take(ch)) != 0) {
            rc = chat_signal_status(sig);
            break;
        }
        if ((rc = server_ready(ch, &pfd[1])) >= 0)
            break;
        if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            int r = read_stdin(&in);
            if (r < 0)
                rc = CHAT_EXIT_FAIL;
            else if (r == 0)
                eof = 1;
        }
    }
    linebuf_free(&in);
    return rc;
}
