/* test_hist.c — unit tests of bench/ftpsbench_hist.c: bucket boundaries (exact below 64, then 32
 * buckets per octave), the relative error bound, percentiles against a sorted reference, merging,
 * and the extremes (0, UINT64_MAX, an empty histogram). Must not: depend on timing. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ftpsbench_hist.h"

Test(hist, exact_small_values)
{
    for (uint64_t v = 0; v < 2 * FB_HIST_SUB; v++) {
        cr_assert_eq(fb_hist_index(v), v);
        cr_assert_eq(fb_hist_upper((unsigned)v), v);
    }
}

Test(hist, buckets_are_contiguous_and_bounded)
{
    /* every value lies in its bucket, within 1/32 of the bucket's upper bound, and buckets do
     * not overlap: the upper bound of bucket i + 1 is the lower bound of bucket i + 1 */
    uint64_t vals[] = { 64, 65, 66, 127, 128, 129, 1000, 4095, 4096, 123456789, 1ull << 40, (1ull << 62) + 12345 };
    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        uint64_t v = vals[k];
        unsigned i = fb_hist_index(v);
        cr_assert_lt(i, FB_HIST_BUCKETS);
        uint64_t hi = fb_hist_upper(i);
        cr_assert_geq(hi, v, "value %llu above its bucket's bound %llu", (unsigned long long)v, (unsigned long long)hi);
        cr_assert_leq((double)(hi - v), (double)v / 32.0 + 1, "bucket too wide at %llu", (unsigned long long)v);
        cr_assert_eq(fb_hist_index(hi), i);
        cr_assert_eq(fb_hist_index(hi + 1), i + 1);
    }
    cr_assert_eq(fb_hist_index(UINT64_MAX), FB_HIST_BUCKETS - 1);
    cr_assert_eq(fb_hist_upper(FB_HIST_BUCKETS - 1), UINT64_MAX);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

Test(hist, percentiles_match_sorted_reference)
{
    enum { N = 10000 };
    static uint64_t v[N];
    fb_hist h;
    fb_hist_init(&h);
    srand(7);
    for (int i = 0; i < N; i++) {
        v[i] = (uint64_t)(rand() % 1000000) + (i % 10 == 0 ? 5000000u : 0u); /* a long tail */
        fb_hist_record(&h, v[i]);
    }
    qsort(v, N, sizeof(v[0]), cmp_u64);
    double qs[] = { 50, 90, 99, 99.9 };
    for (size_t k = 0; k < 4; k++) {
        uint64_t ref = v[(size_t)(qs[k] / 100.0 * N + 0.999999) - 1];
        uint64_t got = fb_hist_pct(&h, qs[k]);
        cr_assert_geq(got, ref, "p%.1f: %llu < %llu", qs[k], (unsigned long long)got, (unsigned long long)ref);
        cr_assert_leq((double)got, (double)ref * (1 + 1.0 / 32) + 1, "p%.1f: %llu too far above %llu", qs[k],
                      (unsigned long long)got, (unsigned long long)ref);
    }
    cr_assert_eq(fb_hist_pct(&h, 100), v[N - 1]);
    cr_assert_eq(fb_hist_pct(&h, 0), v[0]);
    cr_assert_eq(h.count, N);
}

Test(hist, merge_and_empty)
{
    fb_hist a, b;
    fb_hist_init(&a);
    fb_hist_init(&b);
    cr_assert_eq(fb_hist_pct(&a, 50), 0);
    cr_assert_eq(fb_hist_mean(&a), 0.0);
    for (uint64_t i = 1; i <= 100; i++) fb_hist_record(&a, i);
    for (uint64_t i = 1001; i <= 1100; i++) fb_hist_record(&b, i);
    fb_hist_merge(&a, &b);
    cr_assert_eq(a.count, 200);
    cr_assert_eq(a.min, 1);
    cr_assert_eq(a.max, 1100);
    cr_assert_leq(fb_hist_pct(&a, 50), 104); /* the 100th value is 100; its bucket ends within 1/32 */
    cr_assert_geq(fb_hist_pct(&a, 51), 1001);
    cr_assert_float_eq(fb_hist_mean(&a), (5050.0 + 105050.0) / 200, 1e-9);
}

Test(hist, single_value_clamped)
{
    fb_hist h;
    fb_hist_init(&h);
    fb_hist_record(&h, 1000);
    cr_assert_eq(fb_hist_pct(&h, 50), 1000); /* clamped to max, not the bucket bound */
    cr_assert_eq(fb_hist_pct(&h, 99), 1000);
}
