/*
 * chat.c: the chat client's main(): options, connecting, signals, and
 * what both front ends share: sending a typed line (with its local echo),
 * turning server output into display text, and leaving cleanly.
 *
 * Single-threaded.  Signal handlers only write the signal number to a
 * self-pipe that the poll loops watch, so the terminal is restored by
 * ordinary code, never from a handler.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "proto.h"
#include "xmalloc.h"

static int sigpipe_fds[2] = { -1, -1 };

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

/* Async-signal-safe: note the signal in the self-pipe. */
static void
on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;

    if (write(sigpipe_fds[1], &c, 1) < 0) {
        /* The pipe is full: enough signals are pending already. */
    }
    errno = saved;
}

/*
 * Create the self-pipe and catch the signals that end or disturb a
 * session.  SIGTSTP and SIGWINCH are caught only for a terminal.
 * Returns 0 or -1 with errno set.
 */
static int
signals_init(struct chat *ch, int tty)
{
    static const int quit_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    struct sigaction sa;

    if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    ch->sigfd = sigpipe_fds[0];
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_signal;
    for (size_t i = 0; i < sizeof(quit_sigs) / sizeof(quit_sigs[0]); i++)
        if (sigaction(quit_sigs[i], &sa, NULL) < 0)
            return -1;
    if (tty && (sigaction(SIGTSTP, &sa, NULL) < 0 ||
                sigaction(SIGWINCH, &sa, NULL) < 0))
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* The next signal caught and not yet handled, or 0. */
int
chat_signal_take(struct chat *ch)
{
    unsigned char c;
    ssize_t n;

    do
        n = read(ch->sigfd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? c : 0;
}

/* The exit status for a session ended by sig: 128 + its number. */
int
chat_signal_status(int sig)
{
    return 128 + sig;
}

/* ------------------------------------------------------------------ */
/* Session                                                             */
/* ------------------------------------------------------------------ */

/*
 * Send a line the user typed (len bytes, no LF; a trailing CR is
 * dropped; an empty line is not sent).  Returns the local echo, a
 * malloc'd string ending in LF, for lines the server will not show us
 * (our public messages and actions), else NULL.  Notes a /quit.
 */
char *
chat_submit(struct chat *ch, const char *line, size_t len)
{
    struct proto_cmd cmd;
    const char *self;
    char *copy, *echo = NULL;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return NULL;
    conn_queue(&ch->conn, line, len);
    copy = xmalloc(len + 1);
    memcpy(copy, line, len);
    copy[len] = '\0';
    proto_parse(copy, &cmd);
    self = nicks_self(&ch->nicks);
    if (*self == '\0')
        self = ch->nick ? ch->nick : "me";
    switch (cmd.type) {
    case PROTO_SAY:
        echo = render_own(&ch->render, PROTO_PUBLIC, self, cmd.text,
                          time(NULL));
        break;
    case PROTO_ME:
        echo = render_own(&ch->render, PROTO_ACTION, self, cmd.text,
                          time(NULL));
        break;
    case PROTO_QUIT:
        ch->quit_sent = 1;
        break;
    default:
        break;
    }
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

/* Render the complete lines in the input buffer onto *text. */
static void
drain_lines(struct chat *ch, char **text)
{
    enum linebuf_result r;
    char *line, *clean, *shown;
    size_t len;

    while ((r = linebuf_next(&ch->conn.in, &line, &len)) != LINEBUF_NONE) {
        if (r == LINEBUF_TOOLONG) {
            append(text, "chat: an overlong line from the server was "
                         "dropped\n");
            continue;
        }
        /* Never trust the far end with our terminal: sanitize again. */
        clean = xmalloc(3 * len + 1);
        proto_sanitize(line, len, clean);
        nicks_observe(&ch->nicks, clean);
        shown = render_line(&ch->render, clean, time(NULL));
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
int
chat_receive(struct chat *ch, char **text)
{
    long n = conn_fill(&ch->conn);

    *text = NULL;
    if (n == 0 && linebuf_partial(&ch->conn.in) > 0)
        linebuf_append(&ch->conn.in, "\n", 1);
    drain_lines(ch, text);
    if (n < 0)
        return -1;
    return n == 0 ? 0 : 1;
}

/* Say why the session ended, for rc from chat_receive() or a flush. */
void
chat_closed_message(struct chat *ch, int rc)
{
    if (rc < 0)
        warn("connection to %s port %s lost", ch->host, ch->port);
    else
        warnx("connection closed by the server");
}

/* Print s (may be NULL) on stdout and free it.  Main thread. */
void
chat_put(char *s)
{
    if (s != NULL) {
        fputs(s, stdout);
        fflush(stdout);
        free(s);
    }
}

/*
 * Leave after a /quit was queued (the terminal is already restored):
 * flush our queue, half-close, and print what the server still sends
 * until it closes the connection.  Gives up after CHAT_QUIT_IDLE_MS
 * without progress (bytes taken by the server or received from it).
 * Returns the exit status.
 */
int
chat_finish(struct chat *ch)
{
    long idle_end = -1, last_unsent = -1;
    int shut = 0;

    for (;;) {
        struct pollfd pfd[2];
        struct timespec ts;
        long now, unsent;
        int rc, sig;

        if (conn_flush(&ch->conn) < 0) {
            if (errno == EPIPE || errno == ECONNRESET)
                return CHAT_EXIT_OK;    /* closed after our /quit */
            chat_closed_message(ch, -1);
            return CHAT_EXIT_FAIL;
        }
        if (!shut && conn_pending(&ch->conn) == 0) {
            shutdown(ch->conn.fd, SHUT_WR);
            shut = 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
        unsent = (long)conn_pending(&ch->conn) + conn_unsent(&ch->conn);
        if (idle_end < 0 || unsent != last_unsent)
            idle_end = now + CHAT_QUIT_IDLE_MS;
        last_unsent = unsent;
        if (now >= idle_end) {
            warnx("the server did not close the connection; "
                  "some lines may not have been delivered");
            return CHAT_EXIT_FAIL;
        }
        pfd[0] = (struct pollfd){ .fd = ch->sigfd, .events = POLLIN };
        pfd[1] = (struct pollfd){ .fd = ch->conn.fd, .events = POLLIN };
        if (!shut)
            pfd[1].events |= POLLOUT;
        rc = poll(pfd, 2, (int)(idle_end - now < 200 ? idle_end - now
                                                      : 200));
        if (rc < 0 && errno != EINTR) {
            warn("poll");
            return CHAT_EXIT_FAIL;
        }
        if ((sig = chat_signal_take(ch)) != 0 && sig != SIGWINCH &&
            sig != SIGTSTP)
            return chat_signal_status(sig);
        if (rc > 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char *text;
            rc = chat_receive(ch, &text);
            chat_put(text);
            if (rc <= 0)
                return CHAT_EXIT_OK;    /* the close we asked for */
            idle_end = now + CHAT_QUIT_IDLE_MS;
        }
    }
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

#define USAGE "usage: chat [-t] [-n nick] [--no-color] [host [port]]\n"

/* A bad command line: the synopsis and a pointer to --help, exit 2. */
static void
usage_error(void)
{
    fputs(USAGE "Try 'chat --help' for more.\n", stderr);
    exit(CHAT_EXIT_USAGE);
}

/* --help: the synopsis, the options and an example, on stdout. */
static void
usage(void)
{
    printf(USAGE
        "\n"
        "Talk on a chatd server (default: localhost port 7777).\n"
        "\n"
        "  -n, --nick NICK   take this nickname on connecting\n"
        "  -t, --timestamps  show the time before each line\n"
        "      --no-color    no colours (also: NO_COLOR set, or stdout\n"
        "                    not a terminal)\n"
        "  -h, --help        show this help and exit\n"
        "  -V, --version     show the version and exit\n"
        "\n"
        "On a terminal, type a line and press Enter to send it; /help\n"
        "lists the server's commands, /quit or Ctrl-D leaves.  With\n"
        "stdin not a terminal, each input line is sent as a message:\n"
        "  echo \"deploy done\" | chat -n ci chat.example.org\n"
        "See chat(1).\n");
}

/* Colour is on unless asked off, NO_COLOR is set, or not a terminal. */
static int
want_color(int no_color)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

    if (no_color || (nc != NULL && *nc != '\0'))
        return 0;
    if (term != NULL && strcmp(term, "dumb") == 0)
        return 0;
    return isatty(STDOUT_FILENO);
}

/* Parse the command line into ch; exits on --help, --version, errors. */
static void
parse_args(struct chat *ch, int argc, char **argv)
{
    enum { OPT_NO_COLOR = 256 };
    static const struct option longopts[] = {
        { "nick",       required_argument, NULL, 'n' },
        { "timestamps", no_argument,       NULL, 't' },
        { "no-color",   no_argument,       NULL, OPT_NO_COLOR },
        { "no-colour",  no_argument,       NULL, OPT_NO_COLOR },
        { "help",       no_argument,       NULL, 'h' },
        { "version",    no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    const char *why;
    int c, no_color = 0;

    while ((c = getopt_long(argc, argv, "hn:tV", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!proto_nick_valid(optarg, &why))
                errx(CHAT_EXIT_USAGE, "bad nickname '%s': %s", optarg, why);
            ch->nick = optarg;
            break;
        case 't':
            ch->render.timestamps = 1;
            break;
        case OPT_NO_COLOR:
            no_color = 1;
            break;
        case 'h':
            usage();
            exit(CHAT_EXIT_OK);
        case 'V':
            printf("chat (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            exit(CHAT_EXIT_OK);
        default:
            usage_error();
        }
    }
    argc -= optind;
    argv += optind;
    if (argc > 2)
        usage_error();
    ch->host = argc > 0 ? argv[0] : "localhost";
    ch->port = argc > 1 ? argv[1] : "7777";
    ch->render.color = want_color(no_color);
}

/*
 * Parse the options, connect (with default signal handling: nothing to
 * restore yet), then hand over to the terminal or the script front end
 * by whether stdin is a terminal.  Returns the exit status of chat(1).
 */
int
main(int argc, char **argv)
{
    struct chat ch;
    char why[512];
    int tty, rc;

    memset(&ch, 0, sizeof(ch));
    ch.sigfd = -1;
    parse_args(&ch, argc, argv);
    nicks_init(&ch.nicks);
    if (conn_open(&ch.conn, ch.host, ch.port, why, sizeof(why)) < 0) {
        warnx("%s", why);
        return CHAT_EXIT_FAIL;
    }
    tty = isatty(STDIN_FILENO);
    if (signals_init(&ch, tty) < 0)
        err(CHAT_EXIT_FAIL, "signals");
    rc = tty ? tty_run(&ch) : pipe_run(&ch);
    conn_close(&ch.conn);
    nicks_free(&ch.nicks);
    return rc;
}
