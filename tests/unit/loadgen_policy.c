/* Unit tests for loadgen/policy.c: weighted step choice (distribution,
 * determinism, bad weights), replay in order, the measured window and
 * --requests tickets, and what is counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

static char errbuf[256];

static struct lg_scenario scenario_with(struct lg_step *steps, size_t n, bool weighted)
{
    return (struct lg_scenario){
        .proto = LG_PROTO_HTTP, .steps = steps, .nsteps = n, .weighted = weighted};
}

static void test_weighted_shares(void **state)
{
    (void)state;
    struct lg_step steps[3] = {
        {.name = "a", .weight = 1}, {.name = "b", .weight = 2}, {.name = "c", .weight = 7}};
    struct lg_scenario sc = scenario_with(steps, 3, true);
    struct policy_steps ps;
    assert_int_equal(policy_steps_init(&ps, &sc, errbuf, sizeof errbuf), 0);
    assert_true(ps.totalw == 10);
    enum { DRAWS = 200000 };
    unsigned count[3] = {0};
    uint64_t rng = policy_seed(0);
    size_t cursor = 0;
    for (int i = 0; i < DRAWS; i++) {
        size_t k = policy_pick(&ps, &rng, &cursor);
        assert_true(k < 3);
        count[k]++;
    }
    assert_int_equal(cursor, 0); /* weighted: the cursor is not used */
    /* Expected 10 %, 20 %, 70 %; one standard deviation is under 0.11 %. */
    const double want[3] = {0.1, 0.2, 0.7};
    for (int k = 0; k < 3; k++) {
        double share = (double)count[k] / DRAWS;
        if (share < want[k] - 0.01 || share > want[k] + 0.01) {
            print_error("step %d: share %.4f, want %.2f\n", k, share, want[k]);
            fail();
        }
    }
    policy_steps_free(&ps);
    policy_steps_free(&ps); /* safe twice */
}

/* The same seed gives the same choices; different threads differ. */
static void test_deterministic_with_a_seed(void **state)
{
    (void)state;
    struct lg_step steps[4] = {{.name = "a", .weight = 5},
                               {.name = "b", .weight = 5},
                               {.name = "c", .weight = 5},
                               {.name = "d", .weight = 5}};
    struct lg_scenario sc = scenario_with(steps, 4, true);
    struct policy_steps ps;
    assert_int_equal(policy_steps_init(&ps, &sc, errbuf, sizeof errbuf), 0);
    size_t seq[3][64], cursor = 0;
    uint64_t seeds[3] = {policy_seed(3), policy_seed(3), policy_seed(4)};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < 64; i++)
            seq[s][i] = policy_pick(&ps, &seeds[s], &cursor);
    assert_memory_equal(seq[0], seq[1], sizeof seq[0]);
    assert_memory_not_equal(seq[0], seq[2], sizeof seq[0]);
    for (unsigned t = 0; t < 64; t++)
        assert_true(policy_seed(t) != 0);
    policy_steps_free(&ps);
}

static void test_in_order(void **state)
{
    (void)state;
    struct lg_step steps[3] = {{.name = "a"}, {.name = "b"}, {.name = "c"}};
    struct lg_scenario sc = scenario_with(steps, 3, false);
    struct policy_steps ps;
    assert_int_equal(policy_steps_init(&ps, &sc, errbuf, sizeof errbuf), 0);
    assert_null(ps.cumw);
    uint64_t rng = policy_seed(0), rng0 = rng;
    size_t c1 = 0, c2 = 0;
    const size_t want[] = {0, 1, 2, 0, 1, 2, 0};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(policy_pick(&ps, &rng, &c1), want[i]);
    assert_int_equal(policy_pick(&ps, &rng, &c2), 0); /* each connection has its own cursor */
    assert_true(rng == rng0);                         /* in order draws nothing */
    policy_steps_free(&ps);
}

static void test_bad_weights(void **state)
{
    (void)state;
    struct policy_steps ps;
    struct lg_step steps[2] = {{.name = "a", .weight = 3}, {.name = "zero", .weight = 0}};
    struct lg_scenario sc = scenario_with(steps, 2, true);
    errbuf[0] = '\0';
    assert_int_equal(policy_steps_init(&ps, &sc, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "zero"));
    assert_null(ps.cumw);

    sc = scenario_with(steps, 0, true);
    assert_int_equal(policy_steps_init(&ps, &sc, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "no steps"));
}

static struct lg_config cfg_for(uint64_t requests, double rate, unsigned conns)
{
    return (struct lg_config){
        .requests = requests, .rate = rate, .connections = conns, .duration_s = 1, .warmup_s = 0.5};
}

/* Warm-up (origin before t_measure) and late answers (after t_end) are not
 * counted at all: no request, no bytes, no latency, no error of any class. */
