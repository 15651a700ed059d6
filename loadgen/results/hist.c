/* hist.c - HDR-style log-linear latency histogram (see hist.h).
 *
 * Layout as in HdrHistogram with 3 significant digits: values below 2048
 * are counted exactly; above, every power of two [1024 * 2^b, 2048 * 2^b)
 * is split into 1024 sub-buckets of width 2^b, so a bucket is never wider
 * than 1/1024 (< 0.1 %) of its lower bound. The counts array is allocated
 * once; recording is a clz, a shift and an increment.
 *
 * Choices (tested in tests/unit/loadgen_hist.c):
 * - 0 us is recorded as 0 (an answer faster than the clock's microsecond).
 * - values above HIST_MAX_US are recorded as HIST_MAX_US (min, max, sum and
 *   mean see the clamped value too) and counted in `clamped`.
 * - percentiles report the highest value equivalent to the bucket (like
 *   HdrHistogram), bounded by the exact min and max, so p100 == max and a
 *   single-valued histogram reports that value exactly. */
#include "hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB_BITS 11 /* 2048 sub-buckets: 3 significant digits */
#define SUB_COUNT (1u << SUB_BITS)
#define SUB_HALF_BITS (SUB_BITS - 1)
#define SUB_HALF (1u << SUB_HALF_BITS)
#define SUB_MASK ((uint64_t)SUB_COUNT - 1)
/* Buckets needed so that SUB_COUNT << (BUCKETS - 1) > HIST_MAX_US: 16. */
#define BUCKETS 16
#define COUNTS_LEN ((BUCKETS + 1) * SUB_HALF)

_Static_assert(COUNTS_LEN == HIST_COUNTS_LEN, "hist.h's HIST_COUNTS_LEN matches the layout");

struct hist {
    uint64_t total;
    uint64_t min, max, sum;
    uint64_t clamped;
    uint64_t counts[COUNTS_LEN];
};

static unsigned bucket_of(uint64_t v)
{
    /* v | SUB_MASK has its top bit at SUB_BITS - 1 or above. */
    return (unsigned)(64 - __builtin_clzll(v | SUB_MASK) - SUB_BITS);
}

static size_t index_of(uint64_t v)
{
    unsigned b = bucket_of(v);
    uint64_t sub = v >> b; /* in [SUB_HALF, SUB_COUNT) for b > 0, [0, SUB_COUNT) for b == 0 */
    return ((size_t)(b + 1) << SUB_HALF_BITS) + (size_t)(sub - SUB_HALF);
}

/* Lowest value counted at index i, and the width of its bucket. */
static uint64_t lowest_at(size_t i, uint64_t *width)
{
    int b = (int)(i >> SUB_HALF_BITS) - 1;
    uint64_t sub = (i & (SUB_HALF - 1)) + SUB_HALF;
    if (b < 0) {
        sub -= SUB_HALF;
        b = 0;
    }
    *width = (uint64_t)1 << b;
    return sub << b;
}

struct hist *hist_new(void)
{
    return calloc(1, sizeof(struct hist));
}

void hist_free(struct hist *h)
{
    free(h);
}

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

void hist_record(struct hist *h, uint64_t us)
{
    if (us > HIST_MAX_US) {
        us = HIST_MAX_US;
        h->clamped++;
    }
    h->counts[index_of(us)]++;
    if (h->total == 0 || us < h->min) h->min = us;
    if (us > h->max) h->max = us;
    h->total++;
    h->sum += us;
}

/* Every count lies between the indexes of min and max (hist_record and
 * hist_add_at keep them so): scans need not look outside. */
static size_t first_index(const struct hist *h)
{
    return index_of(h->min);
}

static size_t end_index(const struct hist *h)
{
    size_t i = index_of(h->max) + 1;
    return i < COUNTS_LEN ? i : COUNTS_LEN;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->total == 0) return;
    for (size_t i = first_index(src), end = end_index(src); i < end; i++)
        dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    dst->total += src->total;
    dst->sum += src->sum;
    dst->clamped += src->clamped;
}

uint64_t hist_count(const struct hist *h)
{
    return h->total;
}

