/*
 * tls.c: the TLS server context and the handshake thread (see tls.h).
 *
 * Ownership: tls.ctx, the context new handshakes use, is guarded by
 * tls.lock: the main thread swaps it on SIGHUP, the handshake thread
 * makes each SSL object from it under the lock (an SSL object holds its
 * own reference to its context, so connections made before a swap keep
 * working).  The queue tls.q is the acceptor's hand-off (its own lock).
 * Everything else, the epoll set and the handshakes in progress, is the
 * handshake thread's alone.
 *
 * A handshake in progress is on a list in the order it began, which is
 * the order of the deadlines (TLS_HANDSHAKE_MS after it began), so the
 * thread sleeps until the oldest one's and closes what is late.  Each
 * step waits for the one readiness OpenSSL asked for, so neither a
 * stalled handshake nor a flood of them spins the CPU; bad input ends
 * that one handshake, with a log line.  The handshakes finished in one
 * round of events go to the least loaded workers (those from web-port
 * with web-tls: to the web thread, for HTTP) together (so a worker
 * greets them in one loop iteration, not one iteration each), each with
 * its SSL object, which only that worker uses from then on.  When no
 * handshake is left, the thread gives the heap's free pages back
 * (malloc_trim()): a handshake's scratch memory is large next to what an
 * idle connection keeps.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "clock.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "transport.h"
#include "web.h"
#include "worker.h"
#include "workq.h"
#include "xmalloc.h"

#define TLS_EVENTS 256
#define TLS_BATCH  TLS_EVENTS   /* finished handshakes handed off at once */

/* One handshake in progress; the handshake thread's. */
struct hs {
    int         fd;
    SSL        *ssl;
    int         web;            /* from web-port: to the web thread */
    int64_t     deadline;
    unsigned    events;         /* registered with epoll */
    struct hs  *prev, *next;    /* oldest first */
    char        addr[NET_ADDRSTRLEN];
};

static struct {
    pthread_mutex_t lock;
    SSL_CTX        *ctx;        /* lock */
    struct workq    q;          /* accepted sockets: acceptor -> thread */
    int             wakefd;     /* eventfd: "look at q" or "stop" */
    atomic_int      stop;
    int             running;
    pthread_t       thread;
    /* The handshake thread's alone from here on. */
    int             epfd;
    struct hs      *head, *tail;
    size_t          n;
    struct transport *done[TLS_BATCH];  /* finished, not handed off yet */
    unsigned char done_web[TLS_BATCH];  /* done[i] goes to the web thread */
    int             ndone;
} tls = { .lock = PTHREAD_MUTEX_INITIALIZER, .wakefd = -1, .epfd = -1 };

/* ------------------------------------------------------------------ */
/* The context: any thread builds one, the main thread swaps it        */
/* ------------------------------------------------------------------ */

/* OpenSSL's words for err ("wrong version number"). */
const char *
tls_reason(unsigned long err)
{
    const char *r = ERR_reason_error_string(err);

    return r != NULL ? r : "unknown error";
}

/* Say in err why OpenSSL failed with what about path (a file). */
static void
ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
    unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();

    if (first != 0 && first != last)
        snprintf(err, errlen, "%s %s: %s (%s)", what, path,
                 tls_reason(first), tls_reason(last));
    else
        snprintf(err, errlen, "%s %s: %s", what, path,
                 last ? tls_reason(last) : "not usable");
    ERR_clear_error();
}

/* Can path be opened for reading?  If not, err says why. */
static int
readable(const char *what, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

/* Warn when the certificate in ctx has expired or is not valid yet. */
static void
check_dates(SSL_CTX *ctx, const char *cert)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);

    if (x == NULL)
        return;
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        log_warnx("tls-cert %s has expired: clients will refuse it", cert);
    else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        log_warnx("tls-cert %s is not valid yet: clients will refuse it",
                  cert);
}

/*
 * A server context with cert (PEM, chain first) and key: TLS 1.2 at
 * least, no renegotiation, buffers released while idle, no session
 * cache (TLS 1.3 tickets still resume).  Returns it, or NULL with err
 * naming the file and what is wrong with it.
 */
SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx;

    if (readable("tls-cert", cert, err, errlen) < 0 ||
        readable("tls-key", key, err, errlen) < 0)
        return NULL;
    ERR_clear_error();
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        ssl_error(err, errlen, "TLS context for", cert);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
                        SSL_OP_CIPHER_SERVER_PREFERENCE |
                        SSL_OP_NO_COMPRESSION |
                        SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
                     SSL_MODE_ENABLE_PARTIAL_WRITE |
                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_error(err, errlen, "tls-cert", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        ssl_error(err, errlen, "tls-key", key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls-key %s does not match tls-cert %s", key,
                 cert);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    check_dates(ctx, cert);
    return ctx;
}

