/* Unit tests for loadgen/check.c: fixtures resolved to length + XXH64,
 * escapes refused, payloads, /time bodies, listings, status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "http/check.h"
#include "http/fixtures.h"
#include "scenario/scenario.h"
#include "test_util.h"

static char fixdir[600];
static char errbuf[1024];

static int setup(void **state)
{
    (void)state;
    if (!scratch_create("lg_check")) return -1;
    snprintf(fixdir, sizeof fixdir, "%s", scratch_path("fx"));
    return fixtures_create(fixdir, errbuf, sizeof errbuf);
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

/* A one-step scenario. */
static void one_step(struct lg_scenario *sc, struct lg_step *st, enum lg_expect e, const char *body)
{
    *sc = (struct lg_scenario){.steps = st, .nsteps = 1};
    strcpy(sc->file, "t.ini");
    *st = (struct lg_step){.expect = e, .expect_length = -1, .line = 7};
    strcpy(st->name, "s");
    snprintf(st->expect_body, sizeof st->expect_body, "%s", body);
}

static uint64_t file_hash(const char *rel, size_t *len)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", fixdir, rel);
    char *data = read_whole_file(p, len);
    assert_non_null(data);
    uint64_t h = XXH64(data, *len, 0);
    free(data);
    return h;
}

static void test_prepare_files(void **state)
{
    (void)state;
    static const char *const names[] = {"index.html", "1k.bin", "1m.bin", "dir/sub/two.bin",
                                        "./hello.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct lg_scenario sc;
        struct lg_step st;
        one_step(&sc, &st, LG_EXPECT_FILE, names[i]);
        assert_int_equal(check_prepare(&sc, fixdir, errbuf, sizeof errbuf), 0);
        size_t len;
        uint64_t h = file_hash(names[i], &len);
        assert_int_equal(st.expect_length, (int64_t)len);
        assert_true(st.expect_hash == h);
    }
}

static void expect_refused(const char *body, const char *what)
{
    struct lg_scenario sc;
    struct lg_step st;
    one_step(&sc, &st, LG_EXPECT_FILE, body);
    errbuf[0] = '\0';
    assert_int_equal(check_prepare(&sc, fixdir, errbuf, sizeof errbuf), -1);
    if (!strstr(errbuf, "t.ini:7:") || !strstr(errbuf, what)) {
        print_error("message '%s' lacks '%s'\n", errbuf, what);
        fail();
    }
}

