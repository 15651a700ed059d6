/* Unit tests for loadgen/sweep.c (sweep lists, the sustainable-rate
 * search) and loadgen/cpuset.c (CPU lists and pairs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "os/cpuset.h"
#include "platform.h"
#include "bench/sweep.h"

static char msg[512];

static void test_count_lists(void **state)
{
    (void)state;
    struct sweep s;
    assert_int_equal(
        sweep_parse_counts("--connections", "1,16,256,1k,10k", 1, 100000, &s, msg, sizeof msg), 0);
    assert_int_equal(s.n, 5);
    assert_true(s.v[0] == 1 && s.v[3] == 1000 && s.v[4] == 10000);
    assert_int_equal(sweep_parse_counts("--connections", "64", 1, 100000, &s, msg, sizeof msg), 0);
    assert_int_equal(s.n, 1);
    static const char *const bad[] = {"1,,2", ",1", "1,", "", "0,1", "1,x", "1,2,1", "-1", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        if (sweep_parse_counts("--connections", bad[i], 1, 100000, &s, msg, sizeof msg) == 0)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(msg, "--connections"));
    }
    sweep_parse_counts("--connections", "1,,2", 1, 100000, &s, msg, sizeof msg);
    assert_non_null(strstr(msg, "empty"));
    sweep_parse_counts("--connections", "1,2,1", 1, 100000, &s, msg, sizeof msg);
    assert_non_null(strstr(msg, "twice"));
}

static void test_rate_lists(void **state)
{
    (void)state;
    struct sweep s;
    assert_int_equal(sweep_parse_rates("--rate", "1000,2.5k,20k/s", 1e8, &s, msg, sizeof msg), 0);
    assert_int_equal(s.n, 3);
    assert_true(s.v[1] == 2500 && s.v[2] == 20000);
    assert_int_equal(sweep_parse_rates("--rate", "0,100", 1e8, &s, msg, sizeof msg), -1);
    assert_int_equal(sweep_parse_rates("--rate", "auto", 1e8, &s, msg, sizeof msg), -1);
}

/* A model that keeps its SLO up to 10,000 req/s and does 20,000 flat out. */
static void test_search_converges_below_capacity(void **state)
{
    (void)state;
    struct rate_search s;
    rate_search_init(&s, 20000, 10);
    assert_true(s.next == 14000);
    unsigned tries = 0;
    while (s.next > 0) {
        rate_search_record(&s, s.next <= 10000);
        tries++;
    }
    assert_true(s.floor <= 10000 && s.floor >= 10000 / 1.08);
    assert_true(s.ceiling > 10000);
    assert_true(tries <= 10);
}

/* A model that keeps every rate tried is not capped at the closed-loop
 * guess: the search doubles upward until a rate fails, then bisects. */
static void test_search_goes_on_upward(void **state)
{
    (void)state;
    struct rate_search s;
    rate_search_init(&s, 1000, 10); /* closed loop said 1000; the truth is 5000 */
    unsigned tries = 0;
    double highest_tried = 0;
    while (s.next > 0) {
        if (s.next > highest_tried) highest_tried = s.next;
        rate_search_record(&s, s.next <= 5000);
        tries++;
    }
    assert_true(highest_tried > 5000); /* it went past the guess and past the truth */
    assert_true(s.floor <= 5000 && s.floor >= 5000 / 1.08);
    assert_false(rate_search_capped(&s));
    assert_true(tries <= 10);
}

/* Out of steps before anything failed: the best is only a lower bound. */
static void test_search_capped_is_said(void **state)
{
    (void)state;
    struct rate_search s;
    rate_search_init(&s, 1000, 3);
    while (s.next > 0)
        rate_search_record(&s, true); /* everything passes */
    assert_true(s.floor == 2800);     /* 700, 1400, 2800 */
    assert_true(rate_search_capped(&s));
    rate_search_init(&s, 1000, 3);
    while (s.next > 0)
        rate_search_record(&s, s.next <= 1000);
    assert_false(rate_search_capped(&s)); /* 1400 failed: a real maximum */
}

