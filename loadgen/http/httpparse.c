/* httpparse.c - streaming HTTP/1.1 response parser (see httpparse.h).
 *
 * Lines (status, headers, chunk sizes, trailers) end at the first control
 * byte, found 16 bytes at a time with SSE2 (a byte table elsewhere), and are
 * parsed in place when they lie whole in the fed slice; only a line split
 * across slices is copied, and only its first HP_LINE_MAX bytes (enough for
 * the few headers a client must understand). Body bytes are never copied.
 * Header names are checked as tokens (SSE2 for the letters, digits and '-'
 * they mostly are, the byte table for the rest) and matched by length
 * first, then 8 bytes at a time: no per-byte function call on the hot path
 * (httpscan.h). */
#include "httpparse.h"

#include <string.h>

#include "httpscan.h"

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
    p->framing = HP_FRAME_NONE;
    p->chunked = false;
    p->close = false;
    p->headers_done = false;
    p->body_len = 0;
    p->head_len = 0;
    p->error = NULL;
    p->head = head;
    p->http10 = false;
    p->keepalive10 = false;
    p->te = false;
    p->te_chunked = false;
    p->te_chunks = 0;
    p->cl_bad = false;
    p->framing_hdr = false;
    p->cr = false;
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

static inline void trim(const char **s, size_t *n)
{
    while (*n > 0 && hs_is_ows(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && hs_is_ows((*s)[*n - 1]))
        (*n)--;
}

/* Find the next comma-separated element of a list value; false at the end.
 * Empty elements are skipped (RFC 9110 section 5.6.1). */
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
        if (*tn > 0) return true;
    }
    return false;
}

/* ---- status line and headers ----------------------------------------- */

static enum hp_ev parse_status(struct hp *p, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
        return fail(p, "malformed status line");
    if (n > 12 && s[12] != ' ') return fail(p, "malformed status code");
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') return fail(p, "malformed status code");
        st = st * 10 + (s[i] - '0');
    }
    if (st < 100 || st > 599) return fail(p, "status code out of range");
    p->status = st;
    p->http10 = s[7] == '0';
    p->state = S_HEADER;
    return HP_MORE;
}

/* Content-Length = 1*DIGIT; a list of equal values ("3, 3") and repeated
 * equal headers count once (RFC 9110 section 8.6). Anything else marks it
 * invalid; end_of_headers() decides what that means. */
static void header_content_length(struct hp *p, const char *v, size_t vn)
{
    size_t i = 0;
    for (;;) {
        while (i < vn && hs_is_ows(v[i]))
            i++;
        size_t digits = i;
        int64_t cl = 0;
        for (; i < vn && v[i] >= '0' && v[i] <= '9'; i++) {
            if (cl > (INT64_MAX - 9) / 10) break; /* overflow */
            cl = cl * 10 + (v[i] - '0');
        }
        while (i < vn && hs_is_ows(v[i]))
            i++;
        bool ok = i > digits && (i == vn || v[i] == ',') &&
                  (p->content_length < 0 || p->content_length == cl);
        if (!ok) {
            p->cl_bad = true;
            return;
        }
        p->content_length = cl;
        if (i++ == vn) return;
    }
}

/* Transfer-Encoding: a list of codings (with ";" parameters); only the
 * final one frames, over every Transfer-Encoding header. */
static void header_transfer_encoding(struct hp *p, const char *v, size_t vn)
{
    const char *tok;
    size_t tn;
    p->te = true;
    while (next_token(&v, &vn, &tok, &tn)) {
        const char *semi = memchr(tok, ';', tn);
        size_t name = semi ? (size_t)(semi - tok) : tn;
        trim(&tok, &name);
        p->te_chunked = HS_WORD_IS(tok, name, "chunked");
        if (p->te_chunked && p->te_chunks < 2) p->te_chunks++;
    }
}

