/* verdict.h - how sure a comparison is: the median of a ratio with a seeded
 * 95 % bootstrap interval, and a verdict (better, worse, same) that only
 * claims what clears the noise the run measured (issue 17).
 *
 * The bench runs rounds (every model once a round at a point, the order
 * rotated) with the reference model run twice a round (the A/A control).
 * A model's ratio to the reference comes from same-round pairs; its
 * interval is the expanded percentile interval (verdict.c) of the median
 * over VD_RESAMPLES resamples of those pairs (with replacement), drawn
 * from a generator seeded with the comparison's own key, so the same CSV
 * always gives the same interval. Shared by the bench, `loadgen verdicts` and
 * `loadgen compare` (verdict_table.c, compare.c). */
#ifndef LOADGEN_VERDICT_H
#define LOADGEN_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv.h"

#define VD_MIN_ROUNDS 3 /* fewer pairs: "too few rounds", verdict same */
/* A change smaller than this is no change, however sure (criterion.rs's
 * noise_threshold, 2 % by default): seven rounds can make a 1 % difference
 * significant (the A/A control's memory 0.989x [0.978, 0.999] in one QUICK
 * run), and no lesson of the study is that small. */
#define VD_NOISE_THRESHOLD 0.02
#define VD_RESAMPLES 2000 /* bootstrap resamples (the issue asks >= 1,000) */

/* The metrics a verdict is given on. */
enum vd_metric {
    VD_CPU_PER_REQ,  /* server_cpu_us_per_req: server CPU µs per request */
    VD_REQ_PER_S,    /* req_per_s */
    VD_LAT_P99,      /* lat_p99_us */
    VD_KIB_PER_CONN, /* kib_per_conn: server peak PSS (RSS when none) per connection */
    VD__COUNT
};

const char *vd_metric_name(enum vd_metric m); /* "req_per_s", ... */
bool vd_higher_is_better(enum vd_metric m);   /* only req_per_s */
/* The metric's value in a row; NAN when not measured: a failed run
 * (requests 0 and errors, as bench records one), no server figures, or
 * no answer for CPU per request and p99. A run that answered nothing in its
 * window without an error (fork at 1,024 clients on a busy machine, every
 * client still waiting) served 0 req/s and still held its memory. */
double vd_metric_value(const struct csv_row *row, enum vd_metric m);

enum vd_verdict { VD_SAME, VD_BETTER, VD_WORSE };
const char *vd_verdict_name(enum vd_verdict v); /* "same", "better", "worse" */

/* A median and its interval. too_few: fewer than VD_MIN_ROUNDS values
 * (lo and hi are NAN then); n == 0: no value at all (ratio NAN too). */
struct vd_interval {
    double ratio, lo, hi;
    size_t n;
    bool too_few;
};

/* A seed from a comparison's key (FNV-1a of the text). */
uint64_t vd_seed(const char *key);

/* The median of v[0..n) (NANs skipped) and the 95 % bootstrap interval of
 * the median, resampled with the generator seeded by seed. */
void vd_bootstrap(const double *v, size_t n, uint64_t seed, struct vd_interval *out);

/* Two independent samples (two files): median(b) / median(a), and the 95 %
 * interval of that quotient, resampling a and b independently. too_few
 * when either has fewer than VD_MIN_ROUNDS values. */
void vd_bootstrap_quotient(const double *a, size_t na, const double *b, size_t nb, uint64_t seed,
                           struct vd_interval *out);

/* The verdict of a model's interval m against the A/A control's interval
 * aa (NULL: none measured): better or worse only when m lies wholly
 * outside both aa and 1.0 +- VD_NOISE_THRESHOLD, in the metric's good or
 * bad direction; same otherwise, and always when m has too few rounds. For
 * the A/A control itself pass aa = NULL: it is same unless its interval
 * lies outside 1.0 +- VD_NOISE_THRESHOLD. */
enum vd_verdict vd_decide(const struct vd_interval *m, const struct vd_interval *aa,
                          bool higher_better);

/* Do two intervals overlap (a too-few or empty one overlaps everything)? */
bool vd_overlap(const struct vd_interval *a, const struct vd_interval *b);

#endif
