/* Unit tests for loadgen/csv.c: the header is DESIGN.md section 7's column
 * list, written once; quoting; number formats; rows filled from stats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/csv.h"
#include "results/hist.h"
#include "results/stats.h"
#include "test_util.h"

/* DESIGN.md section 7, in order. */
static const char expected_header[] =
    "started_at,git_rev,host,model,protocol,scenario,engine,threads,connections,"
    "rate,duration_s,requests,errors,check_failures,timeouts,bytes,req_per_s,"
    "mb_per_s,lat_min_us,lat_mean_us,lat_p50_us,lat_p90_us,lat_p99_us,lat_p999_us,"
    "lat_max_us,server_cpu_s,server_rss_kb,loadgen_cpu_s,"
    "unanswered,starved_connections,server_pss_kb,loadgen_bound,server_cpus,loadgen_cpus,"
    "refused,server_accounting,server_cpuset_busy_s,round,aa_twin";

static char errbuf[1024];

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_csv") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

static struct csv_row sample(void)
{
    struct csv_row r = {
        .threads = 2,
        .connections = 64,
        .rate = 0,
        .duration_s = 5.0,
        .requests = 123456,
        .errors = 1,
        .check_failures = 2,
        .timeouts = 3,
        .bytes = 987654321,
        .req_per_s = 24691.23456,
        .mb_per_s = 197.53,
        .lat_min_us = 12,
        .lat_mean_us = 250,
        .lat_p50_us = 200,
        .lat_p90_us = 400,
        .lat_p99_us = 900,
        .lat_p999_us = 2000,
        .lat_max_us = 15000,
        .server_cpu_s = -1,
        .server_rss_kb = -1,
        .loadgen_cpu_s = 1.5,
        .server_pss_kb = -1,
        .loadgen_bound = -1,
        .server_cpuset_busy_s = -1,
    };
    strcpy(r.started_at, "2024-01-31T12:00:00Z");
    strcpy(r.git_rev, "abc123");
    strcpy(r.host, "box");
    strcpy(r.model, "epoll");
    strcpy(r.protocol, "http");
    strcpy(r.scenario, "http-hello");
    strcpy(r.engine, "raw");
    return r;
}

static int count_fields(const char *line)
{
    int n = 1;
    for (; *line; line++)
        n += *line == ',';
    return n;
}

static void test_header(void **state)
{
    (void)state;
    assert_string_equal(csv_header(), expected_header);
    assert_int_equal(count_fields(expected_header), 39);
}

static void test_format(void **state)
{
    (void)state;
    struct csv_row r = sample();
    char buf[2048];
    int n = csv_format_row(&r, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "2024-01-31T12:00:00Z,abc123,box,epoll,http,http-hello,raw,2,64,"
                             "0,5.000,123456,1,2,3,987654321,24691.23,197.53,"
                             "12,250,200,400,900,2000,15000,,,1.500,0,0,,,,,0,,,,0");
    assert_int_equal(count_fields(buf), 39);
    r.server_cpu_s = 0.25;
    r.server_rss_kb = 4096;
    r.rate = 1000.5;
    n = csv_format_row(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, ",1000.50,"));
    assert_non_null(strstr(buf, ",0.250,4096,1.500"));
    /* The study's columns: counts, PSS, the bound flag, CPU lists (quoted
     * when they hold a comma). */
    r.unanswered = 7;
    r.starved_connections = 3;
    r.server_pss_kb = 12345;
    r.loadgen_bound = 1;
    strcpy(r.server_cpus, "0,2");
    strcpy(r.loadgen_cpus, "1-3");
    n = csv_format_row(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, ",1.500,7,3,12345,1,\"0,2\",1-3,0,"));
    r.refused = 42; /* refusals at a documented limit */
    /* The accounting's columns: where the server's figures came from, its
     * CPUs' busy seconds. */
    strcpy(r.server_accounting, "cgroup2/proc");
    r.server_cpuset_busy_s = 0.9876;
    n = csv_format_row(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, ",1-3,42,cgroup2/proc,0.988,,0"));
    assert_int_equal(count_fields(buf), 40); /* "0,2" holds a comma */
    /* Rounds (issue 17): the bench round, the A/A control's twin run. */
    r.round = 3;
    r.aa_twin = 1;
    n = csv_format_row(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, ",cgroup2/proc,0.988,3,1"));
    r.round = 0;
    r.aa_twin = -1;
    n = csv_format_row(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, ",cgroup2/proc,0.988,,"));
    assert_int_equal(csv_format_row(&r, buf, 20), -1); /* does not fit */
}

static void test_quoting(void **state)
{
    (void)state;
    struct csv_row r = sample();
    strcpy(r.model, "a,b");
    strcpy(r.host, "say \"hi\"");
    strcpy(r.started_at, ""); /* an empty first field keeps its comma */
    char buf[2048];
    assert_true(csv_format_row(&r, buf, sizeof buf) > 0);
    const char *want = ",abc123,\"say \"\"hi\"\"\",\"a,b\",http,";
    assert_true(strncmp(buf, want, strlen(want)) == 0);
}

