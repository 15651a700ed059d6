/* http.c - the HTTP/1.1 session: routing and building the answers (see
 * http.h); the request parser is http_request.c.
 *
 * The input and output buffers are taken from bufpool.h while there are
 * bytes in them and given back when they are empty, so a keep-alive
 * client waiting for its next request holds neither. Input
 * in[in_off..in_len) is unconsumed request bytes. pump() answers complete
 * requests one at a time while the output buffer has room for one more
 * answer (HTTP_RESERVE) and no answer is still streaming (a file sent with
 * ACT_SENDFILE, or an /echo body copied from the input as it arrives). */
#include "http.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bufpool.h"
#include "filecache.h"
#include "fsroot.h"
#include "http_request.h"

/* A cached small file goes out with its headers, so it must fit. */
_Static_assert(FILECACHE_SMALL_MAX <= HTTP_INLINE_MAX, "cached bodies are sent inline");

/* Room one answer may need: headers (a Location can echo the whole target)
 * plus an inline body. */
#define HTTP_RESERVE (HTTP_INLINE_MAX + HTTP_HEAD_MAX + 1024)

struct http {
    const struct server_ctx *ctx;
    char peer[64];
    size_t in_off, in_len; /* unconsumed input */
    size_t scanned;        /* bytes after in_off already searched for the head's end */
    size_t out_pos, out_len;
    struct filecache_file body; /* file being sent (ACT_SENDFILE) when body.fd >= 0 */
    off_t body_off;
    size_t body_left;
    size_t echo_left;       /* /echo body bytes still to copy from input to output */
    size_t discard_left;    /* request body bytes still to drop */
    bool eof;               /* the peer closed its side */
    bool failed;            /* an I/O failed: close now */
    bool closing;           /* answer no more requests: close once flushed */
    bool body_taken;        /* the current request's body went to /echo */
    time_t lm_sec;          /* the file time last_modified holds */
    char last_modified[64]; /* "Last-Modified: <IMF-fixdate>\r\n" */
    char *in;               /* HTTP_IN_CAP bytes while in_len > 0, else NULL */
    char *out; /* HTTP_OUT_CAP bytes while out_len > 0 (or an answer is built), else NULL */
};

/* ---- output ------------------------------------------------------------ */

/* The output buffer, before an answer is built; false when out of memory
 * (the connection then fails). */
static bool have_out(struct http *h)
{
    if (!h->out) h->out = bufpool_get(HTTP_OUT_CAP);
    if (!h->out) h->failed = true;
    return h->out != NULL;
}

/* Empty buffers go back to the pool: an idle connection holds none. */
static void give_back_empty(struct http *h)
{
    if (h->in && h->in_len == 0) {
        bufpool_put(h->in, HTTP_IN_CAP);
        h->in = NULL;
    }
    if (h->out && h->out_len == 0) {
        bufpool_put(h->out, HTTP_OUT_CAP);
        h->out = NULL;
    }
}

static void put(struct http *h, const void *p, size_t n)
{
    size_t room = HTTP_OUT_CAP - h->out_len;
    if (n > room) n = room; /* cannot happen: HTTP_RESERVE covers an answer */
    memcpy(h->out + h->out_len, p, n);
    h->out_len += n;
}

static void put_str(struct http *h, const char *str)
{
    put(h, str, strlen(str));
}

/* A string literal: its length is known at compile time. */
#define PUT_LIT(h, lit) put((h), "" lit, sizeof(lit) - 1)

/* Decimal, without printf: headers are built for every answer. */
static void put_num(struct http *h, size_t v)
{
    char b[24];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(h, b + i, sizeof b - i);
}

/* IMF-fixdate, locale-independent: "Sun, 06 Nov 1994 08:49:37 GMT". */
/* Two decimal digits of v (0..99) at p. */
static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* t as an IMF-fixdate (RFC 9110 5.6.7), "Sun, 06 Nov 1994 08:49:37 GMT", in
 * buf (at least IMF_DATE_CAP bytes). Written digit by digit, not with
 * snprintf: the same instructions whatever the date (snprintf's padding made
 * the cost of a request depend on the time of day, which the instruction
 * gate, ci/regress, would read as a regression). */
