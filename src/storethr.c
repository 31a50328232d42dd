/*
 * storethr.c: the store thread (see storethr.h).  It owns the store,
 * the queue of requests, the requests waiting for their address's
 * delay, and the table of failed logins per address.  Workers only
 * append to the queue (storethr.lock, never held across anything slow)
 * and read the answers from their mailboxes.
 *
 * Failed logins: each failure from an address (IPv4, or IPv6 by /64)
 * makes the next password request from there wait login-delay ms,
 * doubled per further failure within ten minutes, up to 16 times; the
 * request waits in this thread's delay list, no worker waits.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hub.h"
#include "log.h"
#include "mbox.h"
#include "msg.h"
#include "passwd.h"
#include "store.h"
#include "storethr.h"
#include "xmalloc.h"

#define FAILS_MAX     1024          /* addresses remembered */
#define FAIL_FORGET   (10 * 60 * 1000L)     /* ms */
#define DELAY_SHIFT_MAX 4           /* up to 16 times login-delay */
#define POLL_MS       250           /* a shared store: how often to ask
                                       whether other nodes changed bans */

struct fail {
    uint8_t  addr[16];              /* the address, /64 for IPv6 */
    unsigned count;
    int64_t  last;                  /* clock_ms() of the last failure */
    int64_t  next_ok;               /* no request before this */
};

static struct {
    pthread_mutex_t   lock;
    pthread_cond_t    cond;
    struct store_req *head, *tail;  /* lock: the queue */
    int               stop;         /* lock */
    pthread_t         thread;
    atomic_int        running;
    int               registration_open;
    /* The thread's own: */
    struct store     *st;
    struct storethr_conf conf;
    char             *opers;        /* folded, space-separated, padded */
    struct store_req *delayed;      /* by due time */
    struct fail       fails[FAILS_MAX];
} sth = { .lock = PTHREAD_MUTEX_INITIALIZER,
          .cond = PTHREAD_COND_INITIALIZER };

/* ------------------------------------------------------------------ */
/* Requests: any thread                                                */
/* ------------------------------------------------------------------ */

int
storethr_enabled(void)
{
    return atomic_load(&sth.running);
}

int
storethr_registration_open(void)
{
    return sth.registration_open;
}

/* A new request of op for client (on worker, from peer addr). */
struct store_req *
storethr_req(enum store_op op, uint64_t client, int worker,
             const char *addr)
{
    struct store_req *r = xcalloc(1, sizeof(*r));

    r->op = op;
    r->client = client;
    r->worker = worker;
    snprintf(r->addr, sizeof(r->addr), "%s", addr ? addr : "");
    return r;
}

/* Free r, its passwords wiped first. */
void
storethr_free(struct store_req *r)
{
    explicit_bzero(r->pw, sizeof(r->pw));
    explicit_bzero(r->pw2, sizeof(r->pw2));
    free(r);
}

