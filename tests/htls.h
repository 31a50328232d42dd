/*
 * htls.h: TLS for the tests: certificates made at run time with the
 * OpenSSL API (never committed keys), client contexts, and connections
 * that speak TLS through the harness's struct hconn (harness.h), so every
 * hconn_*() call works on them.  Single-threaded use per object.
 */
#ifndef CHATD_HTLS_H
#define CHATD_HTLS_H

#include <openssl/ssl.h>

#include "harness.h"

/* A key and its certificate. */
struct htls_id {
    EVP_PKEY *key;
    X509     *cert;
};

/* Make id: an EC P-256 key and a certificate for cn (and the subject
 * alternative names san, "DNS:localhost,IP:127.0.0.1", or NULL), valid
 * from now + from_s to now + to_s seconds, signed by issuer (NULL: self-
 * signed); ca makes it a CA.  Fails the test if it cannot. */
void htls_issue(struct htls_id *id, const char *cn, const char *san,
                long from_s, long to_s, const struct htls_id *issuer,
                int ca);
void htls_write(const struct htls_id *id, const char *certpath,
                const char *keypath);
void htls_free(struct htls_id *id);
void htls_fingerprint(X509 *x, char *out, size_t cap);

/* A client context: TLS versions min..max (0: OpenSSL's), verifying
 * against cafile unless it is NULL. */
SSL_CTX *htls_ctx(int min, int max, const char *cafile);
struct hconn *htls_open(SSL_CTX *ctx, int port, char *err, size_t cap);
struct hconn *htls_join(SSL_CTX *ctx, int port, char *nick, size_t len);
int  htls_write_record(struct hconn *c, const void *data, size_t len);
void htls_peer_fingerprint(struct hconn *c, char *out, size_t cap);
const char *htls_version(struct hconn *c);

#endif
