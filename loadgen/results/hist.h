/* hist.h - HDR-style log-linear latency histogram (values in microseconds).
 *
 * Range 1 us .. 60 s with 3 significant digits: every recorded value is
 * reported within 0.1 % of itself. Values above the range are clamped to
 * the top (and counted). One histogram per thread, merged at the end. */
#ifndef LOADGEN_HIST_H
#define LOADGEN_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_MAX_US 60000000ULL

struct hist;

struct hist *hist_new(void);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t us); /* O(1), no allocation */
void hist_merge(struct hist *dst, const struct hist *src);
uint64_t hist_count(const struct hist *h);
uint64_t hist_min(const struct hist *h); /* 0 when empty */
uint64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);
/* The value at percentile p (0 < p <= 100): the smallest recorded value v
 * such that at least p % of values are <= v, within the histogram's precision. */
uint64_t hist_percentile(const struct hist *h, double p);
/* n percentiles at once, p[] ascending, in one pass over the counts (zeros
 * when empty). */
void hist_percentiles(const struct hist *h, const double *p, size_t n, uint64_t *out);

/* Copy src into dst (both from hist_new()). */
void hist_copy(struct hist *dst, const struct hist *src);
/* A latency for people: "850 us", "1.25 ms", "2.500 s". */
void hist_fmt_us(char *buf, size_t len, double us);
/* dst = now - before, for interval histograms taken from a cumulative one
 * (before must be an earlier copy of now). min, max and the sum are rebuilt
 * from the buckets, as hist_add_at() does. */
void hist_diff(struct hist *dst, const struct hist *now, const struct hist *before);

/* The counts array, for encoders (hdrlog.c). Its layout is HdrHistogram's for
 * lowest 1, highest HIST_MAX_US, 3 significant digits, so index i here is
 * index i of an HdrHistogram with those parameters. */
#define HIST_COUNTS_LEN 17408 /* (16 buckets + 1) * 1024 */
uint64_t hist_count_at(const struct hist *h, size_t index);
/* The lowest and highest value counted at index (< HIST_COUNTS_LEN). */
uint64_t hist_lowest_at(size_t index);
uint64_t hist_highest_at(size_t index);
/* Add count values at index (decoders). min, max and the sum follow the
 * bucket bounds: min the bucket's lowest value, max its highest (at most
 * HIST_MAX_US), the sum its middle value, as HdrHistogram does for decoded
 * histograms. -1 when index >= HIST_COUNTS_LEN or the total would overflow. */
int hist_add_at(struct hist *h, size_t index, uint64_t count);

#endif
