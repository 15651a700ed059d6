/* http.h - the HTTP/1.1 session (RFC 9112 subset), sans-IO (see conn.h).
 *
 * Serves, under the server's fsroot:
 *   GET/HEAD /path     static files; a directory is served by its index.html
 *                      when the path ends with '/', and a directory path
 *                      without the slash gets 301 to the slash form
 *                      (Location: the normalised path - no empty or "."
 *                      segment, so "//host" gives "/host/", never a
 *                      network-path reference - percent-encoded, plus '/').
 *                      Content-Type by extension, Content-Length,
 *                      Last-Modified and Date (IMF-fixdate), Server: refserver.
 *   GET/HEAD /time     the current UTC time, text/plain, exactly 21 bytes:
 *                      "YYYY-MM-DDTHH:MM:SSZ\n" (strftime "%Y-%m-%dT%H:%M:%SZ\n"),
 *                      e.g. "2026-11-23T13:45:00Z\n". Cache-Control: no-store.
 *   POST /echo         the request body back, application/octet-stream
 *                      (streamed: the answer's headers go out before the
 *                      whole body arrived; "Expect: 100-continue" gets an
 *                      interim "HTTP/1.1 100 Continue" first).
 *
 * Errors (short text/plain body "<code> <reason>\n", Content-Length):
 *   400 malformed request line or header, obs-fold, space before ':', missing
 *       Host in HTTP/1.1, duplicate Host, duplicate or invalid Content-Length,
 *       bad path encoding (%-escape, %00, %2F, %5C, backslash, control byte)
 *   403 a path that leaves the root (".." segment, symlink out)
 *   404 missing files, hidden (dot) names, a directory without index.html,
 *       a file requested with a trailing '/'
 *   405 (with Allow) POST/PUT/DELETE/PATCH/OPTIONS/TRACE/CONNECT on paths that
 *       do not take them; GET/HEAD on /echo (Allow: POST)
 *   408 the header timeout passed with a request head unfinished
 *       (session_expire in PHASE_HEAD; then close)
 *   413 Content-Length above HTTP_BODY_MAX (answered at once; then close)
 *   414 a request line longer than HTTP_HEAD_MAX (no LF in the first 8 KiB)
 *   431 request line + headers longer than HTTP_HEAD_MAX (the line fits)
 *   501 an unknown method token, and any Transfer-Encoding (chunked request
 *       bodies are not supported; then close)
 *   505 any version other than HTTP/1.0 and HTTP/1.1
 *   503 only as the refusal string (over --max-conn).
 * After 400, 413, 414, 431, 501 and 505 the connection closes (Connection:
 * close), since the stream may no longer be parseable; 403/404/405 keep it.
 *
 * Connections: with server_ctx.one_request (the iterative model) every
 * answer carries "Connection: close" and the connection then closes.
 * Otherwise HTTP/1.1 keeps alive unless "Connection: close"; HTTP/1.0
 * closes unless "Connection: keep-alive" (answered with the same header).
 * Pipelined requests are answered in order; small answers are batched into
 * one ACT_WRITE. Bodies of files above HTTP_INLINE_MAX go out as
 * ACT_SENDFILE; smaller ones are copied right after their headers. Request
 * bodies other than /echo's are read and dropped, except after "Expect:
 * 100-continue" (the client may never send them): then the answer closes.
 * EOF (feed of 0 bytes): complete requests already buffered are answered,
 * then ACT_CLOSE; a partial request is dropped.
 *
 * Timeouts (conn.h): PHASE_BODY while a request body is being read (for
 * /echo or to drop it), PHASE_HEAD while part of a request head is
 * buffered, PHASE_IDLE otherwise. session_expire() in PHASE_HEAD answers
 * 408 with "Connection: close" and closes once it is written; in any other
 * phase, or with an answer still being written, it closes at once.
 *
 * Driver contract beyond conn.h: session_done() with result 0 for an
 * ACT_SENDFILE means the file ended early (it shrank): the session closes.
 * A driver that would block must wait and retry, not report 0.
 */
#ifndef SERVERMODELS_HTTP_H
#define SERVERMODELS_HTTP_H

#include "conn.h"
#include "http_request.h" /* the request limits: HTTP_HEAD_MAX, HTTP_BODY_MAX */
/* Files (and /echo bodies) up to this size are sent with their headers. */
#define HTTP_INLINE_MAX 16384
/* Input buffered per session; feed() consumes at most this much ahead. */
#define HTTP_IN_CAP (2 * HTTP_HEAD_MAX)
/* Output buffer per session (batched answers). */
#define HTTP_OUT_CAP (48 * 1024)

extern const struct proto http_proto;

#endif
