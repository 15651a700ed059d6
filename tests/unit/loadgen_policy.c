/* Unit tests for loadgen/policy.c: weighted step choice (distribution,
 * determinism, bad weights), replay in order, the measured window and
 * --requests tickets, what is counted, and the close: the drain, unanswered
 * requests, starved connections, first requests measured from t_measure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/policy.h"
#include "results/hist.h"
#include "results/stats.h"

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

#define S 1000000000ULL /* one second in ns */

/* A run with its warm-up in [1 s, 2 s) and its window in [2 s, 3 s]. */
static struct lg_run window_run(struct lg_config *cfg)
{
    struct lg_run run = {.cfg = cfg, .t_start = 1 * S, .t_measure = 2 * S, .t_end = 3 * S};
    atomic_init(&run.issued, 0);
    atomic_init(&run.stop, false);
    return run;
}

/* Answers after the close count nothing; failures after it, and whatever
 * is owed at the end, are unanswered; a timeout whose deadline came before
 * the close is a timeout, never also unanswered. */
static void test_close_unanswered_not_twice(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(0, 0, 1);
    cfg.timeout_s = 5;
    struct lg_run run = window_run(&cfg);
    struct policy_tally t;
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    struct policy_conn pc = {0};
    assert_true(policy_close_time(&t) == 3 * S);

    policy_conn_answer(&t, &pc, 2 * S + 100, 2 * S + 200, 10, LG_ERR__COUNT); /* in the window */
    policy_conn_answer(&t, &pc, 2 * S + 300, 3 * S + 1, 10, LG_ERR__COUNT);   /* in the drain */
    assert_int_equal(t.st.requests, 1);
    assert_int_equal(t.st.bytes, 10);

    /* In flight at the close: timed out at its deadline 1 ns before it,
     * reported later by the sweep: a timeout. */
    policy_conn_failure(&t, &pc, 2 * S, 3 * S - 1, LG_ERR_TIMEOUT);
    /* Its deadline passed in the drain: unanswered, no timeout. */
    policy_conn_failure(&t, &pc, 2 * S + 500, 3 * S + 2, LG_ERR_TIMEOUT);
    /* Reset in the drain: unanswered, no error. */
    policy_conn_failure(&t, &pc, 2 * S + 600, 3 * S + 3, LG_ERR_RESET);
    assert_int_equal(lg_stats_timeouts(&t.st), 1);
    assert_int_equal(lg_stats_errors(&t.st), 0);
    assert_int_equal(t.st.unanswered, 2);

    uint64_t drain_end = policy_close(&t, 3 * S + 5);
    assert_true(policy_close_time(&t) == 3 * S); /* seen late: still t_end */
    /* 500 ms + twice the slowest answer (100 ns, recorded as 1 us) */
    assert_true(drain_end == 3 * S + POLICY_DRAIN_MIN_NS + 2000);
    policy_conn_end(&t, &pc, 3); /* still owed at the end */
    assert_int_equal(t.st.unanswered, 5);
    assert_int_equal(t.st.starved_connections, 0); /* it was served */
    policy_tally_free(&t);
}

/* The drain's grace: 500 ms plus twice the slowest answer, at most the
 * timeout; a stop closes the window when the thread sees it. */
static void test_drain_grace_and_stop(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(0, 0, 1);
    cfg.timeout_s = 0.5;
    struct lg_run run = window_run(&cfg);
    struct policy_tally t;
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    policy_answer(&t, 2 * S, 2 * S + 300000000ULL, 1, LG_ERR__COUNT); /* 300 ms */
    atomic_store(&run.stop, true);
    assert_true(policy_run_over(&run, 2 * S + S / 2));
    uint64_t drain_end = policy_close(&t, 2 * S + S / 2);
    assert_true(policy_close_time(&t) == 2 * S + S / 2);
    assert_true(drain_end == 2 * S + S / 2 + 500000000ULL); /* 700 ms capped at 0.5 s */
    /* After the stop, answers count nothing, failures are unanswered. */
    policy_answer(&t, 2 * S + S / 4, 2 * S + S / 2 + 1, 1, LG_ERR__COUNT);
    policy_failure(&t, 2 * S + S / 4, 2 * S + S / 2 + 1, LG_ERR_CONNECT);
    assert_int_equal(t.st.requests, 1);
    assert_int_equal(lg_stats_errors(&t.st), 0);
    assert_int_equal(t.st.unanswered, 1);
    policy_tally_free(&t);

    cfg.timeout_s = 10; /* short answers: the grace is 500 ms and a bit */
    run = window_run(&cfg);
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    policy_answer(&t, 2 * S, 2 * S + 2000000ULL, 1, LG_ERR__COUNT); /* 2 ms */
    assert_true(policy_close(&t, 3 * S) == 3 * S + POLICY_DRAIN_MIN_NS + 4000000ULL);
    policy_tally_free(&t);
}

