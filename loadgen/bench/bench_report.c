/* bench_report.c - the bench's records, ranked tables and CSV files
 * (bench_report.h). */
#include "bench_report.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"
#include "os/atomicfile.h"
#include "os/child.h"
#include "results/verdict_table.h"

int bench_log_add(struct bench_log *log, const struct bench_record *r)
{
    if (log->nrecs == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 32;
        struct bench_record *n = realloc(log->recs, cap * sizeof *n);
        if (!n) return -1;
        log->recs = n;
        log->cap = cap;
    }
    log->recs[log->nrecs++] = *r;
    return 0;
}

void bench_log_free(struct bench_log *log)
{
    free(log->recs);
    log->recs = NULL;
    log->nrecs = log->cap = 0;
}

/* ---- the ranked tables ------------------------------------------------- */

/* v[0..n) sorted in place (insertion sort: n is --repeat). */
static void sort_values(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* The median, least and most of v[0..n) (sorted in place); -1s when n == 0. */
struct spread {
    double med, min, max;
};

static struct spread spread_of(double *v, size_t n)
{
    if (n == 0) return (struct spread){-1, -1, -1};
    sort_values(v, n);
    double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return (struct spread){med, v[0], v[n - 1]};
}

/* What the table shows of one model at one point. */
struct line {
    const char *model;
    size_t ok, runs;
    bool skipped;
    const char *why; /* the first failure */
    struct spread rps, p99, rate;
    double mbs, p50, cpu_req, kib_conn;
    uint64_t errors, refused, unanswered, starved;
    size_t bound;     /* clean runs where loadgen was CPU-bound */
    size_t at_least;  /* searches whose best rate is a lower bound (none failed) */
    size_t cpu_off;   /* clean runs where server CPU and its CPUs' busy time disagree */
    double cpu_ratio; /* the first of them: server CPU / busy time */
};

/* The server's CPU and its own CPUs' busy time (/proc/stat) differ by
 * more than 25 % of the busy time: other work on its CPUs, or accounting
 * that misses some of the server's. */
#define CPU_DISAGREE 0.25

static bool cpu_disagrees(const struct csv_row *row)
{
    double cpu = row->server_cpu_s, busy = row->server_cpuset_busy_s;
    return cpu >= 0 && busy > 0 && fabs(cpu - busy) > CPU_DISAGREE * busy;
}

/* Search tables: the highest sustained rate first. */
static int by_rps(const void *x, const void *y)
{
    const struct line *a = x, *b = y;
    if ((a->ok > 0) != (b->ok > 0)) return a->ok > 0 ? -1 : 1;
    double ra = a->rate.med > 0 ? a->rate.med : a->rps.med;
    double rb = b->rate.med > 0 ? b->rate.med : b->rps.med;
    return ra < rb ? 1 : ra > rb ? -1 : 0;
}

/* Run tables: the least server CPU per request first (the figure that does
 * not depend on the client: it stays meaningful when loadgen is the
 * bottleneck), lines without it after, by req/s. */
static int by_cpu(const void *x, const void *y)
{
    const struct line *a = x, *b = y;
    if ((a->ok > 0) != (b->ok > 0)) return a->ok > 0 ? -1 : 1;
    bool ca = a->cpu_req > 0, cb = b->cpu_req > 0;
    if (ca != cb) return ca ? -1 : 1;
    if (ca && a->cpu_req != b->cpu_req) return a->cpu_req < b->cpu_req ? -1 : 1;
    return by_rps(x, y);
}

/* The clean runs' values, one array per measure, [cap] each. */
enum { S_RPS, S_MBS, S_P50, S_P99, S_CPR, S_KIB, S_RATE, S__COUNT };
struct samples {
    double *v[S__COUNT];
    size_t n[S__COUNT];
};

static void add(struct samples *s, int which, double v)
{
    s->v[which][s->n[which]++] = v;
}

static void add_sample(struct samples *s, const struct bench_record *r)
{
    const struct csv_row *row = &r->row;
    add(s, S_RPS, row->req_per_s);
    add(s, S_MBS, row->mb_per_s);
    add(s, S_P50, (double)row->lat_p50_us);
    add(s, S_P99, (double)row->lat_p99_us);
    if (r->kind == REC_SEARCH) add(s, S_RATE, r->rate);
    if (row->server_cpu_s >= 0 && row->requests)
        add(s, S_CPR, row->server_cpu_s * 1e6 / (double)row->requests);
    if (row->server_pss_kb > 0 && row->connections)
        add(s, S_KIB, (double)row->server_pss_kb / row->connections);
}

/* This record belongs to the table of (si, kind, conns, rate)? */
static bool in_table(const struct bench_record *r, size_t si, enum record_kind kind, unsigned conns,
                     double rate)
{
    return r->scen == si && r->kind == kind && r->conns == conns &&
           (kind == REC_SEARCH || r->rate == rate);
}

/* One model's line over the records of a table. */
static void summarise(const struct bench_log *log, size_t mi, size_t si, enum record_kind kind,
                      unsigned conns, double rate, struct line *l)
{
    *l = (struct line){.model = log->models[mi]};
    size_t cap = log->repeat ? log->repeat : 1;
    double *v = calloc(S__COUNT * cap, sizeof *v);
    if (!v) return;
    struct samples s = {{0}, {0}};
    for (int i = 0; i < S__COUNT; i++)
        s.v[i] = v + (size_t)i * cap;
    for (size_t i = 0; i < log->nrecs; i++) {
        const struct bench_record *r = &log->recs[i];
        if (r->model != mi || r->aa_twin || !in_table(r, si, kind, conns, rate)) continue;
        if (r->skipped) {
            l->skipped = true;
            continue;
        }
        l->runs++;
        l->errors += r->row.errors + r->row.check_failures + r->row.timeouts;
        l->refused += r->row.refused;
        l->unanswered += r->row.unanswered;
        l->starved += r->row.starved_connections;
        if (r->failed) {
            if (!l->why) l->why = r->why;
            continue;
        }
        if (l->ok == cap) continue;
        l->ok++;
        l->bound += r->row.loadgen_bound == 1;
        l->at_least += r->kind == REC_SEARCH && r->at_least;
        if (cpu_disagrees(&r->row) && l->cpu_off++ == 0)
            l->cpu_ratio = r->row.server_cpu_s / r->row.server_cpuset_busy_s;
        add_sample(&s, r);
    }
    l->rps = spread_of(s.v[S_RPS], s.n[S_RPS]);
    l->p99 = spread_of(s.v[S_P99], s.n[S_P99]);
    l->rate = spread_of(s.v[S_RATE], s.n[S_RATE]);
    l->mbs = spread_of(s.v[S_MBS], s.n[S_MBS]).med;
    l->p50 = spread_of(s.v[S_P50], s.n[S_P50]).med;
    l->cpu_req = spread_of(s.v[S_CPR], s.n[S_CPR]).med;
    l->kib_conn = spread_of(s.v[S_KIB], s.n[S_KIB]).med;
    free(v);
}

/* "35210" or, over several runs, "35210 (33.1k-36.0k)". */
static void fmt_spread(char *buf, size_t len, struct spread sp, size_t n)
{
    if (n < 2) {
        snprintf(buf, len, "%.0f", sp.med);
        return;
    }
    char lo[16], hi[16];
    snprintf(lo, sizeof lo, sp.min >= 1e4 ? "%.1fk" : "%.0f",
             sp.min >= 1e4 ? sp.min / 1e3 : sp.min);
    snprintf(hi, sizeof hi, sp.max >= 1e4 ? "%.1fk" : "%.0f",
             sp.max >= 1e4 ? sp.max / 1e3 : sp.max);
    snprintf(buf, len, "%.0f (%s-%s)", sp.med, lo, hi);
}

static void fmt_or_dash(char *buf, size_t len, const char *fmt, double v)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, fmt, v);
}

