/*
 * check_hostile.c: hostile input against the real chatd (issue 7):
 * random binary garbage, lines without an end (1 MB and 100 MB), a
 * slowloris, a client that never reads, a flood far above the rate
 * limit.  Each test starts its own chatd and checks the same things
 * afterwards (hhostile.h: after()): alive, chatting, descriptors and RSS
 * back, honest clients' lines all there, in order and clean, exit 0.
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

#include "hhostile.h"
#include "proto.h"

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

static Suite *
hostile_suite(void)
{
    Suite *s = suite_create("hostile");

    hostile_case(s, "Garbage", test_garbage, 120);
    hostile_case(s, "NoNewline1M", test_no_newline_1m, 60);
    hostile_case(s, "NoNewline100M", test_no_newline_100m, 180);
    hostile_case(s, "Slowloris", test_slowloris, 60);
    hostile_case(s, "NonReader", test_nonreader, 60);
    hostile_case(s, "Flood", test_flood, 60);
    return s;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return h_run_suite(hostile_suite());
}
