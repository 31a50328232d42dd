/*
 * check_config.c: unit tests for the config-file parser (conffile.c) and
 * the settings it fills, plus checks that the shipped sample chatd.conf
 * and chatd.conf(5) agree with the key table.  Single-threaded.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "harness.h"
#include "settings.h"

static struct settings s;
static char err[1024];

static void
setup(void)
{
    settings_defaults(&s);
    err[0] = '\0';
}

static void
teardown(void)
{
    settings_free(&s);
}

/* Start again from the defaults, within one test. */
static void
reset(void)
{
    teardown();
    setup();
}

/* Parse text as the file "t.conf". */
static int
parse(const char *text)
{
    return conffile_parse("t.conf", text, strlen(text), &s, err,
                          sizeof(err));
}

/* text must fail with exactly the message want. */
static void
bad(const char *text, const char *want)
{
    ck_assert_int_eq(parse(text), -1);
    ck_assert_str_eq(err, want);
}

/* What conffile_dump() writes for s; free() it. */
static char *
dump(const struct settings *from)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    conffile_dump(f, from);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

static const char *
srcfile(const char *name, char *buf, size_t len)
{
    const char *srcdir = getenv("srcdir");

    snprintf(buf, len, "%s/%s", srcdir ? srcdir : "..", name);
    return buf;
}

/* ------------------------------------------------------------ Good */

START_TEST(test_every_key)
{
    static const char text[] =
        "# a full file\n"
        "\n"
        "port = 7000\n"
        "bind = ::1\n"
        "bind=127.0.0.1\n"
        "\tworkers\t=\t3\t\n"
        "max-clients = 500   # trailing comment\n"
        "max-line = 2048\n"
        "sendq = 2M\n"
        "rate = 0\n"
        "burst = 5\n"
        "history = 10\n"
        "motd = /etc/chatd#1.motd\n"
        "user = nobody\n"
        "daemon = yes\n"
        "pidfile = /run/chatd.pid\n"
        "syslog = On\n"
        "verbose = 2\n";

    ck_assert_msg(parse(text) == 0, "%s", err);
    ck_assert_int_eq(s.port, 7000);
    ck_assert_int_eq(s.nbind, 2);
    ck_assert_str_eq(s.bind[0], "::1");
    ck_assert_str_eq(s.bind[1], "127.0.0.1");
    ck_assert_int_eq(s.workers, 3);
    ck_assert_int_eq(s.max_clients, 500);
    ck_assert_int_eq(s.max_line, 2048);
    ck_assert_int_eq(s.sendq, 2L << 20);
    ck_assert_int_eq(s.rate, 0);
    ck_assert_int_eq(s.burst, 5);
    ck_assert_int_eq(s.history, 10);
    ck_assert_str_eq(s.motd_file, "/etc/chatd#1.motd");
    ck_assert_str_eq(s.user, "nobody");
    ck_assert_int_eq(s.daemon, 1);
    ck_assert_str_eq(s.pidfile, "/run/chatd.pid");
    ck_assert_int_eq(s.syslog, 1);
    ck_assert_int_eq(s.verbose, 2);
}
END_TEST

START_TEST(test_empty_and_comments)
{
    struct settings d;

    settings_defaults(&d);
    ck_assert_int_eq(parse(""), 0);
    ck_assert_int_eq(parse("# only\n   # comments\n\n\t\n"), 0);
    for (const struct settings_key *k = settings_keys; k->name; k++)
        ck_assert_msg(settings_equal(&s, &d, k), "%s changed", k->name);
}
END_TEST

START_TEST(test_crlf_and_no_final_newline)
{
    ck_assert_msg(parse("rate = 3\r\nburst = 4\r\nhistory = 5") == 0, "%s",
                  err);
    ck_assert_int_eq(s.rate, 3);
    ck_assert_int_eq(s.burst, 4);
    ck_assert_int_eq(s.history, 5);
}
END_TEST

