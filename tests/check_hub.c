/*
 * check_hub.c: unit tests of the hub's bookkeeping (registry, nicknames,
 * numbering and routing of published entries, history, shutdown) and of
 * the output path a worker builds on it: the send log and a client's
 * cursor, over socketpair()s.  The test thread plays the workers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "clientset.h"
#include "feed.h"
#include "harness.h"
#include "hub.h"
#include "msg.h"
#include "sendlog.h"
#include "transport.h"

static struct mbox_vec outbox, taken;
static struct mbox mboxes[2];   /* the workers' mailboxes */

static void
hub_setup(void)
{
    hub_init(2, 3, 2);          /* 2 workers, max 3 clients, history 2 */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(mbox_init(&mboxes[i]), 0);
        hub_attach(i, &mboxes[i]);
    }
    memset(&outbox, 0, sizeof(outbox));
    memset(&taken, 0, sizeof(taken));
}

static void
hub_teardown(void)
{
    mbox_vec_free(&outbox);
    mbox_vec_free(&taken);
    hub_destroy();
    for (int i = 0; i < 2; i++)
        mbox_destroy(&mboxes[i]);
}

static struct msg *
text(const char *s)
{
    return msg_new(s, strlen(s));
}

/* Take worker w's mailbox into `taken` (dropping what was there). */
static void
take(int w)
{
    mbox_vec_free(&taken);
    mbox_take(&mboxes[w], &taken);
}

static int
has_data(const struct mbox_entry *e, const char *s)
{
    return e->msg && e->msg->len == strlen(s) &&
           memcmp(e->msg->data, s, e->msg->len) == 0;
}

START_TEST(test_join_guest_names_and_limit)
{
    struct hub_welcome w1, w2, w3, w4;
    struct hub_user *u1 = hub_join(1, 0, &w1, &outbox);
    struct hub_user *u2 = hub_join(2, 1, &w2, &outbox);
    struct hub_user *u3 = hub_join(3, 0, &w3, &outbox);

    ck_assert_ptr_nonnull(u1);
    ck_assert_ptr_nonnull(u2);
    ck_assert_ptr_nonnull(u3);
    ck_assert_str_eq(w1.nick, "guest1");
    ck_assert_str_eq(w2.nick, "guest2");
    ck_assert_uint_eq(w3.online, 3);
    ck_assert_ptr_null(hub_join(4, 1, &w4, &outbox));   /* full */
    ck_assert_str_eq(w4.refused, "server full");
    ck_assert_uint_eq(hub_count(), 3);
    /* Join notices for the others, excluding the joiner. */
    ck_assert_uint_eq(outbox.len, 3);
    ck_assert(has_data(&outbox.v[0], "*** guest1 has joined\n"));
    ck_assert_uint_eq(outbox.v[0].from, 1);
    hub_leave(u1, "quit", &outbox);
    ck_assert_uint_eq(hub_count(), 2);
    ck_assert(has_data(&outbox.v[3], "*** guest1 has left (quit)\n"));
    ck_assert_ptr_nonnull(hub_join(4, 1, &w4, &outbox));
    hub_leave(u2, "x", &outbox);
    hub_leave(u3, "x", &outbox);
}
END_TEST

START_TEST(test_guest_name_skips_taken)
{
    struct hub_welcome w;
    char old[PROTO_NICK_MAX + 1];
    const char *why;
    struct hub_user *a = hub_join(1, 0, &w, &outbox);   /* guest1 */

    ck_assert_int_eq(hub_nick(a, "guest2", old, &outbox, &why), 0);
    struct hub_user *b = hub_join(2, 0, &w, &outbox);
    ck_assert_str_eq(w.nick, "guest3");                 /* 2 is taken */
    hub_leave(a, "x", &outbox);
    hub_leave(b, "x", &outbox);
}
END_TEST

