/*
 * client.c: a connection's state and output path.  Owner worker thread
 * only; nothing here locks.
 *
 * Output: a client's replies (the server's lines for it alone: answers,
 * errors, the welcome, long replies a chunk at a time) wait in its own
 * ring of references and go out first.  Everything else, broadcasts and
 * other users' private lines, the worker appends once to its sendlog (see
 * sendlog.h); a client sends from its cursor and passes over lines that
 * are not for it (its own broadcasts, other clients' direct lines,
 * broadcasts from before it joined).  One write of the client's
 * transport (transport.h: writev() on TCP, one coalesced record on TLS)
 * carries as many lines of both as the socket takes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "client.h"
#include "msg.h"
#include "sendlog.h"
#include "wrooms.h"
#include "transport.h"
#include "xmalloc.h"

#define CLIENT_IOV 256          /* lines per write */

/* A new client for a transport on a connected, non-blocking socket; the
 * client owns it from now on. */
struct client *
client_new(struct transport *tp, uint64_t id, size_t max_line)
{
    struct client *c = xcalloc(1, sizeof(*c));
    int fd = tp->fd;

    c->tp = tp;
    c->fd = fd;
    c->id = id;
    linebuf_init(&c->in, max_line);
    if (tport_peer(tp) != NULL)
        snprintf(c->addr, sizeof(c->addr), "%s", tport_peer(tp));
    else
        net_peer_string(fd, c->addr, sizeof(c->addr));
    return c;
}

/* Free c and close its transport (and socket).  Its sendlog entries
 * must be passed and its feed freed. */
void
client_free(struct client *c)
{
    tport_close(c->tp);
    for (size_t i = 0; i < c->rq_len; i++)
        msg_unref(c->rq[(c->rq_head + i) & (c->rq_cap - 1)]);
    free(c->rq);
    free(c->rooms);
    linebuf_free(&c->in);
    free(c);
}

/* Queue m (one reference, given away) as a reply to c. */
void
client_reply(struct client *c, struct msg *m)
{
    if (c->rq_len == c->rq_cap) {
        size_t cap = c->rq_cap ? c->rq_cap * 2 : 16;
        struct msg **rq = xmalloc(cap * sizeof(*rq));
        for (size_t i = 0; i < c->rq_len; i++)
            rq[i] = c->rq[(c->rq_head + i) & (c->rq_cap - 1)];
        free(c->rq);
        c->rq = rq;
        c->rq_cap = cap;
        c->rq_head = 0;
    }
    c->rq[(c->rq_head + c->rq_len++) & (c->rq_cap - 1)] = m;
    c->rq_bytes += m->len;
}

/* Gather up to max iovecs of c's replies; returns how many. */
static size_t
gather_replies(struct client *c, struct iovec *iov, size_t max,
               size_t *total)
{
    size_t n = 0;

    for (; n < c->rq_len && n < max; n++) {
        struct msg *m = c->rq[(c->rq_head + n) & (c->rq_cap - 1)];
        uint32_t off = n == 0 ? c->rq_off : 0;
        iov[n].iov_base = m->data + off;
        iov[n].iov_len = m->len - off;
        *total += iov[n].iov_len;
    }
    return n;
}

/*
 * Account for n bytes written of c's replies; returns the bytes of n left
 * over for the log, and adds the replies completed to *done.
 */
static size_t
advance_replies(struct client *c, size_t n, uint64_t *done)
{
    while (c->rq_len > 0) {
        struct msg *m = c->rq[c->rq_head];
        size_t left = m->len - c->rq_off;
        if (n < left) {
            c->rq_off += (uint32_t)n;
            c->rq_bytes -= n;
            return 0;
        }
        n -= left;
        c->rq_bytes -= left;
        c->rq_off = 0;
        c->rq_head = (c->rq_head + 1) & (c->rq_cap - 1);
        c->rq_len--;
        msg_unref(m);
        (*done)++;
    }
    return n;
}

/*
 * Entries trimmed from the log were never c's to send: each entry c had
 * to pass kept its pending count above zero until c passed it.  So a
 * cursor left behind the tail (c was not flushed while other clients'
 * direct lines came and went) moves up to it, and never reads a slot the
 * ring has reused.
 */
static void
catch_up(struct client *c, struct sendlog *log)
{
    if (c->cur < log->tail) {
        c->cur = log->tail;
        c->off = 0;
    }
}

/* Is log entry e for c?  (Entry i; the one at the cursor, begun, is.) */
static int
relevant(const struct client *c, const struct sendlog_entry *e, uint64_t i)
{
    const struct wmember *m;

    if (i == c->cur && c->off > 0)
        return 1;
    if (e->to != 0)
        return e->to == c->id;
    if (e->from == c->id)
        return 0;
    if (e->room == 0)
        return e->seq >= c->join_seq;
    m = wrooms_member(c, e->room);
    return m != NULL && m->join_seq <= e->seq;
}

/*
 * Was c counted in entry i's pending (and owed) when it was logged?
 * Everyone for a line to everyone, the recipient for a private one, the
 * members from before it for a room's line (client_count()); a line
 * being sent is its recipient's still.
 */
static int
counted(const struct client *c, const struct sendlog_entry *e, uint64_t i)
{
    const struct wmember *m;

    if (i == c->cur && c->off > 0)
        return 1;
    if (e->to != 0)
        return e->to == c->id;
    if (e->room == 0)
        return 1;
    m = wrooms_member(c, e->room);
    return m != NULL && m->join_seq <= e->seq;
}

/* c must pass entry e before it can go: count it (the worker, as it
 * logs e, for each client counted()). */
void
client_count(struct client *c, struct sendlog_entry *e)
{
    e->pending++;
    c->owed += e->msg->len;
}

