/* verdict.c - medians, seeded bootstrap intervals and verdicts (verdict.h).
 *
 * Reads top to bottom: the metrics, the generator (splitmix64: small,
 * seedable, the same sequence on every platform), the median, the two
 * bootstraps, the verdict. */
#include "verdict.h"

#include "splitmix64.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the metrics ---------------------------------------------------------- */

static const struct {
    const char *name;
    bool higher_better;
} metrics[VD__COUNT] = {
    [VD_CPU_PER_REQ] = {"server_cpu_us_per_req", false},
    [VD_REQ_PER_S] = {"req_per_s", true},
    [VD_LAT_P99] = {"lat_p99_us", false},
    [VD_KIB_PER_CONN] = {"kib_per_conn", false},
};

const char *vd_metric_name(enum vd_metric m)
{
    return (unsigned)m < VD__COUNT ? metrics[m].name : "?";
}

bool vd_higher_is_better(enum vd_metric m)
{
    return (unsigned)m < VD__COUNT && metrics[m].higher_better;
}

double vd_metric_value(const struct csv_row *r, enum vd_metric m)
{
    if (r->requests == 0 && r->errors > 0) return NAN; /* a failed run measured nothing */
    switch (m) {
    case VD_CPU_PER_REQ:
        return r->server_cpu_s > 0 && r->requests ? r->server_cpu_s * 1e6 / (double)r->requests
                                                  : NAN;
    case VD_REQ_PER_S: /* a run that answered nothing in its window, cleanly, served 0/s */
        return r->req_per_s >= 0 ? r->req_per_s : NAN;
    case VD_LAT_P99:
        return r->lat_p99_us > 0 && r->requests ? (double)r->lat_p99_us : NAN;
    case VD_KIB_PER_CONN: {
        int64_t kb = r->server_pss_kb > 0 ? r->server_pss_kb : r->server_rss_kb;
        return kb > 0 && r->connections ? (double)kb / r->connections : NAN;
    }
    default:
        return NAN;
    }
}

const char *vd_verdict_name(enum vd_verdict v)
{
    return v == VD_BETTER ? "better" : v == VD_WORSE ? "worse" : "same";
}

/* ---- the generator ---------------------------------------------------------- */

