/* Unit tests for loadgen/compare.c: reading result CSVs (header checked,
 * FILE:LINE errors), grouping with medians, thresholds in both directions,
 * errors in B, missing and new rows, reference ratios, exit statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/compare.h"
#include "results/csv.h"
#include "test_util.h"

static char err[2048];

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_compare") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

/* A row as bench writes it. */
static struct csv_row row(const char *model, const char *scenario, double rps)
{
    struct csv_row r = {.threads = 2,
                        .connections = 64,
                        .duration_s = 1,
                        .server_rss_kb = 2600,
                        .loadgen_cpu_s = 0.5};
    snprintf(r.started_at, sizeof r.started_at, "2024-01-01T00:00:00Z");
    snprintf(r.git_rev, sizeof r.git_rev, "abc1234");
    snprintf(r.host, sizeof r.host, "host");
    snprintf(r.model, sizeof r.model, "%s", model);
    snprintf(r.protocol, sizeof r.protocol, "http");
    snprintf(r.scenario, sizeof r.scenario, "%s", scenario);
    snprintf(r.engine, sizeof r.engine, "raw");
    r.requests = (uint64_t)rps;
    r.bytes = r.requests * 300;
    r.req_per_s = rps;
    r.mb_per_s = rps * 300 / 1e6;
    r.lat_min_us = 10;
    r.lat_mean_us = 400;
    r.lat_p50_us = 300;
    r.lat_p90_us = 800;
    r.lat_p99_us = 2000;
    r.lat_p999_us = 4000;
    r.lat_max_us = 9000;
    r.server_cpu_s = rps * 1e-5; /* 10 us per request */
    return r;
}

/* Writes header + rows to SCRATCH/name; returns the path (see scratch_path). */
static const char *write_rows(const char *name, const struct csv_row *rows, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fprintf(f, "%s\n", csv_header());
    for (size_t i = 0; i < n; i++) {
        char line[4096];
        assert_true(csv_format_row(&rows[i], line, sizeof line) > 0);
        fprintf(f, "%s\n", line);
    }
    fclose(f);
    const char *path = scratch_write(name, text, len);
    free(text);
    return path;
}

