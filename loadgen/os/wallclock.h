/* wallclock.h - wall-clock seconds (CLOCK_REALTIME) next to the monotonic
 * clock the runs are timed with (lg_now_ns), for `loadgen run --start-at`
 * and the StartTime of `--hdr-log`: hosts agree on wall-clock time (NTP),
 * a run measures with the monotonic clock. */
#ifndef LOADGEN_WALLCLOCK_H
#define LOADGEN_WALLCLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Seconds since the epoch, now. */
double wallclock_now_s(void);
/* lg_now_ns()'s reading at wall-clock second wall_s (past or future), as
 * the two clocks stand now. */
uint64_t wallclock_to_mono_ns(double wall_s);
/* The wall-clock second of lg_now_ns() reading mono_ns. */
double wallclock_from_mono_ns(uint64_t mono_ns);
/* Sleep until wall-clock second wall_s (absolute, so a clock step is
 * followed). 0 once it is reached; -1 as soon as stopped() is true (checked
 * at least every 100 ms and after every signal). */
int wallclock_sleep_until(double wall_s, bool (*stopped)(void));

#endif
