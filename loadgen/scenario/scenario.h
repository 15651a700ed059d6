/* scenario.h - scenario files (INI, parsed with libinih).
 *
 * [scenario] keys: name, protocol (http|ftp|echo, required), connections,
 * threads, duration, requests, rate, keepalive (yes|no), timeout, warmup,
 * user, password (FTP). Numbers use common/units.h: durations "5", "250ms",
 * "2m"; counts "10k"; rates "2.5k"; sizes (body_size) "64k".
 * [step NAME] sections, in file order: method, path, body_size, weight,
 * expect_status (a code, or 2xx), expect (none|file|hash|time|listing|
 * echo|same|sha256), expect_body, expect_length, expect_hash (hex XXH64),
 * expect_names, expect_sha256; body_file (the bytes to send, stepbody.h);
 * HTTP: host and header (repeatable), checked by reqheader.c.
 * Every key, default and rule is documented in scenarios/README.md. */
#ifndef LOADGEN_SCENARIO_H
#define LOADGEN_SCENARIO_H

#include <stddef.h>

#include "loadgen.h"

/* Parse and validate PATH into *out (zeroed first). 0, or -1 with
 * "FILE:LINE: reason" in err (out is then freed and empty). */
int scenario_load(const char *path, struct lg_scenario *out, char *err, size_t errlen);
/* Free the steps; *sc is left empty. Safe on a zeroed or already-freed struct. */
void scenario_free(struct lg_scenario *sc);

#endif
