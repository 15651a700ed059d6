/* Unit tests of the HTTP session (servers/core/http.c), driven in memory the
 * way a model drives it: ACT_WRITE / ACT_SENDFILE go into a buffer. */
#include "bsd_ext.h" /* timegm: BSD, not POSIX 2008 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bufpool.h"
#include "conn.h"
#include "filecache.h"
#include "fsroot.h"
#include "http.h"
#include "http_fake.h"
#include "http_request.h"
#include "test_util.h"

/* ---- tests -------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        int status;
        bool closes;
    } cases[] = {
        {"GET /a.txt HTTP/1.1\r\n\r\n", 400, true}, /* no Host */
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, true},
        {"GET /a.txt HTTP/1.1\r\nHost : x\r\n\r\n", 400, true},              /* space before ':' */
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400, true}, /* obs-fold */
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, true},
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400,
         true},
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, true},
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n", 400, true},
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, true},
        {"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, true},
        {"GET  /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
        {"GET /a.txt\r\n\r\n", 400, true},
        {"GET /a.txt HTTP/1.1 x\r\nHost: x\r\n\r\n", 400, true},
        {"GET /a.txt HTTX/1.1\r\nHost: x\r\n\r\n", 400, true},
        {"GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
        {"GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n", 505, true},
        {"GET /a.txt HTTP/1.2\r\nHost: x\r\n\r\n", 505, true},
        {"BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501, true},
        {"get /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501, true},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501,
         true},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", 413, true},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
         true},
        {"POST /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
        {"PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405, false},
        {"DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
        {"PATCH /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
        {"OPTIONS /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
        {"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
        {"POST /time HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
        {"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, false},
        {"GET /../a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 403, false},
        {"GET /a.txt HTTP/1.0\r\n\r\n", 200, true}, /* 1.0 needs no Host, closes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool closed;
        int st = status_close(cases[i].req, &closed);
        if (st != cases[i].status || closed != cases[i].closes)
            fail_msg("case %zu: status %d closed %d, want %d %d", i, st, closed, cases[i].status,
                     cases[i].closes);
    }
}

/* The parser's character classes, every byte (RFC 9110 5.6.2 tchar for
 * methods and header names; 5.5 field values: VCHAR, obs-text, SP, HTAB). */
static bool rfc_tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void test_parser_character_classes(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        if (c == '\r' || c == '\n') continue; /* they end lines */
        char head[128];
        struct http_req r;
        int n = snprintf(head, sizeof head, "G%cT / HTTP/1.1\r\nHost: x\r\n\r\n", c);
        assert_int_equal(http_parse_request(head, (size_t)n, &r) == 0, rfc_tchar(c));
        n = snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: x\r\nX%cY: 1\r\n\r\n", c);
        bool name = rfc_tchar(c) || c == ':'; /* "X:Y: 1": the name is X */
        assert_int_equal(http_parse_request(head, (size_t)n, &r) == 0, name);
        n = snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: x\r\nX: a%cb\r\n\r\n", c);
        bool field = (c > 0x20 && c < 0x7f) || c >= 0x80 || c == ' ' || c == '\t';
        assert_int_equal(http_parse_request(head, (size_t)n, &r) == 0, field);
        n = snprintf(head, sizeof head, "GET /a%cb HTTP/1.1\r\nHost: x\r\n\r\n", c);
        bool target = (c > 0x20 && c < 0x7f) || c >= 0x80;
        assert_int_equal(http_parse_request(head, (size_t)n, &r) == 0, target);
    }
    /* header names the session acts on match whatever their case */
    struct http_req r;
    const char *h = "GET / HTTP/1.1\r\nhOST: x\r\ncontent-LENGTH: 12\r\nCONNECTION: Close\r\n\r\n";
    assert_int_equal(http_parse_request(h, strlen(h), &r), 0);
    assert_true(r.has_host && r.has_cl && r.cl == 12 && r.conn_close);
    h = "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"; /* two Hosts */
    assert_int_equal(http_parse_request(h, strlen(h), &r), 400);
    h = "GET / HTTP/1.1\r\nHost: x\r\nTransfer-encoding: chunked\r\n\r\n";
    assert_int_equal(http_parse_request(h, strlen(h), &r), 501);
    h = "GET / HTTP/1.1\r\nHostx: x\r\n\r\n"; /* not Host */
    assert_int_equal(http_parse_request(h, strlen(h), &r), 400);
}

static void test_405_allow(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
    only_resp(&d, false, &r);
    assert_string_equal(hdr(&r, "Allow"), "GET, HEAD");
    expect_body(&r, "405 Method Not Allowed\n");
    assert_string_equal(hdr(&r, "Content-Type"), "text/plain");
    drv_free(&d);
}

static void test_oversize_head(void **state)
{
    (void)state;
    static char req[HTTP_HEAD_MAX * 2];
    /* Headers over the cap: 431 */
    int n = snprintf(req, sizeof req, "GET /a.txt HTTP/1.1\r\nHost: x\r\nX: ");
    memset(req + n, 'a', HTTP_HEAD_MAX);
    strcpy(req + n + HTTP_HEAD_MAX, "\r\n\r\n");
    bool closed;
    assert_int_equal(status_close(req, &closed), 431);
    assert_true(closed);
    /* A request line over the cap: 414 */
    n = snprintf(req, sizeof req, "GET /");
    memset(req + n, 'a', HTTP_HEAD_MAX);
    strcpy(req + n + HTTP_HEAD_MAX, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(status_close(req, &closed), 414);
    assert_true(closed);
    /* Exactly at the cap is fine. */
    const char *pre = "GET /a.txt HTTP/1.1\r\nHost: x\r\nX: ";
    n = (int)strlen(pre);
    memcpy(req, pre, (size_t)n);
    size_t fill = HTTP_HEAD_MAX - (size_t)n - 4;
    memset(req + n, 'b', fill);
    strcpy(req + n + fill, "\r\n\r\n");
    assert_int_equal(strlen(req), HTTP_HEAD_MAX);
    assert_int_equal(status_close(req, &closed), 200);
    assert_false(closed);
}

static void test_keepalive_rules(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    bool closed;
    /* HTTP/1.0 with keep-alive: stays open and says so. */
    run1(&d, "GET /a.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false);
    only_resp(&d, false, &r);
    assert_false(d.closed);
    assert_string_equal(hdr(&r, "Connection"), "keep-alive");
    drv_free(&d);
    /* HTTP/1.0 plain: closes. */
    assert_int_equal(status_close("GET /a.txt HTTP/1.0\r\n\r\n", &closed), 200);
    assert_true(closed);
    /* HTTP/1.1 Connection: close: says close, closes. */
    assert_int_equal(
        status_close("GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n", &closed),
        200);
    assert_true(closed);
    /* HTTP/1.1 default: stays. */
    assert_int_equal(status_close("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", &closed), 200);
    assert_false(closed);
    /* Requests after Connection: close are not answered. */
    run1(&d,
         "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
         "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
         false);
    only_resp(&d, false, &r);
    assert_true(d.closed);
    drv_free(&d);
}

/* server_ctx.one_request (the iterative model): every answer closes. */
static void test_one_request(void **state)
{
    (void)state;
    bool closed;
    ctx.one_request = true;
    int status = status_close("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", &closed);
    struct drv d;
    struct resp r;
    run1(&d, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
    ctx.one_request = false;
    assert_int_equal(status, 200);
    assert_true(closed);
    only_resp(&d, false, &r); /* the pipelined second request is not answered */
    assert_string_equal(hdr(&r, "Connection"), "close");
    assert_true(d.closed);
    drv_free(&d);
}

static void check_time(const struct resp *r)
{
    assert_int_equal(r->status, 200);
    assert_string_equal(hdr(r, "Content-Type"), "text/plain");
    assert_int_equal(r->blen, 21);
    char body[32];
    memcpy(body, r->body, r->blen);
    body[r->blen] = '\0';
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, body, 0, NULL, 0), 0);
    regfree(&re);
    /* Within a few seconds of now. */
    struct tm tm = {0};
    assert_int_equal(sscanf(body, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    assert_true(labs((long)(t - time(NULL))) <= 5);
}

static void test_time(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "GET /time HTTP/1.1\r\nHost: x\r\n\r\n", false);
    only_resp(&d, false, &r);
    check_time(&r);
    drv_free(&d);
    run1(&d, "GET /time?now HTTP/1.1\r\nHost: x\r\n\r\n", false);
    only_resp(&d, false, &r);
    check_time(&r);
    drv_free(&d);
}

static void test_echo(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", false);
    only_resp(&d, false, &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "hello world");
    assert_string_equal(hdr(&r, "Content-Type"), "application/octet-stream");
    drv_free(&d);
    /* Empty body. */
    run1(&d, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false);
    only_resp(&d, false, &r);
    expect_body(&r, "");
    drv_free(&d);
    /* No Content-Length: no body. */
    run1(&d, "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n", false);
    only_resp(&d, false, &r);
    expect_body(&r, "");
    drv_free(&d);
}

/* A 1 MiB /echo body streams through in small reads and partial writes. */
static void test_echo_big(void **state)
{
    (void)state;
    size_t n = HTTP_BODY_MAX;
    char *req = malloc(n + 128);
    assert_non_null(req);
    int hl = sprintf(req, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    for (size_t i = 0; i < n; i++)
        req[hl + i] = (char)(i * 7 + 3);
    size_t total = (size_t)hl + n;
    const char *tail = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    memcpy(req + total, tail, strlen(tail));
    total += strlen(tail);
    struct drv d;
    drv_init(&d);
    d.chunk = 3001;
    d.max_io = 4099;
    drive(&d, req, total, true);
    assert_true(d.closed);
    struct resp r;
    const char *p = d.out, *end = d.out + d.len;
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.blen, n);
    assert_memory_equal(r.body, req + hl, n);
    parse_resp(&p, end, false, &r);
    expect_body(&r, "hello\n");
    assert_ptr_equal(p, end);
    drv_free(&d);
    free(req);
}

static void test_expect_continue(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    /* /echo: 100 Continue first, then the answer once the body came. */
    drv_init(&d);
    const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                       "Content-Length: 3\r\n\r\n";
    drive(&d, head, strlen(head), false);
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
    assert_true(d.len > strlen(cont));
    assert_memory_equal(d.out, cont, strlen(cont));
    drive(&d, "abc", 3, false);
    const char *p = d.out + strlen(cont);
    parse_resp(&p, d.out + d.len, false, &r);
    expect_body(&r, "abc");
    assert_false(d.closed);
    drv_free(&d);
    /* A refused body that may never come: answer, then close. */
    run1(&d, "PUT /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
         false);
    only_resp(&d, false, &r);
    assert_int_equal(r.status, 405);
    assert_true(d.closed);
    drv_free(&d);
}

/* A request body on a non-/echo path is dropped; the next request works. */
static void test_body_discarded(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d,
         "PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /"
         "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
         true);
    const char *p = d.out, *end = d.out + d.len;
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.status, 405);
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "hello\n");
    assert_ptr_equal(p, end);
    drv_free(&d);
}

static const char pipelined[] = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                                "HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
                                "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /sub/style.css HTTP/1.1\r\nHost: x\r\n\r\n";

static void check_pipelined(const struct drv *d)
{
    struct resp r;
    const char *p = d->out, *end = d->out + d->len;
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.status, 200);
    expect_body(&r, "hello\n");
    parse_resp(&p, end, true, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Length"), "14");
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.status, 404);
    parse_resp(&p, end, false, &r);
    expect_body(&r, "abcd");
    parse_resp(&p, end, false, &r);
    assert_int_equal(r.blen, BIG_SIZE);
    assert_memory_equal(r.body, big, BIG_SIZE);
    parse_resp(&p, end, false, &r);
    expect_body(&r, "body{}");
    assert_ptr_equal(p, end);
}

static void test_pipelined(void **state)
{
    (void)state;
    struct drv d;
    run1(&d, pipelined, true);
    assert_true(d.closed);
    check_pipelined(&d);
    drv_free(&d);
}

/* Replaces every Date header value by a fixed string (it may tick between
 * two runs). Not strstr: the output holds binary bodies with NULs, and a
 * Date after one of them must be found too. */
static char *find(char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; p + n <= end; p++)
        if (memcmp(p, needle, n) == 0) return p;
    return NULL;
}

static void strip_dates(char *s, size_t len)
{
    char *p = s, *end = s + len;
    while ((p = find(p, end, "\r\nDate: ")) != NULL) {
        p += 8;
        char *e = find(p, end, "\r\n");
        if (!e) break;
        memset(p, 'D', (size_t)(e - p));
    }
}

static void test_split_everywhere(void **state)
{
    (void)state;
    struct drv ref;
    run1(&ref, pipelined, true);
    strip_dates(ref.out, ref.len);
    size_t len = strlen(pipelined);
    for (size_t cut = 1; cut < len; cut++) {
        struct drv d;
        drv_init(&d);
        drive(&d, pipelined, cut, false);
        assert_false(d.closed);
        drive(&d, pipelined + cut, len - cut, true);
        assert_true(d.closed);
        strip_dates(d.out, d.len);
        assert_int_equal(d.len, ref.len);
        if (memcmp(d.out, ref.out, ref.len) != 0) fail_msg("split at %zu differs", cut);
        drv_free(&d);
    }
    drv_free(&ref);
}

static void test_byte_by_byte_and_partial_writes(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    d.chunk = 1;
    d.max_io = 1;
    drive(&d, pipelined, strlen(pipelined), true);
    assert_true(d.closed);
    check_pipelined(&d);
    drv_free(&d);
    drv_init(&d);
    d.max_io = 777;
    drive(&d, pipelined, strlen(pipelined), true);
    check_pipelined(&d);
    drv_free(&d);
}

static void test_bare_lf(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    run1(&d, "\r\nGET /a.txt HTTP/1.1\nHost: x\n\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", true);
    const char *p = d.out, *end = d.out + d.len;
    parse_resp(&p, end, false, &r);
    expect_body(&r, "hello\n");
    parse_resp(&p, end, false, &r);
    expect_body(&r, "hello\n");
    assert_ptr_equal(p, end);
    drv_free(&d);
}

static void test_eof_mid_request(void **state)
{
    (void)state;
    struct drv d;
    run1(&d, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHo", true);
    assert_true(d.closed);
    struct resp r;
    only_resp(&d, false, &r); /* the complete one answered, the partial dropped */
    assert_int_equal(r.status, 200);
    drv_free(&d);
    run1(&d, "GET /a.t", true);
    assert_true(d.closed);
    assert_int_equal(d.len, 0);
    drv_free(&d);
    /* EOF in the middle of an /echo body. */
    run1(&d, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc", true);
    assert_true(d.closed);
    drv_free(&d);
}

static void test_backpressure(void **state)
{
    (void)state;
    const char *one = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t ol = strlen(one), count = 2000;
    char *all = malloc(ol * count);
    assert_non_null(all);
    for (size_t i = 0; i < count; i++)
        memcpy(all + i * ol, one, ol);
    struct drv d;
    drv_init(&d);
    size_t c = session_feed(d.s, all, ol * count);
    assert_true(c > 0);
    assert_true(c < ol * count); /* bounded input */
    assert_true(c <= HTTP_IN_CAP);
    struct action a;
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE); /* the answers wait to be written */
    /* Drain and feed the rest as asked. */
    drive(&d, all + c, ol * count - c, true);
    assert_true(d.closed);
    const char *p = d.out, *end = d.out + d.len;
    for (size_t i = 0; i < count; i++) {
        struct resp r;
        parse_resp(&p, end, false, &r);
        expect_body(&r, "hello\n");
    }
    assert_ptr_equal(p, end);
    drv_free(&d);
    free(all);
}

static void test_batching(void **state)
{
    (void)state;
    /* Ten small pipelined answers go out in a single write. */
    const char *one = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    char req[1024] = "";
    for (int i = 0; i < 10; i++)
        strcat(req, one);
    struct drv d;
    drv_init(&d);
    assert_int_equal(session_feed(d.s, req, strlen(req)), strlen(req));
    struct action a;
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    const char *p = a.buf, *end = p + a.len;
    for (int i = 0; i < 10; i++) {
        struct resp r;
        parse_resp(&p, end, false, &r);
        expect_body(&r, "hello\n");
    }
    assert_ptr_equal(p, end);
    drv_free(&d);
}

static void test_io_error_closes(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    const char *req = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    session_feed(d.s, req, strlen(req));
    struct action a;
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    session_done(d.s, &a, (ssize_t)a.len);
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_SENDFILE);
    session_done(d.s, &a, 100);
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_SENDFILE);
    assert_int_equal(a.off, 100);
    assert_int_equal(a.count, BIG_SIZE - 100);
    session_done(d.s, &a, -1);
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_CLOSE);
    drv_free(&d); /* the file fd is closed (checked by test_no_fd_leak) */
}

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) n++;
    return n;
}

/* DESIGN.md section 3: a keep-alive client waiting for its next request
 * holds no input or output buffer; a head half received holds its input;
 * a big file streaming holds nothing but the file. */
static void test_idle_holds_no_buffer(void **state)
{
    (void)state;
    long before = bufpool_in_use();
    struct drv d;
    drv_init(&d);
    assert_int_equal(bufpool_in_use(), before); /* a new client: nothing yet */
    const char *get = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    drive(&d, get, strlen(get), false);
    assert_false(d.closed);
    assert_true(d.len > 12 && memcmp(d.out, "HTTP/1.1 200", 12) == 0);
    assert_int_equal(bufpool_in_use(), before); /* answered, waiting: idle */

    const char *half = "GET /sub/style.css HTTP/1.1\r\nHo";
    drive(&d, half, strlen(half), false);
    assert_int_equal(bufpool_in_use(), before + 1); /* the unfinished head */
    drive(&d, "st: x\r\n\r\n", 9, false);
    assert_int_equal(bufpool_in_use(), before);

    const char *get_big = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    d.max_io = 4096; /* partial sends: the answer streams over many actions */
    drive(&d, get_big, strlen(get_big), false);
    assert_false(d.closed);
    assert_true(d.sendfiles > 1);
    assert_int_equal(bufpool_in_use(), before);
    drv_free(&d);
    assert_int_equal(bufpool_in_use(), before);

    /* Bad input: a malformed request gets its 400 and the close; an
     * oversized head its 431: nothing is kept after either. */
    drv_init(&d);
    const char *bad = "GET /a.txt HTTP/1.1\r\nHost x\r\n\r\n";
    drive(&d, bad, strlen(bad), false);
    assert_true(d.closed);
    assert_true(d.len > 12 && memcmp(d.out, "HTTP/1.1 400", 12) == 0);
    assert_int_equal(bufpool_in_use(), before);
    drv_free(&d);
    drv_init(&d);
    size_t huge_len = HTTP_HEAD_MAX + 100;
    char *huge = malloc(huge_len);
    assert_non_null(huge);
    memcpy(huge, "GET /a.txt HTTP/1.1\r\nX: ", 24);
    memset(huge + 24, 'a', huge_len - 24);
    drive(&d, huge, huge_len, false);
    assert_true(d.closed);
    assert_true(d.len > 12 && memcmp(d.out, "HTTP/1.1 431", 12) == 0);
    drv_free(&d);
    free(huge);
    assert_int_equal(bufpool_in_use(), before);
}

/* The headers of a file sent by ACT_SENDFILE are marked to wait for its
 * first bytes (MSG_MORE); an answer complete in one write is not. */
static void test_more_before_sendfile(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    const char *get_big = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(session_feed(d.s, get_big, strlen(get_big)), strlen(get_big));
    struct action a;
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    assert_true(a.more);
    session_done(d.s, &a, (ssize_t)a.len);
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_SENDFILE);
    drv_free(&d);

    drv_init(&d);
    const char *small = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(session_feed(d.s, small, strlen(small)), strlen(small));
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    assert_false(a.more);
    drv_free(&d);
}

static void test_no_fd_leak(void **state)
{
    (void)state;
    /* the open-file cache keeps large files open on purpose: count without */
    filecache_flush(fsroot_cache(root));
    int before = count_fds();
    /* Destroyed mid-sendfile. */
    struct drv d;
    drv_init(&d);
    const char *req = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    session_feed(d.s, req, strlen(req));
    struct action a;
    session_next(d.s, &a);
    session_done(d.s, &a, (ssize_t)a.len);
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_SENDFILE);
    drv_free(&d);
    /* Completed answers of every kind. */
    run1(&d, pipelined, true);
    drv_free(&d);
    test_io_error_closes(state);
    filecache_flush(fsroot_cache(root));
    assert_int_equal(count_fds(), before);
}

/* The input phase the driver's timeouts follow, and what expiry does:
 * 408 + close for an unfinished head, a plain close otherwise. */
static void test_phase_expire(void **state)
{
    (void)state;
    struct drv d;
    struct resp r;
    const char *part = "GET /a.txt HTTP/1.1\r\nHo";
    drv_init(&d);
    assert_int_equal(session_phase(d.s), PHASE_IDLE);
    drive(&d, "\r\n", 2, false); /* empty lines before a request are no head */
    assert_int_equal(session_phase(d.s), PHASE_IDLE);
    drive(&d, part, strlen(part), false);
    assert_int_equal(session_phase(d.s), PHASE_HEAD);
    assert_int_equal(d.len, 0);
    session_expire(d.s);
    drive(&d, "st: x\r\n\r\n", 9, false); /* too late: not answered */
    only_resp(&d, false, &r);
    assert_int_equal(r.status, 408);
    expect_body(&r, "408 Request Timeout\n");
    assert_string_equal(hdr(&r, "Connection"), "close");
    assert_true(d.closed);
    drv_free(&d);

    /* idle between keep-alive requests: closed, nothing said */
    run1(&d, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_false(d.closed);
    assert_int_equal(session_phase(d.s), PHASE_IDLE);
    size_t before = d.len;
    session_expire(d.s);
    drive(&d, "", 0, false);
    assert_true(d.closed);
    assert_int_equal(d.len, before);
    drv_free(&d);

    /* a body being read (streamed to /echo, or dropped): closed */
    static const char *const bodies[] = {
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        "PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
    };
    for (size_t i = 0; i < 2; i++) {
        run1(&d, bodies[i], false);
        assert_int_equal(session_phase(d.s), PHASE_BODY);
        before = d.len;
        session_expire(d.s);
        drive(&d, "defghij", 7, false);
        assert_true(d.closed);
        assert_int_equal(d.len, before);
        drv_free(&d);
    }
}

static void test_refusal(void **state)
{
    (void)state;
    const char *s = http_proto.refusal;
    assert_non_null(s);
    struct resp r;
    const char *p = s;
    parse_resp(&p, s + strlen(s), false, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(hdr(&r, "Connection"), "close");
    assert_ptr_equal(p, s + strlen(s));
    assert_true(r.blen > 0);
}

static void test_access_log(void **state)
{
    (void)state;
    /* Goes to stderr: checked by redirecting it to a file. */
    capture_stderr_begin();
    ctx.access_log = true;
    struct drv d;
    run1(&d, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n", true);
    drv_free(&d);
    ctx.access_log = false;
    char *log = capture_stderr_end();
    assert_string_equal(log, "127.0.0.1:1234 \"GET /a.txt\" 200 6\n"
                             "127.0.0.1:1234 \"GET /nope\" 404 14\n");
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_405_allow),
        cmocka_unit_test(test_oversize_head),
        cmocka_unit_test(test_keepalive_rules),
        cmocka_unit_test(test_one_request),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_echo_big),
        cmocka_unit_test(test_body_discarded),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_byte_by_byte_and_partial_writes),
        cmocka_unit_test(test_bare_lf),
        cmocka_unit_test(test_eof_mid_request),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_batching),
        cmocka_unit_test(test_io_error_closes),
        cmocka_unit_test(test_no_fd_leak),
        cmocka_unit_test(test_idle_holds_no_buffer),
        cmocka_unit_test(test_more_before_sendfile),
        cmocka_unit_test(test_phase_expire),
        cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_parser_character_classes),
    };
    return cmocka_run_group_tests(tests, http_fixture_setup, http_fixture_teardown);
}