uint64_t hist_min(const struct hist *h)
{
    return h->total ? h->min : 0;
}

uint64_t hist_max(const struct hist *h)
{
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->total ? (double)h->sum / (double)h->total : 0.0;
}

/* The rank of percentile p: ceil(p % of total), at least 1. The small
 * epsilon keeps 99.9 % of 1000 at 999 despite binary rounding. */
static uint64_t rank_of(const struct hist *h, double p)
{
    double want = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want - 1e-9) rank++;
    return rank ? rank : 1;
}

/* The value reported for counts index i: its highest, within [min, max]. */
static uint64_t value_at(const struct hist *h, size_t i)
{
    uint64_t width;
    uint64_t v = lowest_at(i, &width) + width - 1;
    if (v > h->max) v = h->max;
    if (v < h->min) v = h->min;
    return v;
}

void hist_percentiles(const struct hist *h, const double *p, size_t n, uint64_t *out)
{
    size_t k = 0;
    for (; k < n && h->total && !(p[k] > 0.0); k++)
        out[k] = h->min;
    uint64_t seen = 0, rank = k < n && h->total && p[k] < 100.0 ? rank_of(h, p[k]) : 0;
    for (size_t i = h->total ? first_index(h) : COUNTS_LEN; i < COUNTS_LEN && rank; i++) {
        seen += h->counts[i];
        while (rank && seen >= rank) {
            out[k++] = value_at(h, i);
            rank = k < n && p[k] < 100.0 ? rank_of(h, p[k]) : 0;
        }
    }
    for (; k < n; k++)
        out[k] = h->total ? h->max : 0;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->total == 0) return 0;
    if (!(p > 0.0)) return h->min;
    if (p >= 100.0) return h->max;
    /* Rank of the value: ceil(p% of total), at least 1. The small epsilon
     * keeps 99.9 % of 1000 at 999 despite binary rounding. */
    double want = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want - 1e-9) rank++;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = first_index(h); i < COUNTS_LEN; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t width;
            uint64_t v = lowest_at(i, &width) + width - 1;
            if (v > h->max) v = h->max;
            if (v < h->min) v = h->min;
            return v;
        }
    }
    return h->max;
}

void hist_fmt_us(char *buf, size_t len, double us)
{
    if (us < 1000)
        snprintf(buf, len, "%.0f us", us);
    else if (us < 1e6)
        snprintf(buf, len, "%.2f ms", us / 1000);
    else
        snprintf(buf, len, "%.3f s", us / 1e6);
}

void hist_copy(struct hist *dst, const struct hist *src)
{
    memcpy(dst, src, sizeof *dst);
}

uint64_t hist_count_at(const struct hist *h, size_t index)
{
    return index < COUNTS_LEN ? h->counts[index] : 0;
}

uint64_t hist_lowest_at(size_t index)
{
    uint64_t width;
    return lowest_at(index, &width);
}

uint64_t hist_highest_at(size_t index)
{
    uint64_t width;
    uint64_t v = lowest_at(index, &width) + width - 1;
    return v > HIST_MAX_US ? HIST_MAX_US : v;
}

int hist_add_at(struct hist *h, size_t index, uint64_t count)
{
    if (index >= COUNTS_LEN || count > UINT64_MAX - h->total) return -1;
    if (count == 0) return 0;
    uint64_t width, low = lowest_at(index, &width);
    uint64_t high = hist_highest_at(index);
    h->counts[index] += count;
    if (h->total == 0 || low < h->min) h->min = low;
    if (high > h->max) h->max = high;
    h->total += count;
    h->sum += count * (low + (width >> 1));
    return 0;
}

void hist_diff(struct hist *dst, const struct hist *now, const struct hist *before)
{
    hist_reset(dst);
    for (size_t i = 0; i < COUNTS_LEN; i++)
        if (now->counts[i] > before->counts[i])
            (void)hist_add_at(dst, i, now->counts[i] - before->counts[i]);
    if (now->clamped > before->clamped) dst->clamped = now->clamped - before->clamped;
    /* A new overall maximum was recorded in this interval: it is exact. */
    if (dst->total && now->max > before->max) dst->max = now->max;
}
