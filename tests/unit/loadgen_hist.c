/* Unit tests for loadgen/hist.c: percentiles of known data, precision over
 * the whole range, merge, clamping, the empty histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "results/hist.h"

/* |got - want| <= 0.1 % of want (and a reported value is never below the
 * value's own bucket). */
static void assert_within_permille(uint64_t got, uint64_t want)
{
    uint64_t diff = got > want ? got - want : want - got;
    if (diff * 1000 > want) {
        print_error("got %llu, want %llu within 0.1%%\n", (unsigned long long)got,
                    (unsigned long long)want);
        fail();
    }
}

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void test_empty(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    assert_non_null(h);
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_true(hist_mean(h) == 0.0);
    assert_int_equal(hist_percentile(h, 50), 0);
    assert_int_equal(hist_percentile(h, 100), 0);
    hist_free(h);
}

static void test_uniform_1_to_10000(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    for (uint64_t v = 1; v <= 10000; v++)
        hist_record(h, v);
    assert_int_equal(hist_count(h), 10000);
    assert_int_equal(hist_min(h), 1);
    assert_int_equal(hist_max(h), 10000);
    assert_true(hist_mean(h) == 5000.5);
    assert_within_permille(hist_percentile(h, 50), 5000);
    assert_within_permille(hist_percentile(h, 90), 9000);
    assert_within_permille(hist_percentile(h, 99), 9900);
    assert_within_permille(hist_percentile(h, 99.9), 9990);
    assert_int_equal(hist_percentile(h, 100), 10000);
    /* Below 2048 every value has its own bucket: exact. */
    assert_int_equal(hist_percentile(h, 10), 1000);
    assert_int_equal(hist_percentile(h, 0.01), 1);
    hist_free(h);
}

static void test_single_value(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    hist_record(h, 123456);
    /* Bounded by the exact min and max: the value itself, not its bucket's end. */
    assert_int_equal(hist_percentile(h, 0.1), 123456);
    assert_int_equal(hist_percentile(h, 50), 123456);
    assert_int_equal(hist_percentile(h, 99.9), 123456);
    assert_int_equal(hist_percentile(h, 100), 123456);
    assert_int_equal(hist_min(h), 123456);
    assert_int_equal(hist_max(h), 123456);
    assert_true(hist_mean(h) == 123456.0);
    hist_free(h);
}

static void test_all_equal(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    for (int i = 0; i < 1000; i++)
        hist_record(h, 7777);
    assert_int_equal(hist_percentile(h, 1), 7777);
    assert_int_equal(hist_percentile(h, 50), 7777);
    assert_int_equal(hist_percentile(h, 99.9), 7777);
    assert_int_equal(hist_count(h), 1000);
    hist_free(h);
}

static void test_bimodal(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    for (int i = 0; i < 900; i++)
        hist_record(h, 100);
    for (int i = 0; i < 100; i++)
        hist_record(h, 1000000);
    assert_int_equal(hist_percentile(h, 50), 100);
    assert_int_equal(hist_percentile(h, 90), 100); /* rank 900: still the low mode */
    assert_within_permille(hist_percentile(h, 90.1), 1000000);
    assert_within_permille(hist_percentile(h, 99), 1000000);
    assert_int_equal(hist_percentile(h, 100), 1000000);
    assert_true(hist_mean(h) == (900.0 * 100 + 100.0 * 1000000) / 1000);
    hist_free(h);
}

/* The reported value is the highest value of the bucket (HdrHistogram's
 * "highest equivalent value"): 5000 lives in [5000, 5003]. */
static void test_reports_bucket_top(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    hist_record(h, 1);
    hist_record(h, 5000);
    hist_record(h, 10000);
    assert_int_equal(hist_percentile(h, 50), 5003);
    hist_free(h);
}