#define IMF_DATE_CAP 30
#define IMF_DATE_LEN (IMF_DATE_CAP - 1) /* always 29 characters */
static void imf_date(time_t t, char *buf)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        memcpy(buf, "Thu, 01 Jan 1970 00:00:00 GMT", IMF_DATE_CAP);
        return;
    }
    char *p = buf;
    memcpy(p, days[tm.tm_wday % 7], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put2(p, tm.tm_mday);
    *p++ = ' ';
    memcpy(p, months[tm.tm_mon % 12], 3);
    p += 3;
    *p++ = ' ';
    p = put2(p, (tm.tm_year + 1900) / 100);
    p = put2(p, (tm.tm_year + 1900) % 100);
    *p++ = ' ';
    p = put2(p, tm.tm_hour);
    *p++ = ':';
    p = put2(p, tm.tm_min);
    *p++ = ':';
    p = put2(p, tm.tm_sec);
    memcpy(p, " GMT", 5);
}

/* The Date header's value, formatted once a second per thread (as nginx's
 * cached time): a model that makes a session per connection (iterative,
 * fork, the pools) would otherwise format it for every connection. */
static const char *date_now(void)
{
    static _Thread_local time_t cached_sec;
    static _Thread_local char cached[IMF_DATE_CAP];
    time_t now = time(NULL);
    if (now != cached_sec || !cached[0]) {
        cached_sec = now;
        imf_date(now, cached);
    }
    return cached;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static void log_req(struct http *h, const struct http_req *r, int status, size_t bytes)
{
    if (!h->ctx || !h->ctx->access_log) return;
    int ml = r && r->method ? (int)r->mlen : 1;
    int tl = r && r->target ? (int)(r->tlen > 256 ? 256 : r->tlen) : 1;
    fprintf(stderr, "%s \"%.*s %.*s\" %d %zu\n", h->peer, ml, r && r->method ? r->method : "-", tl,
            r && r->target ? r->target : "-", status, bytes);
}

/* Decides keep-alive for r and writes the Connection header if needed. */
static void put_connection(struct http *h, const struct http_req *r, bool force_close)
{
    /* A client waiting for 100-continue may never send a body we would
     * otherwise drop: the stream's position is unknown, so close. */
    if (r && r->expect && r->cl && !h->body_taken) force_close = true;
    /* the iterative model: one answer per connection so others get a turn */
    if (h->ctx && h->ctx->one_request) force_close = true;
    bool keep = !force_close && r && r->method &&
                (r->minor == 1 ? !r->conn_close : r->conn_keep && !r->conn_close);
    if (!keep) {
        put_str(h, "Connection: close\r\n");
        h->closing = true;
    } else if (r->minor == 0) {
        put_str(h, "Connection: keep-alive\r\n");
    }
}

/* Status line and the common headers, up to and including the blank line. */
static void put_head(struct http *h, const struct http_req *r, int status, const char *ctype,
                     size_t clen, bool force_close, const char *extra)
{
    PUT_LIT(h, "HTTP/1.1 ");
    put_num(h, (size_t)status);
    PUT_LIT(h, " ");
    put_str(h, reason(status));
    PUT_LIT(h, "\r\nServer: refserver\r\nDate: ");
    put(h, date_now(), IMF_DATE_LEN);
    if (ctype) {
        PUT_LIT(h, "\r\nContent-Type: ");
        put_str(h, ctype);
    }
    PUT_LIT(h, "\r\nContent-Length: ");
    put_num(h, clen);
    PUT_LIT(h, "\r\n");
    if (extra) put_str(h, extra);
    put_connection(h, r, force_close);
    PUT_LIT(h, "\r\n");
}

/* A short text answer: errors, redirects. */
static void answer_text(struct http *h, const struct http_req *r, int status, bool close,
                        const char *extra)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    put_head(h, r, status, "text/plain", (size_t)n, close, extra);
    bool head = r && r->head;
    if (!head) put(h, body, (size_t)n);
    log_req(h, r, status, head ? 0 : (size_t)n);
}

/* ---- answers ----------------------------------------------------------- */

