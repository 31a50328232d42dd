/*
 * check_web.c: the web port over real sockets (web.c, http.c, ws.c,
 * tport_ws.c in the real chatd on port 0): the page and keep-alive,
 * /healthz, /metrics that move as clients come and go, the HTTP
 * refusals (400, 404, 405, 426, 431, 505, a slow head's 408), Origin
 * checks, WebSocket and nc-style TCP clients chatting in one room both
 * ways, every bad frame closed with the RFC's code while a bystander
 * goes on, 1,000 WebSocket clients receiving one broadcast, and all of
 * it over TLS with web-tls (the certificates made by tests/htls.c).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hchatd.h"
#include "htls.h"
#include "hws.h"

static int wport;
static char ans[200000];

static void
start_web(void)
{
    static const char *const args[] = { "--web-port", "0", "--rate", "0",
                                        "--max-clients", "1200", NULL };

    start(args);
    wport = hws_web_port(&srv);
    ck_assert_int_gt(wport, 0);
}

static int
get(const char *req)
{
    return hws_http(wport, req, strlen(req), ans, sizeof(ans));
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_page_and_keep_alive)
{
    struct hconn *c = hconn_open(wport);
    const char *r1 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *r2 = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(hws_http_conn(c, r1, strlen(r1), ans, sizeof(ans)),
                     200);
    ck_assert_ptr_nonnull(strstr(ans, "Content-Type: text/html; "
                                      "charset=utf-8\r\n"));
    ck_assert_ptr_nonnull(strstr(ans, "Content-Security-Policy: "
                                      "default-src 'none'; script-src "
                                      "'unsafe-inline'; style-src "
                                      "'unsafe-inline'; connect-src "
                                      "'self' ws: wss:; img-src 'none'; "
                                      "base-uri 'none'; form-action 'none'; "
                                      "frame-ancestors 'none'\r\n"));
    ck_assert_ptr_nonnull(strstr(ans, "Cache-Control: "));
    ck_assert_ptr_nonnull(strstr(ans, "Connection: keep-alive\r\n"));
    ck_assert_ptr_nonnull(strstr(ans, "<html"));
    /* The same connection serves the next request. */
    ck_assert_int_eq(hws_http_conn(c, r2, strlen(r2), ans, sizeof(ans)),
                     200);
    ck_assert_ptr_nonnull(strstr(ans, "\r\n\r\nok\n"));
    hconn_close(c);
}
END_TEST

START_TEST(test_head_and_pipelined)
{
    struct hconn *c = hconn_open(wport);
    const char *two = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(hws_http_conn(c, two, strlen(two), ans, sizeof(ans)),
                     200);
    ck_assert_ptr_null(strstr(ans, "<html"));  /* HEAD: no body */
    /* The second answer follows (maybe already read with the first). */
    if (strstr(ans, "\r\n\r\nok\n") == NULL)
        ck_assert_int_eq(hws_http_conn(c, "", 0, ans, sizeof(ans)), 200);
    hconn_close(c);
}
END_TEST

