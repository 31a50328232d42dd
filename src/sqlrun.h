/*
 * sqlrun.h: what both SQLite stores (store_sqlite.c, hist_sqlite.c) do
 * alike with a statement: run it to its end, note the error.  Whichever
 * thread owns the connection.
 */
#ifndef CHATD_SQLRUN_H
#define CHATD_SQLRUN_H

#include <sqlite3.h>
#include <stddef.h>

int sqlrun_fail(sqlite3 *db, char *err, size_t errlen, const char *what);
int sqlrun_done(sqlite3 *db, sqlite3_stmt *q, char *err, size_t errlen,
                const char *what);

#endif
