/* hist.h - HDR-style log-linear latency histogram (values in microseconds).
 *
 * Range 1 us .. 60 s with 3 significant digits: every recorded value is
 * reported within 0.1 % of itself. Values above the range are clamped to
 * the top (and counted). One histogram per thread, merged at the end. */
#ifndef LOADGEN_HIST_H
#define LOADGEN_HIST_H

#include <stdint.h>

#define HIST_MAX_US 60000000ULL

struct hist;

struct hist *hist_new(void);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t us);   /* O(1), no allocation */
void hist_merge(struct hist *dst, const struct hist *src);
uint64_t hist_count(const struct hist *h);
uint64_t hist_min(const struct hist *h);          /* 0 when empty */
uint64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);
/* The value at percentile p (0 < p <= 100): the smallest recorded value v
 * such that at least p % of values are <= v, within the histogram's precision. */
uint64_t hist_percentile(const struct hist *h, double p);

#endif
