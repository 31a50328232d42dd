/*
 * check_hostile_conn.c: hostile connections against the real chatd
 * (issue 7): connect-and-close storms and the acceptor's hand-off,
 * half-closed sockets and RSTs, nickname races, running out of
 * descriptors (a low ulimit, EMFILE).  Each test starts its own chatd
 * and checks the same things afterwards (hhostile.h: after()): alive,
 * chatting, descriptors and RSS back, honest clients' lines all there,
 * in order and clean, exit 0.
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

static Suite *
hostile_conn_suite(void)
{
    Suite *s = suite_create("hostile_conn");

    hostile_case(s, "Storm", test_storm, 240);
    hostile_case(s, "Handoff", test_issue_7_handoff_wakeup, 120);
    hostile_case(s, "HalfClose", test_half_close, 60);
    hostile_case(s, "Rst", test_rst, 60);
    hostile_case(s, "NickRace", test_nick_race, 60);
    hostile_case(s, "FdLimit", test_fd_limit, 60);
    hostile_case(s, "Emfile", test_emfile, 60);
    return s;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return h_run_suite(hostile_conn_suite());
}