/* Queue r (given away) for the store thread; any thread. */
void
storethr_post(struct store_req *r)
{
    r->next = NULL;
    pthread_mutex_lock(&sth.lock);
    if (sth.stop) {                 /* shutting down: nobody answers */
        pthread_mutex_unlock(&sth.lock);
        storethr_free(r);
        return;
    }
    if (sth.tail)
        sth.tail->next = r;
    else
        sth.head = r;
    sth.tail = r;
    pthread_cond_signal(&sth.cond);
    pthread_mutex_unlock(&sth.lock);
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */
/* ------------------------------------------------------------------ */

/* Answer r's client: result and a text (a name, a notice, an error). */
static void
answer(const struct store_req *r, int result, int oper, const char *fmt,
       ...) __attribute__((format(printf, 4, 5)));

static void
answer(const struct store_req *r, int result, int oper, const char *fmt,
       ...)
{
    char text[512];
    va_list ap;
    struct mbox_entry e = { .kind = MBOX_STORE, .op = (int)r->op,
                            .result = result, .oper = oper,
                            .to = r->client, .worker = r->worker };

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    e.msg = msg_new(text, strlen(text) + 1);
    hub_post(&e);
}

/* Tell every worker of a new ban: each closes whom it covers. */
static void
tell_banned(void)
{
    for (int i = 0; i < sth.conf.workers; i++) {
        struct mbox_entry e = { .kind = MBOX_STORE,
                                .op = STORE_OP_BANNED, .worker = i };
        hub_post(&e);
    }
}

/* Is name (any case) in the opers key? */
static int
in_opers(const char *name)
{
    char fold[PROTO_NICK_MAX + 3];

    if (sth.opers == NULL)
        return 0;
    fold[0] = ' ';
    proto_nick_fold(name, fold + 1);
    strcat(fold, " ");
    return strstr(sth.opers, fold) != NULL;
}

/* ------------------------------------------------------------------ */
/* Failed logins per address                                           */
/* ------------------------------------------------------------------ */

/* The slot of r's address (IPv6 by /64), made if need be: the oldest
 * one is reused when the table is full.  NULL for no address. */
static struct fail *
fail_slot(const char *peer, int make)
{
    struct fail *oldest = &sth.fails[0];
    uint8_t a[16];
    int v4;

    if (acct_peer_addr(peer, a) < 0)
        return NULL;
    v4 = a[10] == 0xff && a[11] == 0xff && a[0] == 0 && a[9] == 0;
    if (!v4)
        memset(a + 8, 0, 8);
    for (size_t i = 0; i < FAILS_MAX; i++) {
        struct fail *f = &sth.fails[i];
        if (f->count > 0 && memcmp(f->addr, a, 16) == 0)
            return f;
        if (f->last < oldest->last)
            oldest = f;
    }
    if (!make)
        return NULL;
    memset(oldest, 0, sizeof(*oldest));
    memcpy(oldest->addr, a, 16);
    return oldest;
}

/* A failed password from r's address: log it (not the password) and
 * make the next request from there wait. */
static void
failed(const struct store_req *r, const char *what)
{
    struct fail *f = fail_slot(r->addr, 1);
    int64_t now = clock_ms();
    unsigned shift;

    log_warnx("client %llu (%s): failed %s for %s",
              (unsigned long long)r->client, r->addr, what, r->name);
    if (f == NULL)
        return;
    if (now - f->last > FAIL_FORGET)
        f->count = 0;
    f->count++;
    f->last = now;
    shift = f->count - 1 < DELAY_SHIFT_MAX ? f->count - 1 : DELAY_SHIFT_MAX;
    f->next_ok = now + (sth.conf.login_delay << shift);
}

/* When may a password request from r's address run (clock_ms())? */
static int64_t
not_before(const struct store_req *r)
{
    struct fail *f = fail_slot(r->addr, 0);

    if (f == NULL || clock_ms() - f->last > FAIL_FORGET)
        return 0;
    return f->next_ok;
}

/* ------------------------------------------------------------------ */
/* Operations: the store thread                                        */
/* ------------------------------------------------------------------ */

/* The store failed: log it once here, tell the client plainly. */
static void
store_error(const struct store_req *r)
{
    log_warnx("store: %s", sth.st->err);
    answer(r, STORE_R_NO, 0, "the account store failed; try again later");
}

static void
do_register(struct store_req *r)
{
    struct store_account a = { .oper = 0 };
    int rc;

    snprintf(a.name, sizeof(a.name), "%s", r->name);
    if (passwd_hash(r->pw, a.hash, sizeof(a.hash)) < 0) {
        log_warn("client %llu: hashing a password",
                 (unsigned long long)r->client);
        answer(r, STORE_R_NO, 0, "cannot hash the password; try again");
        return;
    }
    rc = sth.st->ops->account_put(sth.st, &a, STORE_CREATE);
    explicit_bzero(a.hash, sizeof(a.hash));
    if (rc < 0) {
        store_error(r);
        return;
    }
    if (rc == 0) {
        answer(r, STORE_R_NO, 0, "%s is already registered", r->name);
        return;
    }
    log_info("client %llu (%s): registered %s",
             (unsigned long long)r->client, r->addr, r->name);
    answer(r, STORE_R_OK, in_opers(r->name), "%s", r->name);
}

/* Verify r's name and r->pw; 1 with *a filled, 0 wrong, -1 store error
 * (answered). */
static int
check_password(struct store_req *r, struct store_account *a,
               const char *what)
{
    int rc = sth.st->ops->account_get(sth.st, r->name, a);

    if (rc < 0) {
        store_error(r);
        return -1;
    }
    if (!passwd_verify(rc ? a->hash : NULL, r->pw)) {
        failed(r, what);
        answer(r, STORE_R_NO, 0, "wrong name or password");
        return 0;
    }
    return 1;
}

static void
do_login(struct store_req *r)
{
    struct store_account a;
    struct ban b;

    if (bans_match_name(r->name, (int64_t)time(NULL), &b)) {
        answer(r, STORE_R_NO, 0, "%s is banned on this server", r->name);
        return;
    }
    if (check_password(r, &a, "login") <= 0)
        return;
    log_info("client %llu (%s): logged in as %s%s",
             (unsigned long long)r->client, r->addr, a.name,
             a.oper || in_opers(a.name) ? " (operator)" : "");
    answer(r, STORE_R_OK, a.oper || in_opers(a.name), "%s", a.name);
    explicit_bzero(a.hash, sizeof(a.hash));
}

static void
do_password(struct store_req *r)
{
    struct store_account a;
    int rc;

    if (check_password(r, &a, "password change") <= 0)
        return;
    if (passwd_hash(r->pw2, a.hash, sizeof(a.hash)) < 0) {
        answer(r, STORE_R_NO, 0, "cannot hash the password; try again");
        return;
    }
    rc = sth.st->ops->account_put(sth.st, &a, STORE_PASSWORD);
    explicit_bzero(a.hash, sizeof(a.hash));
    if (rc <= 0) {
        store_error(r);
        return;
    }
    log_info("client %llu (%s): %s changed its password",
             (unsigned long long)r->client, r->addr, a.name);
    answer(r, STORE_R_OK, 0, "password changed for %s", a.name);
}

static void
do_nick(struct store_req *r)
{
    struct store_account a;
    int rc = sth.st->ops->account_get(sth.st, r->name, &a);

    if (rc < 0) {
        store_error(r);
        return;
    }
    explicit_bzero(a.hash, sizeof(a.hash));
    answer(r, rc ? STORE_R_TAKEN : STORE_R_FREE, 0, "%s", r->name);
}

static void
do_ban(struct store_req *r)
{
    char what[96];

    if (sth.st->ops->ban_add(sth.st, &r->ban) < 0) {
        store_error(r);
        return;
    }
    bans_add(&r->ban);
    tell_banned();
    ban_describe(&r->ban, what, sizeof(what));
    log_info("ban %lld: %s (%s) by %s: %s", (long long)r->ban.id, what,
             r->what, r->ban.by, r->ban.reason);
    answer(r, STORE_R_OK, 0, "banned %s (%s)", what, r->what);
}

static void
do_unban(struct store_req *r)
{
    if (sth.st->ops->ban_del(sth.st, r->ban.id) < 0) {
        store_error(r);
        return;
    }
    bans_remove(r->ban.id);
    log_info("ban %lld lifted by %s", (long long)r->ban.id, r->name);
    answer(r, STORE_R_OK, 0, "ban lifted: %s", r->what);
}

static void
do_mute(struct store_req *r, int on)
{
    if ((on ? sth.st->ops->mute_set(sth.st, &r->mute)
            : sth.st->ops->mute_del(sth.st, r->mute.name)) < 0) {
        store_error(r);
        return;
    }
    if (on)
        mutes_set(&r->mute);
    else
        mutes_remove(r->mute.name);
    log_info("%s %s by %s", r->mute.name, on ? "muted" : "unmuted",
             r->name);
    answer(r, STORE_R_OK, 0, "%s %s", r->mute.name,
           on ? "muted" : "unmuted");
}

/* Run one request; r is freed. */
static void
run(struct store_req *r)
{
    switch (r->op) {
    case STORE_OP_REGISTER: do_register(r); break;
    case STORE_OP_LOGIN:    do_login(r); break;
    case STORE_OP_PASSWORD: do_password(r); break;
    case STORE_OP_NICK:     do_nick(r); break;
    case STORE_OP_BAN:      do_ban(r); break;
    case STORE_OP_UNBAN:    do_unban(r); break;
    case STORE_OP_MUTE:     do_mute(r, 1); break;
    case STORE_OP_UNMUTE:   do_mute(r, 0); break;
    default:                break;
    }
    storethr_free(r);
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */
/* ------------------------------------------------------------------ */

/* Keep r until r->due, in due order. */
static void
delay(struct store_req *r)
{
    struct store_req **p = &sth.delayed;

    while (*p != NULL && (*p)->due <= r->due)
        p = &(*p)->next;
    r->next = *p;
    *p = r;
}

/* Run the delayed requests now due; returns ms until the next (-1:
 * none). */
static long
run_due(void)
{
    int64_t now = clock_ms();

    while (sth.delayed != NULL && sth.delayed->due <= now) {
        struct store_req *r = sth.delayed;
        int64_t wait = 0;
        sth.delayed = r->next;
        /* A failure meanwhile may have put its address off further. */
        if (r->op == STORE_OP_LOGIN || r->op == STORE_OP_PASSWORD)
            wait = not_before(r);
        if (wait > now) {
            r->due = wait;
            delay(r);
            continue;
        }
        run(r);
        now = clock_ms();
    }
    return sth.delayed ? (long)(sth.delayed->due - now) : -1;
}

/* Take r: a password request from an address that must wait goes on the
 * delay list, the rest runs. */
static void
take(struct store_req *r)
{
    int64_t wait = 0;

    if (r->op == STORE_OP_LOGIN || r->op == STORE_OP_PASSWORD)
        wait = not_before(r);
    if (wait > clock_ms()) {
        r->due = wait;
        delay(r);
        return;
    }
    run(r);
}

static void
wait_for_work(long ms)
{
    struct timespec ts;

    if (ms < 0) {
        pthread_cond_wait(&sth.cond, &sth.lock);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&sth.cond, &sth.lock, &ts);
}

/* What a reload collects before it replaces the bans in memory. */
static struct {
    struct ban  *v;
    size_t       n, cap;
    struct mute *m;
    size_t       nm, capm;
} coll;

static void
collect_ban(const struct ban *b)
{
    if (coll.n == coll.cap) {
        coll.cap = coll.cap ? coll.cap * 2 : 16;
        coll.v = xrealloc(coll.v, coll.cap * sizeof(*coll.v));
    }
    coll.v[coll.n++] = *b;
}

static void
collect_mute(const struct mute *m)
{
    if (coll.nm == coll.capm) {
        coll.capm = coll.capm ? coll.capm * 2 : 16;
        coll.m = xrealloc(coll.m, coll.capm * sizeof(*coll.m));
    }
    coll.m[coll.nm++] = *m;
}

/*
 * A store other nodes write: every POLL_MS, ask whether the bans or
 * mutes changed and if so load them again and have every worker close
 * whom a new ban covers (so a ban on one node closes its client on
 * another within a second).  Returns ms until the next poll, or -1.
 */
static long
poll_shared(void)
{
    static int64_t next;
    int64_t now = clock_ms();

    if (sth.st->ops->changed == NULL)
        return -1;
    if (now < next)
        return (long)(next - now);
    next = now + POLL_MS;
    if (sth.st->ops->changed(sth.st) != 1)
        return POLL_MS;
    memset(&coll, 0, sizeof(coll));
    if (sth.st->ops->load(sth.st, (int64_t)time(NULL), collect_ban,
                          collect_mute) < 0) {
        log_warnx("store: %s", sth.st->err);
        free(coll.v);
        free(coll.m);
        return POLL_MS;
    }
    bans_replace(coll.v, coll.n, coll.m, coll.nm);
    tell_banned();
    return POLL_MS;
}

/* The loop: run what is due, then what is queued, then wait. */
static void *
storethr_main(void *arg)
{
    (void)arg;
    log_set_role("store");
    pthread_mutex_lock(&sth.lock);
    while (!sth.stop) {
        struct store_req *r = sth.head;
        long ms, poll;
        if (r != NULL) {
            sth.head = r->next;
            if (sth.head == NULL)
                sth.tail = NULL;
        }
        pthread_mutex_unlock(&sth.lock);
        if (r != NULL)
            take(r);
        ms = run_due();             /* every round: none starves */
        poll = poll_shared();
        if (poll >= 0 && (ms < 0 || poll < ms))
            ms = poll;
        pthread_mutex_lock(&sth.lock);
        if (sth.head == NULL && !sth.stop)
            wait_for_work(ms);
    }
    pthread_mutex_unlock(&sth.lock);
    return NULL;
}

static void
load_ban(const struct ban *b)
{
    bans_add(b);
}

static void
load_mute(const struct mute *m)
{
    mutes_set(m);
}

/* The opers key, folded, as " a b c " for in_opers(). */
static char *
fold_opers(const char *opers)
{
    size_t n = strlen(opers);
    char *out = xmalloc(n + 3);

    out[0] = ' ';
    for (size_t i = 0; i < n; i++) {
        char c = opers[i];
        out[i + 1] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') :
                     (c == '\t' || c == ',') ? ' ' : c;
    }
    out[n + 1] = ' ';
    out[n + 2] = '\0';
    return out;
}

/*
 * Load the bans and mutes from st into memory and start the thread,
 * which owns st from now on.  Main thread, before the workers serve.
 * 0, or -1 (logged).
 */
int
storethr_start(struct store *st, const struct storethr_conf *c)
{
    int rc;

    bans_clear();
    if (st->ops->load(st, (int64_t)time(NULL), load_ban, load_mute) < 0) {
        log_warnx("store: %s", st->err);
        return -1;
    }
    sth.st = st;
    sth.conf = *c;
    sth.opers = c->opers ? fold_opers(c->opers) : NULL;
    sth.registration_open = c->registration == NULL ||
                            strcmp(c->registration, "closed") != 0;
    sth.stop = 0;
    if ((rc = pthread_create(&sth.thread, NULL, storethr_main, NULL)) != 0) {
        errno = rc;
        log_warn("pthread_create (store)");
        return -1;
    }
    atomic_store(&sth.running, 1);
    return 0;
}

static void
drop_all(struct store_req *r)
{
    while (r != NULL) {
        struct store_req *next = r->next;
        storethr_free(r);
        r = next;
    }
}

/* Stop the thread (requests not yet run are dropped) and close the
 * store.  Main thread, before the workers stop. */
void
storethr_stop(void)
{
    if (!atomic_load(&sth.running))
        return;
    pthread_mutex_lock(&sth.lock);
    sth.stop = 1;
    pthread_cond_signal(&sth.cond);
    pthread_mutex_unlock(&sth.lock);
    pthread_join(sth.thread, NULL);
    atomic_store(&sth.running, 0);
    drop_all(sth.head);
    drop_all(sth.delayed);
    sth.head = sth.tail = sth.delayed = NULL;
    sth.st->ops->close(sth.st);
    sth.st = NULL;
    free(sth.opers);
    sth.opers = NULL;
    bans_clear();
}
