/*
 * harness.c: what every test suite shares (see harness.h): the suite
 * runner and the integration-test helpers.  Everything here belongs to
 * the calling test thread; a server logs to its own file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>

#include "harness.h"

/*
 * Run every test of s (check forks each one) and free the runner: the
 * whole of a suite's main() but for what is peculiar to it.  Returns
 * EXIT_SUCCESS when every test passed, else EXIT_FAILURE.
 */
int
h_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * A new TCase called name in s, run between setup and teardown in each
 * test's process (either may be NULL), with a timeout of secs (0: the
 * default).  The caller adds its tests.
 */
TCase *
h_tcase(Suite *s, const char *name, void (*setup)(void),
        void (*teardown)(void), int secs)
{
    TCase *tc = tcase_create(name);

    if (setup != NULL || teardown != NULL)
        tcase_add_checked_fixture(tc, setup, teardown);
    if (secs > 0)
        tcase_set_timeout(tc, secs);
    suite_add_tcase(s, tc);
    return tc;
}

long
h_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void (*hserver_pre_exec)(void);

const char *
hserver_chatd(void)
{
    const char *p = getenv("CHATD");

    return p && *p ? p : "../src/chatd";
}

/* The whole of the file at path (malloc'd, NUL-terminated; "" if it
 * cannot be read). */
