/* Unit tests for loadgen/fixtures.c: the tree, byte-identical every time,
 * and a known hash of 1m.bin as a guard for determinism across machines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "http/fixtures.h"
#include "test_util.h"

/* XXH64 (seed 0) of 1m.bin, computed once: it must never change, or
 * result files and scenario hashes from other machines stop matching. */
#define HASH_1M 0x2a4274d8c3ab4324ULL /* checked against a Python splitmix64 */

static char errbuf[1024];

static const char *const all_files[] = {
    "index.html",      "hello.txt",         "a.txt",         "b.txt",        "c.txt",
    "1k.bin",          "64k.bin",           "1m.bin",        "16m.bin",      "dir/readme.txt",
    "dir/sub/one.txt", "dir/sub/two.bin",   "ftp/alpha.txt", "ftp/beta.txt", "ftp/gamma.bin",
    "ftp/delta.txt",   "ftp/sub/inner.txt",
};
#define NFILES (sizeof all_files / sizeof all_files[0])

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_fixtures") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

static void path_of(char *buf, size_t len, const char *sub, const char *file)
{
    snprintf(buf, len, "%s/%s/%s", scratch_dir(), sub, file);
}

static uint64_t hash_file(const char *path, off_t *size)
{
    size_t len;
    char *data = read_whole_file(path, &len);
    assert_non_null(data);
    uint64_t h = XXH64(data, len, 0);
    free(data);
    *size = (off_t)len;
    return h;
}

static void test_tree_and_sizes(void **state)
{
    (void)state;
    char dir[600], p[800];
    snprintf(dir, sizeof dir, "%s", scratch_path("tree/new/deeper")); /* created with parents */
    assert_int_equal(fixtures_create(dir, errbuf, sizeof errbuf), 0);
    static const struct {
        const char *name;
        off_t size;
    } sizes[] = {{"1k.bin", 1024},
                 {"64k.bin", 65536},
                 {"1m.bin", 1048576},
                 {"16m.bin", 16777216},
                 {"hello.txt", 14}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        off_t size;
        path_of(p, sizeof p, "tree/new/deeper", sizes[i].name);
        hash_file(p, &size);
        assert_int_equal(size, sizes[i].size);
    }
    for (size_t i = 0; i < NFILES; i++) {
        path_of(p, sizeof p, "tree/new/deeper", all_files[i]);
        assert_int_equal(access(p, R_OK), 0);
    }
    off_t size;
    path_of(p, sizeof p, "tree/new/deeper", "index.html");
    hash_file(p, &size);
    assert_true(size > 50 && size < 200);
    struct stat sb;
    path_of(p, sizeof p, "tree/new/deeper", "upload");
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(rmdir(p), 0); /* empty */
    path_of(p, sizeof p, "tree/new/deeper", "ftp/sub");
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
}

static void test_deterministic_and_idempotent(void **state)
{
    (void)state;
    char a[600], b[600], p[800];
    snprintf(a, sizeof a, "%s", scratch_path("a"));
    snprintf(b, sizeof b, "%s", scratch_path("b"));
    assert_int_equal(fixtures_create(a, errbuf, sizeof errbuf), 0);
    assert_int_equal(fixtures_create(b, errbuf, sizeof errbuf), 0);
    struct stat before, after;
    path_of(p, sizeof p, "a", "16m.bin");
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(fixtures_create(a, errbuf, sizeof errbuf), 0); /* again */
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino); /* unchanged file left alone */
    for (size_t i = 0; i < NFILES; i++) {
        char pa[800], pb[800];
        off_t sa, sb;
        path_of(pa, sizeof pa, "a", all_files[i]);
        path_of(pb, sizeof pb, "b", all_files[i]);
        assert_true(hash_file(pa, &sa) == hash_file(pb, &sb));
        assert_int_equal(sa, sb);
    }
    /* The binary files differ from each other (own seeds). */
    size_t nx, ny;
    char *x = read_whole_file(scratch_path("a/1k.bin"), &nx);
    char *y = read_whole_file(scratch_path("a/64k.bin"), &ny);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(nx, 1024);
    assert_true(ny > nx);
    assert_true(memcmp(x, y, nx) != 0);
    free(x);
    free(y);
}

static void test_known_hash(void **state)
{
    (void)state;
    char d[600], p[800];
    snprintf(d, sizeof d, "%s", scratch_path("h"));
    assert_int_equal(fixtures_create(d, errbuf, sizeof errbuf), 0);
    path_of(p, sizeof p, "h", "1m.bin");
    off_t size;
    uint64_t h = hash_file(p, &size);
    if (h != HASH_1M) {
        print_error("1m.bin hash %016llx\n", (unsigned long long)h);
        fail();
    }
}

static void test_repairs_damage(void **state)
{
    (void)state;
    char d[600], p[800];
    snprintf(d, sizeof d, "%s", scratch_path("r"));
    assert_int_equal(fixtures_create(d, errbuf, sizeof errbuf), 0);
    path_of(p, sizeof p, "r", "64k.bin");
    off_t size;
    uint64_t good = hash_file(p, &size);
    /* Same size, one byte changed: must be rewritten. */
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\x00\x01", 2, 30000), 2);
    close(fd);
    assert_true(hash_file(p, &size) != good);
    path_of(p, sizeof p, "r", "hello.txt");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(fixtures_create(d, errbuf, sizeof errbuf), 0);
    assert_int_equal(access(p, R_OK), 0);
    path_of(p, sizeof p, "r", "64k.bin");
    assert_true(hash_file(p, &size) == good);
}

static void test_errors(void **state)
{
    (void)state;
    const char *p = scratch_write("plainfile", "", 0);
    errbuf[0] = '\0';
    assert_int_equal(fixtures_create(p, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "plainfile"));
    assert_int_equal(fixtures_create("", errbuf, sizeof errbuf), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_and_sizes), cmocka_unit_test(test_deterministic_and_idempotent),
        cmocka_unit_test(test_known_hash),     cmocka_unit_test(test_repairs_damage),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
