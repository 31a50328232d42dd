/*
 * check_http.c: unit tests of the web port's request parser (http.c):
 * requests that parse and what they say, every refusal with the status
 * RFC 9110 and RFC 9112 name (400, 431, 505), the head arriving in
 * pieces, routing (404, 405 with Allow) and keep-alive.  No sockets.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "harness.h"
#include "http.h"

static struct http_req req;

/* Parse text in one piece. */
static int
parse(const char *text)
{
    memset(&req, 0, sizeof(req));
    return http_parse(text, strlen(text), &req);
}

static int
str_is(struct http_str s, const char *want)
{
    return s.p != NULL && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

START_TEST(test_get_page)
{
    const char *t = "GET /?x=1 HTTP/1.1\r\nHost: example.org:8080\r\n"
                    "User-Agent: t\r\n\r\nnext";

    ck_assert_int_eq(parse(t), HTTP_OK);
    ck_assert_uint_eq(req.head_len, strlen(t) - 4);
    ck_assert_int_eq(req.method, HTTP_GET);
    ck_assert(str_is(req.target, "/?x=1"));
    ck_assert(str_is(req.path, "/"));
    ck_assert(str_is(req.host, "example.org:8080"));
    ck_assert_int_eq(req.minor, 1);
    ck_assert(http_keep_alive(&req));
}
END_TEST

START_TEST(test_upgrade_fields)
{
    ck_assert_int_eq(parse("GET /ws HTTP/1.1\r\nhost: h\r\n"
                           "UPGRADE: WebSocket\r\n"
                           "Connection: keep-alive, Upgrade\r\n"
                           "Sec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ==  \r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "Origin: http://h\r\n"
                           "X-Forwarded-For: 1.2.3.4\r\n"
                           "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n\r\n"),
                     HTTP_OK);
    ck_assert(req.upgrade_ws);
    ck_assert(req.connection & HTTP_CONN_UPGRADE);
    ck_assert(req.connection & HTTP_CONN_KEEPALIVE);
    ck_assert(str_is(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ=="));
    ck_assert(str_is(req.ws_version, "13"));
    ck_assert(str_is(req.origin, "http://h"));
    ck_assert(str_is(req.forwarded_for, "10.0.0.1, 192.0.2.7"));
}
END_TEST

START_TEST(test_lf_only_and_leading_blank_lines)
{
    ck_assert_int_eq(parse("\r\n\nHEAD /healthz HTTP/1.0\nA: b\n\n"),
                     HTTP_OK);
    ck_assert_int_eq(req.method, HTTP_HEAD);
    ck_assert_int_eq(req.minor, 0);
    ck_assert(!http_keep_alive(&req));          /* 1.0 without keep-alive */
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
                           "\r\n"), HTTP_OK);
    ck_assert(http_keep_alive(&req));
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n"
                           "Connection: close\r\n\r\n"), HTTP_OK);
    ck_assert(!http_keep_alive(&req));
}
END_TEST

START_TEST(test_in_pieces)
{
    const char *t = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = strlen(t);

    memset(&req, 0, sizeof(req));
    for (size_t i = 1; i < n; i++)
        ck_assert_int_eq(http_parse(t, i, &req), HTTP_INCOMPLETE);
    ck_assert_int_eq(http_parse(t, n, &req), HTTP_OK);
    ck_assert(str_is(req.path, "/metrics"));
}
END_TEST

START_TEST(test_malformed_400)
{
    static const char *const bad[] = {
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",        /* two spaces */
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        "GET\r\nHost: a\r\n\r\n",
        "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", /* not a path */
        "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",                    /* no Host */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",        /* space before : */
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",   /* stray CR */
        "GET / HTTP/1.1\r\nnocolon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Content-Length: 2\r\n\r\n",
        "GET / HTTP/x.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.10\r\nHost: a\r\n\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse(bad[i]) == 400, "case %zu", i);
        ck_assert_ptr_nonnull(req.why);
    }
}
END_TEST

START_TEST(test_version_505)
{
    ck_assert_int_eq(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    ck_assert_int_eq(parse("GET / HTTP/0.9\r\n\r\n"), 505);
}
END_TEST

START_TEST(test_too_large_431)
{
    static char big[HTTP_HEAD_MAX + 100];
    size_t n;

    strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    n = strlen(big);
    memset(big + n, 'a', sizeof(big) - n - 1);
    memset(&req, 0, sizeof(req));
    ck_assert_int_eq(http_parse(big, HTTP_HEAD_MAX - 1, &req),
                     HTTP_INCOMPLETE);
    ck_assert_int_eq(http_parse(big, HTTP_HEAD_MAX, &req), 431);
    /* The end just past the limit is still too large. */
    memcpy(big + HTTP_HEAD_MAX - 2, "\r\n\r\n", 4);
    memset(&req, 0, sizeof(req));
    ck_assert_int_eq(http_parse(big, HTTP_HEAD_MAX + 2, &req), 431);
    /* Exactly at the limit is fine. */
    memcpy(big + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
    memset(&req, 0, sizeof(req));
    ck_assert_int_eq(http_parse(big, HTTP_HEAD_MAX, &req), HTTP_OK);
}
END_TEST

START_TEST(test_body_flagged)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\n"
                           "Content-Length: 5\r\n\r\n"), HTTP_OK);
    ck_assert(req.has_body);
    ck_assert_int_eq(req.method, HTTP_OTHER);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n"
                           "Content-Length: 0\r\n\r\n"), HTTP_OK);
    ck_assert(!req.has_body);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"), HTTP_OK);
    ck_assert(req.has_body);
}
END_TEST

START_TEST(test_routes)
{
    enum http_resource res;
    const char *allow = NULL;

    ck_assert_int_eq(parse("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP_OK);
    ck_assert_int_eq(http_route(&req, &res, &allow), 0);
    ck_assert_int_eq(res, HTTP_RES_WS);
    ck_assert_int_eq(parse("HEAD /ws HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP_OK);
    ck_assert_int_eq(http_route(&req, &res, &allow), 405);
    ck_assert_str_eq(allow, "GET");
    ck_assert_int_eq(parse("DELETE /metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
                     HTTP_OK);
    ck_assert_int_eq(http_route(&req, &res, &allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD");
    ck_assert_int_eq(parse("get / HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP_OK);
    ck_assert_int_eq(http_route(&req, &res, &allow), 405); /* case */
    ck_assert_int_eq(parse("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"),
                     HTTP_OK);
    ck_assert_int_eq(http_route(&req, &res, &allow), 404);
    ck_assert_int_eq(parse("GET /healthz?probe HTTP/1.1\r\nHost: a\r\n\r\n"),
                     HTTP_OK);
    ck_assert_int_eq(http_route(&req, &res, &allow), 0);
    ck_assert_int_eq(res, HTTP_RES_HEALTHZ);
}
END_TEST

static Suite *
http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = h_tcase(s, "Parse", NULL, NULL, 0);

    tcase_add_test(tc, test_get_page);
    tcase_add_test(tc, test_upgrade_fields);
    tcase_add_test(tc, test_lf_only_and_leading_blank_lines);
    tcase_add_test(tc, test_in_pieces);
    tcase_add_test(tc, test_body_flagged);
    tc = h_tcase(s, "Refuse", NULL, NULL, 0);
    tcase_add_test(tc, test_malformed_400);
    tcase_add_test(tc, test_version_505);
    tcase_add_test(tc, test_too_large_431);
    tc = h_tcase(s, "Route", NULL, NULL, 0);
    tcase_add_test(tc, test_routes);
    return s;
}

int
main(void)
{
    return h_run_suite(http_suite());
}
