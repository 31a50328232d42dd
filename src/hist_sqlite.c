/*
 * hist_sqlite.c: the history store (histstore.h) in one SQLite database,
 * STATE_DIR/history.db, apart from the accounts' chatd.db so that the
 * two threads that write them never wait for each other's locks.  WAL
 * mode with synchronous = NORMAL: a committed batch is in the file (the
 * operating system's cache) when the commit returns, so killing chatd
 * loses nothing committed; a power cut may lose what was committed
 * since the last checkpoint.  Prepared statements only.  The history
 * thread only.
 *
 * Schema version (PRAGMA user_version) 1: lines (room, boot, seq, at,
 * line) in insertion order (id), indexed by (room, id); marks (where an
 * account last left a room); boots (one row per start of chatd).
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "histstore.h"
#include "msg.h"
#include "sqlrun.h"
#include "store.h"
#include "xmalloc.h"

#define HIST_FILE    "history.db"
#define HIST_VERSION 1

enum { Q_INSERT, Q_TRIM, Q_SELECT, Q_MARK, Q_LEFT, Q_BOOT, Q_N };

static const char *const queries[Q_N] = {
    [Q_INSERT] = "INSERT INTO lines (room, boot, seq, at, line) "
                 "VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_TRIM] = "DELETE FROM lines WHERE room = ?1 AND id <= (SELECT id "
               "FROM lines WHERE room = ?1 ORDER BY id DESC LIMIT 1 "
               "OFFSET ?2)",
    [Q_SELECT] = "SELECT at, line FROM lines WHERE room = ?1 AND "
                 "(boot < ?2 OR (boot = ?2 AND seq < ?3)) AND "
                 "(?4 = 0 OR boot > ?5 OR (boot = ?5 AND seq >= ?6)) "
                 "ORDER BY id DESC LIMIT ?7",
    [Q_MARK] = "INSERT INTO marks (account, room, boot, seq) VALUES "
               "(?1, ?2, ?3, ?4) ON CONFLICT (account, room) DO UPDATE "
               "SET boot = ?3, seq = ?4",
    [Q_LEFT] = "SELECT boot, seq FROM marks WHERE account = ?1 AND "
               "room = ?2",
    [Q_BOOT] = "INSERT INTO boots (started) VALUES (?1)",
};

static const char schema_v1[] =
    "BEGIN;"
    "CREATE TABLE lines (id INTEGER PRIMARY KEY, room TEXT NOT NULL, "
    "  boot INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, "
    "  line BLOB NOT NULL);"
    "CREATE INDEX lines_room ON lines (room, id);"
    "CREATE TABLE marks (account TEXT NOT NULL, room TEXT NOT NULL, "
    "  boot INTEGER NOT NULL, seq INTEGER NOT NULL, "
    "  PRIMARY KEY (account, room)) WITHOUT ROWID;"
    "CREATE TABLE boots (boot INTEGER PRIMARY KEY, "
    "  started INTEGER NOT NULL);"
    "PRAGMA user_version = 1;"
    "COMMIT;";

struct hsq {
    struct histstore h;
    sqlite3         *db;
    sqlite3_stmt    *q[Q_N];
};

static int
fail(struct hsq *s, const char *what)
{
    return sqlrun_fail(s->db, s->h.err, sizeof(s->h.err), what);
}

/* Run q to its end; 0, or -1 with the error noted. */
static int
done(struct hsq *s, sqlite3_stmt *q, const char *what)
{
    return sqlrun_done(s->db, q, s->h.err, sizeof(s->h.err), what);
}

static void
bind_pos(sqlite3_stmt *q, int i, struct hist_pos p)
{
    sqlite3_bind_int64(q, i, (sqlite3_int64)p.boot);
    sqlite3_bind_int64(q, i + 1, (sqlite3_int64)p.seq);
}

static int
insert(struct hsq *s, const struct hist_line *l)
{
    sqlite3_stmt *q = s->q[Q_INSERT];
    size_t len = l->m->len > 0 ? l->m->len - 1 : 0;    /* no newline */

    sqlite3_bind_text(q, 1, l->room, -1, SQLITE_STATIC);
    bind_pos(q, 2, l->pos);
    sqlite3_bind_int64(q, 4, l->at);
    sqlite3_bind_blob(q, 5, l->m->data, (int)len, SQLITE_STATIC);
    return done(s, q, "writing a line");
}

static int
trim(struct hsq *s, const char *room, long keep)
{
    sqlite3_stmt *q = s->q[Q_TRIM];

    sqlite3_bind_text(q, 1, room, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, keep);
    return done(s, q, "trimming a room");
}

/* Trim every room of v once: a set of the rooms seen (open addressing
 * over 2n slots), since one batch may interleave many rooms. */
static int
trim_rooms(struct hsq *s, const struct hist_line *v, size_t n, long keep)
{
    size_t cap = 2 * n, rc = 0;
    const char **set = xcalloc(cap, sizeof(*set));

    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t h = 5381;
        for (const char *p = v[i].room; *p; p++)
            h = h * 33 + (unsigned char)*p;
        for (h %= cap; set[h] && strcmp(set[h], v[i].room) != 0;
             h = (h + 1) % cap)
            ;
        if (set[h] == NULL) {
            set[h] = v[i].room;
            rc = trim(s, v[i].room, keep) < 0;
        }
    }
    free(set);
    return rc ? -1 : 0;
}

