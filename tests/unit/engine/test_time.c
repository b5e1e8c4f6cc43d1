/* test_time.c — unit tests of core/engine/ftp_time.c: MDTM formatting and parsing (calendar checks,
 * fractions, leap years), the ls date column (six-month window, future stamps), and a cross-check
 * of the civil-date arithmetic against the C library's gmtime_r over a wide range of stamps.
 * Must not: depend on the local time zone (gmtime_r only). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ftp_time.h"

static void mdtm_is(int64_t t, const char *want)
{
    char out[15];
    ftp_time_mdtm(t, out);
    cr_assert_str_eq(out, want, "t=%lld", (long long)t);
}

Test(time, mdtm_known_values)
{
    mdtm_is(0, "19700101000000");
    mdtm_is(1700000000, "20231114221320");
    mdtm_is(951782400, "20000229000000");
    mdtm_is(-1, "19691231235959");
    mdtm_is(-2208988800LL, "19000101000000");
    mdtm_is(253402300799LL, "99991231235959");
    mdtm_is(INT64_MAX, "99991231235959"); /* clamped, width kept */
    mdtm_is(INT64_MIN, "00010101000000");
}

Test(time, mdtm_matches_gmtime)
{
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* 1900 .. 9999 */
        int64_t t = -2208988800LL + (int64_t)(x % (253402300799ULL + 2208988800ULL));
        time_t tt = (time_t)t;
        struct tm tm;
        cr_assert_not_null(gmtime_r(&tt, &tm));
        char want[32], got[15];
        snprintf(want, sizeof want, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        ftp_time_mdtm(t, got);
        cr_assert_str_eq(got, want, "t=%lld", (long long)t);
        int64_t back;
        cr_assert_eq(ftp_time_parse_mdtm(ftp_view_cstr(got), &back), 0);
        cr_assert_eq(back, t);
    }
}

Test(time, parse_ok)
{
    int64_t t;
    cr_assert_eq(ftp_time_parse_mdtm(FTP_VIEW_LIT("20231114221320"), &t), 0);
    cr_assert_eq(t, 1700000000);
    cr_assert_eq(ftp_time_parse_mdtm(FTP_VIEW_LIT("20231114221320.123"), &t), 0);
    cr_assert_eq(t, 1700000000);
    cr_assert_eq(ftp_time_parse_mdtm(FTP_VIEW_LIT("20000229000000"), &t), 0);
    cr_assert_eq(ftp_time_parse_mdtm(FTP_VIEW_LIT("20241231235960"), &t), 0); /* leap second */
    cr_assert_eq(t, 1735689600);
    cr_assert_eq(ftp_time_parse_mdtm(FTP_VIEW_LIT("19000101000000"), &t), 0);
    cr_assert_eq(t, -2208988800LL);
}

Test(time, parse_bad)
{
    static const char *bad[] = { "", "2023111422132", "202311142213201", "2023111422132x",
                                 "20231314221320", "20230014221320", "20230100221320", "20230230000000",
                                 "19000229000000", "21000229000000", "20230431000000", "20231114241320",
                                 "20231114226020", "20231114221361", "00000101000000",
                                 "20231114221320.", "20231114221320.12a", "20231114221320,1",
                                 " 20231114221320", "20231114221320 ", "-2023111422132",
                                 "20231114221320.1234567890" };
    int64_t t = 42;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(ftp_time_parse_mdtm(ftp_view_cstr(bad[i]), &t), -1, "%s", bad[i]);
    cr_assert_eq(t, 42);
}

static void ls_is(int64_t t, int64_t now, const char *want)
{
    char out[13];
    ftp_time_ls(t, now, out);
    cr_assert_eq(strlen(out), 12);
    cr_assert_str_eq(out, want, "t=%lld now=%lld", (long long)t, (long long)now);
}

Test(time, ls_column)
{
    int64_t now = 1700000000; /* Tue Nov 14 22:13:20 2023 UTC */
    ls_is(now, now, "Nov 14 22:13");
    ls_is(now - 86400 * 7, now, "Nov  7 22:13");
    ls_is(now + 3600, now, "Nov 14 23:13");     /* up to one hour ahead: clock skew */
    ls_is(now + 3601, now, "Nov 14  2023");     /* further in the future: year form */
    ls_is(now - 15778475, now, "May 16 07:18"); /* just inside six months */
    ls_is(now - 15778476, now, "May 16  2023"); /* six months: year form */
    ls_is(0, now, "Jan  1  1970");
    ls_is(-2208988800LL, now, "Jan  1  1900");
    ls_is(253402300799LL, now, "Dec 31  9999");
    ls_is(INT64_MAX, INT64_MIN, "Dec 31  9999");
    ls_is(INT64_MIN, INT64_MAX, "Jan  1     1");
}