static void test_precision_whole_range(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    uint64_t s = 42;
    for (int i = 0; i < 3000; i++) {
        /* log-uniform over 1 us .. 60 s */
        unsigned shift = (unsigned)(rng(&s) % 26);
        uint64_t v = (rng(&s) >> (64 - 26)) >> (25 - shift);
        if (v == 0) v = 1;
        if (v > HIST_MAX_US) v = HIST_MAX_US;
        hist_reset(h);
        /* 0 and the top around v, so the median is v's bucket, not min/max. */
        hist_record(h, 0);
        hist_record(h, v);
        hist_record(h, HIST_MAX_US);
        uint64_t got = hist_percentile(h, 50);
        assert_true(got >= v);
        assert_within_permille(got, v);
    }
    hist_free(h);
}

static void test_merge_equals_single(void **state)
{
    (void)state;
    struct hist *a = hist_new(), *b = hist_new(), *all = hist_new();
    uint64_t s = 7;
    for (int i = 0; i < 20000; i++) {
        uint64_t v = rng(&s) % 5000000;
        hist_record(i % 3 ? a : b, v);
        hist_record(all, v);
    }
    hist_merge(a, b);
    assert_int_equal(hist_count(a), hist_count(all));
    assert_int_equal(hist_min(a), hist_min(all));
    assert_int_equal(hist_max(a), hist_max(all));
    assert_true(hist_mean(a) == hist_mean(all));
    for (double p = 0.5; p <= 100.0; p += 0.5)
        assert_int_equal(hist_percentile(a, p), hist_percentile(all, p));
    assert_int_equal(hist_percentile(a, 99.9), hist_percentile(all, 99.9));

    /* Merging into an empty histogram copies; merging an empty one is a no-op. */
    struct hist *e = hist_new();
    hist_merge(e, all);
    assert_int_equal(hist_min(e), hist_min(all));
    assert_int_equal(hist_percentile(e, 50), hist_percentile(all, 50));
    hist_reset(b);
    hist_merge(e, b);
    assert_int_equal(hist_count(e), hist_count(all));
    hist_free(a);
    hist_free(b);
    hist_free(all);
    hist_free(e);
}

static void test_clamp_and_zero(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    hist_record(h, HIST_MAX_US * 10);
    hist_record(h, UINT64_MAX);
    assert_int_equal(hist_count(h), 2);
    assert_int_equal(hist_max(h), HIST_MAX_US);
    assert_int_equal(hist_percentile(h, 100), HIST_MAX_US);
    assert_int_equal(hist_percentile(h, 50), HIST_MAX_US);
    hist_record(h, 0); /* recorded as 0 */
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_percentile(h, 1), 0);
    hist_reset(h);
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_max(h), 0);
    hist_free(h);
}

/* hist_percentiles (one pass) says what hist_percentile says, p by p; and a
 * merge that only scans the source's [min, max] range loses nothing. */
static void test_percentiles_in_one_pass(void **state)
{
    (void)state;
    struct hist *h = hist_new(), *m = hist_new(), *e = hist_new();
    uint64_t x = 12345;
    for (int i = 0; i < 50000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        hist_record(h, 1 + (x >> 33) % 2000000);
    }
    static const double p[] = {0, 1, 25, 50, 90, 99, 99.9, 99.99, 100};
    uint64_t out[9];
    hist_percentiles(h, p, 9, out);
    for (int k = 0; k < 9; k++)
        assert_int_equal(out[k], hist_percentile(h, p[k]));
    hist_percentiles(e, p, 9, out); /* empty: zeros */
    for (int k = 0; k < 9; k++)
        assert_int_equal(out[k], 0);
    hist_merge(m, h);
    hist_merge(m, h);
    assert_int_equal(hist_count(m), 2 * hist_count(h));
    for (int k = 0; k < 9; k++)
        assert_int_equal(hist_percentile(m, p[k]), hist_percentile(h, p[k]));
    hist_free(h);
    hist_free(m);
    hist_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_in_one_pass),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_uniform_1_to_10000),
        cmocka_unit_test(test_single_value),
        cmocka_unit_test(test_all_equal),
        cmocka_unit_test(test_bimodal),
        cmocka_unit_test(test_reports_bucket_top),
        cmocka_unit_test(test_precision_whole_range),
        cmocka_unit_test(test_merge_equals_single),
        cmocka_unit_test(test_clamp_and_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