START_TEST(test_booleans)
{
    static const char *const yes[] = { "yes", "YES", "true", "on", "1" };
    static const char *const no[] = { "no", "False", "off", "0" };
    char line[64];

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        reset();
        snprintf(line, sizeof(line), "daemon = %s\n", yes[i]);
        ck_assert_msg(parse(line) == 0, "%s", err);
        ck_assert_int_eq(s.daemon, 1);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        snprintf(line, sizeof(line), "syslog = %s\n", no[i]);
        reset();
        s.syslog = 1;
        ck_assert_msg(parse(line) == 0, "%s", err);
        ck_assert_int_eq(s.syslog, 0);
    }
}
END_TEST

/* The strings point into storage the settings own, not into the text. */
START_TEST(test_strings_outlive_text)
{
    char text[] = "motd = /tmp/m\nbind = ::1\n";

    ck_assert_int_eq(conffile_parse("t.conf", text, strlen(text), &s, err,
                                    sizeof(err)), 0);
    memset(text, 'x', strlen(text));
    ck_assert_str_eq(s.motd_file, "/tmp/m");
    ck_assert_str_eq(s.bind[0], "::1");
}
END_TEST

/* What chatd -t -v prints parses back to the same settings. */
START_TEST(test_dump_round_trip)
{
    struct settings back;
    char *buf;

    ck_assert_int_eq(parse("bind = ::1\nbind = 10.0.0.1\nmotd = /m\n"
                           "rate = 7\nsendq = 3M\ndaemon = yes\n"), 0);
    buf = dump(&s);
    settings_defaults(&back);
    ck_assert_msg(conffile_parse("dump", buf, strlen(buf), &back, err,
                                 sizeof(err)) == 0, "%s", err);
    for (const struct settings_key *k = settings_keys; k->name; k++)
        ck_assert_msg(settings_equal(&s, &back, k), "%s differs", k->name);
    settings_free(&back);
    free(buf);
}
END_TEST

/* The dump says where each value came from: the file's line, the
 * command line (settings_note()), or the default. */
