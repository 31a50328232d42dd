/*
 * check_mbox.c: unit tests of a worker's mailbox (mbox.c): the entry
 * vector and the references it owns, taking every entry at once, the
 * eventfd wakeup (set by unlock with wake and by mbox_wake(), cleared by
 * mbox_clear()), and many threads posting while the owner takes, as the
 * hub and a worker do.  No sockets, no server.
 */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mbox.h"
#include "msg.h"

static struct mbox mb;

static void
setup(void)
{
    ck_assert_int_eq(mbox_init(&mb), 0);
}

static void
teardown(void)
{
    mbox_destroy(&mb);
}

/* Is the mailbox's wakeup set, or set within ms? */
static int
woken(struct mbox *m, int ms)
{
    struct pollfd pfd = { .fd = m->efd, .events = POLLIN };

    return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

/* How many references m has. */
static unsigned
refs(struct msg *m)
{
    return atomic_load(&m->refs);
}

/* Post entry number n (in .seq, from producer `from`) under the lock. */
static void
post(struct mbox *m, uint64_t from, uint64_t n, int wake)
{
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .seq = n,
                            .from = from };

    mbox_lock(m);
    mbox_vec_push(&m->in, &e);
    mbox_unlock(m, wake);
}

/* ------------------------------------------------------------------ */
/* The entry vector                                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_vec_push_keeps_order)
{
    struct mbox_vec v = { 0 };

    for (uint64_t i = 0; i < 1000; i++) {       /* grows past its start */
        struct mbox_entry e = { .kind = MBOX_DIRECT, .to = i };
        mbox_vec_push(&v, &e);
    }
    ck_assert_uint_eq(v.len, 1000);
    ck_assert_uint_ge(v.cap, 1000);
    for (size_t i = 0; i < v.len; i++) {
        ck_assert_int_eq(v.v[i].kind, MBOX_DIRECT);
        ck_assert_uint_eq(v.v[i].to, i);
    }
    mbox_vec_free(&v);
    ck_assert_ptr_null(v.v);
    ck_assert_uint_eq(v.len, 0);
    ck_assert_uint_eq(v.cap, 0);
    mbox_vec_free(&v);                          /* freeing twice is fine */
}
END_TEST

