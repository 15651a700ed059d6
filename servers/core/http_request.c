/* http_request.c - the HTTP/1.1 request parser (see http_request.h): the
 * end of a head, the request line, the headers the session acts on, the
 * limits, the target's path. Sans-IO and stateless: it reads the bytes it
 * is given and never touches a socket or a session. */
#include "http_request.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- the head ---------------------------------------------------------- */

long http_head_end(const char *b, size_t avail, size_t *scanned)
{
    size_t lim = avail < HTTP_HEAD_MAX ? avail : HTTP_HEAD_MAX;
    for (size_t i = *scanned; i < lim; i++) {
        const char *lf = memchr(b + i, '\n', lim - i);
        if (!lf) break;
        i = (size_t)(lf - b);
        if ((i >= 1 && b[i - 1] == '\n') || (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n'))
            return (long)(i + 1);
    }
    *scanned = lim;
    if (avail < HTTP_HEAD_MAX) return 0;
    return memchr(b, '\n', HTTP_HEAD_MAX) ? -431 : -414;
}

/* ---- request line and headers ------------------------------------------ */

/* RFC 9110 tchar: DIGIT, ALPHA and "!#$%&'*+-.^_`|~", as a bitmap of the 128
 * ASCII bytes (one shift and test a byte: the parser runs for every request). */
static bool is_tchar(unsigned char c)
{
    static const uint64_t tchar_lo = 0x03ff6cfa00000000ULL; /* bytes 0-63 */
    static const uint64_t tchar_hi = 0x57ffffffc7fffffeULL; /* bytes 64-127 */
    return c < 64 ? (tchar_lo >> c) & 1 : c < 128 && ((tchar_hi >> (c - 64)) & 1);
}

/* Visible ASCII or obs-text (bytes >= 0x80). */
static bool is_vchar(unsigned char c)
{
    return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

/* [p, p+n) is the literal lit, whatever the case (lit's length is known at
 * compile time: the call is inlined). */
static inline bool token_eq(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* Parses the request line [p, p+n). Returns 0 or an error status. */
static int parse_request_line(const char *p, size_t n, struct http_req *r)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ') return 400;
    r->method = p;
    r->mlen = i;
    r->head = i == 4 && memcmp(p, "HEAD", 4) == 0; /* methods are case-sensitive */
    size_t t = ++i;
    while (i < n && is_vchar((unsigned char)p[i]))
        i++;
    if (i == t || i >= n || p[i] != ' ') return 400;
    r->target = p + t;
    r->tlen = i - t;
    const char *v = p + i + 1;
    size_t vl = n - i - 1;
    if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return 505;
    r->minor = v[7] - '0';
    return 0;
}

/* Content-Length: 1*DIGIT, nothing else (a list like "5, 5" is refused). */
static int parse_cl(const char *v, size_t n, struct http_req *r)
{
    if (r->has_cl || n == 0) return 400;
    r->has_cl = true;
    size_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return 400;
        if (x <= HTTP_BODY_MAX) x = x * 10 + (size_t)(v[i] - '0');
    }
    r->cl = x;
    r->cl_big = x > HTTP_BODY_MAX;
    return 0;
}

/* Connection: a comma-separated token list. */
static void parse_connection(const char *v, size_t n, struct http_req *r)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (token_eq(v + s, i - s, "close")) r->conn_close = true;
        if (token_eq(v + s, i - s, "keep-alive")) r->conn_keep = true;
    }
}

static int parse_header(const char *p, size_t n, struct http_req *r)
{
    if (p[0] == ' ' || p[0] == '\t') return 400; /* obs-fold */
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ':') return 400; /* includes space before ':' */
    size_t nl = i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t e = n;
    while (e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'))
        e--;
    for (size_t k = i; k < e; k++)
        if (!is_vchar((unsigned char)p[k]) && p[k] != ' ' && p[k] != '\t') return 400;
    const char *v = p + i;
    size_t vl = e - i;
    if (token_eq(p, nl, "Host")) {
        if (r->has_host) return 400;
        r->has_host = true;
    } else if (token_eq(p, nl, "Content-Length")) {
        return parse_cl(v, vl, r);
    } else if (token_eq(p, nl, "Transfer-Encoding")) {
        r->has_te = true;
    } else if (token_eq(p, nl, "Connection")) {
        parse_connection(v, vl, r);
    } else if (token_eq(p, nl, "Expect")) {
        r->expect = token_eq(v, vl, "100-continue");
    }
    return 0;
}

/* Parses a whole head [p, p+n) (it ends with an empty line). Returns 0 or an
 * error status; r->method is set once the request line parsed. */
static int parse_head(const char *p, size_t n, struct http_req *r)
{
    bool first = true;
    while (n > 0) {
        const char *lf = memchr(p, '\n', n);
        size_t ll = (size_t)(lf - p), adv = ll + 1;
        if (ll > 0 && p[ll - 1] == '\r') ll--;
        if (memchr(p, '\r', ll)) return 400; /* a bare CR */
        if (ll == 0) return first ? 400 : 0;
        int rc = first ? parse_request_line(p, ll, r) : parse_header(p, ll, r);
        if (rc) return rc;
        first = false;
        p += adv;
        n -= adv;
    }
    return 400;
}

/* ---- the target -------------------------------------------------------- */

/* Sets r->path, r->plen (http_request.h). */
static void target_path(struct http_req *r)
{
    /* origin-form "/p?q", or absolute-form "http://host/p?q" */
    const char *raw = r->target, *end = r->target + r->tlen;
    if (r->tlen > 7 && strncasecmp(raw, "http://", 7) == 0) {
        raw = memchr(raw + 7, '/', (size_t)(end - raw - 7));
        if (!raw) {
            raw = "/";
            end = raw + 1;
        }
    }
    if (raw[0] != '/') return;
    size_t rawlen = 0;
    while (raw + rawlen < end && raw[rawlen] != '?' && raw[rawlen] != '#')
        rawlen++;
    r->path = raw;
    r->plen = rawlen;
}

/* ---- the request ------------------------------------------------------- */

int http_parse_request(const char *p, size_t n, struct http_req *r)
{
    *r = (struct http_req){0};
    int status = parse_head(p, n, r);
    if (!status && r->has_te) status = 501;
    if (!status && r->cl_big) status = 413;
    if (!status && r->minor == 1 && !r->has_host) status = 400;
    if (!status) target_path(r);
    return status;
}