/* A line that has no clean run: why. false when it has one. */
static bool print_no_run(const struct line *l, const char *proto)
{
    if (l->ok) return false;
    if (l->runs == 0)
        printf("  %-2s %-12s skipped: the server does not speak %s\n", "-", l->model, proto);
    else
        printf("  %-2s %-12s FAILED: %s\n", "-", l->model, l->why ? l->why : "?");
    return true;
}

/* The notes after a line: loadgen-bound runs, failed runs. */
static void print_notes(const struct line *l)
{
    if (l->bound) printf("  loadgen-bound");
    if (l->cpu_off) printf("  cpu? %.2f x its CPUs' busy time", l->cpu_ratio);
    if (l->ok < l->runs) printf("  (%zu of %zu runs failed: %s)", l->runs - l->ok, l->runs, l->why);
    printf("\n");
}

static void print_line(const struct line *l, int rank, const char *proto)
{
    if (print_no_run(l, proto)) return;
    char rps[40], p99[40], cpr[32], per_core[32], kib[32];
    fmt_spread(rps, sizeof rps, l->rps, l->ok);
    fmt_spread(p99, sizeof p99, l->p99, l->ok);
    fmt_or_dash(cpr, sizeof cpr, "%.1f", l->cpu_req);
    fmt_or_dash(per_core, sizeof per_core, "%.0f", l->cpu_req > 0 ? 1e6 / l->cpu_req : -1);
    fmt_or_dash(kib, sizeof kib, "%.1f", l->kib_conn);
    printf("  %-2d %-12s %10s %10s %20s %9.2f %9.0f %20s %7" PRIu64 " %7" PRIu64 " %7" PRIu64
           " %9s",
           rank, l->model, cpr, per_core, rps, l->mbs, l->p50, p99, l->errors, l->refused,
           l->unanswered + l->starved, kib);
    print_notes(l);
}

