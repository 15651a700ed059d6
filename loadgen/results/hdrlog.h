/* hdrlog.h - HdrHistogram interval logs (format version 1.3), written and read.
 *
 * The file HdrHistogram's HistogramLogWriter writes and its
 * HistogramLogProcessor and the Python / JavaScript ports read:
 *
 *   #[Histogram log format version 1.3]
 *   #[StartTime: 1700000000.000 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]
 *   #[BaseTime: 1700000000.000 (seconds since epoch)]
 *   #[Scenario: http-hello]
 *   #[Target: 127.0.0.1:8080]
 *   #[Values: microseconds; Interval_Max in milliseconds]
 *   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
 *   0.000,1.000,0.412,HISTFAAAA...          one line per interval (untagged)
 *   Tag=run,0.000,10.000,3.071,HISTFAAAA... the whole measured run
 *
 * Values are microseconds; Interval_Max is printed in milliseconds
 * (max / 1000, hdr-histogram-js's default ratio). Timestamps are seconds
 * relative to BaseTime, which is the StartTime. The whole-run histogram
 * carries the tag "run", so tools that read untagged lines (the default of
 * HistogramLogProcessor) see each value once. Scenario and Target are
 * loadgen's own comment lines (readers skip "#" lines): `loadgen merge`
 * refuses logs of different scenarios or targets. */
#ifndef LOADGEN_HDRLOG_H
#define LOADGEN_HDRLOG_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

#define HDRLOG_RUN_TAG "run"

/* ---- writing ---------------------------------------------------------------
 *
 * The log is written to a temporary file next to path and renamed into
 * place by hdrlog_commit(), so a failed run leaves nothing half-written:
 *
 *   struct hdrlog_writer *w = hdrlog_create(path, start_wall_s, &meta, err, sizeof err);
 *   every interval:  hdrlog_write_interval(w, offset_s, length_s, interval_hist, ...)
 *   at the end:      hdrlog_write_run(w, 0, elapsed_s, merged_hist, ...)
 *                    hdrlog_commit(w, ...)       (or hdrlog_discard(w) on failure)
 */
struct hdrlog_writer;

struct hdrlog_meta {
    const char *scenario; /* the CSV's scenario name; NULL = not written */
    const char *target;   /* HOST:PORT; NULL = not written */
};

/* start_time_s: wall-clock seconds since the epoch (fractional) at which the
 * measured window starts (after the verify pass and any warm-up); interval
 * offsets are relative to it. NULL with a reason in err. */
struct hdrlog_writer *hdrlog_create(const char *path, double start_time_s,
                                    const struct hdrlog_meta *meta, char *err, size_t errlen);
/* One interval: [offset_s, offset_s + length_s) after the start time. */
int hdrlog_write_interval(struct hdrlog_writer *w, double offset_s, double length_s,
                          const struct hist *h, char *err, size_t errlen);
/* The whole measured run (tag "run"); write it once, after the intervals. */
int hdrlog_write_run(struct hdrlog_writer *w, double offset_s, double length_s,
                     const struct hist *h, char *err, size_t errlen);
/* Flush, fsync and rename into place; frees w. 0, or -1 (the temporary
 * file removed) with a reason. */
int hdrlog_commit(struct hdrlog_writer *w, char *err, size_t errlen);
/* Remove the temporary file and free w (NULL is fine). */
void hdrlog_discard(struct hdrlog_writer *w);

/* ---- reading --------------------------------------------------------------- */

struct hdrlog_interval {
    double start_s; /* absolute: seconds since the epoch when the log has a
                       StartTime or BaseTime, else as written */
    double length_s;
    uint64_t count; /* values in the interval */
    int line;
};

struct hdrlog {
    double start_time_s;        /* #[StartTime: ], NAN when absent */
    double base_time_s;         /* #[BaseTime: ], NAN when absent */
    char scenario[64];          /* #[Scenario: ], "" when absent */
    char target[256];           /* #[Target: ], "" when absent */
    struct hist *intervals;     /* the sum of the untagged interval histograms */
    struct hdrlog_interval *iv; /* the untagged intervals, in file order */
    size_t n;
    struct hist *run;              /* the Tag=run histogram; NULL when absent */
    struct hdrlog_interval run_iv; /* its window (valid when run != NULL) */
    size_t other_tags;             /* lines with other tags, skipped */
};

/* Read a whole log. Every line is checked: a bad timestamp, bad base64, a
 * bad cookie, a truncated or corrupt histogram, a value past the range, a
 * log without any histogram: -1 with "FILE:LINE: reason" in err, out left
 * empty (hdrlog_free() is still safe). */
int hdrlog_read(const char *path, struct hdrlog *out, char *err, size_t errlen);
void hdrlog_free(struct hdrlog *log);

/* The whole run: the Tag=run histogram when present, else the intervals' sum. */
const struct hist *hdrlog_total(const struct hdrlog *log);
/* Its window [*start, *end): the run line's, else first to last interval. */
void hdrlog_window(const struct hdrlog *log, double *start, double *end);

#endif
