/* test_str.c — unit tests of core/engine/ftp_str.c: views (case folding, trim, word split, decimal
 * parsing) and ftp_buf (growth, the hard limit, the sticky failed flag, printf, NUL termination).
 * Must not: depend on anything but the engine library. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftp_str.h"

Test(str, view_cstr_and_eq_nocase)
{
    ftp_view v = ftp_view_cstr("RetR");
    cr_assert_eq(v.n, 4);
    cr_assert(ftp_view_eq_nocase(v, "RETR"));
    cr_assert(ftp_view_eq_nocase(v, "retr"));
    cr_assert_not(ftp_view_eq_nocase(v, "RET"));
    cr_assert_not(ftp_view_eq_nocase(v, "RETRX"));
    cr_assert_eq(ftp_view_cstr(NULL).n, 0);
    /* only ASCII letters fold: '@' (0x40) and '`' (0x60) differ */
    cr_assert_not(ftp_view_eq_nocase(FTP_VIEW_LIT("@"), "`"));
}

Test(str, starts_nocase)
{
    cr_assert(ftp_view_starts_nocase(FTP_VIEW_LIT("AUTH TLS"), "auth"));
    cr_assert(ftp_view_starts_nocase(FTP_VIEW_LIT("x"), ""));
    cr_assert_not(ftp_view_starts_nocase(FTP_VIEW_LIT("AU"), "auth"));
}

Test(str, trim)
{
    ftp_view t = ftp_view_trim(FTP_VIEW_LIT(" \t a b \t "));
    cr_assert_eq(t.n, 3);
    cr_assert_eq(memcmp(t.p, "a b", 3), 0);
    cr_assert_eq(ftp_view_trim(FTP_VIEW_LIT("   ")).n, 0);
    cr_assert_eq(ftp_view_trim(FTP_VIEW_LIT("")).n, 0);
}

Test(str, split_word)
{
    ftp_view head;
    ftp_view rest = ftp_view_split_word(FTP_VIEW_LIT("STOR   my file  "), &head);
    cr_assert(ftp_view_eq_nocase(head, "stor"));
    cr_assert_eq(rest.n, 9);
    cr_assert_eq(memcmp(rest.p, "my file  ", 9), 0);
    rest = ftp_view_split_word(FTP_VIEW_LIT("NOOP"), &head);
    cr_assert(ftp_view_eq_nocase(head, "NOOP"));
    cr_assert_eq(rest.n, 0);
    rest = ftp_view_split_word(FTP_VIEW_LIT(""), &head);
    cr_assert_eq(head.n, 0);
    cr_assert_eq(rest.n, 0);
}

Test(str, to_u64)
{
    uint64_t x = 7;
    cr_assert(ftp_view_to_u64(FTP_VIEW_LIT("0"), &x));
    cr_assert_eq(x, 0);
    cr_assert(ftp_view_to_u64(FTP_VIEW_LIT("18446744073709551615"), &x));
    cr_assert_eq(x, UINT64_MAX);
    cr_assert_not(ftp_view_to_u64(FTP_VIEW_LIT("18446744073709551616"), &x));
    cr_assert_not(ftp_view_to_u64(FTP_VIEW_LIT(""), &x));
    cr_assert_not(ftp_view_to_u64(FTP_VIEW_LIT("12a"), &x));
    cr_assert_not(ftp_view_to_u64(FTP_VIEW_LIT("-1"), &x));
    cr_assert_not(ftp_view_to_u64(FTP_VIEW_LIT(" 1"), &x));
}

Test(str, buf_append_grows_and_terminates)
{
    ftp_buf b;
    ftp_buf_init(&b, 0);
    cr_assert_eq(b.max, (size_t)64 * 1024 * 1024);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(ftp_buf_append_cstr(&b, "0123456789"), 0);
    cr_assert_eq(b.len, 10000);
    cr_assert_eq(b.p[b.len], '\0');
    cr_assert_geq(b.cap, b.len + 1);
    cr_assert_eq(memcmp(b.p + 9990, "0123456789", 10), 0);
    cr_assert_eq(ftp_buf_append_char(&b, 'x'), 0);
    cr_assert_eq(ftp_buf_append_view(&b, FTP_VIEW_LIT("yz")), 0);
    cr_assert_str_eq(b.p + 10000, "xyz");
    ftp_buf_clear(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.p, "");
    ftp_buf_free(&b);
    cr_assert_null(b.p);
}

