/*
 * check_acct.c: unit tests of accounts' pure parts (acctrule.c:
 * durations, address masks, peers, passwords), the in-memory bans and
 * mutes (bans.c), password hashes (passwd.c) and the SQLite store
 * (store_sqlite.c) in a temporary directory: schema, modes, versions.
 * Single-threaded.
 */
#include "config.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acctrule.h"
#include "bans.h"
#include "harness.h"
#include "passwd.h"
#include "proto.h"
#include "store.h"

/* ------------------------------------------------------------------ */
/* Durations                                                           */
/* ------------------------------------------------------------------ */

static long
dur(const char *s)
{
    const char *why = NULL;
    long v = -1;

    if (acct_duration_parse(s, &v, &why) < 0) {
        ck_assert_ptr_nonnull(why);
        return -1;
    }
    return v;
}

START_TEST(test_durations)
{
    ck_assert_int_eq(dur("10m"), 600);
    ck_assert_int_eq(dur("2h"), 7200);
    ck_assert_int_eq(dur("7d"), 7 * 86400);
    ck_assert_int_eq(dur("30s"), 30);
    ck_assert_int_eq(dur("1w"), 7 * 86400);
    ck_assert_int_eq(dur("15"), 900);           /* bare: minutes */
    ck_assert_int_eq(dur(""), -1);
    ck_assert_int_eq(dur("m"), -1);
    ck_assert_int_eq(dur("0m"), -1);
    ck_assert_int_eq(dur("10x"), -1);
    ck_assert_int_eq(dur("10mm"), -1);
    ck_assert_int_eq(dur("-5m"), -1);
    ck_assert_int_eq(dur("99999999999999999999d"), -1);
    ck_assert_int_eq(dur("3660d"), 3660L * 86400);
    ck_assert_int_eq(dur("3661d"), -1);
    ck_assert_int_eq(dur("3661w"), -1);         /* past ten years */
}
END_TEST

