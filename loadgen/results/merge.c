/* merge.c - one result row for a fleet of load generators (see merge.h).
 *
 * Reads top to bottom: the inputs (last CSV row, the log), the checks that
 * the runs belong together, the merged row, writing it, the command line. */
#include "bsd_ext.h" /* timegm: BSD, not POSIX 2008 */
#include "merge.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csvread.h"
#include "os/atomicfile.h"

#define EXIT_USAGE 2

const char MERGE_USAGE[] =
    "usage: loadgen merge A.csv B.csv ... --hdr-logs A.hlog,B.hlog,... [--csv OUT] [--label L]\n"
    "\n"
    "One result row for several load generators that ran the same scenario\n"
    "against the same target over the same window (loadgen run --start-at T\n"
    "--hdr-log FILE on each host). The last row of each CSV is that host's run;\n"
    "the logs pair with the CSVs by position.\n"
    "\n"
    "  --hdr-logs LIST  the runs' HdrHistogram logs, comma-separated (required:\n"
    "                   percentiles come from the merged histograms, never averaged)\n"
    "  --csv OUT        append the row to OUT (header first when new) instead of\n"
    "                   printing header and row on stdout\n"
    "  --label L        the model column (default: the runs' common one)\n"
    "\n"
    "Counts, bytes, threads, connections, rate and loadgen CPU are summed; req/s\n"
    "and MB/s are over the fleet's window (first start to last end).\n"
    "server_accounting is the runs' common one (\"mixed\" when they differ);\n"
    "server_cpuset_busy_s, one server's CPUs seen by every run, the largest.\n"
    "Refused (exit 2, nothing written): runs of different scenarios, protocols,\n"
    "engines, targets or models, windows overlapping less than 90 %, an\n"
    "unreadable CSV, a truncated or corrupt log.\n";

/* ---- inputs ---------------------------------------------------------------- */

struct last_row {
    struct csv_row row;
    bool found;
};

static int keep_last(const struct csv_record *rec, void *ctx, char *why, size_t whylen)
{
    struct last_row *last = ctx;
    if (csv_parse_row(rec, &last->row, why, whylen) < 0) return -1;
    last->found = true;
    return 0;
}

static int load_input(struct merge_input *in, char *err, size_t errlen)
{
    struct last_row last = {.found = false};
    if (csv_read_file(in->csv_path, keep_last, &last, err, errlen) < 0) return -1;
    if (!last.found) return errf(err, errlen, "%s: no result row", in->csv_path);
    in->row = last.row;
    return hdrlog_read(in->hlog_path, &in->log, err, errlen);
}

/* "2024-01-31T12:00:00Z" -> seconds since the epoch; -1 when malformed. */
static double parse_started_at(const char *s)
{
    struct tm tm = {0};
    char z = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &z) != 7 ||
        z != 'Z')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm);
}

/* The run's measured window: the log's (absolute when it has a StartTime
 * or BaseTime), else the CSV's started_at + duration_s. */
static int run_window(const struct merge_input *in, double *start, double *end, char *err,
                      size_t errlen)
{
    if (!isnan(in->log.start_time_s) || !isnan(in->log.base_time_s)) {
        hdrlog_window(&in->log, start, end);
        return 0;
    }
    *start = parse_started_at(in->row.started_at);
    if (*start < 0)
        return errf(err, errlen, "%s: started_at '%s' is not YYYY-MM-DDTHH:MM:SSZ", in->csv_path,
                    in->row.started_at);
    *end = *start + in->row.duration_s;
    return 0;
}

/* ---- the runs belong together ---------------------------------------------- */

/* Field f of every row equals the first row's. */
static int same_text(const struct merge_input *in, size_t n, size_t off, const char *what,
                     char *err, size_t errlen)
{
    const char *first = (const char *)&in[0].row + off;
    for (size_t i = 1; i < n; i++) {
        const char *v = (const char *)&in[i].row + off;
        if (strcmp(v, first) != 0)
            return errf(err, errlen, "runs of different %s: %s has '%s', %s has '%s'", what,
                        in[0].csv_path, first, in[i].csv_path, v);
    }
    return 0;
}

static int check_logs(const struct merge_input *in, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const struct hdrlog *log = &in[i].log;
        if (*log->scenario && strcmp(log->scenario, in[i].row.scenario) != 0)
            return errf(err, errlen, "%s is a log of scenario '%s', its CSV %s of '%s'",
                        in[i].hlog_path, log->scenario, in[i].csv_path, in[i].row.scenario);
        if (strcmp(log->target, in[0].log.target) != 0)
            return errf(err, errlen, "runs against different targets: %s has '%s', %s has '%s'",
                        in[0].hlog_path, *in[0].log.target ? in[0].log.target : "(none)",
                        in[i].hlog_path, *log->target ? log->target : "(none)");
    }
    return 0;
}