START_TEST(test_nick_unique_ignoring_case)
{
    struct hub_welcome w;
    char old[PROTO_NICK_MAX + 1], real[PROTO_NICK_MAX + 1];
    const char *why = NULL;
    uint64_t id;
    int worker;
    struct hub_user *a = hub_join(10, 0, &w, &outbox);
    struct hub_user *b = hub_join(11, 1, &w, &outbox);

    ck_assert_int_eq(hub_nick(a, "Alice", old, &outbox, &why), 0);
    ck_assert_str_eq(old, "guest1");
    ck_assert(has_data(&outbox.v[outbox.len - 1],
                       "*** guest1 is now known as Alice\n"));
    ck_assert_int_eq(hub_nick(b, "aLiCe", old, &outbox, &why), -1);
    ck_assert_str_eq(why, "nickname is already in use");
    ck_assert_int_eq(hub_nick(a, "Alice", old, &outbox, &why), 1);
    ck_assert_int_eq(hub_nick(a, "alice", old, &outbox, &why), 0);
    ck_assert_int_eq(hub_lookup("ALICE", &id, &worker, real), 0);
    ck_assert_uint_eq(id, 10);
    ck_assert_int_eq(worker, 0);
    ck_assert_str_eq(real, "alice");
    ck_assert_int_eq(hub_lookup("guest1", &id, &worker, real), -1);
    hub_leave(a, "x", &outbox);
    ck_assert_int_eq(hub_lookup("alice", &id, &worker, real), -1);
    /* The name is free again. */
    ck_assert_int_eq(hub_nick(b, "alice", old, &outbox, &why), 0);
    hub_leave(b, "x", &outbox);
}
END_TEST

static void
collect(void *arg, const char *line)
{
    char *buf = arg;

    strcat(buf, line);
    strcat(buf, "|");
}

START_TEST(test_who)
{
    struct hub_welcome w;
    char buf[1024] = "";
    uint64_t after = 0;
    struct hub_user *a = hub_join(1, 0, &w, &outbox);
    struct hub_user *b = hub_join(2, 1, &w, &outbox);

    ck_assert_int_eq(hub_room_who_page(w.room, &after, 10, collect, buf),
                     0);
    ck_assert_str_eq(buf, "guest1|guest2|");
    hub_leave(a, "x", &outbox);
    hub_leave(b, "x", &outbox);
}
END_TEST

/* A /who made a page at a time lists each user once, in join order,
 * even when the user where the last page ended has left meanwhile. */
START_TEST(test_who_pages)
{
    struct hub_welcome w;
    char buf[1024] = "";
    uint64_t after = 0;
    struct hub_user *a = hub_join(1, 0, &w, &outbox);
    struct hub_user *b = hub_join(2, 1, &w, &outbox);
    struct hub_user *c = hub_join(3, 1, &w, &outbox);

    ck_assert_int_eq(hub_room_who_page(w.room, &after, 1, collect, buf),
                     1);
    ck_assert_str_eq(buf, "guest1|");
    hub_leave(a, "x", &outbox);     /* the cursor's user leaves */
    ck_assert_int_eq(hub_room_who_page(w.room, &after, 1, collect, buf),
                     1);
    ck_assert_str_eq(buf, "guest1|guest2|");
    ck_assert_int_eq(hub_room_who_page(w.room, &after, 1, collect, buf),
                     0);
    ck_assert_str_eq(buf, "guest1|guest2|guest3|");
    hub_leave(b, "x", &outbox);
    hub_leave(c, "x", &outbox);
}
END_TEST

START_TEST(test_publish_order_and_routing)
{
    struct mbox_vec other = { 0 };

    /* Two workers publish interleaved batches. */
    mbox_vec_broadcast(&outbox, text("a1\n"), 1, 1, NULL);
    mbox_vec_direct(&outbox, text("d-to-w1\n"), 7, 1);
    mbox_vec_broadcast(&outbox, text("a2\n"), 1, 1, NULL);
    hub_publish(&outbox, 0);
    ck_assert_uint_eq(outbox.len, 0);
    mbox_vec_broadcast(&other, text("b1\n"), 2, 1, NULL);
    hub_publish(&other, 1);
    mbox_vec_free(&other);

    take(0);
    ck_assert_uint_eq(taken.len, 3);
    ck_assert(has_data(&taken.v[0], "a1\n"));
    ck_assert(has_data(&taken.v[1], "a2\n"));
    ck_assert(has_data(&taken.v[2], "b1\n"));
    uint64_t s0 = taken.v[0].seq, s1 = taken.v[1].seq, s2 = taken.v[2].seq;
    ck_assert(s0 < s1 && s1 < s2);
    struct msg *a2 = taken.v[1].msg;
    msg_ref(a2, 1);                 /* keep it alive across take(1) */

    take(1);
    ck_assert_uint_eq(taken.len, 4);
    ck_assert(has_data(&taken.v[0], "a1\n"));
    ck_assert(has_data(&taken.v[1], "d-to-w1\n"));
    ck_assert_uint_eq(taken.v[1].kind, MBOX_DIRECT);
    ck_assert_uint_eq(taken.v[1].to, 7);
    ck_assert_uint_eq(taken.v[2].seq, s1);
    ck_assert_uint_eq(taken.v[3].seq, s2);
    /* One message object shared by both workers, not a copy. */
    ck_assert_ptr_eq(taken.v[2].msg, a2);
    msg_unref(a2);
}
END_TEST

