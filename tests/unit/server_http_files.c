/* Unit tests of the HTTP session's file answers (servers/core/http.c):
 * files, directories and their index, redirects, content types, paths under
 * the root, one write per small answer, and answers that follow a change of
 * the file (the open-file cache, filecache.c). Driven by http_fake.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filecache.h"
#include "fsroot.h"
#include "http_fake.h"
#include "test_util.h"

static void test_get_file(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_false(d.closed); /* keep-alive: waits for the next request */
    only_resp(&d, false, &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "hello\n");
    assert_string_equal(hdr(&r, "Content-Type"), "text/plain");
    assert_string_equal(hdr(&r, "Server"), "refserver");
    assert_null(hdr(&r, "Connection"));
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
                             "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                             "[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, hdr(&r, "Date"), 0, NULL, 0), 0);
    assert_int_equal(regexec(&re, hdr(&r, "Last-Modified"), 0, NULL, 0), 0);
    regfree(&re);
    drv_free(&d);
}

static void test_head_file(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n", false);
    only_resp(&d, true, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(strtoul(hdr(&r, "Content-Length"), NULL, 10), BIG_SIZE);
    assert_string_equal(hdr(&r, "Content-Type"), "application/octet-stream");
    assert_non_null(hdr(&r, "Last-Modified"));
    drv_free(&d);
}

static void test_big_file_sendfile(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n", true);
    assert_true(d.closed);
    only_resp(&d, false, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.blen, BIG_SIZE);
    assert_memory_equal(r.body, big, BIG_SIZE);
    drv_free(&d);
}

static void test_empty_file_and_index(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d,
         "GET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n",
         true);
    const char *p = d.out, *end = d.out + d.len;
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "");
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "<h1>home</h1>\n");
    assert_string_equal(hdr(&r, "Content-Type"), "text/html");
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "sub index\n");
    assert_ptr_equal(p, end);
    drv_free(&d);
}

static void test_dir_redirect(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "GET /sub?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", false);
    only_resp(&d, false, &r);
    assert_int_equal(r.status, 301);
    assert_string_equal(hdr(&r, "Location"), "/sub/");
    assert_false(d.closed);
    drv_free(&d);
    assert_int_equal(status_of("GET /noindex/ HTTP/1.1\r\nHost: x\r\n\r\n"), 404);

    /* the Location is the normalised path: never "//host" (another host to
     * a browser or curl), no "." or empty segments, percent-encoded */
    static const struct {
        const char *target, *location;
    } forms[] = {
        {"//evil.example", "/evil.example/"},
        {"///evil.example", "/evil.example/"},
        {"/.//evil.example", "/evil.example/"},
        {"//evil.example?x=//y", "/evil.example/"},
        {"http://x//evil.example", "/evil.example/"},
        {"/./sub", "/sub/"},
        {"/sub/.", "/sub/"},
        {"//sub//.", "/sub/"},
        {"/.", "/"},
        {"/%2e", "/"},
        {"//%2e/evil.example", "/evil.example/"},
        {"/a%20dir%3F%23", "/a%20dir%3F%23/"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", forms[i].target);
        run1(&d, req, false);
        only_resp(&d, false, &r);
        assert_int_equal(r.status, 301);
        assert_string_equal(hdr(&r, "Location"), forms[i].location);
        drv_free(&d);
    }
    /* ".." is refused outright, not redirected */
    assert_int_equal(status_of("GET /sub/../sub HTTP/1.1\r\nHost: x\r\n\r\n"), 403);
    assert_int_equal(status_of("GET //evil.example/.. HTTP/1.1\r\nHost: x\r\n\r\n"), 403);
}

static void test_content_types(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"/data.json", "application/json"},
        {"/pic.PNG", "image/png"},
        {"/noext", "application/octet-stream"},
        {"/sub/style.css", "text/css"},
        {"/index.html", "text/html"},
        {"/trail.", "application/octet-stream"},
        {"/long.jsonx", "application/octet-stream"},
        {"/short.JS", "text/javascript"},
        {"/prefix.jp", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n", cases[i][0]);
        struct drv d;
        struct resp r;
        run1(&d, req, true);
        only_resp(&d, true, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(hdr(&r, "Content-Type"), cases[i][1]);
        drv_free(&d);
    }
}

static void test_paths(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        int status;
    } cases[] = {
        {"/missing", 404},
        {"/.hidden", 404},
        {"/.git/config", 404},
        {"/sub/../a.txt", 403},
        {"/%2e%2e/outside.txt", 403},
        {"/..%2fa.txt", 400},
        {"/a%00.txt", 400},
        {"/a%2Fb", 400},
        {"/a%5cb", 400},
        {"/a\\b", 400},
        {"/%zz", 400},
        {"/a%2", 400},
        {"/link_in", 200},
        {"/sub/up", 200},
        {"/link_out", 403},
        {"/dir_out/outside.txt", 403},
        {"/a%20b.txt", 200},
        {"/a.txt/", 404},
        {"//a.txt", 200},
        {"/a.txt?q=1", 200},
        {"http://h/a.txt", 200},
        {"a.txt", 400},
        {"/%252e%252e/a.txt", 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", cases[i].path);
        int st = status_of(req);
        if (st != cases[i].status) fail_msg("%s: %d, want %d", cases[i].path, st, cases[i].status);
    }
}

