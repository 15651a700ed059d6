/* reqheader.h - a scenario step's own HTTP request headers:
 *
 *   [step api]
 *   path = /api/items?id=7
 *   host = shop.example
 *   header = Accept: application/json
 *   header = X-Request-Source: loadgen
 *
 * `host` replaces the Host header (default: the --target's HOST:PORT);
 * `header` (repeatable, sent in file order) adds one header line. Checked
 * when the scenario is read, so both engines send them as they are: the
 * name is an HTTP token, the value is not empty and has no control
 * characters (tab allowed) and no CR, LF or NUL; the headers loadgen itself
 * frames the request with are refused (Host: use `host`; Content-Length,
 * Transfer-Encoding: body_size; Connection: keepalive; Expect: bodies are
 * sent at once); at most LG_HEADERS_MAX per step, LG_HEADERS_BYTES in all. */
#ifndef LOADGEN_REQHEADER_H
#define LOADGEN_REQHEADER_H

#include <stddef.h>

#include "loadgen.h"

/* "Name: value" (spaces around the value dropped) appended to st's headers.
 * 0, or -1 with the reason in why. */
int reqheader_add(struct lg_step *st, const char *line, char *why, size_t whylen);
/* The Host header's value. 0, or -1 with the reason in why. */
int reqheader_set_host(struct lg_step *st, const char *value, char *why, size_t whylen);

/* The first header ("Name: value"), or NULL; the one after h, or NULL. */
const char *reqheader_first(const struct lg_step *st);
const char *reqheader_next(const struct lg_step *st, const char *h);

#endif
