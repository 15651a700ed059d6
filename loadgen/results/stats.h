/* stats.h - the functions of one thread's results (struct lg_stats, the
 * shared type of loadgen.h): made, merged at the end, counted by class. */
#ifndef LOADGEN_STATS_H
#define LOADGEN_STATS_H

#include <stdint.h>

#include "loadgen.h"

int lg_stats_init(struct lg_stats *s); /* -1 on allocation failure */
void lg_stats_merge(struct lg_stats *dst, const struct lg_stats *src);
void lg_stats_free(struct lg_stats *s);
/* The CSV's columns: errors, check_failures, timeouts (lg_error). */
uint64_t lg_stats_errors(const struct lg_stats *s);
uint64_t lg_stats_check_failures(const struct lg_stats *s);
uint64_t lg_stats_timeouts(const struct lg_stats *s);
uint64_t lg_stats_refused(const struct lg_stats *s);

/* One step's numbers (lg_stats.step[i]). With a single scenario step, its
 * latencies are the run's own (lg_stats.lat): step[0].lat stays empty and
 * lg_stats_step_lat() says which to read. */
struct lg_step_stats {
    uint64_t count;    /* resolved in the window: answered (right or wrong) or failed */
    uint64_t failures; /* errors, check failures and timeouts of this step */
    uint64_t refused;
    struct hist *lat; /* microseconds, of the answers (setup: of the steps done) */
};

/* Per-step statistics for nsteps scenario steps plus the LG_SETUP__COUNT
 * setup steps. 0, or -1 on allocation failure. */
int lg_stats_init_steps(struct lg_stats *s, size_t nsteps);
/* Step i (a scenario step's index, or lg_stats_setup_index()) took us and
 * ended with e (LG_ERR__COUNT: fine). No-op without per-step statistics. */
void lg_stats_step(struct lg_stats *s, size_t i, uint64_t us, enum lg_error e);
/* Step i's answer was a failure or a refusal (e): that count only. */
void lg_stats_step_error(struct lg_stats *s, size_t i, enum lg_error e);
/* Step i failed with no answer (a timeout, a reset): counted, no latency. */
void lg_stats_step_failure(struct lg_stats *s, size_t i, enum lg_error e);
const struct hist *lg_stats_step_lat(const struct lg_stats *s, size_t i);
size_t lg_stats_setup_index(const struct lg_stats *s, enum lg_setup which);
/* "connect", "login", "data_connection". */
const char *lg_setup_name(enum lg_setup which);

#endif
