/* ftpsbench_hist.h — a log-linear latency histogram (values in microseconds).
 *
 * Owns: recording values into buckets of bounded relative width (32 sub-buckets per power of
 * two: every recorded value lies within 1/32 ≈ 3.1 % of its bucket's upper bound), merging the
 * histograms of several threads, and reading percentiles, count, minimum, maximum and mean.
 * Must not: allocate, lock, or know what is being measured (the caller owns the units). */
#ifndef FTPSBENCH_HIST_H
#define FTPSBENCH_HIST_H

#include <stdint.h>

#define FB_HIST_SUB_BITS 5
#define FB_HIST_SUB (1u << FB_HIST_SUB_BITS)
/* Values below 2 * FB_HIST_SUB are exact; each octave above has FB_HIST_SUB buckets. */
#define FB_HIST_BUCKETS ((65 - FB_HIST_SUB_BITS) * FB_HIST_SUB)

typedef struct fb_hist {
    uint64_t count, sum, min, max;
    uint64_t b[FB_HIST_BUCKETS];
} fb_hist;

void fb_hist_init(fb_hist *h);
void fb_hist_record(fb_hist *h, uint64_t v);
void fb_hist_merge(fb_hist *into, const fb_hist *from);
/* The bucket of a value, and the largest value that lands in a bucket (tests, percentiles). */
unsigned fb_hist_index(uint64_t v);
uint64_t fb_hist_upper(unsigned idx);
/* The value at or below which q (0..100) percent of the recorded values lie: the upper bound
 * of the bucket holding the ceil(q% * count)-th value, clamped to [min, max]. 0 when empty. */
uint64_t fb_hist_pct(const fb_hist *h, double q);
double fb_hist_mean(const fb_hist *h);

#endif
