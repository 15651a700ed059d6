/* urlscenario.c - a URL and wrk's options as a one-step scenario
 * (urlscenario.h). */
#define _XOPEN_SOURCE 700 /* realpath() is XSI */
#include "urlscenario.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xxhash.h>

#include "http/reqheader.h"
#include "scenario.h"
#include "stepbody.h"
#include "values.h"

/* ---- the URL ---------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* src[0..n) percent-decoded into dst[cap]; no control bytes after decoding
 * (an FTP command is a line). 0, or -1 with why. */
static int decode(const char *src, size_t n, char *dst, size_t cap, const char *what, char *why,
                  size_t whylen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)src[i];
        if (ch == '%') {
            int hi = i + 2 < n ? hexval(src[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(src[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                snprintf(why, whylen, "the %s has a bad %%-escape", what);
                return -1;
            }
            ch = hi << 4 | lo;
            i += 2;
        }
        if (ch < 0x20 || ch == 0x7f) {
            snprintf(why, whylen, "the %s has a control character", what);
            return -1;
        }
        if (o + 1 >= cap) {
            snprintf(why, whylen, "the %s is too long (at most %zu bytes)", what, cap - 1);
            return -1;
        }
        dst[o++] = (char)ch;
    }
    dst[o] = '\0';
    return 0;
}

static int scheme(const char *url, size_t n, struct lg_url *u, char *why, size_t whylen)
{
    if (n == 4 && strncasecmp(url, "http", 4) == 0)
        u->proto = LG_PROTO_HTTP;
    else if (n == 3 && strncasecmp(url, "ftp", 3) == 0)
        u->proto = LG_PROTO_FTP;
    else if ((n == 5 && strncasecmp(url, "https", 5) == 0) ||
             (n == 4 && strncasecmp(url, "ftps", 4) == 0))
        snprintf(why, whylen,
                 "%.*s:// is not supported: loadgen speaks plain HTTP and FTP (no TLS)", (int)n,
                 url);
    else
        snprintf(why, whylen, "unknown scheme '%.*s' (http:// or ftp://)", (int)(n > 20 ? 20 : n),
                 url);
    return why[0] ? -1 : 0;
}

static int port(const char *p, size_t n, struct lg_url *u, char *why, size_t whylen)
{
    unsigned long v = 0;
    for (size_t i = 0; i < n && v <= 65535; i++)
        v = isdigit((unsigned char)p[i]) ? v * 10 + (unsigned long)(p[i] - '0') : 65536;
    if (n == 0 || v == 0 || v > 65535) {
        snprintf(why, whylen, "bad port '%.*s' (1..65535)", (int)(n > 20 ? 20 : n), p);
        return -1;
    }
    snprintf(u->port, sizeof u->port, "%lu", v);
    return 0;
}

/* HOST[:PORT], HOST a name, IPv4 or [IPv6]. */
static int hostport(const char *a, size_t n, struct lg_url *u, char *why, size_t whylen)
{
    const char *h = a, *rest;
    size_t hl;
    if (n && a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (!rb) return snprintf(why, whylen, "'[' without ']' around the IPv6 address"), -1;
        h = a + 1;
        hl = (size_t)(rb - h);
        rest = rb + 1;
        char v6[64] = "";
        unsigned char bin[16];
        if (hl < sizeof v6) memcpy(v6, h, hl), v6[hl] = '\0';
        if (hl == 0 || hl >= sizeof v6 || inet_pton(AF_INET6, v6, bin) != 1) {
            snprintf(why, whylen, "'%.*s' is not an IPv6 address", (int)(hl > 64 ? 64 : hl), h);
            return -1;
        }
    } else {
        const char *colon = memchr(a, ':', n);
        if (colon && memchr(colon + 1, ':', n - (size_t)(colon - a) - 1))
            return snprintf(why, whylen, "an IPv6 address goes in brackets: http://[::1]:8080/"),
                   -1;
        hl = colon ? (size_t)(colon - a) : n;
        rest = a + hl;
        for (size_t i = 0; i < hl; i++)
            if (!isalnum((unsigned char)h[i]) && !strchr("-._~", h[i])) {
                snprintf(why, whylen, "bad host '%.*s'", (int)(hl > 64 ? 64 : hl), h);
                return -1;
            }
    }
    if (hl == 0) return snprintf(why, whylen, "no host"), -1;
    if (hl >= sizeof u->host) return snprintf(why, whylen, "the host name is too long"), -1;
    memcpy(u->host, h, hl);
    u->host[hl] = '\0';
    size_t left = n - (size_t)(rest - a);
    if (left == 0) {
        snprintf(u->port, sizeof u->port, "%s", u->proto == LG_PROTO_FTP ? "21" : "80");
        return 0;
    }
    if (*rest != ':') return snprintf(why, whylen, "junk after the IPv6 address"), -1;
    return port(rest + 1, left - 1, u, why, whylen);
}

/* ftp://USER[:PASSWORD]@: both percent-decoded. */
static int userinfo(const char *a, size_t n, struct lg_url *u, char *why, size_t whylen)
{
    if (u->proto != LG_PROTO_FTP) {
        snprintf(why, whylen, "no user:password in an http:// URL: send -H 'Authorization: ...'");
        return -1;
    }
    const char *colon = memchr(a, ':', n);
    size_t ul = colon ? (size_t)(colon - a) : n;
    if (ul == 0) return snprintf(why, whylen, "an empty user name before '@'"), -1;
    if (decode(a, ul, u->user, sizeof u->user, "user", why, whylen) < 0) return -1;
    if (colon &&
        decode(colon + 1, n - ul - 1, u->password, sizeof u->password, "password", why, whylen) < 0)
        return -1;
    return 0;
}

static int path(const char *p, struct lg_url *u, char *why, size_t whylen)
{
    size_t n = strcspn(p, "#");
    if (u->proto == LG_PROTO_FTP) {
        if (memchr(p, '?', n)) return snprintf(why, whylen, "an ftp:// URL takes no '?query'"), -1;
        if (n == 0) p = "/", n = 1;
        return decode(p, n, u->path, sizeof u->path, "path", why, whylen);
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f) {
            snprintf(why, whylen, "the path has a space or control character: encode it (%%20)");
            return -1;
        }
    const char *lead = p[0] == '/' ? "" : "/"; /* "http://h?q" asks for "/?q" */
    if (strlen(lead) + n >= sizeof u->path)
        return snprintf(why, whylen, "the path is too long (at most %d bytes)", LG_PATH_MAX - 1),
               -1;
    snprintf(u->path, sizeof u->path, "%s%.*s", lead, (int)n, p);
    return 0;
}

int url_parse(const char *url, struct lg_url *u, char *err, size_t errlen)
{
    char why[300] = "";
    memset(u, 0, sizeof *u);
    const char *sep = strstr(url, "://");
    if (!sep) {
        snprintf(why, sizeof why, "not a URL (scheme://host/path)");
    } else if (scheme(url, (size_t)(sep - url), u, why, sizeof why) == 0) {
        const char *a = sep + 3;
        size_t n = strcspn(a, "/?#");
        const char *at = NULL;
        for (const char *q = a; q < a + n; q++)
            if (*q == '@') at = q; /* the last '@': a password may hold one */
        if ((!at || userinfo(a, (size_t)(at - a), u, why, sizeof why) == 0) &&
            hostport(at ? at + 1 : a, at ? (size_t)(a + n - at - 1) : n, u, why, sizeof why) == 0)
            path(a + n, u, why, sizeof why);
    }
    if (!why[0]) return 0;
    snprintf(err, errlen, "URL '%.200s': %s", url, why);
    return -1;
}

void url_target(const struct lg_url *u, char *out, size_t len)
{
    snprintf(out, len, strchr(u->host, ':') ? "[%s]:%s" : "%s:%s", u->host, u->port);
}

/* ---- the step --------------------------------------------------------- */

static bool is_token(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s)) return false;
    return true;
}