/* Starved: asked in the window (resolved at or after t_measure, or still
 * owed at the end) and got no answer in [t_measure, close]. */
static void test_starved_connections(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(0, 0, 5);
    struct lg_run run = window_run(&cfg);
    struct policy_tally t;
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    struct policy_conn idle = {0}, queued = {0}, served = {0}, refused = {0}, warm = {0};

    policy_conn_end(&t, &idle, 0); /* asked nothing: not starved */
    assert_int_equal(t.st.starved_connections, 0);

    policy_conn_end(&t, &queued, 1); /* its request waited the whole window */
    assert_int_equal(t.st.starved_connections, 1);
    assert_int_equal(t.st.unanswered, 1);

    policy_conn_answer(&t, &served, 2 * S, 2 * S + 5, 1, LG_ERR_BAD_STATUS); /* wrong, an answer */
    policy_conn_end(&t, &served, 1);
    assert_int_equal(t.st.starved_connections, 1);
    assert_int_equal(t.st.unanswered, 2);

    policy_conn_failure(&t, &refused, 2 * S, 2 * S + 5, LG_ERR_CONNECT); /* only failures */
    policy_conn_end(&t, &refused, 0);
    assert_int_equal(t.st.starved_connections, 2);
    assert_int_equal(t.st.unanswered, 2);

    /* Answers in the warm-up only, then a request sent in the warm-up
     * still pending at the end: counted unanswered whatever its origin,
     * and the connection starved. */
    policy_conn_answer(&t, &warm, 1 * S, 1 * S + 5, 1, LG_ERR__COUNT);
    policy_conn_end(&t, &warm, 1);
    assert_int_equal(t.st.starved_connections, 3);
    assert_int_equal(t.st.unanswered, 3);
    assert_int_equal(t.st.requests, 1); /* the wrong answer only */

    /* Its first answer (a 503 here) only in the drain: it waited the whole
     * window (in a server's backlog, say): starved, its request unanswered.
     * One served in the window is neither for its answer in the drain. */
    struct policy_conn late = {0}, busy = {0};
    policy_conn_answer(&t, &late, 1 * S + 5, 3 * S + 7, 1, LG_ERR_BAD_STATUS);
    policy_conn_end(&t, &late, 0);
    assert_int_equal(t.st.starved_connections, 4);
    policy_conn_answer(&t, &busy, 2 * S, 2 * S + 5, 1, LG_ERR__COUNT);
    policy_conn_answer(&t, &busy, 3 * S - 5, 3 * S + 7, 1, LG_ERR__COUNT);
    policy_conn_end(&t, &busy, 0);
    assert_int_equal(t.st.starved_connections, 4);
    assert_int_equal(t.st.unanswered, 4);
    assert_int_equal(t.st.requests, 2);
    policy_tally_free(&t);
}

