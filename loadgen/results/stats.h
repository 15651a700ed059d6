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

#endif
