/* steptable.h - per-step statistics shown and written, as Gatling, JMeter and
 * Locust report per request name: every scenario step, and the session's own
 * setup (connect; for FTP the login and each transfer's data connection),
 * with its count, failures, refusals and latency percentiles.
 *
 *   loadgen run ... prints the table under its summary;
 *   --steps-csv FILE (bench: results/latest-steps.csv beside latest.csv)
 *   appends one row per step of the run, in this schema (columns are only
 *   ever added at the end):
 *
 *   started_at, git_rev, host, model, protocol, scenario, connections, rate,
 *   step, kind, count, failures, refused, lat_p50_us, lat_p90_us, lat_p99_us,
 *   lat_max_us
 *
 * kind is "step" (a scenario step, in scenario order) or "setup"; a setup
 * step that never happened (a login over HTTP) has no row. */
#ifndef LOADGEN_STEPTABLE_H
#define LOADGEN_STEPTABLE_H

#include <stddef.h>
#include <stdio.h>

#include "csv.h"
#include "loadgen.h"

/* The table on f, when there is more than one line to show. */
void steptable_print(FILE *f, const struct lg_stats *st, const struct lg_scenario *sc);

/* The rows of st's steps (row: the run's CSV row, for the columns they
 * share) appended to path. 0, or -1 with a message. */
int steptable_csv_append(const char *path, const struct csv_row *row, const struct lg_stats *st,
                         const struct lg_scenario *sc, char *err, size_t errlen);

/* The header line, without its newline. */
const char *steptable_csv_header(void);

#endif
