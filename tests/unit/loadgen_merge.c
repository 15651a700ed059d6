/* Unit tests for loadgen/merge.c: counts summed, percentiles from the
 * merged histograms (not averaged), req/s over the fleet's window, and the
 * refusals: different scenarios, targets, models, windows, a corrupt or
 * missing log, bad arguments; nothing written on any error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "results/csv.h"
#include "results/csvread.h"
#include "results/hdrlog.h"
#include "results/hist.h"
#include "results/merge.h"
#include "test_util.h"

#define START 1700000000.0 /* 2023-11-14T22:13:20Z */

static char err[2048];

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_merge") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

/* One host's run. */
struct run {
    const char *name; /* files NAME.csv and NAME.hlog */
    const char *scenario, *target, *model;
    double start, duration;
    uint64_t lat_base; /* the run records lat_base, 2*lat_base, ... */
    unsigned nvalues;
    const char *accounting; /* server_accounting (NULL: empty) */
    double busy;            /* server_cpuset_busy_s (0: empty) */
};

static struct run run_a(void)
{
    return (struct run){"a", "http-hello", "10.0.0.1:80", "epoll", START, 10.0, 100, 1000, NULL, 0};
}

static void record_run(struct hist *h, const struct run *r)
{
    for (unsigned i = 1; i <= r->nvalues; i++)
        hist_record(h, r->lat_base * i);
}

