/* compare.c - two result files side by side; regressions (see compare.h).
 *
 * Reads top to bottom: the metrics, the rows (read by csvread.c), grouping
 * by (model, scenario, connections, rate) with medians, reference ratios,
 * the comparison itself, the command line. */
#include "compare.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "csvread.h"
#include "verdict.h"

#define EXIT_USAGE 2

/* ---- metrics ------------------------------------------------------------ */

struct metric_info {
    const char *name;  /* --metric name: the CSV column, or a derived one */
    const char *label; /* in the table */
    bool higher_better;
};

static const struct metric_info metrics[CMP__COUNT] = {
    [CMP_REQ_PER_S] = {"req_per_s", "req/s", true},
    [CMP_MB_PER_S] = {"mb_per_s", "MB/s", true},
    [CMP_LAT_MEAN_US] = {"lat_mean_us", "mean us", false},
    [CMP_LAT_P50_US] = {"lat_p50_us", "p50 us", false},
    [CMP_LAT_P90_US] = {"lat_p90_us", "p90 us", false},
    [CMP_LAT_P99_US] = {"lat_p99_us", "p99 us", false},
    [CMP_LAT_P999_US] = {"lat_p999_us", "p99.9 us", false},
    [CMP_LAT_MAX_US] = {"lat_max_us", "max us", false},
    [CMP_CPU_PER_REQ_US] = {"cpu_per_req_us", "cpu/req us", false},
    [CMP_SERVER_CPU_S] = {"server_cpu_s", "server cpu s", false},
    [CMP_SERVER_RSS_KB] = {"server_rss_kb", "rss KiB", false},
};

const char *cmp_metric_name(enum cmp_metric m)
{
    return (unsigned)m < CMP__COUNT ? metrics[m].name : "?";
}

bool cmp_metric_higher_is_better(enum cmp_metric m)
{
    return (unsigned)m < CMP__COUNT && metrics[m].higher_better;
}

int cmp_parse_metrics(const char *list, unsigned *mask, char *err, size_t errlen)
{
    unsigned m = 0;
    const char *p = list;
    do {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int i = 0; i < CMP__COUNT; i++)
            if (strlen(metrics[i].name) == len && strncmp(metrics[i].name, p, len) == 0) found = i;
        if (found < 0) {
            snprintf(err, errlen,
                     "--metric: unknown metric '%.*s' (known:", (int)(len > 40 ? 40 : len), p);
            for (int i = 0; i < CMP__COUNT; i++) {
                size_t used = strlen(err);
                snprintf(err + used, errlen - used, " %s", metrics[i].name);
            }
            size_t used = strlen(err);
            snprintf(err + used, errlen - used, ")");
            return -1;
        }
        m |= CMP_BIT(found);
        p += len;
    } while (*p++ == ',');
    *mask = m;
    return 0;
}

/* ---- reading rows (csvread.c) ------------------------------------------ */

/* Column indexes (the schema's order, DESIGN.md section 7). */
enum {
    COL_MODEL = 3,
    COL_SCENARIO = 5,
    COL_CONNECTIONS = 8,
    COL_RATE = 9,
    COL_REQUESTS = 11,
    COL_ERRORS = 12,
    COL_CHECK_FAILURES = 13,
    COL_TIMEOUTS = 14,
    COL_REQ_PER_S = 16,
    COL_MB_PER_S = 17,
    COL_LAT_MEAN = 19,
    COL_LAT_P50 = 20,
    COL_LAT_P90 = 21,
    COL_LAT_P99 = 22,
    COL_LAT_P999 = 23,
    COL_LAT_MAX = 24,
    COL_SERVER_CPU = 25,
    COL_SERVER_RSS = 26,
};

