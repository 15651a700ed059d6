/* curl_step.c - one scenario step as a libcurl transfer, and its verdict
 * (see curl_step.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/check.h"
#include "curl_step.h"
#include "http/reqheader.h"

/* The FTP commands that move data. Anything else (SIZE, MDTM, DELE, MKD,
 * ...) is sent as a quoted command "METHOD /path" after login, and judged by
 * its reply code: curl's own SIZE (CURLOPT_NOBODY) ends with "REST 0" and
 * would report that reply (350) instead. */
enum ftp_kind { FK_RETR, FK_LIST, FK_NLST, FK_STOR, FK_QUOTE };

static enum ftp_kind ftp_kind(const char *method)
{
    static const struct {
        const char *name;
        enum ftp_kind kind;
    } kinds[] = {
        {"RETR", FK_RETR}, {"GET", FK_RETR},  {"LIST", FK_LIST},
        {"NLST", FK_NLST}, {"STOR", FK_STOR}, {"PUT", FK_STOR},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcasecmp(method, kinds[i].name) == 0) return kinds[i].kind;
    return FK_QUOTE;
}

static bool is_ftp(const struct cs_xfer *x)
{
    return x->cfg->sc->proto == LG_PROTO_FTP;
}

/* ---- global init ------------------------------------------------------ */

/* curl_global_init is not thread-safe and must run once per process: the
 * one piece of process-wide state this module keeps. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cs_global_init(void)
{
    if (pthread_once(&global_once, global_init_once) != 0) return -1;
    return global_rc == CURLE_OK ? 0 : -1;
}

size_t cs_payload_size(const struct lg_scenario *sc)
{
    uint64_t max = 0;
    for (size_t i = 0; i < sc->nsteps; i++)
        if (!sc->steps[i].body && sc->steps[i].body_size > max) max = sc->steps[i].body_size;
    return max > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max;
}

/* ---- callbacks ------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct cs_xfer *x = ud;
    size_t len = size * n;
    XXH64_update(x->hash, p, len);
    if (x->sha) sha256_update(x->sha, p, len);
    x->body_bytes += len;
    if (x->capture && x->cap_len < CS_CAPTURE_MAX) {
        size_t room = CS_CAPTURE_MAX - x->cap_len;
        size_t take = len < room ? len : room;
        memcpy(x->cap + x->cap_len, p, take);
        x->cap_len += take;
    }
    return len;
}

static size_t on_upload(char *buf, size_t size, size_t n, void *ud)
{
    struct cs_xfer *x = ud;
    size_t left = (size_t)x->st->body_size - x->up_off;
    size_t take = size * n < left ? size * n : left;
    memcpy(buf, (x->st->body ? x->st->body : x->payload) + x->up_off, take);
    x->up_off += take;
    return take;
}

/* ---- URLs ------------------------------------------------------------- */

/* "scheme://host:port", the host in brackets when it is an IPv6 literal. */
static int url_base(const struct cs_xfer *x, const char *scheme, char *out, size_t outlen)
{
    const char *h = x->cfg->host;
    int n = strchr(h, ':') ? snprintf(out, outlen, "%s://[%s]:%s", scheme, h, x->cfg->port)
                           : snprintf(out, outlen, "%s://%s:%s", scheme, h, x->cfg->port);
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* Append path to out (at *pos), percent-encoding all but unreserved
 * characters and '/', so any file name becomes a valid FTP URL path. */
static int url_path(char *out, size_t outlen, size_t *pos, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
        if (*pos + 4 >= outlen) return -1;
        if (plain) {
            out[(*pos)++] = (char)*p;
        } else {
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[*p >> 4];
            out[(*pos)++] = hex[*p & 15];
        }
    }
    out[*pos] = '\0';
    return 0;
}

static int ftp_url(struct cs_xfer *x, enum ftp_kind kind, const char *tag)
{
    const char *path = x->st->path;
    while (*path == '/')
        path++; /* ftp://host/a/b: relative to the login directory */
    int n = url_base(x, "ftp", x->url, sizeof x->url - 1);
    if (n < 0) return -1;
    size_t pos = (size_t)n;
    x->url[pos++] = '/';
    x->url[pos] = '\0';
    if (kind == FK_QUOTE) return 0; /* the command carries the path; the URL is the root */
    if (url_path(x->url, sizeof x->url, &pos, path) < 0) return -1;
    bool dir = pos > 0 && x->url[pos - 1] == '/';
    const char *add = "";
    char name[128] = "";
    if (kind == FK_LIST || kind == FK_NLST) {
        add = dir ? "" : "/"; /* curl lists a URL ending in '/' */
    } else if (kind == FK_STOR) {
        /* a file name is used as it is; a directory gets a unique lg-TAG.bin */
        if (dir) {
            snprintf(name, sizeof name, "lg-%s.bin", tag ? tag : "0");
            add = name;
        }
    }
    return url_path(x->url, sizeof x->url, &pos, add);
}

