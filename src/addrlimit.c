/*
 * addrlimit.c: max-per-address and connect-rate (see addrlimit.h).
 *
 * Ownership: the table of buckets (one per IPv4 address or IPv6 /64 with
 * a connection open or a connect-rate bucket not yet full) and the
 * configuration in use are the acceptor thread's: only it adds, finds
 * and frees buckets.  A bucket's count of open connections is atomic:
 * the acceptor adds one for each connection it admits, and whichever
 * thread closes that socket (a worker, the TLS handshake thread, the
 * acceptor) subtracts it.  The acceptor frees a bucket only when it sees
 * its count at 0, and a thread that subtracted never touches the bucket
 * again, so nobody holds a freed bucket.
 *
 * Which bucket an open socket holds is kept by descriptor (slots[fd],
 * atomic): the closer needs to know nothing but the fd, so no structure
 * along the way (work queues, transports, handshakes) carries it.  The
 * closer releases before it closes; a descriptor number is reused only
 * after its close, so when the acceptor finds a slot still set for a
 * descriptor it has just been given, that socket was closed without a
 * release, and it releases it then: a path that forgets cannot lock an
 * address out for good.
 *
 * The configuration is swapped by the main thread (SIGHUP) through
 * `next`; the acceptor picks it up on its next admission and frees the
 * one it replaces.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "addrlimit.h"
#include "addrmask.h"
#include "clock.h"
#include "log.h"
#include "xmalloc.h"

#define AL_CHAINS    4096           /* hash chains of the table */
#define AL_IDLE_MAX  65536          /* buckets kept before a sweep */
#define AL_SLOTS_MAX (1L << 22)     /* descriptors tracked at most */

struct abucket {
    struct addr_key     key;
    atomic_int          count;      /* open connections; any thread */
    struct addr_tokens  tokens;     /* acceptor */
    struct abucket     *next;       /* acceptor */
};

struct aconf {
    long                max;        /* 0: no limit */
    struct addr_rate    rate;
    char                rate_text[32];
    struct addr_list    exempt;
};

static struct {
    _Atomic(struct abucket *) *slots;   /* by descriptor */
    size_t              nslots;
    struct abucket     *chains[AL_CHAINS];     /* acceptor */
    size_t              nbuckets;       /* acceptor */
    struct aconf       *conf;           /* acceptor */
    _Atomic(struct aconf *) next;       /* main -> acceptor */
} al;

/* Size the descriptor table to the open-file limit.  Main thread, after
 * the limit is raised and before the acceptor starts. */
void
addrlimit_init(void)
{
    struct rlimit rl;
    long n = AL_SLOTS_MAX;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n)
        n = (long)rl.rlim_cur;
    /* calloc() of this size maps zero pages: only the pages of the
     * descriptors in use take memory. */
    al.slots = xcalloc((size_t)n, sizeof(*al.slots));
    al.nslots = (size_t)n;
}

/* Free everything; main thread, once no thread can close a socket. */
void
addrlimit_free(void)
{
    for (size_t i = 0; i < AL_CHAINS; i++)
        while (al.chains[i] != NULL) {
            struct abucket *b = al.chains[i];
            al.chains[i] = b->next;
            free(b);
        }
    free(al.slots);
    free(al.conf);
    free(atomic_exchange(&al.next, NULL));
    memset(&al, 0, sizeof(al));
}

/*
 * Use max (0: none), rate and exempt (as settings.c checked them) from
 * the next admission on.  Returns 0, or -1 with err set if a value does
 * not parse.  Main thread.
 */
int
addrlimit_set(long max, const char *rate, const char *exempt, char *err,
              size_t errlen)
{
    struct aconf *c = xcalloc(1, sizeof(*c));
    char why[256];

    c->max = max;
    if (addrmask_parse_rate(rate, &c->rate, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "connect-rate: '%s': %s", rate, why);
        free(c);
        return -1;
    }
    if (addrmask_parse_list(exempt, &c->exempt, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "exempt: %s", why);
        free(c);
        return -1;
    }
    addrmask_format_rate(&c->rate, c->rate_text, sizeof(c->rate_text));
    free(atomic_exchange(&al.next, c));     /* one not taken yet */
    return 0;
}