static void header_connection(struct hp *p, const char *v, size_t vn)
{
    const char *tok;
    size_t tn;
    if (HS_WORD_IS(v, vn, "keep-alive")) { /* the usual value, without the list walk */
        p->keepalive10 = true;
        return;
    }
    while (next_token(&v, &vn, &tok, &tn)) {
        if (HS_WORD_IS(tok, tn, "close"))
            p->close = true;
        else if (HS_WORD_IS(tok, tn, "keep-alive"))
            p->keepalive10 = true;
    }
}

/* 1xx: skip the interim answer, the real one follows. */
static enum hp_ev interim_answer(struct hp *p)
{
    if (p->status == 101) return fail(p, "unexpected 101 Switching Protocols");
    bool head = p->head;
    uint64_t total = p->head_total;
    hp_reset(p, head);
    p->head_total = total;
    return HP_MORE;
}

/* How the body is delimited: RFC 9112 section 6.3, in its order. */
static enum hp_framing decide_framing(const struct hp *p)
{
    if (p->head || p->status == 204 || p->status == 304) return HP_FRAME_NONE;
    if (p->te && p->http10) /* section 6.1: faulty framing, read to the end */
        return HP_FRAME_CLOSE;
    if (p->te) return p->te_chunked ? HP_FRAME_CHUNKED : HP_FRAME_CLOSE;
    if (p->content_length >= 0) return HP_FRAME_LENGTH;
    return HP_FRAME_CLOSE;
}

/* The headers are complete: decide how the body is delimited. */
static enum hp_ev end_of_headers(struct hp *p)
{
    /* Without Transfer-Encoding an invalid Content-Length is an error even
     * where no body follows: it still states the size the checks compare. */
    if (p->cl_bad && !p->te) return fail(p, "bad Content-Length");
    if (p->status < 200) return interim_answer(p);
    p->headers_done = true;
    p->head_len = p->head_total;
    if (p->cl_bad) p->content_length = -1; /* ignored: Transfer-Encoding overrides it */
    if (p->http10 && !p->keepalive10) p->close = true;
    p->framing = decide_framing(p);
    switch (p->framing) {
    case HP_FRAME_NONE:
        p->state = S_END;
        break;
    case HP_FRAME_CHUNKED:
        if (p->te_chunks > 1) return fail(p, "chunked transfer coding applied twice");
        p->chunked = true;
        p->state = S_CHUNK_SIZE;
        break;
    case HP_FRAME_CLOSE:
        p->close = true;
        p->state = S_BODY_EOF;
        break;
    case HP_FRAME_LENGTH:
        p->remaining = (uint64_t)p->content_length;
        p->state = p->remaining ? S_BODY_CL : S_END;
        break;
    }
    /* Both headers may be an attempt at response splitting (section 6.1):
     * the connection is not trusted with another answer. */
    if (p->te && (p->content_length >= 0 || p->cl_bad) && p->framing != HP_FRAME_NONE)
        p->close = true;
    return HP_MORE;
}

/* The length of a field line's name (a token followed by ':'), 0 when the
 * name runs past a truncated line's kept prefix, or an error. avail: bytes
 * readable at s (see hs_token_len()). */
static enum hp_ev field_name(struct hp *p, const char *s, size_t n, bool truncated, size_t avail,
                             size_t *nn)
{
    *nn = truncated ? hs_token_len_bounded(s, n) : hs_token_len(s, avail);
    if (*nn == n && truncated) {
        *nn = 0; /* a name longer than the kept prefix: not one that frames */
        return HP_MORE;
    }
    if (*nn == 0 || *nn == n || s[*nn] != ':') return fail(p, "malformed header line");
    return HP_MORE;
}

enum framing_header { FH_NONE, FH_CONTENT_LENGTH, FH_TRANSFER_ENCODING, FH_CONNECTION };

/* Which of the headers that frame the answer the name s[0..n) is: the
 * length first, most headers are none of them. */