static void write_run(const struct run *r)
{
    struct hist *h = hist_new();
    record_run(h, r);
    struct csv_row row = {.threads = 2,
                          .connections = 32,
                          .rate = 0,
                          .server_cpu_s = -1,
                          .server_rss_kb = -1,
                          .loadgen_cpu_s = 1.5,
                          .server_cpuset_busy_s = r->busy > 0 ? r->busy : -1};
    snprintf(row.server_accounting, sizeof row.server_accounting, "%s",
             r->accounting ? r->accounting : "");
    time_t t = (time_t)r->start;
    strftime(row.started_at, sizeof row.started_at, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    snprintf(row.git_rev, sizeof row.git_rev, "abc123");
    snprintf(row.host, sizeof row.host, "host-%s", r->name);
    snprintf(row.model, sizeof row.model, "%s", r->model);
    snprintf(row.protocol, sizeof row.protocol, "http");
    snprintf(row.scenario, sizeof row.scenario, "%s", r->scenario);
    snprintf(row.engine, sizeof row.engine, "raw");
    row.duration_s = r->duration;
    row.requests = r->nvalues;
    row.errors = 1;
    row.check_failures = 2;
    row.timeouts = 3;
    row.bytes = 1000ULL * r->nvalues;
    row.req_per_s = r->nvalues / r->duration;
    row.lat_min_us = hist_min(h);
    row.lat_mean_us = (uint64_t)(hist_mean(h) + 0.5);
    row.lat_p50_us = hist_percentile(h, 50);
    row.lat_p90_us = hist_percentile(h, 90);
    row.lat_p99_us = hist_percentile(h, 99);
    row.lat_p999_us = hist_percentile(h, 99.9);
    row.lat_max_us = hist_max(h);
    char name[64];
    snprintf(name, sizeof name, "%s.csv", r->name);
    assert_int_equal(csv_append(scratch_path(name), &row, err, sizeof err), 0);

    snprintf(name, sizeof name, "%s.hlog", r->name);
    struct hdrlog_meta meta = {r->scenario, r->target};
    struct hdrlog_writer *w = hdrlog_create(scratch_path(name), r->start, &meta, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(hdrlog_write_interval(w, 0, r->duration, h, err, sizeof err), 0);
    assert_int_equal(hdrlog_write_run(w, 0, r->duration, h, err, sizeof err), 0);
    assert_int_equal(hdrlog_commit(w, err, sizeof err), 0);
    hist_free(h);
}

static void run_merge(struct captured *res, int argc, const char **argv)
{
    run_captured(merge_main, argc, argv, res);
}

static void expect_refused(struct captured *res, const char *why)
{
    assert_int_equal(res->rc, 2);
    assert_string_equal(res->out, "");
    if (!strstr(res->err, why)) {
        print_error("stderr '%s' does not say '%s'\n", res->err, why);
        fail();
    }
}

/* The merged row, read back from `--csv OUT`. */
static int keep_row(const struct csv_record *rec, void *ctx, char *why, size_t whylen)
{
    return csv_parse_row(rec, ctx, why, whylen);
}

static void read_row(const char *path, struct csv_row *row)
{
    if (csv_read_file(path, keep_row, row, err, sizeof err) != 0) {
        print_error("%s\n", err);
        fail();
    }
}

static void test_two_hosts(void **state)
{
    (void)state;
    struct run a = run_a(), b = run_a();
    b.name = "b";
    b.lat_base = 1000; /* a slow host: averaging percentiles would be wrong */
    b.nvalues = 3000;
    b.start += 0.2;
    write_run(&a);
    write_run(&b);
    char logs[2500];
    snprintf(logs, sizeof logs, "%s,%s", scratch_path("a.hlog"), scratch_path("b.hlog"));
    const char *argv[] = {
        scratch_path("a.csv"),    scratch_path("b.csv"), "--hdr-logs", logs, "--csv",
        scratch_path("fleet.csv")};
    struct captured res;
    run_merge(&res, 6, argv);
    assert_int_equal(res.rc, 0);
    assert_string_equal(res.out, "");
    assert_non_null(strstr(res.err, "2 runs, 4000 requests"));

    struct csv_row row;
    read_row(scratch_path("fleet.csv"), &row);
    assert_string_equal(row.host, "host-a+host-b");
    assert_string_equal(row.model, "epoll");
    assert_string_equal(row.scenario, "http-hello");
    assert_string_equal(row.started_at, "2023-11-14T22:13:20Z");
    assert_int_equal(row.requests, 4000);
    assert_int_equal(row.errors, 2);
    assert_int_equal(row.check_failures, 4);
    assert_int_equal(row.timeouts, 6);
    assert_int_equal(row.bytes, 4000000);
    assert_int_equal(row.threads, 4);
    assert_int_equal(row.connections, 64);
    assert_true(fabs(row.duration_s - 10.2) < 1e-3);
    assert_true(fabs(row.req_per_s - 4000 / 10.2) < 0.01);
    assert_true(fabs(row.loadgen_cpu_s - 3.0) < 1e-9);
    assert_true(row.server_cpu_s < 0 && row.server_rss_kb < 0);
    assert_string_equal(row.server_accounting, "");
    assert_true(row.server_cpuset_busy_s < 0);

    /* Percentiles of all 4000 values together. */
    struct hist *all = hist_new();
    record_run(all, &a);
    record_run(all, &b);
    assert_int_equal(row.lat_min_us, 100);
    assert_int_equal(row.lat_max_us, 3000000);
    assert_int_equal(row.lat_p50_us, hist_percentile(all, 50));
    assert_int_equal(row.lat_p90_us, hist_percentile(all, 90));
    assert_int_equal(row.lat_p99_us, hist_percentile(all, 99));
    assert_int_equal(row.lat_p999_us, hist_percentile(all, 99.9));
    assert_true(llabs((long long)row.lat_mean_us - (long long)(hist_mean(all) + 0.5)) <= 1);
    /* The p50 is 1/3 of the way into b's values, not the mean of two p50s. */
    assert_true(row.lat_p50_us > 900000 && row.lat_p50_us < 1100000);
    hist_free(all);

    /* A second merge appends one row; the header stays single. */
    run_merge(&res, 6, argv);
    if (res.rc != 0) print_error("%s\n", res.err);
    assert_int_equal(res.rc, 0);
    FILE *f = fopen(scratch_path("fleet.csv"), "r");
    assert_non_null(f);
    char line[4096];
    int lines = 0, headers = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        headers += strncmp(line, "started_at,", 11) == 0;
    }
    fclose(f);
    assert_int_equal(lines, 3);
    assert_int_equal(headers, 1);
}

/* One run merged alone reproduces its own row's latency columns. */
static void test_one_run_is_itself(void **state)
{
    (void)state;
    struct run a = run_a();
    a.name = "solo";
    a.lat_base = 37;
    a.nvalues = 12345;
    write_run(&a);
    const char *argv[] = {scratch_path("solo.csv"), "--hdr-logs", scratch_path("solo.hlog")};
    struct captured res;
    run_merge(&res, 3, argv);
    assert_int_equal(res.rc, 0);
    assert_non_null(strstr(res.out, csv_header()));
    struct csv_row merged, own;
    read_row(scratch_write_text("solo-out.csv", res.out), &merged);
    read_row(scratch_path("solo.csv"), &own);
    assert_int_equal(merged.lat_min_us, own.lat_min_us);
    assert_int_equal(merged.lat_mean_us, own.lat_mean_us);
    assert_int_equal(merged.lat_p50_us, own.lat_p50_us);
    assert_int_equal(merged.lat_p90_us, own.lat_p90_us);
    assert_int_equal(merged.lat_p99_us, own.lat_p99_us);
    assert_int_equal(merged.lat_p999_us, own.lat_p999_us);
    assert_int_equal(merged.lat_max_us, own.lat_max_us);
    assert_int_equal(merged.requests, own.requests);
}

/* The server's accounting columns: the common source or "mixed"; the
 * busy seconds of the one server's CPUs, the largest, never a sum. */
static void merge_two(struct run *a, struct run *b, struct csv_row *row)
{
    write_run(a);
    write_run(b);
    char logs[2500], ca[64], cb[64], la[64], lb[64];
    snprintf(ca, sizeof ca, "%s.csv", a->name);
    snprintf(cb, sizeof cb, "%s.csv", b->name);
    snprintf(la, sizeof la, "%s.hlog", a->name);
    snprintf(lb, sizeof lb, "%s.hlog", b->name);
    snprintf(logs, sizeof logs, "%s,%s", scratch_path(la), scratch_path(lb));
    char *pa = strdup(scratch_path(ca)), *pb = strdup(scratch_path(cb));
    const char *argv[] = {pa, pb, "--hdr-logs", logs};
    struct captured res;
    run_merge(&res, 4, argv);
    if (res.rc != 0) print_error("%s\n", res.err);
    assert_int_equal(res.rc, 0);
    read_row(scratch_write_text("acct-out.csv", res.out), row);
    free(pa);
    free(pb);
}

static void test_accounting_columns(void **state)
{
    (void)state;
    struct run a = run_a(), b = run_a();
    a.name = "acct-a";
    b.name = "acct-b";
    a.accounting = b.accounting = "cgroup1";
    a.busy = 0.9;
    b.busy = 1.25;
    struct csv_row row;
    merge_two(&a, &b, &row);
    assert_string_equal(row.server_accounting, "cgroup1");
    assert_true(fabs(row.server_cpuset_busy_s - 1.25) < 1e-9);
    b.accounting = "proc";
    b.busy = 0; /* not measured */
    merge_two(&a, &b, &row);
    assert_string_equal(row.server_accounting, "mixed");
    assert_true(fabs(row.server_cpuset_busy_s - 0.9) < 1e-9);
}

/* A file written before the accounting columns (34 columns) still reads:
 * those columns empty. */
static void test_reads_rows_without_accounting_columns(void **state)
{
    (void)state;
    struct run a = run_a();
    a.name = "old";
    a.accounting = "cgroup2";
    a.busy = 0.5;
    write_run(&a);
    char *text = read_whole_file(scratch_path("old.csv"), NULL);
    assert_non_null(text);
    /* cut both lines after their 34th field */
    char out[8192] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *p = line;
        for (int i = 0; i < 34; i++)
            p = strchr(p, ',') + 1;
        p[-1] = '\0';
        strcat(out, line);
        strcat(out, "\n");
    }
    free(text);
    struct csv_row row;
    read_row(scratch_write_text("old34.csv", out), &row);
    assert_string_equal(row.model, "epoll");
    assert_string_equal(row.server_accounting, "");
    assert_true(row.server_cpuset_busy_s < 0);
    /* a malformed busy figure is a reason, not a crash */
    struct csv_row r2;
    char bad[8192];
    snprintf(bad, sizeof bad, "%s\n", csv_header());
    char line[4096];
    struct csv_row src = {
        .server_cpu_s = -1, .server_rss_kb = -1, .loadgen_cpu_s = -1, .server_cpuset_busy_s = -1};
    src.aa_twin = -1;
    strcpy(src.model, "m");
    strcpy(src.scenario, "s");
    int len = csv_format_row(&src, line, sizeof line);
    assert_true(len > 2);
    assert_string_equal(line + len - 2, ",,"); /* round and aa_twin, empty */
    line[len - 2] = '\0';
    strcat(bad, line);
    strcat(bad, "x,,\n"); /* busy "x" */
    assert_int_equal(
        csv_read_file(scratch_write_text("badbusy.csv", bad), keep_row, &r2, err, sizeof err), -1);
    assert_non_null(strstr(err, "server_cpuset_busy_s: 'x' is not a number"));
}

