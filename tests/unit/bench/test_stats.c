/* test_stats.c — unit tests of bench/ftpsbench_stats.c: every request ends once as a success or
 * one error (by reply code or failure kind), the balance check sees a request that never ended,
 * out-of-range codes land in "protocol", and merging threads adds everything. Must not: do I/O. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftpsbench_stats.h"

Test(stats, requests_equal_ok_plus_errors)
{
    fb_stats s;
    fb_stats_init(&s);
    for (int i = 0; i < 10; i++) fb_count_begin(&s.req);
    for (int i = 0; i < 6; i++) fb_count_ok(&s.req);
    fb_count_code(&s.req, 550);
    fb_count_code(&s.req, 425);
    fb_count_fail(&s.req, FB_F_TIMEOUT);
    cr_assert_not(fb_count_balanced(&s.req), "one request is still open");
    fb_count_code(&s.req, 1234); /* not a reply code: counted as a protocol failure */
    cr_assert(fb_count_balanced(&s.req));
    cr_assert_eq(fb_count_errors(&s.req), 4);
    cr_assert_eq(s.req.by_code[550], 1);
    cr_assert_eq(s.req.by_fail[FB_F_PROTOCOL], 1);
    cr_assert_eq(s.req.by_fail[FB_F_TIMEOUT], 1);
}

Test(stats, merge_adds_counts_bytes_and_histograms)
{
    fb_stats a, b;
    fb_stats_init(&a);
    fb_stats_init(&b);
    fb_count_begin(&a.req), fb_count_ok(&a.req);
    fb_count_begin(&b.req), fb_count_fail(&b.req, FB_F_DATA_TLS);
    fb_count_begin(&b.setup), fb_count_code(&b.setup, 421);
    a.bytes = 10, b.bytes = 32;
    fb_hist_record(&a.lat, 5);
    fb_hist_record(&b.lat, 7);
    fb_stats_merge(&a, &b);
    cr_assert_eq(a.req.requests, 2);
    cr_assert_eq(a.req.ok, 1);
    cr_assert_eq(a.req.by_fail[FB_F_DATA_TLS], 1);
    cr_assert_eq(a.setup.by_code[421], 1);
    cr_assert(fb_count_balanced(&a.req));
    cr_assert(fb_count_balanced(&a.setup));
    cr_assert_eq(a.bytes, 42);
    cr_assert_eq(a.lat.count, 2);
    cr_assert_eq(a.lat.max, 7);
}

Test(stats, every_failure_kind_has_a_distinct_name)
{
    for (int i = 0; i < FB_F_COUNT; i++) {
        cr_assert_not_null(fb_fail_name((fb_fail)i));
        cr_assert_neq(strcmp(fb_fail_name((fb_fail)i), "?"), 0);
        for (int j = 0; j < i; j++) cr_assert_neq(strcmp(fb_fail_name((fb_fail)i), fb_fail_name((fb_fail)j)), 0);
    }
}
