/* verdict_table.c - a run's verdicts, tiers, their CSV and tables, and
 * `loadgen verdicts` (verdict_table.h).
 *
 * Reads top to bottom: the points and models of the rows, the same-round
 * pairs of one model and metric, the verdicts and tiers of one point, the
 * CSV, the tables, the command line. */
#include "verdict_table.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "os/atomicfile.h"

#define EXIT_USAGE 2

/* ---- points and models ------------------------------------------------------ */

static bool same_point(const struct csv_row *a, const struct csv_row *b)
{
    return strcmp(a->scenario, b->scenario) == 0 && a->connections == b->connections &&
           a->rate == b->rate;
}

static bool has_model(const struct csv_row *rows, size_t n, const char *model)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].model, model) == 0) return true;
    return false;
}

/* The reference: the given one, the model with A/A twin rows, epoll, poll. */
static const char *pick_reference(const struct csv_row *rows, size_t n, const char *given)
{
    if (given) return has_model(rows, n, given) ? given : NULL;
    for (size_t i = 0; i < n; i++)
        if (rows[i].round && rows[i].aa_twin == 1) return rows[i].model;
    if (has_model(rows, n, "epoll")) return "epoll";
    if (has_model(rows, n, "poll")) return "poll";
    return NULL;
}

/* The reference's own row (twin: its A/A twin's) at row i's point and
 * round: the nearest in the file (several benches may be appended to one
 * file). -1 if none. */
static long ref_row(const struct csv_row *rows, size_t n, size_t i, const char *ref, bool twin)
{
    long best = -1;
    size_t dist = (size_t)-1;
    for (size_t j = 0; j < n; j++) {
        const struct csv_row *r = &rows[j];
        if (r->round != rows[i].round || (r->aa_twin == 1) != twin || strcmp(r->model, ref) != 0 ||
            !same_point(r, &rows[i]))
            continue;
        size_t d = j > i ? j - i : i - j;
        if (d < dist) {
            dist = d;
            best = (long)j;
        }
    }
    return best;
}

/* ---- one model's pairs ---------------------------------------------------------- */

/* Did other work have much of the run's server CPUs (verdict_table.h)? */
static bool shared_cpus(const struct csv_row *r)
{
    return r->server_cpu_s >= 0 && r->server_cpuset_busy_s > 0.05 &&
           r->server_cpu_s < VD_SHARED * r->server_cpuset_busy_s;
}

struct pairs {
    double *ratio, *own; /* [n] each: the ratio to the reference, the model's value */
    size_t n, bound;     /* pairs; pairs where either run was loadgen-bound */
    size_t unclean;      /* pairs where the model's run was not clean */
    size_t shared;       /* pairs where either run's server shared its CPUs */
};

/* The reference's value in row j's round, for metric m: with its A/A twin
 * in that round (twin >= 0), the geometric mean of the two runs, a steadier
 * yardstick than either (one run's bad moment moves it half as far, in
 * logarithms); else the one run's. */
static double yardstick(const struct csv_row *rows, long j, long twin, enum vd_metric m)
{
    double b = vd_metric_value(&rows[j], m);
    double t = twin >= 0 ? vd_metric_value(&rows[twin], m) : NAN;
    return b > 0 && t > 0 ? sqrt(b * t) : b;
}

/* Model model's same-round pairs at row p's point, for metric m: its value
 * over the reference's two runs of that round (yardstick()). With aa, the
 * A/A control's: the reference's twin over the reference's own run, the
 * noise of two runs of one model. */
static void collect(const struct csv_row *rows, size_t n, const struct csv_row *p,
                    const char *model, bool aa, const char *ref, enum vd_metric m,
                    struct pairs *out)
{
    out->n = out->bound = out->unclean = out->shared = 0;
    for (size_t i = 0; i < n; i++) {
        const struct csv_row *r = &rows[i];
        if (!r->round || !same_point(r, p) || strcmp(r->model, model) != 0 ||
            (r->aa_twin == 1) != aa)
            continue;
        long j = ref_row(rows, n, i, ref, false);
        if (j < 0) continue;
        long t = aa ? -1 : ref_row(rows, n, i, ref, true);
        double a = vd_metric_value(r, m), b = yardstick(rows, j, t, m);
        out->own[out->n] = a;
        out->ratio[out->n] = b > 0 ? a / b : NAN;
        out->bound += r->loadgen_bound == 1 || rows[j].loadgen_bound == 1 ||
                      (t >= 0 && rows[t].loadgen_bound == 1);
        out->shared += shared_cpus(r) || shared_cpus(&rows[j]) || (t >= 0 && shared_cpus(&rows[t]));
        out->unclean +=
            r->errors + r->check_failures + r->timeouts + r->unanswered + r->starved_connections >
            0;
        out->n++;
    }
}

