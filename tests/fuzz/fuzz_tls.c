/*
 * fuzz_tls.c: libFuzzer harness for the server's TLS read path: the
 * context chatd builds (tls.c, tls_server_ctx()) and the TLS transport a
 * worker reads through (tport_tls.c), on a real socket pair, against a
 * real OpenSSL client.  Byte 0 of the input picks what the rest is:
 *
 *   0  the peer's first bytes: a handshake (garbage, plain text, half a
 *      ClientHello); the server's handshake must fail or wait, never
 *      hang or take more than it was given;
 *   1  raw bytes after a finished handshake: the transport must read
 *      them as an error, an end or nothing yet, in a bounded number of
 *      calls, and close cleanly;
 *   2  application data the client sends in records cut where the bytes
 *      say: the transport must return exactly those bytes, in order,
 *      with what OpenSSL holds decrypted (tport_pending()) drained.
 *
 * Single-threaded: the harness plays both the handshake thread and the
 * worker.  The certificate is made once, at start, into a temporary
 * directory (no key is ever committed).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "transport.h"

static SSL_CTX *sctx, *cctx;

/* A self-signed EC certificate for the server context, made once. */
static void
init(void)
{
    char dir[] = "/tmp/chatd-fuzz-tls-XXXXXX", cert[64], key[64];
    char err[512];
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    FILE *f;

    signal(SIGPIPE, SIG_IGN);   /* as chatd: a closed peer is EPIPE */
    assert(mkdtemp(dir) != NULL && pk != NULL && x != NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, pk, EVP_sha256());
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    f = fopen(cert, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key, "w");
    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    sctx = tls_server_ctx(cert, key, err, sizeof(err));
    if (sctx == NULL) {
        fprintf(stderr, "fuzz_tls: %s\n", err);
        abort();
    }
    unlink(cert);
    unlink(key);
    rmdir(dir);
    X509_free(x);
    EVP_PKEY_free(pk);
    cctx = SSL_CTX_new(TLS_client_method());
    assert(cctx != NULL);
}

/* A non-blocking socket pair: sv[0] the server's, sv[1] the client's. */
static void
pair(int sv[2])
{
    assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
}

/* Step both handshakes until done; returns 1 when both finished. */
static int
handshake(SSL *s, SSL *c)
{
    int sd = 0, cd = 0;

    for (int i = 0; i < 100 && !(sd && cd); i++) {
        if (!cd)
            cd = SSL_connect(c) == 1;
        if (!sd)
            sd = SSL_do_handshake(s) == 1;
    }
    ERR_clear_error();
    return sd && cd;
}

/* Mode 0: the input is all the server hears; it must not finish. */
static void
garbage_handshake(const uint8_t *d, size_t n)
{
    int sv[2];
    SSL *s = SSL_new(sctx);

    pair(sv);
    SSL_set_fd(s, sv[0]);
    SSL_set_accept_state(s);
    if (n > 0)
        assert(write(sv[1], d, n) == (ssize_t)n);
    for (int i = 0; i < 4; i++) {
        ERR_clear_error();
        int rc = SSL_do_handshake(s);
        int e = SSL_get_error(s, rc);
        assert(rc != 1);        /* no handshake completes from garbage
                                   alone: the client never finishes */
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
    }
    ERR_clear_error();
    SSL_free(s);
    close(sv[0]);
    close(sv[1]);
}

/* Read t until it would block, ends or fails; bounded.  Appends to out
 * (cap bytes) and returns the bytes read. */
static size_t
drain(struct transport *t, char *out, size_t cap, ssize_t *last)
{
    char buf[16384];
    size_t got = 0;
    ssize_t r;

    for (int calls = 0; calls < 10000; calls++) {
        r = tport_read(t, buf, sizeof(buf));
        *last = r;
        if (r <= 0) {
            if (r < 0)
                (void)tport_strerror(t, errno);
            return got;
        }
        assert(got + (size_t)r <= cap);
        memcpy(out + got, buf, (size_t)r);
        got += (size_t)r;
        while (tport_pending(t) > 0) {
            r = tport_read(t, buf, sizeof(buf));
            assert(r > 0);
            assert(got + (size_t)r <= cap);
            memcpy(out + got, buf, (size_t)r);
            got += (size_t)r;
        }
    }
    assert(!"the transport kept returning data");
    return got;
}

/* Modes 1 and 2: a finished handshake, then raw bytes or records. */
static void
after_handshake(int mode, const uint8_t *d, size_t n)
{
    static char out[1 << 16];
    int sv[2];
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    struct transport *t;
    ssize_t last;
    size_t want = 0, got;

    pair(sv);
    SSL_set_fd(s, sv[0]);
    SSL_set_accept_state(s);
    SSL_set_fd(c, sv[1]);
    if (!handshake(s, c)) {
        SSL_free(s);
        SSL_free(c);
        close(sv[0]);
        close(sv[1]);
        return;
    }
    t = tport_tls_new(sv[0], s);
    if (mode == 1) {
        if (n > 0)
            assert(write(sv[1], d, n) == (ssize_t)n);
        drain(t, out, sizeof(out), &last);
    } else {
        /* d: cut sizes and text alternately: each byte k < 0x80 cuts a
         * record of k + 1 bytes of what follows. */
        static char text[1 << 16];
        size_t i = 0;
        while (i < n) {
            size_t k = (size_t)(d[i++] & 0x7f) + 1;
            if (k > n - i)
                k = n - i;
            if (k == 0)
                break;
            memcpy(text + want, d + i, k);
            assert(SSL_write(c, d + i, (int)k) == (int)k);
            want += k;
            i += k;
        }
        got = drain(t, out, sizeof(out), &last);
        assert(got == want);
        assert(memcmp(out, text, want) == 0);
        assert(last < 0 && errno == EAGAIN);
    }
    SSL_free(c);
    close(sv[1]);
    tport_close(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;

    if (!ready) {
        init();
        ready = 1;
    }
    if (size < 1 || size > 8192)
        return 0;
    switch (data[0] % 3) {
    case 0:
        garbage_handshake(data + 1, size - 1);
        break;
    case 1:
        after_handshake(1, data + 1, size - 1);
        break;
    default:                    /* records of >= 23 bytes each must fit
                                   in the socket pair's buffer */
        after_handshake(2, data + 1, size - 1 > 2048 ? 2048 : size - 1);
        break;
    }
    return 0;
}
