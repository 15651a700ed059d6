/* merge.h - one result row for a fleet of load generators.
 *
 *   loadgen merge A.csv B.csv ... --hdr-logs A.hlog,B.hlog,... [--csv OUT] [--label L]
 *
 * Each CSV's last row is one host's run of the same scenario against the
 * same target over the same window (`loadgen run --start-at`); its .hlog
 * (`loadgen run --hdr-log`, paired by position) holds that run's latency
 * histogram. The fleet's row: requests, errors, check failures, timeouts,
 * bytes, threads, connections, rate and loadgen CPU summed; req/s and MB/s
 * over the fleet's window (first start to last end); p50..p99.9 from the
 * merged histograms (never averaged); min and max the extremes of the
 * rows, the mean weighted by each histogram's count; server_accounting
 * the runs' common one ("mixed" when they differ), server_cpuset_busy_s
 * the largest (one server's CPUs over one window, seen by each run, never
 * added up). Runs of different
 * scenarios, protocols, engines, targets or models (without --label), or
 * windows that overlap less than 90 %, are refused; so is a corrupt log.
 * Exit 0, or 2 with a message and nothing written (OUT is replaced through
 * a temporary file and a rename). */
#ifndef LOADGEN_MERGE_H
#define LOADGEN_MERGE_H

#include <stddef.h>
#include <stdio.h>

#include "csv.h"
#include "hdrlog.h"

extern const char MERGE_USAGE[];

/* Windows must overlap by at least this fraction of the fleet's window. */
#define MERGE_MIN_OVERLAP 0.9

/* One host's run: its CSV row and its histogram log. */
struct merge_input {
    const char *csv_path, *hlog_path;
    struct csv_row row;
    struct hdrlog log;
};

/* The fleet's row from n runs; label (NULL = the runs' common model) goes
 * into the model column. 0, or -1 with the reason in err. */
int merge_runs(const struct merge_input *in, size_t n, const char *label, struct csv_row *out,
               char *err, size_t errlen);

/* Append row to path (header first when the file is new or empty) by
 * writing a copy next to it and renaming it into place. 0, or -1 with err. */
int merge_write_csv(const char *path, const struct csv_row *row, char *err, size_t errlen);

/* `loadgen merge ARGS` (argv without "merge"): the row on out (header and
 * row) unless --csv, messages on errout. The exit status: 0, or 2. */
int merge_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