/* -m, or the URL's own method. */
static int method(struct lg_step *st, const struct lg_url *u, const struct url_request *rq,
                  char *why, size_t whylen)
{
    if (u->proto == LG_PROTO_FTP) {
        bool dir = u->path[strlen(u->path) - 1] == '/';
        const char *m = rq->method ? rq->method : dir ? "LIST" : "RETR";
        if (strcasecmp(m, "RETR") && strcasecmp(m, "LIST") && strcasecmp(m, "NLST"))
            return snprintf(why, whylen, "-m %s: an ftp:// URL takes RETR, LIST or NLST", m), -1;
        for (size_t i = 0; m[i]; i++)
            st->method[i] = (char)toupper((unsigned char)m[i]);
        return 0;
    }
    const char *m = rq->method ? rq->method : rq->body ? "POST" : "GET";
    if (!is_token(m) || strlen(m) >= sizeof st->method)
        return snprintf(why, whylen, "-m '%.20s' is not an HTTP method", m), -1;
    if (rq->body && strcmp(m, "HEAD") == 0)
        return snprintf(why, whylen, "a HEAD request sends no --body"), -1;
    memcpy(st->method, m, strlen(m) + 1);
    return 0;
}

/* -H lines: Host replaces the Host header, Connection: close turns
 * keep-alive off, the rest are the step's own headers (reqheader.h). */