/* Move c's cursor past entry e, releasing c's hold on it. */
static void
pass(struct client *c, struct sendlog_entry *e)
{
    if (counted(c, e, c->cur)) {
        e->pending--;
        c->owed -= e->msg->len;
    }
    c->cur++;
    c->off = 0;
}

/*
 * c leaves room `room` (joined at join_seq): release the room's lines it
 * was counted for and has not begun to send; it will pass them without
 * sending.  Call before the membership goes.
 */
void
client_release_room(struct client *c, struct sendlog *log, uint32_t room,
                    uint64_t join_seq)
{
    catch_up(c, log);
    for (uint64_t i = c->cur + (c->off > 0); i < log->head; i++) {
        struct sendlog_entry *e = sendlog_at(log, i);
        if (e->to == 0 && e->room == room && join_seq <= e->seq) {
            e->pending--;
            c->owed -= e->msg->len;
        }
    }
}

/*
 * Account for n bytes written from the cursor on: pass every line fully
 * sent and every line not for c up to the first one still unsent.
 * Returns how many lines were completed.
 */
static uint64_t
advance(struct client *c, struct sendlog *log, size_t n)
{
    uint64_t done = 0;

    while (c->cur < log->head) {
        struct sendlog_entry *e = sendlog_at(log, c->cur);
        if (!relevant(c, e, c->cur)) {
            pass(c, e);
            continue;
        }
        size_t left = e->msg->len - c->off;
        if (n < left) {
            c->off += (uint32_t)n;
            break;
        }
        n -= left;
        pass(c, e);
        done++;
    }
    return done;
}

/*
 * Write what c has pending, batching up to CLIENT_IOV lines per write,
 * until it is all sent or the socket is full (then c->blocked is set and
 * the caller waits for EPOLLOUT).  Adds what was sent to *lines and
 * *bytes.  Returns 0, or -1 with errno set on a write error.
 */
int
client_flush(struct client *c, struct sendlog *log, uint64_t *lines,
             uint64_t *bytes)
{
    struct iovec iov[CLIENT_IOV];

    catch_up(c, log);
    while (!c->blocked) {
        size_t total = 0, niov = 0, begun = 0, left;
        uint64_t i = c->cur, done = 0;

        /* A log line begun goes out first: no reply may land inside it. */
        if (c->off > 0) {
            struct sendlog_entry *e = sendlog_at(log, c->cur);
            iov[0].iov_base = e->msg->data + c->off;
            iov[0].iov_len = begun = e->msg->len - c->off;
            total = begun;
            niov = 1;
            i++;
        }
        niov += gather_replies(c, iov + niov, CLIENT_IOV - niov, &total);
        /* Live lines wait while a replay is on its way (wreplay.c). */
        for (; !c->replaying && i < log->head && niov < CLIENT_IOV; i++) {
            struct sendlog_entry *e = sendlog_at(log, i);
            if (!relevant(c, e, i))
                continue;
            iov[niov].iov_base = e->msg->data;
            iov[niov].iov_len = e->msg->len;
            total += iov[niov].iov_len;
            niov++;
        }
        if (niov == 0) {
            advance(c, log, 0);         /* pass what is not for c */
            return 0;
        }
        ssize_t n = tport_writev(c->tp, iov, (int)niov);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->blocked = 1;
                return 0;
            }
            return -1;
        }
        *bytes += (uint64_t)n;
        left = (size_t)n;
        if (begun > 0 && left < begun) {
            c->off += (uint32_t)left;
            left = 0;
        } else if (begun > 0) {
            left -= begun;
            pass(c, sendlog_at(log, c->cur));
            done++;
        }
        left = advance_replies(c, left, &done);
        *lines += advance(c, log, left) + done;
        if ((size_t)n < total)
            c->blocked = 1;
    }
    return 0;
}

/* Release every sendlog entry c still holds (before freeing it). */
void
client_pass_all(struct client *c, struct sendlog *log)
{
    catch_up(c, log);
    while (c->cur < log->head)
        pass(c, sendlog_at(log, c->cur));
}

/*
 * Bytes queued for c and not yet sent: its replies, the broadcasts from
 * its cursor on (its own included, a slight overcount) and its private
 * lines, less what it has sent of the line at the cursor.
 */
uint64_t
client_backlog(struct client *c, struct sendlog *log)
{
    catch_up(c, log);
    return c->rq_bytes + c->owed - c->off;
}

/*
 * Bytes of the log, of every kind, that c keeps from being trimmed: all
 * entries from its cursor on.  Only a client with an unsent line of its
 * own (a blocked one, after a flush) keeps anything.
 */
uint64_t
client_pinned(struct client *c, struct sendlog *log)
{
    catch_up(c, log);
    return log->acum - sendlog_acum_at(log, c->cur) - c->off;
}

/*
 * Token bucket: refill at `rate` tokens per second up to `burst`, then
 * take one.  Returns 1 if a token was taken, or 0 and sets c->wake_ms to
 * when the next one is due.  rate 0 means no limit.
 */
int
client_take_token(struct client *c, int64_t now_ms, long rate, long burst)
{
    if (rate <= 0)
        return 1;
    if (now_ms > c->refill_ms) {
        c->tokens += (double)(now_ms - c->refill_ms) * (double)rate / 1000.0;
        if (c->tokens > (double)burst)
            c->tokens = (double)burst;
        c->refill_ms = now_ms;
    }
    if (c->tokens >= 1.0) {
        c->tokens -= 1.0;
        return 1;
    }
    c->wake_ms = now_ms + (int64_t)((1.0 - c->tokens) * 1000.0 /
                                    (double)rate) + 1;
    return 0;
}