/* Merging a and a variant of it must fail with why; fleet.csv untouched. */
static void expect_pair_refused(const struct run *b, const char *label, const char *why)
{
    struct run a = run_a();
    a.name = "ra";
    write_run(&a);
    write_run(b);
    char logs[2500], bcsv[64], bhlog[64];
    snprintf(bcsv, sizeof bcsv, "%s.csv", b->name);
    snprintf(bhlog, sizeof bhlog, "%s.hlog", b->name);
    snprintf(logs, sizeof logs, "%s,%s", scratch_path("ra.hlog"), scratch_path(bhlog));
    const char *out = scratch_path("refused.csv");
    const char *argv[] = {scratch_path("ra.csv"),
                          scratch_path(bcsv),
                          "--hdr-logs",
                          logs,
                          "--csv",
                          out,
                          "--label",
                          label};
    struct captured res;
    run_merge(&res, label ? 8 : 6, argv);
    expect_refused(&res, why);
    assert_false(scratch_exists("refused.csv"));
}

static void test_refusals(void **state)
{
    (void)state;
    struct run b = run_a();
    b.name = "scen";
    b.scenario = "http-mixed";
    expect_pair_refused(&b, NULL, "runs of different scenarios");
    b = run_a();
    b.name = "tgt";
    b.target = "10.0.0.2:80";
    expect_pair_refused(&b, NULL, "runs against different targets");
    b = run_a();
    b.name = "late";
    b.start += 2; /* 8 s shared of 12 s */
    expect_pair_refused(&b, NULL, "windows do not match");
    b = run_a();
    b.name = "short";
    b.duration = 5;
    expect_pair_refused(&b, NULL, "windows do not match");
    b = run_a();
    b.name = "model";
    b.model = "poll";
    expect_pair_refused(&b, NULL, "--label");
}

