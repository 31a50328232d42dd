/*
 * hrooms.c: helpers of the rooms suites (hrooms.h).  The test's thread
 * only.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "hrooms.h"

/* c joins room (new to it) and reads the answer, lines before it aside. */
void
enter(struct hconn *c, const char *room)
{
    char want[128];

    hconn_send(c, "/join %s\n", room);
    snprintf(want, sizeof(want), "*** you joined %s: ", room);
    expect(c, want);
}

/* A client named nick, in the default room and in room (if not NULL),
 * which is its current one. */
struct hconn *
member(const char *nick, const char *room)
{
    struct hconn *c = join_as(nick);

    if (room != NULL)
        enter(c, room);
    return c;
}

/*
 * One round trip for c, whatever comes before its answer: once it is
 * back, everything c's worker published for c's earlier lines is in every
 * worker's mailbox.
 */
void
sync_with(struct hconn *c)
{
    char out[1024];

    ck_assert_msg(hconn_roundtrip(c, out, sizeof(out)) >= 0, "%s", out);
}

/* The next lines of c (background joins, leaves and renames aside, as
 * next_is() does) are want[0], want[1], ... (NULL-terminated), and then
 * nothing: a barrier proves it. */
void
want_lines(struct hconn *c, const char *const *want)
{
    for (size_t i = 0; want[i] != NULL; i++)
        next_is(c, want[i]);
    h_silent(c);
}

/* A join, leave or rename of the default room (v1, no room prefix). */
static int
v1_news(const char *l)
{
    return strncmp(l, "*** ", 4) == 0 && strncmp(l, "*** error", 9) != 0 &&
           (strstr(l, " has joined") || strstr(l, " has left") ||
            strstr(l, " is now known as "));
}

/*
 * Two round trips for c (see hconn_barrier()): whatever comes before
 * their answers is read and dropped, or, if strict, must be v1 news of
 * the default room (anything else fails the test).
 */
static void
two_trips(struct hconn *c, int strict)
{
    for (int i = 0; i < 2; i++) {
        int rc;

        ck_assert_int_eq(hconn_send(c, H_BARRIER_CMD "\n"), 0);
        while ((rc = hconn_line(c, line, sizeof(line), T)) == 1 &&
               strcmp(line, H_BARRIER_REPLY) != 0)
            ck_assert_msg(!strict || v1_news(line), "got \"%s\"", line);
        ck_assert_msg(rc == 1, "no answer to a round trip");
    }
}

/* Nothing but joins, leaves and renames of the default room is on its
 * way to c. */
void
quiet(struct hconn *c)
{
    two_trips(c, 1);
}

/* Read and drop all that is on its way to c (a test's setup). */
void
settle(struct hconn *c)
{
    two_trips(c, 0);
}