static int parse_row(const struct csv_record *r, struct cmp_row *row, char *err, size_t errlen)
{
    static const struct {
        int col;
        int metric;
        bool optional;
    } values[] = {
        {COL_REQ_PER_S, CMP_REQ_PER_S, false},    {COL_MB_PER_S, CMP_MB_PER_S, false},
        {COL_LAT_MEAN, CMP_LAT_MEAN_US, false},   {COL_LAT_P50, CMP_LAT_P50_US, false},
        {COL_LAT_P90, CMP_LAT_P90_US, false},     {COL_LAT_P99, CMP_LAT_P99_US, false},
        {COL_LAT_P999, CMP_LAT_P999_US, false},   {COL_LAT_MAX, CMP_LAT_MAX_US, false},
        {COL_SERVER_CPU, CMP_SERVER_CPU_S, true}, {COL_SERVER_RSS, CMP_SERVER_RSS_KB, true},
    };
    static const int counts[] = {COL_REQUESTS, COL_ERRORS, COL_CHECK_FAILURES, COL_TIMEOUTS};
    char names[64][32];
    int ncols = csv_schema_columns(names, 64);
    *row = (struct cmp_row){.line = r->line};
    const char *model = r->field[COL_MODEL], *scen = r->field[COL_SCENARIO];
    if (!*model || strlen(model) >= sizeof row->model || !*scen ||
        strlen(scen) >= sizeof row->scenario) {
        snprintf(err, errlen, "model and scenario must be 1..63 characters");
        return -1;
    }
    strcpy(row->model, model);
    strcpy(row->scenario, scen);
    uint64_t conns;
    if (csv_parse_count(r->field[COL_CONNECTIONS], &conns) < 0 || conns > UINT32_MAX ||
        csv_parse_value(r->field[COL_RATE], false, &row->rate) < 0) {
        snprintf(err, errlen, "connections '%.20s' or rate '%.20s' is not a number",
                 r->field[COL_CONNECTIONS], r->field[COL_RATE]);
        return -1;
    }
    row->connections = (unsigned)conns;
    uint64_t *dst[] = {&row->requests, &row->errors, &row->check_failures, &row->timeouts};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (csv_parse_count(r->field[counts[i]], dst[i]) < 0) {
            snprintf(err, errlen, "%s: '%.40s' is not a count", names[counts[i]],
                     r->field[counts[i]]);
            return -1;
        }
    for (int i = 0; i < CMP__COUNT; i++)
        row->v[i] = NAN;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (csv_parse_value(r->field[values[i].col], values[i].optional,
                            &row->v[values[i].metric]) < 0) {
            snprintf(err, errlen, "%s: '%.40s' is not a number", names[values[i].col],
                     r->field[values[i].col]);
            return -1;
        }
    int ir = -1, it = -1;
    for (int i = 0; i < ncols; i++) {
        if (strcmp(names[i], "round") == 0) ir = i;
        if (strcmp(names[i], "aa_twin") == 0) it = i;
    }
    uint64_t v;
    if (ir >= 0 && ir < r->nfields && r->field[ir][0]) {
        if (csv_parse_count(r->field[ir], &v) < 0 || v > 1000000) {
            snprintf(err, errlen, "round: '%.40s' is not a round number", r->field[ir]);
            return -1;
        }
        row->round = (unsigned)v;
    }
    row->aa_twin = it >= 0 && it < r->nfields && strcmp(r->field[it], "1") == 0;
    if (!isnan(row->v[CMP_SERVER_CPU_S]) && row->requests > 0)
        row->v[CMP_CPU_PER_REQ_US] = row->v[CMP_SERVER_CPU_S] * 1e6 / (double)row->requests;
    return 0;
}

/* The capacity follows from n: 64 rows, doubled each time n reaches a power of two. */
static int add_row(struct cmp_file *f, const struct cmp_row *row)
{
    bool full = f->n == 0 || (f->n >= 64 && (f->n & (f->n - 1)) == 0);
    if (full) {
        size_t ncap = f->n ? f->n * 2 : 64;
        struct cmp_row *n = realloc(f->rows, ncap * sizeof *n);
        if (!n) return -1;
        f->rows = n;
    }
    f->rows[f->n++] = *row;
    return 0;
}