static const char *content_type(const char *path)
{
    static const struct {
        char ext[5]; /* lower case, zero-padded */
        const char *type;
    } types[] = {
        {"html", "text/html"},      {"htm", "text/html"},
        {"txt", "text/plain"},      {"css", "text/css"},
        {"js", "text/javascript"},  {"json", "application/json"},
        {"png", "image/png"},       {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},     {"gif", "image/gif"},
        {"svg", "image/svg+xml"},   {"ico", "image/vnd.microsoft.icon"},
        {"pdf", "application/pdf"}, {"wasm", "application/wasm"},
        {"xml", "application/xml"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    /* the extension lower-cased into the table's width, then one fixed-size
     * compare an entry (as FTP's command lookup: no strcasecmp per entry) */
    char ext[sizeof types[0].ext] = {0};
    size_t n = dot ? strlen(dot + 1) : sizeof ext;
    if (n >= sizeof ext) return "application/octet-stream";
    for (size_t i = 0; i < n; i++)
        ext[i] = (char)(dot[1 + i] >= 'A' && dot[1 + i] <= 'Z' ? dot[1 + i] | 0x20 : dot[1 + i]);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (memcmp(ext, types[i].ext, sizeof ext) == 0) return types[i].type;
    return "application/octet-stream";
}

static void answer_time(struct http *h, const struct http_req *r)
{
    time_t now = time(NULL);
    struct tm tm;
    char body[32];
    size_t n = 0;
    if (gmtime_r(&now, &tm)) n = strftime(body, sizeof body, "%Y-%m-%dT%H:%M:%SZ\n", &tm);
    if (n == 0) {
        answer_text(h, r, 500, false, NULL);
        return;
    }
    put_head(h, r, 200, "text/plain", n, false, "Cache-Control: no-store\r\n");
    if (!r->head) put(h, body, n);
    log_req(h, r, 200, r->head ? 0 : n);
}

static void answer_echo(struct http *h, const struct http_req *r)
{
    h->body_taken = true;
    size_t avail = h->in_len - h->in_off;
    if (r->expect && r->minor == 1 && avail < r->cl) put(h, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    put_head(h, r, 200, "application/octet-stream", r->cl, false, NULL);
    log_req(h, r, 200, r->cl);
    if (r->cl <= HTTP_INLINE_MAX && avail >= r->cl) {
        put(h, h->in + h->in_off, r->cl); /* the whole body is here: one write */
        h->in_off += r->cl;
    } else {
        h->echo_left = r->cl;
    }
}

static int fs_status(int rc)
{
    switch (rc) {
    case FSROOT_EBADPATH:
        return 400;
    case FSROOT_EFORBIDDEN:
        return 403;
    case FSROOT_ENOTFOUND:
        return 404;
    case FSROOT_ETOOLONG:
        return 414;
    default:
        return 500;
    }
}

/* Copies a small file that is not in memory right after its headers. */
static void copy_inline(struct http *h, int fd, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, h->out + h->out_len + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    h->out_len += got;
    if (got < size) h->closing = true; /* the file shrank: the client sees it short */
}

/* Answers with a regular file (given back to the cache here or once sent):
 * a small one goes out with its headers (one ACT_WRITE; from memory when
 * cached), a larger one as ACT_SENDFILE. */
static void answer_file(struct http *h, const struct http_req *r, struct filecache_file *f,
                        const char *name)
{
    size_t size = (size_t)f->st.st_size;
    if (f->st.st_mtime != h->lm_sec || !h->last_modified[0]) { /* files mostly keep their time */
        char mod[IMF_DATE_CAP];
        imf_date(f->st.st_mtime, mod);
        snprintf(h->last_modified, sizeof h->last_modified, "Last-Modified: %s\r\n", mod);
        h->lm_sec = f->st.st_mtime;
    }
    put_head(h, r, 200, content_type(name), size, false, h->last_modified);
    log_req(h, r, 200, r->head ? 0 : size);
    if (r->head || size == 0) {
        filecache_release(f);
    } else if (f->body) {
        put(h, f->body, size);
        filecache_release(f);
    } else if (size <= HTTP_INLINE_MAX) {
        copy_inline(h, f->fd, size);
        filecache_release(f);
    } else {
        h->body = *f;
        h->body_off = 0;
        h->body_left = size;
    }
}

/* Percent-encodes a canonical path for a Location header: RFC 3986 pchar
 * and '/' stay, every other byte becomes %XX. False when it does not fit. */
static bool encode_path(const char *path, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~!$&'()*+,;=:@/", *p);
        if (o + (plain ? 1 : 3) >= cap) return false;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return true;
}

/* 301 to the directory's canonical path with a slash: built from the
 * normalised path, never from the target as sent ("//host" would be a
 * network-path reference, an open redirect to another host). */
/* noinline: its 16 KiB of buffers stay out of route()'s frame, where every
 * request would reach past them into pages an idle thread or coroutine
 * then keeps. */
__attribute__((noinline)) static void answer_dir_redirect(struct http *h, const struct http_req *r,
                                                          const char *path)
{
    char enc[HTTP_HEAD_MAX], loc[HTTP_HEAD_MAX + 32];
    if (!encode_path(path, enc, sizeof enc)) {
        answer_text(h, r, 414, false, NULL);
        return;
    }
    /* the root is "/" already: "/." must not become "//" */
    snprintf(loc, sizeof loc, "Location: %s%s\r\n", enc, strcmp(path, "/") == 0 ? "" : "/");
    answer_text(h, r, 301, false, loc);
}

/* GET/HEAD of a path under the root (decoded: the target's path,
 * percent-decoded). */
static void answer_static(struct http *h, const struct http_req *r, const char *decoded)
{
    const struct fsroot *root = h->ctx ? h->ctx->root : NULL;
    if (!root) {
        answer_text(h, r, 404, false, NULL);
        return;
    }
    struct filecache *files = fsroot_cache(root);
    char path[FSROOT_PATH_MAX];
    struct filecache_file f;
    int rc = fsroot_resolve(root, "/", decoded, 0, path, sizeof path);
    if (rc == FSROOT_OK) rc = filecache_open(files, path, &f);
    if (rc != FSROOT_OK) {
        answer_text(h, r, fs_status(rc), false, NULL);
        return;
    }
    bool slash = decoded[strlen(decoded) - 1] == '/';
    if (S_ISDIR(f.st.st_mode)) {
        filecache_release(&f);
        if (!slash) {
            answer_dir_redirect(h, r, path);
            return;
        }
        size_t pl = strlen(path);
        if (pl + sizeof "/index.html" > sizeof path) {
            answer_text(h, r, 414, false, NULL);
            return;
        }
        memcpy(path + pl - (pl == 1), "/index.html", sizeof "/index.html");
        rc = filecache_open(files, path, &f);
        if (rc == FSROOT_OK && !S_ISREG(f.st.st_mode)) {
            filecache_release(&f);
            rc = FSROOT_ENOTFOUND;
        }
        if (rc != FSROOT_OK) {
            answer_text(h, r, fs_status(rc), false, NULL);
            return;
        }
    } else if (slash) {
        filecache_release(&f);
        answer_text(h, r, 404, false, NULL);
        return;
    }
    answer_file(h, r, &f, path);
}

static bool method_is(const struct http_req *r, const char *m)
{
    return r->mlen == strlen(m) && memcmp(r->method, m, r->mlen) == 0;
}

#ifdef SERVERMODELS_REGRESS_INJECT
/* A deliberate slowdown of SERVERMODELS_REGRESS_INJECT loop turns per request,
 * compiled in only by -DREGRESS_INJECT=ON: the self-test of `make regress`
 * (tests/integration/test_regress_gate.py) must see the gate fail on it. */
static void regress_inject(void)
{
    for (volatile unsigned i = 0; i < SERVERMODELS_REGRESS_INJECT; i++)
        continue;
}
#endif

/* Answers a parsed, valid request. */
static void route(struct http *h, const struct http_req *r)
{
#ifdef SERVERMODELS_REGRESS_INJECT
    regress_inject();
#endif
    static const char *const other[] = {"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"};
    bool get = method_is(r, "GET") || r->head, post = method_is(r, "POST"), known = get || post;
    for (size_t i = 0; !known && i < sizeof other / sizeof other[0]; i++)
        known = method_is(r, other[i]);
    if (!known) {
        answer_text(h, r, 501, true, NULL);
        return;
    }
    if (!r->path) {
        answer_text(h, r, 400, true, NULL);
        return;
    }
    char decoded[FSROOT_PATH_MAX];
    int rc = fsroot_decode(r->path, r->plen, decoded, sizeof decoded);
    if (rc != FSROOT_OK) {
        answer_text(h, r, fs_status(rc), false, NULL);
        return;
    }
    if (strcmp(decoded, "/time") == 0) {
        if (get)
            answer_time(h, r);
        else
            answer_text(h, r, 405, false, "Allow: GET, HEAD\r\n");
    } else if (strcmp(decoded, "/echo") == 0) {
        if (post)
            answer_echo(h, r);
        else
            answer_text(h, r, 405, false, "Allow: POST\r\n");
    } else if (!get) {
        answer_text(h, r, 405, false, "Allow: GET, HEAD\r\n");
    } else {
        answer_static(h, r, decoded);
    }
}

/* Answers the request at in_off if its head is complete. Returns false when
 * more input is needed. */
static bool handle_one(struct http *h)
{
    /* RFC 9112 2.2: empty lines before a request line are ignored. */
    while (h->scanned == 0 && h->in_off < h->in_len &&
           (h->in[h->in_off] == '\r' || h->in[h->in_off] == '\n'))
        h->in_off++;
    long hl = http_head_end(h->in + h->in_off, h->in_len - h->in_off, &h->scanned);
    if (hl == 0) return false;
    if (!have_out(h)) return false;
    if (hl < 0) {
        answer_text(h, NULL, (int)-hl, true, NULL);
        return true;
    }
    struct http_req r;
    h->body_taken = false;
    int status = http_parse_request(h->in + h->in_off, (size_t)hl, &r);
    h->in_off += (size_t)hl;
    h->scanned = 0;
    if (status) {
        answer_text(h, &r, status, true, NULL);
        return true;
    }
    /* The body (if any) follows the head: /echo streams it, others drop it. */
    route(h, &r);
    if (!h->body_taken && !h->closing) h->discard_left = r.cl;
    return true;
}

/* Drops consumed input, answers what can be answered. */
static void answer_ready(struct http *h)
{
    for (;;) {
        if (h->in_off == h->in_len) h->in_off = h->in_len = h->scanned = 0;
        if (h->failed || h->closing || h->body.fd >= 0 || h->echo_left) return;
        if (h->discard_left) {
            size_t n = h->in_len - h->in_off;
            if (n > h->discard_left) n = h->discard_left;
            h->in_off += n;
            h->discard_left -= n;
            if (h->discard_left) return;
            continue;
        }
        if (h->out_len && h->out_len + HTTP_RESERVE > HTTP_OUT_CAP) return;
        if (h->in_len == 0 || !handle_one(h)) return;
    }
}

static void pump(struct http *h)
{
    answer_ready(h);
    give_back_empty(h);
}

/* ---- the proto interface ----------------------------------------------- */

static void *http_create(const struct server_ctx *ctx, const char *peer)
{
    struct http *h = malloc(sizeof *h);
    if (!h) return NULL;
    memset(h, 0, sizeof *h);
    h->ctx = ctx;
    snprintf(h->peer, sizeof h->peer, "%s", peer ? peer : "-");
    h->body.fd = -1;
    return h;
}

/* Nothing buffered (the common case: a keep-alive client's next request):
 * the requests are answered straight from the caller's bytes, and only
 * what is left (a head not complete yet, a body still streaming, input
 * behind a full output) is copied into a buffer of the session's own. No
 * pointer into buf outlives the call: answers are built before it returns. */
static size_t feed_in_place(struct http *h, const void *buf, size_t len)
{
    if (len > HTTP_IN_CAP) len = HTTP_IN_CAP; /* as much as a buffered feed takes */
    h->in = (char *)buf;                      /* borrowed, only read */
    h->in_len = len;
    answer_ready(h);
    size_t done = h->in_len ? h->in_off : len, left = h->in_len - h->in_off;
    h->in = NULL;
    h->in_off = h->in_len = 0;
    if (left && !h->failed) {
        if (!(h->in = bufpool_get(HTTP_IN_CAP))) {
            h->failed = true; /* out of memory: the connection ends */
            return len;
        }
        memcpy(h->in, (const char *)buf + done, left);
        h->in_len = left;
    }
    give_back_empty(h);
    return done + left;
}

static size_t http_feed(void *state, const void *buf, size_t len)
{
    struct http *h = state;
    if (len == 0) {
        h->eof = true;
        pump(h);
        return 0;
    }
    if (h->failed || (h->closing && !h->echo_left)) return len; /* nothing more is read */
    if (!h->in) return feed_in_place(h, buf, len);
    if (h->in_off > 0) { /* compact: no action points into in[] during feed */
        memmove(h->in, h->in + h->in_off, h->in_len - h->in_off);
        h->in_len -= h->in_off;
        h->in_off = 0;
    }
    if (!h->in && !(h->in = bufpool_get(HTTP_IN_CAP))) {
        h->failed = true; /* out of memory: the connection ends */
        return len;
    }
    size_t room = HTTP_IN_CAP - h->in_len;
    size_t n = len < room ? len : room;
    memcpy(h->in + h->in_len, buf, n);
    h->in_len += n;
    pump(h);
    return n;
}

static void http_next(void *state, struct action *out)
{
    struct http *h = state;
    out->kind = ACT_CLOSE;
    if (h->failed) return;
    if (h->out_pos < h->out_len) {
        out->kind = ACT_WRITE;
        out->buf = h->out + h->out_pos;
        out->len = h->out_len - h->out_pos;
        out->more = h->body.fd >= 0;
    } else if (h->body.fd >= 0) {
        out->kind = ACT_SENDFILE;
        out->fd = h->body.fd;
        out->off = h->body_off;
        out->count = h->body_left;
    } else if (h->echo_left) {
        size_t avail = h->in_len - h->in_off;
        if (avail) {
            out->kind = ACT_WRITE;
            out->buf = h->in + h->in_off;
            out->len = avail < h->echo_left ? avail : h->echo_left;
        } else if (!h->eof) {
            out->kind = ACT_READ;
        }
    } else if (!h->closing && !h->eof) {
        out->kind = ACT_READ;
    }
}

static void http_done(void *state, const struct action *a, ssize_t result)
{
    struct http *h = state;
    if (result < 0) {
        h->failed = true;
        return;
    }
    size_t n = (size_t)result;
    if (a->kind == ACT_WRITE) {
        const char *p = a->buf;
        if (n > a->len) n = a->len;
        if (h->out_pos < h->out_len && p == h->out + h->out_pos) {
            h->out_pos += n;
            if (h->out_pos == h->out_len) h->out_pos = h->out_len = 0;
        } else {
            h->in_off += n;
            h->echo_left -= n;
        }
    } else if (a->kind == ACT_SENDFILE && h->body.fd >= 0) {
        if (n > h->body_left) n = h->body_left;
        if (n == 0) {
            h->failed = true; /* the file ended early */
            return;
        }
        h->body_off += (off_t)n;
        h->body_left -= n;
        if (h->body_left == 0) {
            filecache_release(&h->body);
        }
    }
    pump(h);
}

/* Input phase, for the driver's timeouts (conn.h): a body being read, a
 * head begun but not complete, or nothing of the next request. */
static enum session_phase http_phase(const void *state)
{
    const struct http *h = state;
    if (h->echo_left || h->discard_left) return PHASE_BODY;
    if (h->in_len > h->in_off) return PHASE_HEAD;
    return PHASE_IDLE;
}

/* A timeout passed. An unfinished head gets 408 and the connection closes
 * once it is written; otherwise (idle, a body or the client not reading)
 * there is nothing useful to say: close now. */
static void http_expire(void *state)
{
    struct http *h = state;
    bool output = h->out_pos < h->out_len || h->body.fd >= 0 || h->echo_left;
    if (http_phase(h) != PHASE_HEAD || output || h->closing || h->failed) {
        h->failed = true;
        return;
    }
    h->in_off = h->in_len = h->scanned = 0; /* the partial head is dropped */
    if (have_out(h)) answer_text(h, NULL, 408, true, NULL);
    give_back_empty(h);
}

static void http_destroy(void *state)
{
    struct http *h = state;
    if (!h) return;
    filecache_release(&h->body);
    bufpool_put(h->in, HTTP_IN_CAP);
    bufpool_put(h->out, HTTP_OUT_CAP);
    free(h);
}

const struct proto http_proto = {
    .name = "http",
    .create = http_create,
    .feed = http_feed,
    .next = http_next,
    .done = http_done,
    .destroy = http_destroy,
    .phase = http_phase,
    .expire = http_expire,
    .refusal = "HTTP/1.1 503 Service Unavailable\r\n"
               "Server: refserver\r\n"
               "Content-Type: text/plain\r\n"
               "Content-Length: 12\r\n"
               "Connection: close\r\n"
               "\r\n"
               "server busy\n",
};
