/* httpparse.c - streaming HTTP/1.1 response parser (see httpparse.h).
 *
 * Lines (status, headers, chunk sizes, trailers) are found with memchr and
 * parsed in place when they lie whole in the fed slice; only a line split
 * across slices is copied, and only its first HP_LINE_MAX bytes (enough for
 * the few headers a client must understand). Body bytes are never copied. */
#include "httpparse.h"

#include <string.h>

enum {
    S_STATUS,     /* status line */
    S_HEADER,     /* header lines until the empty line */
    S_BODY_CL,    /* body delimited by Content-Length */
    S_BODY_EOF,   /* body delimited by the end of the connection */
    S_CHUNK_SIZE, /* chunk-size [; ext] line */
    S_CHUNK_DATA,
    S_CHUNK_CRLF, /* the line end after a chunk's data */
    S_TRAILER,    /* trailer fields after the last chunk */
    S_END,        /* complete: the next hp_feed() reports HP_DONE */
    S_DONE,       /* HP_DONE reported */
};

#define CHUNK_MAX (UINT64_C(1) << 60)

void hp_reset(struct hp *p, bool head)
{
    p->status = 0;
    p->content_length = -1;
    p->chunked = false;
    p->close = false;
    p->headers_done = false;
    p->body_len = 0;
    p->head_len = 0;
    p->error = NULL;
    p->head = head;
    p->http10 = false;
    p->keepalive10 = false;
    p->state = S_STATUS;
    p->line_long = false;
    p->linelen = 0;
    p->remaining = 0;
    p->head_total = 0;
}

bool hp_idle(const struct hp *p)
{
    return p->state == S_STATUS && p->head_total == 0 && p->linelen == 0;
}