static int load_record(const struct csv_record *rec, void *ctx, char *why, size_t whylen)
{
    struct cmp_file *f = ctx;
    struct cmp_row row;
    if (parse_row(rec, &row, why, whylen) < 0) return -1;
    if (add_row(f, &row) < 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    return 0;
}

int cmp_load(const char *path, struct cmp_file *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    int rc = csv_read_file(path, load_record, f, err, errlen);
    if (rc < 0) cmp_file_free(f);
    return rc;
}

void cmp_file_free(struct cmp_file *f)
{
    free(f->rows);
    f->rows = NULL;
    f->n = 0;
}

/* ---- groups ------------------------------------------------------------- */

double cmp_median(double *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) /* drop the NANs */
        if (!isnan(v[i])) v[k++] = v[i];
    if (k == 0) return NAN;
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* Rows of one key: (model, scenario, connections, rate). */
static bool same_key(const char *model, const char *scenario, unsigned connections, double rate,
                     const char *model2, const char *scenario2, unsigned connections2, double rate2)
{
    return strcmp(model, model2) == 0 && strcmp(scenario, scenario2) == 0 &&
           connections == connections2 && rate == rate2;
}

const struct cmp_group *cmp_find(const struct cmp_set *s, const char *model, const char *scenario,
                                 unsigned connections, double rate)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct cmp_group *g = &s->g[i];
        if (same_key(g->model, g->scenario, g->connections, g->rate, model, scenario, connections,
                     rate))
            return g;
    }
    return NULL;
}

int cmp_group_rows(const struct cmp_file *f, struct cmp_set *out)
{
    out->g = calloc(f->n ? f->n : 1, sizeof *out->g);
    double *vals = malloc((f->n ? f->n : 1) * sizeof *vals);
    out->n = 0;
    if (!out->g || !vals) {
        free(vals);
        cmp_set_free(out);
        return -1;
    }
    for (size_t i = 0; i < f->n; i++) {
        const struct cmp_row *r = &f->rows[i];
        struct cmp_group *g =
            (struct cmp_group *)cmp_find(out, r->model, r->scenario, r->connections, r->rate);
        if (g) continue; /* done when first seen */
        g = &out->g[out->n++];
        snprintf(g->model, sizeof g->model, "%s", r->model);
        snprintf(g->scenario, sizeof g->scenario, "%s", r->scenario);
        g->connections = r->connections;
        g->rate = r->rate;
        for (int m = 0; m < CMP__COUNT; m++) {
            size_t k = 0;
            for (size_t j = i; j < f->n; j++) {
                const struct cmp_row *o = &f->rows[j];
                if (!same_key(o->model, o->scenario, o->connections, o->rate, r->model, r->scenario,
                              r->connections, r->rate))
                    continue;
                vals[k++] = o->v[m];
                if (m == 0) {
                    g->nrows++;
                    g->requests += o->requests;
                    g->errors += o->errors;
                    g->check_failures += o->check_failures;
                    g->timeouts += o->timeouts;
                }
            }
            g->v[m] = cmp_median(vals, k);
        }
    }
    free(vals);
    return 0;
}

void cmp_set_free(struct cmp_set *s)
{
    free(s->g);
    s->g = NULL;
    s->n = 0;
}

void cmp_apply_reference(struct cmp_set *s, const char *reference)
{
    /* The reference values first: dividing in place would turn them into 1. */
    double *ref = malloc((s->n ? s->n : 1) * CMP__COUNT * sizeof *ref);
    bool *have = calloc(s->n ? s->n : 1, sizeof *have);
    for (size_t i = 0; i < s->n; i++) {
        const struct cmp_group *g = &s->g[i];
        const struct cmp_group *r = cmp_find(s, reference, g->scenario, g->connections, g->rate);
        if (r && ref && have) {
            memcpy(ref + i * CMP__COUNT, r->v, sizeof r->v);
            have[i] = true;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        struct cmp_group *g = &s->g[i];
        g->no_reference = !(have && have[i]);
        for (int m = 0; m < CMP__COUNT; m++) {
            double d = g->no_reference ? NAN : ref[i * CMP__COUNT + m];
            g->v[m] = !isnan(d) && d > 0 ? g->v[m] / d : NAN;
        }
    }
    free(ref);
    free(have);
}

/* ---- intervals and verdicts (both files with rounds) ---------------------- */

unsigned cmp_rounds(const struct cmp_file *f)
{
    unsigned most = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->rows[i].round > most) most = f->rows[i].round;
    return most;
}

static bool same_point(const struct cmp_row *r, const char *scenario, unsigned connections,
                       double rate)
{
    return r->connections == connections && r->rate == rate && strcmp(r->scenario, scenario) == 0;
}

/* The reference's own run of row i's round and point: the nearest in the
 * file. NULL if none. */