static inline enum framing_header framing_header(const char *s, size_t n)
{
    switch (n) {
    case 14:
        return HS_WORD_IS(s, n, "content-length") ? FH_CONTENT_LENGTH : FH_NONE;
    case 17:
        return HS_WORD_IS(s, n, "transfer-encoding") ? FH_TRANSFER_ENCODING : FH_NONE;
    case 10:
        return HS_WORD_IS(s, n, "connection") ? FH_CONNECTION : FH_NONE;
    default:
        return FH_NONE;
    }
}

/* The value s[0..n) of a header that frames the answer. */
static void framing_field(struct hp *p, enum framing_header fh, const char *v, size_t vn)
{
    trim(&v, &vn);
    if (fh == FH_CONTENT_LENGTH)
        header_content_length(p, v, vn);
    else if (fh == FH_TRANSFER_ENCODING)
        header_transfer_encoding(p, v, vn);
    else
        header_connection(p, v, vn);
}

/* A header line s[0..n) whose name s[0..nn) is checked and followed by ':'. */
static enum hp_ev header_field(struct hp *p, const char *s, size_t n, size_t nn, bool truncated)
{
    enum framing_header fh = framing_header(s, nn);
    p->framing_hdr = fh != FH_NONE;
    if (fh == FH_NONE) return HP_MORE;
    if (truncated) return fail(p, "framing header too long");
    framing_field(p, fh, s + nn + 1, n - nn - 1);
    return HP_MORE;
}

/* One header line s[0..n) (avail: bytes readable at s), or the empty line
 * that ends them. */
static enum hp_ev parse_header(struct hp *p, const char *s, size_t n, bool truncated, size_t avail)
{
    if (n == 0) return end_of_headers(p);
    if (hs_is_ows(s[0])) { /* obsolete line folding continues the last header */
        if (p->framing_hdr) return fail(p, "folded framing header");
        return HP_MORE;
    }
    size_t nn;
    if (field_name(p, s, n, truncated, avail, &nn) != HP_MORE) return HP_ERROR;
    return header_field(p, s, n, nn, truncated);
}

/* ---- chunked body ----------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static enum hp_ev parse_chunk_size(struct hp *p, const char *s, size_t n, bool truncated)
{
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n && hexval(s[i]) >= 0; i++) {
        size = size * 16 + (uint64_t)hexval(s[i]);
        if (size > CHUNK_MAX) return fail(p, "chunk size too large");
    }
    if (i == 0) return fail(p, "malformed chunk size");
    if (i == n && truncated) /* the digits go on past the kept prefix */
        return fail(p, "chunk size line too long");
    while (i < n && hs_is_ows(s[i]))
        i++;
    if (i < n && s[i] != ';') return fail(p, "malformed chunk size");
    /* chunk extensions (after ';') are ignored */
    if (size == 0) {
        p->state = S_TRAILER;
    } else {
        p->remaining = size;
        p->state = S_CHUNK_DATA;
    }
    return HP_MORE;
}

/* A trailer field is checked as a field line and otherwise ignored: it can
 * never change the framing of the answer it ends. */
static enum hp_ev parse_trailer(struct hp *p, const char *s, size_t n, bool truncated)
{
    size_t nn;
    if (n == 0) {
        p->state = S_END;
        return HP_MORE;
    }
    if (hs_is_ows(s[0])) return HP_MORE;
    return field_name(p, s, n, truncated, 0, &nn);
}

/* One complete line (without its line end) in the current state. */
static enum hp_ev on_line(struct hp *p, const char *s, size_t n, bool truncated)
{
    switch (p->state) {
    case S_STATUS:
        if (truncated) return fail(p, "status line too long");
        return parse_status(p, s, n);
    case S_HEADER:
        return parse_header(p, s, n, truncated, 0);
    case S_CHUNK_SIZE:
        return parse_chunk_size(p, s, n, truncated);
    case S_CHUNK_CRLF:
        if (n != 0) return fail(p, "missing line end after chunk data");
        p->state = S_CHUNK_SIZE;
        return HP_MORE;
    case S_TRAILER:
        return parse_trailer(p, s, n, truncated);
    default:
        return fail(p, "internal: line in a body state");
    }
}

