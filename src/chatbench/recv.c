/*
 * recv.c: chatbench's receiving side: reading a connection, framing chat
 * lines and RESP replies, and accounting for every payload that arrives
 * (delivered, duplicated, reordered, corrupt, its latency, its sender's
 * window).  Called from chatbench's only thread.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "btls.h"
#include "payload.h"
#include "resp.h"
#include "bws.h"
#include "run.h"
#include "xmalloc.h"

#define REST_MAX (PAYLOAD_MAX + 4096)   /* longest partial frame kept */

/*
 * Make t's bitmap hold sequence number seq, at least doubling it.  Only
 * -D without -r needs this: the other modes size every bitmap up front.
 */
static void
track_grow(struct track *t, uint32_t seq)
{
    size_t words = (size_t)t->words * 2;

    if (words < (size_t)seq / 64 + 1)
        words = (size_t)seq / 64 + 1;
    if (words < 16)
        words = 16;
    t->seen = xrealloc(t->seen, words * sizeof(uint64_t));
    memset(t->seen + t->words, 0, (words - t->words) * sizeof(uint64_t));
    t->words = (uint32_t)words;
}

/*
 * Account for one payload that reached receiver rx at time now: check
 * it, then count it as delivered, duplicated (or echoed to its own
 * sender), reordered, corrupt or misrouted (its sender is in another
 * room); record its latency; open its sender's window if rx is the
 * sender's ack receiver.
 */
static void
deliver(uint32_t rx, const char *text, size_t len, uint64_t now)
{
    struct payload p;
    struct sender *s;
    struct track *t;
    uint64_t bit;

    if (payload_decode(text, len, (size_t)bench.conf->size, &p) < 0 ||
        p.sender >= bench.nsnd || p.seq >= bench.snd[p.sender].total) {
        bench.res->corrupt++;
        return;
    }
    s = &bench.snd[p.sender];
    if (bench.conn[s->conn].room != bench.conn[rx].room) {
        bench.res->misrouted++;
        return;
    }
    t = &bench.track[(size_t)rx * bench.nsnd + p.sender];
    if (p.seq / 64 >= t->words)
        track_grow(t, p.seq);
    bit = (uint64_t)1 << (p.seq % 64);
    if (!bench.sending ||
        (bench.conf->proto == BENCH_CHAT && s->conn == rx) ||
        (t->seen[p.seq / 64] & bit)) {
        bench.res->dup++;
        return;
    }
    t->seen[p.seq / 64] |= bit;
    if (p.seq < t->high)
        bench.res->reordered++;
    else
        t->high = p.seq + 1;
    bench.res->delivered++;
    hist_record(&bench.res->lat, now > p.t_ns ? now - p.t_ns : 0);
    bench.last_delivery = bench.last_progress = now;
    if (rx == s->ack_rx) {
        s->acked++;
        if (bench.conf->rate == 0)
            send_later(s);
    }
}

/* Note an error line or reply from the server; fatal during set-up. */
static void
server_error(struct conn *c, const char *text, size_t len)
{
    if (c->state == C_JOINING) {
        bench_fail("server refused /join #cb%u of connection %zu: %.*s",
                   c->room, (size_t)(c - bench.conn),
                   (int)(len > 200 ? 200 : len), text);
        return;
    }
    if (c->state != C_READY) {
        bench_fail("server refused connection %zu: %.*s",
                   (size_t)(c - bench.conn), (int)(len > 200 ? 200 : len),
                   text);
        return;
    }
    if (bench.res->server_errors++ == 0) {
        watch_end_line();
        fprintf(stderr, "chatbench: server: %.*s\n",
                (int)(len > 200 ? 200 : len), text);
    }
}

/* The greeting (or, with rooms, the /join answer) arrived: c is ready. */
static void
conn_ready(struct conn *c)
{
    c->state = C_READY;
    bench.pending--;
    bench.res->connected++;
}

/* Chat: the greeting arrived; join c's room, or c is ready. */
static void
conn_greeted(struct conn *c)
{
    char line[32];
    int n;

    if (bench.conf->rooms == 0) {
        conn_ready(c);
        return;
    }
    n = snprintf(line, sizeof(line), "/join #cb%u\n", c->room);
    memcpy(out_reserve(c, (size_t)n), line, (size_t)n);
    c->out_len += (size_t)n;
    c->state = C_JOINING;
    conn_flush(c);
}

