/*
 * check_workq.c: unit tests of the acceptor-to-worker queue: FIFO order
 * as it grows and wraps, what closing refuses and keeps, descriptors left
 * queued closed on destroy, many producers and consumers at once.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "workq.h"

static struct workq q;

static void
setup(void)
{
    workq_init(&q);
}

static void
teardown(void)
{
    workq_destroy(&q);
}

START_TEST(test_fifo)
{
    for (int i = 100; i < 1100; i++)          /* grows past its start */
        ck_assert_int_eq(workq_push(&q, i), 0);
    for (int i = 100; i < 1100; i++)
        ck_assert_int_eq(workq_trypop(&q), i);
    ck_assert_int_eq(workq_trypop(&q), -1);
}
END_TEST

START_TEST(test_wraparound)
{
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 7; i++)
            workq_push(&q, round * 10 + i);
        for (int i = 0; i < 7; i++)
            ck_assert_int_eq(workq_trypop(&q), round * 10 + i);
    }
    ck_assert_int_eq(workq_trypop(&q), -1);
}
END_TEST

START_TEST(test_closed_refuses_push)
{
    workq_push(&q, 5);
    workq_close(&q);
    errno = 0;
    ck_assert_int_eq(workq_push(&q, 6), -1);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_int_eq(workq_trypop(&q), 5);    /* queued ones still come */
    ck_assert_int_eq(workq_trypop(&q), -1);
}
END_TEST

/* A descriptor's data (a TLS transport) comes out with it, in order,
 * across growing; a bare one comes out with NULL. */
START_TEST(test_data_travels)
{
    static char things[40];
    void *data;

    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(workq_push_data(&q, i, &things[i]), 0);
    ck_assert_int_eq(workq_push(&q, 99), 0);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(workq_trypop_data(&q, &data), i);
        ck_assert_ptr_eq(data, &things[i]);
    }
    ck_assert_int_eq(workq_trypop_data(&q, &data), 99);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(workq_trypop_data(&q, &data), -1);
}
END_TEST

/* Nobody will serve a socket still queued at the end: destroy closes it. */
START_TEST(test_destroy_closes_queued)
{
    struct workq q2;
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    workq_init(&q2);
    ck_assert_int_eq(workq_push(&q2, p[0]), 0);
    ck_assert_int_eq(workq_push(&q2, p[1]), 0);
    ck_assert_int_eq(workq_trypop(&q2), p[0]);
    workq_destroy(&q2);
    ck_assert_int_ne(fcntl(p[0], F_GETFD), -1);   /* taken: still ours */
    ck_assert_int_eq(fcntl(p[1], F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
    close(p[0]);
}
END_TEST

#define PRODUCERS 4
#define PER_PRODUCER 20000

static atomic_int producing;

static void *
producer(void *arg)
{
    int base = (int)(intptr_t)arg * PER_PRODUCER;

    for (int i = 0; i < PER_PRODUCER; i++)
        workq_push(&q, base + i);
    atomic_fetch_sub(&producing, 1);
    return NULL;
}

struct tally {
    int *seen;
    int  last[PRODUCERS];
    int  ordered;
};

/* Take what is there, as a worker does, until the producers are done
 * and the queue is empty. */
static void *
consumer(void *arg)
{
    struct tally *t = arg;

    for (int i = 0; i < PRODUCERS; i++)
        t->last[i] = -1;
    t->ordered = 1;
    for (;;) {
        int done = atomic_load(&producing) == 0;
        int fd = workq_trypop(&q);
        if (fd < 0) {
            if (done)
                break;
            sched_yield();
            continue;
        }
        int p = fd / PER_PRODUCER;
        t->seen[fd]++;
        if (fd <= t->last[p])
            t->ordered = 0;
        t->last[p] = fd;
    }
    return NULL;
}

START_TEST(test_many_producers)
{
    pthread_t prod[PRODUCERS], cons[2];
    struct tally tally[2];
    int *seen[2];

    atomic_store(&producing, PRODUCERS);
    for (int i = 0; i < 2; i++) {
        seen[i] = calloc(PRODUCERS * PER_PRODUCER, sizeof(int));
        tally[i].seen = seen[i];
        pthread_create(&cons[i], NULL, consumer, &tally[i]);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&prod[i], NULL, producer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(prod[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(cons[i], NULL);
    /* Every item exactly once; each producer's items in order per
     * consumer. */
    for (int v = 0; v < PRODUCERS * PER_PRODUCER; v++)
        ck_assert_int_eq(seen[0][v] + seen[1][v], 1);
    ck_assert(tally[0].ordered && tally[1].ordered);
    free(seen[0]);
    free(seen[1]);
}
END_TEST

static Suite *
workq_suite(void)
{
    Suite *s = suite_create("workq");
    TCase *tc = h_tcase(s, "Core", setup, teardown, 0);

    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_wraparound);
    tcase_add_test(tc, test_closed_refuses_push);
    tcase_add_test(tc, test_data_travels);
    tcase_add_test(tc, test_destroy_closes_queued);
    tc = h_tcase(s, "Threads", setup, teardown, 60);
    tcase_add_test(tc, test_many_producers);
    return s;
}

int
main(void)
{
    return h_run_suite(workq_suite());
}