static void test_window_and_counting(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(0, 0, 1);
    struct lg_run run = {.cfg = &cfg, .t_start = 1000, .t_measure = 2000, .t_end = 3000};
    struct lg_live live = {0};
    struct policy_tally t;
    assert_int_equal(policy_tally_init(&t, &run, &live), 0);

    policy_answer(&t, 1999, 2100, 50, LG_ERR_WRONG_BODY); /* warm-up, wrong: not counted */
    policy_failure(&t, 1500, 2500, LG_ERR_TIMEOUT);       /* warm-up timeout */
    policy_answer(&t, 2900, 3001, 50, LG_ERR__COUNT);     /* ended after t_end */
    assert_int_equal(t.st.requests, 0);
    assert_int_equal(t.st.bytes, 0);
    assert_int_equal(hist_count(t.st.lat), 0);
    assert_int_equal(
        lg_stats_errors(&t.st) + lg_stats_check_failures(&t.st) + lg_stats_timeouts(&t.st), 0);

    policy_answer(&t, 2000, 2000, 10, LG_ERR__COUNT);       /* 0 us: recorded as 1 */
    policy_answer(&t, 2500, 3000, 20, LG_ERR_WRONG_LENGTH); /* wrong, but an answer */
    policy_failure(&t, 2600, 2700, LG_ERR_RESET);
    policy_failure(&t, 2600, 2700, LG_ERR__COUNT); /* nothing failed: nothing counted */
    assert_int_equal(t.st.requests, 2);
    assert_int_equal(t.st.bytes, 30);
    assert_int_equal(hist_count(t.st.lat), 2);
    assert_int_equal(hist_min(t.st.lat), 1);
    assert_int_equal(lg_stats_check_failures(&t.st), 1);
    assert_int_equal(lg_stats_errors(&t.st), 1);

    policy_publish(&t, 2800, true);
    assert_int_equal(atomic_load(&live.requests), 2);
    assert_int_equal(atomic_load(&live.failures), 2);
    assert_int_equal(atomic_load(&live.p99_us), 1);
    policy_tally_free(&t);
}

static void test_tickets_and_end(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(3, 0, 1);
    struct lg_run run = {.cfg = &cfg, .t_start = 1000, .t_measure = 2000, .t_end = 0};
    atomic_init(&run.issued, 0);
    atomic_init(&run.stop, false);
    for (int i = 0; i < 10; i++)
        assert_true(policy_take_ticket(&run, 1500)); /* warm-up: free */
    assert_true(policy_take_ticket(&run, 2000));
    assert_true(policy_take_ticket(&run, 2001));
    assert_true(policy_take_ticket(&run, 2002));
    assert_false(policy_take_ticket(&run, 2003));
    assert_false(policy_run_over(&run, UINT64_MAX / 2)); /* --requests: no t_end */
    run.t_end = 5000;
    assert_false(policy_run_over(&run, 4999));
    assert_true(policy_run_over(&run, 5000));
    run.t_end = 0;
    atomic_store(&run.stop, true);
    assert_true(policy_run_over(&run, 0));

    cfg.requests = 0; /* a duration run: no tickets needed */
    assert_true(policy_take_ticket(&run, 9999));
}

static void test_schedule(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(0, 1000, 10); /* 10 connections at 1000/s */
    struct lg_run run = {.cfg = &cfg, .t_start = 7};
    assert_true(policy_interval_ns(&cfg) == 10000000ULL); /* each one every 10 ms */
    assert_true(policy_first_slot(&run, 0) == 7);
    assert_true(policy_first_slot(&run, 3) == 7 + 3000000ULL);
    cfg.rate = 0;
    assert_true(policy_interval_ns(&cfg) == 0);
    cfg.timeout_s = 0.25;
    assert_true(policy_timeout_ns(&cfg) == 250000000ULL);
    cfg.timeout_s = 0;
    assert_true(policy_timeout_ns(&cfg) == 5000000000ULL);

    struct lg_run fresh = {.cfg = &cfg};
    cfg.requests = 0;
    policy_window_init(&fresh);
    assert_true(fresh.t_start > 0);
    assert_true(fresh.t_measure == fresh.t_start + 500000000ULL);
    assert_true(fresh.t_end == fresh.t_measure + 1000000000ULL);
    uint64_t t0 = fresh.t_start;
    policy_window_init(&fresh); /* already set: kept */
    assert_true(fresh.t_start == t0);
}

static void test_errno_classes(void **state)
{
    (void)state;
    assert_int_equal(policy_errno_error(ECONNREFUSED), LG_ERR_CONNECT);
    assert_int_equal(policy_errno_error(EADDRNOTAVAIL), LG_ERR_ADDRNOTAVAIL);
    assert_int_equal(policy_errno_error(ECONNRESET), LG_ERR_RESET);
    assert_int_equal(policy_errno_error(EPIPE), LG_ERR_RESET);
    assert_int_equal(policy_errno_error(EMFILE), LG_ERR_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_shares),
        cmocka_unit_test(test_deterministic_with_a_seed),
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_bad_weights),
        cmocka_unit_test(test_window_and_counting),
        cmocka_unit_test(test_tickets_and_end),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_errno_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
