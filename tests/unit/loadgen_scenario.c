/* Unit tests for loadgen/scenario.c: the shipped scenario files parse, the
 * defaults, and every kind of bad file is refused with FILE:LINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/reqheader.h"
#include "scenario/scenario.h"
#include "test_util.h"

static char errbuf[1024];

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_scenario") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

/* Write text to SCRATCH/name and load it. */
static int load_text(const char *name, const char *text, struct lg_scenario *sc)
{
    const char *path = scratch_write_text(name, text);
    errbuf[0] = '\0';
    return scenario_load(path, sc, errbuf, sizeof errbuf);
}

/* The text must be refused with "SCRATCH/bad.ini:LINE: ...what...". */
static void expect_error(const char *text, int line, const char *what)
{
    struct lg_scenario sc;
    int rc = load_text("bad.ini", text, &sc);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s:%d: ", scratch_path("bad.ini"), line);
    if (rc != -1 || strncmp(errbuf, prefix, strlen(prefix)) != 0 || !strstr(errbuf, what)) {
        print_error("rc %d, message '%s', want '%s...%s'\n", rc, errbuf, prefix, what);
        fail();
    }
    assert_null(sc.steps);
    assert_int_equal(sc.nsteps, 0);
}

static void parses(const char *path)
{
    struct lg_scenario sc;
    if (scenario_load(path, &sc, errbuf, sizeof errbuf) != 0) {
        print_error("%s\n", errbuf);
        fail();
    }
    assert_true(sc.nsteps > 0);
    assert_true(sc.duration_s > 0 && sc.duration_s <= 10); /* short defaults */
    scenario_free(&sc);
}

static void test_shipped_files_parse(void **state)
{
    (void)state;
    assert_true(for_each_file(repo_path("scenarios"), ".ini", parses) >= 8);
}

static void test_http_mixed_contents(void **state)
{
    (void)state;
    const char *path = repo_path("scenarios/http-mixed.ini");
    struct lg_scenario sc;
    assert_int_equal(scenario_load(path, &sc, errbuf, sizeof errbuf), 0);
    assert_string_equal(sc.name, "http-mixed");
    assert_int_equal(sc.proto, LG_PROTO_HTTP);
    assert_true(sc.weighted);
    assert_int_equal(sc.nsteps, 9);
    int seen404 = 0, seenecho = 0, seenhead = 0;
    for (size_t i = 0; i < sc.nsteps; i++) {
        const struct lg_step *st = &sc.steps[i];
        assert_true(st->weight > 0);
        assert_true(st->line > 0);
        seen404 += st->expect_status == 404;
        seenecho += st->expect == LG_EXPECT_ECHO && st->body_size == 1024 &&
                    strcmp(st->method, "POST") == 0;
        seenhead += strcmp(st->method, "HEAD") == 0 && st->expect == LG_EXPECT_NONE;
    }
    assert_int_equal(seen404, 1);
    assert_int_equal(seenecho, 1);
    assert_int_equal(seenhead, 1);
    scenario_free(&sc);
}