/* The fleet's window [*start, *end): the union of the runs' windows, which
 * must overlap by MERGE_MIN_OVERLAP of it. */
static int check_windows(const struct merge_input *in, size_t n, double *start, double *end,
                         char *err, size_t errlen)
{
    double common_start = 0, common_end = 0;
    *start = *end = 0;
    for (size_t i = 0; i < n; i++) {
        double s, e;
        if (run_window(&in[i], &s, &e, err, errlen) < 0) return -1;
        if (i == 0 || s < *start) *start = s;
        if (i == 0 || e > *end) *end = e;
        if (i == 0 || s > common_start) common_start = s;
        if (i == 0 || e < common_end) common_end = e;
    }
    double span = *end - *start, common = common_end - common_start;
    if (!(span > 0)) return errf(err, errlen, "the runs' windows are empty (duration 0)");
    if (common < MERGE_MIN_OVERLAP * span)
        return errf(err, errlen,
                    "the runs' windows do not match: they share %.3f s of %.3f s (%.0f %%, at "
                    "least %.0f %% needed); start them with one --start-at",
                    common > 0 ? common : 0, span, common > 0 ? 100 * common / span : 0,
                    100 * MERGE_MIN_OVERLAP);
    return 0;
}

static int check_runs(const struct merge_input *in, size_t n, const char *label, char *err,
                      size_t errlen)
{
    if (same_text(in, n, offsetof(struct csv_row, scenario), "scenarios", err, errlen) < 0 ||
        same_text(in, n, offsetof(struct csv_row, protocol), "protocols", err, errlen) < 0 ||
        same_text(in, n, offsetof(struct csv_row, engine), "engines", err, errlen) < 0)
        return -1;
    if (!label && same_text(in, n, offsetof(struct csv_row, model), "models", err, errlen) < 0) {
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, " (give the fleet's row one with --label)");
        return -1;
    }
    return check_logs(in, n, err, errlen);
}

/* ---- the merged row ----------------------------------------------------------- */

static void join_hosts(char *dst, size_t cap, const struct merge_input *in, size_t n)
{
    size_t len = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(dst + len, cap - len, "%s%s", i ? "+" : "", in[i].row.host);
        if (w < 0 || (size_t)w >= cap - len) {
            snprintf(dst, cap, "%zu hosts", n);
            return;
        }
        len += (size_t)w;
    }
}

static void sum_counts(struct csv_row *out, const struct merge_input *in, size_t n)
{
    out->loadgen_cpu_s = 0;
    for (size_t i = 0; i < n; i++) {
        const struct csv_row *r = &in[i].row;
        out->threads += r->threads;
        out->connections += r->connections;
        out->rate += r->rate;
        out->requests += r->requests;
        out->errors += r->errors;
        out->check_failures += r->check_failures;
        out->timeouts += r->timeouts;
        out->refused += r->refused;
        out->unanswered += r->unanswered;
        out->starved_connections += r->starved_connections;
        out->bytes += r->bytes;
        if (out->loadgen_cpu_s >= 0)
            out->loadgen_cpu_s = r->loadgen_cpu_s < 0 ? -1 : out->loadgen_cpu_s + r->loadgen_cpu_s;
        if (strcmp(r->git_rev, in[0].row.git_rev) != 0)
            snprintf(out->git_rev, sizeof out->git_rev, "mixed");
    }
}

/* The server's accounting: the runs' common source, "mixed" when they
 * differ. Its CPUs' busy time: every run watched the same target over the
 * same window (checked above), so the busy seconds are one figure seen
 * several times, never added up: the largest (empty when no run has it). */
