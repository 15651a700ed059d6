/* bench_report.c - the bench's records, ranked tables and CSV files
 * (bench_report.h). */
#include "bench_report.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "child.h"

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

/* ---- the ranked table -------------------------------------------------- */

/* The median of v[0..n) (v is sorted in place); 0 when n == 0. */
static double median(double *v, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 1; i < n; i++) /* insertion sort: n is --repeat */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One model's line in a scenario's table. */
struct line {
    const char *model;
    size_t ok, runs;
    bool skipped;
    const char *why; /* the first failure */
    double rps, mbs, p50, p99, cpu, cpu_req, rss;
    uint64_t errors;
};

static int by_rps(const void *x, const void *y)
{
    const struct line *a = x, *b = y;
    if ((a->ok > 0) != (b->ok > 0)) return a->ok > 0 ? -1 : 1;
    return a->rps < b->rps ? 1 : a->rps > b->rps ? -1 : 0;
}

/* The clean runs' values, one column per measure, [repeat] each. */
struct samples {
    double *rps, *mbs, *p50, *p99, *cpu, *cpr, *rss;
    size_t ncpu, nrss;
};

static void add_sample(struct samples *s, size_t ok, const struct csv_row *row)
{
    s->rps[ok] = row->req_per_s;
    s->mbs[ok] = row->mb_per_s;
    s->p50[ok] = (double)row->lat_p50_us;
    s->p99[ok] = (double)row->lat_p99_us;
    if (row->server_cpu_s >= 0) {
        s->cpu[s->ncpu] = row->server_cpu_s;
        s->cpr[s->ncpu++] = row->requests ? row->server_cpu_s * 1e6 / (double)row->requests : 0;
    }
    if (row->server_rss_kb >= 0) s->rss[s->nrss++] = (double)row->server_rss_kb;
}

/* Medians over the clean runs of one model in one scenario. */
static void summarise(const struct bench_log *log, size_t mi, size_t si, struct line *l)
{
    *l = (struct line){.model = log->models[mi]};
    size_t cap = log->repeat;
    double *v = calloc(7 * cap, sizeof *v);
    if (!v) return;
    struct samples s = {v, v + cap, v + 2 * cap, v + 3 * cap, v + 4 * cap, v + 5 * cap, v + 6 * cap,
                        0, 0};
    for (size_t i = 0; i < log->nrecs; i++) {
        const struct bench_record *r = &log->recs[i];
        if (r->model != mi || r->scen != si) continue;
        if (r->skipped) {
            l->skipped = true;
            continue;
        }
        l->runs++;
        l->errors += r->row.errors + r->row.check_failures + r->row.timeouts;
        if (r->failed) {
            if (!l->why) l->why = r->why;
            continue;
        }
        if (l->ok == cap) continue;
        add_sample(&s, l->ok++, &r->row);
    }
    l->rps = median(s.rps, l->ok);
    l->mbs = median(s.mbs, l->ok);
    l->p50 = median(s.p50, l->ok);
    l->p99 = median(s.p99, l->ok);
    l->cpu = s.ncpu ? median(s.cpu, s.ncpu) : -1;
    l->cpu_req = s.ncpu ? median(s.cpr, s.ncpu) : -1;
    l->rss = s.nrss ? median(s.rss, s.nrss) : -1;
    free(v);
}

static void print_line(const struct line *l, int rank, const char *proto)
{
    if (l->ok == 0) {
        if (l->runs == 0)
            printf("  %-2s %-12s skipped: the server does not speak %s\n", "-", l->model, proto);
        else
            printf("  %-2s %-12s FAILED: %s\n", "-", l->model, l->why ? l->why : "?");
        return;
    }
    char cpu[32] = "-", cpr[32] = "-", rss[32] = "-";
    if (l->cpu >= 0) {
        snprintf(cpu, sizeof cpu, "%.2f", l->cpu);
        snprintf(cpr, sizeof cpr, "%.1f", l->cpu_req);
    }
    if (l->rss >= 0) snprintf(rss, sizeof rss, "%.0f", l->rss);
    printf("  %-2d %-12s %12.0f %9.2f %9.0f %9.0f %7" PRIu64 " %8s %10s %9s", rank, l->model,
           l->rps, l->mbs, l->p50, l->p99, l->errors, cpu, cpr, rss);
    if (l->ok < l->runs) printf("  (%zu of %zu runs failed: %s)", l->runs - l->ok, l->runs, l->why);
    printf("\n");
}

void report_table(const struct bench_log *log, const struct lg_scenario *sc, size_t si)
{
    size_t n = log->nmodels;
    struct line *lines = calloc(n ? n : 1, sizeof *lines);
    if (!lines) return;
    size_t shown = 0;
    for (size_t mi = 0; mi < n; mi++) {
        summarise(log, mi, si, &lines[shown]);
        if (lines[shown].runs || lines[shown].skipped) shown++;
    }
    qsort(lines, shown, sizeof *lines, by_rps);
    const char *proto = bench_proto_name(sc->proto);
    printf("\n%s (%s)%s\n", sc->name, proto, log->repeat > 1 ? ", medians of the clean runs" : "");
    printf("  %-2s %-12s %12s %9s %9s %9s %7s %8s %10s %9s\n", "#", "model", "req/s", "MB/s",
           "p50 us", "p99 us", "errors", "cpu s", "cpu/req us", "rss KiB");
    int rank = 0;
    for (size_t i = 0; i < shown; i++)
        print_line(&lines[i], lines[i].ok ? ++rank : 0, proto);
    free(lines);
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

int report_pick_files(struct report_files *f, const char *csv, const char *out_dir, const char *rev)
{
    memset(f, 0, sizeof *f);
    if (csv) {
        bench_copy(f->csv, sizeof f->csv, csv);
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
        if (log->recs[i].skipped) continue;
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
            bench_copy(buf, len, out);
            return;
        }
    }
    const char *env = getenv("GIT_REV");
    bench_copy(buf, len, env && *env && !strpbrk(env, "/\n\r") ? env : "unknown");
}
