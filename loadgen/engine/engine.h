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

#include "loadgen.h"

/* Run the timed load with cfg->threads threads, merge their stats into
 * *out (initialised by the caller). Return 0, or -1 with a message in err
 * when the run could not be carried out at all. */
int engine_raw_run(struct lg_run *run, struct lg_stats *out, char *err, size_t errlen);
int engine_curl_run(struct lg_run *run, struct lg_stats *out, char *err, size_t errlen);

/* The verify pass: every distinct step once through libcurl, checked.
 * 0 when all pass; -1 with what failed in err. */
int verify_run(const struct lg_config *cfg, char *err, size_t errlen);

#endif