char *
h_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);

    if (buf == NULL)
        abort();
    buf[0] = '\0';
    if (f == NULL)
        return buf;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
            abort();
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Everything the server has logged so far (malloc'd, NUL-terminated). */
char *
hserver_log(struct hserver *s)
{
    return h_read_file(s->logpath);
}

static int
exited(struct hserver *s)
{
    return s->pid <= 0 || kill(s->pid, 0) < 0;
}

/*
 * Wait up to ms for needle to appear in the server's log.  Returns 1 when
 * it did, 0 on timeout or when the server is gone without it.
 */
int
hserver_wait_log(struct hserver *s, const char *needle, int ms)
{
    long end = h_now_ms() + ms;

    for (;;) {
        char *log = hserver_log(s);
        int found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return 1;
        if (exited(s) || h_now_ms() > end)
            return 0;
        usleep(5000);
    }
}

/* The port of the first "listening on ADDR:PORT (tls)" line, or 0. */
static int
tls_port_logged(struct hserver *s)
{
    char *log = hserver_log(s);
    const char *p = strstr(log, " (tls)\n");
    int port = 0;

    if (p != NULL) {
        while (p > log && p[-1] != ':')
            p--;
        port = atoi(p);
    }
    free(log);
    return port;
}

/*
 * Start chatd with argv (argv[0] is ignored and replaced by $CHATD) and
 * wait for its "listening on" line; s->port is the port it reports, and
 * s->tls_port that of its TLS port, if it has one.
 * Returns 0, or -1 if it did not get that far (its log is in s->log).
 */
int
hserver_start_argv(struct hserver *s, const char *const *argv)
{
    const char *argv2[64];
    size_t n = 0;
    int fd;

    memset(s, 0, sizeof(*s));
    argv2[n++] = hserver_chatd();
    for (size_t i = 1; argv[i] && n < 63; i++)
        argv2[n++] = argv[i];
    argv2[n] = NULL;
    snprintf(s->logpath, sizeof(s->logpath), "/tmp/chatd-test-XXXXXX");
    if ((fd = mkstemp(s->logpath)) < 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(fd, STDERR_FILENO);
        if (hserver_pre_exec != NULL)
            hserver_pre_exec();
        execv(argv2[0], (char *const *)argv2);
        fprintf(stderr, "exec %s: %s\n", argv2[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    if (!hserver_wait_log(s, "listening on ", 10000)) {
        char *log = hserver_log(s);
        fprintf(stderr, "---- chatd did not start; its log:\n%s----\n", log);
        free(log);
        return -1;
    }
    char *log = hserver_log(s);
    const char *p = strstr(log, "listening on ");
    const char *nl = strchr(p, '\n');
    const char *colon = p;
    for (const char *q = p; nl && q < nl; q++)
        if (*q == ':')
            colon = q;
    s->port = atoi(colon + 1);
    free(log);
    /* Every listener is logged before this line. */
    hserver_wait_log(s, " ready: ", 5000);
    s->tls_port = tls_port_logged(s);
    return s->port > 0 ? 0 : -1;
}

/* Start "$CHATD -p 0 -w 2 ARGS..." (args NULL-terminated, may be NULL). */
int
hserver_start(struct hserver *s, const char *const *args)
{
    const char *argv[64] = { "chatd", "-p", "0", "-w", "2" };
    size_t n = 5;

    for (size_t i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return hserver_start_argv(s, argv);
}

int
hserver_signal(struct hserver *s, int sig)
{
    return kill(s->pid, sig);
}

/*
 * SIGTERM the server and wait up to 10 s.  Returns its exit status (0 on a
 * clean shutdown), 128+N if killed by signal N, or -1 if it had to be
 * killed after the timeout.
 */
int
hserver_stop(struct hserver *s)
{
    int status = 0, rc = -1;
    long end;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    end = h_now_ms() + 10000;
    while (h_now_ms() < end) {
        pid_t p = waitpid(s->pid, &status, WNOHANG);
        if (p == s->pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status)
                                   : 128 + WTERMSIG(status);
            break;
        }
        usleep(10000);
    }
    if (rc == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
    }
    if (rc != 0 || getenv("H_VERBOSE")) {
        char *log = hserver_log(s);
        fprintf(stderr, "---- chatd log (exit %d):\n%s----\n", rc, log);
        free(log);
    }
    unlink(s->logpath);
    s->pid = 0;
    return rc;
}

/* The server's resident set size in KiB, from /proc. */
long
hserver_rss_kb(struct hserver *s)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* How many descriptors the server has open. */
int
hserver_nfds(struct hserver *s)
{
    char path[64];
    struct dirent *de;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)s->pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

/* Fill ss with addr and port; returns its length. */
static socklen_t
fill_addr(struct sockaddr_storage *ss, const char *addr, int port)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (void *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &s6->sin6_addr);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (void *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &s4->sin_addr);
    return sizeof(*s4);
}

/*
 * Connect to addr:port from the local address src (such as 127.0.0.2,
 * to be another client address on loopback), or NULL on failure.
 */
struct hconn *
hconn_open_from(const char *src, const char *addr, int port)
{
    struct sockaddr_storage ss, from;
    socklen_t sl = fill_addr(&ss, addr, port);
    socklen_t fl = fill_addr(&from, src, 0);
    struct hconn *c;
    int fd;

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (bind(fd, (struct sockaddr *)&from, fl) < 0 ||
        connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->fd = fd;
    return c;
}

struct hconn *
hconn_open_addr(const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct hconn *c;
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (void *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &s6->sin6_addr);
        sl = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (void *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr, &s4->sin_addr);
        sl = sizeof(*s4);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->fd = fd;
    return c;
}

struct hconn *
hconn_open(int port)
{
    return hconn_open_addr("127.0.0.1", port);
}

/*
 * Connect and read the welcome line; the guest nickname it names is
 * copied to nick (if not NULL).
 */
struct hconn *
hconn_join(int port, char *nick, size_t len)
{
    struct hconn *c = hconn_open(port);
    char line[512];

    if (c == NULL)
        return NULL;
    if (hconn_expect(c, "*** welcome to chatd, ", line, sizeof(line),
                     H_TIMEOUT_MS) != 1) {
        hconn_close(c);
        return NULL;
    }
    if (nick) {
        const char *p = line + strlen("*** welcome to chatd, ");
        size_t n = strcspn(p, "!");
        snprintf(nick, len, "%.*s", (int)n, p);
    }
    return c;
}

void
hconn_close(struct hconn *c)
{
    if (c == NULL)
        return;
    if (c->io != NULL)
        c->io->close(c);
    close(c->fd);
    free(c);
}

/* Write all of data; returns 0 or -1. */
int
hconn_write(struct hconn *c, const void *data, size_t len)
{
    const char *p = data;

    if (c->io != NULL)
        return c->io->write(c, data, len);
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
hconn_send(struct hconn *c, const char *fmt, ...)
{
    char buf[65536];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return -1;
    return hconn_write(c, buf, (size_t)n);
}

/*
 * Read the next line (without LF) into out within ms.  Returns 1 for a
 * line, 0 on timeout, -1 on EOF or error.
 */
int
hconn_line(struct hconn *c, char *out, size_t cap, int ms)
{
    long end = h_now_ms() + ms;

    for (;;) {
        char *p = c->buf + c->off;
        char *nl = memchr(p, '\n', c->len - c->off);
        if (nl != NULL) {
            size_t n = (size_t)(nl - p);
            snprintf(out, cap, "%.*s", (int)n, p);
            c->off += n + 1;
            return 1;
        }
        if (c->off > 0) {               /* keep the partial line only */
            memmove(c->buf, p, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        if (c->len == sizeof(c->buf))
            return -1;
        long left = end - h_now_ms();
        if (left < 0)
            left = 0;               /* still look once without waiting */
        if (c->io != NULL) {
            ssize_t r = c->io->read(c, c->buf + c->len,
                                    sizeof(c->buf) - c->len, (int)left);
            if (r <= 0)
                return (int)r;
            c->len += (size_t)r;
            continue;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return rc == 0 ? 0 : -1;
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

/*
 * Read lines until one contains needle (copied to out if not NULL).
 * Returns 1 when found, 0 on timeout, -1 on EOF.
 */
int
hconn_expect(struct hconn *c, const char *needle, char *out, size_t cap,
             int ms)
{
    char line[70000];
    long end = h_now_ms() + ms;

    for (;;) {
        long left = end - h_now_ms();
        int rc = hconn_line(c, line, sizeof(line), left > 0 ? (int)left : 0);
        if (rc != 1)
            return rc;
        if (strstr(line, needle)) {
            if (out)
                snprintf(out, cap, "%s", line);
            return 1;
        }
    }
}

/*
 * Fail the test unless a line containing want arrives within
 * H_TIMEOUT_MS (lines before it are skipped); the line goes to out.
 */
void
h_expect(struct hconn *c, const char *want, char *out, size_t cap)
{
    int rc = hconn_expect(c, want, out, cap, H_TIMEOUT_MS);

    ck_assert_msg(rc == 1, "expected \"%s\", got %s", want,
                  rc == 0 ? "nothing (timeout)" : "EOF");
}

/*
 * One round trip: send H_BARRIER_CMD and read up to its answer.  The
 * worker writes a client's lines in order, so whatever it had for c when
 * it read the command comes first.  Returns 1 if the answer was the very
 * next line; 0 if another came first (copied to out; the lines up to the
 * answer are read and dropped); -1 on timeout or EOF (out says which).
 */
int
hconn_roundtrip(struct hconn *c, char *out, size_t cap)
{
    char line[70000];
    int first = 1, rc;

    if (hconn_send(c, H_BARRIER_CMD "\n") < 0) {
        snprintf(out, cap, "(write error)");
        return -1;
    }
    while ((rc = hconn_line(c, line, sizeof(line), H_TIMEOUT_MS)) == 1) {
        if (strcmp(line, H_BARRIER_REPLY) == 0)
            return first;
        if (first)
            snprintf(out, cap, "%s", line);
        first = 0;
    }
    if (first)
        snprintf(out, cap, "%s", rc == 0 ? "(no answer: timeout)"
                                         : "(no answer: EOF)");
    return -1;
}

/*
 * Prove that nothing is on its way to c: two round trips, one after the
 * other, with no line but their answers.  One is not enough: a line
 * published to c's worker just before the first command may be written
 * right after its answer (the worker runs what it read before it drains
 * its mailbox); it cannot follow the second.  For a line another client
 * of the same server would have caused, have that client do a round trip
 * first (its worker publishes before it answers).  Returns as
 * hconn_roundtrip().
 */
int
hconn_barrier(struct hconn *c, char *out, size_t cap)
{
    int rc = hconn_roundtrip(c, out, cap);

    return rc == 1 ? hconn_roundtrip(c, out, cap) : rc;
}

/* Fail the test unless hconn_barrier() finds nothing on its way to c. */
void
h_silent(struct hconn *c)
{
    char line[1024];

    ck_assert_msg(hconn_barrier(c, line, sizeof(line)) == 1,
                  "expected nothing more, got \"%s\"", line);
}

/* 1 if the server closes the connection within ms (lines are skipped). */
int
hconn_closed(struct hconn *c, int ms)
{
    char line[70000];
    long end = h_now_ms() + ms;

    for (;;) {
        long left = end - h_now_ms();
        if (left <= 0)
            return 0;
        int rc = hconn_line(c, line, sizeof(line), (int)left);
        if (rc < 0)
            return 1;
        if (rc == 0)
            return 0;
    }
}

/*
 * Send "m 0" to "m N-1", one line each, pausing 1 ms after every ten so
 * that concurrent senders interleave.  Returns 0, or -1 on a write error.
 */
int
hconn_send_numbered(struct hconn *c, int n)
{
    for (int i = 0; i < n; i++) {
        if (hconn_send(c, "m %d\n", i) < 0)
            return -1;
        if (i % 10 == 9)
            usleep(1000);
    }
    return 0;
}

/*
 * Take a nickname and wait for the confirmation.  A name still held by a
 * client of an earlier test that the server has not seen leave yet (its
 * worker may be another) is asked for again, for up to H_TIMEOUT_MS.
 * Returns 1 once the name is taken, 0 if it never was.
 */
int
hconn_nick(struct hconn *c, const char *nick)
{
    char line[1024];
    long end = h_now_ms() + H_TIMEOUT_MS;

    while (h_now_ms() < end) {
        hconn_send(c, "/nick %s\n", nick);
        for (;;) {
            long left = end - h_now_ms();
            if (hconn_line(c, line, sizeof(line),
                           left > 0 ? (int)left : 0) != 1)
                return 0;
            if (strstr(line, "*** you are now known as ") == line ||
                strstr(line, "*** you are already known as ") == line)
                return 1;
            if (strstr(line, "*** error: nickname is already in use"))
                break;
        }
        usleep(20000);
    }
    return 0;
}

/* Shrink the receive buffer (before much data flows). */
int
hconn_rcvbuf(struct hconn *c, int bytes)
{
    return setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

/*
 * Run argv to completion; its stdout and stderr go to out (cap bytes,
 * NUL-terminated).  *status is its exit status.  Returns 0 or -1.
 */
int
h_run(const char *const *argv, char *out, size_t cap, int *status)
{
    int pfd[2], st;
    size_t len = 0;
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        dup2(pfd[1], STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        ssize_t n = read(pfd[0], out + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    out[len] = '\0';
    close(pfd[0]);
    waitpid(pid, &st, 0);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

/*
 * Does line start with a replay's time stamp, "[YYYY-MM-DD HH:MM] ", of
 * a time within two minutes of now, in UTC?  Returns 1 or 0.
 */
int
h_stamp_ok(const char *line)
{
    struct tm tm, now;
    time_t t = time(NULL), then;
    int n = 0;

    memset(&tm, 0, sizeof(tm));
    if (strlen(line) < 19 || line[0] != '[' || line[17] != ']' ||
        line[18] != ' ' ||
        sscanf(line, "[%4d-%2d-%2d %2d:%2d]%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &n) != 5 || n != 18)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    then = timegm(&tm);
    gmtime_r(&t, &now);
    return then != (time_t)-1 && then <= t + 60 && then >= t - 180;
}

/* Is line the history line want (H_STAMP and the line as sent)? */
int
h_stamped_is(const char *line, const char *want)
{
    return strncmp(want, H_STAMP, 4) == 0 && h_stamp_ok(line) &&
           strcmp(line + 19, want + 4) == 0;
}