START_TEST(test_duration_format)
{
    char out[32];

    acct_duration_format(600, out, sizeof(out));
    ck_assert_str_eq(out, "10m");
    acct_duration_format(7200, out, sizeof(out));
    ck_assert_str_eq(out, "2h");
    acct_duration_format(14 * 86400, out, sizeof(out));
    ck_assert_str_eq(out, "2w");
    acct_duration_format(90, out, sizeof(out));
    ck_assert_str_eq(out, "90s");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Masks                                                               */
/* ------------------------------------------------------------------ */

static int
covers(const char *mask, const char *addr)
{
    struct acct_mask m;
    uint8_t a[16];
    const char *why;

    ck_assert_int_eq(acct_mask_parse(mask, &m, &why), 0);
    ck_assert_int_eq(acct_addr_parse(addr, a), 0);
    return acct_mask_match(&m, a);
}

static const char *
format(const char *mask)
{
    static char out[ACCT_MASK_STRMAX];
    struct acct_mask m;
    const char *why;

    ck_assert_int_eq(acct_mask_parse(mask, &m, &why), 0);
    acct_mask_format(&m, out, sizeof(out));
    return out;
}

START_TEST(test_masks_v4)
{
    ck_assert(covers("192.0.2.7", "192.0.2.7"));
    ck_assert(!covers("192.0.2.7", "192.0.2.8"));
    ck_assert(covers("10.0.0.0/8", "10.200.3.4"));
    ck_assert(!covers("10.0.0.0/8", "11.0.0.1"));
    ck_assert(covers("10.1.2.3/8", "10.9.9.9"));    /* host bits dropped */
    ck_assert(covers("0.0.0.0/0", "203.0.113.1"));
    ck_assert(!covers("0.0.0.0/0", "2001:db8::1")); /* v4 only */
    ck_assert(covers("192.0.2.7", "::ffff:192.0.2.7"));  /* dual stack */
    ck_assert_str_eq(format("10.1.2.3/8"), "10.0.0.0/8");
    ck_assert_str_eq(format("192.0.2.7/32"), "192.0.2.7");
}
END_TEST

START_TEST(test_masks_v6)
{
    ck_assert(covers("2001:db8::/32", "2001:db8:1:2::3"));
    ck_assert(!covers("2001:db8::/32", "2001:db9::1"));
    ck_assert(covers("2001:db8:0:1::/64", "2001:db8:0:1:ffff::1"));
    ck_assert(!covers("2001:db8:0:1::/64", "2001:db8:0:2::1"));
    ck_assert(covers("::1", "::1"));
    ck_assert(!covers("::1", "127.0.0.1"));
    ck_assert(covers("2001:db8::1/127", "2001:db8::"));
    ck_assert_str_eq(format("2001:db8::1/64"), "2001:db8::/64");
    ck_assert_str_eq(format("::1"), "::1");
}
END_TEST

START_TEST(test_masks_bad)
{
    static const char *const bad[] = {
        "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "::1/129",
        "10.0.0", "1.2.3.4.5", "999.1.1.1", "bob", "10.0.0.0/8x",
        "::1/1000", "10.0.0.0//8", "fe80::1%eth0", NULL };
    struct acct_mask m;
    const char *why;

    for (int i = 0; bad[i]; i++) {
        why = NULL;
        ck_assert_msg(acct_mask_parse(bad[i], &m, &why) < 0, "%s", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(test_peers)
{
    uint8_t a[16], b[16];

    ck_assert_int_eq(acct_peer_addr("127.0.0.1:5000", a), 0);
    ck_assert_int_eq(acct_addr_parse("127.0.0.1", b), 0);
    ck_assert_mem_eq(a, b, 16);
    ck_assert_int_eq(acct_peer_addr("[::1]:5000", a), 0);
    ck_assert_int_eq(acct_addr_parse("::1", b), 0);
    ck_assert_mem_eq(a, b, 16);
    ck_assert_int_eq(acct_peer_addr("[::ffff:10.0.0.1]:1", a), 0);
    ck_assert_int_eq(acct_addr_parse("10.0.0.1", b), 0);
    ck_assert_mem_eq(a, b, 16);
    ck_assert_int_eq(acct_peer_addr("(unknown)", a), -1);
    ck_assert_int_eq(acct_peer_addr("[::1", a), -1);
    ck_assert_int_eq(acct_peer_addr("", a), -1);
}
END_TEST

START_TEST(test_passwords)
{
    const char *why;
    char longpw[300];

    ck_assert(!acct_password_ok("1234567", &why));
    ck_assert(acct_password_ok("12345678", &why));
    memset(longpw, 'x', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0';
    ck_assert(!acct_password_ok(longpw, &why));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bans in memory                                                      */
/* ------------------------------------------------------------------ */

static struct ban
mkban(int64_t id, const char *name, const char *mask, int64_t until)
{
    struct ban b = { .id = id, .until = until };
    const char *why;

    if (name)
        proto_nick_fold(name, b.name);
    if (mask) {
        ck_assert_int_eq(acct_mask_parse(mask, &b.mask, &why), 0);
        b.has_mask = 1;
    }
    return b;
}

START_TEST(test_bans_memory)
{
    struct ban b = mkban(1, "Troll", NULL, 0), out;
    struct mute m = { .name = "loud", .until = 2000 };
    int64_t until;

    bans_clear();
    bans_add(&b);
    b = mkban(2, NULL, "10.0.0.0/8", 1000);
    bans_add(&b);
    ck_assert(bans_match_name("troll", 500, &out));
    ck_assert_int_eq(out.id, 1);
    ck_assert(!bans_match_name("other", 500, &out));
    ck_assert(bans_match_peer("10.1.1.1:4000", 500, &out));
    ck_assert_int_eq(out.id, 2);
    ck_assert(!bans_match_peer("10.1.1.1:4000", 1000, &out));  /* over */
    ck_assert(!bans_match_peer("[::1]:4000", 500, &out));
    ck_assert(bans_find("TROLL", &out));
    ck_assert(bans_find("10.9.9.9/8", &out));
    ck_assert(!bans_find("10.0.0.0/16", &out));
    ck_assert_int_eq(bans_remove(1), 1);
    ck_assert(!bans_match_name("troll", 500, &out));
    mutes_set(&m);
    ck_assert(mutes_check("LOUD", 1999, &until));
    ck_assert(!mutes_check("LOUD", 2000, &until));
    ck_assert(mutes_remove("loud"));
    ck_assert(!mutes_check("loud", 1, &until));
    bans_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hashes and the SQLite store                                         */
/* ------------------------------------------------------------------ */

START_TEST(test_hash_verify)
{
    char h[STORE_HASH_MAX];

    ck_assert_int_eq(passwd_hash("correct horse", h, sizeof(h)), 0);
    ck_assert(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    ck_assert(strstr(h, "correct") == NULL);
    ck_assert(passwd_verify(h, "correct horse"));
    ck_assert(!passwd_verify(h, "correct horsf"));
    ck_assert(!passwd_verify(NULL, "correct horse"));
}
END_TEST

static char tmp[64];

static void
st_setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/check_acct.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
st_teardown(void)
{
    char cmdline[128];

    snprintf(cmdline, sizeof(cmdline), "rm -rf %s", tmp);
    ck_assert_int_eq(system(cmdline), 0);
}

static char *
path(const char *name)
{
    static char p[128];

    snprintf(p, sizeof(p), "%s/%s", tmp, name);
    return p;
}

static void
nop_ban(const struct ban *b)
{
    bans_add(b);
}

static void
nop_mute(const struct mute *m)
{
    mutes_set(m);
}

START_TEST(test_store_accounts)
{
    struct store *st;
    struct store_account a = { .name = "Alice", .hash = "h1" }, got;
    char err[512];
    struct stat sb;

    ck_assert_int_eq(store_sqlite_open(path("state"), &st, err,
                                       sizeof(err)), STORE_OK);
    ck_assert_int_eq(stat(path("state"), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0700);
    ck_assert_int_eq(stat(path("state/chatd.db"), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(st->ops->account_get(st, "alice", &got), 0);
    ck_assert_int_eq(st->ops->account_put(st, &a, STORE_CREATE), 1);
    ck_assert_int_eq(st->ops->account_put(st, &a, STORE_CREATE), 0);
    ck_assert_int_eq(st->ops->account_get(st, "ALICE", &got), 1);
    ck_assert_str_eq(got.name, "Alice");
    ck_assert_str_eq(got.hash, "h1");
    snprintf(a.hash, sizeof(a.hash), "h2");
    ck_assert_int_eq(st->ops->account_put(st, &a, STORE_PASSWORD), 1);
    snprintf(a.name, sizeof(a.name), "nobody");
    ck_assert_int_eq(st->ops->account_put(st, &a, STORE_PASSWORD), 0);
    st->ops->close(st);
    ck_assert_int_eq(store_sqlite_open(path("state"), &st, err,
                                       sizeof(err)), STORE_OK);
    ck_assert_int_eq(st->ops->account_get(st, "alice", &got), 1);
    ck_assert_str_eq(got.hash, "h2");
    st->ops->close(st);
}
END_TEST

START_TEST(test_store_bans_last)
{
    struct store *st;
    struct ban b = mkban(0, NULL, "2001:db8::/32", 0), out;
    struct mute m = { .name = "loud", .until = 0 };
    char err[512];
    int64_t until;

    ck_assert_int_eq(store_sqlite_open(tmp, &st, err, sizeof(err)),
                     STORE_OK);
    snprintf(b.reason, sizeof(b.reason), "spam");
    ck_assert_int_eq(st->ops->ban_add(st, &b), 0);
    ck_assert_int_gt(b.id, 0);
    b = mkban(0, "gone", NULL, 100);            /* expired at 200 */
    ck_assert_int_eq(st->ops->ban_add(st, &b), 0);
    ck_assert_int_eq(st->ops->mute_set(st, &m), 0);
    st->ops->close(st);
    bans_clear();
    ck_assert_int_eq(store_sqlite_open(tmp, &st, err, sizeof(err)),
                     STORE_OK);
    ck_assert_int_eq(st->ops->load(st, 200, nop_ban, nop_mute), 0);
    ck_assert(bans_match_peer("[2001:db8::5]:1", 200, &out));
    ck_assert_str_eq(out.reason, "spam");
    ck_assert(!bans_find("gone", &out));
    ck_assert(mutes_check("loud", 200, &until));
    ck_assert_int_eq(st->ops->ban_del(st, out.id), 0);
    ck_assert_int_eq(st->ops->mute_del(st, "loud"), 0);
    st->ops->close(st);
    bans_clear();
    ck_assert_int_eq(store_sqlite_open(tmp, &st, err, sizeof(err)),
                     STORE_OK);
    ck_assert_int_eq(st->ops->load(st, 200, nop_ban, nop_mute), 0);
    ck_assert(!bans_match_peer("[2001:db8::5]:1", 200, &out));
    ck_assert(!mutes_check("loud", 200, &until));
    st->ops->close(st);
    bans_clear();
}
END_TEST

/* A database from a newer chatd is refused and left as it was. */
START_TEST(test_store_future)
{
    struct store *st;
    char err[512], *before, *after;
    sqlite3 *db;
    struct stat sb;

    ck_assert_int_eq(sqlite3_open(path("chatd.db"), &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x); "
                                  "PRAGMA user_version = 7;", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(stat(path("chatd.db"), &sb), 0);
    before = h_read_file(path("chatd.db"));
    ck_assert_int_eq(store_sqlite_open(tmp, &st, err, sizeof(err)),
                     STORE_FUTURE);
    ck_assert_ptr_nonnull(strstr(err, "newer chatd"));
    ck_assert_ptr_nonnull(strstr(err, "version 7"));
    after = h_read_file(path("chatd.db"));
    ck_assert_mem_eq(before, after, (size_t)sb.st_size);
    ck_assert_int_ne(access(path("chatd.db-wal"), F_OK), 0);
    free(before);
    free(after);
}
END_TEST

START_TEST(test_store_unusable)
{
    struct store *st;
    char err[512];

    ck_assert_int_eq(store_sqlite_open(path("no/such/dir"), &st, err,
                                       sizeof(err)), STORE_UNUSABLE);
    ck_assert_ptr_nonnull(strstr(err, "no/such/dir"));
    FILE *f = fopen(path("file"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(store_sqlite_open(path("file"), &st, err,
                                       sizeof(err)), STORE_UNUSABLE);
    ck_assert_ptr_nonnull(strstr(err, "not a directory"));
    f = fopen(path("chatd.db"), "w");
    fputs("this is not a database, just text of some length......", f);
    fclose(f);
    ck_assert_int_eq(store_sqlite_open(tmp, &st, err, sizeof(err)),
                     STORE_UNUSABLE);
}
END_TEST

static Suite *
acct_suite(void)
{
    Suite *s = suite_create("acct");
    TCase *tc = h_tcase(s, "Rules", NULL, NULL, 0);

    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_duration_format);
    tcase_add_test(tc, test_masks_v4);
    tcase_add_test(tc, test_masks_v6);
    tcase_add_test(tc, test_masks_bad);
    tcase_add_test(tc, test_peers);
    tcase_add_test(tc, test_passwords);
    tcase_add_test(tc, test_bans_memory);
    tc = h_tcase(s, "Store", st_setup, st_teardown, 30);
    tcase_add_test(tc, test_hash_verify);
    tcase_add_test(tc, test_store_accounts);
    tcase_add_test(tc, test_store_bans_last);
    tcase_add_test(tc, test_store_future);
    tcase_add_test(tc, test_store_unusable);
    return s;
}

int
main(void)
{
    return h_run_suite(acct_suite());
}