static int http_url(struct cs_xfer *x)
{
    int n = url_base(x, "http", x->url, sizeof x->url);
    if (n < 0) return -1;
    const char *sep = x->st->path[0] == '/' ? "" : "/";
    size_t left = sizeof x->url - (size_t)n;
    int m = snprintf(x->url + n, left, "%s%s", sep, x->st->path);
    return m < 0 || (size_t)m >= left ? -1 : 0;
}

/* ---- setup ------------------------------------------------------------ */

int cs_init(struct cs_xfer *x, const struct lg_config *cfg, const unsigned char *payload)
{
    memset(x, 0, sizeof *x);
    x->cfg = cfg;
    x->payload = payload;
    x->easy = curl_easy_init();
    x->hash = XXH64_createState();
    if (!x->easy || !x->hash) {
        cs_free(x);
        return -1;
    }
    return 0;
}

void cs_free(struct cs_xfer *x)
{
    if (x->easy) curl_easy_cleanup(x->easy);
    if (x->hash) XXH64_freeState(x->hash);
    sha256_free(x->sha);
    x->sha = NULL;
    free(x->cap);
    x->easy = NULL;
    x->hash = NULL;
    x->cap = NULL;
}

static long timeout_ms(const struct cs_xfer *x)
{
    double s = x->cfg->timeout_s > 0 ? x->cfg->timeout_s : 10.0;
    return s * 1000.0 > 86400000.0 ? 86400000L : (long)(s * 1000.0 + 0.5);
}

/* Options every transfer gets: a deadline (a stall is a counted timeout,
 * never a hang), no signals (threads), body hashing, connection reuse. */
static void common_opts(struct cs_xfer *x)
{
    CURL *e = x->easy;
    curl_easy_reset(e); /* the live connections stay in the multi's cache */
    XXH64_reset(x->hash, 0);
    x->body_bytes = 0;
    x->cap_len = 0;
    x->up_off = 0;
    x->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms(x));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms(x));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,ftp");
    if (!x->cfg->keepalive) curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
}

/* The FTP server's reply lines, as libcurl hands them to a header callback
 * (no verbose mode: its debug callback costs a formatted text a line, +15 %
 * of loadgen's instructions per FTP request): the times of the login (the
 * greeting, 220, to 230) and of the data connection (the passive reply, 227
 * or 229, to 150/125), each a setup step of its own (loadgen.h, enum
 * lg_setup). */
static size_t on_reply(char *data, size_t size, size_t n, void *arg)
{
    struct cs_xfer *x = arg;
    size_t len = size * n;
    if (len < 4 || data[3] == '-') return len; /* a continued multi-line reply */
    uint64_t now = lg_now_ns();
    if (memcmp(data, "220", 3) == 0 && !x->login_start) {
        x->login_start = now;
    } else if (memcmp(data, "230", 3) == 0 && x->login_start && !x->login_end) {
        x->login_end = now;
    } else if ((memcmp(data, "229", 3) == 0 || memcmp(data, "227", 3) == 0) && !x->data_start) {
        x->data_start = now;
    } else if ((memcmp(data, "150", 3) == 0 || memcmp(data, "125", 3) == 0) && x->data_start &&
               !x->data_end) {
        x->data_end = now;
    }
    return len;
}

void cs_setup_of(struct cs_xfer *x, struct cs_setup *out)
{
    long fresh = 0;
    curl_off_t us = 0;
    *out = (struct cs_setup){0};
    if (is_ftp(x) && !x->login_start) return;
    if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &fresh) == CURLE_OK && fresh > 0 &&
        curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &us) == CURLE_OK)
        out->connect_us = us > 0 ? (uint64_t)us : 1;
}