static int headers(struct lg_scenario *sc, struct lg_step *st, const struct url_request *rq,
                   char *why, size_t whylen)
{
    if (rq->nheaders && sc->proto != LG_PROTO_HTTP)
        return snprintf(why, whylen, "-H is for http:// URLs"), -1;
    for (size_t i = 0; i < rq->nheaders; i++) {
        const char *h = rq->headers[i];
        const char *colon = strchr(h, ':');
        char r[300];
        if (!colon) return snprintf(why, whylen, "-H '%.100s': not 'Name: value'", h), -1;
        const char *v = colon + 1 + strspn(colon + 1, " \t");
        size_t nl = (size_t)(colon - h);
        int rc = 0;
        if (nl == 4 && strncasecmp(h, "Host", 4) == 0)
            rc = reqheader_set_host(st, v, r, sizeof r);
        else if (nl == 10 && strncasecmp(h, "Connection", 10) == 0 && strcasecmp(v, "close") == 0)
            sc->keepalive = false;
        else if (!(nl == 10 && strncasecmp(h, "Connection", 10) == 0 &&
                   strcasecmp(v, "keep-alive") == 0))
            rc = reqheader_add(st, h, r, sizeof r);
        if (rc < 0) return snprintf(why, whylen, "-H: %s", r), -1;
    }
    return 0;
}

static int body(struct lg_step *st, enum lg_proto proto, const struct url_request *rq, char *why,
                size_t whylen)
{
    if (!rq->body) return 0;
    if (proto != LG_PROTO_HTTP) return snprintf(why, whylen, "--body is for http:// URLs"), -1;
    char r[LG_PATH_MAX + 64];
    if (strcmp(rq->body, "@-") == 0) {
        if (stepbody_read_fd(st, STDIN_FILENO, "--body @- (standard input)", r, sizeof r) < 0)
            return snprintf(why, whylen, "%s", r), -1;
        return 0;
    }
    char real[PATH_MAX];
    if (stepbody_load(st, rq->body, NULL, r, sizeof r) < 0 || !realpath(rq->body, real))
        return snprintf(why, whylen, "--body %s", r), -1;
    if (strlen(real) >= sizeof st->body_file) /* saved as an absolute path */
        return snprintf(why, whylen, "--body: the path is too long"), -1;
    memcpy(st->body_file, real, strlen(real) + 1);
    return 0;
}