static void test_defaults_and_syntax(void **state)
{
    (void)state;
    struct lg_scenario sc;
    const char *text = "\xEF\xBB\xBF; comment\r\n"
                       "[scenario]\r\n"
                       "  protocol = http   ; inline comment\r\n"
                       "# another comment\n"
                       "duration = 2.5s\n"
                       "\n"
                       "[step first]\n"
                       "path = /a\n"
                       "[ step  second one ]\n"
                       "  path = /b\n"
                       "  method = POST\n"
                       "  body_size = 10\n"
                       "  expect = echo\n"
                       "[step third]\n"
                       "path = /c\n"
                       "expect = hash\n"
                       "expect_length = 5\n"
                       "expect_hash = 0xDEADbeef01\n";
    assert_int_equal(load_text("my-test.ini", text, &sc), 0);
    assert_string_equal(sc.name, "my-test");
    assert_int_equal(sc.proto, LG_PROTO_HTTP);
    assert_true(sc.keepalive);
    assert_false(sc.weighted);
    assert_true(sc.duration_s == 2.5);
    assert_int_equal(sc.requests, 0);
    assert_int_equal(sc.connections, 0);
    assert_string_equal(sc.user, "anonymous");
    assert_int_equal(sc.nsteps, 3);
    assert_string_equal(sc.steps[0].name, "first");
    assert_string_equal(sc.steps[0].method, "GET");
    assert_int_equal(sc.steps[0].expect_status, 200);
    assert_int_equal(sc.steps[0].expect, LG_EXPECT_NONE);
    assert_int_equal(sc.steps[0].expect_length, -1);
    assert_int_equal(sc.steps[0].line, 7);
    assert_string_equal(sc.steps[1].name, "second one");
    assert_int_equal(sc.steps[1].line, 9);
    assert_int_equal(sc.steps[1].body_size, 10);
    assert_int_equal(sc.steps[2].expect_length, 5);
    assert_true(sc.steps[2].expect_hash == 0xdeadbeef01ULL);
    scenario_free(&sc);
    scenario_free(&sc); /* safe twice */
}

static void test_ftp_and_echo_defaults(void **state)
{
    (void)state;
    struct lg_scenario sc;
    assert_int_equal(load_text("f.ini",
                               "[scenario]\nname = f\nprotocol = ftp\nrequests = 100\n"
                               "keepalive = no\nuser = bob\npassword = secret\n"
                               "[step g]\nmethod = retr\npath = x\n[step l]\nmethod = NLST\n"
                               "path = ftp/\nexpect = listing\nexpect_names = a, b\n",
                               &sc),
                     0);
    assert_int_equal(sc.proto, LG_PROTO_FTP);
    assert_int_equal(sc.requests, 100);
    assert_false(sc.keepalive);
    assert_string_equal(sc.user, "bob");
    assert_string_equal(sc.password, "secret");
    assert_string_equal(sc.steps[0].method, "RETR");
    assert_int_equal(sc.steps[0].expect_status, 0);
    scenario_free(&sc);

    assert_int_equal(load_text("e.ini",
                               "[scenario]\nprotocol = echo\nconnections=100000\nthreads=1024\n"
                               "rate = 1000.5\ntimeout = 1\nwarmup = 0\n"
                               "[step x]\nbody_size = 64\nexpect = echo\n",
                               &sc),
                     0);
    assert_string_equal(sc.steps[0].method, "LINE");
    assert_int_equal(sc.connections, 100000);
    assert_int_equal(sc.threads, 1024);
    assert_true(sc.rate == 1000.5);
    scenario_free(&sc);
}

#define HTTP_HEAD "[scenario]\nprotocol = http\n"