static void ftp_opts(struct cs_xfer *x)
{
    CURL *e = x->easy;
    x->login_start = x->login_end = x->data_start = x->data_end = 0;
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_reply);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    const struct lg_scenario *sc = x->cfg->sc;
    /* a missing greeting or reply (listen-queue overflow) is a timeout */
    long resp_s = (timeout_ms(x) + 999) / 1000;
    curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, resp_s);
    curl_easy_setopt(e, CURLOPT_USERNAME, sc->user[0] ? sc->user : "anonymous");
    curl_easy_setopt(e, CURLOPT_PASSWORD, sc->password[0] ? sc->password : "anonymous@");
    curl_easy_setopt(e, CURLOPT_FTP_USE_EPSV, 1L); /* EPSV, falling back to PASV */
    curl_easy_setopt(e, CURLOPT_FTPPORT, NULL);    /* passive only */
    /* No CWD: every command names its path from the login directory. Fewer
     * round trips, and a quoted command's reply is the last one (a reused
     * connection would otherwise end on the CWD back to the root). */
    curl_easy_setopt(e, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_NOCWD);
}

static int setup_ftp(struct cs_xfer *x, const char *tag)
{
    CURL *e = x->easy;
    enum ftp_kind kind = x->phase == 1 ? FK_RETR : ftp_kind(x->st->method);
    ftp_opts(x);
    if (x->phase == 0 && ftp_url(x, kind, tag) < 0) {
        snprintf(x->errbuf, sizeof x->errbuf, "URL too long");
        return -1;
    }
    switch (kind) {
    case FK_RETR:
        /* curl asks SIZE before every RETR; when the body's length is
         * checked anyway, skip that round trip */
        if (x->phase == 1 || x->st->expect_length >= 0)
            curl_easy_setopt(e, CURLOPT_IGNORE_CONTENT_LENGTH, 1L);
        break;
    case FK_LIST:
    case FK_NLST:
        curl_easy_setopt(e, CURLOPT_DIRLISTONLY, kind == FK_NLST ? 1L : 0L);
        x->capture = true;
        break;
    case FK_STOR:
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->st->body_size);
        break;
    case FK_QUOTE: {
        const char *p = x->st->path;
        int n = p[0] ? snprintf(x->quote_cmd, sizeof x->quote_cmd, "%s %s%s", x->st->method,
                                p[0] == '/' ? "" : "/", p)
                     : snprintf(x->quote_cmd, sizeof x->quote_cmd, "%s", x->st->method);
        if (n < 0 || (size_t)n >= sizeof x->quote_cmd || strpbrk(x->quote_cmd, "\r\n")) {
            snprintf(x->errbuf, sizeof x->errbuf, "bad FTP command");
            return -1;
        }
        x->quote = (struct curl_slist){.data = x->quote_cmd, .next = NULL};
        curl_easy_setopt(e, CURLOPT_QUOTE, &x->quote);
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        break;
    }
    }
    return 0;
}

/* no "Expect: 100-continue" round trip; close when keep-alive is off; the
 * step's Host and own headers (checked by reqheader.c: no CR/LF, no name
 * curl would treat specially). */
static void http_headers(struct cs_xfer *x)
{
    const struct lg_step *st = x->st;
    size_t n = 0;
    x->hdr[n++] = (struct curl_slist){.data = "Expect:"};
    if (!x->cfg->keepalive) x->hdr[n++] = (struct curl_slist){.data = "Connection: close"};
    if (st->host[0]) {
        snprintf(x->host_line, sizeof x->host_line, "Host: %s", st->host);
        x->hdr[n++] = (struct curl_slist){.data = x->host_line};
    }
    for (const char *h = reqheader_first(st); h && n < sizeof x->hdr / sizeof x->hdr[0];
         h = reqheader_next(st, h))
        x->hdr[n++] = (struct curl_slist){.data = (char *)h};
    for (size_t i = 0; i + 1 < n; i++)
        x->hdr[i].next = &x->hdr[i + 1];
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, &x->hdr[0]);
}

static int setup_http(struct cs_xfer *x)
{
    CURL *e = x->easy;
    const char *m = x->st->method;
    if (http_url(x) < 0) {
        snprintf(x->errbuf, sizeof x->errbuf, "URL too long");
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    http_headers(x);
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "GET") != 0) {
        if (strcmp(m, "POST") != 0 || x->st->body_size == 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        if (x->st->body_size > 0 || strcmp(m, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->st->body_size);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                             (const char *)(x->st->body ? x->st->body : x->payload));
        }
    }
    x->capture = x->st->expect == LG_EXPECT_TIME;
    return 0;
}

/* The step is still to learn (the verify pass): expect = same or sha256. */
static bool to_learn(const struct lg_step *st)
{
    return (st->expect == LG_EXPECT_SAME || st->expect == LG_EXPECT_SHA256) &&
           st->expect_length < 0;
}