static void print_search_line(const struct line *l, int rank, const char *proto)
{
    if (print_no_run(l, proto)) return;
    char rate[40], p99[40], cpr[32];
    fmt_spread(rate, sizeof rate, l->rate, l->ok);
    fmt_spread(p99, sizeof p99, l->p99, l->ok);
    fmt_or_dash(cpr, sizeof cpr, "%.1f", l->cpu_req);
    printf("  %-2d %-12s %20s %12.0f %20s %10s", rank, l->model, rate, l->rps.med, p99, cpr);
    if (l->at_least)
        printf("  at least (%zu of %zu searches: no rate failed before the steps ran out)",
               l->at_least, l->ok);
    print_notes(l);
}

/* One table: every model's line at one point, ranked. */
static void print_table(const struct bench_log *log, const struct lg_scenario *sc, size_t si,
                        enum record_kind kind, unsigned conns, double rate)
{
    size_t n = log->nmodels;
    struct line *lines = calloc(n ? n : 1, sizeof *lines);
    if (!lines) return;
    size_t shown = 0;
    for (size_t mi = 0; mi < n; mi++) {
        summarise(log, mi, si, kind, conns, rate, &lines[shown]);
        if (lines[shown].runs || lines[shown].skipped) shown++;
    }
    qsort(lines, shown, sizeof *lines, kind == REC_SEARCH ? by_rps : by_cpu);
    const char *proto = lg_proto_name(sc->proto);
    const char *spread = log->repeat > 1 ? ", medians (min-max) of the clean runs" : "";
    if (kind == REC_SEARCH) {
        printf("\n%s (%s), %u connections: max sustainable throughput (p99 <= %.0f us, no "
               "errors)%s\n",
               sc->name, proto, conns, log->slo_us, spread);
        printf("  %-2s %-12s %20s %12s %20s %10s\n", "#", "model", "rate req/s", "answered/s",
               "p99 us", "cpu/req us");
    } else {
        char how[48] = "closed loop";
        if (rate > 0) snprintf(how, sizeof how, "open loop at %.0f req/s", rate);
        printf("\n%s (%s), %u connections, %s%s\n", sc->name, proto, conns, how, spread);
        printf("  %-2s %-12s %10s %10s %20s %9s %9s %20s %7s %7s %7s %9s\n", "#", "model",
               "cpu/req us", "req/s/core", "req/s", "MB/s", "p50 us", "p99 us", "errors", "refused",
               "unansw", "KiB/conn");
    }
    int rank = 0;
    for (size_t i = 0; i < shown; i++) {
        int at = lines[i].ok ? ++rank : 0;
        if (kind == REC_SEARCH)
            print_search_line(&lines[i], at, proto);
        else
            print_line(&lines[i], at, proto);
    }
    free(lines);
}

/* The first record of (si, kind) at index i opens a table: not seen before. */
static bool first_of_table(const struct bench_log *log, size_t i, size_t si, enum record_kind kind)
{
    const struct bench_record *r = &log->recs[i];
    if (r->scen != si || r->kind != kind) return false;
    for (size_t j = 0; j < i; j++)
        if (in_table(&log->recs[j], si, kind, r->conns, r->rate)) return false;
    return true;
}

void report_tables(const struct bench_log *log, const struct lg_scenario *sc, size_t si)
{
    size_t bound = 0, cpu_off = 0;
    for (size_t i = 0; i < log->nrecs; i++) {
        const struct bench_record *r = &log->recs[i];
        if (first_of_table(log, i, si, REC_POINT))
            print_table(log, sc, si, REC_POINT, r->conns, r->rate);
        bound += r->scen == si && r->row.loadgen_bound == 1;
        cpu_off += r->scen == si && !r->failed && !r->skipped && cpu_disagrees(&r->row);
    }
    for (size_t i = 0; i < log->nrecs; i++)
        if (first_of_table(log, i, si, REC_SEARCH))
            print_table(log, sc, si, REC_SEARCH, log->recs[i].conns, 0);
    if (bound)
        printf("  loadgen-bound: loadgen used ~90 %% of its CPUs; that figure measures the "
               "client too\n");
    if (cpu_off)
        printf("  cpu?: the server's CPU differs from its own CPUs' busy time (/proc/stat) by "
               "more than %.0f %%: other work on those CPUs, or accounting that misses some\n",
               CPU_DISAGREE * 100);
}