/* One ACT_WRITE per small answer, headers and body together, whether the
 * file comes from disk (a miss) or from the open-file cache (a hit); a large
 * file's body goes as ACT_SENDFILE after its headers; HEAD is headers only. */
static void test_one_write_per_small_answer(void **state)
{
    (void)state;
    filecache_flush(fsroot_cache(root));
    for (int round = 0; round < 2; round++) {
        struct drv d;
        struct resp r;
        run1(&d, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
        only_resp(&d, false, &r);
        expect_body(&r, "hello\n");
        assert_int_equal(d.writes, 1);
        assert_int_equal(d.sendfiles, 0);
        drv_free(&d);
        run1(&d, "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
        only_resp(&d, true, &r);
        assert_int_equal(strtoul(hdr(&r, "Content-Length"), NULL, 10), 6);
        assert_int_equal(d.writes, 1);
        drv_free(&d);
        run1(&d, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n", false);
        only_resp(&d, false, &r);
        assert_memory_equal(r.body, big, BIG_SIZE);
        assert_int_equal(d.writes, 1);
        assert_true(d.sendfiles >= 1);
        drv_free(&d);
    }
    struct filecache_stats st;
    filecache_get_stats(fsroot_cache(root), &st);
    assert_true(st.hits >= 3);
}

/* On one keep-alive session, a file replaced between two requests is
 * answered with its new bytes. */
static void test_fresh_after_change(void **state)
{
    (void)state;
    scratch_write_text("root/fresh.txt", "old bytes\n");
    static const char req[] = "GET /fresh.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    struct drv d;
    struct resp r;
    drv_init(&d);
    drive(&d, req, strlen(req), false);
    drive(&d, req, strlen(req), false);
    scratch_write_text("root/fresh.txt.new", "new bytes!\n");
    assert_int_equal(rename(scratch_path("root/fresh.txt.new"), scratch_path("root/fresh.txt")), 0);
    drive(&d, req, strlen(req), false);
    const char *p = d.out, *end = d.out + d.len;
    parse_resp(&p, end, false, &r);
    expect_body(&r, "old bytes\n");
    parse_resp(&p, end, false, &r);
    expect_body(&r, "old bytes\n");
    parse_resp(&p, end, false, &r);
    expect_body(&r, "new bytes!\n");
    assert_ptr_equal(p, end);
    drv_free(&d);
    assert_int_equal(unlink(scratch_path("root/fresh.txt")), 0);
}

/* Last-Modified is the file's time as an IMF-fixdate, exactly as strftime
 * writes it: single-digit days and hours zero-padded, and so on. */
static void test_last_modified_is_the_files_time(void **state)
{
    (void)state;
    static const time_t times[] = {
        0,          /* Thu, 01 Jan 1970 00:00:00 GMT */
        946684799,  /* Fri, 31 Dec 1999 23:59:59 GMT */
        1709251205, /* Fri, 01 Mar 2024 00:00:05 GMT (after a leap day) */
        1796542869, /* a Sunday in 2026 */
    };
    static const char req[] = "GET /dated.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        const char *name = "root/dated.txt";
        scratch_write_text(name, "dated\n");
        struct timespec ts[2] = {{times[i], 0}, {times[i], 0}};
        assert_int_equal(utimensat(AT_FDCWD, scratch_path(name), ts, 0), 0);
        filecache_flush(fsroot_cache(root));
        struct drv d;
        struct resp r;
        drv_init(&d);
        drive(&d, req, strlen(req), false);
        const char *p = d.out;
        parse_resp(&p, d.out + d.len, false, &r);
        struct tm tm;
        char want[64];
        assert_non_null(gmtime_r(&times[i], &tm));
        strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        assert_string_equal(hdr(&r, "Last-Modified"), want);
        drv_free(&d);
        assert_int_equal(unlink(scratch_path(name)), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_file),
        cmocka_unit_test(test_head_file),
        cmocka_unit_test(test_big_file_sendfile),
        cmocka_unit_test(test_empty_file_and_index),
        cmocka_unit_test(test_dir_redirect),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_one_write_per_small_answer),
        cmocka_unit_test(test_fresh_after_change),
        cmocka_unit_test(test_last_modified_is_the_files_time),
    };
    return cmocka_run_group_tests(tests, http_fixture_setup, http_fixture_teardown);
}