static enum hp_ev fail(struct hp *p, const char *why)
{
    p->error = why;
    p->state = S_DONE;
    return HP_ERROR;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive equality of s[0..n) with the lower-case word w. */
static bool ieq(const char *s, size_t n, const char *w)
{
    size_t i;
    for (i = 0; i < n && w[i]; i++)
        if (lower(s[i]) != w[i])
            return false;
    return i == n && w[i] == '\0';
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Find the next comma-separated token of a list value; false at the end. */
static bool next_token(const char **v, size_t *vn, const char **tok, size_t *tn)
{
    while (*vn > 0) {
        const char *comma = memchr(*v, ',', *vn);
        size_t len = comma ? (size_t)(comma - *v) : *vn;
        *tok = *v;
        *tn = len;
        *v += comma ? len + 1 : len;
        *vn -= comma ? len + 1 : len;
        trim(tok, tn);
        if (*tn > 0)
            return true;
    }
    return false;
}

static enum hp_ev parse_status(struct hp *p, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
        return fail(p, "malformed status line");
    if (n > 12 && s[12] != ' ')
        return fail(p, "malformed status code");
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return fail(p, "malformed status code");
        st = st * 10 + (s[i] - '0');
    }
    if (st < 100 || st > 599)
        return fail(p, "status code out of range");
    p->status = st;
    p->http10 = s[7] == '0';
    p->state = S_HEADER;
    return HP_MORE;
}

static enum hp_ev header_content_length(struct hp *p, const char *v, size_t vn)
{
    if (vn == 0 || vn > 18)
        return fail(p, "bad Content-Length");
    int64_t cl = 0;
    for (size_t i = 0; i < vn; i++) {
        if (v[i] < '0' || v[i] > '9')
            return fail(p, "bad Content-Length");
        cl = cl * 10 + (v[i] - '0');
    }
    if (p->content_length >= 0 && p->content_length != cl)
        return fail(p, "conflicting Content-Length headers");
    p->content_length = cl;
    return HP_MORE;
}

static void header_transfer_encoding(struct hp *p, const char *v, size_t vn)
{
    const char *tok, *last = NULL;
    size_t tn, lastn = 0;
    while (next_token(&v, &vn, &tok, &tn)) {
        last = tok;
        lastn = tn;
    }
    /* chunked last: chunked framing. Any other coding last: the body runs
     * until the connection closes (RFC 9112 section 6.3). */
    p->chunked = last && ieq(last, lastn, "chunked");
    if (!p->chunked)
        p->close = true;
}

static void header_connection(struct hp *p, const char *v, size_t vn)
{
    const char *tok;
    size_t tn;
    while (next_token(&v, &vn, &tok, &tn)) {
        if (ieq(tok, tn, "close"))
            p->close = true;
        else if (ieq(tok, tn, "keep-alive"))
            p->keepalive10 = true;
    }
}

/* The headers are complete: decide how the body is delimited. */
static enum hp_ev end_of_headers(struct hp *p)
{
    if (p->status < 200) {
        if (p->status == 101)
            return fail(p, "unexpected 101 Switching Protocols");
        bool head = p->head; /* 1xx interim answer: skip it, the real one follows */
        uint64_t total = p->head_total;
        hp_reset(p, head);
        p->head_total = total;
        return HP_MORE;
    }
    p->headers_done = true;
    p->head_len = p->head_total;
    if (p->http10 && !p->keepalive10)
        p->close = true;
    if (p->head || p->status == 204 || p->status == 304) {
        p->state = S_END;
    } else if (p->chunked) {
        p->state = S_CHUNK_SIZE;
    } else if (p->close && p->content_length < 0) {
        p->state = S_BODY_EOF; /* also Transfer-Encoding other than chunked */
    } else if (p->content_length >= 0) {
        p->remaining = (uint64_t)p->content_length;
        p->state = p->remaining ? S_BODY_CL : S_END;
    } else {
        p->close = true;
        p->state = S_BODY_EOF;
    }
    return HP_MORE;
}

static enum hp_ev parse_header(struct hp *p, const char *s, size_t n, bool truncated)
{
    if (n == 0)
        return end_of_headers(p);
    if (s[0] == ' ' || s[0] == '\t')
        return HP_MORE; /* obsolete line folding: continues a header we ignore */
    const char *colon = memchr(s, ':', n);
    if (!colon && truncated) { /* a name longer than the kept prefix: not framing */
        for (size_t i = 0; i < n; i++)
            if (!is_tchar((unsigned char)s[i]))
                return fail(p, "malformed header name");
        return HP_MORE;
    }
    if (!colon || colon == s)
        return fail(p, "malformed header line");
    size_t nn = (size_t)(colon - s);
    for (size_t i = 0; i < nn; i++)
        if (!is_tchar((unsigned char)s[i]))
            return fail(p, "malformed header name");
    const char *v = colon + 1;
    size_t vn = n - nn - 1;
    trim(&v, &vn);
    /* the length first: most headers are none of the three */
    bool cl = nn == 14 && ieq(s, nn, "content-length");
    bool te = nn == 17 && ieq(s, nn, "transfer-encoding");
    bool conn = nn == 10 && ieq(s, nn, "connection");
    if ((cl || te || conn) && truncated)
        return fail(p, "framing header too long");
    if (cl)
        return header_content_length(p, v, vn);
    if (te)
        header_transfer_encoding(p, v, vn);
    else if (conn)
        header_connection(p, v, vn);
    return HP_MORE;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static enum hp_ev parse_chunk_size(struct hp *p, const char *s, size_t n, bool truncated)
{
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n && hexval(s[i]) >= 0; i++) {
        size = size * 16 + (uint64_t)hexval(s[i]);
        if (size > CHUNK_MAX)
            return fail(p, "chunk size too large");
    }
    if (i == 0)
        return fail(p, "malformed chunk size");
    if (i == n && truncated) /* the digits go on past the kept prefix */
        return fail(p, "chunk size line too long");
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && s[i] != ';')
        return fail(p, "malformed chunk size");
    /* chunk extensions (after ';') are ignored */
    if (size == 0) {
        p->state = S_TRAILER;
    } else {
        p->remaining = size;
        p->state = S_CHUNK_DATA;
    }
    return HP_MORE;
}

/* One complete line (without its line end) in the current state. */
static enum hp_ev on_line(struct hp *p, const char *s, size_t n, bool truncated)
{
    switch (p->state) {
    case S_STATUS:
        if (truncated)
            return fail(p, "status line too long");
        return parse_status(p, s, n);
    case S_HEADER:
        return parse_header(p, s, n, truncated);
    case S_CHUNK_SIZE:
        return parse_chunk_size(p, s, n, truncated);
    case S_CHUNK_CRLF:
        if (n != 0)
            return fail(p, "missing line end after chunk data");
        p->state = S_CHUNK_SIZE;
        return HP_MORE;
    case S_TRAILER:
        if (n == 0)
            p->state = S_END;
        return HP_MORE; /* trailer fields are ignored */
    default:
        return fail(p, "internal: line in a body state");
    }
}