START_TEST(test_dump_origins)
{
    char *buf;

    ck_assert_int_eq(parse("# c\nrate = 5\n\nbind = ::1\nbind = 10.0.0.1\n"),
                     0);
    ck_assert_int_eq(settings_set(&s, settings_find("verbose"), NULL, err,
                                  sizeof(err)), 0);
    settings_note(&s, settings_find("verbose"), SETTINGS_CMDLINE);
    buf = dump(&s);
    ck_assert_msg(strstr(buf, "\nrate = 5  # t.conf:2\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "\nbind = ::1  # t.conf:4\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "\nbind = 10.0.0.1  # t.conf:5\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "\nverbose = 1  # command line\n"), "%s",
                  buf);
    ck_assert_msg(strstr(buf, "\nsendq = 1048576  # default\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "\n# motd: not set (default)\n"), "%s", buf);
    free(buf);
    /* Put back to the default, a value says so again. */
    settings_reset(&s, settings_find("rate"));
    buf = dump(&s);
    ck_assert_msg(strstr(buf, "\nrate = 20  # default\n"), "%s", buf);
    free(buf);
}
END_TEST

/* Addresses, as written: IPv4 dotted quads, IPv6 with a scope, names. */
START_TEST(test_addresses)
{
    ck_assert_msg(parse("bind = 127.0.0.1\nbind = ::1\nbind = fe80::1%lo\n"
                        "bind = localhost\nbind = 0.0.0.0\n") == 0, "%s",
                  err);
    ck_assert_int_eq(s.nbind, 5);
}
END_TEST

/* ------------------------------------------------------------- Bad */

/* A number that is no IPv4 address is not looked up as a name, and
 * "1.2.3" is not read as 1.2.0.3. */
START_TEST(test_bad_address)
{
    bad("bind = 1.2.3\n", "t.conf:1: bind: '1.2.3' is not an IPv4 address");
    reset();
    bad("bind = 999.1.1.1\n",
        "t.conf:1: bind: '999.1.1.1' is not an IPv4 address");
    reset();
    bad("bind = ::1\nbind = 1::2::3\n",
        "t.conf:2: bind: '1::2::3' is not an IPv6 address");
}
END_TEST

START_TEST(test_bad_missing_equals)
{
    bad("rate 20\n", "t.conf:1: rate: expected 'key = value'");
    reset();
    bad("# ok\n\nburst\n", "t.conf:3: burst: expected 'key = value'");
}
END_TEST

START_TEST(test_bad_missing_key)
{
    bad("= 20\n", "t.conf:1: missing key before '='");
}
END_TEST

START_TEST(test_bad_unknown_key)
{
    bad("port = 1\ncolour = red\n", "t.conf:2: colour: unknown key");
    reset();
    /* Command-line-only options are not keys. */
    bad("config = /etc/x\n", "t.conf:1: config: unknown key");
    reset();
    bad("Rate = 1\n", "t.conf:1: Rate: unknown key");
}
END_TEST

START_TEST(test_bad_missing_value)
{
    bad("rate =\n", "t.conf:1: rate: missing value");
    reset();
    bad("motd =   # nothing\n", "t.conf:1: motd: missing value");
}
END_TEST

START_TEST(test_bad_numbers)
{
    bad("rate = fast\n",
        "t.conf:1: rate: 'fast' is not a whole number from 0 to 1000000");
    reset();
    bad("port = 65536\n",
        "t.conf:1: port: '65536' is not off or a whole number from 0 to "
        "65535");
    reset();
    bad("workers = -1\n",
        "t.conf:1: workers: '-1' is not a whole number from 1 to 256");
    reset();
    bad("max-line = 12x\n",
        "t.conf:1: max-line: '12x' is not a whole number from 64 to 65536");
    reset();
    bad("history = 99999999999999999999\n",
        "t.conf:1: history: '99999999999999999999' is not a whole number "
        "from 0 to 10000");
}
END_TEST

START_TEST(test_bad_size)
{
    bad("sendq = 1T\n", "t.conf:1: sendq: '1T' is not a size (K, M, G "
        "suffixes) from 4096 to 1073741824");
    reset();
    bad("sendq = 1K\n", "t.conf:1: sendq: '1K' is not a size (K, M, G "
        "suffixes) from 4096 to 1073741824");
}
END_TEST

START_TEST(test_bad_bool)
{
    bad("daemon = maybe\n", "t.conf:1: daemon: 'maybe' is not yes or no");
}
END_TEST

START_TEST(test_bad_verbose)
{
    bad("verbose = 3\n",
        "t.conf:1: verbose: '3' is not a whole number from 0 to 2");
}
END_TEST

START_TEST(test_bad_twice)
{
    bad("rate = 1\nburst = 2\nrate = 3\n",
        "t.conf:3: rate: set again (first set on line 1)");
}
END_TEST

START_TEST(test_bad_too_many_binds)
{
    char text[1024] = "";

    for (int i = 0; i <= CHATD_BIND_MAX; i++)
        strcat(text, "bind = ::1\n");
    bad(text, "t.conf:17: bind: at most 16 addresses");
}
END_TEST

START_TEST(test_bad_nul)
{
    static const char text[] = "rate = 1\nbur\0st = 2\n";

    ck_assert_int_eq(conffile_parse("t.conf", text, sizeof(text) - 1, &s,
                                    err, sizeof(err)), -1);
    ck_assert_str_eq(err, "t.conf:2: NUL byte in line");
}
END_TEST

START_TEST(test_bad_long_line)
{
    size_t n = CONFFILE_LINE_MAX + 10;
    char *text = malloc(n + 32);

    ck_assert_ptr_nonnull(text);
    strcpy(text, "# fine\nmotd = ");
    memset(text + strlen(text), 'a', n);
    text[14 + n] = '\0';
    bad(text, "t.conf:2: line too long (max 4096 bytes)");
    free(text);
}
END_TEST

/* The first bad line is reported, and its line number counts every line,
 * comments and blanks included. */
START_TEST(test_bad_line_number)
{
    bad("# 1\n\n# 3\nrate = 1\n\n  \nburst = 0\nrate = x\n",
        "t.conf:7: burst: '0' is not a whole number from 1 to 1000000");
}
END_TEST

/* --------------------------------------------------------- Files */

START_TEST(test_load_missing)
{
    ck_assert_int_eq(conffile_load("/nonexistent/chatd.conf", 1, &s, err,
                                   sizeof(err)), 1);
    ck_assert_int_eq(conffile_load("/nonexistent/chatd.conf", 0, &s, err,
                                   sizeof(err)), -1);
    ck_assert_str_eq(err, "/nonexistent/chatd.conf: No such file or "
                     "directory");
}
END_TEST

START_TEST(test_load_directory)
{
    ck_assert_int_eq(conffile_load("/", 0, &s, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "/: not a regular file");
}
END_TEST

START_TEST(test_load_file)
{
    char path[] = "/tmp/check_config.XXXXXX";
    int fd = mkstemp(path);
    static const char text[] = "rate = 9\nbogus = 1\n";

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    close(fd);
    ck_assert_int_eq(conffile_load(path, 0, &s, err, sizeof(err)), -1);
    unlink(path);
    ck_assert_int_eq(strncmp(err, path, strlen(path)), 0);
    ck_assert_str_eq(err + strlen(path), ":2: bogus: unknown key");
}
END_TEST

/* One reader serves the config file (whole, or an error) and the MOTD
 * (the first max bytes). */
START_TEST(test_read_file)
{
    char path[] = "/tmp/check_config.XXXXXX";
    int fd = mkstemp(path);
    const char *why;
    char *text;
    size_t len;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    close(fd);
    ck_assert_int_eq(conffile_read_file(path, 4, 0, &text, &len, &why), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_str_eq(text, "0123");
    free(text);
    ck_assert_int_eq(conffile_read_file(path, 10, 1, &text, &len, &why), 0);
    ck_assert_str_eq(text, "0123456789");
    free(text);
    ck_assert_int_eq(conffile_read_file(path, 9, 1, &text, &len, &why), -1);
    ck_assert_str_eq(why, "file too large");
    ck_assert_ptr_null(text);
    unlink(path);
    ck_assert_int_eq(conffile_read_file(path, 9, 0, &text, &len, &why), -1);
    ck_assert_str_eq(why, "cannot open");
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(conffile_read_file("/", 9, 0, &text, &len, &why), -1);
    ck_assert_str_eq(why, "cannot read");
    ck_assert_int_eq(errno, EISDIR);
}
END_TEST

/* The shipped sample parses, names every key in a commented-out
 * "# key = value" line, and those values are the defaults. */
START_TEST(test_sample)
{
    struct settings d, un;
    char path[4096], line[512], text[65536] = "";
    FILE *f;

    ck_assert_msg(conffile_load(srcfile("chatd.conf", path, sizeof(path)),
                                0, &s, err, sizeof(err)) == 0, "%s", err);
    settings_defaults(&d);
    for (const struct settings_key *k = settings_keys; k->name; k++)
        ck_assert_msg(settings_equal(&s, &d, k), "%s not default", k->name);

    /* Uncomment the "# key = value" lines of the keys with a default. */
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        char key[64];
        const struct settings_key *k;
        if (sscanf(line, "# %63[a-z-] = ", key) != 1 ||
            strstr(line, " = ") == NULL || (k = settings_find(key)) == NULL)
            continue;
        if (k->type == SET_LIST || k->type == SET_STR ||
            k->offset == offsetof(struct settings, workers))
            continue;                   /* no default value to show */
        strcat(text, line + 2);
    }
    fclose(f);
    settings_defaults(&un);
    ck_assert_msg(conffile_parse("sample", text, strlen(text), &un, err,
                                 sizeof(err)) == 0, "%s", err);
    for (const struct settings_key *k = settings_keys; k->name; k++) {
        char want[64];
        snprintf(want, sizeof(want), "# %s = ", k->name);
        ck_assert_msg(strstr(text, k->name) != NULL ||
                      k->type == SET_LIST || k->type == SET_STR ||
                      k->offset == offsetof(struct settings, workers),
                      "sample lacks %s", k->name);
        ck_assert_msg(settings_equal(&un, &d, k),
                      "sample's %s is not the default", k->name);
    }
    settings_free(&un);
}
END_TEST

/* chatd.conf(5) (its source, man/chatd.conf.5.in) has an entry for every
 * key, and the sample a line. */
START_TEST(test_documented)
{
    char path[4096], want[128];
    static char page[262144], sample[65536];
    size_t n;
    FILE *f;

    f = fopen(srcfile("man/chatd.conf.5.in", path, sizeof(path)), "r");
    ck_assert_ptr_nonnull(f);
    n = fread(page, 1, sizeof(page) - 1, f);
    page[n] = '\0';
    fclose(f);
    f = fopen(srcfile("chatd.conf", path, sizeof(path)), "r");
    ck_assert_ptr_nonnull(f);
    n = fread(sample, 1, sizeof(sample) - 1, f);
    sample[n] = '\0';
    fclose(f);
    for (const struct settings_key *k = settings_keys; k->name; k++) {
        snprintf(want, sizeof(want), "\n.It Cm %s ", k->name);
        ck_assert_msg(strstr(page, want) != NULL,
                      "chatd.conf.5 lacks '.It Cm %s'", k->name);
        snprintf(want, sizeof(want), "\n# %s = ", k->name);
        ck_assert_msg(strstr(sample, want) != NULL,
                      "chatd.conf lacks '# %s = '", k->name);
    }
}
END_TEST

/* ------------------------------------------------------ Settings */

START_TEST(test_reset_and_equal)
{
    struct settings d;
    const struct settings_key *bind = settings_find("bind");
    const struct settings_key *rate = settings_find("rate");
    const struct settings_key *motd = settings_find("motd");

    settings_defaults(&d);
    ck_assert_int_eq(parse("bind = ::1\nrate = 1\nmotd = /m\n"), 0);
    ck_assert(!settings_equal(&s, &d, bind));
    ck_assert(!settings_equal(&s, &d, rate));
    ck_assert(!settings_equal(&s, &d, motd));
    settings_reset(&s, bind);
    settings_reset(&s, rate);
    settings_reset(&s, motd);
    ck_assert(settings_equal(&s, &d, bind));
    ck_assert(settings_equal(&s, &d, rate));
    ck_assert(settings_equal(&s, &d, motd));
}
END_TEST

/* A flag from the command line (value NULL) turns on or counts up. */
START_TEST(test_flags)
{
    const struct settings_key *v = settings_find("verbose");

    ck_assert_int_eq(settings_set(&s, settings_find("daemon"), NULL, err,
                                  sizeof(err)), 0);
    ck_assert_int_eq(s.daemon, 1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(settings_set(&s, v, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(s.verbose, CHATD_VERBOSE_MAX);
    ck_assert_int_eq(settings_set(&s, settings_find("rate"), NULL, err,
                                  sizeof(err)), -1);
    ck_assert_str_eq(err, "rate: missing value");
}
END_TEST

/* parse() and bad() from the defaults. */
static int
fresh_parse(const char *text)
{
    settings_free(&s);
    settings_defaults(&s);
    return parse(text);
}

static void
fresh_bad(const char *text, const char *want)
{
    settings_free(&s);
    settings_defaults(&s);
    bad(text, want);
}

/* The web keys: good values, and each bad one refused saying why. */
START_TEST(test_web_keys)
{
    ck_assert_msg(fresh_parse("web-port = 8080\nweb-tls = yes\n"
                        "web-origins = https://chat.example.org "
                        "http://localhost:8080\n"
                        "web-proxies = 127.0.0.1 ::1 10.0.0.0/8 fd00::/8\n")
                  == 0, "%s", err);
    ck_assert_int_eq(s.web_port, 8080);
    ck_assert_int_eq(s.web_tls, 1);
    ck_assert_str_eq(s.web_origins,
                     "https://chat.example.org http://localhost:8080");
    ck_assert_str_eq(s.web_proxies, "127.0.0.1 ::1 10.0.0.0/8 fd00::/8");
    ck_assert_msg(fresh_parse("web-port = off\n") == 0, "%s", err);
    ck_assert_int_eq(s.web_port, CHATD_PORT_OFF);
}
END_TEST

START_TEST(test_bad_web_values)
{
    struct settings_prefix pf;

    fresh_bad("web-port = 70000\n", "t.conf:1: web-port: '70000' is not "
              "off or a whole number from 0 to 65535");
    fresh_bad("web-origins = chat.example.org\n", "t.conf:1: web-origins: "
        "'chat.example.org': a list of origins such as "
        "https://chat.example.org (scheme://host[:port], no path)");
    fresh_bad("web-origins = https://a/path\n", "t.conf:1: web-origins: "
        "'https://a/path': a list of origins such as "
        "https://chat.example.org (scheme://host[:port], no path)");
    fresh_bad("web-proxies = 127.0.0.1 nginx\n", "t.conf:1: web-proxies: "
        "'127.0.0.1 nginx': a list of IP addresses, each maybe with "
        "/PREFIX, such as 127.0.0.1 ::1 10.0.0.0/8");
    fresh_bad("web-proxies = 10.0.0.0/33\n", "t.conf:1: web-proxies: "
        "'10.0.0.0/33': a list of IP addresses, each maybe with "
        "/PREFIX, such as 127.0.0.1 ::1 10.0.0.0/8");
    fresh_bad("web-tls = maybe\n",
              "t.conf:1: web-tls: 'maybe' is not yes or no");
    ck_assert_int_eq(settings_parse_prefix("10.1.2.3/8", 10, &pf), 0);
    ck_assert_int_eq(pf.bits, 104);
    ck_assert_int_eq(pf.addr[10], 0xff);
    ck_assert_int_eq(pf.addr[12], 10);
    ck_assert_int_eq(settings_parse_prefix("::1", 3, &pf), 0);
    ck_assert_int_eq(pf.bits, 128);
    ck_assert_int_eq(settings_parse_prefix("::1/129", 7, NULL), -1);
    ck_assert_int_eq(settings_parse_prefix("1.2.3/8", 7, NULL), -1);
}
END_TEST

/* The checks across keys of the web: TLS needs its pair, ports differ. */
START_TEST(test_web_checks)
{
    ck_assert_int_eq(fresh_parse("web-tls = yes\n"), 0);
    ck_assert_int_eq(settings_check(&s, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "web-tls needs web-port");
    ck_assert_int_eq(fresh_parse("web-port = 8080\nweb-tls = yes\n"), 0);
    ck_assert_int_eq(settings_check(&s, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "web-tls needs tls-cert and tls-key");
    ck_assert_int_eq(fresh_parse("web-port = 7777\n"), 0);
    ck_assert_int_eq(settings_check(&s, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "web-port 7777 is also port");
    ck_assert_int_eq(fresh_parse("port = off\nweb-port = 8080\n"), 0);
    ck_assert_int_eq(settings_check(&s, err, sizeof(err)), 0);
    ck_assert_int_eq(fresh_parse("port = off\n"), 0);
    ck_assert_int_eq(settings_check(&s, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "port is off and neither tls-port nor web-port "
                     "is set: nothing to listen on");
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *su = suite_create("config");
    TCase *tc;

    tc = tcase_create("Good");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_key);
    tcase_add_test(tc, test_empty_and_comments);
    tcase_add_test(tc, test_crlf_and_no_final_newline);
    tcase_add_test(tc, test_booleans);
    tcase_add_test(tc, test_strings_outlive_text);
    tcase_add_test(tc, test_dump_round_trip);
    tcase_add_test(tc, test_dump_origins);
    tcase_add_test(tc, test_addresses);
    tcase_add_test(tc, test_web_keys);
    tcase_add_test(tc, test_web_checks);
    suite_add_tcase(su, tc);

    tc = tcase_create("Bad");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bad_missing_equals);
    tcase_add_test(tc, test_bad_address);
    tcase_add_test(tc, test_bad_missing_key);
    tcase_add_test(tc, test_bad_unknown_key);
    tcase_add_test(tc, test_bad_missing_value);
    tcase_add_test(tc, test_bad_numbers);
    tcase_add_test(tc, test_bad_size);
    tcase_add_test(tc, test_bad_bool);
    tcase_add_test(tc, test_bad_verbose);
    tcase_add_test(tc, test_bad_twice);
    tcase_add_test(tc, test_bad_too_many_binds);
    tcase_add_test(tc, test_bad_nul);
    tcase_add_test(tc, test_bad_long_line);
    tcase_add_test(tc, test_bad_line_number);
    tcase_add_test(tc, test_bad_web_values);
    suite_add_tcase(su, tc);

    tc = tcase_create("Files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_load_missing);
    tcase_add_test(tc, test_load_directory);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_read_file);
    tcase_add_test(tc, test_sample);
    tcase_add_test(tc, test_documented);
    suite_add_tcase(su, tc);

    tc = tcase_create("Settings");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reset_and_equal);
    tcase_add_test(tc, test_flags);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    return h_run_suite(config_suite());
}
