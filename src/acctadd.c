/*
 * acctadd.c: chatd --add-account NAME [--oper]: add an account (or set
 * the password of one) in state-dir's database, the password read from
 * standard input (without echo on a terminal), and exit.  Works while
 * the daemon runs: the database is in WAL mode and the daemon reads an
 * account at each login.  Main thread of chatd only; no other thread
 * runs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "acctadd.h"
#include "acctrule.h"
#include "cmdline.h"
#include "passwd.h"
#include "proto.h"
#include "settings.h"
#include "store.h"

static void __attribute__((noreturn))
fail(int status, const char *what)
{
    fprintf(stderr, "%s: %s\n", cmd.progname, what);
    exit(status);
}

/* One line of standard input into pw (cap bytes), its end of line
 * dropped; no echo on a terminal.  0, or -1 at end of input. */
static int
read_password(char *pw, size_t cap)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    char *got;

    if (tty) {
        fprintf(stderr, "password for %s: ", cmd.add_account);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    got = fgets(pw, (int)cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (got == NULL)
        return -1;
    pw[strcspn(pw, "\r\n")] = '\0';
    return 0;
}

/* Check the name and the password; exits 2 saying what is wrong. */
static void
check_input(const char *name, const char *pw)
{
    const char *why;

    if (!proto_nick_valid(name, &why))
        fail(2, why);
    if (proto_guest_name(name))
        fail(2, "guest names cannot be accounts");
    if (!acct_password_ok(pw, &why))
        fail(2, why);
    if (strpbrk(pw, " \t") != NULL)
        fail(2, "a password cannot contain spaces");
}

/* Run --add-account with the settings s (state-dir must be set). */
int
acctadd_run(const struct settings *s)
{
    char pw[ACCT_PASSWORD_MAX + 2], err[512];
    struct store_account a = { .oper = cmd.add_oper };
    struct store *st;
    int rc;

    if (s->state_dir == NULL && s->cluster_url == NULL)
        fail(2, "--add-account needs state-dir (in chatd.conf or on the "
                "command line), or a cluster");
    if (read_password(pw, sizeof(pw)) < 0)
        fail(2, "--add-account: no password on standard input");
    check_input(cmd.add_account, pw);
    snprintf(a.name, sizeof(a.name), "%s", cmd.add_account);
    rc = passwd_hash(pw, a.hash, sizeof(a.hash));
    explicit_bzero(pw, sizeof(pw));
    if (rc < 0)
        fail(1, "cannot hash the password");
    if ((s->cluster_url
         ? store_redis_open(s->cluster_url, s->cluster_channel, &st, err,
                            sizeof(err))
         : store_sqlite_open(s->state_dir, &st, err, sizeof(err))) !=
        STORE_OK)
        fail(1, err);
    rc = st->ops->account_put(st, &a, STORE_REPLACE);
    explicit_bzero(a.hash, sizeof(a.hash));
    if (rc < 0) {
        snprintf(err, sizeof(err), "%s", st->err);
        st->ops->close(st);
        fail(1, err);
    }
    st->ops->close(st);
    fprintf(stderr, "%s: account %s saved%s\n", cmd.progname, a.name,
            a.oper ? " (operator)" : "");
    return 0;
}