/* Line states: find the end of the line in buf (or keep a prefix of it). */
/* A status line must start with "HTTP/": say so at the first wrong byte
 * instead of waiting for a line end that may never come. */
static bool status_prefix_ok(const struct hp *p, const char *buf, size_t take)
{
    static const char prefix[] = "HTTP/";
    for (size_t i = p->linelen, k = 0; i < 5 && k < take; i++, k++)
        if (buf[k] != prefix[i])
            return false;
    return true;
}

static enum hp_ev feed_line(struct hp *p, const char *buf, size_t len, size_t *used)
{
    const char *nl = memchr(buf, '\n', len);
    size_t take = nl ? (size_t)(nl - buf) + 1 : len;
    if (p->state == S_STATUS && p->linelen < 5 && !status_prefix_ok(p, buf, take)) {
        *used = 0;
        return fail(p, "not an HTTP answer");
    }
    *used = take;
    if (!p->headers_done) { /* chunk framing after the headers is not "head" */
        p->head_total += take;
        if (p->head_total > HP_HEAD_MAX)
            return fail(p, "header section too long");
    }
    if (nl && p->linelen == 0 && !p->line_long) {
        size_t n = take - 1; /* whole line in the slice: parse in place */
        /* the same HP_LINE_MAX prefix a line split across slices keeps, so
         * how TCP cut the stream never changes what it means */
        if (n > HP_LINE_MAX)
            return on_line(p, buf, HP_LINE_MAX, true);
        if (n > 0 && buf[n - 1] == '\r')
            n--;
        return on_line(p, buf, n, false);
    }
    size_t keep = nl ? take - 1 : take;
    size_t room = HP_LINE_MAX - p->linelen;
    if (keep > room) {
        keep = room;
        p->line_long = true;
    }
    memcpy(p->line + p->linelen, buf, keep);
    p->linelen = (uint16_t)(p->linelen + keep);
    if (!nl)
        return HP_MORE;
    size_t n = p->linelen;
    bool truncated = p->line_long;
    if (!truncated && n > 0 && p->line[n - 1] == '\r')
        n--;
    p->linelen = 0;
    p->line_long = false;
    return on_line(p, p->line, n, truncated);
}

static enum hp_ev feed_body(struct hp *p, const char *buf, size_t len, size_t *used,
                            const char **body, size_t *bodylen)
{
    size_t n = len;
    if (p->state != S_BODY_EOF && n > p->remaining)
        n = (size_t)p->remaining;
    *used += n;
    *body = buf;
    *bodylen = n;
    p->body_len += n;
    if (p->state != S_BODY_EOF) {
        p->remaining -= n;
        if (p->remaining == 0)
            p->state = p->state == S_CHUNK_DATA ? S_CHUNK_CRLF : S_END;
    }
    return HP_BODY;
}

enum hp_ev hp_feed(struct hp *p, const char *buf, size_t len, size_t *used,
                   const char **body, size_t *bodylen)
{
    *used = 0;
    for (;;) {
        switch (p->state) {
        case S_END:
            p->state = S_DONE;
            return HP_DONE;
        case S_DONE:
            if (len == 0)
                return HP_MORE;
            return fail(p, "bytes after the end of the answer");
        case S_BODY_CL:
        case S_BODY_EOF:
        case S_CHUNK_DATA:
            if (len == 0)
                return HP_MORE;
            return feed_body(p, buf, len, used, body, bodylen);
        default: {
            if (len == 0)
                return HP_MORE;
            size_t u;
            enum hp_ev ev = feed_line(p, buf, len, &u);
            *used += u;
            buf += u;
            len -= u;
            if (ev != HP_MORE)
                return ev;
            break; /* next line, body bytes or HP_DONE in this same call */
        }
        }
    }
}

enum hp_ev hp_eof(struct hp *p)
{
    switch (p->state) {
    case S_BODY_EOF:
        p->state = S_DONE;
        return HP_DONE;
    case S_END:
        p->state = S_DONE;
        return HP_DONE;
    case S_DONE:
        return p->error ? HP_ERROR : HP_DONE;
    case S_STATUS:
        if (hp_idle(p))
            return HP_MORE;
        /* fall through */
    default:
        return fail(p, "connection closed before the end of the answer");
    }
}
