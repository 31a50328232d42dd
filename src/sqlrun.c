/*
 * sqlrun.c: see sqlrun.h.
 */
#include "config.h"

#include <stdio.h>

#include "sqlrun.h"

/* "WHAT: the database's last error" in err; returns -1. */
int
sqlrun_fail(sqlite3 *db, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
    return -1;
}

/* Run q to its end (no rows wanted) and make it ready again; 0, or -1
 * with err set. */
int
sqlrun_done(sqlite3 *db, sqlite3_stmt *q, char *err, size_t errlen,
            const char *what)
{
    int rc = sqlite3_step(q);

    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE ? 0 : sqlrun_fail(db, err, errlen, what);
}