static void test_label_joins_models(void **state)
{
    (void)state;
    struct run a = run_a(), b = run_a();
    a.name = "la";
    b.name = "lb";
    b.model = "poll";
    write_run(&a);
    write_run(&b);
    char logs[2500];
    snprintf(logs, sizeof logs, "%s,%s", scratch_path("la.hlog"), scratch_path("lb.hlog"));
    const char *argv[] = {
        scratch_path("la.csv"), scratch_path("lb.csv"), "--hdr-logs", logs, "--label", "fleet"};
    struct captured res;
    run_merge(&res, 6, argv);
    assert_int_equal(res.rc, 0);
    assert_non_null(strstr(res.out, ",fleet,http,http-hello,raw,"));
}

/* Counts, in temp_files, the entries whose names contain "tmp": the
 * temporary files atomicfile.c makes (NAME.tmp.XXXXXX) and removes. */
static int temp_files;

static void count_temp_file(const char *path)
{
    if (strstr(strrchr(path, '/') + 1, "tmp")) temp_files++;
}

static void test_bad_logs_and_csvs(void **state)
{
    (void)state;
    struct run a = run_a();
    a.name = "good";
    write_run(&a);
    /* A log cut in the middle of its last line. */
    size_t n;
    char *good = read_whole_file(scratch_path("good.hlog"), &n);
    assert_non_null(good);
    assert_true(n > 10);
    good[n - 10] = '\0';
    scratch_write_text("cut.hlog", good);
    free(good);
    scratch_write_text("existing.csv", "not,a,result\n1,2,3\n");
    const char *argv[] = {scratch_path("good.csv"), "--hdr-logs", scratch_path("cut.hlog"), "--csv",
                          scratch_path("existing.csv")};
    struct captured res;
    run_merge(&res, 5, argv);
    expect_refused(&res, "cut.hlog:");
    /* The output file is untouched, and nothing else was left behind. */
    char *existing = read_whole_file(scratch_path("existing.csv"), NULL);
    assert_non_null(existing);
    assert_string_equal(existing, "not,a,result\n1,2,3\n");
    free(existing);
    /* A good log but an output that is not a result CSV. */
    argv[2] = scratch_path("good.hlog");
    run_merge(&res, 5, argv);
    expect_refused(&res, "not a result CSV");

    argv[2] = scratch_write_text("empty.hlog", "");
    run_merge(&res, 3, argv);
    expect_refused(&res, "no histogram in the log");

    const char *argv2[] = {scratch_write_text("headonly.csv", csv_header()), "--hdr-logs",
                           scratch_path("good.hlog")};
    run_merge(&res, 3, argv2);
    expect_refused(&res, "no result row");
    argv2[0] = scratch_write_text("garbage.csv", "hello\n");
    run_merge(&res, 3, argv2);
    expect_refused(&res, "garbage.csv:1:");
    argv2[0] = scratch_path("missing.csv");
    run_merge(&res, 3, argv2);
    expect_refused(&res, "missing.csv: No such file");

    /* A log of another scenario than its CSV (swapped files). */
    struct run other = run_a();
    other.name = "other";
    other.scenario = "ftp-get";
    write_run(&other);
    const char *argv3[] = {scratch_path("good.csv"), "--hdr-logs", scratch_path("other.hlog")};
    run_merge(&res, 3, argv3);
    expect_refused(&res, "is a log of scenario 'ftp-get'");
    /* No temporary file is left behind in the scratch directory. */
    temp_files = 0;
    assert_true(for_each_file(scratch_dir(), "", count_temp_file) > 0);
    assert_int_equal(temp_files, 0);
}

