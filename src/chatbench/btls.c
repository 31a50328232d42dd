/*
 * btls.c: chatbench over TLS (see btls.h).  The context checks the
 * server's certificate against the system's CAs and the host name, or
 * against --ca FILE, or not at all with --insecure, like chat(1).
 * Handshakes are non-blocking: each step waits for the readiness OpenSSL
 * asks for (C_TLS), so thousands of them go on at once, and the run's
 * connect time (connect_s) includes them.  A read or write that waits for
 * the other readiness notes it in the connection's tls_rd / tls_wr, which
 * conn.c asks epoll for.  chatbench's only thread.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "btls.h"
#include "tlsio.h"
#include "run.h"

static SSL_CTX *ctx;

/* OpenSSL's last error in words. */
static const char *
reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_last_error());

    return r ? r : "unknown error";
}

/* Make the run's context; returns 0, or -1 after bench_fail(). */
int
btls_init(void)
{
    const struct bench_conf *c = bench.conf;
    int ok = 1;

    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
        bench_fail("TLS: %s", reason());
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Buffers kept (no SSL_MODE_RELEASE_BUFFERS): the load generator
     * should spend its CPU on the load, not on malloc. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (c->insecure)
        return 0;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (c->ca != NULL) {
        ok = SSL_CTX_load_verify_locations(ctx, c->ca, NULL);
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
                                    X509_V_FLAG_PARTIAL_CHAIN);
    } else {
        ok = SSL_CTX_set_default_verify_paths(ctx);
    }
    if (ok != 1) {
        bench_fail("TLS: cannot load %s: %s", c->ca ? c->ca : "the "
                   "system's CA certificates", reason());
        return -1;
    }
    return 0;
}

void
btls_free(void)
{
    SSL_CTX_free(ctx);
    ctx = NULL;
}

/* Check the certificate is for host (a name or an address). */
static int
set_name(SSL *ssl, const char *host)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    SSL_set_tlsext_host_name(ssl, host);
    return SSL_set1_host(ssl, host);
}

/* c's TCP connect is done: start its handshake.  0, or -1 (failed). */
int
btls_begin(struct conn *c)
{
    if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        (!bench.conf->insecure && set_name(c->ssl, bench.conf->host) != 1)) {
        bench_fail("TLS: %s", reason());
        return -1;
    }
    c->state = C_TLS;
    btls_step(c);
    return 0;
}

/* Go on with c's handshake; once done, c waits for the greeting. */
void
btls_step(struct conn *c)
{
    int rc, e;

    ERR_clear_error();
    if ((rc = SSL_connect(c->ssl)) == 1) {
        c->state = C_HELLO;
        conn_greet(c);
        return;
    }
    e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        conn_events(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
        return;
    }
    long v = SSL_get_verify_result(c->ssl);
    bench_fail("TLS handshake with %s port %s: %s", bench.conf->host,
               bench.conf->port, v != X509_V_OK ?
               X509_verify_cert_error_string(v) :
               ERR_peek_last_error() ? reason() : "connection closed");
}

/* What epoll must wait for, for what tlsio says it waits for. */
static uint8_t
epoll_events(int wait)
{
    return wait == TLSIO_WRITABLE ? EPOLLOUT : EPOLLIN;
}

/* Read up to len bytes: > 0, 0 at the end, -1 (errno EAGAIN: later). */
ssize_t
btls_read(struct conn *c, void *buf, size_t len)
{
    int wait = 0;
    long n = tlsio_read(c->ssl, buf, len, &wait);

    if (n > 0 || (n < 0 && errno == EAGAIN))
        c->tls_rd = epoll_events(wait);
    return n;
}

/* Write up to len bytes: how many were taken, or -1 (EAGAIN: later). */
ssize_t
btls_write(struct conn *c, const void *buf, size_t len)
{
    int wait = 0;
    long n = tlsio_write(c->ssl, buf, len, &wait);

    if (n > 0 || errno == EAGAIN)
        c->tls_wr = epoll_events(wait);
    return n;
}

size_t
btls_pending(const struct conn *c)
{
    return c->ssl ? (size_t)SSL_pending(c->ssl) : 0;
}

void
btls_close(struct conn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
}
