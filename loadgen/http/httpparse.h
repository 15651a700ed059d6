/* httpparse.h - streaming HTTP/1.1 response parser (client side).
 *
 * No allocation, no copy of the body: the parser is fed arbitrary slices of
 * the byte stream and hands back body bytes as pointers into the caller's
 * slice, so the engine hashes them as they stream. Only a header line (or
 * a chunk-size line) split across two slices is copied, into a small fixed
 * buffer inside the parser.
 *
 *     hp_reset(&p, is_head);
 *     while (len > 0) {
 *         size_t used; const char *b; size_t bl;
 *         enum hp_ev ev = hp_feed(&p, buf, len, &used, &b, &bl);
 *         buf += used; len -= used;
 *         if (ev == HP_BODY) hash(b, bl);
 *         else if (ev == HP_DONE) { answer complete; bytes left = next answer }
 *         else if (ev == HP_ERROR) { protocol error; close }
 *         // HP_MORE: everything consumed, feed more bytes later
 *     }
 *     at EOF: hp_eof(&p) says whether the answer was complete.
 *
 * Framing follows RFC 9112 section 6.3, in its order:
 *   1. HEAD, 1xx, 204, 304: no body, whatever the headers say (1xx answers
 *      are skipped, the final answer follows; 101 is an error: we never ask
 *      to switch protocols);
 *   2. (2xx to CONNECT: never sent);
 *   3. Transfer-Encoding present: Content-Length is ignored (when there is
 *      one, the connection is closed after the answer: a sign of response
 *      splitting); final coding chunked -> chunked body (extensions
 *      ignored, trailer lines checked and ignored, bad sizes an error); any other
 *      final coding ("gzip", "chunked, gzip") -> body until close; chunked
 *      applied twice is an error; in an HTTP/1.0 answer -> until close;
 *   4. Content-Length invalid (not digits, an empty or differing list
 *      element, several headers that differ, overflow) -> protocol error;
 *      "3, 3" or two headers "3" -> 3;
 *   5. Content-Length valid -> that many bytes;
 *   6. neither -> body until close.
 * An invalid Content-Length is an error in the no-body answers of 1. too
 * (it describes the GET body the checks compare); with Transfer-Encoding it
 * is ignored. Connection: close / keep-alive and HTTP/1.0 decide whether
 * the connection stays open.
 *
 * Lines: LF or CRLF ends one; a CR elsewhere, or any other control byte
 * but HTAB (DEL included), is an error in every line (status, headers,
 * chunk sizes, trailers). Header names must be tokens. Obsolete line
 * folding continues a header: ignored, but an error after Content-Length,
 * Transfer-Encoding or Connection, whose value it would change. */
#ifndef LOADGEN_HTTPPARSE_H
#define LOADGEN_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_LINE_MAX 256         /* kept prefix of one header / chunk line */
#define HP_HEAD_MAX (64 * 1024) /* status line + headers, in total */

/* How the body of the answer is delimited (RFC 9112 section 6.3). */
enum hp_framing {
    HP_FRAME_NONE,    /* no body: HEAD, 1xx, 204, 304 */
    HP_FRAME_LENGTH,  /* Content-Length bytes */
    HP_FRAME_CHUNKED, /* chunked transfer coding */
    HP_FRAME_CLOSE,   /* until the connection closes */
};

enum hp_ev {
    HP_MORE,  /* the slice is consumed; feed more */
    HP_BODY,  /* body bytes at *body (a pointer into the slice) */
    HP_DONE,  /* the answer is complete; *used stops right after it */
    HP_ERROR, /* malformed answer; p->error says why */
};

struct hp {
    /* results, valid once the headers are parsed (and for HP_DONE) */
    int status;
    int64_t content_length; /* -1 = none (or invalid with Transfer-Encoding) */
    enum hp_framing framing;
    bool chunked; /* framing == HP_FRAME_CHUNKED */
    bool close;   /* Connection: close, HTTP/1.0 without keep-alive, body until EOF,
                     or Transfer-Encoding with Content-Length */
    bool headers_done;
    uint64_t body_len; /* body bytes handed out so far (decoded) */
    uint64_t head_len; /* bytes of status line + headers (of the final answer) */
    const char *error; /* static string, set with HP_ERROR */

    /* internal */
    bool head; /* the request was HEAD: no body whatever the headers say */
    bool http10;
    bool keepalive10;  /* HTTP/1.0 with Connection: keep-alive */
    bool te;           /* Transfer-Encoding seen */
    bool te_chunked;   /* its final coding so far is chunked */
    uint8_t te_chunks; /* how often chunked was applied (up to 2) */
    bool cl_bad;       /* an invalid Content-Length seen */
    bool framing_hdr;  /* the last header line was one that frames: no folding */
    bool cr;           /* a CR ended the last slice: an LF must follow */
    uint8_t state;
    bool line_long; /* the current line did not fit in line[] */
    uint16_t linelen;
    uint64_t remaining; /* body / chunk bytes still to come */
    uint64_t head_total;
    char line[HP_LINE_MAX + 1]; /* + the line end put back for the name scan */
};

/* Start a new answer. head: the request was HEAD. */
void hp_reset(struct hp *p, bool head);
/* Feed bytes; see the top of this file. *used is always set (0..len). */
enum hp_ev hp_feed(struct hp *p, const char *buf, size_t len, size_t *used, const char **body,
                   size_t *bodylen);
/* The peer closed the connection: HP_DONE when that ends the answer (a body
 * delimited by EOF), HP_ERROR when the answer is truncated (error set),
 * HP_MORE when no byte of an answer was received at all. */
enum hp_ev hp_eof(struct hp *p);
/* True when no byte of the current answer has been fed yet. */
bool hp_idle(const struct hp *p);

#endif
