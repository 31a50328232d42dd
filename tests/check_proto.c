/*
 * check_proto.c: unit tests of the pure protocol parts: line framing
 * (linebuf.c), sanitizing, nickname rules, command parsing and formatting
 * (proto.c).  Single-threaded.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "harness.h"
#include "proto.h"

/* ------------------------------------------------------------------ */
/* Framing                                                             */
/* ------------------------------------------------------------------ */

static struct linebuf lb;

static void
fr_setup(void)
{
    linebuf_init(&lb, 16);
}

static void
fr_teardown(void)
{
    linebuf_free(&lb);
}

static void
feed(const char *s)
{
    linebuf_append(&lb, s, strlen(s));
}

static void
expect_line(const char *want)
{
    char *line;
    size_t len;

    ck_assert_int_eq(linebuf_next(&lb, &line, &len), LINEBUF_LINE);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_str_eq(line, want);
}

static void
expect_none(void)
{
    char *line;
    size_t len;

    ck_assert_int_eq(linebuf_next(&lb, &line, &len), LINEBUF_NONE);
}

static void
expect_toolong(void)
{
    char *line;
    size_t len;

    ck_assert_int_eq(linebuf_next(&lb, &line, &len), LINEBUF_TOOLONG);
}

START_TEST(test_frame_partial)
{
    feed("hel");
    expect_none();
    feed("lo");
    expect_none();
    feed("\n");
    expect_line("hello");
    expect_none();
    ck_assert_ptr_null(lb.buf);         /* empty buffer is released */
}
END_TEST

START_TEST(test_frame_two_lines_one_read)
{
    feed("one\ntwo\nthr");
    expect_line("one");
    expect_line("two");
    expect_none();
    feed("ee\n");
    expect_line("three");
    expect_none();
}
END_TEST

START_TEST(test_frame_crlf)
{
    feed("a\r\nb\r");
    expect_line("a");
    expect_none();
    feed("\n");
    expect_line("b");
}
END_TEST

START_TEST(test_frame_lone_cr_kept_in_line)
{
    /* Only a CR right before LF is a terminator; the sanitizer drops
     * the others. */
    feed("a\rb\n");
    expect_line("a\rb");
}
END_TEST

START_TEST(test_frame_empty_lines)
{
    feed("\n\r\n\nx\n");
    expect_line("");
    expect_line("");
    expect_line("");
    expect_line("x");
    expect_none();
}
END_TEST

START_TEST(test_frame_exactly_max)
{
    feed("0123456789abcdef\n");         /* 16 bytes: the maximum */
    expect_line("0123456789abcdef");
    feed("0123456789abcdef\r\n");       /* CR not counted */
    expect_line("0123456789abcdef");
}
END_TEST

START_TEST(test_frame_over_max_in_one_chunk)
{
    feed("ok\n0123456789abcdefX\nafter\n");
    expect_line("ok");
    expect_toolong();
    expect_line("after");
    expect_none();
}
END_TEST