static const struct cmp_row *ref_run(const struct cmp_file *f, size_t i, const char *reference)
{
    const struct cmp_row *r = &f->rows[i], *best = NULL;
    size_t dist = (size_t)-1;
    for (size_t j = 0; j < f->n; j++) {
        const struct cmp_row *o = &f->rows[j];
        if (o->round != r->round || o->aa_twin || strcmp(o->model, reference) != 0 ||
            !same_point(o, r->scenario, r->connections, r->rate))
            continue;
        size_t d = j > i ? j - i : i - j;
        if (d < dist) {
            dist = d;
            best = o;
        }
    }
    return best;
}

/* Group g's key in f: one value of metric m per round (the A/A twin's runs
 * left out), or with reference its ratio to the reference's run of the same
 * round and point. At most cap values into out; returns how many. */
static size_t round_values(const struct cmp_file *f, const struct cmp_group *g, int m,
                           const char *reference, double *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n && k < cap; i++) {
        const struct cmp_row *r = &f->rows[i];
        if (!r->round || r->aa_twin || strcmp(r->model, g->model) != 0 ||
            !same_point(r, g->scenario, g->connections, g->rate))
            continue;
        double v = r->requests ? r->v[m] : NAN; /* a failed run measured nothing */
        if (reference) {
            const struct cmp_row *ref = ref_run(f, i, reference);
            double d = ref && ref->requests ? ref->v[m] : NAN;
            v = d > 0 ? v / d : NAN;
        }
        out[k++] = v;
    }
    return k;
}

/* B over A for g's key and metric m: the interval and the verdict, and the
 * medians of A's and B's rounds it compares (*ma, *mb). */
static enum vd_verdict verdict_of(const struct cmp_file *a, const struct cmp_file *b,
                                  const struct cmp_group *g, int m, const char *reference,
                                  struct vd_interval *iv, double *ma, double *mb)
{
    *ma = *mb = NAN;
    size_t cap = a->n + b->n + 1;
    double *va = malloc(cap * sizeof *va), *vb = malloc(cap * sizeof *vb);
    *iv = (struct vd_interval){.ratio = NAN, .lo = NAN, .hi = NAN, .too_few = true};
    if (va && vb) {
        size_t na = round_values(a, g, m, reference, va, cap);
        size_t nb = round_values(b, g, m, reference, vb, cap);
        char key[LG_NAME_MAX + 160];
        snprintf(key, sizeof key, "compare|%s|%u|%.3f|%s|%s|%s", g->scenario, g->connections,
                 g->rate, cmp_metric_name((enum cmp_metric)m), g->model,
                 reference ? reference : "");
        vd_bootstrap_quotient(va, na, vb, nb, vd_seed(key), iv);
        *ma = cmp_median(va, na); /* the medians the ratio is of */
        *mb = cmp_median(vb, nb);
    }
    free(va);
    free(vb);
    return vd_decide(iv, NULL, cmp_metric_higher_is_better((enum cmp_metric)m));
}

/* "+3.1% [-1.2%, +7.9%] ~" (or "(too few rounds)"), as benchstat prints it. */
static void fmt_verdict(char *buf, size_t len, const struct vd_interval *iv, enum vd_verdict v)
{
    const char *word = v == VD_SAME ? "~" : vd_verdict_name(v);
    if (isnan(iv->ratio))
        snprintf(buf, len, "-");
    else if (iv->too_few)
        snprintf(buf, len, "%+.1f%% (too few rounds) %s", (iv->ratio - 1) * 100, word);
    else
        snprintf(buf, len, "%+.1f%% [%+.1f%%, %+.1f%%] %s", (iv->ratio - 1) * 100,
                 (iv->lo - 1) * 100, (iv->hi - 1) * 100, word);
}

/* ---- the comparison ------------------------------------------------------ */

static void fmt_value(char *buf, size_t len, double v, bool ratio)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (ratio)
        snprintf(buf, len, "%.3f", v);
    else if (v >= 100 || v == floor(v))
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.2f", v);
}

/* The key's point: "64c" or "64c@1000/s" (the table's point column). */
static void fmt_point(char *buf, size_t len, const struct cmp_group *g)
{
    if (g->rate > 0)
        snprintf(buf, len, "%uc@%.0f/s", g->connections, g->rate);
    else
        snprintf(buf, len, "%uc", g->connections);
}