Test(str, buf_limit_is_exact_and_failed_is_sticky)
{
    ftp_buf b;
    ftp_buf_init(&b, 10);
    cr_assert_eq(ftp_buf_append(&b, "0123456789", 10), 0);
    cr_assert_not(b.failed);
    cr_assert_eq(ftp_buf_append_char(&b, 'x'), -1);
    cr_assert(b.failed);
    cr_assert_eq(b.len, 10);
    cr_assert_str_eq(b.p, "0123456789");
    ftp_buf_clear(&b);
    cr_assert_not(b.failed);
    cr_assert_eq(ftp_buf_append(&b, "abc", 3), 0);
    /* an oversized append is refused whole, and later appends are refused too */
    cr_assert_eq(ftp_buf_append(&b, "12345678", 8), -1);
    cr_assert_str_eq(b.p, "abc");
    cr_assert_eq(ftp_buf_append(&b, "1", 1), -1);
    cr_assert_str_eq(b.p, "abc");
    /* a size that would overflow size_t is refused, not wrapped */
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_buf_append(&b, "a", SIZE_MAX), -1);
    cr_assert(b.failed);
    ftp_buf_free(&b);
}

Test(str, buf_printf)
{
    ftp_buf b;
    ftp_buf_init(&b, 0);
    cr_assert_eq(ftp_buf_printf(&b, "%d %s", 257, "\"/\""), 0);
    cr_assert_str_eq(b.p, "257 \"/\"");
    char big[300];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(ftp_buf_printf(&b, "|%s|", big), 0);
    cr_assert_eq(b.len, 7 + 301);
    cr_assert_eq(b.p[b.len - 1], '|');
    ftp_buf_free(&b);

    ftp_buf s;
    ftp_buf_init(&s, 8);
    cr_assert_eq(ftp_buf_printf(&s, "%s", "123456789"), -1);
    cr_assert(s.failed);
    cr_assert_eq(s.len, 0);
    ftp_buf_free(&s);
}

Test(str, copy_bounded)
{
    char d[4];
    cr_assert_eq(ftp_copy_bounded(d, sizeof d, FTP_VIEW_LIT("abc")), 0);
    cr_assert_str_eq(d, "abc");
    cr_assert_eq(ftp_copy_bounded(d, sizeof d, FTP_VIEW_LIT("abcd")), -1);
    cr_assert_str_eq(d, "");
    cr_assert_eq(ftp_copy_bounded(d, sizeof d, FTP_VIEW_LIT("")), 0);
    cr_assert_str_eq(d, "");
}

/* RFC 959 §4.1: one <SP> between verb and argument; RFC 3659 §2.2: the rest is the argument. */
Test(str, split_verb_keeps_leading_spaces_of_the_argument)
{
    ftp_view verb;
    ftp_view rest = ftp_view_split_verb(ftp_view_cstr("  RETR  leadsp"), &verb);
    cr_assert_eq(verb.n, 4);
    cr_assert_eq(memcmp(verb.p, "RETR", 4), 0);
    cr_assert_eq(rest.n, 7);
    cr_assert_eq(memcmp(rest.p, " leadsp", 7), 0);
    rest = ftp_view_split_verb(ftp_view_cstr("NOOP"), &verb);
    cr_assert_eq(verb.n, 4);
    cr_assert_eq(rest.n, 0);
    rest = ftp_view_split_verb(ftp_view_cstr(""), &verb);
    cr_assert_eq(verb.n, 0);
    cr_assert_eq(rest.n, 0);
}

Test(str, utf8_valid)
{
    cr_assert(ftp_utf8_valid("plain", 5));
    cr_assert(ftp_utf8_valid("", 0));
    cr_assert(ftp_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    cr_assert_not(ftp_utf8_valid("\xe9", 1));
    cr_assert_not(ftp_utf8_valid("\xc0\x80", 2));
    cr_assert_not(ftp_utf8_valid("\xe0\x80\xaf", 3));
    cr_assert_not(ftp_utf8_valid("\xed\xbf\xbf", 3));
    cr_assert_not(ftp_utf8_valid("\xf5\x80\x80\x80", 4));
    cr_assert_not(ftp_utf8_valid("\xc3", 1));
    cr_assert_not(ftp_utf8_valid("\xff", 1));
}

/* RFC 854: 0xFF is IAC on the control connection; RFC 3659 §2.2: doubled in path names. */
Test(str, double_iac)
{
    ftp_buf b;
    ftp_buf_init(&b, 0);
    ftp_buf_append_cstr(&b, "keep\xff|a\xff\xff"
                            "b\xff");
    cr_assert_eq(ftp_buf_double_iac(&b, 5), 0);
    cr_assert_eq(b.len, 5 + 9);
    cr_assert_eq(memcmp(b.p, "keep\xff|a\xff\xff\xff\xff"
                             "b\xff\xff",
                        14),
                 0);
    cr_assert_eq(b.p[b.len], '\0');
    cr_assert_eq(ftp_buf_double_iac(&b, b.len), 0); /* nothing after `from` */
    ftp_buf_free(&b);
    ftp_buf lim;
    ftp_buf_init(&lim, 4);
    ftp_buf_append(&lim, "a\xff", 2);
    ftp_buf_append(&lim, "\xff\xff", 2);
    cr_assert_eq(ftp_buf_double_iac(&lim, 0), -1, "over the limit: refused, marked failed");
    cr_assert(lim.failed);
    ftp_buf_free(&lim);
}
