/* ftpsbench_hist.c — the log-linear histogram of ftpsbench_hist.h.
 * Owns: bucket arithmetic and percentile reading. Must not: allocate or know the units. */
#include "ftpsbench_hist.h"

#include <math.h>
#include <string.h>

void fb_hist_init(fb_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned fb_hist_index(uint64_t v)
{
    if (v < 2 * FB_HIST_SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)), e > SUB_BITS */
    unsigned shift = e - FB_HIST_SUB_BITS;           /* keep the leading bit and SUB_BITS more */
    unsigned m = (unsigned)(v >> shift);             /* in [SUB, 2*SUB) */
    return (e - FB_HIST_SUB_BITS + 1) * FB_HIST_SUB + (m - FB_HIST_SUB);
}

uint64_t fb_hist_upper(unsigned idx)
{
    if (idx < 2 * FB_HIST_SUB) return idx;
    unsigned e = idx / FB_HIST_SUB + FB_HIST_SUB_BITS - 1;
    uint64_t m = idx % FB_HIST_SUB + FB_HIST_SUB;
    unsigned shift = e - FB_HIST_SUB_BITS;
    uint64_t hi = ((m + 1) << shift) - 1;
    return hi < (m << shift) ? UINT64_MAX : hi; /* the last bucket ends at UINT64_MAX */
}

void fb_hist_record(fb_hist *h, uint64_t v)
{
    h->b[fb_hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
}

void fb_hist_merge(fb_hist *into, const fb_hist *from)
{
    for (unsigned i = 0; i < FB_HIST_BUCKETS; i++) into->b[i] += from->b[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->min < into->min) into->min = from->min;
    if (from->max > into->max) into->max = from->max;
}

uint64_t fb_hist_pct(const fb_hist *h, double q)
{
    if (h->count == 0) return 0;
    if (q <= 0) return h->min;
    if (q >= 100) return h->max;
    uint64_t rank = (uint64_t)ceil(q / 100.0 * (double)h->count);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < FB_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = fb_hist_upper(i);
            if (v > h->max) v = h->max;
            if (v < h->min) v = h->min;
            return v;
        }
    }
    return h->max;
}

double fb_hist_mean(const fb_hist *h) { return h->count ? (double)h->sum / (double)h->count : 0.0; }
