/* Unit tests for `loadgen run URL`: the URL parser and the one-step
 * scenario (loadgen/scenario/urlscenario.c), the scenario file written by
 * --save-scenario (scenario_save.c) read back the same, and the new keys
 * (expect = same | sha256, expect_status = 2xx, body_file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "http/check.h"
#include "http/reqheader.h"
#include "http/sha256.h"
#include "scenario/scenario.h"
#include "scenario/scenario_save.h"
#include "scenario/urlscenario.h"
#include "scenario/values.h"
#include "test_util.h"

static char errbuf[1024];

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_url") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

/* ---- url_parse ---------------------------------------------------------- */

static void parses(const char *url, enum lg_proto proto, const char *host, const char *port,
                   const char *path)
{
    struct lg_url u;
    errbuf[0] = '\0';
    if (url_parse(url, &u, errbuf, sizeof errbuf) != 0) {
        print_error("%s: %s\n", url, errbuf);
        fail();
    }
    assert_int_equal(u.proto, proto);
    assert_string_equal(u.host, host);
    assert_string_equal(u.port, port);
    assert_string_equal(u.path, path);
}

static void refused(const char *url, const char *why)
{
    struct lg_url u;
    errbuf[0] = '\0';
    int rc = url_parse(url, &u, errbuf, sizeof errbuf);
    if (rc != -1 || !strstr(errbuf, why) || strchr(errbuf, '\n')) {
        print_error("%s: rc %d, message '%s', want '%s'\n", url, rc, errbuf, why);
        fail();
    }
}

static void test_good_urls(void **state)
{
    (void)state;
    parses("http://127.0.0.1:8080/small.txt", LG_PROTO_HTTP, "127.0.0.1", "8080", "/small.txt");
    parses("http://example.org", LG_PROTO_HTTP, "example.org", "80", "/");
    parses("HTTP://Example.org:1/", LG_PROTO_HTTP, "Example.org", "1", "/");
    parses("http://h:65535/a/b?x=1&y=%20z", LG_PROTO_HTTP, "h", "65535", "/a/b?x=1&y=%20z");
    parses("http://h?q=1", LG_PROTO_HTTP, "h", "80", "/?q=1");
    parses("http://h/p#frag", LG_PROTO_HTTP, "h", "80", "/p");
    parses("http://[::1]:8080/", LG_PROTO_HTTP, "::1", "8080", "/");
    parses("http://[2001:db8::7]/x", LG_PROTO_HTTP, "2001:db8::7", "80", "/x");
    parses("http://[::ffff:127.0.0.1]:9/", LG_PROTO_HTTP, "::ffff:127.0.0.1", "9", "/");
    parses("ftp://127.0.0.1:2121/hello.txt", LG_PROTO_FTP, "127.0.0.1", "2121", "/hello.txt");
    parses("ftp://h", LG_PROTO_FTP, "h", "21", "/");
    parses("ftp://h/dir/", LG_PROTO_FTP, "h", "21", "/dir/");
    parses("ftp://h/my%20file.txt", LG_PROTO_FTP, "h", "21", "/my file.txt");
    parses("ftp://[::1]:21/a", LG_PROTO_FTP, "::1", "21", "/a");
    struct lg_url u;
    assert_int_equal(url_parse("ftp://us%40er:p%3A@ss@h:2/f", &u, errbuf, sizeof errbuf), 0);
    assert_string_equal(u.user, "us@er");
    assert_string_equal(u.password, "p:@ss"); /* the last '@' ends the user part */
    assert_string_equal(u.host, "h");
    assert_int_equal(url_parse("ftp://anna@h/f", &u, errbuf, sizeof errbuf), 0);
    assert_string_equal(u.user, "anna");
    assert_string_equal(u.password, "");
    char target[300];
    assert_int_equal(url_parse("http://[::1]:81/", &u, errbuf, sizeof errbuf), 0);
    url_target(&u, target, sizeof target);
    assert_string_equal(target, "[::1]:81");
    assert_int_equal(url_parse("http://localhost/", &u, errbuf, sizeof errbuf), 0);
    url_target(&u, target, sizeof target);
    assert_string_equal(target, "localhost:80");
}

