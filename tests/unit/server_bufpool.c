/* Unit tests of the per-thread buffer free lists (servers/core/bufpool.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bufpool.h"

/* With the cache on, a buffer given back is the next one taken of its
 * size; another size never gets it. */
static void test_cache_reuses(void **state)
{
    (void)state;
    bufpool_cache(true);
    char *a = bufpool_get(16384);
    assert_non_null(a);
    memset(a, 'x', 16384); /* really that big */
    assert_int_equal(bufpool_in_use(), 1);
    bufpool_put(a, 16384);
    assert_int_equal(bufpool_in_use(), 0);
    char *other = bufpool_get(4096);
    assert_ptr_not_equal(other, a);
    assert_ptr_equal(bufpool_get(16384), a);
    bufpool_put(a, 16384);
    bufpool_put(other, 4096);
    assert_int_equal(bufpool_in_use(), 0);
    bufpool_cache(false); /* frees what it kept (ASan: no leak) */
}

/* More given back than the list keeps: the rest is freed, none lost. */
static void test_cache_is_bounded(void **state)
{
    (void)state;
    bufpool_cache(true);
    enum { N = 100 };
    void *b[N];
    for (int i = 0; i < N; i++)
        assert_non_null(b[i] = bufpool_get(1000));
    assert_int_equal(bufpool_in_use(), N);
    for (int i = 0; i < N; i++)
        bufpool_put(b[i], 1000);
    assert_int_equal(bufpool_in_use(), 0);
    bufpool_cache(false);
}

/* Off (thread-per-client models): plain malloc/free; NULL is ignored. */
static void test_off_is_malloc(void **state)
{
    (void)state;
    void *a = bufpool_get(48 * 1024);
    assert_non_null(a);
    bufpool_put(a, 48 * 1024);
    bufpool_put(NULL, 48 * 1024);
    assert_int_equal(bufpool_in_use(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_reuses),
        cmocka_unit_test(test_cache_is_bounded),
        cmocka_unit_test(test_off_is_malloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
