/*
 * conntls.c: the TLS side of the chat client's connection (conn.h):
 * the handshake, with the server's certificate checked against the
 * system's CAs (or --ca FILE) and the host name, and reading and writing
 * through OpenSSL.  Single-threaded: the client's main thread.
 *
 * A read may need the socket writable and a write readable; each call
 * notes what it waits for in rd_events / wr_events, which poll asks for
 * (conn_events()), so nothing stale is left to spin on.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "conntls.h"
#include "tlsio.h"

/* Why the certificate check failed, in the user's words. */
static const char *
verify_words(long v)
{
    switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "the server's certificate has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "the server's certificate is not valid yet";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return "the server's certificate is for another name";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return "the server's certificate is signed by an unknown CA "
               "(--ca FILE trusts one)";
    default:
        return NULL;
    }
}

/* The context: TLS 1.2 at least, the CAs to check against. */
static SSL_CTX *
make_ctx(const struct conn_tls *tls, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int ok;

    if (ctx == NULL) {
        snprintf(err, errlen, "TLS: %s",
                 ERR_reason_error_string(ERR_peek_last_error()));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (tls->insecure)
        return ctx;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (tls->ca != NULL) {
        ok = SSL_CTX_load_verify_locations(ctx, tls->ca, NULL);
        /* One certificate in the file is trusted as it is, CA or not. */
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
                                    X509_V_FLAG_PARTIAL_CHAIN);
    } else {
        ok = SSL_CTX_set_default_verify_paths(ctx);
    }
    if (ok != 1) {
        snprintf(err, errlen, "TLS: cannot load %s: %s",
                 tls->ca ? tls->ca : "the system's CA certificates",
                 ERR_reason_error_string(ERR_peek_last_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Check the name host (a name or an address) and send it as SNI. */
static int
set_name(SSL *ssl, const char *host)
{
    unsigned char a[16];
    int ip = inet_pton(AF_INET, host, a) == 1 ||
             inet_pton(AF_INET6, host, a) == 1;

    if (ip)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    SSL_set_tlsext_host_name(ssl, host);
    return SSL_set1_host(ssl, host);
}

/* Say in err why the handshake with host failed (rc, from SSL). */
static void
handshake_error(struct conn *c, int rc, const char *host, const char *port,
                char *err, size_t errlen)
{
    long v = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_peek_last_error();
    const char *words = verify_words(v);

    if (v != X509_V_OK)
        snprintf(err, errlen, "cannot connect to %s port %s over TLS: %s "
                 "(%s)", host, port, words ? words : "certificate check "
                 "failed", X509_verify_cert_error_string(v));
    else if (e != 0)
        snprintf(err, errlen, "cannot connect to %s port %s over TLS: %s",
                 host, port, ERR_reason_error_string(e));
    else
        snprintf(err, errlen, "cannot connect to %s port %s over TLS: %s",
                 host, port, rc == 0 || errno == 0 ? "connection closed "
                 "during the handshake" : strerror(errno));
}

/*
 * Do the TLS handshake on c's connected socket, checking the server's
 * certificate unless tls->insecure, within CONN_TIMEOUT_MS.  Returns 0,
 * or -1 with err saying why (expired, wrong name, unknown CA...).
 */
int
conntls_start(struct conn *c, const char *host, const char *port,
              const struct conn_tls *tls, char *err, size_t errlen)
{
    struct pollfd pfd = { .fd = c->fd };
    int rc;

    if ((c->ctx = make_ctx(tls, err, errlen)) == NULL)
        return -1;
    if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1
        || (!tls->insecure && set_name(c->ssl, host) != 1)) {
        snprintf(err, errlen, "TLS: %s",
                 ERR_reason_error_string(ERR_peek_last_error()));
        return -1;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        if ((rc = SSL_connect(c->ssl)) == 1)
            return 0;
        int e = SSL_get_error(c->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            handshake_error(c, rc, host, port, err, errlen);
            return -1;
        }
        pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        do
            rc = poll(&pfd, 1, CONN_TIMEOUT_MS);
        while (rc < 0 && errno == EINTR);
        if (rc <= 0) {
            snprintf(err, errlen, "cannot connect to %s port %s over TLS: "
                     "%s", host, port, rc == 0 ? "no answer to the "
                     "handshake" : strerror(errno));
            return -1;
        }
    }
}

/* What poll must wait for, for what tlsio says it waits for. */
static short
poll_events(int wait)
{
    return wait == TLSIO_WRITABLE ? POLLOUT : POLLIN;
}

/* Read up to len bytes: > 0, 0 at the end, -1 (errno EAGAIN: later). */
long
conntls_read(struct conn *c, void *buf, size_t len)
{
    int wait = 0;
    long n = tlsio_read(c->ssl, buf, len, &wait);

    if (n > 0 || (n < 0 && errno == EAGAIN))
        c->rd_events = poll_events(wait);
    return n;
}

/* Write up to len bytes: how many were taken, or -1 (EAGAIN: later). */
long
conntls_write(struct conn *c, const void *buf, size_t len)
{
    int wait = 0;
    long n = tlsio_write(c->ssl, buf, len, &wait);

    if (n > 0 || errno == EAGAIN)
        c->wr_events = poll_events(wait);
    return n;
}

/* Bytes decrypted and not read yet. */
size_t
conntls_pending(const struct conn *c)
{
    return (size_t)SSL_pending(c->ssl);
}

/* Say goodbye (close_notify), without waiting. */
void
conntls_shutdown(struct conn *c)
{
    ERR_clear_error();
    SSL_shutdown(c->ssl);
}

void
conntls_free(struct conn *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    c->ssl = NULL;
    c->ctx = NULL;
}
