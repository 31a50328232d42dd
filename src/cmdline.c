/*
 * cmdline.c: chatd's command line (see cmdline.h): getopt_long over a
 * table made from settings_keys, so every key is an option; --help made
 * from the same table; errors in chatd's own words (exit 2).  Main
 * thread only.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "paths.h"              /* SYSCONFDIR, made by make */
#include "settings.h"

#define CHATD_CONFIG_FILE SYSCONFDIR "/chatd.conf"
#define OPT_MAX 64
#define OPT_ADD_ACCOUNT 200         /* long options without a key */
#define OPT_OPER        201

struct cmdline cmd = { .progname = "chatd", .config = CHATD_CONFIG_FILE };

static struct option long_opts[OPT_MAX];
static char short_opts[OPT_MAX * 2] = "+:c:htVv";

/*
 * Fill long_opts and short_opts from settings_keys: a key with an
 * argument name takes a value, the others are flags.  A key without a
 * short option gets 256 + its index.
 */
void
cmdline_build(void)
{
    size_t n = 0, sl = strlen(short_opts);

    for (const struct settings_key *k = settings_keys; k->name; k++, n++) {
        long_opts[n] = (struct option){
            k->name, k->arg ? required_argument : no_argument, NULL,
            k->shortopt ? k->shortopt : 256 + (int)n };
        if (k->shortopt && k->shortopt != 'v') {
            short_opts[sl++] = (char)k->shortopt;
            if (k->arg)
                short_opts[sl++] = ':';
        }
    }
    short_opts[sl] = '\0';
    long_opts[n++] = (struct option){ "config", required_argument, NULL,
                                      'c' };
    long_opts[n++] = (struct option){ "check-config", no_argument, NULL,
                                      't' };
    long_opts[n++] = (struct option){ "add-account", required_argument,
                                      NULL, OPT_ADD_ACCOUNT };
    long_opts[n++] = (struct option){ "oper", no_argument, NULL, OPT_OPER };
    long_opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
    long_opts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
    long_opts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/*
 * One option of --help: "-c, --config FILE" and its help text, which
 * goes on at the same column after a newline or past 79 columns.
 */
static void
print_option(FILE *f, int shortopt, const char *name, const char *arg,
             const char *help)
{
    enum { COL = 29, WIDTH = 79 - COL };
    char opt[64];
    size_t n;

    if (shortopt)
        snprintf(opt, sizeof(opt), "-%c, --%s%s%s", shortopt, name,
                 arg ? " " : "", arg ? arg : "");
    else
        snprintf(opt, sizeof(opt), "    --%s%s%s", name, arg ? " " : "",
                 arg ? arg : "");
    fprintf(f, "  %-26s", opt);
    for (;;) {
        n = strcspn(help, "\n");
        while (n > WIDTH && n > 0 && help[n] != ' ')
            n--;
        if (n == 0)
            n = strcspn(help, "\n");
        fprintf(f, " %.*s\n", (int)n, help);
        if (help[n] == '\0')
            break;
        help += n + 1;
        fprintf(f, "%*s", COL - 1, "");
    }
}

/*
 * Exit with status: 0 after printing the full help to stdout, else after
 * a one-line hint on stderr.
 */
static void __attribute__((noreturn))
usage(int status)
{
    FILE *f = status == 0 ? stdout : stderr;

    if (status != 0) {
        fprintf(f, "Try '%s --help' for more information.\n", cmd.progname);
        exit(status);
    }
    fprintf(f, "Usage: %s [OPTION]...\n"
            "Multi-client chat and broadcast server (protocol v1: one line "
            "per message;\nsee chatd(8)).\n\nOptions:\n", cmd.progname);
    print_option(f, 'c', "config", "FILE", "read settings from FILE");
    /* The path is the build's: indent it with the help texts when it
     * fits in 80 columns, else start it at the margin. */
    fprintf(f, "  %-*s(default %s)\n",
            strlen(CHATD_CONFIG_FILE) + 39 < 80 ? 27 : 0, "",
            CHATD_CONFIG_FILE);
    print_option(f, 't', "check-config", NULL,
                 "check the configuration and exit (-v: show it)");
    print_option(f, 0, "add-account", "NAME",
                 "add account NAME (or set its password) in\n"
                 "state-dir, the password read from stdin, and exit");
    print_option(f, 0, "oper", NULL,
                 "with --add-account: the account is an operator");
    for (const struct settings_key *k = settings_keys; k->name; k++)
        print_option(f, k->shortopt, k->name, k->arg, k->help);
    print_option(f, 'h', "help", NULL, "show this help and exit");
    print_option(f, 'V', "version", NULL, "show the version and exit");
    fprintf(f, "\nEvery option but -c, -t, --add-account, --oper, -h and "
            "-V is also a key\nof the config file; the command line wins.  "
            "See chatd(8) and chatd.conf(5).\n");
    exit(0);
}

static void __attribute__((noreturn))
bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
bad_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cmd.progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(2);
}