/* Open loop: the slots due in [t_measure, close] not started yet. */
static void test_slots_due(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(0, 10, 1);
    struct lg_run run = window_run(&cfg);
    struct policy_tally t;
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    const uint64_t iv = S / 10;                        /* 100 ms */
    assert_true(policy_slots_due(&t, 3 * S, iv) == 1); /* due at the close exactly */
    assert_true(policy_slots_due(&t, 3 * S + 1, iv) == 0);
    assert_true(policy_slots_due(&t, 2 * S + 950000000ULL, iv) == 1);
    assert_true(policy_slots_due(&t, 2 * S, iv) == 11);
    assert_true(policy_slots_due(&t, 1 * S + S / 2, iv) == 11); /* warm-up slots: not owed */
    assert_true(policy_slots_due(&t, 1 * S + S / 2 + 1, iv) == 10);
    assert_true(policy_slots_due(&t, 2 * S, 0) == 0); /* closed loop */
    policy_close(&t, 2 * S + S / 2);                  /* a stop half-way */
    assert_true(policy_slots_due(&t, 2 * S, iv) == 6);
    policy_tally_free(&t);

    cfg.requests = 10; /* --requests: no close unless stopped */
    run = window_run(&cfg);
    run.t_end = 0;
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    assert_true(policy_close_time(&t) == UINT64_MAX);
    assert_true(policy_slots_due(&t, 2 * S, iv) == 0);
    policy_tally_free(&t);
}

/* A connection's first request begun in the warm-up and ending in the
 * window is measured from t_measure; nothing else of the warm-up is. */
static void test_first_request_from_the_window_start(void **state)
{
    (void)state;
    struct lg_config cfg = cfg_for(0, 0, 3);
    struct lg_run run = window_run(&cfg);
    struct policy_tally t;
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    struct policy_conn queued = {0}, early = {0}, failed = {0};

    /* Queued from 1.5 s, answered at 2.4 s: 400 ms, not 900 ms. */
    policy_conn_answer(&t, &queued, 1 * S + S / 2, 2 * S + 400000000ULL, 7, LG_ERR__COUNT);
    assert_int_equal(t.st.requests, 1);
    assert_true(hist_max(t.st.lat) >= 399000 && hist_max(t.st.lat) <= 401000);
    assert_true(hist_min(t.st.lat) >= 399000);
    /* Its next request from the warm-up is no first one: not counted. */
    policy_conn_answer(&t, &queued, 1 * S + S / 2, 2 * S + 500000000ULL, 7, LG_ERR__COUNT);
    assert_int_equal(t.st.requests, 1);

    /* Answered in the warm-up: not counted, and it was the first. */
    policy_conn_answer(&t, &early, 1 * S + 10, 1 * S + 20, 7, LG_ERR__COUNT);
    policy_conn_answer(&t, &early, 1 * S + 30, 2 * S + 20, 7, LG_ERR__COUNT);
    assert_int_equal(t.st.requests, 1);
    assert_true(early.answered && early.served && early.asked);

    /* A first request that fails in the window is measured too. */
    policy_conn_failure(&t, &failed, 1 * S + S / 2, 2 * S + 1, LG_ERR_RESET);
    assert_int_equal(lg_stats_errors(&t.st), 1);
    /* Without a connection there is no first request. */
    policy_answer(&t, 1 * S + S / 2, 2 * S + 1, 7, LG_ERR__COUNT);
    assert_int_equal(t.st.requests, 1);
    policy_tally_free(&t);

    /* --requests 1: the measured first request takes the ticket; the next
     * one finds none and stays a warm-up request. */
    cfg.requests = 1;
    run = window_run(&cfg);
    run.t_end = 0;
    assert_int_equal(policy_tally_init(&t, &run, NULL), 0);
    struct policy_conn a = {0}, b = {0};
    policy_conn_answer(&t, &a, 1 * S + S / 2, 2 * S + 5, 1, LG_ERR__COUNT);
    policy_conn_answer(&t, &b, 1 * S + S / 2, 2 * S + 6, 1, LG_ERR__COUNT);
    assert_int_equal(t.st.requests, 1);
    assert_false(policy_take_ticket(&run, 2 * S + 7)); /* used up */
    policy_tally_free(&t);
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
        cmocka_unit_test(test_close_unanswered_not_twice),
        cmocka_unit_test(test_drain_grace_and_stop),
        cmocka_unit_test(test_starved_connections),
        cmocka_unit_test(test_slots_due),
        cmocka_unit_test(test_first_request_from_the_window_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
