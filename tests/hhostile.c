/*
 * hhostile.c: the hostile suites' server, honest watchers and raw sockets
 * (hhostile.h).  Everything runs on the test's thread.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cleanline.h"
#include "hhostile.h"
#include "proto.h"

struct hserver srv;
int base_fds;
long base_rss;

/* RSS is meaningless under a sanitizer or valgrind (CHATD_NO_RSS). */
int
rss_checked(void)
{
    return !SANITIZED && getenv("CHATD_NO_RSS") == NULL;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Is s a line chatd may relay (cleanline.h), not over max-line? */
int
clean_line(const char *s)
{
    size_t n = strlen(s);

    return n <= MAX_LINE + PROTO_PREFIX_MAX && clean_utf8(s, n);
}

void
watch(struct watcher *w, struct hconn *c, const char *nick, const char *tag)
{
    memset(w, 0, sizeof(*w));
    w->c = c;
    snprintf(w->prefix, sizeof(w->prefix), "<%.64s> %.32s ", nick, tag);
}

/* Check one line an honest client got. */
void
got_line(struct watcher *w, const char *line)
{
    size_t plen = strlen(w->prefix);

    w->lines++;
    ck_assert_msg(clean_line(line), "unclean line: %.80s", line);
    if (w->look != NULL && strstr(line, w->look) != NULL)
        w->seen++;
    if (plen > 0 && strncmp(line, w->prefix, plen) == 0) {
        int n = atoi(line + plen);
        ck_assert_msg(n == w->next, "%s: got %d, expected %d", w->prefix,
                      n, w->next);
        w->next++;
    }
}

/* Read and check whatever has arrived, waiting at most ms for the first
 * line.  Fails the test if the connection is closed. */
void
drain(struct watcher *w, int ms)
{
    char line[70000];
    int rc;

    while ((rc = hconn_line(w->c, line, sizeof(line), ms)) == 1) {
        got_line(w, line);
        ms = 1;
    }
    ck_assert_msg(rc == 0, "honest client was disconnected");
}

/* Read until the numbered stream reaches `count`, within ms. */
void
drain_until(struct watcher *w, int count, int ms)
{
    long end = h_now_ms() + ms;

    while (w->next < count && h_now_ms() < end)
        drain(w, 50);
    ck_assert_msg(w->next == count, "%s: got %d of %d lines", w->prefix,
                  w->next, count);
}

/* A raw, connected socket to the server (blocking, close-on-exec). */
int
raw_connect(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons((uint16_t)srv.port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Close with an RST instead of a FIN. */
void
close_rst(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* Throw away whatever fd has to read, without blocking. */
void
discard_input(int fd)
{
    char buf[65536];

    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

/* The server's CPU time (user + system) in clock ticks. */
long
server_cpu_ticks(void)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)srv.pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    ck_assert_ptr_nonnull(p);
    /* After ")": state, then fields 4..13, then utime and stime. */
    ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                            "%*u %*u %lu %lu", &ut, &st), 2);
    return (long)(ut + st);
}

/* Is the server still running (not exited, not a zombie)? */
int
server_alive(void)
{
    char path[64], buf[512];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)srv.pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p != NULL && p[2] != 'Z' && p[2] != 'X';
}

void
start(const char *const *args)
{
    struct hconn *c;
    int with;

    ck_assert_msg(hserver_start(&srv, args) == 0, "chatd did not start");
    /* The acceptor opens its epoll descriptor after "ready" is logged:
     * count once one client has been served and has left. */
    ck_assert_ptr_nonnull(c = hconn_join(srv.port, NULL, 0));
    with = hserver_nfds(&srv);
    hconn_close(c);
    for (long end = h_now_ms() + 2000; h_now_ms() < end; usleep(10000))
        if (hserver_nfds(&srv) < with)
            break;
    base_fds = hserver_nfds(&srv);
    base_rss = hserver_rss_kb(&srv);
    ck_assert_int_eq(base_fds, with - 1);
}

/*
 * The checks after every hostile scenario (see the top of the file);
 * stops the server, which must exit 0.
 */
void
after(const char *what)
{
    char na[64], nb[64], want[128];
    struct hconn *a, *b;
    int fds = -1;
    long rss;

    ck_assert_msg(server_alive(), "%s: chatd died", what);
    a = hconn_join(srv.port, na, sizeof(na));
    b = hconn_join(srv.port, nb, sizeof(nb));
    ck_assert_msg(a && b, "%s: a fresh client cannot join", what);
    hconn_send(a, "still here after %s\n", what);
    snprintf(want, sizeof(want), "<%s> still here after %s", na, what);
    ck_assert_msg(hconn_expect(b, want, NULL, 0, H_TIMEOUT_MS) == 1,
                  "%s: a fresh client cannot chat", what);
    hconn_close(a);
    hconn_close(b);

    for (long end = h_now_ms() + 5000; h_now_ms() < end; usleep(20000))
        if ((fds = hserver_nfds(&srv)) <= base_fds)
            break;
    ck_assert_msg(fds == base_fds, "%s: %d descriptors open, %d at start",
                  what, fds, base_fds);
    rss = hserver_rss_kb(&srv);
    fprintf(stderr, "%s: rss %ld KiB (%ld at start), %d fds\n", what, rss,
            base_rss, fds);
    if (rss_checked())
        ck_assert_msg(rss <= base_rss + RSS_SLACK_KB,
                      "%s: RSS %ld KiB, %ld KiB at start", what, rss,
                      base_rss);
    ck_assert_int_eq(hserver_stop(&srv), 0);
}

/* A joined honest client and its nickname. */
struct hconn *
join(char *nick, size_t len)
{
    struct hconn *c = hconn_join(srv.port, nick, len);

    ck_assert_ptr_nonnull(c);
    return c;
}

/* A TCase of the one test t, with a timeout of its own. */
void
hostile_case(Suite *s, const char *name, const TTest *t, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_test(tc, t);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
}