int cs_start(struct cs_xfer *x, const struct lg_step *st, const char *tag)
{
    x->st = st;
    x->phase = 0;
    x->capture = false;
    common_opts(x);
    int rc = is_ftp(x) ? setup_ftp(x, tag) : setup_http(x);
    bool sha = to_learn(st) && st->expect == LG_EXPECT_SHA256;
    if (rc == 0 && sha && !x->sha && !(x->sha = sha256_new())) {
        snprintf(x->errbuf, sizeof x->errbuf, "out of memory");
        rc = -1;
    }
    if (x->sha) sha256_reset(x->sha);
    if (!sha) {
        sha256_free(x->sha);
        x->sha = NULL;
    }
    if (rc == 0 && x->capture && !x->cap && !(x->cap = malloc(CS_CAPTURE_MAX))) {
        snprintf(x->errbuf, sizeof x->errbuf, "out of memory");
        rc = -1;
    }
    if (rc == 0) curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
    return rc;
}

int cs_next_phase(struct cs_xfer *x)
{
    x->phase = 1;
    x->capture = false;
    common_opts(x);
    if (setup_ftp(x, NULL) < 0) return -1;
    curl_easy_setopt(x->easy, CURLOPT_URL, x->url); /* the name just uploaded */
    return 0;
}

/* ---- verdict ---------------------------------------------------------- */

static void fail(struct cs_result *r, enum lg_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct cs_result *r, enum lg_error e, const char *fmt, ...)
{
    va_list ap;
    r->err = e;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

/* HTTP: the answer said Connection: close (a refusal closes, check_status). */
static bool closes(struct cs_xfer *x)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(x->easy, "Connection", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
        return false;
    for (const char *v = h->value; *v; v++)
        if (strncasecmp(v, "close", 5) == 0) return true;
    return false;
}

static const char *status_want(const struct lg_step *st, char *buf, size_t len)
{
    if (st->expect_status == 0) return "2xx";
    snprintf(buf, len, "%d", st->expect_status);
    return buf;
}

/* The transfer failed. A real reply code (FTP 421, 550, ...) comes first:
 * libcurl reports a 421 as CURLE_OPERATION_TIMEDOUT, which is no timeout;
 * a 421 is the server's refusal at its limit (check_status). */
static void classify_failure(struct cs_xfer *x, CURLcode res, long code, struct cs_result *r)
{
    char want[16];
    const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
    if (is_ftp(x) && code >= 400) {
        r->answered = true;
        enum lg_error e = check_status(x->st, LG_PROTO_FTP, (int)code, true);
        if (x->phase == 0 && e == LG_ERR__COUNT) return; /* the step expects this negative reply */
        if (e == LG_ERR__COUNT) e = LG_ERR_BAD_STATUS;   /* the read-back must succeed */
        fail(r, e, "%sexpected status %s%s, got %ld (%s)", e == LG_ERR_REFUSED ? "refused: " : "",
             x->phase ? "2xx" : status_want(x->st, want, sizeof want),
             x->phase ? " from the read-back RETR" : "", code, msg);
        return;
    }
    long oserr = 0;
    curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
    enum lg_error e;
    if (oserr == EADDRNOTAVAIL) {
        e = LG_ERR_ADDRNOTAVAIL; /* ephemeral ports exhausted (TIME_WAIT) */
    } else {
        switch (res) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_FTP_CANT_GET_HOST:
        case CURLE_FTP_ACCEPT_FAILED:
            e = LG_ERR_CONNECT;
            break;
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_FTP_ACCEPT_TIMEOUT:
            e = LG_ERR_TIMEOUT;
            break;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
            e = LG_ERR_RESET;
            break;
        case CURLE_PARTIAL_FILE: /* FTP: 226 but not the announced size */
            e = is_ftp(x) ? LG_ERR_WRONG_LENGTH : LG_ERR_RESET;
            break;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_FTP_WEIRD_PASS_REPLY:
        case CURLE_FTP_WEIRD_PASV_REPLY:
        case CURLE_FTP_WEIRD_227_FORMAT:
        case CURLE_FTP_COULDNT_SET_TYPE:
        case CURLE_FTP_COULDNT_RETR_FILE:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_CONTENT_ENCODING:
        case CURLE_HTTP2:
        case CURLE_TOO_MANY_REDIRECTS:
            e = LG_ERR_PROTOCOL;
            break;
        case CURLE_REMOTE_FILE_NOT_FOUND:
        case CURLE_REMOTE_ACCESS_DENIED:
        case CURLE_QUOTE_ERROR:
        case CURLE_LOGIN_DENIED:
        case CURLE_UPLOAD_FAILED:
        case CURLE_REMOTE_DISK_FULL:
        case CURLE_REMOTE_FILE_EXISTS:
            e = LG_ERR_BAD_STATUS;
            r->answered = true;
            break;
        default:
            e = LG_ERR_OTHER;
            break;
        }
    }
    if (oserr)
        fail(r, e, "%s: %s (errno %ld, %s)", lg_error_name(e), msg, oserr, strerror((int)oserr));
    else
        fail(r, e, "%s: %s", lg_error_name(e), msg);
}

