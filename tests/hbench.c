/*
 * hbench.c: what the chatbench suites share: running the real
 * $CHATBENCH with a time limit and reading its summary line, and starting
 * a real $CHATD on port 0.  Single-threaded; called from the tests (in
 * their forked processes) and the fixtures (in the parent).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hbench.h"

/* CLOCK_MONOTONIC in ms. */
uint64_t
hb_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The chatbench under test: $CHATBENCH, or the one in the build tree. */
const char *
hb_chatbench_path(void)
{
    const char *p = getenv("CHATBENCH");

    return p != NULL ? p : "src/chatbench/chatbench";
}

/*
 * Run argv (argv[0] is the program) with stdout and stderr into out (up to
 * cap - 1 bytes, NUL-terminated), for at most timeout_ms.  Returns the
 * wait status; fails the test if the program cannot be run or hangs.
 */
int
hb_run(char *const argv[], char *out, size_t cap, int timeout_ms)
{
    int fds[2], status;
    size_t len = 0;
    uint64_t end = hb_now_ms() + (uint64_t)timeout_ms;
    pid_t pid;

    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (dup2(fds[1], STDOUT_FILENO) < 0 ||
            dup2(fds[1], STDERR_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        int64_t left = (int64_t)(end - hb_now_ms());
        ssize_t n;
        char sink[4096];

        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ck_abort_msg("%s did not finish in %d ms", argv[0], timeout_ms);
        }
        if (poll(&p, 1, (int)left) < 0) {
            ck_assert_int_eq(errno, EINTR);
            continue;
        }
        if (len + 1 < cap)
            n = read(fds[0], out + len, cap - 1 - len);
        else
            n = read(fds[0], sink, sizeof(sink));
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        if (len + 1 < cap)
            len += (size_t)n;
    }
    out[len] = '\0';
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

/* The numeric value of key=... on the final "chatbench: " line of out. */
unsigned long long
hb_field(const char *out, const char *key)
{
    const char *line = strstr(out, "chatbench: proto=");
    char pat[64];
    const char *p;

    ck_assert_msg(line != NULL, "no summary line in:\n%s", out);
    snprintf(pat, sizeof(pat), " %s=", key);
    p = strstr(line, pat);
    ck_assert_msg(p != NULL, "no %s= in: %s", key, line);
    return strtoull(p + strlen(pat), NULL, 10);
}


/*
 * Start $CHATD -p 0 -w 2 with the flood control flags given (NULL for
 * chatd's defaults) and read its port from the "listening on [::]:PORT"
 * line on its stderr, within 5 s, into port.  Sets *pid and *err (the
 * read end of its stderr, non-blocking).
 */
void
hb_chatd_spawn(const char *rate, pid_t *pid, int *err, char *port, size_t cap)
{
    const char *chatd = getenv("CHATD");
    char buf[4096];
    size_t len = 0;
    uint64_t end = hb_now_ms() + 5000;
    int fds[2];

    if (chatd == NULL)
        chatd = "src/chatd";
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    *pid = fork();
    ck_assert_int_ge(*pid, 0);
    if (*pid == 0) {
        if (dup2(fds[1], STDERR_FILENO) < 0)
            _exit(127);
        if (rate != NULL)
            execl(chatd, chatd, "-p", "0", "-w", "2", "--rate", rate,
                  (char *)NULL);
        else
            execl(chatd, chatd, "-p", "0", "-w", "2", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *err = fds[0];
    port[0] = '\0';
    while (len + 1 < sizeof(buf)) {
        struct pollfd p = { .fd = *err, .events = POLLIN };
        const char *at;
        ssize_t n;

        ck_assert_msg(hb_now_ms() < end, "chatd did not say it listens");
        if (poll(&p, 1, 100) <= 0)
            continue;
        n = read(*err, buf + len, sizeof(buf) - 1 - len);
        ck_assert_msg(n > 0, "chatd exited: %.*s", (int)len, buf);
        len += (size_t)n;
        buf[len] = '\0';
        if ((at = strstr(buf, "listening on [::]:")) != NULL &&
            strchr(at, '\n') != NULL) {
            snprintf(port, cap, "%d",
                     atoi(at + strlen("listening on [::]:")));
            break;
        }
    }
    ck_assert_int_gt(atoi(port), 0);
    ck_assert_int_eq(fcntl(*err, F_SETFL, O_NONBLOCK), 0);
}