/* Load a and b and compare them; returns cmp_compare's result. */
static int compare_files(const char *a, const char *b, const struct cmp_opts *o,
                         struct cmp_summary *sum, char **output)
{
    struct cmp_file fa, fb;
    assert_int_equal(cmp_load(a, &fa, err, sizeof err), 0);
    assert_int_equal(cmp_load(b, &fb, err, sizeof err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    int rc = cmp_compare(&fa, &fb, o, out, sum, err, sizeof err);
    fclose(out);
    if (output)
        *output = buf;
    else
        free(buf);
    cmp_file_free(&fa);
    cmp_file_free(&fb);
    return rc;
}

static const struct cmp_opts defaults = {.threshold = 0.10, .metrics = CMP_DEFAULT_METRICS};

/* ---- reading ---- */

static void test_load_reads_rows_and_derives_cpu_per_request(void **state)
{
    (void)state;
    struct csv_row rows[2] = {row("epoll", "http-hello", 40000), row("thread", "echo", 1000)};
    rows[1].server_cpu_s = -1; /* empty: a `loadgen run` row */
    rows[1].server_rss_kb = -1;
    const char *p = write_rows("load.csv", rows, 2);
    struct cmp_file f;
    assert_int_equal(cmp_load(p, &f, err, sizeof err), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.rows[0].model, "epoll");
    assert_string_equal(f.rows[0].scenario, "http-hello");
    assert_int_equal(f.rows[0].line, 2);
    assert_int_equal(f.rows[1].line, 3);
    assert_int_equal(f.rows[0].requests, 40000);
    assert_true(fabs(f.rows[0].v[CMP_REQ_PER_S] - 40000) < 1e-6);
    assert_true(fabs(f.rows[0].v[CMP_LAT_P99_US] - 2000) < 1e-6);
    assert_true(fabs(f.rows[0].v[CMP_CPU_PER_REQ_US] - 10) < 1e-3);
    assert_true(isnan(f.rows[1].v[CMP_SERVER_CPU_S]));
    assert_true(isnan(f.rows[1].v[CMP_CPU_PER_REQ_US]));
    assert_true(isnan(f.rows[1].v[CMP_SERVER_RSS_KB]));
    cmp_file_free(&f);
}

static void test_load_accepts_columns_added_at_the_end_and_quoting(void **state)
{
    (void)state;
    char text[8192];
    struct csv_row r = row("epoll", "http-hello", 100);
    char line[4096];
    csv_format_row(&r, line, sizeof line);
    /* host quoted over two lines, then a new last column. */
    const char *comma = strchr(strchr(line, ',') + 1, ','); /* after git_rev */
    const char *after_host = strchr(comma + 1, ',');
    snprintf(text, sizeof text, "%s,extra\n%.*s,\"multi\nline, host\"%s,x\n\n%s,y\n", csv_header(),
             (int)(comma - line), line, after_host, line);
    const char *p = scratch_write_text("quoted.csv", text);
    struct cmp_file f;
    assert_int_equal(cmp_load(p, &f, err, sizeof err), 0);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.rows[0].line, 2);
    assert_int_equal(f.rows[1].line, 5); /* the quoted line break and a blank line counted */
    assert_string_equal(f.rows[1].model, "epoll");
    cmp_file_free(&f);
}

/* A file of the first schema (28 columns, before the study's columns were
 * appended) still loads. */
static void test_load_reads_the_first_schema(void **state)
{
    (void)state;
    struct csv_row r = row("epoll", "http-hello", 100);
    char line[4096], text[8192];
    csv_format_row(&r, line, sizeof line);
    char header[1024];
    snprintf(header, sizeof header, "%s", csv_header());
    *strstr(header, ",unanswered") = '\0';
    char *cut = line;
    for (int i = 0; i < 28; i++)
        cut = strchr(cut, ',') + 1;
    cut[-1] = '\0';
    snprintf(text, sizeof text, "%s\n%s\n", header, line);
    struct cmp_file f;
    assert_int_equal(cmp_load(scratch_write_text("first.csv", text), &f, err, sizeof err), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.rows[0].connections, 64);
    cmp_file_free(&f);
}

static void assert_load_error(const char *name, const char *text, const char *want)
{
    const char *p = scratch_write_text(name, text);
    char expect[1400];
    snprintf(expect, sizeof expect, "%s:%s", p, want);
    struct cmp_file f;
    assert_int_equal(cmp_load(p, &f, err, sizeof err), -1);
    if (strncmp(err, expect, strlen(expect)) != 0)
        fail_msg("error '%s', expected it to start with '%s'", err, expect);
    assert_null(f.rows);
}

static void test_bad_header_is_reported_with_file_and_line(void **state)
{
    (void)state;
    assert_load_error("empty.csv", "", "1: empty file");
    assert_load_error("short.csv", "started_at,git_rev,host\n", "1: header has 3 columns");
    char text[4096];
    snprintf(text, sizeof text, "%s\n", csv_header());
    char *host = strstr(text, "host");
    memcpy(host, "HOST", 4);
    assert_load_error("renamed.csv", text, "1: header column 3 is 'HOST', expected 'host'");
}

static void test_bad_rows_are_reported_with_file_and_line(void **state)
{
    (void)state;
    struct csv_row r = row("epoll", "http-hello", 100);
    char line[4096], text[16384];
    csv_format_row(&r, line, sizeof line);

    snprintf(text, sizeof text, "%s\n%s\n%s,extra\n", csv_header(), line, line);
    int ncols = 1;
    for (const char *h = csv_header(); *h; h++)
        ncols += *h == ',';
    char want[64];
    snprintf(want, sizeof want, "3: %d fields, the header has %d", ncols + 1, ncols);
    assert_load_error("fields.csv", text, want);

    char *bad = strdup(line);
    char *rps = strstr(bad, ",100.00,"); /* req_per_s */
    assert_non_null(rps);
    memcpy(rps + 1, "abcdef", 6);
    snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n", csv_header(), line, line, bad);
    assert_load_error("number.csv", text, "4: req_per_s: 'abcdef' is not a number");
    free(bad);

    snprintf(text, sizeof text, "%s\n\"unterminated,%s\n", csv_header(), line);
    assert_load_error("quote.csv", text, "2: unterminated quoted field");

    snprintf(text, sizeof text, "%s\n%s\nno\"quote\n", csv_header(), line);
    assert_load_error("stray.csv", text, "3: quote inside an unquoted field");

    assert_int_equal(cmp_load("/nonexistent/x.csv", &(struct cmp_file){0}, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.csv: "));
}

/* ---- grouping ---- */

static void test_median_ignores_nan_and_averages_even_counts(void **state)
{
    (void)state;
    double odd[] = {30, 10, NAN, 20};
    assert_true(fabs(cmp_median(odd, 4) - 20) < 1e-9);
    double even[] = {4, 1, 3, 2};
    assert_true(fabs(cmp_median(even, 4) - 2.5) < 1e-9);
    double none[] = {NAN, NAN};
    assert_true(isnan(cmp_median(none, 2)));
    assert_true(isnan(cmp_median(none, 0)));
}

static void test_groups_take_medians_and_sum_failures(void **state)
{
    (void)state;
    struct csv_row rows[] = {row("epoll", "s", 100), row("thread", "s", 50), row("epoll", "s", 300),
                             row("epoll", "s", 200)};
    rows[2].errors = 2;
    rows[3].timeouts = 1;
    const char *p = write_rows("groups.csv", rows, 4);
    struct cmp_file f;
    assert_int_equal(cmp_load(p, &f, err, sizeof err), 0);
    struct cmp_set s;
    assert_int_equal(cmp_group_rows(&f, &s), 0);
    assert_int_equal(s.n, 2);
    const struct cmp_group *g = cmp_find(&s, "epoll", "s", 64, 0);
    assert_non_null(g);
    assert_ptr_equal(g, &s.g[0]); /* order of first appearance */
    assert_int_equal(g->nrows, 3);
    assert_true(fabs(g->v[CMP_REQ_PER_S] - 200) < 1e-9);
    assert_int_equal(g->errors, 2);
    assert_int_equal(g->timeouts, 1);
    assert_null(cmp_find(&s, "epoll", "other", 64, 0));
    assert_null(cmp_find(&s, "select", "s", 64, 0));
    cmp_set_free(&s);
    cmp_file_free(&f);
}

/* ---- comparing ---- */

/* A sweep's points are keys of their own: (model, scenario, connections, rate). */
static void test_points_are_keys_of_their_own(void **state)
{
    (void)state;
    struct csv_row rows[] = {row("epoll", "s", 100), row("epoll", "s", 300), row("epoll", "s", 500),
                             row("epoll", "s", 700)};
    rows[1].connections = 1024;
    rows[2].rate = 400;
    rows[3].rate = 400;
    struct cmp_file f;
    assert_int_equal(cmp_load(write_rows("points.csv", rows, 4), &f, err, sizeof err), 0);
    struct cmp_set s;
    assert_int_equal(cmp_group_rows(&f, &s), 0);
    assert_int_equal(s.n, 3);
    assert_true(fabs(cmp_find(&s, "epoll", "s", 64, 0)->v[CMP_REQ_PER_S] - 100) < 1e-9);
    assert_true(fabs(cmp_find(&s, "epoll", "s", 1024, 0)->v[CMP_REQ_PER_S] - 300) < 1e-9);
    assert_true(fabs(cmp_find(&s, "epoll", "s", 64, 400)->v[CMP_REQ_PER_S] - 600) < 1e-9);
    assert_null(cmp_find(&s, "epoll", "s", 16, 0));
    cmp_set_free(&s);
    cmp_file_free(&f);
    /* B without the 1024 point: that key is missing, the others match. */
    struct cmp_summary sum;
    char *out;
    struct cmp_opts o = {.threshold = 0.10, .metrics = CMP_BIT(CMP_REQ_PER_S)};
    struct csv_row rb[] = {rows[0], rows[2], rows[3]};
    assert_int_equal(compare_files(write_rows("points-a.csv", rows, 4),
                                   write_rows("points-b.csv", rb, 3), &o, &sum, &out),
                     1);
    assert_int_equal(sum.matched, 2);
    assert_int_equal(sum.missing, 1);
    assert_non_null(strstr(out, "missing in B: s / epoll / 1024c  REGRESSION"));
    assert_non_null(strstr(out, "64c@400/s"));
    free(out);
}

static void test_identical_files_do_not_regress(void **state)
{
    (void)state;
    struct csv_row rows[] = {row("epoll", "http-hello", 40000), row("thread", "http-hello", 30000),
                             row("epoll", "echo", 70000)};
    const char *a = write_rows("same.csv", rows, 3);
    struct cmp_summary sum;
    char *out;
    assert_int_equal(compare_files(a, a, &defaults, &sum, &out), 0);
    assert_int_equal(sum.matched, 3);
    assert_int_equal(sum.missing + sum.added + sum.regressions, 0);
    assert_non_null(strstr(out, "no regression"));
    assert_null(strstr(out, "REGRESSION"));
    free(out);
}

static void test_throughput_threshold(void **state)
{
    (void)state;
    struct csv_row ra = row("epoll", "s", 1000);
    const char *a = write_rows("thr-a.csv", &ra, 1);
    struct cmp_opts o = {.threshold = 0.10, .metrics = CMP_BIT(CMP_REQ_PER_S)};
    struct cmp_summary sum;
    struct csv_row rb = row("epoll", "s", 901); /* -9.9 %: within 10 % */
    assert_int_equal(compare_files(a, write_rows("thr-b1.csv", &rb, 1), &o, &sum, NULL), 0);
    rb = row("epoll", "s", 899); /* -10.1 % */
    char *out;
    assert_int_equal(compare_files(a, write_rows("thr-b2.csv", &rb, 1), &o, &sum, &out), 1);
    assert_int_equal(sum.regressions, 1);
    assert_non_null(strstr(out, "-10.1%  REGRESSION"));
    free(out);
    rb = row("epoll", "s", 5000); /* faster is never a regression */
    assert_int_equal(compare_files(a, write_rows("thr-b3.csv", &rb, 1), &o, &sum, NULL), 0);
    o.threshold = 0.5;
    rb = row("epoll", "s", 600);
    assert_int_equal(compare_files(a, write_rows("thr-b4.csv", &rb, 1), &o, &sum, NULL), 0);
}

static void test_latency_and_cpu_thresholds(void **state)
{
    (void)state;
    struct csv_row ra = row("epoll", "s", 1000);
    const char *a = write_rows("lat-a.csv", &ra, 1);
    struct cmp_summary sum;
    struct cmp_opts o = {.threshold = 0.10, .metrics = CMP_BIT(CMP_LAT_P99_US)};
    struct csv_row rb = row("epoll", "s", 1000);
    rb.lat_p99_us = 2190; /* +9.5 % */
    assert_int_equal(compare_files(a, write_rows("lat-b1.csv", &rb, 1), &o, &sum, NULL), 0);
    rb.lat_p99_us = 2210; /* +10.5 % */
    assert_int_equal(compare_files(a, write_rows("lat-b2.csv", &rb, 1), &o, &sum, NULL), 1);
    rb.lat_p99_us = 100; /* faster */
    assert_int_equal(compare_files(a, write_rows("lat-b3.csv", &rb, 1), &o, &sum, NULL), 0);

    o.metrics = CMP_BIT(CMP_CPU_PER_REQ_US);
    rb = row("epoll", "s", 1000);
    rb.server_cpu_s = 0.0125; /* 12.5 us per request instead of 10 */
    assert_int_equal(compare_files(a, write_rows("cpu-b.csv", &rb, 1), &o, &sum, NULL), 1);
    /* The same CPU, but p99 not selected: no regression from p99. */
    rb = row("epoll", "s", 1000);
    rb.lat_p99_us = 99999;
    assert_int_equal(compare_files(a, write_rows("cpu-b2.csv", &rb, 1), &o, &sum, NULL), 0);
}

static void test_errors_in_b_are_a_regression(void **state)
{
    (void)state;
    struct csv_row ra = row("epoll", "s", 1000);
    const char *a = write_rows("err-a.csv", &ra, 1);
    struct cmp_summary sum;
    const char *fields[] = {"errors", "check_failures", "timeouts"};
    for (int i = 0; i < 3; i++) {
        struct csv_row rb = row("epoll", "s", 1000);
        if (i == 0)
            rb.errors = 1;
        else if (i == 1)
            rb.check_failures = 1;
        else
            rb.timeouts = 1;
        char name[32];
        snprintf(name, sizeof name, "err-b%d.csv", i);
        char *out;
        assert_int_equal(compare_files(a, write_rows(name, &rb, 1), &defaults, &sum, &out), 1);
        if (!strstr(out, "REGRESSION")) fail_msg("%s in B: no REGRESSION in\n%s", fields[i], out);
        free(out);
    }
    /* Errors in A only: B is better. */
    struct csv_row rb = row("epoll", "s", 1000);
    ra.errors = 5;
    a = write_rows("err-a2.csv", &ra, 1);
    assert_int_equal(compare_files(a, write_rows("err-b9.csv", &rb, 1), &defaults, &sum, NULL), 0);
}

static void test_missing_rows_regress_new_rows_do_not(void **state)
{
    (void)state;
    struct csv_row ra[] = {row("epoll", "s", 1000), row("thread", "s", 900)};
    struct csv_row rb[] = {row("epoll", "s", 1000), row("uring", "s", 2000)};
    const char *a = write_rows("miss-a.csv", ra, 2);
    const char *b = write_rows("miss-b.csv", rb, 2);
    struct cmp_summary sum;
    char *out;
    assert_int_equal(compare_files(a, b, &defaults, &sum, &out), 1);
    assert_int_equal(sum.matched, 1);
    assert_int_equal(sum.missing, 1);
    assert_int_equal(sum.added, 1);
    assert_int_equal(sum.regressions, 1);
    assert_non_null(strstr(out, "missing in B: s / thread / 64c  REGRESSION"));
    assert_non_null(strstr(out, "new in B: s / uring / 64c\n"));
    free(out);
    /* New rows alone are not a regression. */
    assert_int_equal(compare_files(write_rows("miss-a2.csv", ra, 1), b, &defaults, &sum, NULL), 0);
    assert_int_equal(sum.added, 1);
}

static void test_medians_are_compared_not_single_rows(void **state)
{
    (void)state;
    struct csv_row ra[] = {row("epoll", "s", 1000), row("epoll", "s", 1010),
                           row("epoll", "s", 990)};
    /* One bad outlier among three does not move the median. */
    struct csv_row rb[] = {row("epoll", "s", 300), row("epoll", "s", 1005), row("epoll", "s", 995)};
    struct cmp_opts o = {.threshold = 0.10, .metrics = CMP_BIT(CMP_REQ_PER_S)};
    struct cmp_summary sum;
    assert_int_equal(compare_files(write_rows("med-a.csv", ra, 3), write_rows("med-b.csv", rb, 3),
                                   &o, &sum, NULL),
                     0);
}

static void test_reference_ratios_survive_a_slower_machine(void **state)
{
    (void)state;
    struct csv_row ra[] = {row("epoll", "s", 1000), row("thread", "s", 500)};
    /* Everything at half speed: raw numbers regress, ratios do not. */
    struct csv_row rb[] = {row("epoll", "s", 500), row("thread", "s", 250)};
    const char *a = write_rows("ref-a.csv", ra, 2);
    const char *b = write_rows("ref-b.csv", rb, 2);
    struct cmp_opts raw = {.threshold = 0.10, .metrics = CMP_BIT(CMP_REQ_PER_S)};
    struct cmp_opts ref = raw;
    ref.reference = "epoll";
    struct cmp_summary sum;
    assert_int_equal(compare_files(a, b, &raw, &sum, NULL), 1);
    char *out;
    assert_int_equal(compare_files(a, b, &ref, &sum, &out), 0);
    assert_non_null(strstr(out, "req/s / epoll"));
    assert_non_null(strstr(out, "0.500"));
    free(out);
    /* thread fell from half of epoll to 0.4 of it: a regression. */
    struct csv_row rc[] = {row("epoll", "s", 500), row("thread", "s", 200)};
    assert_int_equal(compare_files(a, write_rows("ref-c.csv", rc, 2), &ref, &sum, &out), 1);
    assert_non_null(strstr(out, "-20.0%  REGRESSION"));
    free(out);
}

static void test_reference_missing_in_a_scenario_gives_no_ratio(void **state)
{
    (void)state;
    struct csv_row ra[] = {row("epoll", "s", 1000), row("thread", "t", 500)};
    struct csv_row rb[] = {row("epoll", "s", 1000), row("thread", "t", 100)};
    struct cmp_opts ref = {
        .threshold = 0.10, .metrics = CMP_BIT(CMP_REQ_PER_S), .reference = "epoll"};
    struct cmp_summary sum;
    char *out;
    assert_int_equal(compare_files(write_rows("nor-a.csv", ra, 2), write_rows("nor-b.csv", rb, 2),
                                   &ref, &sum, &out),
                     0);
    assert_non_null(strstr(out, "no epoll row"));
    free(out);

    struct cmp_set s = {0};
    struct cmp_file f;
    assert_int_equal(cmp_load(write_rows("nor-c.csv", ra, 2), &f, err, sizeof err), 0);
    assert_int_equal(cmp_group_rows(&f, &s), 0);
    cmp_apply_reference(&s, "epoll");
    assert_true(fabs(cmp_find(&s, "epoll", "s", 64, 0)->v[CMP_REQ_PER_S] - 1) < 1e-9);
    assert_true(cmp_find(&s, "thread", "t", 64, 0)->no_reference);
    assert_true(isnan(cmp_find(&s, "thread", "t", 64, 0)->v[CMP_REQ_PER_S]));
    cmp_set_free(&s);
    cmp_file_free(&f);
}

static void test_failed_row_in_a_is_not_a_latency_baseline(void **state)
{
    (void)state;
    struct csv_row fa = row("epoll", "s", 0); /* bench's failed row: requests 0, errors 1 */
    fa.errors = 1;
    fa.lat_p50_us = fa.lat_p99_us = 0;
    struct csv_row rb = row("epoll", "s", 1000);
    struct cmp_summary sum;
    assert_int_equal(compare_files(write_rows("fail-a.csv", &fa, 1),
                                   write_rows("fail-b.csv", &rb, 1), &defaults, &sum, NULL),
                     0);
    /* ... and a failed row in B is a regression. */
    assert_int_equal(compare_files(write_rows("fail-a2.csv", &rb, 1),
                                   write_rows("fail-b2.csv", &fa, 1), &defaults, &sum, NULL),
                     1);
}

/* ---- options and exit statuses ---- */

static void test_parse_metrics(void **state)
{
    (void)state;
    unsigned m = 0;
    assert_int_equal(cmp_parse_metrics("req_per_s,lat_p99_us", &m, err, sizeof err), 0);
    assert_int_equal(m, CMP_BIT(CMP_REQ_PER_S) | CMP_BIT(CMP_LAT_P99_US));
    assert_int_equal(cmp_parse_metrics("cpu_per_req_us", &m, err, sizeof err), 0);
    assert_int_equal(m, CMP_BIT(CMP_CPU_PER_REQ_US));
    assert_int_equal(cmp_parse_metrics("req_per_s,bogus", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "'bogus'"));
    assert_int_equal(cmp_parse_metrics("", &m, err, sizeof err), -1);
    assert_int_equal(cmp_parse_metrics("req_per_s,", &m, err, sizeof err), -1);
    assert_string_equal(cmp_metric_name(CMP_LAT_P50_US), "lat_p50_us");
    assert_true(cmp_metric_higher_is_better(CMP_MB_PER_S));
    assert_false(cmp_metric_higher_is_better(CMP_SERVER_RSS_KB));
}

static int run_main(char **out_text, char **err_text, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, err_text);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 15;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char *ob = NULL, *eb = NULL;
    size_t ol = 0, el = 0;
    FILE *o = open_memstream(&ob, &ol), *e = open_memstream(&eb, &el);
    int rc = compare_main(argc, argv, o, e);
    fclose(o);
    fclose(e);
    *out_text = ob;
    *err_text = eb;
    return rc;
}

/* ---- verdicts: both files with rounds ---- */

/* n rounds of epoll and poll at rps x a wobble per round. */
static const char *write_rounds(const char *name, unsigned n, double epoll_rps, double poll_rps)
{
    static const double wobble[] = {1.0, 1.04, 0.97, 1.02, 0.98};
    struct csv_row rows[20];
    size_t k = 0;
    for (unsigned r = 1; r <= n; r++) {
        double w = wobble[(r - 1) % 5];
        rows[k] = row("epoll", "s", epoll_rps * w);
        rows[k++].round = r;
        rows[k] = row("poll", "s", poll_rps * w);
        rows[k++].round = r;
    }
    return write_rows(name, rows, k);
}

static void test_rounds_give_benchstat_verdicts(void **state)
{
    (void)state;
    char *a = strdup(write_rounds("va.csv", 5, 1000, 1000));
    char *same = strdup(write_rounds("vsame.csv", 5, 1000, 1000));
    char *half = strdup(write_rounds("vhalf.csv", 5, 1000, 500));
    struct cmp_opts o = defaults;
    o.verdicts = true;
    o.metrics = CMP_BIT(CMP_REQ_PER_S);
    struct cmp_summary sum;
    char *out;
    assert_int_equal(compare_files(a, same, &o, &sum, &out), 0);
    assert_int_equal(sum.same, 2);
    assert_int_equal(sum.better + sum.worse, 0);
    assert_non_null(strstr(out, "+0.0% ["));
    assert_non_null(strstr(out, "] ~"));
    assert_non_null(strstr(out, "5 rounds"));
    free(out);
    /* poll at half the req/s: worse, past the threshold: a regression */
    assert_int_equal(compare_files(a, half, &o, &sum, &out), 1);
    assert_int_equal(sum.worse, 1);
    assert_int_equal(sum.same, 1);
    assert_non_null(strstr(out, "-50.0% ["));
    assert_non_null(strstr(out, "] worse  REGRESSION"));
    free(out);
    /* the other way round: better, no regression */
    assert_int_equal(compare_files(half, a, &o, &sum, &out), 0);
    assert_int_equal(sum.better, 1);
    free(out);
    /* the same interval on a rerun */
    char *again;
    compare_files(a, half, &o, &sum, &out);
    compare_files(a, half, &o, &sum, &again);
    assert_string_equal(out, again);
    free(out);
    free(again);
    free(a), free(same), free(half);
}

static void test_too_few_rounds_is_same(void **state)
{
    (void)state;
    char *a = strdup(write_rounds("fa.csv", 2, 1000, 1000));
    char *b = strdup(write_rounds("fb.csv", 2, 1000, 500));
    struct cmp_opts o = defaults;
    o.verdicts = true;
    o.metrics = CMP_BIT(CMP_REQ_PER_S);
    struct cmp_summary sum;
    char *out;
    assert_int_equal(compare_files(a, b, &o, &sum, &out), 0); /* no certainty, no regression */
    assert_int_equal(sum.worse, 0);
    assert_int_equal(sum.same, 2);
    assert_non_null(strstr(out, "-50.0% (too few rounds) ~"));
    free(out);
    free(a), free(b);
}

static void test_files_without_rounds_compare_as_before_with_a_note(void **state)
{
    (void)state;
    struct csv_row ra = row("epoll", "s", 1000), rb = row("epoll", "s", 500);
    char *a = strdup(write_rows("old-a.csv", &ra, 1));
    char *b = strdup(write_rows("old-b.csv", &rb, 1));
    char *r = strdup(write_rounds("new-r.csv", 5, 1000, 1000));
    char *o, *e;
    assert_int_equal(run_main(&o, &e, a, b, NULL), 1); /* the threshold, as before */
    assert_non_null(strstr(o, "note: neither file has rounds"));
    assert_null(strstr(o, "~"));
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, a, r, NULL), 0);
    assert_non_null(strstr(o, "note: A has no rounds"));
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, r, r, NULL), 0);
    assert_non_null(strstr(o, "verdicts: 0 better, 0 worse, 10 same (~)"));
    free(o), free(e);
    free(a), free(b), free(r);
}

