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
 * Understood: status line (HTTP/1.0 and 1.1), 1xx answers (skipped, except
 * 101 which is an error: we never ask to switch protocols), headers
 * Content-Length, Transfer-Encoding (chunked last = chunked; anything else
 * = body until close), Connection (close / keep-alive), bodies by length,
 * chunked bodies with chunk extensions and trailers, bodies until EOF, and
 * no body for HEAD, 204 and 304. Bare "\n" line ends are accepted. */
#ifndef LOADGEN_HTTPPARSE_H
#define LOADGEN_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_LINE_MAX 256       /* kept prefix of one header / chunk line */
#define HP_HEAD_MAX (64 * 1024) /* status line + headers, in total */

enum hp_ev {
    HP_MORE,  /* the slice is consumed; feed more */
    HP_BODY,  /* body bytes at *body (a pointer into the slice) */
    HP_DONE,  /* the answer is complete; *used stops right after it */
    HP_ERROR, /* malformed answer; p->error says why */
};

struct hp {
    /* results, valid once the headers are parsed (and for HP_DONE) */
    int status;
    int64_t content_length; /* -1 = none */
    bool chunked;
    bool close;        /* Connection: close, HTTP/1.0 without keep-alive, or body until EOF */
    bool headers_done;
    uint64_t body_len; /* body bytes handed out so far (decoded) */
    uint64_t head_len; /* bytes of status line + headers (of the final answer) */
    const char *error; /* static string, set with HP_ERROR */

    /* internal */
    bool head;        /* the request was HEAD: no body whatever the headers say */
    bool http10;
    bool keepalive10; /* HTTP/1.0 with Connection: keep-alive */
    uint8_t state;
    bool line_long;   /* the current line did not fit in line[] */
    uint16_t linelen;
    uint64_t remaining; /* body / chunk bytes still to come */
    uint64_t head_total;
    char line[HP_LINE_MAX];
};

/* Start a new answer. head: the request was HEAD. */
void hp_reset(struct hp *p, bool head);
/* Feed bytes; see the top of this file. *used is always set (0..len). */
enum hp_ev hp_feed(struct hp *p, const char *buf, size_t len, size_t *used,
                   const char **body, size_t *bodylen);
/* The peer closed the connection: HP_DONE when that ends the answer (a body
 * delimited by EOF), HP_ERROR when the answer is truncated (error set),
 * HP_MORE when no byte of an answer was received at all. */
enum hp_ev hp_eof(struct hp *p);
/* True when no byte of the current answer has been fed yet. */
bool hp_idle(const struct hp *p);

#endif
