/*
 * check_tls.c: TLS against the real chatd (issue 14).  Each test makes
 * its certificates at run time (htls.c: a CA, a server certificate for
 * localhost signed by it), starts chatd with a plain and a TLS port, and
 * talks to it over real sockets: TLS clients through htls.c, plain ones
 * through the harness, openssl s_client as a third kind, and the real
 * chat client ($CHAT) in pipe mode, whose certificate checks are tested
 * here too.
 *
 * Everything runs on the test's thread, but the storm test's plain
 * clients, which have a thread of their own.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "harness.h"
#include "htls.h"

#define T H_TIMEOUT_MS
#define STORM           1000    /* handshakes at once */
#define STORM_LATE_MS   1500    /* a plain line's round trip meanwhile */

static struct hserver srv;
static char dir[64], certpath[128], keypath[128], capath[128];
static struct htls_id ca, server_id;
static SSL_CTX *cctx;           /* verifies against ca */

/* ------------------------------------------------------------------ */
/* Fixture and helpers                                                 */
/* ------------------------------------------------------------------ */

static void
make_certs(void)
{
    snprintf(dir, sizeof(dir), "/tmp/chatd-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(certpath, sizeof(certpath), "%s/cert.pem", dir);
    snprintf(keypath, sizeof(keypath), "%s/key.pem", dir);
    snprintf(capath, sizeof(capath), "%s/ca.pem", dir);
    htls_issue(&ca, "chatd test CA", NULL, -60, 86400, NULL, 1);
    htls_issue(&server_id, "localhost", "DNS:localhost,IP:127.0.0.1", -60,
               86400, &ca, 0);
    htls_write(&ca, capath, NULL);
    htls_write(&server_id, certpath, keypath);
    cctx = htls_ctx(0, 0, capath);
}

/* Start chatd with a plain and a TLS port and args (NULL-terminated). */
static void
start_with(const char *const *args)
{
    const char *argv[32] = { "chatd", "-p", "0", "-w", "2", "--tls-port",
                             "0", "--tls-cert", certpath, "--tls-key",
                             keypath, "--rate", "0" };
    size_t n = 13;

    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    ck_assert_int_eq(hserver_start_argv(&srv, argv), 0);
    ck_assert_int_gt(srv.tls_port, 0);
}

static void
setup(void)
{
    make_certs();
    start_with(NULL);
}

static void
teardown(void)
{
    char cmd[128];
    int rc;

    ck_assert_int_eq(hserver_stop(&srv), 0);
    SSL_CTX_free(cctx);
    htls_free(&ca);
    htls_free(&server_id);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    rc = system(cmd);
    (void)rc;
}

/* Only the certificates: tests that start chatd themselves. */
static void
setup_certs(void)
{
    make_certs();
    memset(&srv, 0, sizeof(srv));
}

static void
teardown_certs(void)
{
    if (srv.pid > 0)
        teardown();
}

/* chatd's CPU time so far (user + system), in ms. */
static long
cpu_ms(void)
{
    char path[64], *stat, *p;
    unsigned long ut = 0, st = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)srv.pid);
    stat = h_read_file(path);
    ck_assert_ptr_nonnull(stat);
    p = strrchr(stat, ')');
    ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                            "%*u %*u %lu %lu", &ut, &st), 2);
    free(stat);
    return (long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

/* a says text; b must see it from a (nick na). */
static void
says(struct hconn *a, const char *na, struct hconn *b, const char *text)
{
    char want[256], line[512];

    snprintf(want, sizeof(want), "<%s> %s", na, text);
    ck_assert_int_eq(hconn_send(a, "%s\n", text), 0);
    h_expect(b, want, line, sizeof(line));
}

/* The first bytes of a real ClientHello (half of it, in *len). */
static size_t
half_client_hello(unsigned char *out, size_t cap)
{
    SSL *ssl = SSL_new(cctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    int n;

    SSL_set_bio(ssl, rb, wb);
    SSL_set_connect_state(ssl);
    ck_assert_int_le(SSL_do_handshake(ssl), 0);
    n = BIO_read(wb, out, (int)cap);
    ck_assert_int_gt(n, 20);
    SSL_free(ssl);
    return (size_t)n / 2;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

/* A plain and a TLS client are in one chat, both ways. */
START_TEST(test_plain_and_tls_in_one_chat)
{
    char np[32], nt[32], line[512];
    struct hconn *p = hconn_join(srv.port, np, sizeof(np));
    struct hconn *t = htls_join(cctx, srv.tls_port, nt, sizeof(nt));

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(t);
    says(p, np, t, "hello over TCP");
    says(t, nt, p, "hello over TLS");
    hconn_send(t, "/who\n");
    h_expect(t, "online:", line, sizeof(line));
    ck_assert(hserver_wait_log(&srv, "listening on [::]:", T) ||
              hserver_wait_log(&srv, "listening on 0.0.0.0:", T));
    ck_assert(hserver_wait_log(&srv, " (tls)", T));
    hconn_close(p);
    hconn_close(t);
}
END_TEST

/* TLS 1.0 and 1.1 are refused (the log says why); 1.2 and 1.3 work. */
START_TEST(test_old_versions_refused)
{
    static const int old[] = { TLS1_VERSION, TLS1_1_VERSION };
    char err[256];

    for (int i = 0; i < 2; i++) {
        SSL_CTX *x = htls_ctx(old[i], old[i], NULL);
        struct hconn *c = htls_open(x, srv.tls_port, err, sizeof(err));
        ck_assert_ptr_null(c);
        SSL_CTX_free(x);
    }
    ck_assert(hserver_wait_log(&srv, "TLS handshake failed: unsupported "
                               "protocol", T));
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        SSL_CTX *x = htls_ctx(v, v, capath);
        struct hconn *c = htls_join(x, srv.tls_port, NULL, 0);
        ck_assert_ptr_nonnull(c);
        ck_assert_str_eq(htls_version(c), v == TLS1_2_VERSION ? "TLSv1.2"
                                                              : "TLSv1.3");
        hconn_close(c);
        SSL_CTX_free(x);
    }
}
END_TEST

/* A TLS 1.2 client that asks to renegotiate is refused; the others
 * chat on.  (OpenSSL 3 refuses client renegotiation by default too;
 * with SSL_OP_ALLOW_CLIENT_RENEGOTIATION in place of chatd's
 * SSL_OP_NO_RENEGOTIATION this test fails.) */
START_TEST(test_renegotiation_refused)
{
    SSL_CTX *x = htls_ctx(TLS1_2_VERSION, TLS1_2_VERSION, capath);
    char na[32], nb[32];
    struct hconn *r = htls_join(x, srv.tls_port, NULL, 0);
    struct hconn *a = hconn_join(srv.port, na, sizeof(na));
    struct hconn *b = htls_join(cctx, srv.tls_port, nb, sizeof(nb));
    struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
    int rc = 0, e = 0;

    char line[512];

    ck_assert_ptr_nonnull(r);
    /* Nothing may be on its way to r while it renegotiates: the joins
     * of a and b first, then its own round trip. */
    h_expect(r, "joined", line, sizeof(line));
    h_expect(r, "joined", line, sizeof(line));
    ck_assert_int_eq(hconn_roundtrip(r, line, sizeof(line)), 1);
    ck_assert_int_eq(SSL_renegotiate(r->tls), 1);
    for (int i = 0; i < 50; i++) {
        ERR_clear_error();
        if ((rc = SSL_do_handshake(r->tls)) == 1)
            break;
        e = SSL_get_error(r->tls, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
        pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        if (poll(&pfd, 1, T) <= 0)
            break;
    }
    ck_assert_msg(rc != 1, "the server renegotiated");
    says(a, na, b, "renegotiation did not matter");
    says(b, nb, a, "not at all");
    hconn_close(r);
    hconn_close(a);
    hconn_close(b);
    SSL_CTX_free(x);
}
END_TEST

/* openssl s_client -quiet is a full client: it sends and receives. */
START_TEST(test_s_client)
{
    const char *openssl = getenv("OPENSSL_PROG");
    char addr[64], np[32], line[512];
    int in[2], out[2];
    struct hconn *p = hconn_join(srv.port, np, sizeof(np));
    struct hconn sc = { .fd = -1 };
    pid_t pid;

    if (openssl == NULL || *openssl == '\0')
        openssl = "openssl";
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv.tls_port);
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
    if ((pid = fork()) == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execlp(openssl, openssl, "s_client", "-quiet", "-connect", addr,
               "-CAfile", capath, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    sc.fd = out[0];
    h_expect(&sc, "*** welcome to chatd, ", line, sizeof(line));
    ck_assert_int_eq(write(in[1], "hi from s_client\n", 17), 17);
    h_expect(p, "> hi from s_client", line, sizeof(line));
    hconn_send(p, "hi back\n");
    h_expect(&sc, "hi back", line, sizeof(line));
    close(in[1]);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(out[0]);
    hconn_close(p);
}
END_TEST

/*
 * SIGHUP with a new certificate: new clients see it, a connection made
 * before keeps working.  Then a broken one: the old pair stays, and the
 * log names the file and says why.
 */
START_TEST(test_reload_certificate)
{
    struct htls_id next;
    char f1[80], f2[80], f[80], n1[32], n2[32], n3[32];
    struct hconn *c1 = htls_join(cctx, srv.tls_port, n1, sizeof(n1)), *c2;
    struct hconn *c3;
    FILE *fp;

    ck_assert_ptr_nonnull(c1);
    htls_peer_fingerprint(c1, f1, sizeof(f1));
    htls_issue(&next, "localhost", "DNS:localhost", -60, 86400, &ca, 0);
    htls_write(&next, certpath, keypath);
    htls_fingerprint(next.cert, f2, sizeof(f2));
    ck_assert_str_ne(f1, f2);
    hserver_signal(&srv, SIGHUP);
    ck_assert(hserver_wait_log(&srv, "TLS certificate reloaded from", T));
    c2 = htls_join(cctx, srv.tls_port, n2, sizeof(n2));
    ck_assert_ptr_nonnull(c2);
    htls_peer_fingerprint(c2, f, sizeof(f));
    ck_assert_str_eq(f, f2);
    says(c1, n1, c2, "old connection still here");
    says(c2, n2, c1, "new one too");

    fp = fopen(certpath, "w");
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n", fp);
    fclose(fp);
    hserver_signal(&srv, SIGHUP);
    ck_assert(hserver_wait_log(&srv, "keeping the TLS certificate in use",
                               T));
    char *log = hserver_log(&srv);
    ck_assert_msg(strstr(log, certpath) != NULL, "%s", log);
    free(log);
    c3 = htls_join(cctx, srv.tls_port, n3, sizeof(n3));
    ck_assert_ptr_nonnull(c3);
    htls_peer_fingerprint(c3, f, sizeof(f));
    ck_assert_str_eq(f, f2);
    says(c3, n3, c1, "after the bad reload");
    htls_free(&next);
    hconn_close(c1);
    hconn_close(c2);
    hconn_close(c3);
}
END_TEST

/* port = off: TLS only; the log lists no plain port. */
START_TEST(test_port_off)
{
    static const char *const args[] = { "-p", "off", NULL };
    char nt[32], nu[32];
    struct hconn *a, *b;

    start_with(args);
    ck_assert_int_eq(srv.port, srv.tls_port);
    a = htls_join(cctx, srv.tls_port, nt, sizeof(nt));
    b = htls_join(cctx, srv.tls_port, nu, sizeof(nu));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    says(a, nt, b, "only TLS here");
    char *log = hserver_log(&srv);
    for (char *p = log; (p = strstr(p, "listening on ")) != NULL; p++) {
        size_t n = strcspn(p, "\n");
        ck_assert_msg(n > 6 && strncmp(p + n - 6, " (tls)", 6) == 0,
                      "plain listener: %.*s", (int)n, p);
    }
    free(log);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* Without a certificate, or with nothing to listen on: exit 2, and
 * why. */
START_TEST(test_config_errors)
{
    const char *chatd = hserver_chatd();
    const char *const nocert[] = { chatd, "-t", "--tls-port", "7443", NULL };
    const char *const nothing[] = { chatd, "-t", "-p", "off", NULL };
    const char *const badkey[] = { chatd, "-t", "-p", "0", "--tls-port",
                                   "0", "--tls-cert", certpath,
                                   "--tls-key", capath, NULL };
    char out[1024];
    int st;

    ck_assert_int_eq(h_run(nocert, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 2);
    ck_assert_ptr_nonnull(strstr(out, "tls-port 7443 needs tls-cert and "
                                      "tls-key"));
    ck_assert_int_eq(h_run(nothing, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 2);
    ck_assert_ptr_nonnull(strstr(out, "nothing to listen on"));
    ck_assert_int_eq(h_run(badkey, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 2);
    ck_assert_msg(strstr(out, "tls-key ") && strstr(out, capath), "%s",
                  out);
}
END_TEST

/*
 * Plain text, garbage and a handshake that stops halfway on the TLS
 * port: each is closed with a log line (the half one after 10 s), chatd
 * stays idle meanwhile, and a plain pair chats throughout.
 */
START_TEST(test_bad_input_closed)
{
    unsigned char hello[4096], junk[512];
    char na[32], nb[32];
    struct hconn *a = hconn_join(srv.port, na, sizeof(na));
    struct hconn *b = hconn_join(srv.port, nb, sizeof(nb));
    struct hconn *text = hconn_open(srv.tls_port);
    struct hconn *garbage = hconn_open(srv.tls_port);
    struct hconn *half = hconn_open(srv.tls_port);
    size_t n = half_client_hello(hello, sizeof(hello));
    long t0 = h_now_ms(), cpu0 = cpu_ms();

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    hconn_send(text, "hello, is this chat?\n");
    hconn_write(garbage, junk, sizeof(junk));
    hconn_write(half, hello, n);
    ck_assert(hconn_closed(text, T));
    ck_assert(hconn_closed(garbage, T));
    says(a, na, b, "still fine");
    ck_assert(hserver_wait_log(&srv, "TLS handshake failed: ", T));
    /* The half handshake waits for the rest until its deadline. */
    ck_assert(hconn_closed(half, 15000));
    ck_assert_int_ge(h_now_ms() - t0, 9000);
    ck_assert(hserver_wait_log(&srv, "TLS handshake failed: not done in "
                               "time", T));
    says(b, nb, a, "and still fine");
    long used = cpu_ms() - cpu0;
    ck_assert_msg(used < 1500, "chatd used %ld ms of CPU in %ld ms", used,
                  h_now_ms() - t0);
    hconn_close(a);
    hconn_close(b);
    hconn_close(text);
    hconn_close(garbage);
    hconn_close(half);
}
END_TEST

/* The storm test's plain pair: round trips until told to stop. */
struct pinger {
    struct hconn *a, *b;
    char          na[32];
    atomic_int    stop;
    long          worst_ms;
    int           rounds;
};

static void *
ping(void *arg)
{
    struct pinger *p = arg;
    char want[64], line[512];

    while (!atomic_load(&p->stop)) {
        long t0 = h_now_ms();
        snprintf(want, sizeof(want), "<%s> ping %d", p->na, p->rounds);
        if (hconn_send(p->a, "ping %d\n", p->rounds) < 0 ||
            hconn_expect(p->b, want, line, sizeof(line), 10000) != 1) {
            p->worst_ms = 1000000;
            break;
        }
        if (h_now_ms() - t0 > p->worst_ms)
            p->worst_ms = h_now_ms() - t0;
        p->rounds++;
    }
    return NULL;
}

/* Drive every connection's handshake and welcome; returns how many got
 * their welcome within ms. */
static int
storm(struct hconn **c, int n, int ms)
{
    char line[512];
    int done = 0;
    long end = h_now_ms() + ms;

    for (int i = 0; i < n && h_now_ms() < end; i++) {
        long left = end - h_now_ms();
        if (hconn_expect(c[i], "*** welcome to chatd, ", line, sizeof(line),
                         (int)left) == 1)
            done++;
    }
    return done;
}

/*
 * 1,000 TLS handshakes at once: all are welcomed, and a plain pair's
 * lines are not held up meanwhile (handshakes never run on a worker).
 */
START_TEST(test_many_handshakes)
{
    static struct hconn *c[STORM];
    struct pinger p = { 0 };
    struct rlimit rl;
    pthread_t th;
    char err[256], nb[32];
    long t0;
    int n = 0;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    p.a = hconn_join(srv.port, p.na, sizeof(p.na));
    p.b = hconn_join(srv.port, nb, sizeof(nb));
    ck_assert_ptr_nonnull(p.a);
    ck_assert_ptr_nonnull(p.b);
    SSL_CTX *fast = htls_ctx(0, 0, NULL);
    pthread_create(&th, NULL, ping, &p);
    t0 = h_now_ms();
    for (n = 0; n < STORM; n++) {
        c[n] = htls_open(fast, srv.tls_port, err, sizeof(err));
        ck_assert_msg(c[n] != NULL, "handshake %d: %s", n, err);
    }
    int welcomed = storm(c, STORM, 60000);
    long took = h_now_ms() - t0;
    atomic_store(&p.stop, 1);
    pthread_join(th, NULL);
    ck_assert_int_eq(welcomed, STORM);
    ck_assert_msg(p.worst_ms < STORM_LATE_MS, "a plain line took %ld ms "
                  "during the handshakes (%d rounds)", p.worst_ms,
                  p.rounds);
    fprintf(stderr, "check_tls: %d TLS clients welcomed in %ld ms; plain "
            "round trip at worst %ld ms over %d rounds\n", STORM, took,
            p.worst_ms, p.rounds);
    for (int i = 0; i < STORM; i++)
        hconn_close(c[i]);
    SSL_CTX_free(fast);
    hconn_close(p.a);
    hconn_close(p.b);
}
END_TEST

/*
 * A line split across two TLS records arrives whole; a record full of
 * lines (16 KiB, what OpenSSL may hold decrypted past one read) arrives
 * without waiting for another packet.
 */
START_TEST(test_records_and_lines)
{
    char na[32], nb[32], line[512], want[64];
    struct hconn *a = htls_join(cctx, srv.tls_port, na, sizeof(na));
    struct hconn *b = htls_join(cctx, srv.tls_port, nb, sizeof(nb));
    static char big[16384];
    size_t len = 0;
    int lines = 0;

    ck_assert_int_eq(htls_write_record(a, "split ac", 8), 0);
    ck_assert_int_eq(htls_write_record(a, "ross records\n", 13), 0);
    snprintf(want, sizeof(want), "<%s> split across records", na);
    h_expect(b, want, line, sizeof(line));
    while (len + 16 < sizeof(big))
        len += (size_t)snprintf(big + len, sizeof(big) - len, "l %05d\n",
                                lines++);
    ck_assert_int_eq(htls_write_record(a, big, len), 0);
    for (int i = 0; i < lines; i++) {
        snprintf(want, sizeof(want), "<%s> l %05d", na, i);
        ck_assert_int_eq(hconn_line(b, line, sizeof(line), T), 1);
        ck_assert_str_eq(line, want);
    }
    h_silent(b);
    hconn_close(a);
    hconn_close(b);
}
END_TEST

/* A TLS client that stops reading is cut at sendq like a plain one;
 * the plain reader gets every line. */
START_TEST(test_slow_tls_reader_cut)
{
    static const char *const args[] = { "--sendq", "256K", NULL };
    char ns[32], nr[32], line[2048], want[64];
    static char text[1001];
    struct hconn *slow, *s, *r;

    start_with(args);
    slow = htls_join(cctx, srv.tls_port, NULL, 0);
    ck_assert_ptr_nonnull(slow);
    hconn_rcvbuf(slow, 4096);
    s = hconn_join(srv.port, ns, sizeof(ns));
    r = hconn_join(srv.port, nr, sizeof(nr));
    memset(text, 'x', 1000);
    for (int i = 0; i < 8000; i++) {
        ck_assert_int_eq(hconn_send(s, "%06d %s\n", i, text), 0);
        snprintf(want, sizeof(want), "<%s> %06d ", ns, i);
        h_expect(r, want, line, sizeof(line));
        if (i % 500 == 0 && hserver_wait_log(&srv, "too slow", 0))
            break;
    }
    ck_assert(hserver_wait_log(&srv, "left: too slow: send queue full", T));
    ck_assert(hserver_wait_log(&srv, "over 262144 unsent bytes", T));
    says(s, ns, r, "the rest go on");
    hconn_close(slow);
    hconn_close(s);
    hconn_close(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The chat client over TLS                                            */
/* ------------------------------------------------------------------ */

/*
 * Run $CHAT with args (then "localhost" or host, and the TLS port) in
 * pipe mode with input on its stdin; its stdout and stderr go to out.
 * Returns its exit status.
 */
static int
run_chat(const char *const *args, const char *host, const char *input,
         char *out, size_t cap)
{
    const char *chat = getenv("CHAT");
    const char *argv[16];
    char port[16];
    int in[2], o[2], st;
    size_t n = 0, len = 0;
    pid_t pid;

    ck_assert_ptr_nonnull(chat);
    argv[n++] = chat;
    for (size_t i = 0; args[i] && n < 12; i++)
        argv[n++] = args[i];
    snprintf(port, sizeof(port), "%d", srv.tls_port);
    argv[n++] = host ? host : "localhost";
    argv[n++] = port;
    argv[n] = NULL;
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(o), 0);
    if ((pid = fork()) == 0) {
        dup2(in[0], 0);
        dup2(o[1], 1);
        dup2(o[1], 2);
        close(in[1]);
        close(o[0]);
        execv(chat, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    ck_assert_int_eq(write(in[1], input, strlen(input)),
                     (ssize_t)strlen(input));
    close(in[1]);
    for (ssize_t r; len + 1 < cap &&
                    (r = read(o[0], out + len, cap - 1 - len)) > 0;)
        len += (size_t)r;
    out[len] = '\0';
    close(o[0]);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* chat --ca: pipe mode sends over TLS and prints what comes back. */
START_TEST(test_chat_ca_pipe_mode)
{
    const char *const args[] = { "--ca", capath, NULL };
    char out[4096], line[512];
    struct hconn *r = hconn_join(srv.port, NULL, 0);
    int st = run_chat(args, NULL, "hello from chat over TLS\n", out,
                      sizeof(out));

    ck_assert_msg(st == 0, "chat exited %d: %s", st, out);
    ck_assert_msg(strstr(out, "*** welcome to chatd") != NULL, "%s", out);
    h_expect(r, "> hello from chat over TLS", line, sizeof(line));
    hconn_close(r);
}
END_TEST

/* chat --tls against a CA it does not know: refused, and why. */
START_TEST(test_chat_unknown_ca)
{
    const char *const args[] = { "--tls", NULL };
    char out[4096];
    int st = run_chat(args, NULL, "not sent\n", out, sizeof(out));

    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(out, "signed by an unknown CA") != NULL, "%s",
                  out);
    ck_assert_ptr_null(strstr(out, "welcome"));
}
END_TEST

/* A name the certificate is not for (127.0.0.2 reaches the same chatd):
 * refused, and why. */
START_TEST(test_chat_wrong_name)
{
    const char *const args[] = { "--ca", capath, NULL };
    char out[4096];
    int st = run_chat(args, "127.0.0.2", "not sent\n", out, sizeof(out));

    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(out, "certificate is for another name") != NULL,
                  "%s", out);
}
END_TEST

/* An expired certificate (reloaded into chatd): refused, and why. */
START_TEST(test_chat_expired)
{
    const char *const args[] = { "--ca", capath, NULL };
    struct htls_id old;
    char out[4096];

    htls_issue(&old, "localhost", "DNS:localhost", -7200, -3600, &ca, 0);
    htls_write(&old, certpath, keypath);
    hserver_signal(&srv, SIGHUP);
    ck_assert(hserver_wait_log(&srv, "TLS certificate reloaded", T));
    ck_assert(hserver_wait_log(&srv, "has expired", T));
    int st = run_chat(args, NULL, "not sent\n", out, sizeof(out));
    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(out, "certificate has expired") != NULL, "%s",
                  out);
    htls_free(&old);
}
END_TEST

/* --insecure connects without a check, and says so. */
START_TEST(test_chat_insecure)
{
    const char *const args[] = { "--insecure", NULL };
    char out[4096];
    int st = run_chat(args, "127.0.0.2", "hi\n", out, sizeof(out));

    ck_assert_msg(st == 0, "chat exited %d: %s", st, out);
    ck_assert_ptr_nonnull(strstr(out, "not checking the server's "
                                      "certificate"));
    ck_assert_ptr_nonnull(strstr(out, "*** welcome to chatd"));
}
END_TEST

/* chatbench --ca: a run over TLS delivers everything, handshakes
 * included in its connect time; against an unknown CA it says why. */
START_TEST(test_chatbench_tls)
{
    const char *bench = getenv("CHATBENCH");
    char port[16], out[16384];
    int st;

    ck_assert_ptr_nonnull(bench);
    snprintf(port, sizeof(port), "%d", srv.tls_port);
    const char *const ok[] = { bench, "--ca", capath, "-H", "localhost",
                               "-p", port, "-c", "20", "-s", "2", "-m",
                               "300", NULL };
    ck_assert_int_eq(h_run(ok, out, sizeof(out), &st), 0);
    ck_assert_msg(st == 0, "chatbench exited %d: %s", st, out);
    ck_assert_msg(strstr(out, "connected=20 ") != NULL &&
                  strstr(out, "delivered=11400 ") != NULL &&
                  strstr(out, "lost=0 ") != NULL, "%s", out);
    const char *const bad[] = { bench, "--tls", "-H", "localhost", "-p",
                                port, "-c", "2", "-s", "1", "-m", "1",
                                NULL };
    ck_assert_int_eq(h_run(bad, out, sizeof(out), &st), 0);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(out, "TLS handshake with localhost") != NULL,
                  "%s", out);
}
END_TEST

static Suite *
tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = h_tcase(s, "Server", setup, teardown, 60);

    tcase_add_test(tc, test_plain_and_tls_in_one_chat);
    tcase_add_test(tc, test_old_versions_refused);
    tcase_add_test(tc, test_renegotiation_refused);
    tcase_add_test(tc, test_s_client);
    tcase_add_test(tc, test_reload_certificate);
    tcase_add_test(tc, test_records_and_lines);
    tc = h_tcase(s, "Client", setup, teardown, 60);
    tcase_add_test(tc, test_chat_ca_pipe_mode);
    tcase_add_test(tc, test_chat_unknown_ca);
    tcase_add_test(tc, test_chat_wrong_name);
    tcase_add_test(tc, test_chat_expired);
    tcase_add_test(tc, test_chat_insecure);
    tcase_add_test(tc, test_chatbench_tls);
    tc = h_tcase(s, "Config", setup_certs, teardown_certs, 60);
    tcase_add_test(tc, test_port_off);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_slow_tls_reader_cut);
    tc = h_tcase(s, "Hostile", setup, teardown, 180);
    tcase_add_test(tc, test_bad_input_closed);
    tcase_add_test(tc, test_many_handshakes);
    return s;
}

int
main(void)
{
    return h_run_suite(tls_suite());
}