static void test_bad_urls(void **state)
{
    (void)state;
    refused("gopher://h/", "unknown scheme 'gopher'");
    refused("://h/", "unknown scheme ''");
    refused("h:80/x", "not a URL");
    refused("https://h/", "https:// is not supported");
    refused("ftps://h/", "no TLS");
    refused("http:///x", "no host");
    refused("http://", "no host");
    refused("http://:80/", "no host");
    refused("http://h:/", "bad port ''");
    refused("http://h:0/", "bad port '0'");
    refused("http://h:65536/", "bad port '65536'");
    refused("http://h:99999999999999999999/", "bad port");
    refused("http://h:8x/", "bad port '8x'");
    refused("http://h:-1/", "bad port '-1'");
    refused("http://h:+80/", "bad port '+80'");
    refused("http://[::1/", "without ']'");
    refused("http://[]/", "is not an IPv6 address");
    refused("http://[localhost]/", "is not an IPv6 address");
    refused("http://[::1]x/", "junk after the IPv6 address");
    refused("http://::1:80/", "goes in brackets");
    refused("http://ho st/", "bad host");
    refused("http://h%41/", "bad host");
    refused("http://u:p@h/", "no user:password in an http:// URL");
    refused("ftp://@h/", "empty user name");
    refused("ftp://u%zz@h/", "bad %-escape");
    refused("ftp://h/a%0d%0aDELE%20x", "control character");
    refused("ftp://h/a%2", "bad %-escape");
    refused("ftp://h/a?b", "no '?query'");
    refused("http://h/a b", "space or control character");
    refused("http://h/a\tb", "space or control character");
    char long_url[LG_PATH_MAX + 64];
    snprintf(long_url, sizeof long_url, "http://h/%0*d", LG_PATH_MAX, 0);
    refused(long_url, "too long");
}

/* ---- url_scenario --------------------------------------------------------- */

static int make(const char *url, const struct url_request *rq, struct lg_scenario *sc, char *target)
{
    errbuf[0] = '\0';
    return url_scenario(url, rq, sc, target, 300, errbuf, sizeof errbuf);
}

static void test_one_step_scenario(void **state)
{
    (void)state;
    struct lg_scenario sc;
    char target[300];
    struct url_request rq = {0};
    assert_int_equal(make("http://127.0.0.1:8080/small.txt", &rq, &sc, target), 0);
    assert_string_equal(target, "127.0.0.1:8080");
    assert_int_equal(sc.proto, LG_PROTO_HTTP);
    assert_int_equal(sc.nsteps, 1);
    assert_true(sc.keepalive);
    assert_string_equal(sc.name, "GET /small.txt");
    const struct lg_step *st = &sc.steps[0];
    assert_string_equal(st->method, "GET");
    assert_string_equal(st->path, "/small.txt");
    assert_int_equal(st->expect, LG_EXPECT_SAME); /* the consistency check by default */
    assert_int_equal(st->expect_length, -1);      /* the verify pass takes it */
    assert_int_equal(st->expect_status, 0);       /* any 2xx */
    assert_null(st->body);
    scenario_free(&sc);

    rq.method = "HEAD";
    assert_int_equal(make("http://h/", &rq, &sc, target), 0);
    assert_int_equal(sc.steps[0].expect, LG_EXPECT_NONE); /* no body to compare */
    scenario_free(&sc);

    rq = (struct url_request){.check = URL_CHECK_NONE, .expect_status = 404};
    assert_int_equal(make("http://h/", &rq, &sc, target), 0);
    assert_int_equal(sc.steps[0].expect, LG_EXPECT_NONE);
    assert_int_equal(sc.steps[0].expect_status, 404);
    scenario_free(&sc);

    rq = (struct url_request){0};
    assert_int_equal(make("ftp://anna:pw@h:2121/pub/", &rq, &sc, target), 0);
    assert_int_equal(sc.proto, LG_PROTO_FTP);
    assert_string_equal(sc.steps[0].method, "LIST");
    assert_string_equal(sc.user, "anna");
    assert_string_equal(sc.password, "pw");
    assert_string_equal(target, "h:2121");
    scenario_free(&sc);
    assert_int_equal(make("ftp://h/f.bin", &rq, &sc, target), 0);
    assert_string_equal(sc.steps[0].method, "RETR");
    assert_string_equal(sc.user, "anonymous");
    assert_string_equal(sc.password, "anonymous@");
    scenario_free(&sc);
    rq.method = "nlst";
    assert_int_equal(make("ftp://h/d/", &rq, &sc, target), 0);
    assert_string_equal(sc.steps[0].method, "NLST");
    scenario_free(&sc);
}