static void test_search_stops_after_its_steps(void **state)
{
    (void)state;
    struct rate_search s;
    rate_search_init(&s, 20000, 3);
    unsigned tries = 0;
    while (s.next > 0) {
        rate_search_record(&s, false); /* nothing passes */
        tries++;
    }
    assert_int_equal(tries, 3);
    assert_true(s.floor == 0);
    rate_search_init(&s, 0, 5); /* the closed-loop run failed: no search */
    assert_true(s.next == 0);
}

static void test_search_pass_rule(void **state)
{
    (void)state;
    assert_true(rate_search_passes(1000, 999, 9000, 0, 10000));
    assert_false(rate_search_passes(1000, 999, 11000, 0, 10000)); /* p99 over the SLO */
    assert_false(rate_search_passes(1000, 999, 9000, 1, 10000));  /* an error */
    assert_false(rate_search_passes(1000, 900, 9000, 0, 10000));  /* fell behind */
}

static void test_cpu_lists(void **state)
{
    (void)state;
    struct cpus avail, s;
    assert_int_equal(cpus_available(&avail), 0);
    assert_true(avail.n >= 1);
    unsigned first = 0;
    while (!avail.on[first])
        first++;
    char list[32], text[64];
    snprintf(list, sizeof list, "%u", first);
    assert_int_equal(cpus_parse(list, &s, msg, sizeof msg), 0);
    assert_int_equal(s.n, 1);
    cpus_format(&s, text, sizeof text);
    assert_string_equal(text, list);
    static const char *const bad[] = {"", "5-2", "a", "1,,2", "-1", "0-", "1023"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cpus_parse(bad[i], &s, msg, sizeof msg) == 0 && !avail.on[1023])
            fail_msg("'%s' was accepted", bad[i]);
    cpus_parse("5-2", &s, msg, sizeof msg);
    assert_non_null(strstr(msg, "backward"));
    cpus_parse("1023", &s, msg, sizeof msg);
    assert_non_null(strstr(msg, "not available"));
    struct cpus f = {0};
    f.on[0] = f.on[1] = f.on[2] = f.on[5] = 1;
    f.n = 4;
    cpus_format(&f, text, sizeof text);
    assert_string_equal(text, "0-2,5");
}

static void test_cpu_pairs(void **state)
{
    (void)state;
    struct cpu_pair p;
    assert_int_equal(cpus_parse_pair("none", &p, msg, sizeof msg), 0);
    assert_int_equal(p.server.n + p.loadgen.n, 0);
    assert_int_equal(cpus_parse_pair("0:0", &p, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "both sets"));
    assert_int_equal(cpus_parse_pair("0", &p, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "SERVER:LOADGEN"));
    assert_int_equal(cpus_parse_pair(":0", &p, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "server CPUs: empty"));
    struct cpus avail;
    cpus_available(&avail);
    cpus_default_pair(&p);
    if (avail.n >= 2 && SM_LINUX) { /* the portable build cannot pin */
        assert_int_equal(p.server.n + p.loadgen.n, avail.n);
        assert_int_equal(p.server.n, avail.n / 2);
        for (unsigned c = 0; c < CPUS_MAX; c++)
            assert_false(p.server.on[c] && p.loadgen.on[c]);
    } else {
        assert_int_equal(p.server.n + p.loadgen.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_lists),
        cmocka_unit_test(test_rate_lists),
        cmocka_unit_test(test_search_converges_below_capacity),
        cmocka_unit_test(test_search_goes_on_upward),
        cmocka_unit_test(test_search_capped_is_said),
        cmocka_unit_test(test_search_stops_after_its_steps),
        cmocka_unit_test(test_search_pass_rule),
        cmocka_unit_test(test_cpu_lists),
        cmocka_unit_test(test_cpu_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