uint64_t vd_seed(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A uniform index below n (n is a count of rounds: the bias of the modulo
 * is below 2^-32 * n). */
static size_t pick(uint64_t *s, size_t n)
{
    return (size_t)((splitmix64(s) >> 32) % n);
}

/* ---- medians ---------------------------------------------------------------- */

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* The median of v[0..n), n > 0, sorted in place. */
static double median_sorted(double *v, size_t n)
{
    qsort(v, n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The finite values of v[0..n) into a new array; their count in *k. */
static double *finite_copy(const double *v, size_t n, size_t *k)
{
    double *out = malloc((n ? n : 1) * sizeof *out);
    *k = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) out[(*k)++] = v[i];
    return out;
}

/* The median of a resample of v[0..n) with replacement (tmp: n doubles). */
static double resample_median(const double *v, size_t n, double *tmp, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = v[pick(s, n)];
    return median_sorted(tmp, n);
}

/* The two-sided 95 % quantile of Student's t with df degrees of freedom
 * (df >= 1; the normal's 1.96 past 30). */
static double t975(size_t df)
{
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                               2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                               2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                               2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    return df >= 1 && df <= sizeof t / sizeof *t ? t[df - 1] : 1.96;
}

/* The tail of the expanded percentile interval for n values (Hesterberg,
 * "What teachers should know about the bootstrap", 2015, section 5.2):
 * alpha'/2 = Phi(-sqrt(n / (n - 1)) * t(0.975, n - 1)). The plain 2.5th
 * and 97.5th percentiles cover too little at few rounds: for a median of 7
 * they rarely reach past the 2nd-least and 2nd-most values, and the A/A
 * control left 1.0 in 2 of 16 rows of one QUICK run (52 of 1,000 rows
 * simulated with 10 % noise, 3 expanded; tests/unit/loadgen_verdict.c). Expanded: 0.41 % at 7
 * values, 0.10 % at 5, 2.1 % at 50; 2.5 % as n grows. */
static double tail(size_t n)
{
    if (n < 2) return 0.025;
    double z = sqrt((double)n / (double)(n - 1)) * t975(n - 1);
    return 0.5 * erfc(z / sqrt(2.0));
}

/* The expanded percentile interval of est[0..VD_RESAMPLES) (sorted here),
 * for estimates of n values. */
static void percentiles(double *est, size_t n, struct vd_interval *out)
{
    qsort(est, VD_RESAMPLES, sizeof *est, by_value);
    size_t k = (size_t)(tail(n) * VD_RESAMPLES);
    out->lo = est[k];
    out->hi = est[VD_RESAMPLES - 1 - k];
}

/* ---- the bootstraps ----------------------------------------------------------- */

void vd_bootstrap(const double *v, size_t n, uint64_t seed, struct vd_interval *out)
{
    *out = (struct vd_interval){.ratio = NAN, .lo = NAN, .hi = NAN, .too_few = true};
    size_t k;
    double *x = finite_copy(v, n, &k);
    double *tmp = malloc((k ? k : 1) * sizeof *tmp);
    double *est = malloc(VD_RESAMPLES * sizeof *est);
    if (!x || !tmp || !est) goto out;
    out->n = k;
    if (k == 0) goto out;
    memcpy(tmp, x, k * sizeof *tmp);
    out->ratio = median_sorted(tmp, k);
    out->too_few = k < VD_MIN_ROUNDS;
    if (out->too_few) goto out;
    uint64_t s = seed;
    for (size_t b = 0; b < VD_RESAMPLES; b++)
        est[b] = resample_median(x, k, tmp, &s);
    percentiles(est, k, out);
out:
    free(x);
    free(tmp);
    free(est);
}

void vd_bootstrap_quotient(const double *a, size_t na, const double *b, size_t nb, uint64_t seed,
                           struct vd_interval *out)
{
    *out = (struct vd_interval){.ratio = NAN, .lo = NAN, .hi = NAN, .too_few = true};
    size_t ka, kb;
    double *xa = finite_copy(a, na, &ka), *xb = finite_copy(b, nb, &kb);
    size_t most = ka > kb ? ka : kb;
    double *tmp = malloc((most ? most : 1) * sizeof *tmp);
    double *est = malloc(VD_RESAMPLES * sizeof *est);
    if (!xa || !xb || !tmp || !est) goto out;
    out->n = ka < kb ? ka : kb;
    if (ka == 0 || kb == 0) goto out;
    memcpy(tmp, xa, ka * sizeof *tmp);
    double ma = median_sorted(tmp, ka);
    memcpy(tmp, xb, kb * sizeof *tmp);
    double mb = median_sorted(tmp, kb);
    if (!(ma > 0)) goto out;
    out->ratio = mb / ma;
    out->too_few = out->n < VD_MIN_ROUNDS;
    if (out->too_few) goto out;
    uint64_t s = seed;
    for (size_t i = 0; i < VD_RESAMPLES; i++) {
        double ra = resample_median(xa, ka, tmp, &s);
        double rb = resample_median(xb, kb, tmp, &s);
        est[i] = ra > 0 ? rb / ra : INFINITY;
    }
    percentiles(est, out->n, out);
out:
    free(xa);
    free(xb);
    free(tmp);
    free(est);
}

/* ---- the verdict ------------------------------------------------------------ */

enum vd_verdict vd_decide(const struct vd_interval *m, const struct vd_interval *aa,
                          bool higher_better)
{
    if (m->too_few || m->n == 0 || isnan(m->lo) || isnan(m->hi)) return VD_SAME;
    /* The noise band: 1.0 give or take VD_NOISE_THRESHOLD and, where
     * measured, the A/A control's interval. */
    double lo = 1 - VD_NOISE_THRESHOLD, hi = 1 + VD_NOISE_THRESHOLD;
    if (aa && !aa->too_few && aa->n && !isnan(aa->lo) && !isnan(aa->hi)) {
        lo = fmin(lo, aa->lo);
        hi = fmax(hi, aa->hi);
    }
    if (m->lo > hi) return higher_better ? VD_BETTER : VD_WORSE;
    if (m->hi < lo) return higher_better ? VD_WORSE : VD_BETTER;
    return VD_SAME;
}

bool vd_overlap(const struct vd_interval *a, const struct vd_interval *b)
{
    if (a->too_few || b->too_few || a->n == 0 || b->n == 0) return true;
    return a->lo <= b->hi && b->lo <= a->hi;
}
