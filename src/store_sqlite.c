/*
 * store_sqlite.c: the store (store.h) in one SQLite database,
 * STATE_DIR/chatd.db: WAL mode (so chatd --add-account writes while the
 * daemon runs), prepared statements only, the file 0600 in a 0700
 * directory.  The schema's version is PRAGMA user_version: 0 is a new
 * file (the schema is made), 1 is this chatd's; a higher one is a newer
 * chatd's and is refused before anything is written.  One thread at a
 * time (the store thread, or main for --add-account).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sqlrun.h"
#include "store.h"
#include "xmalloc.h"

#define DB_FILE "chatd.db"

enum {
    Q_ACCT_GET, Q_ACCT_ADD, Q_ACCT_REPLACE, Q_ACCT_PASSWORD, Q_BAN_ADD,
    Q_BAN_DEL, Q_MUTE_SET, Q_MUTE_DEL, Q_BANS, Q_MUTES, Q_N
};

static const char *const queries[Q_N] = {
    [Q_ACCT_GET] = "SELECT name, hash, oper FROM accounts WHERE fold = ?1",
    [Q_ACCT_ADD] = "INSERT OR IGNORE INTO accounts (fold, name, hash, oper,"
                   " created) VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_ACCT_REPLACE] = "INSERT INTO accounts (fold, name, hash, oper, "
                       "created) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT "
                       "(fold) DO UPDATE SET name = ?2, hash = ?3, "
                       "oper = ?4",
    [Q_ACCT_PASSWORD] = "UPDATE accounts SET hash = ?3 WHERE fold = ?1",
    [Q_BAN_ADD] = "INSERT INTO bans (name, mask, until, reason, by, "
                  "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_BAN_DEL] = "DELETE FROM bans WHERE id = ?1",
    [Q_MUTE_SET] = "INSERT INTO mutes (name, until, created) VALUES "
                   "(?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET "
                   "until = ?2",
    [Q_MUTE_DEL] = "DELETE FROM mutes WHERE name = ?1",
    [Q_BANS] = "SELECT id, name, mask, until, reason, by FROM bans "
               "WHERE until = 0 OR until > ?1 ORDER BY id",
    [Q_MUTES] = "SELECT name, until FROM mutes WHERE until = 0 OR "
                "until > ?1",
};

static const char schema_v1[] =
    "BEGIN;"
    "CREATE TABLE accounts (fold TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "  hash TEXT NOT NULL, oper INTEGER NOT NULL DEFAULT 0, "
    "  created INTEGER NOT NULL);"
    "CREATE TABLE bans (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "  mask TEXT NOT NULL, until INTEGER NOT NULL, reason TEXT NOT NULL, "
    "  by TEXT NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE mutes (name TEXT PRIMARY KEY, until INTEGER NOT NULL, "
    "  created INTEGER NOT NULL);"
    "PRAGMA user_version = 1;"
    "COMMIT;";

struct sq {
    struct store  st;
    sqlite3      *db;
    sqlite3_stmt *q[Q_N];
};

static void
sq_close(struct store *st)
{
    struct sq *s = (struct sq *)st;

    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s);
}

/* Note the database's last error in st->err; returns -1. */
static int
sq_fail(struct sq *s, const char *what)
{
    return sqlrun_fail(s->db, s->st.err, sizeof(s->st.err), what);
}

/* Run a prepared statement to its end (no rows wanted); 0 or -1. */
static int
sq_done(struct sq *s, sqlite3_stmt *q, const char *what)
{
    return sqlrun_done(s->db, q, s->st.err, sizeof(s->st.err), what);
}

static void
bind_text(sqlite3_stmt *q, int i, const char *text)
{
    sqlite3_bind_text(q, i, text, -1, SQLITE_TRANSIENT);
}