static void test_bad_files(void **state)
{
    (void)state;
    expect_error(HTTP_HEAD "bogus = 1\n[step a]\npath = /\n", 3, "unknown key 'bogus'");
    expect_error(HTTP_HEAD "[step a]\npath = /\ncolour = red\n", 5, "unknown key 'colour'");
    expect_error(HTTP_HEAD "[steps a]\npath = /\n", 3, "unknown section");
    expect_error(HTTP_HEAD "[other]\n", 3, "unknown section");
    expect_error(HTTP_HEAD "connections = 12abc\n[step a]\npath = /\n", 3, "connections");
    expect_error(HTTP_HEAD "connections = 0\n[step a]\npath = /\n", 3, "connections");
    expect_error(HTTP_HEAD "connections = 100001\n", 3, "connections");
    expect_error(HTTP_HEAD "connections = -5\n", 3, "connections");
    expect_error(HTTP_HEAD "threads = 1025\n", 3, "threads");
    expect_error(HTTP_HEAD "duration = 0\n", 3, "duration");
    expect_error(HTTP_HEAD "duration = 5x\n", 3, "duration");
    expect_error(HTTP_HEAD "duration = nan\n", 3, "duration");
    expect_error(HTTP_HEAD "rate = -1\n", 3, "rate");
    expect_error(HTTP_HEAD "timeout = 0s\n", 3, "timeout");
    expect_error(HTTP_HEAD "keepalive = maybe\n", 3, "keepalive");
    expect_error("[scenario]\nprotocol = gopher\n", 2, "protocol");
    expect_error("\n[scenario]\nconnections = 1\n[step a]\npath = /\n", 2, "protocol is required");
    expect_error("[step a]\npath = /\n", 1, "no [scenario] section");
    expect_error(HTTP_HEAD "duration = 5\n", 1, "no steps");
    expect_error(HTTP_HEAD "duration = 5\nrequests = 10\n[step a]\npath=/\n", 4, "exclusive");
    expect_error(HTTP_HEAD "requests = 10\nduration = 5\n[step a]\npath=/\n", 4, "exclusive");
    expect_error(HTTP_HEAD "[step a]\npath = /\nweight = 1\n\n[step b]\npath = /\n", 7, "weight");
    expect_error(HTTP_HEAD "[step a]\npath = /\nweight = 0\n", 5, "weight");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect = file\n", 5, "expect_body");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect = hash\nexpect_hash = 12\n", 5,
                 "expect_length");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect = hash\nexpect_length = 1\n", 5,
                 "expect_hash");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect_body = x\n", 5, "only used with");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect = sometimes\n", 5, "expect");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect_hash = xyz\n", 5, "expect_hash");
    expect_error(HTTP_HEAD "[step a]\nmethod = HEAD\npath = /\nexpect = file\nexpect_body = x\n", 6,
                 "HEAD");
    expect_error(HTTP_HEAD "[step a]\nmethod = GE T\npath = /\n", 4, "token");
    expect_error(HTTP_HEAD "[step a]\nmethod = GET\n", 3, "path is required");
    expect_error(HTTP_HEAD "[step a]\npath = relative\n", 4, "start with '/'");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect_status = 42\n", 5, "expect_status");
    expect_error(HTTP_HEAD "[step a]\npath = /\nexpect = listing\nexpect_names = a\n", 5,
                 "listing");
    expect_error(HTTP_HEAD "[step a]\npath = /a\npath = /b\n", 5, "duplicate key");
    expect_error(HTTP_HEAD "[step a]\npath = /\n[step a]\npath = /\n", 5, "duplicate step");
    expect_error(HTTP_HEAD "[scenario]\n", 3, "duplicate [scenario]");
    expect_error(HTTP_HEAD "[step]\npath = /\n", 3, "step without a name");
    expect_error(HTTP_HEAD "[step a\npath = /\n", 3, "']'");
    expect_error(HTTP_HEAD "just some words\n", 3, "key = value");
    expect_error("protocol = http\n[scenario]\n", 1, "outside a section");
    expect_error("[scenario]\nprotocol = ftp\n[step a]\nmethod = GET\npath = x\n", 4, "FTP");
    expect_error("[scenario]\nprotocol = ftp\n[step a]\nmethod = STOR\npath = x\n"
                 "body_size = 5\nexpect = file\nexpect_body = a.txt\n",
                 7, "expect = echo");
    expect_error("[scenario]\nprotocol = ftp\n[step a]\nmethod = LIST\npath = x\n"
                 "expect = hash\nexpect_length = 1\nexpect_hash = 0\n",
                 6, "RETR");
    expect_error("[scenario]\nprotocol = ftp\n[step a]\nmethod = LIST\npath = x\n"
                 "body_size = 5\n",
                 6, "body_size");
    expect_error("[scenario]\nprotocol = echo\n[step a]\nmethod = GET\n", 4, "LINE");
    expect_error("[scenario]\nprotocol = echo\n[step a]\npath = /x\n", 4, "no path");
    expect_error("[scenario]\nprotocol = echo\n[step a]\nexpect = file\nexpect_body = x\n", 4,
                 "echo");
}

