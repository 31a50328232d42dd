/*
 * check_load.c: chatd under load: one global order with concurrent
 * senders, a slow reader cut while the others are unharmed, more clients
 * than workers, and thousands of clients at once.  "Load" starts the
 * real chatd ($CHATD) without flood control in an unchecked fixture
 * (hchatd.c) and talks to it over real sockets; teardown sends SIGTERM and
 * checks for exit status 0.  Tests run in forked children (some with
 * threads of their own); the server belongs to the parent.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hchatd.h"

static void
start_fast(void)
{
    static const char *const args[] = {
        "--rate", "0", "--max-clients", "3000", "--sendq", "256K", NULL };
    start(args);
}

#define ORDER_CLIENTS 50
#define ORDER_SENDERS 5
#define ORDER_LINES 100

static void *
send_lines(void *arg)
{
    hconn_send_numbered(arg, ORDER_LINES);
    return NULL;
}

/*
 * Read lines from every connection until each has `want[i]` lines
 * starting with prefix; store them per connection (index into `seen`).
 */
static void
read_all(struct hconn **c, int n, const char *prefix, const int *want,
         char ***seen, long ms)
{
    int *got = calloc((size_t)n, sizeof(int));
    int *eof = calloc((size_t)n, sizeof(int));
    long end = h_now_ms() + ms;
    int done = 0;

    while (done < n && h_now_ms() < end) {
        done = 0;
        for (int i = 0; i < n; i++) {
            int rc = 1;
            while (got[i] < want[i] && !eof[i] &&
                   (rc = hconn_line(c[i], line, sizeof(line), 0)) == 1)
                if (strncmp(line, prefix, strlen(prefix)) == 0)
                    seen[i][got[i]++] = strdup(line);
            eof[i] |= rc < 0;
            if (got[i] >= want[i] || eof[i])
                done++;
        }
        struct pollfd pfd[ORDER_CLIENTS];
        int np = 0;
        for (int i = 0; i < n && np < ORDER_CLIENTS; i++)
            if (got[i] < want[i] && !eof[i])
                pfd[np++] = (struct pollfd){ .fd = c[i]->fd,
                                             .events = POLLIN };
        if (np > 0)
            poll(pfd, (nfds_t)np, 50);
    }
    for (int i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "client %d got %d of %d lines%s",
                      i, got[i], want[i], eof[i] ? " (closed)" : "");
    free(got);
    free(eof);
}

START_TEST(test_global_order_concurrent_senders)
{
    struct hconn *c[ORDER_CLIENTS];
    pthread_t th[ORDER_SENDERS];
    char **seen[ORDER_CLIENTS];
    int want[ORDER_CLIENTS];
    const int total = ORDER_SENDERS * ORDER_LINES;

    for (int i = 0; i < ORDER_CLIENTS; i++) {
        char nick[16];
        snprintf(nick, sizeof(nick), "u%d", i);
        c[i] = join_as(nick);
        seen[i] = calloc(total, sizeof(char *));
        want[i] = i < ORDER_SENDERS ? total - ORDER_LINES : total;
    }
    for (int i = 0; i < ORDER_SENDERS; i++)
        pthread_create(&th[i], NULL, send_lines, c[i]);
    for (int i = 0; i < ORDER_SENDERS; i++)
        pthread_join(th[i], NULL);
    read_all(c, ORDER_CLIENTS, "<u", want, seen, 30000);

    /* Reference: a client that sent nothing saw all 500 lines.  Every
     * other client saw the same sequence, less its own lines; each
     * sender's lines in the order sent. */
    char **ref = seen[ORDER_CLIENTS - 1];
    int next[ORDER_SENDERS] = { 0 };
    for (int k = 0; k < total; k++) {
        int s, n;
        ck_assert_int_eq(sscanf(ref[k], "<u%d> m %d", &s, &n), 2);
        ck_assert_int_eq(n, next[s]++);
    }
    for (int i = 0; i < ORDER_CLIENTS - 1; i++) {
        char own[16];
        int j = 0;
        snprintf(own, sizeof(own), "<u%d> ", i);
        for (int k = 0; k < total; k++) {
            if (strncmp(ref[k], own, strlen(own)) == 0)
                continue;
            ck_assert_msg(strcmp(seen[i][j], ref[k]) == 0,
                          "client %d line %d: %s, reference: %s", i, j,
                          seen[i][j], ref[k]);
            j++;
        }
        ck_assert_int_eq(j, want[i]);
    }
    for (int i = 0; i < ORDER_CLIENTS; i++) {
        for (int k = 0; k < want[i]; k++)
            free(seen[i][k]);
        free(seen[i]);
        hconn_close(c[i]);
    }
}
END_TEST

#define SLOW_LINES 12000
#define SLOW_READERS 3

struct slow_sender {
    struct hconn *c;
    int           lines;
};

static void *
send_big(void *arg)
{
    struct slow_sender *s = arg;
    char payload[1001];

    memset(payload, 'p', 1000);
    payload[1000] = '\0';
    /* Fast, about 10 MB/s, but not faster than honest readers read:
     * with --rate 0 nothing else holds a sender back. */
    for (int i = 0; i < s->lines; i++) {
        if (hconn_send(s->c, "%06d %s\n", i, payload + 7) < 0)
            break;
        if (i % 100 == 99)
            usleep(10000);
    }
    return NULL;
}