/* Forget every bucket with no connection open (and, unless all is set,
 * a full token bucket) on chain *pp. */
static void
sweep_chain(struct abucket **pp, int all, int64_t now)
{
    while (*pp != NULL) {
        struct abucket *b = *pp;
        if (atomic_load_explicit(&b->count, memory_order_acquire) == 0 &&
            (all || addrmask_full(&b->tokens, &al.conf->rate, now))) {
            *pp = b->next;
            free(b);
            al.nbuckets--;
        } else {
            pp = &b->next;
        }
    }
}

/* The bucket of k, made if new; idle buckets on its chain are dropped
 * on the way, and all idle ones when there are too many. */
static struct abucket *
bucket(const struct addr_key *k, int64_t now)
{
    struct abucket **head = &al.chains[addrmask_hash(k) % AL_CHAINS], *b;

    if (al.nbuckets >= AL_IDLE_MAX)
        for (size_t i = 0; i < AL_CHAINS; i++)
            sweep_chain(&al.chains[i], 1, now);
    for (b = *head; b != NULL; b = b->next)
        if (memcmp(&b->key, k, sizeof(*k)) == 0)
            return b;
    sweep_chain(head, 0, now);
    b = xcalloc(1, sizeof(*b));
    b->key = *k;
    atomic_init(&b->count, 0);
    addrmask_tokens_init(&b->tokens, &al.conf->rate, now);
    b->next = *head;
    *head = b;
    al.nbuckets++;
    return b;
}

/* Take a configuration the main thread published. */
static void
take_conf(void)
{
    struct aconf *c = atomic_exchange(&al.next, NULL);

    if (c != NULL) {
        free(al.conf);
        al.conf = c;
    }
}

/*
 * May the connection just accepted on fd, from sa, stay?  Returns 0 (it
 * is counted against its address until addrlimit_release(fd)), or -1
 * with why (the error line's text: the limit it is over).  Exempt and
 * unknown addresses are not counted.  The acceptor thread; never blocks.
 */
int
addrlimit_admit(int fd, const struct sockaddr *sa, char *why, size_t len)
{
    unsigned char a[16];
    struct addr_key k;
    struct abucket *b;
    int64_t now;
    int v6;

    take_conf();
    addrlimit_release(fd);          /* closed without a release */
    if (al.conf == NULL || (al.conf->max == 0 && al.conf->rate.count == 0) ||
        fd < 0 || (size_t)fd >= al.nslots ||
        addrmask_normalize(sa, a, &v6) < 0 ||
        addrmask_match(&al.conf->exempt, a, v6))
        return 0;
    now = clock_ms();
    addrmask_key(a, v6, &k);
    b = bucket(&k, now);
    if (al.conf->max > 0 &&
        atomic_load_explicit(&b->count, memory_order_acquire) >=
        al.conf->max) {
        snprintf(why, len, "too many connections from your address");
        return -1;
    }
    if (!addrmask_take(&b->tokens, &al.conf->rate, now)) {
        snprintf(why, len, "too many connections from your address "
                 "(at most %s)", al.conf->rate_text);
        return -1;
    }
    atomic_fetch_add_explicit(&b->count, 1, memory_order_relaxed);
    atomic_store_explicit(&al.slots[fd], b, memory_order_release);
    return 0;
}

/* Give back what fd counts against its address, if anything; call it
 * just before closing fd.  Any thread that owns the socket. */
void
addrlimit_release(int fd)
{
    struct abucket *b;

    if (fd < 0 || (size_t)fd >= al.nslots)
        return;
    b = atomic_exchange_explicit(&al.slots[fd], NULL, memory_order_acq_rel);
    if (b != NULL)
        atomic_fetch_sub_explicit(&b->count, 1, memory_order_release);
}

/* Release fd (addrlimit_release()) and close it. */
void
addrlimit_close(int fd)
{
    addrlimit_release(fd);
    close(fd);
}
