/* Unit tests for loadgen/accesslog.c: combined and common lines, malformed
 * and unreplayable ones, the top N by count, statuses, `expect = file`
 * from the fixtures, names and weights, and that scenario.c loads what it
 * writes; an unknown format, a log without valid lines, bad options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario/accesslog.h"
#include "http/fixtures.h"
#include "loadgen.h"
#include "scenario/scenario.h"
#include "test_util.h"

static char fixtures[1200]; /* SCRATCH/root, the fixture tree */
static char err[2048];

static int setup(void **state)
{
    (void)state;
    if (!scratch_create("lg_accesslog")) return -1;
    snprintf(fixtures, sizeof fixtures, "%s/root", scratch_dir());
    return fixtures_create(fixtures, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

static void run(struct captured *res, int argc, const char **argv)
{
    run_captured(scenario_from_log_main, argc, argv, res);
}

static void assert_contains(const char *text, const char *want)
{
    if (!strstr(text, want)) {
        print_error("'%s' not in:\n%s\n", want, text);
        fail();
    }
}

/* ---- one line ---------------------------------------------------------------- */

#define COMBINED_LINE                                                                              \
    "203.0.113.9 - alice [10/Oct/2023:13:55:36 +0000] \"GET /a%20b.txt?x=1&y=%2F HTTP/1.1\" 200 "  \
    "2326 \"http://example.com/\" \"Mozilla/5.0 (X11; \\\"quoted\\\")\""

static void test_parse_combined(void **state)
{
    (void)state;
    struct log_request r;
    assert_int_equal(accesslog_parse_line(COMBINED_LINE "\n", LOG_COMBINED, &r), LOG_LINE_OK);
    assert_string_equal(r.method, "GET");
    assert_int_equal(r.target_len, strlen("/a%20b.txt?x=1&y=%2F"));
    assert_memory_equal(r.target, "/a%20b.txt?x=1&y=%2F", r.target_len);
    assert_int_equal(r.status, 200);
    /* Extra fields after the user agent are allowed (request time, ...). */
    assert_int_equal(accesslog_parse_line(COMBINED_LINE " 0.003 upstream=1\n", LOG_COMBINED, &r),
                     LOG_LINE_OK);
    /* A combined line read as common: common is a prefix of combined. */
    assert_int_equal(accesslog_parse_line(COMBINED_LINE, LOG_COMMON, &r), LOG_LINE_OK);
}

static void test_parse_common(void **state)
{
    (void)state;
    struct log_request r;
    const char *line = "::1 - - [10/Oct/2023:13:55:36 -0700] \"HEAD /dir/ HTTP/1.0\" 404 -\r\n";
    assert_int_equal(accesslog_parse_line(line, LOG_COMMON, &r), LOG_LINE_OK);
    assert_string_equal(r.method, "HEAD");
    assert_int_equal(r.status, 404);
    assert_memory_equal(r.target, "/dir/", r.target_len);
    /* A common line lacks what combined requires. */
    assert_int_equal(accesslog_parse_line(line, LOG_COMBINED, &r), LOG_LINE_MALFORMED);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    struct log_request r;
    static const char *bad[] = {
        "",
        "garbage\n",
        "{\"time\":\"2023-10-10\",\"request\":\"GET / HTTP/1.1\",\"status\":200}\n",
        "1.2.3.4 - - 10/Oct/2023 \"GET / HTTP/1.1\" 200 1\n",                  /* no [] */
        "1.2.3.4 - - [10/Oct/2023] GET / HTTP/1.1 200 1\n",                    /* no quotes */
        "1.2.3.4 - - [10/Oct/2023] \"GET / HTTP/1.1 200 1\n",                  /* unterminated */
        "1.2.3.4 - - [10/Oct/2023] \"GET / HTTP/1.1\" 20 1\n",                 /* status */
        "1.2.3.4 - - [10/Oct/2023] \"GET / HTTP/1.1\" 999 1\n",                /* status */
        "1.2.3.4 - - [10/Oct/2023] \"GET / HTTP/1.1\" 200 x\n",                /* bytes */
        "1.2.3.4 - - [10/Oct/2023] \"GET / HTTP/1.1\"200 1\n",                 /* spacing */
        "1.2.3.4 - - [10/Oct/2023] \"-\" 400 0\n",                             /* no request */
        "1.2.3.4 - - [10/Oct/2023] \"\\x16\\x03\\x01\\x00\" 400 0\n",          /* TLS junk */
        "1.2.3.4 - - [10/Oct/2023] \"GET /\" 200 1\n",                         /* HTTP/0.9 */
        "1.2.3.4 - - [10/Oct/2023] \"GET / FTP/1.0\" 200 1\n",                 /* protocol */
        "1.2.3.4 - - [10/Oct/2023] \"G(T / HTTP/1.1\" 200 1\n",                /* method */
        "1.2.3.4 - - [10/Oct/2023] \"GETGETGETGETGETGET / HTTP/1.1\" 200 1\n", /* long method */
        "1.2.3.4 - - [10/Oct/2023] \"GET  / HTTP/1.1\" 200 1\n",               /* empty target */
        "1.2.3.4 - - [10/Oct/2023] \"GET / HTTP/1.1\" 200 1 \"-\"\n",          /* half combined */
        "1.2.3.4 - - [10/Oct/2023] \"GET / HTTP/1.1\" 200 1x\n",               /* bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum log_format fmt = i == sizeof bad / sizeof bad[0] - 2 ? LOG_COMBINED : LOG_COMMON;
        if (accesslog_parse_line(bad[i], fmt, &r) != LOG_LINE_MALFORMED) {
            print_error("accepted: %s\n", bad[i]);
            fail();
        }
    }
}

static void test_parse_unreplayable(void **state)
{
    (void)state;
    struct log_request r;
    static const char *bad[] = {
        "1.2.3.4 - - [x] \"GET http://example.com/ HTTP/1.1\" 200 1\n",
        "1.2.3.4 - - [x] \"OPTIONS * HTTP/1.1\" 200 1\n",
        "1.2.3.4 - - [x] \"GET /a\\x22b HTTP/1.1\" 200 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(accesslog_parse_line(bad[i], LOG_COMMON, &r), LOG_LINE_UNREPLAYABLE);
    char longline[512];
    snprintf(longline, sizeof longline, "1.2.3.4 - - [x] \"GET /%0*d HTTP/1.1\" 200 1\n",
             LOG_TARGET_MAX, 7);
    assert_int_equal(accesslog_parse_line(longline, LOG_COMMON, &r), LOG_LINE_UNREPLAYABLE);
    snprintf(longline, sizeof longline, "1.2.3.4 - - [x] \"GET /%0*d HTTP/1.1\" 200 1\n",
             LOG_TARGET_MAX - 1, 7);
    assert_int_equal(accesslog_parse_line(longline, LOG_COMMON, &r), LOG_LINE_OK);
}

/* ---- whole logs ----------------------------------------------------------------- */

static void add_lines(FILE *f, int n, const char *method, const char *target, int status)
{
    for (int i = 0; i < n; i++)
        fprintf(f,
                "10.0.0.%d - - [10/Oct/2023:13:55:%02d +0000] \"%s %s HTTP/1.1\" %d 12 \"-\" "
                "\"curl/8\"\n",
                i % 250, i % 60, method, target, status);
}

static const char *make_log(void)
{
    const char *path = scratch_path("site.access.log");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    add_lines(f, 40, "GET", "/index.html", 200);
    add_lines(f, 5, "GET", "/index.html", 304); /* conditional: replayed as 200 */
    add_lines(f, 30, "GET", "/", 200);          /* a directory: its index.html */
    add_lines(f, 20, "GET", "/hello.txt?v=2", 200);
    add_lines(f, 15, "GET", "/missing.html", 404);
    add_lines(f, 12, "HEAD", "/64k.bin", 200);
    add_lines(f, 10, "POST", "/echo", 200);
    add_lines(f, 8, "GET", "/dir/sub/one.txt", 200);
    add_lines(f, 6, "GET", "/no%2Fsuch", 200);         /* not a fixture: status only */
    add_lines(f, 4, "GET", "/%2e%2e/etc/passwd", 200); /* never a fixture */
    add_lines(f, 2, "GET", "/1k.bin", 200);
    add_lines(f, 1, "DELETE", "/a.txt", 405);
    fputs("this line is not a log line\n", f);
    fputs("10.0.0.1 - - [x] \"GET http://proxy.example/ HTTP/1.1\" 200 1 \"-\" \"-\"\n", f);
    fputs("10.0.0.1 - - [x] \"-\" 400 0 \"-\" \"-\"\n", f);
    fclose(f);
    return path;
}

/* The scenario text loads with scenario.c and has n steps. */
static void assert_loads(const char *text, size_t nsteps, struct lg_scenario *sc)
{
    const char *path = scratch_write_text("generated.ini", text);
    if (scenario_load(path, sc, err, sizeof err) != 0) {
        print_error("%s\n%s\n", err, text);
        fail();
    }
    assert_int_equal(sc->nsteps, nsteps);
    assert_true(sc->weighted);
}

static const struct lg_step *step_by_path(const struct lg_scenario *sc, const char *method,
                                          const char *path)
{
    for (size_t i = 0; i < sc->nsteps; i++)
        if (!strcmp(sc->steps[i].path, path) && !strcmp(sc->steps[i].method, method))
            return &sc->steps[i];
    print_error("no step %s %s\n", method, path);
    fail();
    return NULL;
}

static void test_scenario_from_combined_log(void **state)
{
    (void)state;
    const char *log = make_log();
    const char *argv[] = {log, "--fixtures", fixtures};
    struct captured res;
    run(&res, 3, argv);
    assert_int_equal(res.rc, 0);
    assert_contains(res.err, "156 lines, 153 requests, 2 malformed lines skipped, 1 requests not "
                             "replayable");
    assert_contains(res.out, "; made by loadgen scenario-from-log from site.access.log");
    assert_contains(res.out, "name = site\nprotocol = http\n");
    assert_contains(res.out, "; 45 requests (29.4 %), logged 200 x40 304 x5 (304/206 count as 200: "
                             "the replay is unconditional)\n[step GET /index.html]");
    assert_contains(res.out, "; 11 distinct (method, target); the top 11 cover 153 requests");
    struct lg_scenario sc;
    assert_loads(res.out, 11, &sc);
    const struct lg_step *s = step_by_path(&sc, "GET", "/index.html");
    assert_int_equal(s->weight, 45);
    assert_int_equal(s->expect_status, 200);
    assert_int_equal(s->expect, LG_EXPECT_FILE);
    assert_string_equal(s->expect_body, "index.html");
    s = step_by_path(&sc, "GET", "/");
    assert_int_equal(s->expect, LG_EXPECT_FILE);
    assert_string_equal(s->expect_body, "index.html");
    s = step_by_path(&sc, "GET", "/hello.txt?v=2"); /* query kept in the path */
    assert_string_equal(s->expect_body, "hello.txt");
    s = step_by_path(&sc, "GET", "/missing.html");
    assert_int_equal(s->expect_status, 404);
    assert_int_equal(s->expect, LG_EXPECT_NONE);
    s = step_by_path(&sc, "HEAD", "/64k.bin"); /* HEAD has no body to check */
    assert_int_equal(s->expect, LG_EXPECT_NONE);
    s = step_by_path(&sc, "POST", "/echo");
    assert_int_equal(s->expect, LG_EXPECT_NONE);
    assert_string_equal(step_by_path(&sc, "GET", "/dir/sub/one.txt")->expect_body,
                        "dir/sub/one.txt");
    assert_int_equal(step_by_path(&sc, "GET", "/no%2Fsuch")->expect, LG_EXPECT_NONE);
    assert_int_equal(step_by_path(&sc, "GET", "/%2e%2e/etc/passwd")->expect, LG_EXPECT_NONE);
    assert_int_equal(step_by_path(&sc, "DELETE", "/a.txt")->expect_status, 405);
    /* Most frequent first. */
    assert_string_equal(sc.steps[0].path, "/index.html");
    assert_string_equal(sc.steps[1].path, "/");
    scenario_free(&sc);
}

static void test_top_and_out(void **state)
{
    (void)state;
    const char *log = make_log();
    const char *out = scratch_path("top3.ini");
    const char *argv[] = {log, "--top", "3", "--name", "my-site", "--out", out};
    struct captured res;
    run(&res, 7, argv);
    assert_int_equal(res.rc, 0);
    assert_string_equal(res.out, "");
    char *text = read_whole_file(out, NULL);
    assert_non_null(text);
    assert_contains(text, "the top 3 cover 95 requests (62.1 %)");
    assert_contains(text, "name = my-site\n");
    struct lg_scenario sc;
    assert_loads(text, 3, &sc);
    /* No --fixtures: no file checks. */
    for (size_t i = 0; i < sc.nsteps; i++)
        assert_int_equal(sc.steps[i].expect, LG_EXPECT_NONE);
    scenario_free(&sc);
    free(text);
}

/* Long targets that share their first 63 bytes get distinct step names. */
static void test_step_names(void **state)
{
    (void)state;
    const char *log = scratch_path("names.log");
    FILE *f = fopen(log, "w");
    assert_non_null(f);
    char target[128];
    for (int i = 0; i < 3; i++) {
        snprintf(target, sizeof target, "/%s[%d]",
                 "a-very-long-path/that-goes-on/and-on/and-on/and-on/and-on/x", i);
        add_lines(f, 3 - i, "GET", target, 200);
    }
    fclose(f);
    const char *argv[] = {log, "--format", "combined"};
    struct captured res;
    run(&res, 3, argv);
    assert_int_equal(res.rc, 0);
    struct lg_scenario sc;
    assert_loads(res.out, 3, &sc);
    assert_true(strcmp(sc.steps[0].name, sc.steps[1].name) != 0);
    assert_true(strcmp(sc.steps[1].name, sc.steps[2].name) != 0);
    assert_null(strchr(sc.steps[0].name, '['));
    assert_int_equal(strlen(sc.steps[1].name), 63);
    scenario_free(&sc);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct captured res;
    /* A JSON log: no valid line in the default format. */
    const char *json =
        scratch_write_text("json.log", "{\"request\":\"GET / HTTP/1.1\",\"status\":200}\n{}\n");
    const char *out = scratch_path("never.ini");
    const char *argv[] = {json, "--out", out};
    run(&res, 3, argv);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "2 malformed lines skipped");
    assert_contains(res.err, "no valid combined-format line");
    assert_false(scratch_exists("never.ini"));
    /* A common log read as combined: every line malformed; as common: fine. */
    const char *common = scratch_write_text(
        "common.log", "1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5\n");
    const char *argv2[] = {common};
    run(&res, 1, argv2);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "see --format");
    const char *argv3[] = {common, "--format", "common"};
    run(&res, 3, argv3);
    assert_int_equal(res.rc, 0);
    assert_contains(res.out, "[step GET /]");
    /* Empty file, missing file, unknown format, bad options. */
    const char *empty = scratch_write_text("empty.log", "");
    const char *a4[] = {empty};
    run(&res, 1, a4);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "0 lines");
    const char *a5[] = {scratch_path("missing.log")};
    run(&res, 1, a5);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "No such file");
    const char *a6[] = {common, "--format", "w3c"};
    run(&res, 3, a6);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "--format 'w3c': unknown log format");
    const char *a7[] = {common, "--top", "0"};
    run(&res, 3, a7);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "--top '0'");
    const char *a8[] = {common, "--fixtures", scratch_path("nodir")};
    run(&res, 3, a8);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "not a directory");
    const char *a9[] = {common, common};
    run(&res, 2, a9);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "one access log at a time");
    const char *a10[] = {"--top"};
    run(&res, 1, a10);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "--top needs a value");
    run(&res, 0, a10);
    assert_int_equal(res.rc, 2);
    assert_contains(res.err, "no access log given");
    const char *a11[] = {"--help"};
    run(&res, 1, a11);
    assert_int_equal(res.rc, 0);
    assert_contains(res.out, "usage: loadgen scenario-from-log");
    /* --top accepts units.h counts. */
    const char *a12[] = {common, "--format", "common", "--top", "1k"};
    run(&res, 5, a12);
    assert_int_equal(res.rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_combined),
        cmocka_unit_test(test_parse_common),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_unreplayable),
        cmocka_unit_test(test_scenario_from_combined_log),
        cmocka_unit_test(test_top_and_out),
        cmocka_unit_test(test_step_names),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