START_TEST(test_slow_reader_cut_others_unharmed)
{
    struct hconn *slow = join_as("sloth");
    struct hconn *r[SLOW_READERS];
    char **seen[SLOW_READERS];
    int want[SLOW_READERS];
    struct slow_sender snd = { join_as("sender"), SLOW_LINES };
    pthread_t th;
    long rss_before = hserver_rss_kb(&srv);

    hconn_rcvbuf(slow, 4096);
    for (int i = 0; i < SLOW_READERS; i++) {
        char nick[16];
        snprintf(nick, sizeof(nick), "reader%d", i);
        r[i] = join_as(nick);
        seen[i] = calloc(SLOW_LINES, sizeof(char *));
        want[i] = SLOW_LINES;
    }
    /* 12 MB through a 256 KiB sendq (the kernel buffers up to 4 MB):
     * sloth must be cut; the readers get everything. */
    pthread_create(&th, NULL, send_big, &snd);
    read_all(r, SLOW_READERS, "<sender> ", want, seen, 60000);
    pthread_join(th, NULL);
    for (int i = 0; i < SLOW_READERS; i++) {
        for (int k = 0; k < SLOW_LINES; k++) {
            char num[8];
            snprintf(num, sizeof(num), "%06d", k);
            ck_assert(strncmp(seen[i][k] + 9, num, 6) == 0);
            ck_assert_uint_eq(strlen(seen[i][k]), 9 + 1000);
            free(seen[i][k]);
        }
        free(seen[i]);
    }
    /* The readers saw the leave notice go by in read_all(). */
    ck_assert(hserver_wait_log(&srv, "sloth left: too slow: send queue full",
                               T));
    ck_assert(hserver_wait_log(&srv, "over 262144 unsent bytes", T));
    hconn_send(r[0], "/who\n");
    expect(r[0], "online:");
    hconn_line(r[0], line, sizeof(line), T);
    ck_assert_ptr_nonnull(strstr(line, "reader0"));
    ck_assert_ptr_null(strstr(line, "sloth"));
    /* Memory stays bounded: nowhere near 12 MB times the clients.  (Not
     * under a sanitizer or valgrind: CHATD_NO_RSS.) */
    long rss_after = hserver_rss_kb(&srv);
    if (getenv("CHATD_NO_RSS") == NULL)
        ck_assert_msg(rss_after - rss_before < 8 * 1024,
                      "RSS grew from %ld to %ld KiB", rss_before,
                      rss_after);
    for (int i = 0; i < SLOW_READERS; i++)
        hconn_close(r[i]);
    hconn_close(slow);
    hconn_close(snd.c);
}
END_TEST

static void
raise_nofile(void)
{
    struct rlimit rl;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

#define MANY 2000

START_TEST(test_many_clients_broadcast)
{
    static struct hconn *c[MANY];
    struct rlimit rl;
    int n = MANY;

    raise_nofile();
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < MANY + 64)
        n = (int)rl.rlim_cur - 64;
    for (int i = 0; i < n; i++) {
        c[i] = hconn_open(srv.port);
        ck_assert_msg(c[i] != NULL, "connect %d: %s", i, strerror(errno));
    }
    for (int i = 0; i < n; i++)
        expect(c[i], "*** welcome to chatd, ");
    ck_assert(hconn_nick(c[0], "announcer"));
    hconn_send(c[0], "hello, %d of you\n", n - 1);
    for (int i = 1; i < n; i++)
        expect(c[i], "<announcer> hello");
    for (int i = 0; i < n; i++)
        hconn_close(c[i]);
}
END_TEST

START_TEST(test_more_clients_than_workers_all_served)
{
    struct hconn *c[20];

    /* Two workers; twenty clients each say something and hear the rest:
     * nobody waits for a thread of its own. */
    for (int i = 0; i < 20; i++) {
        char nick[16];
        snprintf(nick, sizeof(nick), "w%d", i);
        c[i] = join_as(nick);
    }
    for (int i = 0; i < 20; i++)
        hconn_send(c[i], "from %d\n", i);
    /* Every client gets the 19 others' lines, and never its own. */
    for (int i = 0; i < 20; i++) {
        char own[32];
        int got = 0;
        snprintf(own, sizeof(own), "<w%d> from %d", i, i);
        while (got < 19 && hconn_expect(c[i], "> from ", line, sizeof(line),
                                        T) == 1) {
            ck_assert_str_ne(line, own);
            got++;
        }
        ck_assert_int_eq(got, 19);
    }
    for (int i = 0; i < 20; i++)
        hconn_close(c[i]);
}
END_TEST

static Suite *
load_suite(void)
{
    Suite *s = suite_create("load");
    TCase *tc;

    tc = tcase_create("Load");
    tcase_add_unchecked_fixture(tc, start_fast, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_global_order_concurrent_senders);
    tcase_add_test(tc, test_slow_reader_cut_others_unharmed);
    tcase_add_test(tc, test_more_clients_than_workers_all_served);
    tcase_add_test(tc, test_many_clients_broadcast);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return h_run_suite(load_suite());
}