static int
sq_account_get(struct store *st, const char *name, struct store_account *a)
{
    struct sq *s = (struct sq *)st;
    sqlite3_stmt *q = s->q[Q_ACCT_GET];
    char fold[PROTO_NICK_MAX + 1];
    int rc, found = 0;

    proto_nick_fold(name, fold);
    bind_text(q, 1, fold);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        snprintf(a->name, sizeof(a->name), "%s",
                 (const char *)sqlite3_column_text(q, 0));
        snprintf(a->hash, sizeof(a->hash), "%s",
                 (const char *)sqlite3_column_text(q, 1));
        a->oper = sqlite3_column_int(q, 2);
        found = 1;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(s, "reading an account");
    return found;
}

static int
sq_account_put(struct store *st, const struct store_account *a,
               enum store_put how)
{
    struct sq *s = (struct sq *)st;
    static const int which[] = { [STORE_CREATE] = Q_ACCT_ADD,
                                 [STORE_REPLACE] = Q_ACCT_REPLACE,
                                 [STORE_PASSWORD] = Q_ACCT_PASSWORD };
    sqlite3_stmt *q = s->q[which[how]];
    char fold[PROTO_NICK_MAX + 1];

    proto_nick_fold(a->name, fold);
    bind_text(q, 1, fold);
    if (how != STORE_PASSWORD) {
        bind_text(q, 2, a->name);
        sqlite3_bind_int(q, 4, a->oper);
        sqlite3_bind_int64(q, 5, (sqlite3_int64)time(NULL));
    }
    bind_text(q, 3, a->hash);
    if (sq_done(s, q, "writing an account") < 0)
        return -1;
    return sqlite3_changes(s->db) > 0;
}

static int
sq_ban_add(struct store *st, struct ban *b)
{
    struct sq *s = (struct sq *)st;
    sqlite3_stmt *q = s->q[Q_BAN_ADD];
    char mask[ACCT_MASK_STRMAX] = "";

    if (b->has_mask)
        acct_mask_format(&b->mask, mask, sizeof(mask));
    bind_text(q, 1, b->name);
    bind_text(q, 2, mask);
    sqlite3_bind_int64(q, 3, b->until);
    bind_text(q, 4, b->reason);
    bind_text(q, 5, b->by);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)time(NULL));
    if (sq_done(s, q, "writing a ban") < 0)
        return -1;
    b->id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static int
sq_ban_del(struct store *st, int64_t id)
{
    struct sq *s = (struct sq *)st;

    sqlite3_bind_int64(s->q[Q_BAN_DEL], 1, id);
    return sq_done(s, s->q[Q_BAN_DEL], "removing a ban");
}

static int
sq_mute_set(struct store *st, const struct mute *m)
{
    struct sq *s = (struct sq *)st;
    sqlite3_stmt *q = s->q[Q_MUTE_SET];

    bind_text(q, 1, m->name);
    sqlite3_bind_int64(q, 2, m->until);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
    return sq_done(s, q, "writing a mute");
}

static int
sq_mute_del(struct store *st, const char *name)
{
    struct sq *s = (struct sq *)st;

    bind_text(s->q[Q_MUTE_DEL], 1, name);
    return sq_done(s, s->q[Q_MUTE_DEL], "removing a mute");
}

/* One row of Q_BANS as a ban; -1 if its mask does not parse. */
static int
row_ban(sqlite3_stmt *q, struct ban *b)
{
    const char *mask = (const char *)sqlite3_column_text(q, 2);
    const char *why;

    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(q, 0);
    snprintf(b->name, sizeof(b->name), "%s",
             (const char *)sqlite3_column_text(q, 1));
    b->until = sqlite3_column_int64(q, 3);
    snprintf(b->reason, sizeof(b->reason), "%s",
             (const char *)sqlite3_column_text(q, 4));
    snprintf(b->by, sizeof(b->by), "%s",
             (const char *)sqlite3_column_text(q, 5));
    b->has_mask = mask != NULL && mask[0] != '\0';
    if (b->has_mask && acct_mask_parse(mask, &b->mask, &why) < 0)
        return -1;
    return 0;
}