/* The median of v[0..n)'s finite values; NAN when none. */
static double median_of(const double *v, size_t n)
{
    struct vd_interval iv;
    vd_bootstrap(v, n, 0, &iv); /* the median only matters here */
    return iv.ratio;
}

/* ---- one point: rows, verdicts, tiers ------------------------------------------- */

static int add_row(struct vd_table *t, const struct vd_row *r, size_t *cap)
{
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct vd_row *v = realloc(t->v, nc * sizeof *v);
        if (!v) return -1;
        t->v = v;
        *cap = nc;
    }
    t->v[t->n++] = *r;
    return 0;
}

/* Is a better than b for the metric (NANs last)? */
static bool ahead(const struct vd_row *a, const struct vd_row *b)
{
    if (isnan(a->iv.ratio)) return false;
    if (isnan(b->iv.ratio)) return true;
    return vd_higher_is_better(a->metric) ? a->iv.ratio > b->iv.ratio : a->iv.ratio < b->iv.ratio;
}

/* Verdicts and tiers of rows v[0..k) (one point, one metric). */
static void decide_point(struct vd_row *v, size_t k)
{
    const struct vd_interval *aa = NULL;
    for (size_t i = 0; i < k; i++)
        if (v[i].aa) aa = &v[i].iv;
    for (size_t i = 0; i < k; i++) {
        bool hb = vd_higher_is_better(v[i].metric);
        v[i].verdict = vd_decide(&v[i].iv, v[i].aa ? NULL : aa, hb);
        /* A p99 that leaves out requests with no answer (clients starved,
         * unanswered, timed out) is a lower bound: it can be worse, never
         * surely better (fork's 0.7x epoll's p99 at 1,024 clients was that
         * of the ~150 it served; 874 waited the whole window). */
        if (v[i].metric == VD_LAT_P99 && v[i].unclean && v[i].verdict == VD_BETTER)
            v[i].verdict = VD_SAME;
    }
    size_t order[256];
    size_t m = k < 256 ? k : 256;
    for (size_t i = 0; i < m; i++) { /* insertion sort, best first */
        size_t j = i;
        for (; j > 0 && ahead(&v[i], &v[order[j - 1]]); j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    size_t leader = 0;
    for (size_t i = 0; i < m; i++) {
        struct vd_row *r = &v[order[i]];
        if (i > 0 && vd_overlap(&r->iv, &v[order[leader]].iv) && !isnan(r->iv.ratio)) {
            r->rank = v[order[leader]].rank;
        } else {
            leader = i;
            r->rank = (int)i + 1;
        }
    }
}

/* Every model's row of metric m at row p's point. */
static int point_metric(struct vd_table *t, size_t *cap, const struct csv_row *rows, size_t n,
                        const struct csv_row *p, enum vd_metric m, struct pairs *pr)
{
    size_t first = t->n;
    const char *ref = t->reference;
    for (size_t i = 0; i < n; i++) { /* the models in order of first appearance */
        const struct csv_row *r = &rows[i];
        if (!r->round || !same_point(r, p)) continue;
        bool aa = r->aa_twin == 1;
        if (!aa && strcmp(r->model, ref) == 0) continue; /* the reference's own: its A/A row */
        bool seen = false;
        for (size_t k = first; k < t->n && !seen; k++)
            seen = t->v[k].aa == aa && strcmp(t->v[k].model, r->model) == 0;
        if (seen) continue;
        collect(rows, n, p, r->model, aa, ref, m, pr);
        if (pr->n == 0) continue;
        struct vd_row v = {.connections = p->connections, .rate = p->rate, .metric = m, .aa = aa};
        lg_copy(v.scenario, sizeof v.scenario, p->scenario);
        lg_copy(v.model, sizeof v.model, r->model);
        char key[LG_NAME_MAX + 160];
        snprintf(key, sizeof key, "%s|%u|%.3f|%s|%s|%d", p->scenario, p->connections, p->rate,
                 vd_metric_name(m), r->model, aa);
        vd_bootstrap(pr->ratio, pr->n, vd_seed(key), &v.iv);
        v.value = median_of(pr->own, pr->n);
        v.loadgen_bound = pr->bound * 2 >= pr->n && pr->bound > 0;
        v.unclean = pr->unclean > 0;
        v.shared = pr->shared * 2 >= pr->n && pr->shared > 0;
        if (pr->n > t->rounds) t->rounds = pr->n;
        if (add_row(t, &v, cap) < 0) return -1;
    }
    decide_point(t->v + first, t->n - first);
    return 0;
}

int vd_compute(const struct csv_row *rows, size_t n, const char *reference, struct vd_table *out,
               char *err, size_t errlen)
{
    *out = (struct vd_table){0};
    bool rounds = false;
    for (size_t i = 0; i < n; i++)
        rounds |= rows[i].round > 0;
    if (!rounds) {
        out->no_rounds = true;
        return 0;
    }
    const char *ref = pick_reference(rows, n, reference);
    if (!ref)
        return errf(err, errlen, "no reference model: %s",
                    reference ? "no row of it"
                              : "no A/A twin, epoll or poll row (give --reference MODEL)");
    lg_copy(out->reference, sizeof out->reference, ref);
    struct pairs pr = {.ratio = malloc(n * sizeof(double)), .own = malloc(n * sizeof(double))};
    size_t cap = 0;
    int rc = pr.ratio && pr.own ? 0 : -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool first = rows[i].round > 0;
        for (size_t j = 0; j < i && first; j++)
            first = !(rows[j].round > 0 && same_point(&rows[j], &rows[i]));
        for (int m = 0; m < VD__COUNT && first && rc == 0; m++)
            rc = point_metric(out, &cap, rows, n, &rows[i], (enum vd_metric)m, &pr);
    }
    free(pr.ratio);
    free(pr.own);
    if (rc < 0) {
        vd_table_free(out);
        return errf(err, errlen, "out of memory");
    }
    return 0;
}

void vd_table_free(struct vd_table *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

const struct vd_row *vd_find(const struct vd_table *t, const char *scenario, unsigned connections,
                             double rate, enum vd_metric m, const char *model, bool aa)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct vd_row *r = &t->v[i];
        if (r->metric == m && r->aa == aa && r->connections == connections && r->rate == rate &&
            strcmp(r->scenario, scenario) == 0 && strcmp(r->model, model) == 0)
            return r;
    }
    return NULL;
}

