/* Unit tests for loadgen/bench/bench_plan.c's rounds: every round a
 * permutation of the models and the A/A twin, its start rotated by one each
 * round, the neighbours changing; the reference picked as documented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "bench/bench_plan.h"

static void test_rounds_are_permutations_rotated_with_changing_neighbours(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 13; n++) {
        for (long ref = -1; ref<(long)n; ref += n> 4 ? 4 : 1) {
            size_t len = n + (ref >= 0), firsts[7], npred = 0, preds[7];
            for (unsigned k = 0; k < 7; k++) {
                size_t slots[NAMES_MAX + 1];
                assert_int_equal(plan_round(n, ref, k, slots), len);
                bool seen[NAMES_MAX + 1] = {false};
                for (size_t i = 0; i < len; i++) {
                    assert_true(slots[i] <= n);
                    assert_false(seen[slots[i]]);
                    seen[slots[i]] = true;
                }
                assert_true(ref < 0 || seen[n]); /* the twin runs every round */
                firsts[k] = slots[0];
                /* who runs right before the reference's own run */
                for (size_t i = 1; i < len; i++)
                    if (ref >= 0 && slots[i] == (size_t)ref) {
                        bool dup = false;
                        for (size_t j = 0; j < npred; j++)
                            dup |= preds[j] == slots[i - 1];
                        if (!dup) preds[npred++] = slots[i - 1];
                    }
            }
            for (unsigned k = 1; k < 7 && k < len; k++) /* rotated: a new first each round */
                for (unsigned j = 0; j < k; j++)
                    assert_true(firsts[j] != firsts[k]);
            if (ref >= 0 && len >= 5) assert_true(npred >= 2); /* not always the same neighbour */
        }
    }
}

static void test_reference(void **state)
{
    (void)state;
    struct names m = {0};
    const char *list[] = {"iterative", "poll", "epoll", "thread"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(names_add(&m, list[i], strlen(list[i])), 0);
    assert_int_equal(plan_reference(&m, NULL), 2);     /* epoll */
    assert_int_equal(plan_reference(&m, "thread"), 3); /* given */
    assert_int_equal(plan_reference(&m, "none"), -1);
    assert_int_equal(plan_reference(&m, "uring"), -1); /* not run */
    names_free(&m);
    const char *portable[] = {"select", "poll"};
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(names_add(&m, portable[i], strlen(portable[i])), 0);
    assert_int_equal(plan_reference(&m, NULL), 1); /* poll, with no epoll */
    names_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds_are_permutations_rotated_with_changing_neighbours),
        cmocka_unit_test(test_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
