/* Unit tests for the per-step statistics: loadgen/results/stats.c (steps
 * recorded, failures apart, merged over threads) and steptable.c (the
 * table and the steps CSV: its header, one row per step that happened,
 * setup steps marked, text fields quoted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "results/hist.h"
#include "results/stats.h"
#include "results/steptable.h"
#include "test_util.h"

static struct lg_step two_steps[2] = {{.name = "index"}, {.name = "big,file"}};
static const struct lg_scenario sc = {.name = "mixed", .steps = two_steps, .nsteps = 2};

static void test_steps_count_apart(void **state)
{
    (void)state;
    struct lg_stats a, b;
    assert_int_equal(lg_stats_init(&a), 0);
    assert_int_equal(lg_stats_init_steps(&a, 2), 0);
    assert_int_equal(a.nstep, 2 + LG_SETUP__COUNT);
    lg_stats_step(&a, 0, 100, LG_ERR__COUNT);
    lg_stats_step(&a, 0, 300, LG_ERR_WRONG_BODY); /* answered, wrong */
    lg_stats_step(&a, 1, 5000, LG_ERR_REFUSED);
    lg_stats_step_failure(&a, 1, LG_ERR_TIMEOUT); /* no answer: no latency */
    size_t conn = lg_stats_setup_index(&a, LG_SETUP_CONNECT);
    assert_int_equal(conn, 2);
    lg_stats_step(&a, conn, 40, LG_ERR__COUNT);
    lg_stats_step(&a, 99, 1, LG_ERR__COUNT); /* out of range: ignored */
    assert_int_equal(a.step[0].count, 2);
    assert_int_equal(a.step[0].failures, 1);
    assert_int_equal(hist_count(a.step[0].lat), 2);
    assert_int_equal(a.step[1].count, 2);
    assert_int_equal(a.step[1].refused, 1);
    assert_int_equal(a.step[1].failures, 1);
    assert_int_equal(hist_count(a.step[1].lat), 1);
    /* merged into stats that had none yet (the run's total) */
    assert_int_equal(lg_stats_init(&b), 0);
    lg_stats_merge(&b, &a);
    lg_stats_merge(&b, &a);
    assert_int_equal(b.nstep, a.nstep);
    assert_int_equal(b.step[0].count, 4);
    assert_int_equal(b.step[conn].count, 2);
    assert_int_equal(hist_count(b.step[1].lat), 2);
    assert_string_equal(lg_setup_name(LG_SETUP_LOGIN), "login");
    lg_stats_free(&a);
    lg_stats_free(&b);
}

static void test_steps_csv(void **state)
{
    (void)state;
    assert_non_null(scratch_create("lg_steptable"));
    struct lg_stats st;
    assert_int_equal(lg_stats_init(&st), 0);
    assert_int_equal(lg_stats_init_steps(&st, 2), 0);
    lg_stats_step(&st, 0, 200, LG_ERR__COUNT);
    lg_stats_step(&st, lg_stats_setup_index(&st, LG_SETUP_CONNECT), 50, LG_ERR__COUNT);
    struct csv_row row = {.started_at = "2026-01-01T00:00:00Z",
                          .git_rev = "abc",
                          .host = "h",
                          .model = "epoll",
                          .protocol = "http",
                          .scenario = "mixed",
                          .connections = 4,
                          .rate = 0};
    char err[256];
    const char *path = scratch_path("steps.csv");
    assert_int_equal(steptable_csv_append(path, &row, &st, &sc, err, sizeof err), 0);
    assert_int_equal(steptable_csv_append(path, &row, &st, &sc, err, sizeof err), 0);
    char text[2048] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* the header once, then per run: both scenario steps (one never ran:
     * count 0), the connect that happened; no login, no data connection */
    const char *want_head = steptable_csv_header();
    assert_memory_equal(text, want_head, strlen(want_head));
    assert_non_null(strstr(text, "\n2026-01-01T00:00:00Z,abc,h,epoll,http,mixed,4,0.00,index,"
                                 "step,1,0,0,200,200,200,200\n"));
    assert_non_null(strstr(text, ",\"big,file\",step,0,0,0,0,0,0,0\n"));
    assert_non_null(strstr(text, ",connect,setup,1,0,0,50,50,50,50\n"));
    assert_null(strstr(text, "login"));
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 2 * 3);
    /* a directory is no file to append to: a clear error */
    assert_int_equal(steptable_csv_append(scratch_dir(), &row, &st, &sc, err, sizeof err), -1);
    assert_non_null(strstr(err, scratch_dir()));
    lg_stats_free(&st);
    scratch_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_count_apart),
        cmocka_unit_test(test_steps_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