/* ---- the CSV ----------------------------------------------------------------------- */

static const char VD_HEADER[] = "scenario,connections,rate,metric,model,reference,ratio,ci_low,"
                                "ci_high,verdict,rounds,rank,value,note";

/* The row's notes: the A/A control, too few rounds, loadgen-bound req/s. */
static void notes(const struct vd_row *r, char *buf, size_t len)
{
    const char *say[] = {
        r->aa ? "A/A control" : NULL,
        r->iv.too_few ? "too few rounds" : NULL,
        r->loadgen_bound && r->metric == VD_REQ_PER_S ? "loadgen-bound: req/s measures the client"
                                                      : NULL,
        r->unclean ? "not clean: errors or clients with no answer, figures of answers only" : NULL,
        r->unclean && r->metric == VD_LAT_P99 ? "a p99 of the answered requests: never better"
                                              : NULL,
        r->shared && (r->metric == VD_REQ_PER_S || r->metric == VD_LAT_P99)
            ? "server CPUs shared with other work: this measures the sharing too"
            : NULL,
    };
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof say / sizeof say[0]; i++) {
        size_t l = strlen(buf);
        if (say[i]) snprintf(buf + l, len - l, "%s%s", l ? "; " : "", say[i]);
    }
}

static void put_num(FILE *f, double v, bool last)
{
    if (isfinite(v))
        fprintf(f, "%.4f%s", v, last ? "" : ",");
    else
        fputs(last ? "" : ",", f);
}

int vd_write_csv(const struct vd_table *t, const char *path, char *err, size_t errlen)
{
    struct atomic_file a;
    if (atomic_open(&a, path, err, errlen) < 0) return -1;
    fprintf(a.f, "%s\n", VD_HEADER);
    for (size_t i = 0; i < t->n; i++) {
        const struct vd_row *r = &t->v[i];
        char scen[LG_NAME_MAX * 2 + 3], model[140], note[256], qnote[540];
        csv_quote(scen, sizeof scen, r->scenario);
        csv_quote(model, sizeof model, r->model);
        notes(r, note, sizeof note);
        csv_quote(qnote, sizeof qnote, note);
        fprintf(a.f, "%s,%u,%g,%s,%s,%s,", scen, r->connections, r->rate, vd_metric_name(r->metric),
                model, t->reference);
        put_num(a.f, r->iv.ratio, false);
        put_num(a.f, r->iv.too_few ? NAN : r->iv.lo, false);
        put_num(a.f, r->iv.too_few ? NAN : r->iv.hi, false);
        fprintf(a.f, "%s,%zu,%d,", vd_verdict_name(r->verdict), r->iv.n, r->rank);
        put_num(a.f, r->value, false);
        fprintf(a.f, "%s\n", qnote);
    }
    return atomic_commit(&a, err, errlen);
}

