/* Unit tests for common/units.c: the one parser for counts, sizes,
 * durations and rates used by both CLIs and the scenario files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "units.h"

static void counts(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(units_count("100", 0, 1000, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(units_count("10k", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(units_count("1.1k", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 1100);
    assert_int_equal(units_count("1.5M", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 1500000);
    assert_int_equal(units_count("2G", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 2000000000);
    assert_int_equal(units_count("0", 0, 5, &v), 0);
    assert_int_equal(v, 0);
}

static void counts_refused(void **state)
{
    (void)state;
    uint64_t v = 7;
    const char *bad[] = {"",
                         "-1",
                         "+1",
                         " 1",
                         "1 ",
                         "1.5",
                         "0x10",
                         "1e3",
                         "inf",
                         "nan",
                         "k",
                         "1kk",
                         "1.2.3",
                         ".",
                         "10m",
                         "1ms",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(units_count(bad[i], 0, UINT64_MAX, &v), -1);
        assert_int_equal(v, 7);
    }
    assert_int_equal(units_count(NULL, 0, 1, &v), -1);
    assert_int_equal(units_count("1001", 0, 1000, &v), -1); /* range */
    assert_int_equal(units_count("0", 1, 1000, &v), -1);
    assert_int_equal(v, 7);
}

static void sizes(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(units_size("512", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 512);
    assert_int_equal(units_size("64k", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(units_size("64K", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(units_size("1M", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 1048576);
    assert_int_equal(units_size("1.5k", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 1536);
    assert_int_equal(units_size("1G", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, UINT64_C(1073741824));
    assert_int_equal(units_size("2M", 0, 1048576, &v), -1);
    assert_int_equal(units_size("1.5", 0, 100, &v), -1); /* half a byte */
    assert_int_equal(units_size("1m", 0, UINT64_MAX, &v), -1);
    assert_int_equal(units_size("1kB", 0, UINT64_MAX, &v), -1);
}

static void durations(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(units_duration("1.5", 0, 10, &v), 0);
    assert_true(v == 1.5);
    assert_int_equal(units_duration("250ms", 0, 10, &v), 0);
    assert_true(v == 0.25);
    assert_int_equal(units_duration("5s", 0, 10, &v), 0);
    assert_true(v == 5);
    assert_int_equal(units_duration("2m", 0, 1e6, &v), 0);
    assert_true(v == 120);
    assert_int_equal(units_duration("1h", 0, 1e6, &v), 0);
    assert_true(v == 3600);
    assert_int_equal(units_duration("100us", 0, 1, &v), 0);
    assert_true(v > 0.0000999 && v < 0.0001001);
    const char *bad[] = {"", "-1", "1 s", "5sec", "1S", "1e2", "ms", "1d", "inf", "nan", "5k"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(units_duration(bad[i], 0, 1e9, &v), -1);
    assert_int_equal(units_duration("0", 1e-6, 10, &v), -1); /* must be > 0 */
    assert_int_equal(units_duration("11", 0, 10, &v), -1);
}

static void rates(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(units_rate("1000", 0, 1e9, &v), 0);
    assert_true(v == 1000);
    assert_int_equal(units_rate("20k", 0, 1e9, &v), 0);
    assert_true(v == 20000);
    assert_int_equal(units_rate("2.5k/s", 0, 1e9, &v), 0);
    assert_true(v == 2500);
    assert_int_equal(units_rate("0.5", 0, 1e9, &v), 0);
    assert_true(v == 0.5);
    const char *bad[] = {"", "/s", "1/m", "5ms", "-3", "1k/s/s", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(units_rate(bad[i], 0, 1e9, &v), -1);
    char longer[200];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(units_rate(longer, 0, 1e300, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts),    cmocka_unit_test(counts_refused), cmocka_unit_test(sizes),
        cmocka_unit_test(durations), cmocka_unit_test(rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
