/* check.h - correctness checks of the answers (no protocol code: the
 * engines parse, these functions only judge what was parsed). */
#ifndef LOADGEN_CHECK_H
#define LOADGEN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loadgen.h"

/* Resolve what every step must answer before the run:
 * LG_EXPECT_FILE: expect_length + expect_hash (XXH64, seed 0) of
 *   FIXTURES/expect_body (paths escaping the fixtures dir are refused);
 * LG_EXPECT_ECHO: expect_length = body_size, expect_hash = check_payload_hash(body_size)
 *   (or XXH64 of st->body, when the step sends a file's bytes);
 * other steps keep what the scenario gave (expect_length -1 = unchecked).
 * fixtures may be NULL when no step needs it. 0, or -1 with a message. */
int check_prepare(struct lg_scenario *sc, const char *fixtures, char *err, size_t errlen);

/* Deterministic payload bytes for POST bodies, STOR uploads and echo lines:
 * printable ASCII, never '\n' (echo callers append the final '\n'
 * themselves); the same bytes on every call for the same len, and a shorter
 * payload is a prefix of a longer one. */
void check_payload(void *buf, size_t len);
/* XXH64 (seed 0) of check_payload(len) bytes, computed without allocating len bytes. */
uint64_t check_payload_hash(size_t len);

/* The /time answer is well-formed: exactly one date line, either ISO-8601
 * UTC "YYYY-MM-DDTHH:MM:SSZ" or an IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
 * optionally followed by "\n" or "\r\n". Nothing else. */
bool check_time_body(const char *body, size_t len);

/* Every comma-separated name of st->expect_names appears as a whole name
 * in the LIST / NLST output (the last whitespace-separated field of a LIST
 * line, the whole line of an NLST line; a leading directory part is ignored). */
bool check_listing(const struct lg_step *st, const char *body, size_t len);

/* What st's answers are checked for, in words, for the summary:
 * "status 2xx, body: consistency (every answer as the first: 13 bytes,
 * xxh64 ...)". */
void check_describe(const struct lg_step *st, enum lg_proto proto, char *buf, size_t len);

/* LG_ERR__COUNT when status is what st expects; LG_ERR_REFUSED when it is
 * a refusal at a documented limit the step did not expect: HTTP 503 on a
 * connection the server closes (closes: Connection: close), FTP 421 (the
 * server closes the control connection, RFC 959); LG_ERR_BAD_STATUS
 * otherwise. expect_status 0 = any 2xx (HTTP) / any positive-completion FTP
 * reply (2xx). */
enum lg_error check_status(const struct lg_step *st, enum lg_proto proto, int status, bool closes);

/* An echo server's refusal at its limit: this line, then the close
 * (refserver's --max-conn and FD_SETSIZE). An echoed line that is exactly
 * this, when another was sent, is a refusal, not a wrong answer. */
#define CHECK_ECHO_REFUSAL "server busy\n"

#endif
