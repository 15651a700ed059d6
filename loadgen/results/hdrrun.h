/* hdrrun.h - `loadgen run --hdr-log FILE [--hdr-interval S]`: the measured
 * window's latency as an HdrHistogram interval log (hdrlog.h).
 *
 * One line per interval of the measured window (warm-up is not in it),
 * written by a logger thread while the run goes, from the engine threads'
 * interval slots (ival.h); at the end the last, partial interval and the
 * whole run (Tag=run: exactly the run's merged histogram, the one the
 * summary and the CSV row come from), then the file is renamed into place.
 * A run that fails leaves no file (hdrrun_discard).
 *
 *   hdrrun_check_path(path)                  before the verify pass
 *   hr = hdrrun_start(cfg, run, start_wall)  run times set, engine not started
 *   engine ... ; hdrrun_stop(hr)             the engine returned
 *   hdrrun_commit(hr, merged, elapsed)  or  hdrrun_discard(hr)
 */
#ifndef LOADGEN_HDRRUN_H
#define LOADGEN_HDRRUN_H

#include <stddef.h>

#include "hist.h"
#include "loadgen.h"

struct hdrrun;

/* The log can be written there (a temporary file is made and removed).
 * 0, or -1 with the reason in err. */
int hdrrun_check_path(const char *path, char *err, size_t errlen);

/* Open the log (StartTime start_wall_s: the wall-clock second of
 * run->t_measure), give every engine thread its interval slot
 * (run->live[i].ival) and start the logger. run->t_measure and t_end must be
 * set, run->live allocated. NULL with the reason in err. */
struct hdrrun *hdrrun_start(const struct lg_config *cfg, struct lg_run *run, double start_wall_s,
                            char *err, size_t errlen);
/* The engine threads ended: stop the logger (every interval it finished is
 * written). */
void hdrrun_stop(struct hdrrun *hr);
/* Write the last interval (up to elapsed_s, from the difference between
 * merged and what the intervals already hold) and the whole run (merged),
 * then rename the file into place. Frees hr. 0, or -1 with err (no file). */
int hdrrun_commit(struct hdrrun *hr, const struct hist *merged, double elapsed_s, char *err,
                  size_t errlen);
/* Stop if needed, remove the temporary file, free (NULL is fine). */
void hdrrun_discard(struct hdrrun *hr);

#endif