START_TEST(test_refusals)
{
    static char big[9000];

    ck_assert_int_eq(get("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), 404);
    ck_assert_int_eq(get("POST / HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 3\r\n\r\nabc"), 405);
    ck_assert_ptr_nonnull(strstr(ans, "Allow: GET, HEAD\r\n"));
    ck_assert_int_eq(get("PUT /ws HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    ck_assert_ptr_nonnull(strstr(ans, "Allow: GET\r\n"));
    ck_assert_int_eq(get("GET / HTTP/1.1\r\n\r\n"), 400);      /* no Host */
    ck_assert_ptr_nonnull(strstr(ans, "Host"));
    ck_assert_int_eq(get("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    ck_assert_int_eq(get("GET / HTTP/1.1\r\nHost: x\r\n fold\r\n\r\n"), 400);
    ck_assert_int_eq(get("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
    ck_assert_ptr_nonnull(strstr(ans, "Connection: close\r\n"));
    snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX: ");
    memset(big + strlen(big), 'a', sizeof(big) - strlen(big) - 5);
    strcpy(big + sizeof(big) - 5, "\r\n\r\n");
    ck_assert_int_eq(hws_http(wport, big, strlen(big), ans, sizeof(ans)),
                     431);
    /* Still serving. */
    ck_assert_int_eq(get("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
}
END_TEST

START_TEST(test_slow_head_408)
{
    struct hconn *slow = hconn_open(wport);
    const char *part = "GET / HTTP/1.1\r\nHost: x\r\n";
    long t0 = h_now_ms();

    ck_assert_ptr_nonnull(slow);
    ck_assert_int_eq(hconn_write(slow, part, strlen(part)), 0);
    /* Others are served meanwhile. */
    ck_assert_int_eq(get("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
    ck_assert_int_eq(hconn_write(slow, "X-A: b\r\n", 8), 0);
    ck_assert(hconn_expect(slow, "HTTP/1.1 408 ", line, sizeof(line),
                           5000 + T) == 1);
    ck_assert(hconn_closed(slow, T));
    /* Not before the head's time was up, and not per byte. */
    ck_assert_int_ge(h_now_ms() - t0, 4500);
    hconn_close(slow);
}
END_TEST

/* The value of a metrics sample (name with labels), or -1. */
static long
metric(const char *sample)
{
    char want[128];
    const char *p;

    if (get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") != 200)
        return -1;
    snprintf(want, sizeof(want), "\n%s ", sample);
    p = strstr(ans, want);
    return p ? atol(p + strlen(want)) : -1;
}

/* Wait until a sample reads want. */
static void
metric_becomes(const char *sample, long want)
{
    long end = h_now_ms() + T, v = -1;

    while (h_now_ms() < end && (v = metric(sample)) != want)
        usleep(20000);
    ck_assert_msg(v == want, "%s is %ld, not %ld", sample, v, want);
}

START_TEST(test_metrics_move)
{
    struct hconn *w[3], *t;
    long ws0, tcp0, conn0;

    ck_assert_int_eq(get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
    ck_assert_ptr_nonnull(strstr(ans, "Content-Type: text/plain; "
                                      "version=0.0.4"));
    ck_assert_ptr_nonnull(strstr(ans, "# HELP chatd_clients "));
    ck_assert_ptr_nonnull(strstr(ans, "# TYPE chatd_clients gauge\n"));
    ck_assert_ptr_nonnull(strstr(ans, "# TYPE chatd_lines_in_total "
                                      "counter\n"));
    ck_assert_ptr_nonnull(strstr(ans, "chatd_worker_clients{worker=\"1\"}"));
    ck_assert_ptr_nonnull(strstr(ans, "chatd_cluster_enabled 0\n"));
    ws0 = metric("chatd_clients{transport=\"ws\"}");
    tcp0 = metric("chatd_clients{transport=\"tcp\"}");
    conn0 = metric("chatd_connections_total");
    ck_assert_int_ge(ws0, 0);
    for (int i = 0; i < 3; i++) {
        w[i] = hws_join(wport, NULL, 0);
        ck_assert_ptr_nonnull(w[i]);
    }
    t = join(NULL);
    metric_becomes("chatd_clients{transport=\"ws\"}", ws0 + 3);
    metric_becomes("chatd_clients{transport=\"tcp\"}", tcp0 + 1);
    ck_assert_int_ge(metric("chatd_connections_total"), conn0 + 4);
    long in0 = metric("chatd_lines_in_total");
    hconn_send(w[0], "counted\n");
    expect(t, "> counted");
    metric_becomes("chatd_lines_in_total", in0 + 1);
    for (int i = 0; i < 3; i++)
        hconn_close(w[i]);
    hconn_close(t);
    metric_becomes("chatd_clients{transport=\"ws\"}", ws0);
    metric_becomes("chatd_clients{transport=\"tcp\"}", tcp0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The upgrade                                                         */
/* ------------------------------------------------------------------ */

START_TEST(test_origins)
{
    char own[64];
    int st;
    struct hconn *c;

    c = hws_open(wport, "http://evil.example", NULL, &st);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(st, 403);
    snprintf(own, sizeof(own), "http://127.0.0.1:%d", wport);
    c = hws_open(wport, own, NULL, &st);
    ck_assert_int_eq(st, 101);
    expect(c, "*** welcome to chatd, ");
    hconn_close(c);
    c = hws_open(wport, NULL, NULL, &st);       /* no browser: no Origin */
    ck_assert_int_eq(st, 101);
    hconn_close(c);
}
END_TEST

START_TEST(test_bad_upgrades)
{
    ck_assert_int_eq(get("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    ck_assert_int_eq(get("GET /ws HTTP/1.1\r\nHost: x\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 8\r\n\r\n"), 426);
    ck_assert_ptr_nonnull(strstr(ans, "Sec-WebSocket-Version: 13\r\n"));
    ck_assert_int_eq(get("GET /ws HTTP/1.1\r\nHost: x\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: short\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n"), 400);
}
END_TEST

/* ------------------------------------------------------------------ */
/* WebSocket and TCP clients together                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_ws_and_tcp_chat)
{
    struct hconn *w = hws_join(wport, NULL, 0), *t = join_as("nc_user");

    ck_assert_ptr_nonnull(w);
    ck_assert(hconn_nick(w, "web_user"));
    hconn_send(w, "hello from the browser\n");
    expect(t, "<web_user> hello from the browser");
    hconn_send(t, "hello from nc\n");
    expect(w, "<nc_user> hello from nc");
    /* Another room, both ways. */
    hconn_send(w, "/join #webroom\n");
    hconn_send(t, "/join #webroom\n");
    expect(w, "#webroom *** nc_user has joined");
    hconn_send(t, "in the room\n");
    expect(w, "#webroom <nc_user> in the room");
    hconn_send(w, "back at you\n");
    expect(t, "#webroom <web_user> back at you");
    /* A message in fragments is one line. */
    ck_assert_int_eq(hws_frame(w, 1, 0, 1, "frag", 4), 0);
    ck_assert_int_eq(hws_frame(w, 0, 1, 1, "mented", 6), 0);
    expect(t, "#webroom <web_user> fragmented");
    hconn_close(w);
    hconn_close(t);
}
END_TEST

START_TEST(test_many_lines_to_ws)
{
    struct hconn *w = hws_join(wport, NULL, 0), *t = join_as("burster");

    ck_assert_ptr_nonnull(w);
    hconn_roundtrip(w, line, sizeof(line));
    for (int i = 0; i < 500; i++)
        hconn_send(t, "line %d\n", i);
    for (int i = 0; i < 500; i++) {
        char want[64];
        snprintf(want, sizeof(want), "<burster> line %d", i);
        next_is(w, want);
    }
    hconn_close(w);
    hconn_close(t);
}
END_TEST

/* Open a WebSocket client, send one bad frame, want close code. */
static void
bad_frame(int op, int fin, int masked, const void *p, size_t n, int code)
{
    struct hconn *w = hws_join(wport, NULL, 0);

    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(hws_frame(w, op, fin, masked, p, n), 0);
    ck_assert_int_eq(hws_close_code(w, T), code);
    hconn_close(w);
}

START_TEST(test_bad_frames_closed)
{
    static char big[2000], p126[126];
    struct hconn *by = join_as("bystander");

    memset(big, 'b', sizeof(big));
    bad_frame(1, 1, 0, "unmasked", 8, 1002);
    bad_frame(2, 1, 1, "\0\1\2", 3, 1003);
    bad_frame(1, 1, 1, "\xc3(", 2, 1007);
    bad_frame(1, 1, 1, big, sizeof(big), 1009);          /* > max-line */
    bad_frame(9, 1, 1, p126, sizeof(p126), 1002);        /* long ping */
    bad_frame(9, 0, 1, "x", 1, 1002);                    /* fragmented */
    bad_frame(0x41, 1, 1, "x", 1, 1002);                 /* RSV3... */
    bad_frame(0, 1, 1, "x", 1, 1002);                    /* continues? */
    bad_frame(5, 1, 1, "x", 1, 1002);                    /* opcode 5 */
    /* Fragments past max-line together. */
    {
        struct hconn *w = hws_join(wport, NULL, 0);
        ck_assert_ptr_nonnull(w);
        hws_frame(w, 1, 0, 1, big, 600);
        hws_frame(w, 0, 1, 1, big, 600);
        ck_assert_int_eq(hws_close_code(w, T), 1009);
        hconn_close(w);
    }
    /* A close is echoed. */
    bad_frame(8, 1, 1, "\x03\xe8", 2, 1000);
    /* Nobody else was harmed. */
    ck_assert_int_ge(hconn_barrier(by, line, sizeof(line)), 0);
    hconn_close(by);
}
END_TEST

START_TEST(test_ping_answered)
{
    struct hconn *w = hws_join(wport, NULL, 0);

    ck_assert_ptr_nonnull(w);
    /* A ping between a line's fragments: the line still arrives. */
    hws_frame(w, 1, 0, 1, "/bar", 4);
    hws_frame(w, 9, 1, 1, "ping", 4);
    hws_frame(w, 0, 1, 1, "rier", 4);
    expect(w, H_BARRIER_REPLY);
    hconn_close(w);
}
END_TEST

/* X-Forwarded-For from a client that is no proxy: ignored. */
START_TEST(test_forwarded_for_ignored)
{
    int st;
    struct hconn *w = hws_open(wport, NULL,
                               "X-Forwarded-For: 198.51.100.7\r\n", &st);
    char *log;

    ck_assert_int_eq(st, 101);
    expect(w, "*** welcome to chatd, ");
    log = hserver_log(&srv);
    ck_assert_ptr_null(strstr(log, "198.51.100.7"));
    free(log);
    hconn_close(w);
}
END_TEST

/* From a web-proxies address: its last address is the client's. */
START_TEST(test_forwarded_for_from_proxy)
{
    int st;
    struct hconn *w = hws_open(wport, NULL, "X-Forwarded-For: 10.9.9.9, "
                               "203.0.113.9\r\n", &st);

    ck_assert_int_eq(st, 101);
    expect(w, "*** welcome to chatd, ");
    ck_assert(hserver_wait_log(&srv, "(203.0.113.9) connected as ", T));
    hconn_close(w);
    /* A header that is no address is not believed. */
    w = hws_open(wport, NULL, "X-Forwarded-For: <script>\r\n", &st);
    ck_assert_int_eq(st, 101);
    expect(w, "*** welcome to chatd, ");
    char *log = hserver_log(&srv);
    ck_assert_ptr_null(strstr(log, "<script>"));
    free(log);
    hconn_close(w);
}
END_TEST

static void
start_proxied(void)
{
    static const char *const args[] = { "--web-port", "0", "--web-proxies",
                                        "::1 127.0.0.0/8", NULL };

    start(args);
    wport = hws_web_port(&srv);
    ck_assert_int_gt(wport, 0);
}

/* ------------------------------------------------------------------ */
/* Load                                                                */
/* ------------------------------------------------------------------ */

#define MANY_WS 1000

START_TEST(test_thousand_ws_broadcast)
{
    static struct hconn *w[MANY_WS];
    struct rlimit rl;
    struct hconn *t;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    ck_assert_msg(rl.rlim_cur >= MANY_WS + 64, "RLIMIT_NOFILE too low");
    for (int i = 0; i < MANY_WS; i++) {
        w[i] = hws_join(wport, NULL, 0);
        ck_assert_msg(w[i] != NULL, "WebSocket client %d", i);
    }
    t = join_as("herald");
    hconn_send(t, "to all %d of you\n", MANY_WS);
    for (int i = 0; i < MANY_WS; i++)
        expect(w[i], "<herald> to all 1000 of you");
    for (int i = 0; i < MANY_WS; i++)
        hconn_close(w[i]);
    hconn_close(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* web-tls                                                             */
/* ------------------------------------------------------------------ */

static char dir[64], certpath[128], keypath[128], capath[128];
static struct htls_id ca, server_id;

static void
start_tls(void)
{
    const char *args[] = { "--web-port", "0", "--web-tls", "--tls-cert",
                           certpath, "--tls-key", keypath, "--rate", "0",
                           NULL };

    snprintf(dir, sizeof(dir), "/tmp/chatd-web-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(certpath, sizeof(certpath), "%s/cert.pem", dir);
    snprintf(keypath, sizeof(keypath), "%s/key.pem", dir);
    snprintf(capath, sizeof(capath), "%s/ca.pem", dir);
    htls_issue(&ca, "chatd test CA", NULL, -60, 86400, NULL, 1);
    htls_issue(&server_id, "localhost", "DNS:localhost,IP:127.0.0.1", -60,
               86400, &ca, 0);
    htls_write(&ca, capath, NULL);
    htls_write(&server_id, certpath, keypath);
    start(args);
    ck_assert(hserver_wait_log(&srv, " (web tls)", T));
    wport = hws_web_port(&srv);
    ck_assert_int_gt(wport, 0);
}

static void
stop_tls(void)
{
    char cmd[128];
    int rc;

    stop();
    htls_free(&ca);
    htls_free(&server_id);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    rc = system(cmd);
    (void)rc;
}

START_TEST(test_https_and_wss)
{
    SSL_CTX *ctx = htls_ctx(0, 0, capath);
    char err[256];
    struct hconn *h = htls_open(ctx, wport, err, sizeof(err)), *w, *t;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    int st;

    ck_assert_msg(h != NULL, "%s", err);
    ck_assert_int_eq(hws_http_conn(h, req, strlen(req), ans, sizeof(ans)),
                     200);
    ck_assert_ptr_nonnull(strstr(ans, "\r\n\r\nok\n"));
    hconn_close(h);
    /* Plain HTTP on the TLS port gets nowhere. */
    ck_assert_int_lt(get("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
    w = hws_upgrade(htls_open(ctx, wport, err, sizeof(err)), wport, NULL,
                    NULL, &st);
    ck_assert_int_eq(st, 101);
    expect(w, "*** welcome to chatd, ");
    ck_assert(hconn_nick(w, "secure_web"));
    t = join_as("plain_nc");
    hconn_send(w, "over wss\n");
    expect(t, "<secure_web> over wss");
    hconn_send(t, "over tcp\n");
    expect(w, "<plain_nc> over tcp");
    /* w chats, so it is counted. */
    h = htls_open(ctx, wport, err, sizeof(err));
    ck_assert_msg(h != NULL, "%s", err);
    req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    ck_assert_int_eq(hws_http_conn(h, req, strlen(req), ans, sizeof(ans)),
                     200);
    ck_assert_ptr_nonnull(strstr(ans, "\nchatd_clients{transport=\"wss\"} 1\n"));
    hconn_close(h);
    hconn_close(w);
    hconn_close(t);
    SSL_CTX_free(ctx);
}
END_TEST

static Suite *
web_suite(void)
{
    Suite *s = suite_create("web");
    TCase *tc;

    tc = h_tcase(s, "HTTP", NULL, NULL, 60);
    tcase_add_unchecked_fixture(tc, start_web, stop);
    tcase_add_test(tc, test_page_and_keep_alive);
    tcase_add_test(tc, test_head_and_pipelined);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_slow_head_408);
    tcase_add_test(tc, test_metrics_move);
    tc = h_tcase(s, "Upgrade", NULL, NULL, 60);
    tcase_add_unchecked_fixture(tc, start_web, stop);
    tcase_add_test(tc, test_origins);
    tcase_add_test(tc, test_bad_upgrades);
    tc = h_tcase(s, "WebSocket", NULL, NULL, 60);
    tcase_add_unchecked_fixture(tc, start_web, stop);
    tcase_add_test(tc, test_ws_and_tcp_chat);
    tcase_add_test(tc, test_many_lines_to_ws);
    tcase_add_test(tc, test_bad_frames_closed);
    tcase_add_test(tc, test_ping_answered);
    tcase_add_test(tc, test_forwarded_for_ignored);
    tc = h_tcase(s, "Proxy", NULL, NULL, 60);
    tcase_add_unchecked_fixture(tc, start_proxied, stop);
    tcase_add_test(tc, test_forwarded_for_from_proxy);
    tc = h_tcase(s, "Load", NULL, NULL, 120);
    tcase_add_unchecked_fixture(tc, start_web, stop);
    tcase_add_test(tc, test_thousand_ws_broadcast);
    tc = h_tcase(s, "TLS", NULL, NULL, 60);
    tcase_add_unchecked_fixture(tc, start_tls, stop_tls);
    tcase_add_test(tc, test_https_and_wss);
    return s;
}

int
main(void)
{
    return h_run_suite(web_suite());
}
