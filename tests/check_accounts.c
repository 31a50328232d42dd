/*
 * check_accounts.c: accounts, operators, bans and mutes against the real
 * chatd on port 0 with a temporary state-dir and a real SQLite database
 * (SPEC "Accounts, operators, abuse control"): registering and logging
 * in, registered nicknames, login-required, --add-account while the
 * daemon runs, what survives a restart, passwords in no log and no file,
 * state-dir missing, unwritable or from a newer chatd, the operators'
 * commands, and a storm of wrong logins that others do not wait for.
 * Each test runs its own chatd in its forked child.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define T H_TIMEOUT_MS

static char tmp[64];
static char state[128];
static char conf[128];                  /* an empty config file */
static struct hserver srv;
static char line[70000];

static void
setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/check_accounts.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(state, sizeof(state), "%s/state", tmp);
    snprintf(conf, sizeof(conf), "%s/chatd.conf", tmp);
    close(open(conf, O_WRONLY | O_CREAT, 0644));
}

static void
teardown(void)
{
    char cmdline[256];

    snprintf(cmdline, sizeof(cmdline), "chmod -R u+rwx %s; rm -rf %s", tmp,
             tmp);
    if (system(cmdline) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
}

/* chatd with the temporary state-dir, a short login-delay and more
 * arguments (NULL-terminated, at most 8). */
static void
serve(const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *args[] = { "-c", conf, "--state-dir", state,
                           "--login-delay", "1", "-vv", a1, a2, a3, a4,
                           NULL };

    ck_assert_msg(hserver_start(&srv, args) == 0, "chatd did not start");
}

static void
unserve(void)
{
    ck_assert_int_eq(hserver_stop(&srv), 0);
}

/* Stop chatd (exit 0 wanted); its log until then, to be freed. */
static char *
unserve_log(void)
{
    char *log = hserver_log(&srv);

    unserve();
    return log;
}

/* A client on addr (127.0.0.1 or ::1), welcomed, named nick. */
static struct hconn *
client_at(const char *addr, const char *nick)
{
    struct hconn *c = hconn_open_addr(addr, srv.port);

    ck_assert_ptr_nonnull(c);
    h_expect(c, "*** welcome to chatd, ", line, sizeof(line));
    if (nick) {
        hconn_send(c, "/nick %s\n", nick);
        h_expect(c, "*** you are now known as ", line, sizeof(line));
    }
    return c;
}

static struct hconn *
client(const char *nick)
{
    return client_at("127.0.0.1", nick);
}

/* Send a line and wait for the line holding want. */
static void
say(struct hconn *c, const char *text, const char *want)
{
    hconn_send(c, "%s\n", text);
    h_expect(c, want, line, sizeof(line));
}

/* chatd --add-account name [--oper] with pw on stdin; its exit status,
 * its output in out. */
static int
add_account(const char *name, const char *pw, int oper, const char *dir,
            char *out, size_t cap)
{
    int in[2], outp[2], st;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(outp), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(outp[1], STDOUT_FILENO);
        dup2(outp[1], STDERR_FILENO);
        close(in[1]);
        close(outp[0]);
        execl(hserver_chatd(), "chatd", "-c", conf,
              "--state-dir", dir, "--add-account", name,
              oper ? "--oper" : NULL, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    ck_assert_int_eq(write(in[1], pw, strlen(pw)), (ssize_t)strlen(pw));
    close(in[1]);
    while ((n = read(outp[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(outp[0]);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Run chatd with the arguments to its end (exit status; output). */
static int
run_chatd(char *out, size_t cap, const char *const *args)
{
    const char *argv[32] = { hserver_chatd(), "-c", conf, "-p", "0", "-b",
                             "127.0.0.1" };
    size_t n = 7;
    int status;

    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    ck_assert_int_eq(h_run(argv, out, cap, &status), 0);
    return status;
}

/* ------------------------------------------------------------------ */
/* Accounts                                                            */
/* ------------------------------------------------------------------ */

/* /register makes the nick an account; someone else cannot take it by
 * /nick; /login takes it and makes its holder a guest, who is told. */
START_TEST(test_register_and_login)
{
    struct hconn *a, *b;

    serve(NULL, NULL, NULL, NULL);
    a = client("alice");
    say(a, "/register short", "*** error: a password is at least 8 bytes");
    say(a, "/register alicepass1", "*** registered alice; you are logged in");
    say(a, "/register alicepass1", "*** error: you are already logged in");
    b = client("bob");
    say(b, "/nick alice",
        "*** error: alice is registered; /login alice PASSWORD");
    say(b, "/nick ALICE",
        "*** error: ALICE is registered; /login ALICE PASSWORD");
    say(b, "/login alice wrongpass1", "*** error: wrong name or password");
    say(b, "/login nobody wrongpass1", "*** error: wrong name or password");
    hconn_send(b, "/login alice alicepass1\n");
    h_expect(b, "*** logged in as alice", line, sizeof(line));
    h_expect(b, "*** you are now known as alice", line, sizeof(line));
    h_expect(a, "*** alice logged in to its account: you are a guest now",
             line, sizeof(line));
    h_expect(a, "*** you are now known as guest", line, sizeof(line));
    /* The guest cannot take it back. */
    say(a, "/nick alice",
        "*** error: alice is registered; /login alice PASSWORD");
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

START_TEST(test_register_guest_and_usage)
{
    struct hconn *a;

    serve(NULL, NULL, NULL, NULL);
    a = client(NULL);
    say(a, "/register alicepass1",
        "*** error: guest names cannot be registered");
    say(a, "/register", "*** error: usage: /register PASSWORD");
    say(a, "/register two words",
        "*** error: a password cannot contain spaces");
    say(a, "/login alice", "*** error: usage: /login NAME PASSWORD");
    say(a, "/login al!ce password1", "*** error: nickname may only");
    say(a, "/password a b", "*** error: you are not logged in");
    hconn_close(a);
    unserve();
}
END_TEST

START_TEST(test_password_change)
{
    struct hconn *a, *b;

    serve(NULL, NULL, NULL, NULL);
    a = client("carol");
    say(a, "/register firstpass1", "*** registered carol");
    say(a, "/password wrongpass1 secondpass2",
        "*** error: wrong name or password");
    say(a, "/password firstpass1 short", "*** error: a password is at "
        "least 8 bytes");
    say(a, "/password firstpass1 secondpass2",
        "*** password changed for carol");
    b = client(NULL);
    say(b, "/login carol firstpass1", "*** error: wrong name or password");
    say(b, "/login carol secondpass2", "*** logged in as carol");
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

START_TEST(test_registration_closed)
{
    struct hconn *a;

    serve("--registration", "closed", NULL, NULL);
    a = client("dave");
    say(a, "/register davepass12",
        "*** error: registration is closed on this server");
    hconn_close(a);
    unserve();
}
END_TEST

/* Guests cannot talk with login-required; logged in, they can. */
START_TEST(test_login_required)
{
    struct hconn *a, *b;
    char out[4096];

    ck_assert_int_eq(add_account("erin", "erinpass12\n", 0, state, out,
                                 sizeof(out)), 0);
    serve("--login-required", NULL, NULL, NULL);
    a = client(NULL);
    b = client(NULL);
    say(a, "hello", "*** error: only logged-in users may talk here");
    say(a, "/me waves", "*** error: only logged-in users may talk here");
    say(a, "/msg guest2 hi", "*** error: only logged-in users may talk");
    h_silent(b);
    hconn_send(a, "/login erin erinpass12\n");
    h_expect(a, "*** you are now known as erin", line, sizeof(line));
    hconn_send(a, "hello again\n");
    h_expect(b, "<erin> hello again", line, sizeof(line));
    h_silent(a);                        /* no error this time */
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

START_TEST(test_add_account_running)
{
    struct hconn *a;
    char out[4096];

    serve(NULL, NULL, NULL, NULL);
    a = client(NULL);
    say(a, "/login frank frankpass1", "*** error: wrong name or password");
    ck_assert_int_eq(add_account("frank", "frankpass1\n", 1, state, out,
                                 sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "account frank saved (operator)"));
    say(a, "/login frank frankpass1", "*** logged in as frank (operator)");
    hconn_close(a);
    unserve();
    ck_assert_int_eq(add_account("guest7", "frankpass1\n", 0, state, out,
                                 sizeof(out)), 2);
    ck_assert_ptr_nonnull(strstr(out, "guest names"));
    ck_assert_int_eq(add_account("frank", "short\n", 0, state, out,
                                 sizeof(out)), 2);
    ck_assert_ptr_nonnull(strstr(out, "at least 8 bytes"));
    ck_assert_int_eq(add_account("frank", "", 0, state, out,
                                 sizeof(out)), 2);
    ck_assert_ptr_nonnull(strstr(out, "no password"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* What lasts, and what never shows                                    */
/* ------------------------------------------------------------------ */

/* Accounts, bans and mutes survive a restart. */
START_TEST(test_restart_keeps_state)
{
    struct hconn *a, *b;

    serve("--opers", "alice", NULL, NULL);
    a = client("alice");
    say(a, "/register alicepass1", "*** registered alice; you are logged "
        "in (operator)");
    say(a, "/ban 192.0.2.0/24 7d spam", "*** banned 192.0.2.0/24 (1w)");
    say(a, "/ban troll", "*** banned troll (permanent)");
    say(a, "/mute loud 2h", "*** loud muted");
    hconn_close(a);
    unserve();
    serve("--opers", "alice", NULL, NULL);
    a = client(NULL);
    say(a, "/login alice alicepass1", "*** logged in as alice (operator)");
    hconn_send(a, "/bans\n");
    h_expect(a, "*** ban 192.0.2.0/24 until ", line, sizeof(line));
    ck_assert_ptr_nonnull(strstr(line, "by alice: spam"));
    h_expect(a, "*** ban troll (permanent) by alice", line, sizeof(line));
    b = client(NULL);
    say(b, "/nick troll", "*** error: troll is banned on this server");
    say(b, "/nick loud", "*** you are now known as loud");
    say(b, "noise", "*** error: you are muted until ");
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

/* Does the file at path hold needle anywhere (binary-safe)? */
static int
file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    static char buf[1 << 20];
    size_t n, k = strlen(needle);

    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(buf + i, needle, k) == 0)
            return 1;
    return 0;
}

/* The password is in no log line (even -vv) and not as plain text in
 * the database; a failed login is logged, without it. */
START_TEST(test_password_nowhere)
{
    static const char pw[] = "Zq9-unique-secret";
    char db[256], wal[256];
    struct hconn *a, *b;
    char *log;

    serve(NULL, NULL, NULL, NULL);
    a = client("gina");
    say(a, "/register Zq9-unique-secret", "*** registered gina");
    b = client(NULL);
    say(b, "/login gina Zq9-unique-secreT", "*** error: wrong name");
    say(b, "/password Zq9-unique-secret x", "*** error: you are not");
    snprintf(db, sizeof(db), "%s/chatd.db", state);
    snprintf(wal, sizeof(wal), "%s/chatd.db-wal", state);
    ck_assert(!file_has(db, pw) && !file_has(wal, pw));
    ck_assert(file_has(db, "gina") || file_has(wal, "gina"));
    ck_assert(file_has(db, "$argon2id$") || file_has(wal, "$argon2id$"));
    hconn_close(a);
    hconn_close(b);
    log = unserve_log();
    ck_assert_ptr_null(strstr(log, "Zq9-unique"));
    ck_assert_ptr_nonnull(strstr(log, "failed login for gina"));
    free(log);
    ck_assert(!file_has(db, pw) && !file_has(wal, pw));
}
END_TEST

/* ------------------------------------------------------------------ */
/* state-dir                                                           */
/* ------------------------------------------------------------------ */

/* A state-dir that cannot be made: said once, chatd runs without
 * accounts; with login-required it exits 2 naming the directory. */
START_TEST(test_state_dir_missing)
{
    static const char *const with_login[] = {
        "--state-dir", "/nonexistent/chatd-state", "--login-required",
        NULL };
    char out[8192], *log;
    struct hconn *a;
    const char *args[] = { "-c", conf, "--state-dir",
                           "/nonexistent/chatd-state", NULL };

    ck_assert_int_eq(hserver_start(&srv, args), 0);
    a = client("hank");
    say(a, "/register hankpass12", "*** error: accounts are off on this "
        "server (no state-dir)");
    say(a, "/ban 10.0.0.1", "*** error: accounts are off");
    say(a, "/nick hank2", "*** you are now known as hank2");
    hconn_close(a);
    log = unserve_log();
    ck_assert_ptr_nonnull(strstr(log, "/nonexistent/chatd-state: cannot "
                                      "create it"));
    ck_assert_ptr_nonnull(strstr(log, "running without accounts"));
    free(log);
    ck_assert_int_eq(run_chatd(out, sizeof(out), with_login), 2);
    ck_assert_ptr_nonnull(strstr(out, "/nonexistent/chatd-state"));
    ck_assert_ptr_nonnull(strstr(out, "needed by login-required"));
}
END_TEST

/* A directory chatd may not write (root may write anywhere it has a
 * mode for, so as root: one in /proc, which nobody may). */
START_TEST(test_state_dir_unwritable)
{
    const char *ro = state;
    char out[8192];
    const char *need[] = { "--state-dir", NULL, "--opers", "alice", NULL };
    const char *args[] = { "-c", conf, "--state-dir", NULL, NULL };
    char *log;

    if (geteuid() == 0)
        ro = "/proc/self";
    else {
        ck_assert_int_eq(mkdir(state, 0700), 0);
        ck_assert_int_eq(chmod(state, 0500), 0);
    }
    args[3] = need[1] = ro;
    ck_assert_int_eq(hserver_start(&srv, args), 0);
    log = unserve_log();
    ck_assert_ptr_nonnull(strstr(log, "running without accounts"));
    free(log);
    ck_assert_int_eq(run_chatd(out, sizeof(out), need), 2);
    ck_assert_ptr_nonnull(strstr(out, ro));
    ck_assert_ptr_nonnull(strstr(out, "needed by opers"));
}
END_TEST

/* A database from a newer chatd: refused (exit 2), never written. */
START_TEST(test_state_dir_future)
{
    char db[256], out[8192], *before, *after;
    const char *args[] = { "--state-dir", state, NULL };
    struct stat sb;
    sqlite3 *s;

    ck_assert_int_eq(mkdir(state, 0700), 0);
    snprintf(db, sizeof(db), "%s/chatd.db", state);
    ck_assert_int_eq(sqlite3_open(db, &s), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(s, "CREATE TABLE accounts (x); "
                                  "PRAGMA user_version = 42;", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(s);
    ck_assert_int_eq(stat(db, &sb), 0);
    before = h_read_file(db);
    ck_assert_int_eq(run_chatd(out, sizeof(out), args), 2);
    ck_assert_ptr_nonnull(strstr(out, "made by a newer chatd (schema "
                                      "version 42"));
    after = h_read_file(db);
    ck_assert_mem_eq(before, after, (size_t)sb.st_size);
    free(before);
    free(after);
    snprintf(db, sizeof(db), "%s/chatd.db-wal", state);
    ck_assert_int_ne(access(db, F_OK), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Operators                                                           */
/* ------------------------------------------------------------------ */

/* An operator (by opers), logged in, and another client. */
static struct hconn *
oper(void)
{
    struct hconn *a;

    serve("--opers", "alice", NULL, NULL);
    a = client("alice");
    say(a, "/register alicepass1", "*** registered alice; you are logged "
        "in (operator)");
    return a;
}

START_TEST(test_not_oper)
{
    struct hconn *a, *b;

    a = oper();
    b = client("bob");
    say(b, "/kick alice", "*** error: only operators may /kick (log in "
        "first)");
    say(b, "/register bobpass123", "*** registered bob");
    say(b, "/ban alice", "*** error: only operators may /ban");
    say(b, "/unban alice", "*** error: only operators may /unban");
    say(b, "/bans", "*** error: only operators may /bans");
    say(b, "/mute alice", "*** error: only operators may /mute");
    say(b, "/unmute alice", "*** error: only operators may /unmute");
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

START_TEST(test_kick)
{
    struct hconn *a, *b;

    a = oper();
    b = client("bob");
    say(a, "/kick nobody", "*** error: no such nickname here: nobody");
    say(a, "/kick bob enough of that", "*** kicked bob");
    h_expect(b, "*** kicked by alice: enough of that", line, sizeof(line));
    ck_assert(hconn_closed(b, T));
    h_expect(a, "*** bob has left (kicked)", line, sizeof(line));
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

/* An address ban closes the connected clients it covers, with one
 * error saying why, and refuses new ones before their welcome. */
START_TEST(test_ban_address)
{
    struct hconn *a, *b, *c;

    a = oper();
    b = client_at("::1", "bob");
    say(a, "/ban 127.0.0.1", "*** error: that ban would cover your own "
        "address");
    say(a, "/ban ::1 10x", "*** error: a duration is a number and s, m");
    say(a, "/ban ::1/129", "*** error: an IPv6 prefix is /0 to /128");
    say(a, "/ban ::1 10m flooding", "*** banned ::1 (10m)");
    h_expect(b, "*** error: you are banned from this server until ", line,
             sizeof(line));
    ck_assert_ptr_nonnull(strstr(line, "UTC: flooding"));
    ck_assert(hconn_closed(b, T));
    c = hconn_open_addr("::1", srv.port);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(hconn_line(c, line, sizeof(line), T), 1);
    ck_assert_msg(strncmp(line, "*** error: you are banned from this "
                          "server until ", 49) == 0, "%s", line);
    ck_assert(hconn_closed(c, T));
    hconn_close(c);
    hconn_send(a, "/bans\n");
    h_expect(a, "*** ban ::1 until ", line, sizeof(line));
    ck_assert_ptr_nonnull(strstr(line, "by alice: flooding"));
    say(a, "/unban ::2", "*** error: no ban on ::2");
    say(a, "/unban ::1", "*** ban lifted: ::1");
    say(a, "/bans", "*** no bans");
    hconn_close(b);
    b = client_at("::1", NULL);          /* welcome again */
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

/* A nickname ban closes whoever uses it and keeps it from being taken
 * or logged in to. */
START_TEST(test_ban_nick)
{
    struct hconn *a, *b, *c;

    a = oper();
    b = client("dave");
    say(b, "/register davepass12", "*** registered dave");
    say(a, "/ban alice", "*** error: you cannot ban yourself");
    say(a, "/ban dave 2h", "*** banned dave (2h)");
    h_expect(b, "*** error: you are banned from this server until ", line,
             sizeof(line));
    ck_assert(hconn_closed(b, T));
    c = client(NULL);
    say(c, "/nick dave", "*** error: dave is banned on this server");
    say(c, "/login dave davepass12", "*** error: dave is banned on this "
        "server");
    say(a, "/unban dave", "*** ban lifted: dave");
    say(c, "/login dave davepass12", "*** logged in as dave");
    hconn_close(a);
    hconn_close(b);
    hconn_close(c);
    unserve();
}
END_TEST

START_TEST(test_mute)
{
    struct hconn *a, *b;

    a = oper();
    b = client("erin");
    say(a, "/mute erin 1x", "*** error: a duration is a number");
    say(a, "/mute erin 10m", "*** erin muted");
    say(b, "hello", "*** error: you are muted until ");
    say(b, "/msg alice hello", "*** error: you are muted until ");
    h_silent(a);
    say(a, "/unmute erin", "*** erin unmuted");
    hconn_send(b, "hello\n");
    h_expect(a, "<erin> hello", line, sizeof(line));
    say(a, "/mute erin", "*** erin muted");
    say(b, "again", "*** error: you are muted");
    hconn_close(a);
    hconn_close(b);
    unserve();
}
END_TEST

/* ------------------------------------------------------------------ */
/* A storm of wrong logins                                             */
/* ------------------------------------------------------------------ */

/* A failed login puts its address's next login off (login-delay): a
 * login from another address, sent later, is answered first, and the
 * put-off one is answered in the end. */
START_TEST(test_failed_login_slowed)
{
    const char *args[] = { "-c", conf, "--state-dir", state,
                           "--login-delay", "3000", NULL };
    struct hconn *x, *y;
    char out[4096];

    ck_assert_int_eq(add_account("ivan", "ivanpass12\n", 0, state, out,
                                 sizeof(out)), 0);
    ck_assert_msg(hserver_start(&srv, args) == 0, "chatd did not start");
    x = client_at("127.0.0.1", NULL);
    y = client_at("::1", NULL);
    say(x, "/login ivan wrongpass1", "*** error: wrong name or password");
    hconn_send(x, "/login ivan ivanpass12\n");     /* waits 3 s */
    say(y, "/login ivan ivanpass12", "*** logged in as ivan");
    h_expect(x, "*** guest2 is now known as ivan", line, sizeof(line));
    while (hconn_line(x, line, sizeof(line), 0) == 1)   /* what came */
        ck_assert_ptr_null(strstr(line, "logged in"));
    h_expect(x, "*** logged in as ivan", line, sizeof(line));
    h_expect(y, "*** ivan logged in to its account: you are a guest now",
             line, sizeof(line));
    hconn_close(x);
    hconn_close(y);
    unserve();
}
END_TEST

#define STORM_CLIENTS 10
#define STORM_EACH    20

/* 200 wrong logins from one address, sent at once on ten connections:
 * all are answered, each failure is logged, and meanwhile two other
 * clients exchange lines and round trips as usual. */
START_TEST(test_login_storm)
{
    struct hconn *storm[STORM_CLIENTS], *a, *b;
    int answered = 0;
    char *log, *p;

    serve(NULL, NULL, NULL, NULL);
    a = client("alice");
    say(a, "/register alicepass1", "*** registered alice");
    b = client("bob");
    for (int i = 0; i < STORM_CLIENTS; i++) {
        storm[i] = client(NULL);
        for (int k = 0; k < STORM_EACH; k++)
            hconn_send(storm[i], "/login alice wrongpass%02d\n", k);
    }
    for (int k = 0; k < 20; k++) {
        char want[64];
        hconn_send(a, "ping %d\n", k);
        snprintf(want, sizeof(want), "<alice> ping %d", k);
        h_expect(b, want, line, sizeof(line));
        ck_assert_int_eq(hconn_barrier(b, line, sizeof(line)), 1);
    }
    for (int i = 0; i < STORM_CLIENTS; i++)
        for (int k = 0; k < STORM_EACH; k++)
            if (hconn_expect(storm[i], "*** error: wrong name or password",
                             line, sizeof(line), 30000) == 1)
                answered++;
    ck_assert_int_eq(answered, STORM_CLIENTS * STORM_EACH);
    for (int i = 0; i < STORM_CLIENTS; i++)
        hconn_close(storm[i]);
    hconn_close(a);
    hconn_close(b);
    log = unserve_log();
    answered = 0;
    for (p = log; (p = strstr(p, "failed login for alice")) != NULL; p++)
        answered++;
    ck_assert_int_eq(answered, STORM_CLIENTS * STORM_EACH);
    ck_assert_ptr_null(strstr(log, "wrongpass"));
    free(log);
}
END_TEST

static Suite *
accounts_suite(void)
{
    Suite *s = suite_create("accounts");
    TCase *tc = h_tcase(s, "Accounts", setup, teardown, 60);

    tcase_add_test(tc, test_register_and_login);
    tcase_add_test(tc, test_register_guest_and_usage);
    tcase_add_test(tc, test_password_change);
    tcase_add_test(tc, test_registration_closed);
    tcase_add_test(tc, test_login_required);
    tcase_add_test(tc, test_add_account_running);
    tc = h_tcase(s, "Lasting", setup, teardown, 60);
    tcase_add_test(tc, test_restart_keeps_state);
    tcase_add_test(tc, test_password_nowhere);
    tcase_add_test(tc, test_state_dir_missing);
    tcase_add_test(tc, test_state_dir_unwritable);
    tcase_add_test(tc, test_state_dir_future);
    tc = h_tcase(s, "Operators", setup, teardown, 60);
    tcase_add_test(tc, test_not_oper);
    tcase_add_test(tc, test_kick);
    tcase_add_test(tc, test_ban_address);
    tcase_add_test(tc, test_ban_nick);
    tcase_add_test(tc, test_mute);
    tc = h_tcase(s, "Storm", setup, teardown, 120);
    tcase_add_test(tc, test_failed_login_slowed);
    tcase_add_test(tc, test_login_storm);
    return s;
}

int
main(void)
{
    return h_run_suite(accounts_suite());
}
