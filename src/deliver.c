/*
 * deliver.c: a worker's mailbox, emptied into its send log (part of the
 * worker module: worker_int.h).  The owning worker thread only.
 *
 * A line for everyone is logged once and every client is flushed.  A
 * room's line is logged once and only the room's members here are
 * counted and flushed: the worker walks the room's member list
 * (wrooms.c), never its other clients.  News of a user (a leave, a new
 * name) comes as one entry per room it shares with others; consecutive
 * entries with one message reach each member once.  A private line is
 * logged for its recipient alone.
 */
#include "config.h"

#include "acctcmd.h"
#include "client.h"
#include "clock.h"
#include "cluster.h"
#include "command.h"
#include "msg.h"
#include "session.h"
#include "storethr.h"
#include "worker_int.h"
#include "wreplay.h"
#include "wrooms.h"

/* The cluster's answer to a nickname claim (see command_claimed()). */
static void
claim_answered(struct worker *w, struct mbox_entry *e)
{
    struct client *c = clientset_find(&w->clients, e->to);

    if (c == NULL)
        command_claim_orphan(e->msg->data, e->result);
    else
        command_claimed(&(struct session){ w, c }, e->msg->data,
                        e->result);
    msg_unref(e->msg);
    /* A lost name is news, not the answer to a pending claim. */
    if (c != NULL && c->claiming && e->result != CLUSTER_CLAIM_LOST) {
        c->claiming = 0;
        if (!c->closing)
            worker_run_lines(w, c, clock_ms());
    }
}

/*
 * MBOX_STORE: an answer of the store thread for client e->to, or a
 * hand-off from a worker (a kick, an eviction, a new ban for all).  A
 * client that was waiting for it may read again unless the answer says
 * to wait on.
 */
static void
store_answered(struct worker *w, struct mbox_entry *e)
{
    struct client *c;

    if (e->op == STORE_OP_BANNED) {
        for (c = w->clients.first; c != NULL; c = c->next)
            acctcmd_banned(&(struct session){ w, c });
        return;
    }
    c = clientset_find(&w->clients, e->to);
    if (e->op == STORE_OP_EVICT) {
        acctcmd_evict(c ? &(struct session){ w, c } : NULL, e);
    } else if (c != NULL && !c->closing) {
        int wait = acctcmd_answer(&(struct session){ w, c }, e);
        if (c->storing && !wait && e->op != STORE_OP_KICK) {
            c->storing = 0;
            if (!c->closing)
                worker_run_lines(w, c, clock_ms());
        }
    }
    msg_unref(e->msg);
}

/* Log m (its reference passes on) for client c alone. */
static void
log_for(struct worker *w, struct client *c, struct msg *m)
{
    client_count(c, sendlog_append(&w->log, m, 0, 0, c->id, 0));
    worker_mark_dirty(w, c);
}

/* A private line for client e->to, if it is still here. */
static void
direct(struct worker *w, struct mbox_entry *e)
{
    struct client *c = clientset_find(&w->clients, e->to);

    if (c == NULL || c->closing)
        msg_unref(e->msg);
    else
        log_for(w, c, e->msg);
}

/* A line for everyone: every client here counts, all are flushed. */
static void
to_everyone(struct worker *w, struct mbox_entry *e)
{
    struct sendlog_entry *le = sendlog_append(&w->log, e->msg, e->seq,
                                              e->from, 0, 0);

    for (struct client *c = w->clients.first; c != NULL; c = c->next)
        client_count(c, le);
    w->flush_all = 1;
}

/* A room's line: its members here from before it count and are
 * flushed; nobody else is looked at. */
static void
to_room(struct worker *w, struct mbox_entry *e)
{
    struct wroom *r = wrooms_find(&w->rooms, e->room);
    struct sendlog_entry *le;

    if (r == NULL) {
        msg_unref(e->msg);
        return;
    }
    le = sendlog_append(&w->log, e->msg, e->seq, e->from, 0, e->room);
    for (struct wmember *m = r->first; m != NULL; m = m->next)
        if (m->join_seq <= e->seq) {
            client_count(m->c, le);
            worker_mark_dirty(w, m->c);     /* the sender, to pass it */
        }
}

/* News of user e->from for the members of room e->room here that have
 * not had this message yet (w->news_stamp tells). */
static void
news(struct worker *w, struct mbox_entry *e)
{
    struct wroom *r = wrooms_find(&w->rooms, e->room);

    if (e->msg != w->news_msg) {
        w->news_msg = e->msg;
        w->news_stamp++;
    }
    for (struct wmember *m = r ? r->first : NULL; m != NULL; m = m->next) {
        struct client *c = m->c;
        if (c->id == e->from || c->stamp == w->news_stamp || c->closing)
            continue;
        c->stamp = w->news_stamp;
        msg_ref(e->msg, 1);
        log_for(w, c, e->msg);
    }
    msg_unref(e->msg);
}

/* Move the mailbox's entries into the sendlog. */
void
worker_drain(struct worker *w)
{
    mbox_take(&w->mb, &w->inbox);
    for (size_t i = 0; i < w->inbox.len; i++) {
        struct mbox_entry *e = &w->inbox.v[i];

        if (e->kind != MBOX_USER)
            w->news_msg = NULL;
        switch (e->kind) {
        case MBOX_BROADCAST:
            if (e->room == 0)
                to_everyone(w, e);
            else
                to_room(w, e);
            break;
        case MBOX_USER:
            news(w, e);
            break;
        case MBOX_DIRECT:
            direct(w, e);
            break;
        case MBOX_STOP:
            worker_start_stopping(w);
            break;
        case MBOX_CONF:
            worker_conf_release(w->conf);
            w->conf = e->conf;
            break;
        case MBOX_CLAIM:
            claim_answered(w, e);
            break;
        case MBOX_STORE:
            store_answered(w, e);
            break;
        case MBOX_HISTORY:
            wreplay_answered(w, e);
            break;
        }
    }
    w->news_msg = NULL;
    w->inbox.len = 0;
}