/*
 * Build the first context (phase check, before privileges are dropped).
 * Main thread.  Returns 0, or -1 with err set.
 */
int
tls_init(const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx = tls_server_ctx(cert, key, err, errlen);

    if (ctx == NULL)
        return -1;
    pthread_mutex_lock(&tls.lock);
    tls.ctx = ctx;
    pthread_mutex_unlock(&tls.lock);
    return 0;
}

/*
 * SIGHUP: read cert and key again into a new context and swap it in for
 * new handshakes; open connections keep theirs.  A bad pair keeps the
 * old one, and the log says why.  Main thread.
 */
void
tls_reload(const char *cert, const char *key)
{
    char err[512];
    SSL_CTX *ctx, *old;

    if (cert == NULL || key == NULL) {
        log_warnx("SIGHUP: tls-cert or tls-key unset; keeping the TLS "
                  "certificate in use");
        return;
    }
    if ((ctx = tls_server_ctx(cert, key, err, sizeof(err))) == NULL) {
        log_warnx("SIGHUP: %s; keeping the TLS certificate in use", err);
        return;
    }
    pthread_mutex_lock(&tls.lock);
    old = tls.ctx;
    tls.ctx = ctx;
    pthread_mutex_unlock(&tls.lock);
    SSL_CTX_free(old);
    log_info("SIGHUP: TLS certificate reloaded from %s", cert);
}

/* ------------------------------------------------------------------ */
/* The handshake thread                                                */
/* ------------------------------------------------------------------ */

/* Take h off the list and out of epoll; the handshake thread. */
static void
unlink_hs(struct hs *h)
{
    epoll_ctl(tls.epfd, EPOLL_CTL_DEL, h->fd, NULL);
    if (h->prev)
        h->prev->next = h->next;
    else
        tls.head = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        tls.tail = h->prev;
    tls.n--;
}

/* End a handshake that failed: close it, log why. */
static void
drop(struct hs *h, const char *why)
{
    log_info("client (%s): TLS handshake failed: %s", h->addr, why);
    unlink_hs(h);
    SSL_free(h->ssl);
    ERR_clear_error();
    close(h->fd);
    free(h);
}

/* Why the handshake of h failed, given SSL_get_error()'s e. */
static const char *
why_failed(struct hs *h, int e)
{
    unsigned long err = ERR_peek_last_error();

    (void)h;
    if (e == SSL_ERROR_SYSCALL && err == 0)
        return errno != 0 ? strerror(errno) : "connection closed";
    if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return "connection closed";
    return err != 0 ? tls_reason(err) : "protocol error";
}

/* Hand the finished handshakes to the workers. */
static void
hand_off(void)
{
    for (int i = 0; i < tls.ndone; i++) {
        if (tls.done_web[i])
            web_handoff_tport(tls.done[i]);
        else
            worker_handoff_tport(tls.done[i]->fd, tls.done[i]);
    }
    tls.ndone = 0;
}

/* Wait for events (EPOLLIN or EPOLLOUT) before h's next step. */
static int
want(struct hs *h, unsigned events)
{
    struct epoll_event ev = { .events = events, .data.ptr = h };

    if (events == h->events)
        return 0;
    if (epoll_ctl(tls.epfd, h->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
                  h->fd, &ev) < 0)
        return -1;
    h->events = events;
    return 0;
}

/* Go on with h's handshake as far as the socket lets it. */
static void
step(struct hs *h)
{
    int rc, e;

    ERR_clear_error();
    errno = 0;
    if ((rc = SSL_do_handshake(h->ssl)) == 1) {
        int fd = h->fd, web = h->web;
        SSL *ssl = h->ssl;
        log_debug("client (%s): TLS handshake done: %s %s", h->addr,
                  SSL_get_version(ssl), SSL_get_cipher_name(ssl));
        unlink_hs(h);
        free(h);
        if (tls.ndone == TLS_BATCH)
            hand_off();
        tls.done_web[tls.ndone] = (unsigned char)web;
        tls.done[tls.ndone++] = tport_tls_new(fd, ssl);
        return;
    }
    e = SSL_get_error(h->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (want(h, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT) < 0)
            drop(h, strerror(errno));
        return;
    }
    drop(h, why_failed(h, e));
}