/* ---- the tables --------------------------------------------------------------------- */

/* "0.86 [0.80,0.91] better": a ratio, its interval, its verdict. */
static void fmt_cell(char *buf, size_t len, const struct vd_row *r)
{
    if (!r || isnan(r->iv.ratio)) {
        snprintf(buf, len, "-");
        return;
    }
    const char *v = r->verdict == VD_SAME ? "~" : vd_verdict_name(r->verdict);
    if (r->iv.too_few)
        snprintf(buf, len, "%.2f (too few rounds) %s", r->iv.ratio, v);
    else
        snprintf(buf, len, "%.2f [%.2f,%.2f] %s%s", r->iv.ratio, r->iv.lo, r->iv.hi, v,
                 r->loadgen_bound && r->metric == VD_REQ_PER_S ? " (client)" : "");
}

static void print_point(const struct vd_table *t, const struct vd_row *p, FILE *out)
{
    char how[48] = "closed loop";
    if (p->rate > 0) snprintf(how, sizeof how, "open loop at %.0f req/s", p->rate);
    fprintf(out,
            "\n%s, %u connections, %s: ratios to %s, medians of same-round pairs [95 %% "
            "interval] and verdict (~ = same)\n",
            p->scenario, p->connections, how, t->reference);
    fprintf(out, "  %-3s %-16s %-30s %11s %-34s %-30s %-30s\n", "#", "model", "server CPU/req",
            "req/s/core", "req/s", "p99", "KiB/conn");
    /* By the CPU tier, then the ratio: the efficiency the client cannot bound. */
    const struct vd_row *list[256];
    size_t k = 0;
    for (size_t i = 0; i < t->n && k < 256; i++) {
        const struct vd_row *r = &t->v[i];
        if (r->metric == VD_CPU_PER_REQ && r->connections == p->connections && r->rate == p->rate &&
            strcmp(r->scenario, p->scenario) == 0) {
            size_t j = k++;
            for (; j > 0 && (list[j - 1]->rank > r->rank ||
                             (list[j - 1]->rank == r->rank && ahead(r, list[j - 1])));
                 j--)
                list[j] = list[j - 1];
            list[j] = r;
        }
    }
    for (size_t i = 0; i < k; i++) {
        const struct vd_row *c = list[i];
        char name[80], cells[4][64], core[24] = "-";
        snprintf(name, sizeof name, "%s%s", c->model, c->aa ? " (A/A)" : "");
        for (int m = 0; m < VD__COUNT; m++)
            fmt_cell(cells[m], sizeof cells[m],
                     vd_find(t, c->scenario, c->connections, c->rate, (enum vd_metric)m, c->model,
                             c->aa));
        if (c->value > 0) snprintf(core, sizeof core, "%.0f", 1e6 / c->value);
        fprintf(out, "  %-3d %-16s %-30s %11s %-34s %-30s %-30s\n", c->rank, name,
                cells[VD_CPU_PER_REQ], core, cells[VD_REQ_PER_S], cells[VD_LAT_P99],
                cells[VD_KIB_PER_CONN]);
    }
}

void vd_print(const struct vd_table *t, FILE *out)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct vd_row *p = &t->v[i];
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = !(t->v[j].connections == p->connections && t->v[j].rate == p->rate &&
                      strcmp(t->v[j].scenario, p->scenario) == 0);
        if (first) print_point(t, p, out);
    }
    if (t->n)
        fprintf(out,
                "\n# = tier by server CPU per request: models whose intervals overlap share a "
                "rank. (A/A): %s's second run of each round over its first, the noise this run "
                "had; a verdict needs an interval clear of it and of 1.0. (client): loadgen-bound "
                "in most rounds, that req/s measures loadgen.\n",
                t->reference);
}

/* ---- reading and the command line ---------------------------------------------------- */