static void test_prepare_refuses(void **state)
{
    (void)state;
    expect_refused("missing.bin", "missing.bin");
    expect_refused("dir", "dir");                    /* a directory is not a body */
    expect_refused("../fx/1k.bin", "relative path"); /* escapes, even back in */
    expect_refused("dir/../../x", "relative path");
    expect_refused("/etc/passwd", "relative path");
    char link[800];
    snprintf(link, sizeof link, "%s/outside", fixdir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    expect_refused("outside", "outside");
    unlink(link);

    /* expect = file without --fixtures */
    struct lg_scenario sc;
    struct lg_step st;
    one_step(&sc, &st, LG_EXPECT_FILE, "1k.bin");
    assert_int_equal(check_prepare(&sc, NULL, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "fixtures"));
    /* ... but nothing is needed for other kinds */
    one_step(&sc, &st, LG_EXPECT_NONE, "");
    assert_int_equal(check_prepare(&sc, NULL, errbuf, sizeof errbuf), 0);
    assert_int_equal(st.expect_length, -1);
}

static void test_prepare_echo_and_listing(void **state)
{
    (void)state;
    struct lg_scenario sc;
    struct lg_step st;
    one_step(&sc, &st, LG_EXPECT_ECHO, "");
    st.body_size = 1024;
    assert_int_equal(check_prepare(&sc, NULL, errbuf, sizeof errbuf), 0);
    char buf[1024];
    check_payload(buf, sizeof buf);
    assert_int_equal(st.expect_length, 1024);
    assert_true(st.expect_hash == XXH64(buf, sizeof buf, 0));

    one_step(&sc, &st, LG_EXPECT_LISTING, "");
    strcpy(st.expect_names, "a, ,b");
    assert_int_equal(check_prepare(&sc, NULL, errbuf, sizeof errbuf), -1);
    strcpy(st.expect_names, "a,b");
    assert_int_equal(check_prepare(&sc, NULL, errbuf, sizeof errbuf), 0);
}

/* Every shipped scenario's fixtures exist in the generated tree. */
static void prepare_shipped(const char *path)
{
    struct lg_scenario sc;
    assert_int_equal(scenario_load(path, &sc, errbuf, sizeof errbuf), 0);
    if (check_prepare(&sc, fixdir, errbuf, sizeof errbuf) != 0) {
        print_error("%s\n", errbuf);
        fail();
    }
    for (size_t i = 0; i < sc.nsteps; i++)
        if (sc.steps[i].expect == LG_EXPECT_FILE || sc.steps[i].expect == LG_EXPECT_ECHO)
            assert_true(sc.steps[i].expect_length >= 0);
    scenario_free(&sc);
}

static void test_shipped_scenarios_prepare(void **state)
{
    (void)state;
    assert_true(for_each_file(repo_path("scenarios"), ".ini", prepare_shipped) >= 8);
}

static void test_payload(void **state)
{
    (void)state;
    static char a[100000], b[100000];
    check_payload(a, sizeof a);
    check_payload(b, sizeof b);
    assert_memory_equal(a, b, sizeof a);
    for (size_t i = 0; i < sizeof a; i++) {
        assert_true(a[i] > ' ' && a[i] < 0x7f);
    }
    char shortp[777];
    check_payload(shortp, sizeof shortp);
    assert_memory_equal(shortp, a, sizeof shortp); /* prefix property */
    assert_true(memcmp(a, a + 64, 64) != 0);       /* not a short period */
    static const size_t lens[] = {0, 1, 7, 8, 9, 4095, 4096, 4097, 65536, 100000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        assert_true(check_payload_hash(lens[i]) == XXH64(a, lens[i], 0));
}

static void test_time_body(void **state)
{
    (void)state;
#define OK(s) assert_true(check_time_body(s, strlen(s)))
#define BAD(s) assert_false(check_time_body(s, strlen(s)))
    OK("2024-02-29T23:59:59Z\n");
    OK("2024-02-29T23:59:59Z");
    OK("1999-12-31T00:00:00Z\r\n");
    OK("Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    OK("Sun, 06 Nov 1994 08:49:37 GMT");
    BAD("");
    BAD("\n");
    BAD("2024-13-01T00:00:00Z\n");  /* month 13 */
    BAD("2024-02-29T24:00:00Z\n");  /* hour 24 */
    BAD("2024-02-29T23:5a:59Z\n");  /* not a digit */
    BAD("2024-02-29 23:59:59Z\n");  /* no T */
    BAD("2024-02-29T23:59:59\n");   /* no Z */
    BAD("2024-02-29T23:59:59Z\nx"); /* trailing garbage */
    BAD("2024-02-29T23:59:59Z \n");
    BAD("2024-02-29T23:59:59Z\n\n");
    BAD(" 2024-02-29T23:59:59Z\n");
    BAD("Sun, 06 Foo 1994 08:49:37 GMT");
    BAD("Sun, 06 Nov 1994 08:49:37 UTC");
    BAD("Xyz, 06 Nov 1994 08:49:37 GMT");
    BAD("Sun, 6 Nov 1994 08:49:37 GMT");
    assert_false(check_time_body("2024-02-29T23:59:59Z\n", 10)); /* truncated */
    assert_false(check_time_body("2024-02-29T23:59:59Z\0", 21)); /* NUL instead of \n */
#undef OK
#undef BAD
}

static bool listing(const char *names, const char *body)
{
    struct lg_step st = {0};
    snprintf(st.expect_names, sizeof st.expect_names, "%s", names);
    return check_listing(&st, body, strlen(body));
}

static void test_listing(void **state)
{
    (void)state;
    const char *list = "-rw-r--r--    1 0 0   6 Jan 01 00:00 alpha.txt\r\n"
                       "-rw-r--r--    1 0 0  10 Jan 01 00:00 aa.txt\r\n"
                       "drwxr-xr-x    2 0 0 4096 Jan 01 00:00 sub\r\n"
                       "-rw-r--r--    1 0 0  10 Jan 01 00:00 with space.txt\r\n";
    assert_true(listing("alpha.txt", list));
    assert_true(listing("alpha.txt, sub ,aa.txt", list));
    assert_true(listing("with space.txt", list));
    assert_false(listing("a.txt", list)); /* not a whole name inside aa.txt */
    assert_false(listing("alpha", list));
    assert_false(listing("alpha.txt,missing", list));
    assert_false(listing("su", list));
    const char *nlst = "alpha.txt\r\nbeta.txt\r\nftp/gamma.bin\n";
    assert_true(listing("alpha.txt,beta.txt,gamma.bin", nlst));
    assert_false(listing("lpha.txt", nlst));
    assert_false(listing("alpha.txt", ""));
    assert_false(listing("", nlst));              /* nothing to look for is not a pass */
    assert_true(listing("beta.txt", "beta.txt")); /* no final newline */
}

static void test_status(void **state)
{
    (void)state;
    const enum lg_proto H = LG_PROTO_HTTP, F = LG_PROTO_FTP;
    struct lg_step st = {.expect_status = 200};
    assert_int_equal(check_status(&st, H, 200, false), LG_ERR__COUNT);
    assert_int_equal(check_status(&st, H, 404, false), LG_ERR_BAD_STATUS);
    assert_int_equal(check_status(&st, H, 201, false), LG_ERR_BAD_STATUS);
    st.expect_status = 0;
    assert_int_equal(check_status(&st, F, 226, false), LG_ERR__COUNT);
    assert_int_equal(check_status(&st, F, 250, false), LG_ERR__COUNT);
    assert_int_equal(check_status(&st, F, 550, true), LG_ERR_BAD_STATUS);
    assert_int_equal(check_status(&st, F, 150, false), LG_ERR_BAD_STATUS);
    assert_int_equal(check_status(&st, H, 0, false), LG_ERR_BAD_STATUS);
    st.expect_status = 404;
    assert_int_equal(check_status(&st, H, 404, false), LG_ERR__COUNT);
}

/* A refusal at a documented limit is told apart from a wrong answer, and
 * only in its exact form: 503 with the close (HTTP), 421 (FTP). */
static void test_status_refused(void **state)
{
    (void)state;
    struct lg_step st = {.expect_status = 0};
    assert_int_equal(check_status(&st, LG_PROTO_HTTP, 503, true), LG_ERR_REFUSED);
    /* a 503 that keeps the connection is no refusal at a limit: a wrong answer */
    assert_int_equal(check_status(&st, LG_PROTO_HTTP, 503, false), LG_ERR_BAD_STATUS);
    /* HTTP's 421 is Misdirected Request: wrong */
    assert_int_equal(check_status(&st, LG_PROTO_HTTP, 421, true), LG_ERR_BAD_STATUS);
    assert_int_equal(check_status(&st, LG_PROTO_HTTP, 500, true), LG_ERR_BAD_STATUS);
    assert_int_equal(check_status(&st, LG_PROTO_FTP, 421, true), LG_ERR_REFUSED);
    assert_int_equal(check_status(&st, LG_PROTO_FTP, 503, true), LG_ERR_BAD_STATUS);
    /* a step that expects the refusal passes on it */
    st.expect_status = 503;
    assert_int_equal(check_status(&st, LG_PROTO_HTTP, 503, true), LG_ERR__COUNT);
    st.expect_status = 421;
    assert_int_equal(check_status(&st, LG_PROTO_FTP, 421, true), LG_ERR__COUNT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_files),
        cmocka_unit_test(test_prepare_refuses),
        cmocka_unit_test(test_prepare_echo_and_listing),
        cmocka_unit_test(test_shipped_scenarios_prepare),
        cmocka_unit_test(test_payload),
        cmocka_unit_test(test_time_body),
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_status_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
