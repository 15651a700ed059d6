/* Unit tests for loadgen/ival.c and its use by the policy tally: interval
 * slots are published at boundaries (never before, before the first answer
 * past one), collected with late and finished threads, and the differences
 * between collections add up to the final histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "results/ival.h"
#include "engine/policy.h"

#define T0 1000000000ULL /* t_measure */
#define P 100000000ULL   /* 100 ms intervals */

/* A deadline already past: ival_collect does not wait. */
#define NOW_DEADLINE 1

static void test_publish_at_boundaries(void **state)
{
    (void)state;
    struct ival *iv = ival_new(2, T0, P);
    assert_non_null(iv);
    struct ival_slot *a = ival_slot(iv, 0), *b = ival_slot(iv, 1);
    assert_null(ival_slot(iv, 2));
    assert_int_equal(ival_next(a), T0 + P);
    assert_int_equal(ival_next(NULL), UINT64_MAX);
    struct hist *h = hist_new(), *sum = hist_new();

    hist_record(h, 10);
    ival_publish(a, h, T0 + P - 1); /* before the boundary: nothing */
    assert_int_equal(ival_collect(iv, 1, NOW_DEADLINE, sum), 2);
    assert_int_equal(hist_count(sum), 0);

    ival_publish(a, h, T0 + P + 5); /* slot a at boundary 1 */
    assert_int_equal(ival_next(a), T0 + 2 * P);
    assert_int_equal(ival_collect(iv, 1, NOW_DEADLINE, sum), 1); /* b is late */
    assert_int_equal(hist_count(sum), 1);

    hist_record(h, 20);
    ival_publish(a, h, T0 + 3 * P + 1); /* an idle stretch: jumps to boundary 3 */
    assert_int_equal(ival_next(a), T0 + 4 * P);
    ival_finish(b, h); /* b ends: never waited for again */
    assert_int_equal(ival_next(b), UINT64_MAX);
    assert_int_equal(ival_collect(iv, 3, NOW_DEADLINE, sum), 0);
    assert_int_equal(hist_count(sum), 4);
    hist_free(h);
    hist_free(sum);
    ival_free(iv);
}

/* The tally publishes its histogram before it records the first answer
 * past a boundary, and at a tick when idle; nothing without a slot. */
static void test_tally_publishes_before_recording(void **state)
{
    (void)state;
    struct lg_config cfg = {.duration_s = 1};
    struct lg_run run = {.cfg = &cfg, .t_start = T0, .t_measure = T0, .t_end = T0 + 10 * P};
    struct ival *iv = ival_new(1, T0, P);
    struct lg_live live = {.ival = ival_slot(iv, 0)};
    struct policy_tally t;
    assert_int_equal(policy_tally_init(&t, &run, &live), 0);
    struct hist *sum = hist_new(), *prev = hist_new(), *diff = hist_new();

    policy_answer(&t, T0, T0 + 1000, 1, LG_ERR__COUNT);
    policy_answer(&t, T0, T0 + P - 1, 1, LG_ERR__COUNT);
    policy_answer(&t, T0, T0 + P, 1, LG_ERR__COUNT); /* past boundary 1: published first */
    assert_int_equal(ival_collect(iv, 1, NOW_DEADLINE, sum), 0);
    assert_int_equal(hist_count(sum), 2);
    hist_copy(prev, sum);

    policy_publish(&t, T0 + 2 * P + 3, false); /* idle tick past boundary 2 */
    assert_int_equal(ival_collect(iv, 2, NOW_DEADLINE, sum), 0);
    hist_diff(diff, sum, prev);
    assert_int_equal(hist_count(diff), 1);
    hist_copy(prev, sum);

    policy_answer(&t, T0, T0 + 2 * P + 50, 1, LG_ERR__COUNT);
    policy_finish(&t, T0 + 2 * P + 60);
    assert_int_equal(ival_collect(iv, 3, NOW_DEADLINE, sum), 0);
    hist_diff(diff, sum, prev);
    assert_int_equal(hist_count(diff), 1);
    assert_int_equal(hist_count(sum), hist_count(t.st.lat));
    policy_tally_free(&t);

    struct lg_live none = {0};
    assert_int_equal(policy_tally_init(&t, &run, &none), 0);
    assert_int_equal(t.ival_next, UINT64_MAX);
    policy_answer(&t, T0, T0 + 5 * P, 1, LG_ERR__COUNT);
    policy_finish(&t, T0 + 5 * P);
    policy_tally_free(&t);
    hist_free(sum);
    hist_free(prev);
    hist_free(diff);
    ival_free(iv);
}

/* A collector waits for a thread that publishes later (a real wait on the
 * condition variable, bounded by the deadline it is given). */
struct publisher {
    struct ival_slot *slot;
    struct hist *h;
};

static void *publish_later(void *arg)
{
    struct publisher *p = arg;
    ival_publish(p->slot, p->h, T0 + P);
    return NULL;
}

static void test_collect_waits_for_publication(void **state)
{
    (void)state;
    struct ival *iv = ival_new(1, T0, P);
    struct publisher p = {.slot = ival_slot(iv, 0), .h = hist_new()};
    hist_record(p.h, 7);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, publish_later, &p), 0);
    struct hist *sum = hist_new();
    uint64_t far = lg_now_ns() + 60ULL * 1000000000ULL; /* the publication comes first */
    assert_int_equal(ival_collect(iv, 1, far, sum), 0);
    assert_int_equal(hist_count(sum), 1);
    pthread_join(tid, NULL);
    hist_free(sum);
    hist_free(p.h);
    ival_free(iv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_at_boundaries),
        cmocka_unit_test(test_tally_publishes_before_recording),
        cmocka_unit_test(test_collect_waits_for_publication),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