START_TEST(test_history_on_join)
{
    struct hub_welcome w, wv;
    struct hub_user *v = hub_join(2, 1, &wv, &outbox);   /* on worker 1 */

    free(wv.history);
    free(wv.history_times);
    mbox_vec_room(&outbox, text("old\n"), 9, MBOX_ROOM_DEFAULT, 1, NULL);
    mbox_vec_room(&outbox, text("notice\n"), 9, MBOX_ROOM_DEFAULT, 0,
                  NULL);                                /* not kept */
    mbox_vec_room(&outbox, text("m2\n"), 9, MBOX_ROOM_DEFAULT, 1, NULL);
    mbox_vec_room(&outbox, text("m3\n"), 9, MBOX_ROOM_DEFAULT, 1, NULL);
    hub_publish(&outbox, -1);
    struct hub_user *u = hub_join(1, 0, &w, &outbox);
    ck_assert_uint_eq(w.nhistory, 2);               /* history = 2 */
    ck_assert_int_eq(memcmp(w.history[0]->data, "m2\n", 3), 0);
    ck_assert_int_eq(memcmp(w.history[1]->data, "m3\n", 3), 0);
    /* Each kept with the time it was published (UTC seconds). */
    ck_assert_ptr_nonnull(w.history_times);
    ck_assert(w.history_times[0] <= (int64_t)time(NULL) &&
              w.history_times[0] >= (int64_t)time(NULL) - 60);
    ck_assert(w.history_times[1] >= w.history_times[0]);
    /* A room's lines reach only the workers with members in it... */
    take(0);
    ck_assert_uint_eq(taken.len, 0);
    /* ...and everything published before the join is numbered below
     * join_seq. */
    take(1);
    ck_assert_uint_eq(taken.len, 5);    /* v's join notice, 4 lines */
    ck_assert_uint_lt(taken.v[taken.len - 1].seq, w.join_seq);
    for (size_t i = 0; i < w.nhistory; i++)
        msg_unref(w.history[i]);
    free(w.history);
    free(w.history_times);
    hub_leave(u, "x", &outbox);
    hub_leave(v, "x", &outbox);
}
END_TEST

START_TEST(test_shutdown_stops_everyone)
{
    struct hub_welcome w;

    hub_shutdown();
    for (int i = 0; i < 2; i++) {
        take(i);
        ck_assert_uint_eq(taken.len, 2);
        ck_assert(has_data(&taken.v[0], "*** server shutting down\n"));
        ck_assert_uint_eq(taken.v[1].kind, MBOX_STOP);
    }
    ck_assert_ptr_null(hub_join(1, 0, &w, &outbox));
    ck_assert_str_eq(w.refused, "server shutting down");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Send log and client cursors over socketpairs                       */
/* ------------------------------------------------------------------ */

static struct sendlog slog;
static struct client *ca, *cb;
static int peer_a, peer_b;

static struct client *
pair_client(uint64_t id, int *peer)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    *peer = sv[1];
    struct client *c = client_new(tport_plain_new(sv[0]), id, 1024);
    c->join_seq = 1;
    c->cur = slog.head;
    return c;
}

static void
log_setup(void)
{
    sendlog_init(&slog);
    ca = pair_client(1, &peer_a);
    cb = pair_client(2, &peer_b);
}

static void
log_teardown(void)
{
    client_pass_all(ca, &slog);
    client_pass_all(cb, &slog);
    client_free(ca);
    client_free(cb);
    close(peer_a);
    close(peer_b);
    sendlog_trim(&slog);
    ck_assert_uint_eq(slog.tail, slog.head);
    sendlog_free(&slog);
}