static void test_headers(void **state)
{
    (void)state;
    struct lg_scenario sc;
    char target[300];
    const char *h[] = {"X-One: 1", "Accept:  text/plain ", "Host: shop.example",
                       "Connection: close"};
    struct url_request rq = {.headers = h, .nheaders = 4};
    assert_int_equal(make("http://[::1]:81/", &rq, &sc, target), 0);
    const struct lg_step *st = &sc.steps[0];
    assert_int_equal(st->nheaders, 2);
    assert_string_equal(reqheader_first(st), "X-One: 1");
    assert_string_equal(reqheader_next(st, reqheader_first(st)), "Accept: text/plain");
    assert_string_equal(st->host, "shop.example");
    assert_false(sc.keepalive);
    scenario_free(&sc);

    const char *bad[][2] = {
        {"NoColon", "not 'Name: value'"},
        {"Content-Length: 5", "loadgen's own header"},
        {"Connection: upgrade", "loadgen's own header"},
        {"X-A:", "empty value"},
        {"Bad Name: x", "not an HTTP token"},
        {"Host: a b", "not a host name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rq = (struct url_request){.headers = &bad[i][0], .nheaders = 1};
        if (make("http://h/", &rq, &sc, target) != -1 || !strstr(errbuf, bad[i][1]) ||
            strncmp(errbuf, "-H", 2) != 0) {
            print_error("-H '%s': '%s', want '%s'\n", bad[i][0], errbuf, bad[i][1]);
            fail();
        }
        assert_null(sc.steps);
    }
    rq = (struct url_request){.headers = h, .nheaders = 1};
    assert_int_equal(make("ftp://h/f", &rq, &sc, target), -1);
    assert_non_null(strstr(errbuf, "-H is for http://"));
}

static void test_methods_bodies_and_checks(void **state)
{
    (void)state;
    struct lg_scenario sc;
    char target[300];
    const char *file = scratch_write_text("body.json", "{\"a\": 1}\n");
    struct url_request rq = {.body = file};
    assert_int_equal(make("http://h/api", &rq, &sc, target), 0);
    const struct lg_step *st = &sc.steps[0];
    assert_string_equal(st->method, "POST"); /* a body without -m: POST, as curl -d */
    assert_int_equal(st->body_size, 9);
    assert_memory_equal(st->body, "{\"a\": 1}\n", 9);
    assert_int_equal(st->body_file[0], '/'); /* saved as an absolute path */
    scenario_free(&sc);
    rq.method = "PUT";
    assert_int_equal(make("http://h/api", &rq, &sc, target), 0);
    assert_string_equal(sc.steps[0].method, "PUT");
    scenario_free(&sc);

    struct {
        const char *url;
        struct url_request rq;
        const char *why;
    } bad[] = {
        {"http://h/", {.method = "GE T"}, "not an HTTP method"},
        {"http://h/", {.method = "HEAD", .body = file}, "HEAD request sends no --body"},
        {"http://h/", {.body = "/nonexistent/body"}, "--body /nonexistent/body"},
        {"ftp://h/f", {.method = "STOR"}, "RETR, LIST or NLST"},
        {"ftp://h/f", {.body = file}, "--body is for http://"},
        {"ftp://h/d/", {.check = URL_CHECK_BODY, .expect_body = file}, "not a file's bytes"},
        {"http://h/", {.check = URL_CHECK_SHA256, .expect_sha256 = "abc"}, "not 64 hex digits"},
        {"http://h/", {.check = URL_CHECK_BODY, .expect_body = "/nonexistent"}, "--expect-body"},
        {"http://h/", {.method = "HEAD", .check = URL_CHECK_SHA256, .expect_sha256 = "x"}, "HEAD"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (make(bad[i].url, &bad[i].rq, &sc, target) != -1 || !strstr(errbuf, bad[i].why)) {
            print_error("case %zu: '%s', want '%s'\n", i, errbuf, bad[i].why);
            fail();
        }
    }

    rq = (struct url_request){.check = URL_CHECK_BODY, .expect_body = file};
    assert_int_equal(make("http://h/", &rq, &sc, target), 0);
    assert_int_equal(sc.steps[0].expect, LG_EXPECT_HASH);
    assert_int_equal(sc.steps[0].expect_length, 9);
    assert_true(sc.steps[0].expect_hash == XXH64("{\"a\": 1}\n", 9, 0));
    scenario_free(&sc);

    const char *hex = "D9014C4624844AA5BAC314773D6B689AD467FA4E1D1A50A1B8A99D5A95F72FF5";
    rq = (struct url_request){.check = URL_CHECK_SHA256, .expect_sha256 = hex};
    assert_int_equal(make("http://h/", &rq, &sc, target), 0);
    assert_int_equal(sc.steps[0].expect, LG_EXPECT_SHA256);
    assert_int_equal(sc.steps[0].expect_sha256[0], 0xd9);
    assert_int_equal(sc.steps[0].expect_sha256[31], 0xf5);
    char words[600];
    check_describe(&sc.steps[0], sc.proto, words, sizeof words);
    assert_non_null(strstr(words, "sha256 d9014c4624844aa5"));
    scenario_free(&sc);
}

static void test_sha256_and_values(void **state)
{
    (void)state;
    struct sha256 *s = sha256_new();
    assert_non_null(s);
    unsigned char d[32];
    char hex[65];
    sha256_update(s, "hello, world\n", 13);
    sha256_final(s, d);
    sha256_hex(d, hex);
    assert_string_equal(hex, "853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020");
    sha256_reset(s);
    sha256_final(s, d); /* the empty string */
    sha256_hex(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_free(s);
    unsigned char out[32];
    assert_int_equal(value_sha256(hex, out), 0);
    assert_int_equal(value_sha256("e3b0", out), -1);
    assert_int_equal(
        value_sha256("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", out), -1);
    uint64_t v;
    assert_int_equal(value_hex64("0xff", &v), 0);
    assert_int_equal(v, 255);
    assert_int_equal(value_hex64("12345678901234567", &v), -1);
    bool b;
    assert_int_equal(value_bool("Yes", &b), 0);
    assert_true(b);
    assert_int_equal(value_u64("200", 100, 599, &v), 0);
    assert_int_equal(value_u64("99", 100, 599, &v), -1);
}

/* ---- --save-scenario: written, read back the same ------------------------ */

static void same_step(const struct lg_step *a, const struct lg_step *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->method, b->method);
    assert_string_equal(a->path, b->path);
    assert_int_equal(a->body_size, b->body_size);
    assert_int_equal(a->weight, b->weight);
    assert_int_equal(a->expect_status, b->expect_status);
    assert_int_equal(a->expect, b->expect);
    assert_string_equal(a->expect_body, b->expect_body);
    assert_string_equal(a->expect_names, b->expect_names);
    assert_int_equal(a->expect_length, b->expect_length);
    if (a->expect_length >= 0) assert_true(a->expect_hash == b->expect_hash);
    assert_string_equal(a->host, b->host);
    assert_int_equal(a->headers_len, b->headers_len);
    assert_memory_equal(a->headers, b->headers, a->headers_len);
    assert_memory_equal(a->expect_sha256, b->expect_sha256, 32);
    assert_string_equal(a->body_file, b->body_file);
    assert_true((a->body == NULL) == (b->body == NULL));
    if (a->body) assert_memory_equal(a->body, b->body, a->body_size);
}

static void same_scenario(const struct lg_scenario *a, const struct lg_scenario *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->threads, b->threads);
    assert_int_equal(a->connections, b->connections);
    assert_true(a->duration_s == b->duration_s);
    assert_int_equal(a->requests, b->requests);
    assert_true(a->rate == b->rate);
    assert_int_equal(a->keepalive, b->keepalive);
    assert_true(a->timeout_s == b->timeout_s);
    assert_true(a->warmup_s == b->warmup_s);
    assert_int_equal(a->weighted, b->weighted);
    if (a->proto == LG_PROTO_FTP) {
        assert_string_equal(a->user, b->user);
        assert_string_equal(a->password, b->password);
    }
    assert_int_equal(a->nsteps, b->nsteps);
    for (size_t i = 0; i < a->nsteps; i++)
        same_step(&a->steps[i], &b->steps[i]);
}

/* Save sc, load the file, compare. */
static void round_trip(const struct lg_scenario *sc)
{
    const char *path = scratch_path("saved.ini");
    if (scenario_save(sc, path, "a comment\nof two lines", errbuf, sizeof errbuf) != 0) {
        print_error("save: %s\n", errbuf);
        fail();
    }
    struct lg_scenario back;
    if (scenario_load(path, &back, errbuf, sizeof errbuf) != 0) {
        print_error("load: %s\n", errbuf);
        fail();
    }
    same_scenario(sc, &back);
    scenario_free(&back);
}

static void test_save_url_scenarios(void **state)
{
    (void)state;
    const char *file = scratch_write_text("up.bin", "payload bytes");
    const char *h[] = {"X-Trace: on", "Authorization: Bearer a=b;c", "Host: v.example",
                       "Connection: close"};
    struct {
        const char *url;
        struct url_request rq;
    } cases[] = {
        {"http://127.0.0.1:8080/small.txt", {0}},
        {"http://[::1]:8080/q?a=1&b=%20", {.headers = h, .nheaders = 4, .expect_status = 201}},
        {"http://h/api", {.method = "PUT", .body = file, .check = URL_CHECK_NONE}},
        {"http://h/f", {.check = URL_CHECK_BODY, .expect_body = file}},
        {"http://h/f",
         {.check = URL_CHECK_SHA256,
          .expect_sha256 = "853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020"}},
        {"ftp://anna:s3cret@h:2121/pub/", {0}},
        {"ftp://h/pub/f.bin", {.expect_status = 226}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lg_scenario sc;
        char target[300];
        if (make(cases[i].url, &cases[i].rq, &sc, target) != 0) {
            print_error("%s: %s\n", cases[i].url, errbuf);
            fail();
        }
        sc.connections = 64; /* as main.c puts the command line's numbers in */
        sc.threads = 2;
        sc.duration_s = 0.3;
        sc.rate = 2500.5;
        sc.timeout_s = 0.25;
        round_trip(&sc);
        scenario_free(&sc);
    }
}

static void save_and_reload(const char *path)
{
    struct lg_scenario sc;
    if (scenario_load(path, &sc, errbuf, sizeof errbuf) != 0) {
        print_error("%s\n", errbuf);
        fail();
    }
    round_trip(&sc);
    scenario_free(&sc);
}

static void test_save_shipped_scenarios(void **state)
{
    (void)state;
    assert_true(for_each_file(repo_path("scenarios"), ".ini", save_and_reload) > 3);
}

static void test_save_refuses_what_a_file_cannot_hold(void **state)
{
    (void)state;
    struct lg_scenario sc;
    char target[300];
    const char *h[] = {"X-A: a ;b"};
    struct url_request rq = {.headers = h, .nheaders = 1};
    assert_int_equal(make("http://h/", &rq, &sc, target), 0);
    assert_int_equal(scenario_save(&sc, scratch_path("x.ini"), NULL, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "comment"));
    assert_false(scratch_exists("x.ini")); /* nothing half-written */
    scenario_free(&sc);
    char url[400];
    snprintf(url, sizeof url, "http://h/%0250d", 7);
    rq = (struct url_request){0};
    assert_int_equal(make(url, &rq, &sc, target), 0);
    assert_int_equal(scenario_save(&sc, scratch_path("x.ini"), NULL, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "longer than a scenario file's line"));
    scenario_free(&sc);
}

static void test_new_scenario_keys(void **state)
{
    (void)state;
    scratch_write_text("b.bin", "0123456789");
    const char *path = scratch_write_text(
        "keys.ini", "[scenario]\nprotocol = http\n[step a]\npath = /\nexpect = same\n"
                    "expect_status = 2xx\n[step b]\nmethod = POST\npath = /echo\n"
                    "body_file = b.bin\nexpect = echo\n[step c]\npath = /\nexpect = sha256\n"
                    "expect_sha256 = "
                    "853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020\n");
    struct lg_scenario sc;
    if (scenario_load(path, &sc, errbuf, sizeof errbuf) != 0) {
        print_error("%s\n", errbuf);
        fail();
    }
    assert_int_equal(sc.steps[0].expect, LG_EXPECT_SAME);
    assert_int_equal(sc.steps[0].expect_status, 0);
    assert_int_equal(sc.steps[1].body_size, 10); /* found beside the scenario file */
    assert_memory_equal(sc.steps[1].body, "0123456789", 10);
    assert_int_equal(check_prepare(&sc, NULL, errbuf, sizeof errbuf), 0);
    assert_int_equal(sc.steps[1].expect_length, 10);
    assert_true(sc.steps[1].expect_hash == XXH64("0123456789", 10, 0));
    assert_int_equal(sc.steps[2].expect, LG_EXPECT_SHA256);
    scenario_free(&sc);

    const char *bad[][2] = {
        {"[step a]\npath = /\nexpect_sha256 = 00\n", "expect_sha256: bad value"},
        {"[step a]\npath = /\nexpect = sha256\n", "expect = sha256 requires expect_sha256"},
        {"[step a]\npath = /\nexpect = same\nexpect_length = 3\n", "only used with expect = hash"},
        {"[step a]\npath = /\nbody_file = nonexistent.bin\n", "body_file: "},
        {"[step a]\npath = /\nbody_file = b.bin\nbody_size = 3\n", "without body_size"},
        {"[step a]\npath = /\nexpect_status = 3xx\n", "expect_status: bad value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "[scenario]\nprotocol = http\n%s", bad[i][0]);
        path = scratch_write_text("bad.ini", text);
        if (scenario_load(path, &sc, errbuf, sizeof errbuf) != -1 || !strstr(errbuf, bad[i][1])) {
            print_error("case %zu: '%s', want '%s'\n", i, errbuf, bad[i][1]);
            fail();
        }
    }
    /* a listing may be checked for consistency, not against a given hash */
    path = scratch_write_text("ls.ini", "[scenario]\nprotocol = ftp\n[step l]\nmethod = LIST\n"
                                        "path = /\nexpect = same\n");
    assert_int_equal(scenario_load(path, &sc, errbuf, sizeof errbuf), 0);
    scenario_free(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_one_step_scenario),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_methods_bodies_and_checks),
        cmocka_unit_test(test_sha256_and_values),
        cmocka_unit_test(test_save_url_scenarios),
        cmocka_unit_test(test_save_shipped_scenarios),
        cmocka_unit_test(test_save_refuses_what_a_file_cannot_hold),
        cmocka_unit_test(test_new_scenario_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
