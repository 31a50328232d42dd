/*
 * history.c: the history thread (see history.h).  It owns the history
 * store and two line buffers: the hub appends to one (history.lock,
 * held for a copy) while the thread writes the other, one transaction
 * per batch.  A buffer holds at most HIST_QUEUE lines: when the store
 * falls that far behind, newer lines are not stored (counted in
 * history_dropped(), logged at most every HIST_WARN_MS), and chat goes
 * on.  Requests (replays, marks) wait in a list; the thread takes the
 * lines queued with them, so every line numbered before a request is
 * written before the request runs: a replay's boundary is exact.
 *
 * Batches: the first line of a batch waits at most HIST_BATCH_MS for
 * others, so a line is on disk about that long after it was said (a
 * request or a half-full buffer starts the batch at once).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "history.h"
#include "hub.h"
#include "log.h"
#include "mbox.h"
#include "msg.h"
#include "xmalloc.h"

#define HIST_QUEUE    50000         /* lines waiting, at most */
#define HIST_BATCH_MS 100           /* a line waits for others this long */
#define HIST_WARN_MS  10000         /* between two warnings */

struct lbuf {
    struct hist_line *v;
    size_t            n;
};

static struct {
    pthread_mutex_t  lock;
    pthread_cond_t   cond;
    struct lbuf      in;            /* lock: the hub appends here */
    int64_t          first_ms;      /* lock: when in's first line came */
    struct hist_req *head, *tail;   /* lock: requests */
    int              stop, quiet;   /* lock */
    int              idle;          /* lock: the thread waits untimed */
    atomic_int       running;
    atomic_uint_fast64_t dropped, stored;
    pthread_t        thread;
    /* The thread's own: */
    struct histstore *st;
    struct lbuf      out;
    long             keep;
    uint64_t         warned_dropped;
    int64_t          warned_ms;
} hs = { .lock = PTHREAD_MUTEX_INITIALIZER,
         .cond = PTHREAD_COND_INITIALIZER };

int
history_enabled(void)
{
    return atomic_load_explicit(&hs.running, memory_order_acquire);
}

uint64_t
history_boot(void)
{
    return hs.st ? hs.st->boot : 0;     /* set before the thread runs */
}

uint64_t
history_dropped(void)
{
    return atomic_load_explicit(&hs.dropped, memory_order_relaxed);
}

