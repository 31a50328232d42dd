/*
 * check_workq.c: unit tests of the acceptor-to-worker queue: FIFO order,
 * close waking every waiter, many producers and consumers at once.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
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
    ck_assert_uint_eq(workq_len(&q), 1000);
    for (int i = 100; i < 1100; i++)
        ck_assert_int_eq(workq_pop(&q), i);
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
}
END_TEST

START_TEST(test_closed_refuses_push)
{
    workq_push(&q, 5);
    workq_close(&q);
    ck_assert_int_eq(workq_push(&q, 6), -1);
    ck_assert_int_eq(workq_pop(&q), 5);       /* queued ones still come */
    ck_assert_int_eq(workq_pop(&q), -1);
}
END_TEST

static void *
waiter(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)workq_pop(&q);
}

START_TEST(test_close_wakes_waiters)
{
    pthread_t t[8];

    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, waiter, NULL);
    usleep(50000);                           /* let them block */
    workq_close(&q);
    for (int i = 0; i < 8; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        ck_assert_int_eq((int)(intptr_t)rv, -1);
    }
}
END_TEST

#define PRODUCERS 4
#define PER_PRODUCER 20000

static void *
producer(void *arg)
{
    int base = (int)(intptr_t)arg * PER_PRODUCER;

    for (int i = 0; i < PER_PRODUCER; i++)
        workq_push(&q, base + i);
    return NULL;
}

struct tally {
    int *seen;
    int  last[PRODUCERS];
    int  ordered;
};

static void *
consumer(void *arg)
{
    struct tally *t = arg;
    int fd;

    for (int i = 0; i < PRODUCERS; i++)
        t->last[i] = -1;
    t->ordered = 1;
    while ((fd = workq_pop(&q)) >= 0) {
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

    for (int i = 0; i < 2; i++) {
        seen[i] = calloc(PRODUCERS * PER_PRODUCER, sizeof(int));
        tally[i].seen = seen[i];
        pthread_create(&cons[i], NULL, consumer, &tally[i]);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&prod[i], NULL, producer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(prod[i], NULL);
    workq_close(&q);
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
    TCase *tc = tcase_create("Core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_wraparound);
    tcase_add_test(tc, test_closed_refuses_push);
    suite_add_tcase(s, tc);

    tc = tcase_create("Threads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_close_wakes_waiters);
    tcase_add_test(tc, test_many_producers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(workq_suite());
}
