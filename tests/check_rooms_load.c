/*
 * check_rooms_load.c: rooms under load (SPEC "Rooms", issue 13): one
 * order per room with concurrent senders and nothing lost, nothing of a
 * room for a non-member; thousands of /join and /part lines in a burst
 * (delayed by flood control, not lost, memory bounded); and a room's
 * flood cuts its members that never read, never a non-member.  Every test
 * starts its own real chatd on port 0 in its checked fixture (hrooms.h).
 */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hrooms.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static int
rss_checked(void)
{
    return !SANITIZED && getenv("CHATD_NO_RSS") == NULL;
}

static void
start_norate(void)
{
    static const char *const args[] = { "--rate", "0", NULL };
    start(args);
}

static void
start_sendq(void)
{
    static const char *const args[] = { "--rate", "0", "--sendq", "128K",
                                        NULL };
    start(args);
}

/* ------------------------------------------------------------------ */
/* Order                                                               */
/* ------------------------------------------------------------------ */

#define SENDERS     3
#define MEMBERS     (SENDERS + 1)
#define ORDER_LINES 400

/* One member's view: the lines of the others, in the order it got them,
 * each as sender * ORDER_LINES + number. */
struct view {
    struct hconn *c;
    int           got[MEMBERS * ORDER_LINES];
    int           n, want;
    int           next[SENDERS];
};

/* Read what v has waiting (up to ms); every line is a room line from a
 * sender, in that sender's order, with no gap. */
static void
read_view(struct view *v, int ms)
{
    while (v->n < v->want &&
           hconn_line(v->c, line, sizeof(line), ms) == 1) {
        int k, i;
        ck_assert_msg(sscanf(line, "#ord <s%d> n %d", &k, &i) == 2 &&
                      k >= 0 && k < SENDERS, "stray line \"%s\"", line);
        ck_assert_msg(i == v->next[k], "from s%d: %d after %d", k, i,
                      v->next[k] - 1);
        v->next[k]++;
        v->got[v->n++] = k * ORDER_LINES + i;
    }
}

/*
 * Three members of #ord talk at once, on both workers; a fourth only
 * listens.  Every member gets every line of the others, each sender's in
 * its order, and all members see them in one order.  A client outside
 * #ord gets none of it.
 */
