/*
 * signals.c: the self-pipe and the handler that feeds it (see
 * signals.h).  The handler runs on the main thread, the client's only
 * one, and only writes the signal number to the pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "signals.h"

static int sigpipe_fds[2] = { -1, -1 };

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
 * session; SIGTSTP and SIGWINCH only for a terminal (tty set).  SIGPIPE
 * is ignored.  Returns the pipe's read end to poll, or -1 with errno set.
 */
int
signals_init(int tty)
{
    static const int quit_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    struct sigaction sa;

    if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
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
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return -1;
    return sigpipe_fds[0];
}

/* The next signal caught on the pipe fd and not yet handled, or 0. */
int
signals_take(int fd)
{
    unsigned char c;
    ssize_t n;

    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? c : 0;
}

/* The exit status for a session ended by sig: 128 + its number. */
int
signals_status(int sig)
{
    return 128 + sig;
}