/* Each entry owns one reference to its msg and one to its wire line. */
START_TEST(test_vec_free_drops_references)
{
    struct mbox_vec v = { 0 };
    struct msg *m = msg_new("hi\n", 3), *w = msg_new("wire\n", 5);

    msg_ref(m, 10);
    msg_ref(w, 5);
    for (int i = 0; i < 10; i++) {
        struct mbox_entry e = { .kind = MBOX_BROADCAST, .msg = m,
                                .wire = i < 5 ? w : NULL };
        mbox_vec_push(&v, &e);
    }
    ck_assert_uint_eq(refs(m), 11);
    mbox_vec_free(&v);
    ck_assert_uint_eq(refs(m), 1);
    ck_assert_uint_eq(refs(w), 1);
    msg_unref(m);
    msg_unref(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Taking and waking                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_take_moves_everything)
{
    struct mbox_vec out = { 0 };

    for (uint64_t i = 0; i < 100; i++)
        post(&mb, 0, i, 0);
    mbox_take(&mb, &out);
    ck_assert_uint_eq(out.len, 100);
    for (size_t i = 0; i < out.len; i++)
        ck_assert_uint_eq(out.v[i].seq, i);
    ck_assert_uint_eq(mb.in.len, 0);
    /* The owner reuses its vector as the worker does: empty it, take
     * again.  Only what came in between arrives. */
    out.len = 0;
    post(&mb, 0, 100, 0);
    mbox_take(&mb, &out);
    ck_assert_uint_eq(out.len, 1);
    ck_assert_uint_eq(out.v[0].seq, 100);
    out.len = 0;
    mbox_take(&mb, &out);
    ck_assert_uint_eq(out.len, 0);
    mbox_vec_free(&out);
}
END_TEST

/* Entries nobody took are dropped with the mailbox, references too. */
START_TEST(test_destroy_drops_entries)
{
    struct mbox m2;
    struct msg *m = msg_new("x\n", 2);
    struct mbox_entry e = { .kind = MBOX_DIRECT, .msg = m };

    ck_assert_int_eq(mbox_init(&m2), 0);
    msg_ref(m, 1);
    mbox_lock(&m2);
    mbox_vec_push(&m2.in, &e);
    mbox_unlock(&m2, 1);
    mbox_destroy(&m2);
    ck_assert_uint_eq(refs(m), 1);
    msg_unref(m);
}
END_TEST

START_TEST(test_wake_and_clear)
{
    ck_assert(!woken(&mb, 0));
    post(&mb, 0, 1, 0);                 /* no wake asked: none */
    ck_assert(!woken(&mb, 0));
    post(&mb, 0, 2, 1);
    ck_assert(woken(&mb, 0));
    post(&mb, 0, 3, 1);                 /* wakes add up to one */
    mbox_wake(&mb);
    ck_assert(woken(&mb, 0));
    mbox_clear(&mb);
    ck_assert(!woken(&mb, 0));
    mbox_clear(&mb);                    /* nothing to clear: no wait */
    ck_assert(!woken(&mb, 0));
    mbox_wake(&mb);
    ck_assert(woken(&mb, 0));
}
END_TEST

#define POSTERS 4
#define PER_POSTER 20000

static void *
poster(void *arg)
{
    uint64_t from = (uint64_t)(uintptr_t)arg;

    for (uint64_t i = 0; i < PER_POSTER; i++)
        post(&mb, from, i, 1);
    return NULL;
}

/*
 * Posters on several threads, the owner waiting on the eventfd and
 * clearing it before it takes: nothing is lost, nothing comes twice,
 * each poster's entries come in order, and the owner never waits for an
 * entry that is already there.
 */
START_TEST(test_posters_and_owner)
{
    pthread_t t[POSTERS];
    uint64_t next[POSTERS] = { 0 };
    struct mbox_vec out = { 0 };
    size_t total = 0;

    for (int i = 0; i < POSTERS; i++)
        pthread_create(&t[i], NULL, poster, (void *)(uintptr_t)i);
    while (total < (size_t)POSTERS * PER_POSTER) {
        ck_assert_msg(woken(&mb, H_TIMEOUT_MS), "owner not woken with %zu "
                      "of %d entries taken", total, POSTERS * PER_POSTER);
        mbox_clear(&mb);
        out.len = 0;
        mbox_take(&mb, &out);
        for (size_t i = 0; i < out.len; i++) {
            uint64_t from = out.v[i].from;
            ck_assert_uint_lt(from, POSTERS);
            ck_assert_uint_eq(out.v[i].seq, next[from]);
            next[from]++;
        }
        total += out.len;
    }
    for (int i = 0; i < POSTERS; i++)
        pthread_join(t[i], NULL);
    out.len = 0;
    mbox_take(&mb, &out);
    ck_assert_uint_eq(out.len, 0);
    mbox_vec_free(&out);
}
END_TEST

static Suite *
mbox_suite(void)
{
    Suite *s = suite_create("mbox");
    TCase *tc = h_tcase(s, "Vector", NULL, NULL, 0);

    tcase_add_test(tc, test_vec_push_keeps_order);
    tcase_add_test(tc, test_vec_free_drops_references);
    tc = h_tcase(s, "Mailbox", setup, teardown, 0);
    tcase_add_test(tc, test_take_moves_everything);
    tcase_add_test(tc, test_destroy_drops_entries);
    tcase_add_test(tc, test_wake_and_clear);
    tc = h_tcase(s, "Threads", setup, teardown, 60);
    tcase_add_test(tc, test_posters_and_owner);
    return s;
}

int
main(void)
{
    return h_run_suite(mbox_suite());
}