/* ---- lines ------------------------------------------------------------ */

/* A status line must start with "HTTP/": say so at the first wrong byte
 * instead of waiting for a line end that may never come. */
static bool status_prefix_ok(const struct hp *p, const char *buf, size_t len)
{
    static const char prefix[] = "HTTP/";
    for (size_t i = p->linelen, k = 0; i < 5 && k < len; i++, k++)
        if (buf[k] != prefix[i]) return false;
    return true;
}

/* Keep the first HP_LINE_MAX bytes of a line that is split across slices. */
static void keep_line(struct hp *p, const char *s, size_t n)
{
    size_t room = HP_LINE_MAX - p->linelen;
    if (n > room) {
        n = room;
        p->line_long = true;
    }
    memcpy(p->line + p->linelen, s, n);
    p->linelen = (uint16_t)(p->linelen + n);
}

/* The kept line is complete. */
static enum hp_ev kept_line_done(struct hp *p)
{
    size_t n = p->linelen;
    bool truncated = p->line_long;
    p->line[n] = '\n'; /* the line end hs_token_len() stops at */
    p->linelen = 0;
    p->line_long = false;
    return on_line(p, p->line, n, truncated);
}

/* Bytes of the head count against HP_HEAD_MAX; chunk framing after the
 * headers is not head. */
static bool head_over(struct hp *p, size_t n)
{
    if (p->headers_done) return false;
    p->head_total += n;
    return p->head_total > HP_HEAD_MAX;
}

/* The last slice ended with a CR: this one must start with its LF. */
static enum hp_ev feed_lf_after_cr(struct hp *p, const char *buf, size_t *used)
{
    p->cr = false;
    if (buf[0] != '\n') return fail(p, "CR without LF");
    *used = 1;
    if (head_over(p, 1)) return fail(p, "header section too long");
    return kept_line_done(p);
}

/* Line states: consume one line (or all of the slice when it ends inside
 * one). The line's content ends at the first CTL byte: an LF, a CRLF, a CR
 * at the end of the slice (an LF must follow), or anything else (an error).
 * A line lying whole in the slice is parsed in place; a split one is kept. */
static enum hp_ev feed_line(struct hp *p, const char *buf, size_t len, size_t *used)
{
    *used = 0;
    if (p->cr) return feed_lf_after_cr(p, buf, used);
    size_t end = hs_find_ctl(buf, len); /* the content is buf[0..end) */
    size_t take = len;
    bool whole = false;
    if (end < len) {
        if (buf[end] == '\n') {
            take = end + 1;
            whole = true;
        } else if (buf[end] != '\r') {
            return fail(p, "control byte in a line");
        } else if (end + 1 == len) {
            p->cr = true;
        } else if (buf[end + 1] != '\n') {
            return fail(p, "CR without LF");
        } else {
            take = end + 2;
            whole = true;
        }
    }
    /* a whole status line is checked by parse_status() */
    if (!whole && p->state == S_STATUS && p->linelen < 5 && !status_prefix_ok(p, buf, end))
        return fail(p, "not an HTTP answer");
    *used = take;
    if (head_over(p, take)) return fail(p, "header section too long");
    if (whole && p->linelen == 0 && !p->line_long) {
        /* the same HP_LINE_MAX prefix a line split across slices keeps, so
         * how TCP cut the stream never changes what it means */
        if (end > HP_LINE_MAX) return on_line(p, buf, HP_LINE_MAX, true);
        return on_line(p, buf, end, false);
    }
    keep_line(p, buf, end);
    return whole ? kept_line_done(p) : HP_MORE;
}