/* --expect-body FILE: its length and XXH64 (expect = hash). */
static int expect_file(struct lg_step *st, const char *file, char *why, size_t whylen)
{
    struct lg_step tmp = {.body = NULL};
    char r[LG_PATH_MAX + 64];
    if (stepbody_load(&tmp, file, NULL, r, sizeof r) < 0)
        return snprintf(why, whylen, "--expect-body %s", r), -1;
    st->expect = LG_EXPECT_HASH;
    st->expect_length = (int64_t)tmp.body_size;
    st->expect_hash = XXH64(tmp.body, tmp.body_size, 0);
    stepbody_free(&tmp);
    return 0;
}

static int checks(struct lg_step *st, enum lg_proto proto, const struct url_request *rq, char *why,
                  size_t whylen)
{
    st->expect_status = rq->expect_status;
    bool list = strcmp(st->method, "LIST") == 0 || strcmp(st->method, "NLST") == 0;
    switch (rq->check) {
    case URL_CHECK_SAME:
        /* a HEAD answer has no body to compare */
        st->expect = strcmp(st->method, "HEAD") == 0 ? LG_EXPECT_NONE : LG_EXPECT_SAME;
        return 0;
    case URL_CHECK_NONE:
        st->expect = LG_EXPECT_NONE;
        return 0;
    case URL_CHECK_BODY:
        if (strcmp(st->method, "HEAD") == 0 || (proto == LG_PROTO_FTP && list))
            return snprintf(why, whylen, "--expect-body: a %s answer is not a file's bytes",
                            st->method),
                   -1;
        return expect_file(st, rq->expect_body, why, whylen);
    case URL_CHECK_SHA256:
        if (strcmp(st->method, "HEAD") == 0)
            return snprintf(why, whylen, "--expect-sha256: a HEAD answer has no body"), -1;
        if (value_sha256(rq->expect_sha256, st->expect_sha256) < 0)
            return snprintf(why, whylen, "--expect-sha256 '%.80s': not 64 hex digits",
                            rq->expect_sha256),
                   -1;
        st->expect = LG_EXPECT_SHA256;
        return 0;
    }
    return 0;
}

/* The scenario's name, for the summary and the CSV's scenario column:
 * "GET /path" (no host or port: runs against other servers compare). */
static void name(struct lg_scenario *sc, const struct lg_step *st)
{
    snprintf(sc->name, sizeof sc->name, "%s %.*s", st->method,
             (int)(sizeof sc->name - strlen(st->method) - 2), st->path);
}

int url_scenario(const char *url, const struct url_request *rq, struct lg_scenario *out,
                 char *target, size_t targetlen, char *err, size_t errlen)
{
    struct lg_url u;
    *out = (struct lg_scenario){.keepalive = true};
    if (url_parse(url, &u, err, errlen) < 0) return -1;
    out->proto = u.proto;
    snprintf(out->file, sizeof out->file, "%s", url);
    snprintf(out->user, sizeof out->user, "%s", u.user[0] ? u.user : "anonymous");
    snprintf(out->password, sizeof out->password, "%s", u.user[0] ? u.password : "anonymous@");
    out->steps = calloc(1, sizeof *out->steps);
    if (!out->steps) return snprintf(err, errlen, "out of memory"), -1;
    out->nsteps = 1;
    struct lg_step *st = &out->steps[0];
    *st = (struct lg_step){.expect_length = -1, .line = 1};
    snprintf(st->name, sizeof st->name, "url");
    memcpy(st->path, u.path, sizeof st->path);
    char why[LG_PATH_MAX + 200];
    if (method(st, &u, rq, why, sizeof why) < 0 || headers(out, st, rq, why, sizeof why) < 0 ||
        body(st, u.proto, rq, why, sizeof why) < 0 ||
        checks(st, u.proto, rq, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        scenario_free(out);
        return -1;
    }
    name(out, st);
    url_target(&u, target, targetlen);
    return 0;
}
