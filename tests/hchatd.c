/*
 * hchatd.c: the chatd a TCase's tests share (hchatd.h): started and
 * stopped by the fixture in the parent process, joined and read by the
 * tests in their forked children, each on its one thread.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "hchatd.h"

struct hserver srv;
char line[70000];

void
start(const char *const *args)
{
    ck_assert_msg(hserver_start(&srv, args) == 0, "chatd did not start");
}

void
stop(void)
{
    ck_assert_int_eq(hserver_stop(&srv), 0);
}

void start_default(void) { start(NULL); }

struct hconn *
join(char *nick)
{
    struct hconn *c = hconn_join(srv.port, nick, 32);

    ck_assert_msg(c != NULL, "could not join");
    return c;
}

/* Join and take a nickname. */
struct hconn *
join_as(const char *nick)
{
    struct hconn *c = join(NULL);

    ck_assert_msg(hconn_nick(c, nick), "could not take nick %s", nick);
    return c;
}

/* A line containing want must arrive; it is left in line. */
void
expect(struct hconn *c, const char *want)
{
    h_expect(c, want, line, sizeof(line));
}

/* Other clients of the shared server come and go and rename. */
static int
background_notice(const char *l)
{
    return strncmp(l, "*** ", 4) == 0 && strncmp(l, "*** error", 9) != 0 &&
           (strstr(l, " has joined") || strstr(l, " has left (") ||
            strstr(l, " is now known as "));
}

/* The next line, other clients' join/leave/rename notices aside, must be
 * exactly want. */
void
next_is(struct hconn *c, const char *want)
{
    int rc;

    do
        rc = hconn_line(c, line, sizeof(line), T);
    while (rc == 1 && background_notice(line) && !background_notice(want));
    ck_assert_msg(rc == 1, "expected \"%s\", got %s", want,
                  rc == 0 ? "timeout" : "EOF");
    if (strncmp(want, H_STAMP, 4) == 0)
        ck_assert_msg(h_stamped_is(line, want), "expected \"%s\", got "
                      "\"%s\"", want, line);
    else
        ck_assert_str_eq(line, want);
}