static void merge_accounting(struct csv_row *out, const struct merge_input *in, size_t n)
{
    snprintf(out->server_accounting, sizeof out->server_accounting, "%s",
             in[0].row.server_accounting);
    for (size_t i = 0; i < n; i++) {
        const struct csv_row *r = &in[i].row;
        if (strcmp(r->server_accounting, in[0].row.server_accounting) != 0)
            snprintf(out->server_accounting, sizeof out->server_accounting, "mixed");
        if (r->server_cpuset_busy_s > out->server_cpuset_busy_s)
            out->server_cpuset_busy_s = r->server_cpuset_busy_s;
    }
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Percentiles from the merged histogram; min and max are the rows' exact
 * extremes (a histogram only knows buckets), the mean weighted by count. */
static int fill_latency(struct csv_row *out, const struct merge_input *in, size_t n, char *err,
                        size_t errlen)
{
    struct hist *all = hist_new();
    if (!all) return errf(err, errlen, "out of memory");
    double weighted = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const struct hist *h = hdrlog_total(&in[i].log);
        if (hist_count(h) == 0) continue;
        hist_merge(all, h);
        const struct csv_row *r = &in[i].row;
        weighted += (double)r->lat_mean_us * (double)hist_count(h);
        if (!any || r->lat_min_us < out->lat_min_us) out->lat_min_us = r->lat_min_us;
        if (r->lat_max_us > out->lat_max_us) out->lat_max_us = r->lat_max_us;
        any = true;
    }
    if (any) {
        uint64_t lo = out->lat_min_us, hi = out->lat_max_us;
        out->lat_mean_us = (uint64_t)(weighted / (double)hist_count(all) + 0.5);
        out->lat_p50_us = clamp(hist_percentile(all, 50), lo, hi);
        out->lat_p90_us = clamp(hist_percentile(all, 90), lo, hi);
        out->lat_p99_us = clamp(hist_percentile(all, 99), lo, hi);
        out->lat_p999_us = clamp(hist_percentile(all, 99.9), lo, hi);
    }
    hist_free(all);
    return 0;
}

int merge_runs(const struct merge_input *in, size_t n, const char *label, struct csv_row *out,
               char *err, size_t errlen)
{
    double start, end;
    if (n == 0) return errf(err, errlen, "no runs to merge");
    if (check_runs(in, n, label, err, errlen) < 0 ||
        check_windows(in, n, &start, &end, err, errlen) < 0)
        return -1;
    *out = (struct csv_row){
        .server_cpu_s = -1, .server_rss_kb = -1, .server_cpuset_busy_s = -1, .aa_twin = -1};
    time_t t = (time_t)start;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(out->started_at, sizeof out->started_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(out->git_rev, sizeof out->git_rev, "%s", in[0].row.git_rev);
    join_hosts(out->host, sizeof out->host, in, n);
    snprintf(out->model, sizeof out->model, "%s", label ? label : in[0].row.model);
    memcpy(out->protocol, in[0].row.protocol, sizeof out->protocol);
    memcpy(out->scenario, in[0].row.scenario, sizeof out->scenario);
    memcpy(out->engine, in[0].row.engine, sizeof out->engine);
    sum_counts(out, in, n);
    merge_accounting(out, in, n);
    out->duration_s = end - start;
    out->req_per_s = (double)out->requests / out->duration_s;
    out->mb_per_s = (double)out->bytes / 1e6 / out->duration_s;
    return fill_latency(out, in, n, err, errlen);
}

/* ---- writing -------------------------------------------------------------------- */

/* The existing file's bytes (empty when it does not exist), checked to
 * start with the header. */
static char *existing_csv(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    *len = 0;
    if (!f && errno == ENOENT) return calloc(1, 1);
    if (!f) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        if (*len + 2 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        buf[(*len)++] = (char)c;
    }
    bool bad = ferror(f) || c != EOF;
    fclose(f);
    if (!buf) buf = calloc(1, 1);
    if (bad || !buf) {
        free(buf);
        errf(err, errlen, "%s: cannot read it", path);
        return NULL;
    }
    buf[*len] = '\0';
    size_t hl = strlen(csv_header());
    if (*len && (*len < hl || memcmp(buf, csv_header(), hl) != 0 ||
                 (buf[hl] != '\n' && buf[hl] != '\r' && buf[hl] != ','))) {
        free(buf);
        errf(err, errlen, "%s: not a result CSV (its first line is not the header)", path);
        return NULL;
    }
    return buf;
}

int merge_write_csv(const char *path, const struct csv_row *row, char *err, size_t errlen)
{
    char line[4096];
    if (csv_format_row(row, line, sizeof line) < 0) return errf(err, errlen, "row too long");
    size_t len;
    char *old = existing_csv(path, &len, err, errlen);
    struct atomic_file out;
    if (!old || atomic_open(&out, path, err, errlen) < 0) {
        free(old);
        return -1;
    }
    fwrite(old, 1, len, out.f);
    if (len == 0)
        fprintf(out.f, "%s\n", csv_header());
    else if (old[len - 1] != '\n')
        fputc('\n', out.f);
    fprintf(out.f, "%s\n", line);
    free(old);
    return atomic_commit(&out, err, errlen);
}

/* ---- the command line -------------------------------------------------------------- */

struct merge_args {
    const char **csvs;
    size_t ncsvs;
    const char *logs; /* the --hdr-logs list */
    char *split;      /* a copy of it, split into the paths */
    const char *out, *label;
};

static int usage(FILE *errout, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage(FILE *errout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen merge: ", errout);
    vfprintf(errout, fmt, ap);
    fputs("\ntry 'loadgen merge --help'\n", errout);
    va_end(ap);
    return EXIT_USAGE;
}

/* 0 parsed, 1 --help shown, EXIT_USAGE. */
static int parse_args(int argc, char **argv, struct merge_args *a, FILE *out, FILE *errout)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char **dst = strcmp(arg, "--csv") == 0     ? &a->out
                           : strcmp(arg, "--label") == 0 ? &a->label
                                                         : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(MERGE_USAGE, out);
            return 1;
        } else if (strcmp(arg, "--hdr-logs") == 0 || dst) {
            if (i + 1 >= argc || !*argv[i + 1]) return usage(errout, "%s needs a value", arg);
            if (dst)
                *dst = argv[++i];
            else
                a->logs = argv[++i];
        } else if (arg[0] == '-' && arg[1]) {
            return usage(errout, "unknown option '%s'", arg);
        } else {
            a->csvs[a->ncsvs++] = arg;
        }
    }
    if (a->ncsvs == 0) return usage(errout, "no CSV files given");
    if (!a->logs)
        return usage(errout, "--hdr-logs is required: percentiles come from the merged "
                             "histograms, they cannot be averaged");
    return 0;
}