/*
 * The index N of a room name "#cbN" (any case) of exactly len bytes, or
 * -1 if name is not one of chatbench's rooms.
 */
static long
room_index(const char *name, size_t len)
{
    long v = 0;

    if (len < 4 || len > 9 || strncasecmp(name, "#cb", 3) != 0)
        return -1;
    for (size_t i = 3; i < len; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

/*
 * Chat: strip the "#room " prefix of a room line from *line (of *n
 * bytes).  Returns 1 if the line belongs where c's payloads come from
 * (its room with --rooms, the default room without), 0 if not.
 */
static int
strip_room(const struct conn *c, char **line, size_t *n)
{
    char *sp;
    long r;

    if (*n == 0 || (*line)[0] != '#')
        return bench.conf->rooms == 0;
    if ((sp = memchr(*line, ' ', *n)) == NULL)
        return 0;
    r = room_index(*line, (size_t)(sp - *line));
    *n -= (size_t)(sp - *line) + 1;
    *line = sp + 1;
    return bench.conf->rooms > 0 && r == (long)c->room;
}

/*
 * Chat: a "*** " notice (after its room prefix, if any).  An error is
 * the server's; the first notice greets; with rooms, "*** you joined
 * #cbN:" answers c's /join.  Other notices are ignored.
 */
static void
chat_notice(struct conn *c, const char *line, size_t n)
{
    static const char joined[] = "*** you joined ";
    size_t jl = sizeof(joined) - 1;
    const char *colon;

    if (n >= 11 && memcmp(line + 4, "error:", 6) == 0) {
        server_error(c, line, n);
    } else if (c->state == C_HELLO) {
        conn_greeted(c);
    } else if (c->state == C_JOINING && n > jl &&
               memcmp(line, joined, jl) == 0 &&
               (colon = memchr(line + jl, ':', n - jl)) != NULL &&
               room_index(line + jl, (size_t)(colon - line - jl)) ==
               (long)c->room) {
        conn_ready(c);
    }
}

/*
 * Chat: consume the complete lines in buf.  A line of a room other than
 * the default one starts with "#room ".  "*** " notices go to
 * chat_notice(); "<nick> text" carries a payload, misrouted if it comes
 * from a room the receiver is not in; other lines (actions, private
 * messages) are ignored.  Returns the bytes used.
 */
static size_t
chat_input(struct conn *c, char *buf, size_t len, uint64_t now)
{
    size_t pos = 0;
    char *nl;

    while (pos < len && (nl = memchr(buf + pos, '\n', len - pos)) != NULL) {
        char *line = buf + pos;
        size_t n = (size_t)(nl - line);
        int here;
        pos += n + 1;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        here = strip_room(c, &line, &n);
        if (n >= 4 && memcmp(line, "*** ", 4) == 0) {
            chat_notice(c, line, n);
        } else if (n > 0 && line[0] == '<') {
            char *gt = memchr(line, '>', n);
            if (!here)
                bench.res->misrouted++;
            else if (gt != NULL && (size_t)(gt - line) + 1 < n &&
                     gt[1] == ' ')
                deliver(c->rx, gt + 2, n - (size_t)(gt - line) - 2, now);
            else
                bench.res->corrupt++;
        }
        if (bench.failed)
            break;
    }
    return pos;
}

/*
 * Redis: consume the complete replies in buf.  A subscriber is ready on
 * its "subscribe" confirmation and then gets "message" arrays; a
 * publisher is ready on PONG and then gets one integer per PUBLISH.
 * Returns the bytes used, or -1 on a protocol error.
 */
static long
redis_input(struct conn *c, char *buf, size_t len, uint64_t now)
{
    size_t pos = 0;
    struct resp_reply r;
    long n;

    while (pos < len && (n = resp_parse(buf + pos, len - pos, &r)) > 0) {
        const char *start = buf + pos;
        pos += (size_t)n;
        if (r.type == RESP_ERROR) {
            server_error(c, start, (size_t)n - 2);
        } else if (r.type == RESP_ARRAY && r.n == 3 &&
                   resp_item_is(&r.item[0], "message") &&
                   r.item[2].type == RESP_BULK) {
            if (!c->is_pub)
                deliver(c->rx, r.item[2].str, r.item[2].len, now);
        } else if (c->state == C_HELLO) {
            if ((r.type == RESP_ARRAY && r.n == 3 &&
                 resp_item_is(&r.item[0], "subscribe")) ||
                (r.n == 1 && resp_item_is(&r.item[0], "PONG")))
                conn_ready(c);
        }
        if (bench.failed)
            break;
    }
    if (pos < len && resp_parse(buf + pos, len - pos, &r) < 0)
        return -1;
    return (long)pos;
}

/*
 * Over TLS: read records until the socket has no more or the buffer is
 * nearly full, and what OpenSSL has decrypted beyond them (epoll would
 * not report it).  Returns as read() does; bytes read before an end or
 * an error come first, the end on the next call.
 */
static ssize_t
tls_fill(struct conn *c, char *buf, size_t cap)
{
    ssize_t n, got = 0;

    do {
        n = btls_read(c, buf + got, cap - (size_t)got);
        if (n > 0)
            got += n;
    } while (n > 0 && (cap - (size_t)got >= 16384 || btls_pending(c) > 0)
             && (size_t)got < cap);
    if (got > 0)
        return got;
    return n;
}

/*
 * c is readable: read once into the shared buffer (after c's partial
 * frame), hand complete lines or replies to the protocol, and keep the
 * remainder.  Level-triggered epoll calls again if more is waiting.
 */
void
recv_read(struct conn *c)
{
    size_t have = c->rest_len;
    ssize_t n;
    long used;

    if (have > 0)
        memcpy(bench.rbuf, c->rest, have);
    if (c->ssl != NULL)
        n = tls_fill(c, bench.rbuf + have, RBUF_SIZE - have);
    else
        do
            n = read(c->fd, bench.rbuf + have, RBUF_SIZE - have);
        while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        conn_lost(c, n == 0 ? "closed by the server" : strerror(errno));
        return;
    }
    bench.last_input = bench_now_ns();
    have += (size_t)n;
    if (bench.conf->ws) {
        size_t lines;
        long raw = bws_input(c, bench.rbuf, have, &lines);
        if (raw < 0 || c->state == C_CLOSED)
            return;
        used = (long)chat_input(c, bench.rbuf, lines, bench.last_input);
        used = (size_t)used == lines ? raw : -1;
    } else if (bench.conf->proto == BENCH_CHAT)
        used = (long)chat_input(c, bench.rbuf, have, bench.last_input);
    else
        used = redis_input(c, bench.rbuf, have, bench.last_input);
    if (used < 0 || have - (size_t)used > REST_MAX) {
        bench.res->corrupt++;
        conn_lost(c, used < 0 ? "protocol error" : "line too long");
        return;
    }
    c->rest_len = have - (size_t)used;
    if (c->rest_len > 0) {
        c->rest = xrealloc(c->rest, c->rest_len);
        memcpy(c->rest, bench.rbuf + used, c->rest_len);
    } else {
        free(c->rest);
        c->rest = NULL;
    }
}

/*
 * Build the delivery records, one per receiver and sender: a bitmap of
 * each sender's total (sender 0 has the most) for a pair in one room, or,
 * with -D alone, empty ones that grow as messages arrive.  Pairs in
 * different rooms never get a payload (deliver() says misrouted).
 */
void
recv_setup(void)
{
    size_t pairs = (size_t)bench.conf->clients * bench.nsnd;
    uint32_t words = 0;

    if (bench.nsnd == 0)
        return;
    if (!bench.conf->timed)
        words = (bench.snd[0].total + 63) / 64;
    bench.track = xcalloc(pairs, sizeof(*bench.track));
    for (size_t i = 0; i < pairs && words > 0; i++) {
        if ((i / bench.nsnd) % bench.nroom != (i % bench.nsnd) % bench.nroom)
            continue;
        bench.track[i].seen = xcalloc(words, sizeof(uint64_t));
        bench.track[i].words = words;
    }
}

/* Free what recv_setup() built. */
void
recv_free(void)
{
    if (bench.track != NULL)
        for (size_t i = 0; i < (size_t)bench.conf->clients * bench.nsnd;
             i++)
            free(bench.track[i].seen);
    free(bench.track);
}