START_TEST(test_room_order)
{
    struct view *v = calloc(MEMBERS, sizeof(*v));
    int pos[SENDERS * ORDER_LINES];
    char nick[16];

    ck_assert_ptr_nonnull(v);
    for (int k = 0; k < MEMBERS; k++) {
        snprintf(nick, sizeof(nick), k < SENDERS ? "s%d" : "listener", k);
        v[k].c = member(nick, "#ord");
        v[k].want = (SENDERS - (k < SENDERS)) * ORDER_LINES;
    }
    struct hconn *out = member("outsider", "#elsewhere");
    for (int k = 0; k < MEMBERS; k++)
        while (hconn_line(v[k].c, line, sizeof(line), 100) == 1)
            ;                               /* the joins */
    for (int i = 0; i < ORDER_LINES; i++) {
        for (int k = 0; k < SENDERS; k++)
            ck_assert_int_eq(hconn_send(v[k].c, "n %d\n", i), 0);
        if (i % 20 == 19)
            for (int k = 0; k < MEMBERS; k++)
                read_view(&v[k], 0);
    }
    for (int k = 0; k < MEMBERS; k++) {
        for (long end = h_now_ms() + 10000;
             v[k].n < v[k].want && h_now_ms() < end;)
            read_view(&v[k], 100);
        ck_assert_msg(v[k].n == v[k].want, "member %d got %d of %d", k,
                      v[k].n, v[k].want);
    }
    /* The listener's order is the room's: everyone agrees with it. */
    for (int j = 0; j < v[SENDERS].n; j++)
        pos[v[SENDERS].got[j]] = j;
    for (int k = 0; k < SENDERS; k++)
        for (int j = 1; j < v[k].n; j++)
            ck_assert_msg(pos[v[k].got[j - 1]] < pos[v[k].got[j]],
                          "member %d: line %d out of the room's order", k,
                          j);
    for (int k = 0; k < MEMBERS; k++)
        h_silent(v[k].c);
    h_silent(out);
    for (int k = 0; k < MEMBERS; k++)
        hconn_close(v[k].c);
    hconn_close(out);
    free(v);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bursts of /join and /part                                           */
/* ------------------------------------------------------------------ */

#define BURSTERS     20
#define BURST_LINES  150        /* each: 110 beyond the burst of 40 */

/*
 * 20 clients send 150 /join and /part lines each at once (3,000 lines,
 * default flood control: 20 lines/s after a burst of 40).  They are
 * delayed, not lost: every one is answered, in order; the server's RSS
 * stays bounded; and the rooms they made are gone afterwards.
 */
START_TEST(test_join_part_burst)
{
    static char buf[BURST_LINES * 24];
    struct hconn *c[BURSTERS];
    int got[BURSTERS] = { 0 }, done = 0;
    long rss0, peak, t0;
    char nick[16], want[64];

    for (int k = 0; k < BURSTERS; k++) {
        snprintf(nick, sizeof(nick), "b%d", k);
        c[k] = member(nick, NULL);
    }
    sync_with(c[BURSTERS - 1]);
    for (int k = 0; k < BURSTERS; k++)
        settle(c[k]);               /* the others' connects */
    rss0 = peak = hserver_rss_kb(&srv);
    t0 = h_now_ms();
    for (int k = 0; k < BURSTERS; k++) {
        size_t len = 0;
        for (int i = 0; i < BURST_LINES; i++)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                    i % 2 ? "/part #r%d_%d\n" :
                                    "/join #r%d_%d\n", k, i / 2 % 7);
        ck_assert_int_eq(hconn_write(c[k], buf, len), 0);
    }
    while (done < BURSTERS && h_now_ms() - t0 < 60000) {
        for (int k = 0; k < BURSTERS; k++) {
            while (got[k] < BURST_LINES &&
                   hconn_line(c[k], line, sizeof(line), 0) == 1) {
                int i = got[k]++;
                snprintf(want, sizeof(want), i % 2 ? "*** you left "
                         "#r%d_%d" : "*** you joined #r%d_%d: 1 user; "
                         "no topic", k, i / 2 % 7);
                ck_assert_str_eq(line, want);
                done += got[k] == BURST_LINES;
            }
        }
        long rss = hserver_rss_kb(&srv);
        peak = rss > peak ? rss : peak;
        usleep(20000);
    }
    long ms = h_now_ms() - t0;
    fprintf(stderr, "burst: %d lines in %ld ms, rss %ld -> peak %ld KiB\n",
            BURSTERS * BURST_LINES, ms, rss0, peak);
    ck_assert_msg(done == BURSTERS, "only %d of %d clients answered", done,
                  BURSTERS);
    /* 110 lines beyond the burst at 20 lines/s: at least 5.5 s. */
    ck_assert_msg(ms >= 5000, "not delayed: %ld ms", ms);
    if (rss_checked())
        ck_assert_msg(peak <= rss0 + 8 * 1024, "RSS %ld KiB, %ld at start",
                      peak, rss0);
    hconn_send(c[0], "/rooms\n");
    next_is(c[0], "*** 1 room:");
    next_is(c[0], "***   #lobby  20 users");
    for (int k = 0; k < BURSTERS; k++)
        h_silent(c[k]);
    for (int k = 0; k < BURSTERS; k++)
        hconn_close(c[k]);
}
END_TEST

#define HOG_PAIRS 50000
#define HOG_ROOM  "#h%031d"      /* # and 32: long answers */

/* The answer to the hog's i-th line. */
static void
hog_answer(int i, char *out, size_t len)
{
    snprintf(out, len, i % 2 ? "*** you left " HOG_ROOM :
             "*** you joined " HOG_ROOM ": 1 user; no topic", i / 2 % 500);
}

/*
 * With no flood control, a client writes 100,000 /join and /part lines
 * (4 MB) without reading, until TCP pushes back: the server stops
 * reading it rather than queue its answers (6 MB), so its RSS stays
 * within 4 MB, and others are served meanwhile.  Then it reads: every
 * line was answered, in order.
 */