/*
 * Exit 2 saying what is wrong with the option getopt_long() refused (ch
 * is '?' or ':') in getopt's words, but after "chatd: " as every other
 * message (getopt would put all of argv[0]).  elem is the argument it
 * was reading.
 */
static void __attribute__((noreturn))
option_error(int ch, const char *elem)
{
    char name[64], could[512] = "";
    size_t n, len = 0;
    int matches = 0;

    if (elem == NULL || strncmp(elem, "--", 2) != 0) {
        if (ch == ':')
            bad_usage("option requires an argument -- '%c'", optopt);
        bad_usage("invalid option -- '%c'", optopt);
    }
    n = strcspn(elem + 2, "=");
    snprintf(name, sizeof(name), "--%.*s", (int)(n < 48 ? n : 48), elem + 2);
    for (const struct option *o = long_opts; o->name && optopt; o++)
        if (o->val == optopt)           /* "--rat" is --rate */
            snprintf(name, sizeof(name), "--%s", o->name);
    if (ch == ':')
        bad_usage("option '%s' requires an argument", name);
    if (optopt != 0)
        bad_usage("option '%s' doesn't allow an argument", name);
    for (const struct option *o = long_opts; o->name; o++)
        if (strncmp(o->name, elem + 2, n) == 0 && len < sizeof(could)) {
            len += (size_t)snprintf(could + len, sizeof(could) - len,
                                    " '--%s'", o->name);
            matches++;
        }
    if (matches > 1)
        bad_usage("option '%s' is ambiguous; possibilities:%s", name,
                  could);
    bad_usage("unrecognized option '%s'", name);
}

/*
 * Apply the command line to s.  The first -b (or -v) replaces what the
 * config file said rather than adding to it.  With first_pass set, also
 * note -c and -t and handle --help and --version; any bad option or value
 * exits 2.  (The command line has been checked by the first pass by the
 * time later passes run, so they cannot fail.)
 */
void
cmdline_apply(struct settings *s, int first_pass)
{
    char seen[OPT_MAX] = { 0 };
    char err[256];
    int ch, at = 1;

    optind = 0;                         /* glibc: start over */
    opterr = 0;                         /* option_error() says it */
    while ((ch = getopt_long(cmd.argc, cmd.argv, short_opts, long_opts,
                             NULL)) != -1) {
        const struct settings_key *key = NULL;
        const char *elem = at < cmd.argc ? cmd.argv[at] : NULL;

        at = optind;                    /* what the next call reads */
        switch (ch) {
        case 'h':
            usage(0);
        case 'V':
            printf("%s\n", PACKAGE_STRING);
            exit(0);
        case 'c':
            if (first_pass) {
                cmd.config = optarg;
                cmd.config_given = 1;
            }
            continue;
        case 't':
            cmd.check = 1;
            continue;
        case OPT_ADD_ACCOUNT:
            cmd.add_account = optarg;
            continue;
        case OPT_OPER:
            cmd.add_oper = 1;
            continue;
        case '?':
        case ':':
            option_error(ch, elem);
        default:
            break;
        }
        if (ch >= 256)
            key = &settings_keys[ch - 256];
        else
            for (key = settings_keys; key->name; key++)
                if (key->shortopt == ch)
                    break;
        if (key == NULL || key->name == NULL)
            usage(2);
        if (!seen[key - settings_keys]++ &&
            (key->type == SET_LIST || key->type == SET_COUNT))
            settings_reset(s, key);
        if (settings_set(s, key, optarg, err, sizeof(err)) < 0)
            bad_usage("--%s", err);
        settings_note(s, key, SETTINGS_CMDLINE);
    }
    if (optind < cmd.argc)
        bad_usage("unexpected argument '%s'", cmd.argv[optind]);
    if (cmd.add_oper && cmd.add_account == NULL)
        bad_usage("--oper goes with --add-account NAME");
}