/* Numbers are parsed by common/units.h, as on the command line. */
static void test_units(void **state)
{
    (void)state;
    struct lg_scenario sc;
    assert_int_equal(load_text("u.ini",
                               "[scenario]\nprotocol = http\nduration = 2m\ntimeout = 250ms\n"
                               "warmup = 1.5s\nrate = 2.5k\nconnections = 1k\n"
                               "[step a]\npath = /\nmethod = POST\nbody_size = 64k\nweight = 2k\n",
                               &sc),
                     0);
    assert_true(sc.duration_s == 120.0);
    assert_true(sc.timeout_s == 0.25);
    assert_true(sc.warmup_s == 1.5);
    assert_true(sc.rate == 2500.0);
    assert_int_equal(sc.connections, 1000);
    assert_int_equal(sc.steps[0].body_size, 65536);
    assert_int_equal(sc.steps[0].weight, 2000);
    scenario_free(&sc);

    /* Every spelling accepted before units.h still is. */
    assert_int_equal(load_text("old.ini",
                               "[scenario]\nprotocol = http\nrequests = 10k\ntimeout = 5\n"
                               "warmup = .5\nrate = 1000/s\n[step a]\npath = /\nbody_size = 7\n",
                               &sc),
                     0);
    assert_int_equal(sc.requests, 10000);
    assert_true(sc.timeout_s == 5.0);
    assert_true(sc.warmup_s == 0.5);
    assert_true(sc.rate == 1000.0);
    assert_int_equal(sc.steps[0].body_size, 7);
    scenario_free(&sc);

    /* A bad value names the file, the line, the key, the value and the syntax. */
    expect_error(HTTP_HEAD "; a comment\n\nduration = 5x\n", 5,
                 "duration: bad value '5x' (a duration, e.g.");
    expect_error(HTTP_HEAD "timeout = 250xs\n", 3, "timeout: bad value '250xs'");
    expect_error(HTTP_HEAD "rate = 2.5q\n", 3, "rate: bad value '2.5q' (a rate per second");
    expect_error(HTTP_HEAD "requests = 1.5\n", 3, "requests: bad value '1.5' (a whole number");
    expect_error(HTTP_HEAD "warmup = 1e3\n", 3, "warmup");
    expect_error(HTTP_HEAD "[step a]\npath = /\nbody_size = 2G\n", 5, "body_size: bad value '2G'");
    expect_error(HTTP_HEAD "[step a]\npath = /\nbody_size = 1.3k\n", 5, "a size in bytes");
}

static void test_bad_lines(void **state)
{
    (void)state;
    char big[600];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    char text[800];
    snprintf(text, sizeof text, HTTP_HEAD "[step a]\npath = /%s\n", big);
    expect_error(text, 4, "too long");
    /* The limit is exact: 198 characters pass, 199 do not. */
    struct lg_scenario ok;
    big[190] = '\0'; /* "path = /" + 190 = 198 */
    snprintf(text, sizeof text, HTTP_HEAD "[step a]\npath = /%s\n", big);
    assert_int_equal(load_text("limit.ini", text, &ok), 0);
    assert_int_equal(strlen(ok.steps[0].path), 191);
    scenario_free(&ok);
    big[190] = 'x';
    big[191] = '\0';
    snprintf(text, sizeof text, HTTP_HEAD "[step a]\npath = /%s\n", big);
    expect_error(text, 4, "at most 198");

    char nul[] = HTTP_HEAD "name = a\0b\n[step a]\npath = /\n";
    const char *path = scratch_write("nul.ini", nul, sizeof nul - 1);
    struct lg_scenario sc;
    assert_int_equal(scenario_load(path, &sc, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, ":3: NUL"));
}