/* S_HEADER at the start of a line: the hot path. Parses the header lines
 * lying whole in the slice in one loop, the usual ones ("Name: value",
 * CRLF or LF) right here, the others (the empty line, folding, errors) by
 * parse_header(); the first line that is not whole (split, too long, a
 * stray control byte) goes to feed_line(). The head's size is counted
 * before anything that could end the head or the loop, so the limit trips
 * where feeding line by line would trip it too. */
static enum hp_ev feed_headers(struct hp *p, const char *buf, size_t len, size_t *used)
{
    struct hs_lines sc;
    hs_lines_init(&sc, buf, len);
    size_t pos = 0, counted = 0; /* buf[0..counted) is in head_total */
    for (;;) {
        const char *s = buf + pos;
        size_t end = hs_lines_next(&sc, pos);
        size_t n = end - pos;
        if (end == len || n > HP_LINE_MAX) break;
        if (buf[end] == '\r' && end + 1 < len && buf[end + 1] == '\n')
            end++;
        else if (buf[end] != '\n')
            break;
        pos = end + 1;
        if (n > 0 && !hs_is_ows(s[0])) {
            size_t nn = hs_token_len(s, len - (size_t)(s - buf));
            if (nn > 0 && s[nn] == ':') {
                enum framing_header fh = framing_header(s, nn);
                p->framing_hdr = fh != FH_NONE;
                if (fh != FH_NONE) framing_field(p, fh, s + nn + 1, n - nn - 1);
                continue;
            }
        }
        if (head_over(p, pos - counted)) /* before the head may end */
            return fail(p, "header section too long");
        counted = pos;
        *used = pos;
        enum hp_ev ev = parse_header(p, s, n, false, 0);
        if (ev != HP_MORE || p->state != S_HEADER) return ev;
    }
    *used = pos;
    if (head_over(p, pos - counted)) return fail(p, "header section too long");
    if (pos == len) return HP_MORE;
    size_t u = 0;
    enum hp_ev ev = feed_line(p, buf + pos, len - pos, &u);
    *used = pos + u;
    return ev;
}

static enum hp_ev feed_body(struct hp *p, const char *buf, size_t len, size_t *used,
                            const char **body, size_t *bodylen)
{
    size_t n = len;
    if (p->state != S_BODY_EOF && n > p->remaining) n = (size_t)p->remaining;
    *used += n;
    *body = buf;
    *bodylen = n;
    p->body_len += n;
    if (p->state != S_BODY_EOF) {
        p->remaining -= n;
        if (p->remaining == 0) p->state = p->state == S_CHUNK_DATA ? S_CHUNK_CRLF : S_END;
    }
    return HP_BODY;
}

enum hp_ev hp_feed(struct hp *p, const char *buf, size_t len, size_t *used, const char **body,
                   size_t *bodylen)
{
    *used = 0;
    for (;;) {
        switch (p->state) {
        case S_END:
            p->state = S_DONE;
            return HP_DONE;
        case S_DONE:
            if (len == 0) return HP_MORE;
            return fail(p, "bytes after the end of the answer");
        case S_BODY_CL:
        case S_BODY_EOF:
        case S_CHUNK_DATA:
            if (len == 0) return HP_MORE;
            return feed_body(p, buf, len, used, body, bodylen);
        default: {
            if (len == 0) return HP_MORE;
            size_t u = 0;
            enum hp_ev ev = p->state == S_HEADER && p->linelen == 0 && !p->line_long && !p->cr
                                ? feed_headers(p, buf, len, &u)
                                : feed_line(p, buf, len, &u);
            *used += u;
            buf += u;
            len -= u;
            if (ev != HP_MORE) return ev;
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
        if (hp_idle(p)) return HP_MORE;
        /* fall through */
    default:
        return fail(p, "connection closed before the end of the answer");
    }
}
