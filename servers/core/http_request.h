/* http_request.h - the HTTP/1.1 request parser (RFC 9112 subset), sans-IO:
 * finds where a request head ends, parses its request line and the headers
 * the session acts on, enforces the limits, and cuts the path out of the
 * target. It never touches a socket or the session's state; errors come
 * back as the status the session answers with (see http.h for when).
 */
#ifndef SERVERMODELS_HTTP_REQUEST_H
#define SERVERMODELS_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Request line + headers, including the blank line, at most. */
#define HTTP_HEAD_MAX 8192
/* Largest request body (Content-Length) accepted. */
#define HTTP_BODY_MAX (1024 * 1024)

/* A parsed request head; strings point into the input buffer. */
struct http_req {
    const char *method, *target;
    size_t mlen, tlen;
    int minor; /* HTTP/1.<minor> */
    bool head; /* method is HEAD: no body in the answer */
    bool has_host, has_cl, has_te, conn_close, conn_keep;
    bool expect; /* Expect: 100-continue */
    size_t cl;
    bool cl_big;
    /* the target's path: origin-form "/p?q" or absolute-form
     * "http://host/p?q" ("/" when the latter has none), without the query
     * or fragment, still percent-encoded; NULL when the target is neither
     * form (400) */
    const char *path;
    size_t plen;
};

/* Looks for the end of the head that starts at b[0] (avail bytes there);
 * *scanned counts the bytes already searched (0 for a new head), so a head
 * that arrives in pieces is searched once. Returns its length, 0 when more
 * input is needed, or -414 / -431 when it cannot fit HTTP_HEAD_MAX. */
long http_head_end(const char *b, size_t avail, size_t *scanned);

/* Parses a whole head [p, p+n) (it ends with an empty line) into *r and
 * checks it: 0, or an error status (400, 413 for a body above
 * HTTP_BODY_MAX, 501 for Transfer-Encoding, 505); r->method is set once
 * the request line parsed, r->path when it returns 0. */
int http_parse_request(const char *p, size_t n, struct http_req *r);

#endif