static void test_main_exit_statuses(void **state)
{
    (void)state;
    struct csv_row ra = row("epoll", "s", 1000), rb = row("epoll", "s", 500);
    char *a = strdup(write_rows("main-a.csv", &ra, 1));
    char *b = strdup(write_rows("main-b.csv", &rb, 1));
    char *bad = strdup(scratch_write_text("main-bad.csv", "not,a,header\n"));
    char *o, *e;
    assert_int_equal(run_main(&o, &e, a, a, NULL), 0);
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, a, b, NULL), 1);
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, a, b, "--threshold", "60", NULL), 0);
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, a, b, "--threshold=60%", NULL), 0);
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, a, b, "--metric", "lat_p99_us", NULL), 0);
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, a, b, "--reference", "epoll", NULL), 0);
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, a, bad, NULL), 2);
    char expect[1300];
    snprintf(expect, sizeof expect, "%s:1: ", bad);
    assert_non_null(strstr(e, expect));
    free(o), free(e);
    const char *usage_cases[][3] = {
        {a, NULL, NULL},         {a, b, "--threshold"}, {a, b, "--threshold=-1"},
        {a, b, "--metric=nope"}, {a, b, "--bogus"},     {a, b, "--reference=nosuch"},
    };
    for (size_t i = 0; i < sizeof usage_cases / sizeof usage_cases[0]; i++) {
        assert_int_equal(
            run_main(&o, &e, usage_cases[i][0], usage_cases[i][1], usage_cases[i][2], NULL), 2);
        assert_true(strlen(e) > 0);
        free(o), free(e);
    }
    assert_int_equal(run_main(&o, &e, a, b, "c.csv", NULL), 2);
    free(o), free(e);
    assert_int_equal(run_main(&o, &e, "--help", NULL), 0);
    assert_non_null(strstr(o, "usage: loadgen compare"));
    free(o), free(e);
    free(a), free(b), free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_reads_rows_and_derives_cpu_per_request),
        cmocka_unit_test(test_load_accepts_columns_added_at_the_end_and_quoting),
        cmocka_unit_test(test_bad_header_is_reported_with_file_and_line),
        cmocka_unit_test(test_bad_rows_are_reported_with_file_and_line),
        cmocka_unit_test(test_median_ignores_nan_and_averages_even_counts),
        cmocka_unit_test(test_groups_take_medians_and_sum_failures),
        cmocka_unit_test(test_load_reads_the_first_schema),
        cmocka_unit_test(test_points_are_keys_of_their_own),
        cmocka_unit_test(test_identical_files_do_not_regress),
        cmocka_unit_test(test_throughput_threshold),
        cmocka_unit_test(test_latency_and_cpu_thresholds),
        cmocka_unit_test(test_errors_in_b_are_a_regression),
        cmocka_unit_test(test_missing_rows_regress_new_rows_do_not),
        cmocka_unit_test(test_medians_are_compared_not_single_rows),
        cmocka_unit_test(test_reference_ratios_survive_a_slower_machine),
        cmocka_unit_test(test_reference_missing_in_a_scenario_gives_no_ratio),
        cmocka_unit_test(test_failed_row_in_a_is_not_a_latency_baseline),
        cmocka_unit_test(test_parse_metrics),
        cmocka_unit_test(test_main_exit_statuses),
        cmocka_unit_test(test_rounds_give_benchstat_verdicts),
        cmocka_unit_test(test_too_few_rounds_is_same),
        cmocka_unit_test(test_files_without_rounds_compare_as_before_with_a_note),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