static void check_length_hash(struct cs_xfer *x, struct cs_result *r)
{
    const struct lg_step *st = x->st;
    if (st->expect_length < 0) return;
    if (x->body_bytes != (uint64_t)st->expect_length) {
        fail(r, LG_ERR_WRONG_LENGTH, "expected %" PRId64 " bytes, got %" PRIu64, st->expect_length,
             x->body_bytes);
        return;
    }
    uint64_t h = XXH64_digest(x->hash);
    if (h != st->expect_hash)
        fail(r, LG_ERR_WRONG_BODY, "expected xxh64 %016" PRIx64 ", got %016" PRIx64,
             st->expect_hash, h);
}

/* The verify pass's answer to a step still to learn: its length and hash
 * become the expectation (run.c); with sha256, if it has that digest. */
static void learn(struct cs_xfer *x, struct cs_result *r)
{
    if (x->sha) {
        unsigned char d[32];
        char want[65], got[65];
        sha256_final(x->sha, d);
        if (memcmp(d, x->st->expect_sha256, sizeof d) != 0) {
            sha256_hex(x->st->expect_sha256, want);
            sha256_hex(d, got);
            fail(r, LG_ERR_WRONG_BODY, "expected sha256 %s, got %s (%" PRIu64 " bytes)", want, got,
                 x->body_bytes);
            return;
        }
    }
    r->learnt = true;
    r->body_len = (int64_t)x->body_bytes;
    r->body_hash = XXH64_digest(x->hash);
}

static void check_body(struct cs_xfer *x, struct cs_result *r)
{
    const struct lg_step *st = x->st;
    const char *cap = x->cap ? x->cap : ""; /* NULL when nothing was captured */
    switch (st->expect) {
    case LG_EXPECT_NONE:
        break;
    case LG_EXPECT_TIME:
        if (!check_time_body(cap, x->cap_len))
            fail(r, LG_ERR_WRONG_BODY, "expected a date line, got \"%.*s\"",
                 (int)(x->cap_len < 60 ? x->cap_len : 60), cap);
        break;
    case LG_EXPECT_LISTING:
        if (!check_listing(st, cap, x->cap_len))
            fail(r, LG_ERR_BAD_LISTING, "expected a listing naming %s, got %zu bytes: \"%.*s\"",
                 st->expect_names, x->cap_len, (int)(x->cap_len < 80 ? x->cap_len : 80), cap);
        break;
    case LG_EXPECT_FILE:
    case LG_EXPECT_HASH:
    case LG_EXPECT_ECHO:
        check_length_hash(x, r);
        break;
    case LG_EXPECT_SAME:
    case LG_EXPECT_SHA256:
        if (to_learn(st))
            learn(x, r);
        else
            check_length_hash(x, r);
        break;
    }
}

void cs_finish(struct cs_xfer *x, CURLcode res, struct cs_result *r)
{
    long code = 0;
    memset(r, 0, sizeof *r);
    r->err = LG_ERR__COUNT;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    r->bytes = x->body_bytes;
    if (!is_ftp(x)) {
        long hs = 0;
        curl_easy_getinfo(x->easy, CURLINFO_HEADER_SIZE, &hs);
        r->bytes += (uint64_t)(hs > 0 ? hs : 0);
    }
    if (res != CURLE_OK) {
        classify_failure(x, res, code, r);
        return;
    }
    r->answered = true;
    char want[16];
    if (x->phase == 1) { /* read-back of an upload: must be the payload */
        check_length_hash(x, r);
        return;
    }
    enum lg_error e = check_status(x->st, is_ftp(x) ? LG_PROTO_FTP : LG_PROTO_HTTP, (int)code,
                                   is_ftp(x) || closes(x));
    if (e != LG_ERR__COUNT) {
        fail(r, e, "%sexpected status %s, got %ld", e == LG_ERR_REFUSED ? "refused: " : "",
             status_want(x->st, want, sizeof want), code);
        return;
    }
    if (is_ftp(x) && ftp_kind(x->st->method) == FK_STOR) {
        r->again = x->st->expect != LG_EXPECT_NONE;
        return;
    }
    check_body(x, r);
}