static int
hsq_write(struct histstore *h, const struct hist_line *v, size_t n,
          long keep)
{
    struct hsq *s = (struct hsq *)h;

    if (n == 0)
        return 0;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, "starting a batch");
    for (size_t i = 0; i < n; i++)
        if (insert(s, &v[i]) < 0)
            goto undo;
    if (trim_rooms(s, v, n, keep) < 0)
        goto undo;
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    fail(s, "committing a batch");
undo:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* Row text of length len as a line: the newline put back. */
static struct msg *
row_line(const void *text, size_t len)
{
    char *buf = xmalloc(len + 1);
    struct msg *m;

    memcpy(buf, text, len);
    buf[len] = '\n';
    m = msg_new(buf, len + 1);
    free(buf);
    return m;
}

static int
hsq_select(struct histstore *h, const struct hist_query *qy,
           struct hist_rows *out)
{
    struct hsq *s = (struct hsq *)h;
    sqlite3_stmt *q = s->q[Q_SELECT];
    int rc;

    memset(out, 0, sizeof(*out));
    if (qy->max == 0)
        return 0;
    out->v = xcalloc(qy->max, sizeof(*out->v));
    out->t = xcalloc(qy->max, sizeof(*out->t));
    sqlite3_bind_text(q, 1, qy->room, -1, SQLITE_STATIC);
    bind_pos(q, 2, qy->before);
    sqlite3_bind_int(q, 4, qy->has_after);
    bind_pos(q, 5, qy->after);
    sqlite3_bind_int64(q, 7, (sqlite3_int64)qy->max);
    /* Newest first from the index; stored oldest first. */
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && out->n < qy->max) {
        size_t k = qy->max - 1 - out->n++;
        out->t[k] = sqlite3_column_int64(q, 0);
        out->v[k] = row_line(sqlite3_column_blob(q, 1),
                             (size_t)sqlite3_column_bytes(q, 1));
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (out->n < qy->max) {         /* move them to the front */
        memmove(out->v, out->v + (qy->max - out->n),
                out->n * sizeof(*out->v));
        memmove(out->t, out->t + (qy->max - out->n),
                out->n * sizeof(*out->t));
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return 0;
    hist_rows_free(out);
    return fail(s, "reading the history");
}

static int
hsq_mark(struct histstore *h, const char *account, const char *room,
         struct hist_pos pos)
{
    struct hsq *s = (struct hsq *)h;
    sqlite3_stmt *q = s->q[Q_MARK];

    sqlite3_bind_text(q, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, room, -1, SQLITE_STATIC);
    bind_pos(q, 3, pos);
    return done(s, q, "noting where a user left");
}

static int
hsq_left(struct histstore *h, const char *account, const char *room,
         struct hist_pos *pos)
{
    struct hsq *s = (struct hsq *)h;
    sqlite3_stmt *q = s->q[Q_LEFT];
    int rc, found = 0;

    sqlite3_bind_text(q, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, room, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        pos->boot = (uint64_t)sqlite3_column_int64(q, 0);
        pos->seq = (uint64_t)sqlite3_column_int64(q, 1);
        found = 1;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, "reading where a user left");
    return found;
}

static void
hsq_close(struct histstore *h)
{
    struct hsq *s = (struct hsq *)h;

    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s);
}

static const struct histstore_ops hsq_ops = {
    hsq_write, hsq_select, hsq_mark, hsq_left, hsq_close
};

/* The schema, made in a new file; a newer one is refused.  0 or -1. */
static int
check_schema(struct hsq *s, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    int version = -1;

    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) ==
        SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version < 0 || version > HIST_VERSION) {
        snprintf(err, errlen, version < 0 ? "%s: not a database chatd "
                 "can read" : "%s: made by a newer chatd: left unchanged",
                 path);
        return -1;
    }
    if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        (version == 0 &&
         sqlite3_exec(s->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK)) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Prepare the statements and take this start's boot number. */
static int
prepare(struct hsq *s, const char *path, char *err, size_t errlen)
{
    for (int i = 0; i < Q_N; i++)
        if (sqlite3_prepare_v3(s->db, queries[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &s->q[i],
                               NULL) != SQLITE_OK)
            goto bad;
    sqlite3_bind_int64(s->q[Q_BOOT], 1, (sqlite3_int64)time(NULL));
    if (done(s, s->q[Q_BOOT], "boot") < 0)
        goto bad;
    s->h.boot = (uint64_t)sqlite3_last_insert_rowid(s->db);
    return 0;
bad:
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
    return -1;
}

/* Open (made if need be) DIR/history.db: 0 with *out, or -1 with err. */
int
hist_sqlite_open(const char *dir, struct histstore **out, char *err,
                 size_t errlen)
{
    char path[4200];
    struct hsq *s;

    if (store_sqlite_path(dir, HIST_FILE, path, sizeof(path), err,
                          errlen) < 0)
        return -1;
    s = xcalloc(1, sizeof(*s));
    s->h.ops = &hsq_ops;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        hsq_close(&s->h);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (check_schema(s, path, err, errlen) < 0 ||
        prepare(s, path, err, errlen) < 0) {
        hsq_close(&s->h);
        return -1;
    }
    *out = &s->h;
    return 0;
}