/* What one comparison reads and adds to. */
struct cmp_ctx {
    const struct cmp_file *a, *b;
    const struct cmp_opts *o;
    FILE *out;
    struct cmp_summary *sum;
};

/* One metric of one key: prints the line; true when it regressed. */
static bool compare_metric(const struct cmp_ctx *c, const struct cmp_group *ga,
                           const struct cmp_group *gb, int m, bool first)
{
    const struct cmp_opts *o = c->o;
    FILE *out = c->out;
    double a = ga->v[m], b = gb->v[m];
    char va[32], vb[32], change[64] = "";
    bool ratio = o->reference != NULL;
    struct vd_interval iv;
    enum vd_verdict v = VD_SAME;
    if (o->verdicts) /* A and B: the medians of the rounds the interval is of */
        v = verdict_of(c->a, c->b, ga, m, o->reference, &iv, &a, &b);
    fmt_value(va, sizeof va, a, ratio);
    fmt_value(vb, sizeof vb, b, ratio);
    bool bad = false;
    /* A failed run in A (no requests) measured nothing to hold B to. */
    bool comparable = !isnan(a) && !isnan(b) && a > 0 && ga->requests > 0;
    if (comparable) {
        snprintf(change, sizeof change, "%+.1f%%", (b - a) / a * 100);
        bad = metrics[m].higher_better ? b < (1 - o->threshold) * a : b > (1 + o->threshold) * a;
    }
    if (o->verdicts) { /* the interval decides; the threshold only sizes a regression */
        fmt_verdict(change, sizeof change, &iv, v);
        c->sum->better += v == VD_BETTER;
        c->sum->worse += v == VD_WORSE;
        c->sum->same += v == VD_SAME;
        bad = bad && v == VD_WORSE;
    }
    char label[48];
    snprintf(label, sizeof label, "%s%s%s", metrics[m].label, ratio ? " / " : "",
             ratio ? o->reference : "");
    char point[48];
    fmt_point(point, sizeof point, ga);
    fprintf(out, "%-16s %-14s %-12s %-20s %12s %12s %9s%s\n", first ? ga->scenario : "",
            first ? ga->model : "", first ? point : "", label, va, vb, change,
            bad ? "  REGRESSION" : "");
    return bad;
}

/* One key in both files. true when it regressed. */
static bool compare_group(const struct cmp_ctx *c, const struct cmp_group *ga,
                          const struct cmp_group *gb)
{
    const struct cmp_opts *o = c->o;
    FILE *out = c->out;
    bool bad = false, first = true;
    for (int m = 0; m < CMP__COUNT; m++) {
        if (!(o->metrics & CMP_BIT(m))) continue;
        bad |= compare_metric(c, ga, gb, m, first);
        first = false;
    }
    if (o->reference && (ga->no_reference || gb->no_reference))
        fprintf(out, "%-16s %-14s %-12s (no %s row at this point of %s: no ratios)\n", "", "", "",
                o->reference, ga->no_reference ? "A" : "B");
    uint64_t fa = ga->errors + ga->check_failures + ga->timeouts;
    uint64_t fb = gb->errors + gb->check_failures + gb->timeouts;
    if (fa || fb) {
        fprintf(out, "%-16s %-14s %-12s %-20s %12" PRIu64 " %12" PRIu64 " %9s%s\n", "", "", "",
                "errors+checks+tmo", fa, fb, "", fb ? "  REGRESSION" : "");
    }
    return bad || fb > 0;
}

/* The group of s with g's key. */
static const struct cmp_group *find_in(const struct cmp_set *s, const struct cmp_group *g)
{
    return cmp_find(s, g->model, g->scenario, g->connections, g->rate);
}

