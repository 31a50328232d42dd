/*
 * histrows.c: freeing what the history thread hands out (rows of lines,
 * replay answers), apart from the thread itself so that the mailbox can
 * free an answer nobody took.  Any thread: whoever holds them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "msg.h"

void
hist_rows_free(struct hist_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        msg_unref(r->v[i]);
    free(r->v);
    free(r->t);
    memset(r, 0, sizeof(*r));
}

void
history_answer_free(struct hist_answer *a)
{
    if (a == NULL)
        return;
    hist_rows_free(&a->rows);
    free(a);
}
