/*
 * htls.c: TLS helpers for the tests (see htls.h).  A TLS hconn keeps its
 * socket non-blocking and waits with poll(), so a server that stops
 * answering makes a call time out instead of hanging the test.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "htls.h"

/* Add extension nid with value to x (issued by issuer). */
static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *e;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    ck_assert_ptr_nonnull(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

void
htls_issue(struct htls_id *id, const char *cn, const char *san,
           long from_s, long to_s, const struct htls_id *issuer, int ca)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *name;

    id->key = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(id->key);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++ + (long)getpid());
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, id->key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert)
                                   : name);
    add_ext(x, issuer ? issuer->cert : x, NID_basic_constraints,
            ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca)
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, issuer ? issuer->cert : x, NID_subject_key_identifier,
            "hash");
    if (san != NULL)
        add_ext(x, issuer ? issuer->cert : x, NID_subject_alt_name, san);
    ck_assert_int_gt(X509_sign(x, issuer ? issuer->key : id->key,
                               EVP_sha256()), 0);
    id->cert = x;
}

/* Write id's certificate and key as PEM files. */
void
htls_write(const struct htls_id *id, const char *certpath,
           const char *keypath)
{
    FILE *f = fopen(certpath, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_X509(f, id->cert), 1);
    fclose(f);
    if (keypath == NULL)
        return;
    f = fopen(keypath, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PrivateKey(f, id->key, NULL, NULL, 0, NULL,
                                          NULL), 1);
    fclose(f);
}

void
htls_free(struct htls_id *id)
{
    EVP_PKEY_free(id->key);
    X509_free(id->cert);
    id->key = NULL;
    id->cert = NULL;
}

/* The SHA-256 fingerprint of x in hex. */
void
htls_fingerprint(X509 *x, char *out, size_t cap)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    X509_digest(x, EVP_sha256(), md, &n);
    out[0] = '\0';
    for (unsigned i = 0; i < n && 2 * i + 3 <= cap; i++)
        snprintf(out + 2 * i, cap - 2 * i, "%02x", md[i]);
}

SSL_CTX *
htls_ctx(int min, int max, const char *cafile)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    ck_assert_ptr_nonnull(ctx);
    if (min != 0 && min < TLS1_2_VERSION) {
        SSL_CTX_set_security_level(ctx, 0);     /* let it offer old ones */
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    if (min != 0)
        SSL_CTX_set_min_proto_version(ctx, min);
    if (max != 0)
        SSL_CTX_set_max_proto_version(ctx, max);
    if (cafile != NULL) {
        ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx, cafile, NULL),
                         1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

/* Wait up to ms for what SSL error e asks; 1 ready, 0 timeout, -1 not a
 * wait. */
static int
await(struct hconn *c, int e, int ms)
{
    struct pollfd pfd = { .fd = c->fd };
    int rc;

    if (e == SSL_ERROR_WANT_READ)
        pfd.events = POLLIN;
    else if (e == SSL_ERROR_WANT_WRITE)
        pfd.events = POLLOUT;
    else
        return -1;
    do
        rc = poll(&pfd, 1, ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0 ? 1 : rc == 0 ? 0 : -1;
}

static ssize_t
tls_read(struct hconn *c, void *buf, size_t len, int ms)
{
    long end = h_now_ms() + ms;

    for (;;) {
        ERR_clear_error();
        int n = SSL_read(c->tls, buf, (int)len);
        if (n > 0)
            return n;
        long left = end - h_now_ms();
        int rc = await(c, SSL_get_error(c->tls, n), left > 0 ? (int)left
                                                                : 0);
        if (rc <= 0)
            return rc;
    }
}

static int
tls_write(struct hconn *c, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ERR_clear_error();
        int n = SSL_write(c->tls, p, (int)len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (await(c, SSL_get_error(c->tls, n), H_TIMEOUT_MS) <= 0)
            return -1;
    }
    return 0;
}

static void
tls_close(struct hconn *c)
{
    SSL_free(c->tls);
    c->tls = NULL;
}

static const struct hconn_io tls_io = { tls_read, tls_write, tls_close };

/* Send data as one TLS record (one SSL_write()). */
int
htls_write_record(struct hconn *c, const void *data, size_t len)
{
    return tls_write(c, data, len);
}

/*
 * Connect to 127.0.0.1:port over TLS with ctx (server name "localhost")
 * and finish the handshake.  Returns the connection, or NULL with err
 * saying why (OpenSSL's words and the verification result).
 */
struct hconn *
htls_open(SSL_CTX *ctx, int port, char *err, size_t cap)
{
    struct hconn *c = hconn_open(port);
    SSL *ssl;
    int rc;

    if (c == NULL) {
        snprintf(err, cap, "connect: %s", strerror(errno));
        return NULL;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, c->fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    c->tls = ssl;
    c->io = &tls_io;
    for (;;) {
        ERR_clear_error();
        if ((rc = SSL_connect(ssl)) == 1)
            return c;
        int e = SSL_get_error(ssl, rc);
        if (await(c, e, H_TIMEOUT_MS) <= 0) {
            unsigned long x = ERR_peek_last_error();
            long v = SSL_get_verify_result(ssl);
            snprintf(err, cap, "handshake: %s (verify: %s)",
                     x ? ERR_reason_error_string(x) : "no answer",
                     X509_verify_cert_error_string(v));
            hconn_close(c);
            return NULL;
        }
    }
}

/* htls_open(), then the welcome line (its guest nick goes to nick). */
struct hconn *
htls_join(SSL_CTX *ctx, int port, char *nick, size_t len)
{
    char err[256], line[512];
    struct hconn *c = htls_open(ctx, port, err, sizeof(err));

    ck_assert_msg(c != NULL, "TLS connect: %s", err);
    if (hconn_expect(c, "*** welcome to chatd, ", line, sizeof(line),
                     H_TIMEOUT_MS) != 1) {
        hconn_close(c);
        return NULL;
    }
    if (nick) {
        const char *p = line + strlen("*** welcome to chatd, ");
        snprintf(nick, len, "%.*s", (int)strcspn(p, "!"), p);
    }
    return c;
}

void
htls_peer_fingerprint(struct hconn *c, char *out, size_t cap)
{
    X509 *x = SSL_get1_peer_certificate(c->tls);

    ck_assert_ptr_nonnull(x);
    htls_fingerprint(x, out, cap);
    X509_free(x);
}

const char *
htls_version(struct hconn *c)
{
    return SSL_get_version(c->tls);
}
