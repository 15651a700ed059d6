/* engine.h - the engines, as the run pipeline (run.c) calls them:
 *
 *   engine_raw.c   the fast HTTP/1.1 and echo engine (raw_*.c)
 *   engine_curl.c  libcurl's multi interface: the reference HTTP client,
 *                  the FTP engine, and the verify pass
 *
 * Both follow one policy (policy.h). */
#ifndef LOADGEN_ENGINE_H
#define LOADGEN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "loadgen.h"

/* Run the timed load with cfg->threads threads, merge their stats into
 * *out (initialised by the caller). Return 0, or -1 with a message in err
 * when the run could not be carried out at all. */
int engine_raw_run(struct lg_run *run, struct lg_stats *out, char *err, size_t errlen);
int engine_curl_run(struct lg_run *run, struct lg_stats *out, char *err, size_t errlen);

/* The verify pass: every distinct step once through libcurl, checked.
 * 0 when all pass; -1 with what failed in err. first (NULL, or one per
 * step) gets the body of each step still to learn (expect = same or
 * sha256, expect_length < 0) as it came: its length and XXH64, what every
 * later answer is checked against; length -1 for the other steps. */
struct verify_body {
    int64_t length;
    uint64_t hash;
};
int verify_run(const struct lg_config *cfg, struct verify_body *first, char *err, size_t errlen);

#endif