START_TEST(test_join_part_nonreader)
{
    struct hconn *h = member("hog", NULL);
    struct hconn *o = member("other", "#calm");
    long rss0 = hserver_rss_kb(&srv), peak = rss0, end;
    int sent = 0, got = 0, i;
    char l[128], want[128];

    settle(h);
    for (int phase = 0; phase < 2; phase++) {
        end = h_now_ms() + 60000;
        while (got < 2 * HOG_PAIRS && h_now_ms() < end) {
            struct pollfd p = { .fd = h->fd, .events = POLLOUT };
            if (phase == 1)
                p.events |= POLLIN;
            if (sent == HOG_PAIRS)
                p.events &= (short)~POLLOUT;
            if (poll(&p, 1, 200) == 0 && phase == 0)
                break;                      /* pushed back */
            if (p.revents & POLLOUT) {
                i = sent++ % 500;
                int n = snprintf(l, sizeof(l), "/join " HOG_ROOM
                                 "\n/part " HOG_ROOM "\n", i, i);
                ck_assert_int_eq(hconn_write(h, l, (size_t)n), 0);
            }
            while (phase == 1 &&
                   hconn_line(h, line, sizeof(line), 0) == 1) {
                hog_answer(got++, want, sizeof(want));
                ck_assert_str_eq(line, want);
            }
            if (sent % 1000 == 999) {
                long rss = hserver_rss_kb(&srv);
                peak = rss > peak ? rss : peak;
            }
            if (phase == 0 && sent == HOG_PAIRS)
                break;
        }
        if (phase == 0) {
            hconn_send(o, "/who\n");        /* served meanwhile */
            next_is(o, "*** 1 user in #calm:");
            next_is(o, "***   other");
            fprintf(stderr, "join/part hog: pushed back after %d "
                    "pairs\n", sent);
        }
    }
    fprintf(stderr, "join/part hog: %d lines answered, rss %ld -> peak %ld "
            "KiB\n", got, rss0, peak);
    ck_assert_int_eq(got, 2 * HOG_PAIRS);
    if (rss_checked())
        ck_assert_msg(peak <= rss0 + 4 * 1024, "RSS %ld KiB, %ld at start",
                      peak, rss0);
    hconn_close(h);
    next_is(o, "*** hog has left (connection closed)");
    hconn_close(o);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A room's line reaches only its members                              */
/* ------------------------------------------------------------------ */

#define FLOOD_MAX 20000         /* lines of 500 bytes: 10 MB at most */

/*
 * #dev is flooded.  A client in the default room only, with a tiny
 * receive buffer, that never reads, is not cut: nothing of #dev is for
 * it.  A member of #dev that never reads is cut at sendq; a member that
 * reads gets every line in order.
 */
START_TEST(test_cut_only_members)
{
    struct hconn *idle = member("idle", NULL);
    struct hconn *slow = member("slow", "#dev");
    struct hconn *s = member("sender", "#dev");
    struct hconn *r = member("reader", "#dev");
    char text[491], want[600];
    int i, cut = 0, next = 0, left = 0;
    const char *leave = "*** slow has left (too slow: send queue full)";

    ck_assert_int_eq(hconn_rcvbuf(idle, 1024), 0);
    ck_assert_int_eq(hconn_rcvbuf(slow, 1024), 0);
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    while (hconn_line(r, line, sizeof(line), 100) == 1)
        ;
    for (i = 0; i < FLOOD_MAX && !cut; i++) {
        hconn_send(s, "bulk %d %s\n", i, text);
        if (i % 50 == 49) {
            while (hconn_line(s, line, sizeof(line), 0) == 1)
                ;
            while (next < i && hconn_line(r, line, sizeof(line), 1) == 1) {
                if (strcmp(line, leave) == 0)
                    left++;
                if (strncmp(line, "#dev <sender> ", 14) != 0)
                    continue;
                snprintf(want, sizeof(want), "#dev <sender> bulk %d %s",
                         next++, text);
                ck_assert_str_eq(line, want);
            }
            cut = hserver_wait_log(&srv, "slow: over 131072 unsent bytes",
                                   0);
        }
    }
    ck_assert_msg(cut, "the member that never reads was never cut");
    fprintf(stderr, "room flood: member cut after %d lines\n", i);
    /* The reader gets every line and the leave once (two rooms). */
    while (next < i && hconn_line(r, line, sizeof(line), T) == 1) {
        left += strcmp(line, leave) == 0;
        if (strncmp(line, "#dev <sender> ", 14) != 0)
            continue;
        snprintf(want, sizeof(want), "#dev <sender> bulk %d %s", next++,
                 text);
        ck_assert_str_eq(line, want);
    }
    ck_assert_int_eq(next, i);
    ck_assert_int_le(left, 1);
    if (left == 0)
        next_is(r, leave);
    h_silent(r);
    char *log = hserver_log(&srv);
    ck_assert_msg(strstr(log, " idle: ") == NULL, "the non-member was cut");
    free(log);
    /* Its socket holds the welcome and a few notices, nothing of #dev. */
    while (hconn_line(idle, line, sizeof(line), 100) == 1)
        ck_assert_msg(strncmp(line, "#dev", 4) != 0, "got \"%s\"", line);
    h_silent(idle);
    hconn_close(idle);
    hconn_close(slow);
    hconn_close(s);
    hconn_close(r);
}
END_TEST

static Suite *
rooms_load_suite(void)
{
    Suite *s = suite_create("rooms_load");
    TCase *tc;

    tc = h_tcase(s, "Order", start_norate, stop, 60);
    tcase_add_test(tc, test_room_order);

    tc = h_tcase(s, "Burst", start_default, stop, 120);
    tcase_add_test(tc, test_join_part_burst);
    tc = h_tcase(s, "BurstNoRate", start_norate, stop, 120);
    tcase_add_test(tc, test_join_part_nonreader);

    tc = h_tcase(s, "Sendq", start_sendq, stop, 120);
    tcase_add_test(tc, test_cut_only_members);
    return s;
}

int
main(void)
{
    return h_run_suite(rooms_load_suite());
}
