/*
 * check_hostile.c: hostile clients against the real chatd (issue 7).
 *
 * Each test starts its own chatd, lets slow, broken or hostile clients
 * loose on it while honest clients chat, and then checks the same
 * things (after()): the server is alive, a fresh pair of clients chats
 * normally, its descriptor count is back to where it started, its RSS
 * is within RSS_SLACK_KB of where it started, the honest clients got
 * every line they were due, in order, and every line they got was clean
 * (valid UTF-8, no control bytes, at most max-line plus the prefix).
 * Finally SIGTERM must give exit status 0.
 *
 * Everything here runs on the test's thread; each TCase has a timeout.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cleanline.h"
#include "harness.h"
#include "proto.h"

#define MAX_LINE        1024    /* chatd's default max-line */
#define RSS_SLACK_KB    (32 * 1024)
/* An honest line's round trip while others misbehave.  A stall would be
 * unbounded; this is generous so valgrind and TSan runs do not flake. */
#define HONEST_MS       2000
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED       1       /* shadow memory and quarantine: no RSS */
#else
#define SANITIZED       0
#endif

static struct hserver srv;
static int base_fds;
static long base_rss;

/* RSS is meaningless under a sanitizer or valgrind (CHATD_NO_RSS). */
static int
rss_checked(void)
{
    return !SANITIZED && getenv("CHATD_NO_RSS") == NULL;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Is s a line chatd may relay (cleanline.h), not over max-line? */
static int
clean_line(const char *s)
{
    size_t n = strlen(s);

    return n <= MAX_LINE + PROTO_PREFIX_MAX && clean_utf8(s, n);
}

/*
 * An honest client that watches a numbered stream: lines "<nick> TAG N"
 * from one sender must arrive with N = 0, 1, 2, ... and no gaps.
 */
struct watcher {
    struct hconn *c;
    char          prefix[128];  /* "<nick> TAG " */
    int           next;         /* next N expected */
    long          lines;        /* lines read */
    const char   *look;         /* if set: count lines containing it */
    int           seen;
};

static void
watch(struct watcher *w, struct hconn *c, const char *nick, const char *tag)
{
    memset(w, 0, sizeof(*w));
    w->c = c;
    snprintf(w->prefix, sizeof(w->prefix), "<%.64s> %.32s ", nick, tag);
}

/* Check one line an honest client got. */
static void
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
static void
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
static void
drain_until(struct watcher *w, int count, int ms)
{
    long end = h_now_ms() + ms;

    while (w->next < count && h_now_ms() < end)
        drain(w, 50);
    ck_assert_msg(w->next == count, "%s: got %d of %d lines", w->prefix,
                  w->next, count);
}

/* A raw, connected socket to the server (blocking, close-on-exec). */
static int
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
static void
close_rst(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* Throw away whatever fd has to read, without blocking. */
static void
discard_input(int fd)
{
    char buf[65536];

    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

/* The server's CPU time (user + system) in clock ticks. */
static long
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
static int
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

static void
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
static void
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
static struct hconn *
join(char *nick, size_t len)
{
    struct hconn *c = hconn_join(srv.port, nick, len);

    ck_assert_ptr_nonnull(c);
    return c;
}

/* ------------------------------------------------------------------ */
/* Garbage                                                             */
/* ------------------------------------------------------------------ */

#define GARBAGE_CLIENTS 32
#define GARBAGE_BYTES   (32 * 1024)

static uint32_t rnd_state = 2463534242u;

static uint32_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* Fill buf with hostile bytes: random, with LFs, CRs, NULs, ESC
 * sequences, C1 controls and broken UTF-8 mixed in. */
static void
garbage(unsigned char *buf, size_t len)
{
    static const char *const bits[] = {
        "\x1b[2J", "\x1b]0;owned\x07", "\r", "\0", "\xc2\x9b", "\xc0\xaf",
        "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\r\n<root> forged",
        "\xe2\x80", "\x7f", "/nick \x1b", "/msg x \x01", "\n"
    };
    for (size_t i = 0; i < len;) {
        uint32_t r = rnd();
        if (r % 8 == 0) {
            const char *b = bits[(r >> 8) % (sizeof(bits) / sizeof(*bits))];
            size_t n = strlen(b) ? strlen(b) : 1;
            for (size_t k = 0; k < n && i < len; k++)
                buf[i++] = (unsigned char)b[k];
        } else if (r % 61 == 0) {
            buf[i++] = '\n';
        } else {
            buf[i++] = (unsigned char)(r >> 16);
        }
    }
}

/* Many clients send random binary garbage; an honest pair chats. */
START_TEST(test_garbage)
{
    const char *args[] = { "--rate", "0", "--sendq", "64M", NULL };
    int fds[GARBAGE_CLIENTS];
    size_t sent[GARBAGE_CLIENTS] = { 0 };
    unsigned char *buf = malloc(GARBAGE_BYTES);
    char hn[64], on[64];
    struct watcher ow;
    int k = 0;

    start(args);
    struct hconn *h = join(hn, sizeof(hn));
    struct hconn *o = join(on, sizeof(on));
    watch(&ow, o, hn, "honest");
    for (int i = 0; i < GARBAGE_CLIENTS; i++)
        ck_assert_int_ge(fds[i] = raw_connect(), 0);
    for (int done = 0; !done;) {
        done = 1;
        for (int i = 0; i < GARBAGE_CLIENTS; i++) {
            if (sent[i] >= GARBAGE_BYTES || fds[i] < 0)
                continue;
            done = 0;
            discard_input(fds[i]);
            garbage(buf, 4096);
            ssize_t n = send(fds[i], buf, 4096, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) {
                close(fds[i]);
                fds[i] = -1;        /* cut: fine, it was hostile */
            } else if (n > 0) {
                sent[i] += (size_t)n;
            }
        }
        hconn_send(h, "honest %d\n", k++);
        drain(&ow, 1);
    }
    for (int i = 0; i < GARBAGE_CLIENTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    drain_until(&ow, k, 10000);
    ck_assert_int_gt(ow.lines, k);      /* the garbage was relayed too */
    hconn_close(h);
    hconn_close(o);
    free(buf);
    after("garbage");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Lines without an end                                                */
/* ------------------------------------------------------------------ */

/*
 * Send `mib` MiB without a newline: the sender is told once that its
 * line is too long and keeps its connection, nothing is relayed, the
 * server's memory does not grow, and the next line goes through.
 */
static void
no_newline(size_t mib, const char *what)
{
    char ln[64], on[64], line[2048];
    struct watcher ow;
    char *chunk = malloc(1 << 20);
    long peak = 0, t0 = h_now_ms();

    start(NULL);
    struct hconn *l = join(ln, sizeof(ln));
    struct hconn *o = join(on, sizeof(on));
    char joined[96];

    /* l hears of o first, so the barrier below meets no join notice. */
    snprintf(joined, sizeof(joined), "*** %s has joined", on);
    ck_assert_int_eq(hconn_expect(l, joined, line, sizeof(line),
                                  H_TIMEOUT_MS), 1);
    watch(&ow, o, ln, "tail");
    ow.look = "AAAAAAAA";
    memset(chunk, 'A', 1 << 20);
    for (size_t i = 0; i < mib; i++) {
        ck_assert_int_eq(hconn_write(l, chunk, 1 << 20), 0);
        long rss = hserver_rss_kb(&srv);
        peak = rss > peak ? rss : peak;
    }
    hconn_send(l, "\ntail 0\n");
    ck_assert_int_eq(hconn_expect(l, "*** error: line too long", line,
                                  sizeof(line), H_TIMEOUT_MS), 1);
    drain_until(&ow, 1, H_TIMEOUT_MS);
    hconn_send(l, "tail 1\n");
    drain_until(&ow, 2, H_TIMEOUT_MS);
    ck_assert_msg(ow.seen == 0, "part of the long line was relayed");
    /* o got all of l's lines: a second error would be on its way. */
    ck_assert_msg(hconn_barrier(l, line, sizeof(line)) == 1,
                  "after the too-long error: \"%s\"", line);
    fprintf(stderr, "%s: %zu MiB in %ld ms, peak rss %ld KiB\n", what, mib,
            h_now_ms() - t0, peak);
    if (rss_checked())
        ck_assert_msg(peak <= base_rss + 8 * 1024,
                      "%s: RSS peaked at %ld KiB (%ld at start)", what, peak,
                      base_rss);
    hconn_close(l);
    hconn_close(o);
    free(chunk);
    after(what);
}

START_TEST(test_no_newline_1m)
{
    no_newline(1, "1 MiB without a newline");
}
END_TEST

START_TEST(test_no_newline_100m)
{
    no_newline(100, "100 MiB without a newline");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Slowloris                                                           */
/* ------------------------------------------------------------------ */

#define SLOW_CLIENTS 20

/* Clients dribble one byte at a time with long pauses; honest chat
 * stays prompt and the slow lines arrive whole. */
START_TEST(test_slowloris)
{
    char hn[64], on[64], text[SLOW_CLIENTS][32];
    struct hconn *slow[SLOW_CLIENTS];
    char slown[SLOW_CLIENTS][64];
    struct watcher ow;
    size_t pos = 0;
    int k = 0, got[SLOW_CLIENTS] = { 0 };

    start(NULL);
    struct hconn *h = join(hn, sizeof(hn));
    struct hconn *o = join(on, sizeof(on));
    watch(&ow, o, hn, "prompt");
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        slow[i] = join(slown[i], sizeof(slown[i]));
        snprintf(text[i], sizeof(text[i]), "slow %02d\n", i);
    }
    /* Also one that sends half a line and then nothing at all. */
    int idle = raw_connect();
    ck_assert_int_ge(idle, 0);
    ck_assert_int_eq(send(idle, "half a li", 9, MSG_NOSIGNAL), 9);

    for (pos = 0; pos + 1 < strlen(text[0]); pos++) {
        for (int i = 0; i < SLOW_CLIENTS; i++)
            ck_assert_int_eq(hconn_write(slow[i], text[i] + pos, 1), 0);
        long t = h_now_ms();
        hconn_send(h, "prompt %d\n", k++);
        drain_until(&ow, k, HONEST_MS);
        ck_assert_msg(h_now_ms() - t < HONEST_MS, "honest line took %ld ms",
                      h_now_ms() - t);
        usleep(150000);
    }
    for (int i = 0; i < SLOW_CLIENTS; i++)
        ck_assert_int_eq(hconn_write(slow[i], "\n", 1), 0);
    /* Every slow line arrives whole. */
    for (long end = h_now_ms() + H_TIMEOUT_MS; h_now_ms() < end;) {
        char line[2048];
        int n = 0;
        if (hconn_line(o, line, sizeof(line), 50) != 1)
            continue;
        got_line(&ow, line);
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            char want[128];
            snprintf(want, sizeof(want), "<%.64s> slow %02d", slown[i], i);
            got[i] += strcmp(line, want) == 0;
        }
        for (int i = 0; i < SLOW_CLIENTS; i++)
            n += got[i];
        if (n == SLOW_CLIENTS)
            break;
    }
    for (int i = 0; i < SLOW_CLIENTS; i++) {
        ck_assert_msg(got[i] == 1, "slow line %d arrived %d times", i,
                      got[i]);
        hconn_close(slow[i]);
    }
    close(idle);
    hconn_close(h);
    hconn_close(o);
    after("slowloris");
}
END_TEST

/* ------------------------------------------------------------------ */
/* A client that never reads                                           */
/* ------------------------------------------------------------------ */

#define NONREADER_MAX 100000     /* lines of 500 bytes: 50 MB at most */

/* A client with a tiny receive buffer never reads while a sender keeps
 * talking: it is cut once over sendq, and an honest reader gets every
 * line in order. */
START_TEST(test_nonreader)
{
    const char *args[] = { "--rate", "0", "--sendq", "128K", NULL };
    char sn[64], on[64], nn[64], line[512], left[128];
    struct watcher ow;
    int i, cut = 0;

    start(args);
    struct hconn *n = join(nn, sizeof(nn));
    ck_assert_int_eq(hconn_rcvbuf(n, 1024), 0);
    struct hconn *s = join(sn, sizeof(sn));
    struct hconn *o = join(on, sizeof(on));
    watch(&ow, o, sn, "bulk");
    snprintf(left, sizeof(left), "*** %s has left (too slow", nn);
    ow.look = left;
    memset(line, 'x', 490);
    line[490] = '\0';
    long t0 = h_now_ms();
    for (i = 0; i < NONREADER_MAX && !cut; i++) {
        hconn_send(s, "bulk %d %s\n", i, line);
        if (i % 50 == 49) {
            drain(&ow, 1);
            discard_input(s->fd);
            cut = hserver_wait_log(&srv, "over 131072 unsent bytes", 0);
        }
    }
    ck_assert_msg(cut, "the non-reader was never cut");
    drain_until(&ow, i, 10000);
    fprintf(stderr, "nonreader: cut after %d lines, %ld ms\n", i,
            h_now_ms() - t0);
    for (long end = h_now_ms() + H_TIMEOUT_MS; !ow.seen && h_now_ms() < end;)
        drain(&ow, 50);
    ck_assert_int_eq(ow.seen, 1);
    hconn_close(n);
    hconn_close(s);
    hconn_close(o);
    after("a client that never reads");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Connect-and-close storm                                             */
/* ------------------------------------------------------------------ */

#define HANDOFF_TOTAL 10000
#define HANDOFF_DEPTH 8

/*
 * Bug found by the storm: a socket handed to a worker while it was busy
 * between taking new sockets and draining its mailbox lost its wakeup
 * (both share one eventfd, which the mailbox drain cleared), so the
 * client got no welcome until something else woke that worker.  Here
 * connections overlap, and each must be welcomed promptly.
 */
START_TEST(test_issue_7_handoff_wakeup)
{
    int ring[HANDOFF_DEPTH];
    char buf[512];

    start(NULL);
    for (int i = 0; i < HANDOFF_TOTAL + HANDOFF_DEPTH; i++) {
        int slot = i % HANDOFF_DEPTH;
        if (i >= HANDOFF_DEPTH) {
            struct pollfd p = { .fd = ring[slot], .events = POLLIN };
            ck_assert_msg(poll(&p, 1, 2000) == 1,
                          "connection %d got no welcome in 2 s",
                          i - HANDOFF_DEPTH);
            ck_assert_int_gt(recv(ring[slot], buf, sizeof(buf), 0), 0);
            close(ring[slot]);
        }
        if (i < HANDOFF_TOTAL)
            ck_assert_int_ge(ring[slot] = raw_connect(), 0);
    }
    after("overlapping connections");
}
END_TEST

#define STORM_TOTAL 10000
#define STORM_BATCH 100

/* 10,000 connections, at most ~200 open at once, closed every way: at
 * once, after the welcome, with an RST; an honest pair chats through. */
START_TEST(test_storm)
{
    char hn[64], on[64];
    struct watcher ow;
    int fds[STORM_BATCH], k = 0;
    long t0 = h_now_ms();

    start(NULL);
    struct hconn *h = join(hn, sizeof(hn));
    struct hconn *o = join(on, sizeof(on));
    watch(&ow, o, hn, "storm");
    for (int done = 0; done < STORM_TOTAL; done += STORM_BATCH) {
        for (int i = 0; i < STORM_BATCH; i++) {
            fds[i] = raw_connect();
            ck_assert_msg(fds[i] >= 0, "connect %d failed: %s", done + i,
                          strerror(errno));
            if (i % 4 == 0) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
        for (int i = 0; i < STORM_BATCH; i++) {
            if (fds[i] < 0)
                continue;
            if (i % 4 == 1) {
                struct pollfd p = { .fd = fds[i], .events = POLLIN };
                char buf[512];
                ck_assert_int_eq(poll(&p, 1, H_TIMEOUT_MS), 1);
                ck_assert_int_gt(recv(fds[i], buf, sizeof(buf), 0), 0);
                close(fds[i]);
            } else if (i % 4 == 2) {
                close_rst(fds[i]);
            } else {
                ck_assert_int_eq(send(fds[i], "bye\n", 4, MSG_NOSIGNAL), 4);
                close(fds[i]);
            }
        }
        hconn_send(h, "storm %d\n", k++);
        drain(&ow, 1);
        discard_input(h->fd);
    }
    drain_until(&ow, k, 10000);
    fprintf(stderr, "storm: %d connections in %ld ms\n", STORM_TOTAL,
            h_now_ms() - t0);
    hconn_close(h);
    hconn_close(o);
    after("a connect-and-close storm");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Half-closed sockets and RSTs                                        */
/* ------------------------------------------------------------------ */

#define HALF_CLIENTS 8
#define HALF_LINES   60         /* more than the burst of 40 */

/* Clients send lines and shut down their sending side at once: every
 * line is still delivered, in order, then the server closes them. */
START_TEST(test_half_close)
{
    char on[64], names[HALF_CLIENTS][64];
    struct hconn *hc[HALF_CLIENTS];
    struct watcher ws[HALF_CLIENTS];
    char buf[HALF_LINES * 16];

    start(NULL);
    struct hconn *o = join(on, sizeof(on));
    for (int i = 0; i < HALF_CLIENTS; i++) {
        hc[i] = join(names[i], sizeof(names[i]));
        watch(&ws[i], o, names[i], "half");
    }
    for (int i = 0; i < HALF_CLIENTS; i++) {
        size_t len = 0;
        for (int j = 0; j < HALF_LINES; j++)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                    "half %d\n", j);
        ck_assert_int_eq(hconn_write(hc[i], buf, len), 0);
        ck_assert_int_eq(shutdown(hc[i]->fd, SHUT_WR), 0);
    }
    /* One reader, several numbered streams. */
    for (long end = h_now_ms() + 10000; h_now_ms() < end;) {
        char line[2048];
        int total = 0;
        if (hconn_line(o, line, sizeof(line), 50) == 1)
            for (int i = 0; i < HALF_CLIENTS; i++)
                got_line(&ws[i], line);
        for (int i = 0; i < HALF_CLIENTS; i++)
            total += ws[i].next;
        if (total == HALF_CLIENTS * HALF_LINES)
            break;
    }
    for (int i = 0; i < HALF_CLIENTS; i++) {
        ck_assert_msg(ws[i].next == HALF_LINES, "%s: %d of %d lines",
                      names[i], ws[i].next, HALF_LINES);
        ck_assert_msg(hconn_closed(hc[i], H_TIMEOUT_MS),
                      "half-closed client not closed");
        hconn_close(hc[i]);
    }
    hconn_close(o);
    after("half-closed sockets");
}
END_TEST

/* RSTs: in the middle of a line, in the middle of a big write, and while
 * the server is writing to the client. */
START_TEST(test_rst)
{
    char hn[64], on[64];
    struct watcher ow;
    char *big = malloc(1 << 20);

    start(NULL);
    struct hconn *h = join(hn, sizeof(hn));
    struct hconn *o = join(on, sizeof(on));
    watch(&ow, o, hn, "rst");
    memset(big, 'r', 1 << 20);
    for (int round = 0; round < 20; round++) {
        int a = raw_connect(), b = raw_connect(), c = raw_connect();
        ck_assert(a >= 0 && b >= 0 && c >= 0);
        ck_assert_int_eq(send(a, "half a line", 11, MSG_NOSIGNAL), 11);
        ssize_t n = send(b, big, 1 << 20, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)n;
        for (int i = 0; i < 30; i++)
            send(c, "/help\n", 6, MSG_NOSIGNAL);
        usleep(10000);
        close_rst(a);
        close_rst(b);
        close_rst(c);
        hconn_send(h, "rst %d\n", round);
        drain(&ow, 1);
    }
    drain_until(&ow, 20, H_TIMEOUT_MS);
    free(big);
    hconn_close(h);
    hconn_close(o);
    after("RSTs");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Nickname races                                                      */
/* ------------------------------------------------------------------ */

#define NICK_CLIENTS 40

/* Many clients on both workers take the same nickname (in different
 * cases) at once: exactly one gets it, the others a clear error. */
START_TEST(test_nick_race)
{
    static const char *const spell[] = { "Same", "same", "SAME", "sAmE" };
    struct hconn *c[NICK_CLIENTS];
    char line[2048];
    int won = 0, lost = 0;

    start(NULL);
    for (int i = 0; i < NICK_CLIENTS; i++)
        c[i] = join(line, sizeof(line));
    for (int round = 0; round < 5; round++) {
        char nick[32];
        int winner = -1;
        for (int i = 0; i < NICK_CLIENTS; i++) {
            snprintf(nick, sizeof(nick), "%s%d", spell[i % 4], round);
            hconn_send(c[i], "/nick %s\n", nick);
        }
        for (int i = 0; i < NICK_CLIENTS; i++) {
            for (;;) {
                ck_assert_int_eq(hconn_line(c[i], line, sizeof(line),
                                            H_TIMEOUT_MS), 1);
                ck_assert(clean_line(line));
                if (strstr(line, "*** you are now known as ")) {
                    winner = i;
                    won++;
                    break;
                }
                if (strstr(line, "*** error: nickname is already in use")) {
                    lost++;
                    break;
                }
            }
        }
        ck_assert_int_ge(winner, 0);
        /* /who lists the name once, whatever the case. */
        hconn_send(c[0], "/who\n" H_BARRIER_CMD "\n");
        int seen = 0;
        snprintf(nick, sizeof(nick), "same%d", round);
        for (;;) {                      /* the list, up to the barrier */
            ck_assert_int_eq(hconn_line(c[0], line, sizeof(line),
                                        H_TIMEOUT_MS), 1);
            if (strcmp(line, H_BARRIER_REPLY) == 0)
                break;
            if (strncmp(line, "***   ", 6) != 0)
                continue;               /* the heading, notices */
            for (char *p = strtok(line + 6, " "); p; p = strtok(NULL, " "))
                seen += strcasecmp(p, nick) == 0;
        }
        ck_assert_int_eq(seen, 1);
        for (int i = 0; i < NICK_CLIENTS; i++)
            discard_input(c[i]->fd);
    }
    ck_assert_int_eq(won, 5);
    ck_assert_int_eq(lost, 5 * (NICK_CLIENTS - 1));
    for (int i = 0; i < NICK_CLIENTS; i++)
        hconn_close(c[i]);
    after("nickname races");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Flood above the rate limit                                          */
/* ------------------------------------------------------------------ */

#define FLOOD_LINES 300

/* A client floods far above --rate: its lines are delayed, not lost,
 * and honest clients are not slowed down. */
START_TEST(test_flood)
{
    const char *args[] = { "--rate", "100", "--burst", "20", NULL };
    char fn[64], hn[64], on[64], buf[FLOOD_LINES * 16];
    struct watcher fw, hw;
    size_t len = 0;
    int k = 0;

    start(args);
    struct hconn *f = join(fn, sizeof(fn));
    struct hconn *h = join(hn, sizeof(hn));
    struct hconn *o = join(on, sizeof(on));
    watch(&fw, o, fn, "flood");
    watch(&hw, o, hn, "honest");
    for (int i = 0; i < FLOOD_LINES; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "flood %d\n",
                                i);
    long t0 = h_now_ms();
    ck_assert_int_eq(hconn_write(f, buf, len), 0);
    while (fw.next < FLOOD_LINES && h_now_ms() - t0 < 15000) {
        long t = h_now_ms();
        hconn_send(h, "honest %d\n", k++);
        while (hw.next < k && h_now_ms() - t < HONEST_MS) {
            char line[2048];
            if (hconn_line(o, line, sizeof(line), 50) == 1) {
                got_line(&fw, line);
                got_line(&hw, line);
            }
        }
        ck_assert_msg(hw.next == k && h_now_ms() - t < HONEST_MS,
                      "honest line took %ld ms during a flood",
                      h_now_ms() - t);
        discard_input(f->fd);
        discard_input(h->fd);
    }
    long took = h_now_ms() - t0;
    fprintf(stderr, "flood: %d lines in %ld ms\n", FLOOD_LINES, took);
    ck_assert_int_eq(fw.next, FLOOD_LINES);
    /* (300 - 20 burst) / 100 per second: at least ~2.8 s. */
    ck_assert_msg(took >= 2000, "flood not slowed: %ld ms", took);
    hconn_close(f);
    hconn_close(h);
    hconn_close(o);
    after("a flood");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Out of descriptors                                                  */
/* ------------------------------------------------------------------ */

#define FD_LIMIT     64
#define FD_CLIENTS   100
#define FD_INHERITED 30

static void
low_nofile(void)
{
    struct rlimit rl = { FD_LIMIT, FD_LIMIT };

    setrlimit(RLIMIT_NOFILE, &rl);
}

/* Also leave FD_INHERITED descriptors open, so chatd runs out of them
 * before it reaches the max-clients it computed: accept() gets EMFILE. */
static void
low_nofile_inherited(void)
{
    low_nofile();
    for (int i = 0; i < FD_INHERITED; i++)
        if (open("/dev/null", O_RDONLY) < 0)
            break;
}

/*
 * More clients than descriptors: the excess is refused ("server full",
 * or closed), chatd does not spin while they wait, and it takes a new
 * client once the others leave.
 */
static void
out_of_fds(void (*hook)(void), const char *what)
{
    int fds[FD_CLIENTS], welcomed = 0, refused = 0;
    char buf[4096];

    hserver_pre_exec = hook;
    start(NULL);
    hserver_pre_exec = NULL;
    for (int i = 0; i < FD_CLIENTS; i++)
        ck_assert_int_ge(fds[i] = raw_connect(), 0);
    for (int i = 0; i < FD_CLIENTS; i++) {
        struct pollfd p = { .fd = fds[i], .events = POLLIN };
        ck_assert_msg(poll(&p, 1, H_TIMEOUT_MS) == 1,
                      "client %d: no answer", i);
        ssize_t n = recv(fds[i], buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        if (strstr(buf, "*** welcome"))
            welcomed++;
        else if (n <= 0 || strstr(buf, "*** error: server full"))
            refused++;
        else
            ck_abort_msg("client %d got: %s", i, buf);
    }
    fprintf(stderr, "%s: %d welcomed, %d refused\n", what, welcomed,
            refused);
    ck_assert_int_gt(welcomed, 0);
    ck_assert_int_gt(refused, 0);
    ck_assert_int_eq(welcomed + refused, FD_CLIENTS);

    /* Knock again and again while full: chatd must not spin. */
    long cpu0 = server_cpu_ticks(), t0 = h_now_ms();
    while (h_now_ms() - t0 < 1000) {
        int fd = raw_connect();
        if (fd >= 0) {
            usleep(20000);
            close(fd);
        }
    }
    long ticks = server_cpu_ticks() - cpu0;
    double cpu = (double)ticks / (double)sysconf(_SC_CLK_TCK);
    fprintf(stderr, "%s: %.2f s of CPU in 1 s while full\n", what, cpu);
    ck_assert_msg(cpu < 0.3, "%s: %.2f s of CPU in 1 s", what, cpu);

    for (int i = 0; i < FD_CLIENTS; i++)
        close(fds[i]);
    /* Recovers: a new client is welcomed. */
    struct hconn *c = NULL;
    for (long end = h_now_ms() + H_TIMEOUT_MS; !c && h_now_ms() < end;)
        if ((c = hconn_join(srv.port, NULL, 0)) == NULL)
            usleep(50000);
    ck_assert_msg(c != NULL, "%s: no recovery", what);
    hconn_close(c);
    after(what);
}

START_TEST(test_fd_limit)
{
    out_of_fds(low_nofile, "ulimit -n 64");
}
END_TEST

START_TEST(test_emfile)
{
    out_of_fds(low_nofile_inherited, "ulimit -n 64, EMFILE");
}
END_TEST

/* ------------------------------------------------------------------ */

static void
add(Suite *s, const char *name, const TTest *t, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_test(tc, t);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
}

static Suite *
hostile_suite(void)
{
    Suite *s = suite_create("hostile");

    add(s, "Garbage", test_garbage, 120);
    add(s, "NoNewline1M", test_no_newline_1m, 60);
    add(s, "NoNewline100M", test_no_newline_100m, 180);
    add(s, "Slowloris", test_slowloris, 60);
    add(s, "NonReader", test_nonreader, 60);
    add(s, "Storm", test_storm, 240);
    add(s, "Handoff", test_issue_7_handoff_wakeup, 120);
    add(s, "HalfClose", test_half_close, 60);
    add(s, "Rst", test_rst, 60);
    add(s, "NickRace", test_nick_race, 60);
    add(s, "Flood", test_flood, 60);
    add(s, "FdLimit", test_fd_limit, 60);
    add(s, "Emfile", test_emfile, 60);
    return s;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return h_run_suite(hostile_suite());
}