/* A line for everyone: both clients count, as the worker does. */
static void
bcast(const char *s, uint64_t seq, uint64_t from)
{
    struct sendlog_entry *e = sendlog_append(&slog, text(s), seq, from, 0,
                                             0);

    client_count(ca, e);
    client_count(cb, e);
}

static void
direct(const char *s, struct client *to)
{
    client_count(to, sendlog_append(&slog, text(s), 0, 0, to->id, 0));
}

static const char *
received(int fd)
{
    static char buf[1 << 16];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void
flush(struct client *c)
{
    uint64_t lines = 0, bytes = 0;

    ck_assert_int_eq(client_flush(c, &slog, &lines, &bytes), 0);
}

START_TEST(test_sender_excluded_and_directs)
{
    bcast("<a> hi\n", 1, ca->id);
    direct("*** only b\n", cb);
    bcast("<b> yo\n", 2, cb->id);
    flush(ca);
    flush(cb);
    ck_assert_str_eq(received(peer_a), "<b> yo\n");
    ck_assert_str_eq(received(peer_b), "<a> hi\n*** only b\n");
    ck_assert_uint_eq(ca->cur, slog.head);
    ck_assert_uint_eq(cb->cur, slog.head);
    ck_assert_uint_eq(cb->owed, 0);
    ck_assert_uint_eq(sendlog_trim(&slog), 3);      /* all passed */
}
END_TEST

START_TEST(test_before_join_skipped)
{
    cb->join_seq = 5;
    bcast("old\n", 4, 99);
    bcast("new\n", 5, 99);
    flush(cb);
    ck_assert_str_eq(received(peer_b), "new\n");
    flush(ca);
    ck_assert_str_eq(received(peer_a), "old\nnew\n");
}
END_TEST

START_TEST(test_slow_reader_backlog_and_partial_writes)
{
    char line[101];
    int small = 4096;
    uint64_t n = 0, sent = 0, lines = 0, bytes = 0;

    setsockopt(ca->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    memset(line, 'x', 99);
    line[99] = '\n';
    line[100] = '\0';
    for (n = 0; n < 5000; n++)                      /* 500 KB */
        bcast(line, n + 1, 77);
    ck_assert_int_eq(client_flush(ca, &slog, &lines, &bytes), 0);
    ck_assert(ca->blocked);                         /* socket full */
    ck_assert_uint_lt(bytes, 500000);
    /* What was not sent is the backlog a worker compares with sendq. */
    ck_assert_uint_eq(client_backlog(ca, &slog) + bytes, 500000);
    ck_assert_uint_eq(client_backlog(cb, &slog), 500000);
    /* Drain the peer bit by bit: the stream arrives whole and in order. */
    char buf[8192];
    while (!(ca->cur == slog.head && ca->off == 0)) {
        ssize_t r = read(peer_a, buf, sizeof(buf));
        if (r > 0) {
            for (ssize_t i = 0; i < r; i++)
                ck_assert_int_eq(buf[i], (sent + i) % 100 == 99 ? '\n' : 'x');
            sent += (uint64_t)r;
        }
        ca->blocked = 0;
        ck_assert_int_eq(client_flush(ca, &slog, &lines, &bytes), 0);
    }
    ssize_t r;
    while ((r = read(peer_a, buf, sizeof(buf))) > 0)
        sent += (uint64_t)r;
    ck_assert_uint_eq(sent, 500000);
    ck_assert_uint_eq(lines, 5000);
    ck_assert_uint_eq(client_backlog(ca, &slog), 0);
}
END_TEST

START_TEST(test_closed_peer_is_an_error)
{
    bcast("x\n", 1, 99);
    close(peer_a);
    peer_a = open("/dev/null", O_RDONLY);
    uint64_t lines = 0, bytes = 0;
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(client_flush(ca, &slog, &lines, &bytes), -1);
    ck_assert_int_eq(errno, EPIPE);
}
END_TEST

START_TEST(test_token_bucket)
{
    struct client c;

    memset(&c, 0, sizeof(c));
    c.tokens = 3;
    c.refill_ms = 1000;
    ck_assert(client_take_token(&c, 1000, 10, 3));
    ck_assert(client_take_token(&c, 1000, 10, 3));
    ck_assert(client_take_token(&c, 1000, 10, 3));
    ck_assert(!client_take_token(&c, 1000, 10, 3));
    ck_assert_int_ge(c.wake_ms, 1100);              /* 10/s: 100 ms */
    ck_assert_int_le(c.wake_ms, 1101);
    ck_assert(!client_take_token(&c, 1050, 10, 3));
    ck_assert(client_take_token(&c, 1101, 10, 3));
    /* The bucket never holds more than the burst. */
    ck_assert(client_take_token(&c, 100000, 10, 3));
    ck_assert(client_take_token(&c, 100000, 10, 3));
    ck_assert(client_take_token(&c, 100000, 10, 3));
    ck_assert(!client_take_token(&c, 100000, 10, 3));
    /* rate 0: no limit */
    ck_assert(client_take_token(&c, 100000, 0, 3));
}
END_TEST

/* A client's replies go out before the log's lines, in one stream, and
 * count in its backlog until sent. */
START_TEST(test_replies_go_first)
{
    bcast("<x> live\n", 1, 99);
    client_reply(ca, text("*** reply 1\n"));
    client_reply(ca, text("*** reply 2\n"));
    ck_assert_uint_eq(client_backlog(ca, &slog), 9 + 24);
    flush(ca);
    ck_assert_str_eq(received(peer_a), "*** reply 1\n*** reply 2\n<x> live\n");
    ck_assert_uint_eq(client_backlog(ca, &slog), 0);
    ck_assert_uint_eq(ca->rq_len, 0);
    flush(cb);
    ck_assert_str_eq(received(peer_b), "<x> live\n");
}
END_TEST

/*
 * A log line begun (its socket filled part-way through it) is finished
 * before any reply queued later: a reply never lands inside another
 * user's line (found in review).
 */
START_TEST(test_reply_never_inside_a_line)
{
    int small = 4096;
    char line[1001], buf[8192], *all = malloc(1 << 21);
    size_t got = 0;
    ssize_t r;

    setsockopt(ca->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    memset(line, 'x', 999);
    line[999] = '\n';
    line[1000] = '\0';
    for (int i = 0; i < 1000; i++)
        bcast(line, (uint64_t)i + 1, 77);
    flush(ca);
    ck_assert(ca->blocked);
    ck_assert_uint_gt(ca->off, 0);      /* stopped inside a line */
    client_reply(ca, text("*** error: reply\n"));
    while (ca->rq_len > 0 || ca->cur < slog.head) {
        while ((r = read(peer_a, buf, sizeof(buf))) > 0) {
            ck_assert_uint_lt(got + (size_t)r, 1 << 21);
            memcpy(all + got, buf, (size_t)r);
            got += (size_t)r;
        }
        ca->blocked = 0;
        flush(ca);
    }
    while ((r = read(peer_a, buf, sizeof(buf))) > 0) {
        memcpy(all + got, buf, (size_t)r);
        got += (size_t)r;
    }
    ck_assert_uint_eq(got, 1000 * 1000 + 17);
    /* Every line is whole: 1000 bytes of x, or the reply. */
    for (size_t p = 0; p < got;) {
        char *nl = memchr(all + p, '\n', got - p);
        ck_assert_ptr_nonnull(nl);
        size_t n = (size_t)(nl - (all + p)) + 1;
        if (all[p] == '*')
            ck_assert_int_eq(memcmp(all + p, "*** error: reply\n", n), 0);
        else
            ck_assert_uint_eq(n, 1000);
        p += n;
    }
    free(all);
}
END_TEST

/* Replies written a bit at a time arrive whole and in order. */
START_TEST(test_replies_partial_writes)
{
    int small = 4096;
    uint64_t lines = 0, bytes = 0, got = 0;
    char buf[8192], want[64];
    size_t wantlen = 0;

    setsockopt(ca->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    for (int i = 0; i < 3000; i++) {
        snprintf(want, sizeof(want), "*** reply %06d\n", i);
        client_reply(ca, text(want));
        wantlen += strlen(want);
    }
    ck_assert_int_eq(client_flush(ca, &slog, &lines, &bytes), 0);
    ck_assert(ca->blocked);
    while (ca->rq_len > 0 || got < wantlen) {
        ssize_t r = read(peer_a, buf, sizeof(buf));
        for (ssize_t i = 0; i < r; i++) {
            uint64_t k = got + (uint64_t)i;
            snprintf(want, sizeof(want), "*** reply %06llu\n",
                     (unsigned long long)(k / 17));
            ck_assert_int_eq(buf[i], want[k % 17]);
        }
        got += r > 0 ? (uint64_t)r : 0;
        ca->blocked = 0;
        ck_assert_int_eq(client_flush(ca, &slog, &lines, &bytes), 0);
    }
    ck_assert_uint_eq(got, wantlen);
    ck_assert_uint_eq(lines, 3000);
    ck_assert_uint_eq(ca->rq_bytes, 0);
}
END_TEST

/* A feed tops up the replies only below its mark, and sends all. */
START_TEST(test_feed_tops_up)
{
    enum { N = 100 };
    struct msg **v = malloc(N * sizeof(*v));
    char l[32];
    struct feed *f;
    size_t total = 0;

    for (int i = 0; i < N; i++) {
        snprintf(l, sizeof(l), "line %03d\n", i);      /* 9 bytes */
        v[i] = text(l);
    }
    f = feed_list(v, N);
    ck_assert_int_eq(feed_fill(f, ca, 90), 1);
    ck_assert_uint_eq(ca->rq_len, 10);                  /* 90 bytes */
    ck_assert_int_eq(feed_fill(f, ca, 90), 1);
    ck_assert_uint_eq(ca->rq_len, 10);                  /* still full */
    for (;;) {
        flush(ca);
        total += strlen(received(peer_a));
        if (feed_fill(f, ca, 90) == 0)
            break;
    }
    flush(ca);
    total += strlen(received(peer_a));
    ck_assert_uint_eq(total, 9 * N);
    feed_free(f);
}
END_TEST

START_TEST(test_clientset)
{
    enum { N = 1000 };
    struct client *c = calloc(N, sizeof(*c));
    struct clientset set;
    size_t n = 0;

    clientset_init(&set);
    for (int i = 0; i < N; i++) {
        c[i].id = (uint64_t)i * 7 + 1;
        clientset_add(&set, &c[i]);
    }
    ck_assert_uint_eq(set.n, N);
    for (int i = 0; i < N; i++)
        ck_assert_ptr_eq(clientset_find(&set, (uint64_t)i * 7 + 1), &c[i]);
    ck_assert_ptr_null(clientset_find(&set, 2));
    for (int i = 0; i < N; i += 2)
        clientset_remove(&set, &c[i]);
    ck_assert_uint_eq(set.n, N / 2);
    for (int i = 0; i < N; i++)
        ck_assert_ptr_eq(clientset_find(&set, (uint64_t)i * 7 + 1),
                         i % 2 ? &c[i] : NULL);
    for (struct client *p = set.first; p; p = p->next) {
        ck_assert_uint_eq((p->id - 1) / 7 % 2, 1);
        n++;
    }
    ck_assert_uint_eq(n, N / 2);
    clientset_free(&set);
    free(c);
}
END_TEST

static Suite *
hub_suite(void)
{
    Suite *s = suite_create("hub");
    TCase *tc = tcase_create("Registry");

    tcase_add_checked_fixture(tc, hub_setup, hub_teardown);
    tcase_add_test(tc, test_join_guest_names_and_limit);
    tcase_add_test(tc, test_guest_name_skips_taken);
    tcase_add_test(tc, test_nick_unique_ignoring_case);
    tcase_add_test(tc, test_who);
    tcase_add_test(tc, test_who_pages);
    suite_add_tcase(s, tc);

    tc = tcase_create("Publish");
    tcase_add_checked_fixture(tc, hub_setup, hub_teardown);
    tcase_add_test(tc, test_publish_order_and_routing);
    tcase_add_test(tc, test_history_on_join);
    tcase_add_test(tc, test_shutdown_stops_everyone);
    suite_add_tcase(s, tc);

    tc = tcase_create("Output");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_sender_excluded_and_directs);
    tcase_add_test(tc, test_before_join_skipped);
    tcase_add_test(tc, test_slow_reader_backlog_and_partial_writes);
    tcase_add_test(tc, test_closed_peer_is_an_error);
    tcase_add_test(tc, test_token_bucket);
    tcase_add_test(tc, test_replies_go_first);
    tcase_add_test(tc, test_reply_never_inside_a_line);
    tcase_add_test(tc, test_replies_partial_writes);
    tcase_add_test(tc, test_feed_tops_up);
    suite_add_tcase(s, tc);

    tc = tcase_create("Clients");
    tcase_add_test(tc, test_clientset);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(hub_suite());
}