uint64_t
history_stored(void)
{
    return atomic_load_explicit(&hs.stored, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* The hub and the workers                                             */
/* ------------------------------------------------------------------ */

/*
 * Queue line m (one more reference) of room (folded), numbered seq, said
 * at `at`.  hub.lock held; never waits for the store.
 */
void
history_keep(const char *room, struct msg *m, uint64_t seq, int64_t at)
{
    struct hist_line *l;

    if (!history_enabled())
        return;
    pthread_mutex_lock(&hs.lock);
    if (hs.in.n == HIST_QUEUE || hs.stop) {
        pthread_mutex_unlock(&hs.lock);
        atomic_fetch_add_explicit(&hs.dropped, 1, memory_order_relaxed);
        return;
    }
    l = &hs.in.v[hs.in.n++];
    memcpy(l->room, room, sizeof(l->room));
    l->at = at;
    l->pos.boot = hs.st->boot;
    l->pos.seq = seq;
    msg_ref(m, 1);
    l->m = m;
    if (hs.in.n == 1)
        hs.first_ms = clock_ms();
    if ((hs.in.n == 1 && hs.idle) || hs.in.n == HIST_QUEUE / 2)
        pthread_cond_signal(&hs.cond);
    pthread_mutex_unlock(&hs.lock);
}

/* Queue request r (given away); any thread.  Dropped once stopping. */
void
history_ask(struct hist_req *r)
{
    r->next = NULL;
    pthread_mutex_lock(&hs.lock);
    if (hs.stop || !history_enabled()) {
        pthread_mutex_unlock(&hs.lock);
        free(r);
        return;
    }
    if (hs.tail)
        hs.tail->next = r;
    else
        hs.head = r;
    hs.tail = r;
    pthread_cond_signal(&hs.cond);
    pthread_mutex_unlock(&hs.lock);
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */
/* ------------------------------------------------------------------ */

/* Log, at most every HIST_WARN_MS, lines not stored and a failing
 * store. */
static void
warn_behind(const char *failed)
{
    uint64_t dropped = history_dropped();
    int64_t now = clock_ms();

    if ((dropped == hs.warned_dropped && failed == NULL) ||
        now - hs.warned_ms < HIST_WARN_MS)
        return;
    hs.warned_ms = now;
    if (failed != NULL)
        log_warnx("%s; lines are not being stored", failed);
    if (dropped != hs.warned_dropped)
        log_warnx("history: the store is behind: %llu lines not stored "
                  "so far", (unsigned long long)dropped);
    hs.warned_dropped = dropped;
}

/* Write the batch taken, then let go of its lines. */
static void
write_batch(void)
{
    if (hs.out.n == 0)
        return;
    if (hs.st->ops->write(hs.st, hs.out.v, hs.out.n, hs.keep) < 0) {
        atomic_fetch_add_explicit(&hs.dropped, hs.out.n,
                                  memory_order_relaxed);
        warn_behind(hs.st->err);
    } else {
        atomic_fetch_add_explicit(&hs.stored, hs.out.n,
                                  memory_order_relaxed);
    }
    for (size_t i = 0; i < hs.out.n; i++)
        msg_unref(hs.out.v[i].m);
    hs.out.n = 0;
}

/* Hand a replay's answer to the asking worker, unless the workers are
 * stopping (then nobody would take it). */
static void
post_answer(const struct hist_req *r, struct hist_answer *a)
{
    struct mbox_entry e = { .kind = MBOX_HISTORY, .to = r->client,
                            .worker = r->worker, .hist = a };

    pthread_mutex_lock(&hs.lock);
    if (hs.quiet)
        history_answer_free(a);
    else
        hub_post(&e);
    pthread_mutex_unlock(&hs.lock);
}

/* A replay: what r's account missed since it left the room, if
 * anything, else the room's last r->max lines before r->pos. */
static void
replay(const struct hist_req *r)
{
    struct hist_answer *a = xcalloc(1, sizeof(*a));
    struct hist_query q = { .room = r->room, .max = r->max,
                            .before = r->pos };
    int rc = 0;

    a->id = r->id;
    a->framed = r->framed;
    memcpy(a->name, r->name, sizeof(a->name));
    if (r->account[0] != '\0' &&
        (rc = hs.st->ops->left(hs.st, r->account, r->room, &q.after)) > 0) {
        struct hist_query missed = q;
        missed.max = PROTO_HISTORY_MAX;
        missed.has_after = 1;
        rc = hs.st->ops->select(hs.st, &missed, &a->rows);
    }
    if (rc >= 0 && a->rows.n == 0) {
        hist_rows_free(&a->rows);       /* nothing missed: the last */
        rc = hs.st->ops->select(hs.st, &q, &a->rows);
    }
    if (rc < 0) {
        a->failed = 1;
        log_warnx("%s", hs.st->err);
    }
    post_answer(r, a);
}

static void
run_requests(struct hist_req *r)
{
    while (r != NULL) {
        struct hist_req *next = r->next;
        if (r->kind == HIST_REPLAY)
            replay(r);
        else if (hs.st->ops->mark(hs.st, r->account, r->room, r->pos) < 0)
            log_warnx("%s", hs.st->err);
        free(r);
        r = next;
    }
}

/* Is there work now (lock held)?  Else, how long to wait (-1: until
 * signalled) in *ms. */
static int
has_work(long *ms)
{
    int64_t waited;

    *ms = -1;
    if (hs.head != NULL || hs.stop)
        return 1;
    if (hs.in.n == 0)
        return 0;
    waited = clock_ms() - hs.first_ms;
    if (waited >= HIST_BATCH_MS || hs.in.n >= HIST_QUEUE / 2)
        return 1;
    *ms = (long)(HIST_BATCH_MS - waited);
    return 0;
}

static void
wait_ms(long ms)
{
    struct timespec ts;

    hs.idle = ms < 0;
    if (ms < 0) {
        pthread_cond_wait(&hs.cond, &hs.lock);
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&hs.cond, &hs.lock, &ts);
    }
    hs.idle = 0;
}

/* The loop: take the lines and requests queued, write, answer; at stop,
 * once everything queued is written. */
static void *
history_main(void *arg)
{
    (void)arg;
    log_set_role("history");
    pthread_mutex_lock(&hs.lock);
    for (;;) {
        struct hist_req *reqs;
        struct lbuf tmp;
        long ms;
        int stopping;
        while (!has_work(&ms))
            wait_ms(ms);
        tmp = hs.in;
        hs.in = hs.out;
        hs.out = tmp;
        reqs = hs.head;
        hs.head = hs.tail = NULL;
        stopping = hs.stop;
        pthread_mutex_unlock(&hs.lock);
        write_batch();
        run_requests(reqs);
        warn_behind(NULL);
        pthread_mutex_lock(&hs.lock);
        if (stopping && hs.in.n == 0 && hs.head == NULL)
            break;
    }
    pthread_mutex_unlock(&hs.lock);
    return NULL;
}

/*
 * Start the thread, which owns h from now on; keep: lines per room.
 * Main thread, before the workers serve.  0, or -1 (logged).
 */
int
history_start(struct histstore *h, long keep)
{
    int rc;

    hs.st = h;
    hs.keep = keep;
    hs.in.v = xcalloc(HIST_QUEUE, sizeof(*hs.in.v));
    hs.out.v = xcalloc(HIST_QUEUE, sizeof(*hs.out.v));
    hs.in.n = hs.out.n = 0;
    hs.stop = hs.quiet = 0;
    if ((rc = pthread_create(&hs.thread, NULL, history_main, NULL)) != 0) {
        errno = rc;
        log_warn("pthread_create (history)");
        return -1;
    }
    atomic_store_explicit(&hs.running, 1, memory_order_release);
    return 0;
}

/* No more answers to the workers: call before they stop.  Marks and
 * lines are still taken. */
void
history_quiet(void)
{
    pthread_mutex_lock(&hs.lock);
    hs.quiet = 1;
    pthread_mutex_unlock(&hs.lock);
}

/* Write everything queued, stop the thread and close the store.  Main
 * thread, after the workers have stopped. */
void
history_stop(void)
{
    if (!history_enabled())
        return;
    pthread_mutex_lock(&hs.lock);
    hs.stop = hs.quiet = 1;
    pthread_cond_signal(&hs.cond);
    pthread_mutex_unlock(&hs.lock);
    pthread_join(hs.thread, NULL);
    atomic_store(&hs.running, 0);
    hs.st->ops->close(hs.st);
    hs.st = NULL;
    free(hs.in.v);
    free(hs.out.v);
    memset(&hs.in, 0, sizeof(hs.in));
    memset(&hs.out, 0, sizeof(hs.out));
}