/* host and header (reqheader.c): kept in file order, normalised, checked. */
static void test_headers(void **state)
{
    (void)state;
    struct lg_scenario sc;
    assert_int_equal(load_text("h.ini",
                               HTTP_HEAD "[step a]\npath = /api?id=7\nhost = shop.example:8443\n"
                                         "header = Accept: application/json\n"
                                         "header = X-Trace:   a\tb  \n"
                                         "header = X-Trace: second\n"
                                         "[step b]\npath = /\n",
                               &sc),
                     0);
    const struct lg_step *a = &sc.steps[0];
    assert_string_equal(a->host, "shop.example:8443");
    assert_int_equal(a->nheaders, 3);
    const char *h = reqheader_first(a);
    assert_string_equal(h, "Accept: application/json");
    h = reqheader_next(a, h);
    assert_string_equal(h, "X-Trace: a\tb");
    h = reqheader_next(a, h);
    assert_string_equal(h, "X-Trace: second");
    assert_null(reqheader_next(a, h));
    assert_string_equal(sc.steps[1].host, "");
    assert_null(reqheader_first(&sc.steps[1]));
    scenario_free(&sc);

    /* The limits are exact: LG_HEADERS_MAX headers pass, one more does not. */
    char text[4096];
    int n = snprintf(text, sizeof text, HTTP_HEAD "[step a]\npath = /\n");
    for (int i = 0; i < LG_HEADERS_MAX; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "header = X-N%d: %d\n", i, i);
    assert_int_equal(load_text("max.ini", text, &sc), 0);
    assert_int_equal(sc.steps[0].nheaders, LG_HEADERS_MAX);
    scenario_free(&sc);
    snprintf(text + n, sizeof text - (size_t)n, "header = X-One-More: 1\n");
    expect_error(text, 5 + LG_HEADERS_MAX, "too many headers");

    /* Bytes in all: 16 headers of 150 characters are more than 2048. */
    char big[151];
    memset(big, 'v', 150);
    big[150] = '\0';
    n = snprintf(text, sizeof text, HTTP_HEAD "[step a]\npath = /\n");
    for (int i = 0; i < 14; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "header = X-%d: %s\n", i, big);
    expect_error(text, 18, "too long"); /* the 14th: 13 x 157 bytes fit */

    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = NoColon\n", 5, "Name: value");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = : v\n", 5, "Name: value");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = X A: v\n", 5, "not an HTTP token");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = X-A : v\n", 5, "no space");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = X-A(b): v\n", 5, "token");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = X-A:\n", 5, "empty value");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = X-A: a\rb\n", 5, "control");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = X-A: a\x01\n", 5, "control");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = host: x\n", 5, "host = ");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = Content-Length: 5\n", 5, "body_size");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = TRANSFER-ENCODING: chunked\n", 5,
                 "body_size");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = Connection: close\n", 5, "keepalive");
    expect_error(HTTP_HEAD "[step a]\npath = /\nheader = Expect: 100-continue\n", 5, "Expect");
    expect_error(HTTP_HEAD "[step a]\npath = /\nhost = a b\n", 5, "host: 'a b' is not");
    expect_error(HTTP_HEAD "[step a]\npath = /\nhost = a/b\n", 5, "host");
    expect_error(HTTP_HEAD "[step a]\npath = /\nhost = a\nhost = b\n", 6, "duplicate key 'host'");
    expect_error("[scenario]\nprotocol = ftp\n[step a]\npath = x\nheader = X-A: 1\n", 5,
                 "header is for HTTP");
    expect_error("[scenario]\nprotocol = echo\n[step a]\nhost = h\n", 4, "host is for HTTP");
}

static void test_unreadable(void **state)
{
    (void)state;
    struct lg_scenario sc;
    const char *path = scratch_path("does-not-exist.ini");
    assert_int_equal(scenario_load(path, &sc, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "does-not-exist.ini"));
    assert_int_equal(scenario_load(scratch_dir(), &sc, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "not a regular file"));
    /* An empty file: no [scenario]. */
    expect_error("", 1, "no [scenario]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_files_parse),
        cmocka_unit_test(test_http_mixed_contents),
        cmocka_unit_test(test_defaults_and_syntax),
        cmocka_unit_test(test_ftp_and_echo_defaults),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