static void test_append(void **state)
{
    (void)state;
    const char *path = scratch_path("out.csv");
    struct csv_row r = sample();
    assert_int_equal(csv_append(path, &r, errbuf, sizeof errbuf), 0);
    strcpy(r.model, "poll");
    assert_int_equal(csv_append(path, &r, errbuf, sizeof errbuf), 0);
    char *text = read_whole_file(path, NULL);
    assert_non_null(text);
    char row1[2048], row2[2048];
    struct csv_row first = sample();
    csv_format_row(&first, row1, sizeof row1);
    csv_format_row(&r, row2, sizeof row2);
    char want[8192];
    snprintf(want, sizeof want, "%s\n%s\n%s\n", expected_header, row1, row2);
    assert_string_equal(text, want);
    free(text);

    /* An existing empty file gets the header too. */
    path = scratch_write("empty.csv", "", 0);
    assert_int_equal(csv_append(path, &r, errbuf, sizeof errbuf), 0);
    text = read_whole_file(path, NULL);
    assert_non_null(text);
    assert_true(strncmp(text, expected_header, strlen(expected_header)) == 0);
    free(text);

    path = scratch_path("no/such/dir.csv");
    assert_int_equal(csv_append(path, &r, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "dir.csv"));
}

static void test_from_stats(void **state)
{
    (void)state;
    struct lg_scenario sc = {.proto = LG_PROTO_FTP};
    strcpy(sc.name, "ftp-get");
    struct lg_config cfg = {.sc = &sc,
                            .threads = 3,
                            .connections = 30,
                            .rate = 0,
                            .label = NULL,
                            .engine = LG_ENGINE_DEFAULT};
    struct lg_stats st;
    assert_int_equal(lg_stats_init(&st), 0);
    st.requests = 1000;
    st.bytes = 4000000;
    st.err[LG_ERR_RESET] = 1;
    st.err[LG_ERR_TIMEOUT] = 2;
    st.unanswered = 11; /* the engines' counts reach the row */
    st.starved_connections = 4;
    st.err[LG_ERR_WRONG_BODY] = 3;
    st.err[LG_ERR_BAD_STATUS] = 4;
    for (uint64_t v = 1; v <= 1000; v++)
        hist_record(st.lat, v);
    setenv("GIT_REV", "deadbeef", 1);
    struct csv_row r;
    csv_row_from_stats(&r, &cfg, &st, 2.0, 0.75);
    assert_string_equal(r.git_rev, "deadbeef");
    assert_string_equal(r.model, "-");
    assert_string_equal(r.protocol, "ftp");
    assert_string_equal(r.scenario, "ftp-get");
    assert_string_equal(r.engine, "curl");
    assert_true(r.host[0] != '\0');
    assert_int_equal(strlen(r.started_at), 20);
    assert_int_equal(r.threads, 3);
    assert_int_equal(r.connections, 30);
    assert_int_equal(r.requests, 1000);
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.timeouts, 2);
    assert_int_equal(r.check_failures, 7);
    assert_true(r.req_per_s == 500.0);
    assert_true(r.mb_per_s == 2.0);
    assert_int_equal(r.lat_min_us, 1);
    assert_int_equal(r.lat_mean_us, 501); /* 500.5 rounded */
    assert_int_equal(r.lat_p50_us, 500);
    assert_int_equal(r.lat_p99_us, 990);
    assert_int_equal(r.lat_max_us, 1000);
    assert_true(r.server_cpu_s < 0);
    assert_int_equal(r.unanswered, 11);
    assert_int_equal(r.starved_connections, 4);
    assert_true(r.server_pss_kb < 0);
    assert_true(r.loadgen_bound < 0);
    assert_string_equal(r.server_cpus, "");
    assert_true(r.server_rss_kb < 0);
    assert_string_equal(r.server_accounting, "");
    assert_true(r.server_cpuset_busy_s < 0);
    assert_true(r.loadgen_cpu_s == 0.75);

    unsetenv("GIT_REV");
    cfg.label = "epoll";
    cfg.engine = LG_ENGINE_RAW;
    sc.proto = LG_PROTO_HTTP;
    csv_row_from_stats(&r, &cfg, &st, 0.0, -1);
    assert_string_equal(r.git_rev, "unknown");
    assert_string_equal(r.model, "epoll");
    assert_string_equal(r.engine, "raw");
    assert_true(r.req_per_s == 0.0); /* no division by zero */
    lg_stats_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),     cmocka_unit_test(test_format),
        cmocka_unit_test(test_quoting),    cmocka_unit_test(test_append),
        cmocka_unit_test(test_from_stats),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