/* Split the --hdr-logs list into in[i].hlog_path; its length must match. */
static int pair_logs(struct merge_args *a, struct merge_input *in, FILE *errout)
{
    a->split = strdup(a->logs);
    if (!a->split) return usage(errout, "out of memory");
    size_t n = 0;
    char *save = NULL;
    for (char *p = strtok_r(a->split, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (n == a->ncsvs) {
            n++;
            break;
        }
        in[n].csv_path = a->csvs[n];
        in[n++].hlog_path = p;
    }
    if (n != a->ncsvs)
        return usage(errout,
                     "%zu CSV files but %s logs in --hdr-logs: give one log per CSV, in the same "
                     "order",
                     a->ncsvs, n > a->ncsvs ? "more" : "fewer");
    return 0;
}

static int merge_and_write(struct merge_input *in, const struct merge_args *a, FILE *out,
                           FILE *errout)
{
    char err[2048];
    for (size_t i = 0; i < a->ncsvs; i++)
        if (load_input(&in[i], err, sizeof err) < 0) {
            fprintf(errout, "loadgen merge: %s\n", err);
            return EXIT_USAGE;
        }
    struct csv_row row;
    if (merge_runs(in, a->ncsvs, a->label, &row, err, sizeof err) < 0) {
        fprintf(errout, "loadgen merge: %s\n", err);
        return EXIT_USAGE;
    }
    if (a->out) {
        if (merge_write_csv(a->out, &row, err, sizeof err) < 0) {
            fprintf(errout, "loadgen merge: %s\n", err);
            return EXIT_USAGE;
        }
    } else {
        char line[4096];
        if (csv_format_row(&row, line, sizeof line) < 0) {
            fprintf(errout, "loadgen merge: row too long\n");
            return EXIT_USAGE;
        }
        fprintf(out, "%s\n%s\n", csv_header(), line);
    }
    fprintf(errout,
            "loadgen merge: %zu runs, %llu requests in %.3f s = %.2f req/s, p50 %llu us, p99 "
            "%llu us\n",
            a->ncsvs, (unsigned long long)row.requests, row.duration_s, row.req_per_s,
            (unsigned long long)row.lat_p50_us, (unsigned long long)row.lat_p99_us);
    return 0;
}

int merge_main(int argc, char **argv, FILE *out, FILE *errout)
{
    struct merge_args a = {.csvs = calloc((size_t)argc + 1, sizeof(char *))};
    struct merge_input *in = calloc((size_t)argc + 1, sizeof *in);
    int rc = a.csvs && in ? 0 : EXIT_USAGE;
    if (rc) fprintf(errout, "loadgen merge: out of memory\n");
    if (rc == 0) rc = parse_args(argc, argv, &a, out, errout);
    if (rc == 0) rc = pair_logs(&a, in, errout);
    if (rc == 0) rc = merge_and_write(in, &a, out, errout);
    for (size_t i = 0; in && i < a.ncsvs; i++)
        hdrlog_free(&in[i].log);
    free(in);
    free(a.csvs);
    free(a.split);
    return rc == 1 ? 0 : rc;
}