struct reading {
    struct csv_row *rows;
    size_t n, cap;
};

static int read_record(const struct csv_record *rec, void *ctx, char *why, size_t whylen)
{
    struct reading *r = ctx;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        struct csv_row *v = realloc(r->rows, nc * sizeof *v);
        if (!v) return errf(why, whylen, "out of memory");
        r->rows = v;
        r->cap = nc;
    }
    return csv_parse_row(rec, &r->rows[r->n++], why, whylen) < 0 ? -1 : 0;
}

int vd_read_rows(const char *path, struct csv_row **rows, size_t *n, char *err, size_t errlen)
{
    struct reading r = {0};
    int rc = csv_read_file(path, read_record, &r, err, errlen);
    if (rc < 0) {
        free(r.rows);
        r.rows = NULL;
        r.n = 0;
    }
    *rows = r.rows;
    *n = r.n;
    return rc;
}

static const char VERDICTS_USAGE[] =
    "usage: loadgen verdicts RESULTS.csv [--reference MODEL] [--csv OUT.csv]\n"
    "\n"
    "The verdicts of a bench's rounds (loadgen bench --rounds N): for every\n"
    "scenario, point, metric (server_cpu_us_per_req, req_per_s, lat_p99_us,\n"
    "kib_per_conn) and model, the median ratio to the reference model over\n"
    "same-round pairs (to the geometric mean of the reference's two runs of\n"
    "the round, when it ran twice), its 95 % bootstrap interval (2000\n"
    "resamples, seeded: the same file gives the same interval), a verdict\n"
    "(better, worse, or same when the interval does not clear the A/A\n"
    "control's: the reference's second run of each round over its first) and\n"
    "a tier. Fewer than 3 rounds: 'too few rounds', verdict same. A file\n"
    "without rounds has no verdicts (a note).\n"
    "\n"
    "  --reference MODEL  the model ratios are to (default: the one with A/A\n"
    "                     rows, else epoll, else poll)\n"
    "  --csv OUT.csv      write the verdicts there (replaced)\n"
    "\n"
    "Exit status: 0, or 2 on a usage error or an unreadable CSV.\n";

static int usage(FILE *errout, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage(FILE *errout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen verdicts: ", errout);
    vfprintf(errout, fmt, ap);
    fputs("\ntry 'loadgen verdicts --help'\n", errout);
    va_end(ap);
    return EXIT_USAGE;
}

int verdicts_main(int argc, char **argv, FILE *out, FILE *errout)
{
    const char *file = NULL, *reference = NULL, *csv = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(VERDICTS_USAGE, out);
            return 0;
        }
        bool is_ref = strcmp(a, "--reference") == 0, is_csv = strcmp(a, "--csv") == 0;
        if (is_ref || is_csv) {
            if (i + 1 >= argc || !argv[i + 1][0]) return usage(errout, "%s needs a value", a);
            *(is_ref ? &reference : &csv) = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return usage(errout, "unknown option '%.40s'", a);
        } else if (file) {
            return usage(errout, "unexpected argument '%.200s'", a);
        } else {
            file = a;
        }
    }
    if (!file) return usage(errout, "needs a result CSV");
    struct csv_row *rows;
    size_t n;
    char err[1400];
    if (vd_read_rows(file, &rows, &n, err, sizeof err) < 0) {
        fprintf(errout, "loadgen verdicts: %s\n", err);
        return EXIT_USAGE;
    }
    struct vd_table t;
    int rc = 0;
    if (vd_compute(rows, n, reference, &t, err, sizeof err) < 0) {
        if (reference) { /* asked for one the file does not have */
            fprintf(errout, "loadgen verdicts: %s: %s\n", file, err);
            rc = EXIT_USAGE;
        } else { /* e.g. a bench of models without epoll or poll: nothing to compare to */
            fprintf(out, "note: %s: %s: no verdicts\n", file, err);
            t = (struct vd_table){0};
        }
    } else if (t.no_rounds) {
        fprintf(out,
                "note: %s has no rounds (a file from before rounds, or loadgen run's rows): "
                "no intervals or verdicts; loadgen bench --rounds 3 gives them\n",
                file);
    } else {
        vd_print(&t, out);
    }
    if (rc == 0 && csv && vd_write_csv(&t, csv, err, sizeof err) < 0) {
        fprintf(errout, "loadgen verdicts: %s\n", err);
        rc = 1;
    }
    vd_table_free(&t);
    free(rows);
    return rc;
}