static void test_usage(void **state)
{
    (void)state;
    struct captured res;
    const char *help[] = {"--help"};
    run_merge(&res, 1, help);
    assert_int_equal(res.rc, 0);
    assert_non_null(strstr(res.out, "usage: loadgen merge"));
    run_merge(&res, 0, help);
    expect_refused(&res, "no CSV files");
    const char *nologs[] = {"a.csv", "b.csv"};
    run_merge(&res, 2, nologs);
    expect_refused(&res, "--hdr-logs is required");
    const char *fewer[] = {"a.csv", "b.csv", "--hdr-logs", "a.hlog"};
    run_merge(&res, 4, fewer);
    expect_refused(&res, "2 CSV files but fewer logs");
    const char *more[] = {"a.csv", "--hdr-logs", "a.hlog,b.hlog"};
    run_merge(&res, 3, more);
    expect_refused(&res, "1 CSV files but more logs");
    const char *unknown[] = {"a.csv", "--frobnicate"};
    run_merge(&res, 2, unknown);
    expect_refused(&res, "unknown option '--frobnicate'");
    const char *novalue[] = {"a.csv", "--hdr-logs"};
    run_merge(&res, 2, novalue);
    expect_refused(&res, "--hdr-logs needs a value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_hosts),
        cmocka_unit_test(test_one_run_is_itself),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_label_joins_models),
        cmocka_unit_test(test_bad_logs_and_csvs),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_accounting_columns),
        cmocka_unit_test(test_reads_rows_without_accounting_columns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
