/* http_fake.c - the HTTP session tests' fixture, fake driver and answer
 * parser (see http_fake.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http.h"
#include "http_fake.h"
#include "test_util.h"

/* ---- fixture ------------------------------------------------------------ */

char rootdir[PATH_MAX];
struct fsroot *root;
struct server_ctx ctx;

char big[BIG_SIZE];

int http_fixture_setup(void **state)
{
    (void)state;
    assert_non_null(scratch_create("http-test"));
    snprintf(rootdir, sizeof rootdir, "%s", scratch_path("root"));
    scratch_mkdir("root");
    scratch_mkdir("root/sub");
    scratch_mkdir("root/noindex");
    scratch_mkdir("root/.git");
    scratch_mkdir("root/evil.example");
    scratch_mkdir("root/a dir?#");
    scratch_write("root/index.html", "<h1>home</h1>\n", 14);
    scratch_write("root/a.txt", "hello\n", 6);
    scratch_write("root/empty.txt", "", 0);
    scratch_write("root/data.json", "{}", 2);
    scratch_write("root/pic.PNG", "png", 3);
    /* the content-type lookup's edges: an empty, a too long, a prefix */
    scratch_write("root/trail.", "t", 1);
    scratch_write("root/long.jsonx", "l", 1);
    scratch_write("root/short.JS", "s", 1);
    scratch_write("root/prefix.jp", "p", 1);
    scratch_write("root/noext", "x", 1);
    scratch_write("root/.hidden", "secret", 6);
    scratch_write("root/.git/config", "secret", 6);
    scratch_write("root/sub/index.html", "sub index\n", 10);
    scratch_write("root/sub/style.css", "body{}", 6);
    scratch_write("root/a b.txt", "space", 5);
    for (size_t i = 0; i < BIG_SIZE; i++)
        big[i] = (char)(i * 31 + (i >> 8));
    scratch_write("root/big.bin", big, BIG_SIZE);
    scratch_write("outside.txt", "outside", 7);
    scratch_symlink("a.txt", "root/link_in");
    scratch_symlink("../a.txt", "root/sub/up");
    scratch_symlink("../outside.txt", "root/link_out");
    scratch_symlink("..", "root/dir_out");
    root = fsroot_new(rootdir);
    assert_non_null(root);
    ctx.root = root;
    ctx.access_log = false;
    return 0;
}

int http_fixture_teardown(void **state)
{
    (void)state;
    fsroot_free(root);
    return scratch_remove();
}

/* ---- driver ------------------------------------------------------------- */

void drv_init(struct drv *d)
{
    memset(d, 0, sizeof *d);
    d->s = session_new(&http_proto, &ctx, "127.0.0.1:1234");
    assert_non_null(d->s);
    d->max_io = SIZE_MAX;
    d->chunk = SIZE_MAX;
}

void drv_free(struct drv *d)
{
    if (d->s) session_free(d->s);
    free(d->out);
    memset(d, 0, sizeof *d);
}

static void append(struct drv *d, const void *p, size_t n)
{
    if (d->len + n + 1 > d->cap) {
        d->cap = (d->len + n + 1) * 2;
        d->out = realloc(d->out, d->cap);
        assert_non_null(d->out);
    }
    memcpy(d->out + d->len, p, n);
    d->len += n;
    d->out[d->len] = '\0';
}

/* Performs actions, feeding in[0..len) as asked, then EOF if eof. Returns
 * when the session closes or asks for input that is not there. */
void drive(struct drv *d, const char *in, size_t len, bool eof)
{
    size_t pos = 0;
    bool eof_sent = false;
    static char tmp[256 * 1024];
    for (int guard = 0; guard < 10000000; guard++) {
        struct action a;
        session_next(d->s, &a);
        d->actions++;
        switch (a.kind) {
        case ACT_READ:
            if (pos < len) {
                size_t n = len - pos < d->chunk ? len - pos : d->chunk;
                size_t c = session_feed(d->s, in + pos, n);
                assert_true(c > 0); /* READ promises room for a byte */
                pos += c;
            } else if (eof && !eof_sent) {
                assert_int_equal(session_feed(d->s, NULL, 0), 0);
                eof_sent = true;
            } else {
                return;
            }
            break;
        case ACT_WRITE: {
            d->writes++;
            assert_true(a.len > 0);
            size_t n = a.len < d->max_io ? a.len : d->max_io;
            append(d, a.buf, n);
            session_done(d->s, &a, (ssize_t)n);
            break;
        }
        case ACT_SENDFILE: {
            d->sendfiles++;
            assert_true(a.count > 0);
            size_t n = a.count < d->max_io ? a.count : d->max_io;
            if (n > sizeof tmp) n = sizeof tmp;
            ssize_t r = pread(a.fd, tmp, n, a.off);
            assert_true(r > 0);
            append(d, tmp, (size_t)r);
            session_done(d->s, &a, r);
            break;
        }
        case ACT_CLOSE:
            d->closed = true;
            return;
        default:
            fail_msg("unexpected action %d", a.kind);
        }
    }
    fail_msg("session loops");
}

/* One request through a fresh session; the output stays in d. */
void run1(struct drv *d, const char *req, bool eof)
{
    drv_init(d);
    drive(d, req, strlen(req), eof);
}

/* ---- response parsing --------------------------------------------------- */

/* The value of header name in r (NULL if absent), copied into a static. */
const char *hdr(const struct resp *r, const char *name)
{
    static char val[1024];
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2]) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(val, sizeof val, "%.*s", (int)(e - v), v);
            return val;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/* Parses the response at *p (no body when head_req). */
void parse_resp(const char **p, const char *end, bool head_req, struct resp *r)
{
    memset(r, 0, sizeof *r);
    const char *he = strstr(*p, "\r\n\r\n");
    assert_non_null(he);
    size_t hl = (size_t)(he - *p) + 4;
    assert_true(hl < sizeof r->head);
    memcpy(r->head, *p, hl);
    assert_memory_equal(r->head, "HTTP/1.1 ", 9);
    r->status = atoi(r->head + 9);
    const char *cl = hdr(r, "Content-Length");
    assert_non_null(cl);
    size_t n = head_req ? 0 : (size_t)strtoul(cl, NULL, 10);
    assert_true(*p + hl + n <= end);
    r->body = *p + hl;
    r->blen = n;
    *p += hl + n;
}

/* The only response in d's output. */
void only_resp(const struct drv *d, bool head_req, struct resp *r)
{
    const char *p = d->out ? d->out : "";
    parse_resp(&p, d->out + d->len, head_req, r);
    assert_ptr_equal(p, d->out + d->len);
}

void expect_body(const struct resp *r, const char *body)
{
    assert_int_equal(r->blen, strlen(body));
    assert_memory_equal(r->body, body, r->blen);
}

/* Sends req on a fresh session (EOF after it), expects one answer. */
int status_of(const char *req)
{
    struct drv d;
    struct resp r;
    run1(&d, req, true);
    only_resp(&d, strncmp(req, "HEAD ", 5) == 0, &r);
    drv_free(&d);
    return r.status;
}

/* Same, but checks the connection state afterwards (no EOF sent). */
int status_close(const char *req, bool *closed)
{
    struct drv d;
    struct resp r;
    run1(&d, req, false);
    only_resp(&d, strncmp(req, "HEAD ", 5) == 0, &r);
    *closed = d.closed;
    if (d.closed) assert_string_equal(hdr(&r, "Connection"), "close");
    drv_free(&d);
    return r.status;
}