/* ---- the files --------------------------------------------------------- */

/* mkdir DIR (one level at a time). */
static int mkdirs(const char *dir)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* "dir/x.csv" -> "dir/x-steps.csv"; any other name gets "-steps.csv". */
static void beside_name(char *dst, size_t cap, const char *csv, const char *what)
{
    size_t n = strlen(csv);
    if (n >= 4 && strcmp(csv + n - 4, ".csv") == 0) n -= 4;
    snprintf(dst, cap, "%.*s-%s.csv", (int)n, csv, what);
}

static void steps_name(char *dst, size_t cap, const char *csv)
{
    beside_name(dst, cap, csv, "steps");
}

int report_pick_files(struct report_files *f, const char *csv, const char *out_dir, const char *rev)
{
    memset(f, 0, sizeof *f);
    if (csv) {
        lg_copy(f->csv, sizeof f->csv, csv);
    } else {
        if (strlen(out_dir) > 1000 || mkdirs(out_dir) < 0) {
            fprintf(stderr, "loadgen bench: --out-dir %s: %s\n", out_dir,
                    strlen(out_dir) > 1000 ? "too long" : strerror(errno));
            return -1;
        }
        char date[16] = "unknown";
        time_t t = time(NULL);
        struct tm tm;
        if (gmtime_r(&t, &tm)) strftime(date, sizeof date, "%Y-%m-%d", &tm);
        snprintf(f->csv, sizeof f->csv, "%s/%s-%s.csv", out_dir, date, rev);
        snprintf(f->latest, sizeof f->latest, "%s/latest.csv", out_dir);
    }
    const char *path = csv ? csv : f->csv;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "loadgen bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    close(fd);
    steps_name(f->steps, sizeof f->steps, f->csv);
    beside_name(f->verdicts, sizeof f->verdicts, f->latest[0] ? f->latest : f->csv, "verdicts");
    if (f->latest[0]) {
        steps_name(f->latest_steps, sizeof f->latest_steps, f->latest);
        if (truncate(f->latest_steps, 0) < 0 && errno != ENOENT) {
            fprintf(stderr, "loadgen bench: %s: %s\n", f->latest_steps, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int report_write_latest(const char *latest, const struct bench_log *log, char *err, size_t errlen)
{
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", latest, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%.1100s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", csv_header());
    for (size_t i = 0; i < log->nrecs; i++) {
        char line[4096];
        if (log->recs[i].skipped || log->recs[i].kind == REC_SEARCH) continue;
        if (csv_format_row(&log->recs[i].row, line, sizeof line) >= 0) fprintf(f, "%s\n", line);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad || rename(tmp, latest) != 0) {
        snprintf(err, errlen, "%s: %s", latest, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int report_verdicts(const struct bench_log *log, const char *path, char *err, size_t errlen)
{
    struct csv_row *rows = malloc((log->nrecs ? log->nrecs : 1) * sizeof *rows);
    if (!rows) return errf(err, errlen, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < log->nrecs; i++) /* the rows the CSV got */
        if (!log->recs[i].skipped && log->recs[i].kind != REC_SEARCH) {
            rows[n] = log->recs[i].row;
            csv_row_as_written(&rows[n++]); /* as a rerun on the CSV reads them */
        }
    struct vd_table t;
    const char *ref = log->reference >= 0 ? log->models[log->reference] : NULL;
    char why[256];
    if (vd_compute(rows, n, ref, &t, why, sizeof why) < 0) { /* no reference: no verdicts */
        printf("\nverdicts: none: %s\n", why);
        t = (struct vd_table){0};
    } else if (log->repeat >= VD_MIN_ROUNDS) {
        vd_print(&t, stdout);
    } else if (n) {
        printf("\nverdicts: %u round%s a point: too few for intervals (--rounds %d or more)\n",
               log->repeat, log->repeat == 1 ? "" : "s", VD_MIN_ROUNDS);
    }
    int rc = vd_write_csv(&t, path, err, errlen);
    vd_table_free(&t);
    free(rows);
    return rc;
}

void report_git_rev(char *buf, size_t len)
{
    char out[128], msg[256];
    char *argv[] = {"git", "rev-parse", "--short", "HEAD", NULL};
    if (child_capture(argv, true, out, sizeof out, 5, msg, sizeof msg) == 0) {
        out[strcspn(out, "\r\n")] = '\0';
        bool hex = out[0] != '\0';
        for (const char *p = out; *p; p++)
            hex &= isxdigit((unsigned char)*p) != 0;
        if (hex) {
            lg_copy(buf, len, out);
            return;
        }
    }
    const char *env = getenv("GIT_REV");
    lg_copy(buf, len, env && *env && !strpbrk(env, "/\n\r") ? env : "unknown");
}
