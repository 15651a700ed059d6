/* Unit tests for loadgen/os/atomicfile.c: a file appears whole, with the
 * mode a user's own files get (0644 less the umask), never mkstemp's 0600;
 * an aborted one leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "os/atomicfile.h"
#include "test_util.h"

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_atomicfile") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

static mode_t written_mode(const char *name, mode_t mask)
{
    char err[256];
    struct atomic_file a;
    mode_t old = umask(mask);
    int rc = atomic_open(&a, scratch_path(name), err, sizeof err);
    umask(old);
    assert_int_equal(rc, 0);
    fputs("model,req_per_s\n", a.f);
    assert_int_equal(atomic_commit(&a, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(scratch_path(name), &st), 0);
    return st.st_mode & 07777;
}

static void test_mode_is_0644_less_the_umask(void **state)
{
    (void)state;
    assert_int_equal(written_mode("a.csv", 022), 0644);
    assert_int_equal(written_mode("b.csv", 027), 0640);
    assert_int_equal(written_mode("c.csv", 077), 0600);
    assert_int_equal(written_mode("d.csv", 0), 0644); /* never more than 0644 */
}

static void test_abort_leaves_nothing(void **state)
{
    (void)state;
    char err[256];
    struct atomic_file a;
    assert_int_equal(atomic_open(&a, scratch_path("gone.csv"), err, sizeof err), 0);
    fputs("half a row", a.f);
    atomic_abort(&a);
    assert_false(scratch_exists("gone.csv"));
}

static void test_missing_directory_is_an_error(void **state)
{
    (void)state;
    char err[256];
    struct atomic_file a;
    assert_int_equal(atomic_open(&a, scratch_path("no/such/dir/x.csv"), err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_is_0644_less_the_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