static int
sq_load(struct store *st, int64_t now, void (*ban)(const struct ban *b),
        void (*mute)(const struct mute *m))
{
    struct sq *s = (struct sq *)st;
    sqlite3_stmt *q = s->q[Q_BANS];
    struct ban b;
    struct mute m;
    int rc;

    sqlite3_bind_int64(q, 1, now);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (row_ban(q, &b) == 0)
            ban(&b);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return sq_fail(s, "reading the bans");
    q = s->q[Q_MUTES];
    sqlite3_bind_int64(q, 1, now);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&m, 0, sizeof(m));
        snprintf(m.name, sizeof(m.name), "%s",
                 (const char *)sqlite3_column_text(q, 0));
        m.until = sqlite3_column_int64(q, 1);
        mute(&m);
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, "reading the mutes");
}

static const struct store_ops sq_ops = {
    sq_account_get, sq_account_put, sq_ban_add, sq_ban_del, sq_mute_set,
    sq_mute_del, sq_load, sq_close, NULL
};

/*
 * The directory: made 0700 if missing (its parent must exist), a
 * directory we can write.  0, or -1 with err set.
 */
static int
prepare_dir(const char *dir, char *err, size_t errlen)
{
    struct stat sb;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "state-dir %s: cannot create it: %s", dir,
                 strerror(errno));
        return -1;
    }
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "state-dir %s: not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(err, errlen, "state-dir %s: cannot write there: %s", dir,
                 strerror(errno));
        return -1;
    }
    if ((sb.st_mode & 077) != 0 && sb.st_uid == geteuid())
        chmod(dir, 0700);
    return 0;
}

/* Make the database file 0600 before SQLite opens it (its -wal and -shm
 * files take the same mode).  0, or -1 with err set. */
static int
prepare_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fchmod(fd, 0600);
    close(fd);
    return 0;
}

/*
 * DIR/FILE ready for SQLite to open: the directory made 0700 if missing,
 * the file 0600.  path gets DIR/FILE.  0, or -1 with err set.  For the
 * account store and the history store (hist_sqlite.c).
 */
int
store_sqlite_path(const char *dir, const char *file, char *path,
                  size_t pathlen, char *err, size_t errlen)
{
    if (prepare_dir(dir, err, errlen) < 0)
        return -1;
    if ((size_t)snprintf(path, pathlen, "%s/%s", dir, file) >= pathlen) {
        snprintf(err, errlen, "state-dir %s: path too long", dir);
        return -1;
    }
    return prepare_file(path, err, errlen);
}

/* The schema: made in a new file, checked in an old one.  Reads
 * user_version before writing anything.  A STORE_* code. */
static int
check_schema(struct sq *s, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    int version = -1;

    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) ==
        SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version < 0) {
        snprintf(err, errlen, "%s: not a database chatd can read: %s",
                 path, sqlite3_errmsg(s->db));
        return STORE_UNUSABLE;
    }
    if (version > STORE_VERSION) {
        snprintf(err, errlen, "%s: made by a newer chatd (schema version "
                 "%d; this chatd knows %d): refusing to use it, left "
                 "unchanged", path, version, STORE_VERSION);
        return STORE_FUTURE;
    }
    if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        (version == 0 &&
         sqlite3_exec(s->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK)) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return STORE_UNUSABLE;
    }
    return STORE_OK;
}

/*
 * Open (made if need be) DIR/chatd.db.  Returns STORE_OK with *out set,
 * or STORE_UNUSABLE or STORE_FUTURE with err saying why.
 */
int
store_sqlite_open(const char *dir, struct store **out, char *err,
                  size_t errlen)
{
    char path[4200];
    struct sq *s;
    int rc;

    if (store_sqlite_path(dir, DB_FILE, path, sizeof(path), err,
                          errlen) < 0)
        return STORE_UNUSABLE;
    s = xcalloc(1, sizeof(*s));
    s->st.ops = &sq_ops;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        sq_close(&s->st);
        return STORE_UNUSABLE;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if ((rc = check_schema(s, path, err, errlen)) != STORE_OK) {
        sq_close(&s->st);
        return rc;
    }
    for (int i = 0; i < Q_N; i++)
        if (sqlite3_prepare_v3(s->db, queries[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &s->q[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
            sq_close(&s->st);
            return STORE_UNUSABLE;
        }
    *out = &s->st;
    return STORE_OK;
}