int cmp_compare(const struct cmp_file *a, const struct cmp_file *b, const struct cmp_opts *o,
                FILE *out, struct cmp_summary *sum, char *err, size_t errlen)
{
    *sum = (struct cmp_summary){0};
    struct cmp_set sa = {0}, sb = {0};
    if (cmp_group_rows(a, &sa) < 0 || cmp_group_rows(b, &sb) < 0) {
        cmp_set_free(&sa);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (o->reference) {
        cmp_apply_reference(&sa, o->reference);
        cmp_apply_reference(&sb, o->reference);
    }
    struct cmp_ctx ctx = {a, b, o, out, sum};
    unsigned ra = cmp_rounds(a), rb = cmp_rounds(b);
    fprintf(out, "A: %s (%zu rows", a->path, a->n);
    if (ra) fprintf(out, ", %u rounds", ra);
    fprintf(out, ")\nB: %s (%zu rows", b->path, b->n);
    if (rb) fprintf(out, ", %u rounds", rb);
    fprintf(out, ")\n");
    if (o->verdicts)
        fprintf(out,
                "change: B's median over A's, its 95 %% bootstrap interval (%d resamples, "
                "seeded) and verdict (~ = same: the interval holds 0 %%); a regression is a "
                "worse verdict past the threshold\n",
                VD_RESAMPLES);
    else if (!ra || !rb)
        fprintf(out,
                "note: %s (a file from before rounds, or loadgen run's rows): medians "
                "compared with the threshold, no intervals or verdicts\n",
                !ra && !rb ? "neither file has rounds"
                : !ra      ? "A has no rounds"
                           : "B has no rounds");
    fprintf(
        out,
        "threshold %.4g%%%s%s%s; several rows of one (model, scenario, point): their median\n\n",
        o->threshold * 100, o->reference ? ", ratios to model " : "",
        o->reference ? o->reference : "", o->reference ? " within each file" : "");
    fprintf(out, "%-16s %-14s %-12s %-20s %12s %12s %9s\n", "scenario", "model", "point", "metric",
            "A", "B", "change");
    for (size_t i = 0; i < sa.n; i++) {
        const struct cmp_group *gb = find_in(&sb, &sa.g[i]);
        if (!gb) continue;
        sum->matched++;
        if (compare_group(&ctx, &sa.g[i], gb)) sum->regressions++;
    }
    char point[48];
    for (size_t i = 0; i < sa.n; i++)
        if (!find_in(&sb, &sa.g[i])) {
            fmt_point(point, sizeof point, &sa.g[i]);
            fprintf(out, "missing in B: %s / %s / %s  REGRESSION\n", sa.g[i].scenario,
                    sa.g[i].model, point);
            sum->missing++;
            sum->regressions++;
        }
    for (size_t i = 0; i < sb.n; i++)
        if (!find_in(&sa, &sb.g[i])) {
            fmt_point(point, sizeof point, &sb.g[i]);
            fprintf(out, "new in B: %s / %s / %s\n", sb.g[i].scenario, sb.g[i].model, point);
            sum->added++;
        }
    fprintf(out, "\n%zu matched, %zu missing in B, %zu new in B: %s\n", sum->matched, sum->missing,
            sum->added, sum->regressions ? "REGRESSION" : "no regression");
    if (o->verdicts)
        fprintf(out, "verdicts: %zu better, %zu worse, %zu same (~)\n", sum->better, sum->worse,
                sum->same);
    if (sum->regressions)
        fprintf(out, "%zu of %zu (model, scenario, point) keys of A regressed\n", sum->regressions,
                sa.n);
    cmp_set_free(&sa);
    cmp_set_free(&sb);
    return sum->regressions ? 1 : 0;
}

/* ---- the command line ------------------------------------------------------ */

static const char COMPARE_USAGE[] =
    "usage: loadgen compare A.csv B.csv [--threshold PCT] [--metric a,b,...]\n"
    "                       [--reference MODEL]\n"
    "\n"
    "Matches the rows of two result files by (model, scenario, connections,\n"
    "rate) (the median when a file has several rows for one; columns it does\n"
    "not know are ignored), prints both side by side with the change,\n"
    "and flags B's regressions: throughput below (1 - PCT%) x A, latency, CPU or\n"
    "memory above (1 + PCT%) x A, any errors, check failures or timeouts in B,\n"
    "a row of A missing from B. New rows in B are reported, not regressions.\n"
    "When both files have rounds (loadgen bench --rounds N), each change is B's\n"
    "median over A's with a seeded 95 % bootstrap interval and a verdict, as\n"
    "benchstat prints it (~ = same: the interval holds 0 %; fewer than 3 rounds:\n"
    "'too few rounds', ~); a regression is then a worse verdict past PCT.\n"
    "\n"
    "  --threshold PCT     allowed change in percent (default 10)\n"
    "  --metric LIST       metrics compared (default\n"
    "                      req_per_s,mb_per_s,lat_p50_us,lat_p99_us,cpu_per_req_us);\n"
    "                      also lat_mean_us lat_p90_us lat_p999_us lat_max_us\n"
    "                      server_cpu_s server_rss_kb\n"
    "  --reference MODEL   compare each model's ratio to MODEL in the same file\n"
    "                      and scenario instead of raw numbers (survives a noisy\n"
    "                      machine)\n"
    "\n"
    "Exit status: 0 no regression, 1 regression, 2 usage error or unreadable CSV.\n";

static int usage(FILE *errout, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage(FILE *errout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen compare: ", errout);
    vfprintf(errout, fmt, ap);
    fputs("\ntry 'loadgen compare --help'\n", errout);
    va_end(ap);
    return EXIT_USAGE;
}

/* "10", "10%", "2.5": percent in [0, 1000]. */
static int parse_threshold(const char *s, double *out)
{
    if (!s || !((*s >= '0' && *s <= '9') || *s == '.')) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || (*end && strcmp(end, "%") != 0) || !isfinite(v) || v < 0 || v > 1000)
        return -1;
    *out = v / 100;
    return 0;
}

static int parse_compare_args(int argc, char **argv, const char **files, struct cmp_opts *o,
                              FILE *out, FILE *errout)
{
    *o = (struct cmp_opts){.threshold = 0.10, .metrics = CMP_DEFAULT_METRICS};
    int nfiles = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(COMPARE_USAGE, out);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (nfiles == 2) return usage(errout, "unexpected argument '%s'", arg);
            files[nfiles++] = arg;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
        bool is_threshold = nl == 11 && strncmp(arg, "--threshold", nl) == 0;
        bool is_metric = nl == 8 && strncmp(arg, "--metric", nl) == 0;
        bool is_reference = nl == 11 && strncmp(arg, "--reference", nl) == 0;
        if (!is_threshold && !is_metric && !is_reference)
            return usage(errout, "unknown option '%.*s'", (int)(nl > 40 ? 40 : nl), arg);
        if (!val) return usage(errout, "%.*s needs a value", (int)nl, arg);
        if (!eq) i++;
        char err[512];
        if (is_threshold && parse_threshold(val, &o->threshold) < 0)
            return usage(errout, "--threshold: '%s' is not a percentage in [0, 1000]", val);
        if (is_metric && cmp_parse_metrics(val, &o->metrics, err, sizeof err) < 0)
            return usage(errout, "%s", err);
        if (is_reference) {
            if (!*val || strlen(val) >= 64)
                return usage(errout, "--reference: a model name, 1..63 characters");
            o->reference = val;
        }
    }
    if (nfiles != 2) return usage(errout, "needs two CSV files, A (before) and B (after)");
    return 0;
}