START_TEST(test_frame_over_max_discarded_without_buffering)
{
    feed("first\n0123456789");
    feed("abcdefghij");                 /* partial now 20 > 16+1 */
    ck_assert_uint_le(linebuf_buffered(&lb), 6);
    for (int i = 0; i < 1000; i++)
        feed("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    ck_assert_uint_le(linebuf_buffered(&lb), 6);
    expect_line("first");
    expect_toolong();
    expect_none();
    feed("tail of the long one\nnext\n");
    expect_line("next");
    expect_none();
}
END_TEST

START_TEST(test_frame_toolong_reported_once)
{
    feed("0123456789abcdefghijklmnop");
    expect_toolong();
    expect_none();
    feed("more junk\n");
    expect_none();
}
END_TEST

START_TEST(test_frame_nul_bytes)
{
    linebuf_append(&lb, "a\0b\n", 4);
    char *line;
    size_t len;
    ck_assert_int_eq(linebuf_next(&lb, &line, &len), LINEBUF_LINE);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(memcmp(line, "a\0b", 3), 0);
}
END_TEST

START_TEST(test_frame_byte_at_a_time)
{
    const char *s = "slow\nloris\n";
    for (const char *p = s; *p; p++)
        linebuf_append(&lb, p, 1);
    expect_line("slow");
    expect_line("loris");
    expect_none();
}
END_TEST

START_TEST(test_frame_has_line)
{
    ck_assert_int_eq(linebuf_has_line(&lb), 0);
    feed("abc");
    ck_assert_int_eq(linebuf_has_line(&lb), 0);
    feed("\n");
    ck_assert_int_eq(linebuf_has_line(&lb), 1);
    expect_line("abc");
    ck_assert_int_eq(linebuf_has_line(&lb), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Sanitizing                                                          */
/* ------------------------------------------------------------------ */

static char out[4096];

static const char *
clean(const char *in, size_t len)
{
    proto_sanitize(in, len, out);
    return out;
}

#define CLEAN(s) clean((s), sizeof(s) - 1)

START_TEST(test_sanitize_plain_and_tab)
{
    ck_assert_str_eq(CLEAN("hello, world"), "hello, world");
    ck_assert_str_eq(CLEAN("a\tb"), "a\tb");
}
END_TEST

START_TEST(test_sanitize_c0_esc_del)
{
    ck_assert_str_eq(CLEAN("\x1b[31mred\x1b[0m"), "[31mred[0m");
    ck_assert_str_eq(CLEAN("a\rb\x07\x08\x7f" "c"), "abc");
    ck_assert_str_eq(CLEAN("a\0b"), "ab");
    ck_assert_str_eq(CLEAN("\x01\x1f"), "");
}
END_TEST

START_TEST(test_sanitize_c1)
{
    /* U+009B (CSI) and U+0085 (NEL), encoded in UTF-8. */
    ck_assert_str_eq(CLEAN("a\xc2\x9b" "b\xc2\x85" "c"), "abc");
    /* U+00A0 is not a control. */
    ck_assert_str_eq(CLEAN("\xc2\xa0"), "\xc2\xa0");
}
END_TEST

START_TEST(test_sanitize_valid_utf8_kept)
{
    ck_assert_str_eq(CLEAN("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
                     "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
}
END_TEST

START_TEST(test_sanitize_invalid_utf8)
{
    /* stray continuation byte, raw C1 byte, lone lead byte */
    ck_assert_str_eq(CLEAN("a\x80" "b"), "a\xef\xbf\xbd" "b");
    ck_assert_str_eq(CLEAN("\x9b"), "\xef\xbf\xbd");
    ck_assert_str_eq(CLEAN("\xc3"), "\xef\xbf\xbd");
    /* overlong encodings of '/' and NUL */
    ck_assert_str_eq(CLEAN("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_str_eq(CLEAN("\xe0\x80\x80"),
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* UTF-16 surrogate U+D800 and a code point past U+10FFFF */
    ck_assert_str_eq(CLEAN("\xed\xa0\x80"),
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_str_eq(CLEAN("\xf4\x90\x80\x80"),
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* truncated sequence followed by ASCII */
    ck_assert_str_eq(CLEAN("\xe2\x82" "x"), "\xef\xbf\xbd\xef\xbf\xbd" "x");
}
END_TEST

START_TEST(test_sanitize_worst_case_fits)
{
    char in[100];
    memset(in, 0xff, sizeof(in));
    size_t n = proto_sanitize(in, sizeof(in), out);
    ck_assert_uint_eq(n, 300);
    ck_assert_uint_eq(strlen(out), 300);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Nicknames                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_nick_valid)
{
    const char *why = NULL;

    ck_assert(proto_nick_valid("alice", &why));
    ck_assert(proto_nick_valid("A_b-9", &why));
    ck_assert(proto_nick_valid("x", &why));
    ck_assert(proto_nick_valid("abcdefghijklmnopqrstuvwx", &why)); /* 24 */
}
END_TEST

START_TEST(test_nick_invalid)
{
    const char *why = NULL;

    ck_assert(!proto_nick_valid("", &why));
    ck_assert_str_eq(why, "nickname is empty");
    ck_assert(!proto_nick_valid("abcdefghijklmnopqrstuvwxy", &why));
    ck_assert_ptr_nonnull(strstr(why, "too long"));
    ck_assert(!proto_nick_valid("al ice", &why));
    ck_assert_ptr_nonnull(strstr(why, "A-Z a-z 0-9 _ -"));
    ck_assert(!proto_nick_valid("al\x1b" "ice", &why));
    ck_assert(!proto_nick_valid("\xc3\xa9t\xc3\xa9", &why));
    ck_assert(!proto_nick_valid("bob*", NULL));
}
END_TEST

START_TEST(test_nick_case)
{
    char f[PROTO_NICK_MAX + 1];

    ck_assert(proto_nick_equal("Alice", "aLICE"));
    ck_assert(!proto_nick_equal("alice", "alice2"));
    proto_nick_fold("MiXeD_-9", f);
    ck_assert_str_eq(f, "mixed_-9");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static struct proto_cmd cmd;
static char linebuf_[256];

static void
parse(const char *s)
{
    snprintf(linebuf_, sizeof(linebuf_), "%s", s);
    proto_parse(linebuf_, &cmd);
}

START_TEST(test_parse_text)
{
    parse("hello world");
    ck_assert_int_eq(cmd.type, PROTO_SAY);
    ck_assert_str_eq(cmd.text, "hello world");
    parse("//etc/passwd is a path");
    ck_assert_int_eq(cmd.type, PROTO_SAY);
    ck_assert_str_eq(cmd.text, "/etc/passwd is a path");
    parse("");
    ck_assert_int_eq(cmd.type, PROTO_EMPTY);
    parse(" /nick not a command");
    ck_assert_int_eq(cmd.type, PROTO_SAY);
}
END_TEST

START_TEST(test_parse_nick)
{
    parse("/nick bob");
    ck_assert_int_eq(cmd.type, PROTO_NICK);
    ck_assert_str_eq(cmd.arg, "bob");
    parse("/nick   bob  ");
    ck_assert_int_eq(cmd.type, PROTO_NICK);
    ck_assert_str_eq(cmd.arg, "bob");
    parse("/nick");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
    ck_assert_str_eq(cmd.text, "usage: /nick NAME");
    parse("/nick two words");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
}
END_TEST

START_TEST(test_parse_msg)
{
    parse("/msg bob hi there  ");
    ck_assert_int_eq(cmd.type, PROTO_MSG);
    ck_assert_str_eq(cmd.arg, "bob");
    ck_assert_str_eq(cmd.text, "hi there  ");
    parse("/msg bob");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
    ck_assert_str_eq(cmd.text, "usage: /msg NAME text");
    parse("/msg");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
}
END_TEST

START_TEST(test_parse_me_who_help_quit)
{
    parse("/me waves");
    ck_assert_int_eq(cmd.type, PROTO_ME);
    ck_assert_str_eq(cmd.text, "waves");
    parse("/me");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
    parse("/who");
    ck_assert_int_eq(cmd.type, PROTO_WHO);
    parse("/who x");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
    parse("/help");
    ck_assert_int_eq(cmd.type, PROTO_HELP);
    parse("/quit");
    ck_assert_int_eq(cmd.type, PROTO_QUIT);
    ck_assert_str_eq(cmd.text, "");
    parse("/quit gone fishing");
    ck_assert_int_eq(cmd.type, PROTO_QUIT);
    ck_assert_str_eq(cmd.text, "gone fishing");
}
END_TEST

START_TEST(test_parse_history)
{
    static const char *const bad[] = { "/history 0", "/history 501",
        "/history -1", "/history x", "/history 1 2", "/history 0012",
        "/history +5", "/history 5x", "/history 1000", NULL };

    parse("/history");
    ck_assert_int_eq(cmd.type, PROTO_HISTORY);
    ck_assert_ptr_null(cmd.arg);
    parse("/history 1");
    ck_assert_int_eq(cmd.type, PROTO_HISTORY);
    ck_assert_str_eq(cmd.arg, "1");
    parse("/HISTORY  500 ");
    ck_assert_int_eq(cmd.type, PROTO_HISTORY);
    ck_assert_str_eq(cmd.arg, "500");
    parse("/history 050");
    ck_assert_int_eq(cmd.type, PROTO_HISTORY);
    for (int i = 0; bad[i]; i++) {
        parse(bad[i]);
        ck_assert_msg(cmd.type == PROTO_BAD, "%s accepted", bad[i]);
        ck_assert_str_eq(cmd.text, "usage: /history [N], N lines from 1 "
                         "to 500");
    }
}
END_TEST

START_TEST(test_parse_unknown)
{
    parse("/frobnicate now");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
    ck_assert_ptr_nonnull(strstr(cmd.text, "unknown command"));
    parse("/");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
}
END_TEST

/* Issue 11: command names ignore case; a line of blanks is empty; a
 * nickname with a space says what is wrong with it. */
START_TEST(test_issue_11_papercuts)
{
    parse("/NICK bob");
    ck_assert_int_eq(cmd.type, PROTO_NICK);
    ck_assert_str_eq(cmd.arg, "bob");
    parse("/Msg bob hi");
    ck_assert_int_eq(cmd.type, PROTO_MSG);
    parse("/WHO");
    ck_assert_int_eq(cmd.type, PROTO_WHO);
    parse("    ");
    ck_assert_int_eq(cmd.type, PROTO_EMPTY);
    parse(" \t ");
    ck_assert_int_eq(cmd.type, PROTO_EMPTY);
    parse("  hi");
    ck_assert_int_eq(cmd.type, PROTO_SAY);
    ck_assert_str_eq(cmd.text, "  hi");
    parse("/nick bad name");
    ck_assert_int_eq(cmd.type, PROTO_BAD);
    ck_assert_ptr_nonnull(strstr(cmd.text, "cannot contain spaces"));
    ck_assert(proto_guest_name("guest5"));
    ck_assert(!proto_guest_name("guest5x"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_format_kinds)
{
    char b[128];

    proto_format(b, sizeof(b), PROTO_PUBLIC, "alice", "hi");
    ck_assert_str_eq(b, "<alice> hi\n");
    proto_format(b, sizeof(b), PROTO_ACTION, "alice", "waves");
    ck_assert_str_eq(b, "* alice waves\n");
    proto_format(b, sizeof(b), PROTO_PRIVATE, "alice", "psst");
    ck_assert_str_eq(b, "*alice* psst\n");
    proto_format(b, sizeof(b), PROTO_SENT, "bob", "psst");
    ck_assert_str_eq(b, "-> *bob* psst\n");
    proto_format(b, sizeof(b), PROTO_NOTICE, NULL, "bob has joined");
    ck_assert_str_eq(b, "*** bob has joined\n");
    proto_format(b, sizeof(b), PROTO_ERROR, NULL, "server full");
    ck_assert_str_eq(b, "*** error: server full\n");
}
END_TEST

START_TEST(test_format_truncates_keeping_lf)
{
    char b[8];
    size_t n = proto_format(b, sizeof(b), PROTO_PUBLIC, "alice", "hello");
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(b[6], '\n');
    ck_assert_int_eq(b[7], '\0');
}
END_TEST

START_TEST(test_help_lines)
{
    const char *const *h = proto_help_lines();
    int n = 0, has_msg = 0;

    for (; *h; h++, n++)
        has_msg |= strstr(*h, "/msg") != NULL;
    ck_assert_int_gt(n, 5);
    ck_assert(has_msg);
}
END_TEST

static Suite *
proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc;

    tc = tcase_create("Framing");
    tcase_add_checked_fixture(tc, fr_setup, fr_teardown);
    tcase_add_test(tc, test_frame_partial);
    tcase_add_test(tc, test_frame_two_lines_one_read);
    tcase_add_test(tc, test_frame_crlf);
    tcase_add_test(tc, test_frame_lone_cr_kept_in_line);
    tcase_add_test(tc, test_frame_empty_lines);
    tcase_add_test(tc, test_frame_exactly_max);
    tcase_add_test(tc, test_frame_over_max_in_one_chunk);
    tcase_add_test(tc, test_frame_over_max_discarded_without_buffering);
    tcase_add_test(tc, test_frame_toolong_reported_once);
    tcase_add_test(tc, test_frame_nul_bytes);
    tcase_add_test(tc, test_frame_byte_at_a_time);
    tcase_add_test(tc, test_frame_has_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("Sanitize");
    tcase_add_test(tc, test_sanitize_plain_and_tab);
    tcase_add_test(tc, test_sanitize_c0_esc_del);
    tcase_add_test(tc, test_sanitize_c1);
    tcase_add_test(tc, test_sanitize_valid_utf8_kept);
    tcase_add_test(tc, test_sanitize_invalid_utf8);
    tcase_add_test(tc, test_sanitize_worst_case_fits);
    suite_add_tcase(s, tc);

    tc = tcase_create("Nick");
    tcase_add_test(tc, test_nick_valid);
    tcase_add_test(tc, test_nick_invalid);
    tcase_add_test(tc, test_nick_case);
    suite_add_tcase(s, tc);

    tc = tcase_create("Parse");
    tcase_add_test(tc, test_parse_text);
    tcase_add_test(tc, test_parse_nick);
    tcase_add_test(tc, test_parse_msg);
    tcase_add_test(tc, test_parse_me_who_help_quit);
    tcase_add_test(tc, test_parse_history);
    tcase_add_test(tc, test_parse_unknown);
    tcase_add_test(tc, test_issue_11_papercuts);
    suite_add_tcase(s, tc);

    tc = tcase_create("Format");
    tcase_add_test(tc, test_format_kinds);
    tcase_add_test(tc, test_format_truncates_keeping_lf);
    tcase_add_test(tc, test_help_lines);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return h_run_suite(proto_suite());
}