/* Begin a handshake on fd, fresh from the acceptor (web: from web-port). */
static void
begin(int fd, int web, int64_t now)
{
    static int64_t last_warn;
    struct hs *h;
    SSL *ssl;

    if (tls.n >= TLS_HANDSHAKES_MAX) {
        if (now - last_warn > 10000) {
            log_warnx("TLS: %d handshakes in progress; closing new ones",
                      TLS_HANDSHAKES_MAX);
            last_warn = now;
        }
        close(fd);
        return;
    }
    pthread_mutex_lock(&tls.lock);
    ssl = SSL_new(tls.ctx);
    pthread_mutex_unlock(&tls.lock);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        log_warnx("TLS: cannot make a connection: %s",
                  tls_reason(ERR_peek_last_error()));
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return;
    }
    SSL_set_accept_state(ssl);
    h = xcalloc(1, sizeof(*h));
    h->fd = fd;
    h->ssl = ssl;
    h->web = web;
    h->deadline = now + TLS_HANDSHAKE_MS;
    net_peer_string(fd, h->addr, sizeof(h->addr));
    h->prev = tls.tail;
    if (tls.tail)
        tls.tail->next = h;
    else
        tls.head = h;
    tls.tail = h;
    tls.n++;
    step(h);                    /* the ClientHello may be there already */
}

/* Begin a handshake for every socket the acceptor queued. */
static void
take_queue(void)
{
    uint64_t v;
    ssize_t n = read(tls.wakefd, &v, sizeof(v));
    int64_t now = clock_ms();
    void *web;
    int fd;

    (void)n;
    while ((fd = workq_trypop_data(&tls.q, &web)) >= 0)
        begin(fd, web != NULL, now);
}

/* Close the handshakes past their deadline; the time to the next one
 * (-1: none). */
static int
expire(int64_t now)
{
    while (tls.head != NULL && tls.head->deadline <= now)
        drop(tls.head, "not done in time");
    return tls.head ? (int)(tls.head->deadline - now) : -1;
}

static void *
tls_main(void *arg)
{
    struct epoll_event events[TLS_EVENTS];
    int timeout = -1;

    (void)arg;
    log_set_role("tls");
    while (!atomic_load(&tls.stop)) {
        int n = epoll_wait(tls.epfd, events, TLS_EVENTS, timeout);
        if (n < 0 && errno != EINTR)
            fatal("epoll_wait");
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                take_queue();
            else
                step(events[i].data.ptr);
        }
        hand_off();
        timeout = expire(clock_ms());
        if (n > 0 && tls.n == 0)
            malloc_trim(0);
    }
    hand_off();
    while (tls.head != NULL)
        drop(tls.head, "server shutting down");
    return NULL;
}

/* Start the handshake thread (after the workers, before the acceptor).
 * Main thread. */
void
tls_start(void)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int rc;

    workq_init(&tls.q);
    if ((tls.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        fatal("eventfd");
    if ((tls.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        fatal("epoll_create1");
    if (epoll_ctl(tls.epfd, EPOLL_CTL_ADD, tls.wakefd, &ev) < 0)
        fatal("epoll_ctl");
    if ((rc = pthread_create(&tls.thread, NULL, tls_main, NULL)) != 0) {
        errno = rc;
        fatal("pthread_create");
    }
    tls.running = 1;
}

/* Queue fd for a handshake (web: it came from web-port). */
static void
push(int fd, int web)
{
    static char web_mark;
    uint64_t one = 1;

    if (workq_push_data(&tls.q, fd, web ? &web_mark : NULL) < 0) {
        close(fd);
        return;
    }
    if (write(tls.wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("TLS: eventfd");
}

/* Give the handshake thread a socket accepted on the TLS port.  The
 * acceptor thread. */
void
tls_handoff(int fd)
{
    push(fd, 0);
}

/* The same for a socket from web-port with web-tls: once done, it goes
 * to the web thread.  The acceptor thread. */
void
tls_handoff_web(int fd)
{
    push(fd, 1);
}

/* Stop the handshake thread (after the acceptor), close what is in
 * progress, free the context.  Main thread. */
void
tls_stop(void)
{
    uint64_t one = 1;
    int rc;

    if (tls.running) {
        workq_close(&tls.q);
        atomic_store(&tls.stop, 1);
        if (write(tls.wakefd, &one, sizeof(one)) < 0)
            log_warn("TLS: eventfd");
        if ((rc = pthread_join(tls.thread, NULL)) != 0) {
            errno = rc;
            fatal("pthread_join");
        }
        workq_destroy(&tls.q);
        close(tls.epfd);
        close(tls.wakefd);
        tls.running = 0;
    }
    SSL_CTX_free(tls.ctx);
    tls.ctx = NULL;
}