static bool has_model(const struct cmp_file *f, const char *model)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->rows[i].model, model) == 0) return true;
    return false;
}

int compare_main(int argc, char **argv, FILE *out, FILE *errout)
{
    const char *files[2];
    struct cmp_opts o;
    int rc = parse_compare_args(argc, argv, files, &o, out, errout);
    if (rc) return rc == 1 ? 0 : rc;
    struct cmp_file a, b;
    char err[1400];
    if (cmp_load(files[0], &a, err, sizeof err) < 0) {
        fprintf(errout, "loadgen compare: %s\n", err);
        return EXIT_USAGE;
    }
    if (cmp_load(files[1], &b, err, sizeof err) < 0) {
        fprintf(errout, "loadgen compare: %s\n", err);
        cmp_file_free(&a);
        return EXIT_USAGE;
    }
    if (o.reference && !has_model(&a, o.reference) && !has_model(&b, o.reference)) {
        fprintf(errout, "loadgen compare: --reference %s: no row of that model in %s or %s\n",
                o.reference, files[0], files[1]);
        cmp_file_free(&a);
        cmp_file_free(&b);
        return EXIT_USAGE;
    }
    struct cmp_summary sum;
    o.verdicts = cmp_rounds(&a) && cmp_rounds(&b);
    rc = cmp_compare(&a, &b, &o, out, &sum, err, sizeof err);
    if (rc < 0) {
        fprintf(errout, "loadgen compare: %s\n", err);
        rc = EXIT_USAGE;
    }
    cmp_file_free(&a);
    cmp_file_free(&b);
    return rc;
}
