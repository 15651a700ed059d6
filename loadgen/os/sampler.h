/* sampler.h - the server's memory at its peak: a thread that sums PSS over
 * the server's process group (child.c, /proc/PID/smaps_rollup) every
 * SAMPLER_PERIOD_MS during the timed run and keeps the largest sum. An
 * idle keep-alive client costs the server memory only while it is
 * connected, so a reading after the run would miss it.
 *
 * Reading smaps_rollup walks the process's page tables; with thousands of
 * processes (fork at 10,000 connections) one sweep takes a while, so the
 * period stretches to 4 times the last sweep's duration: the sampler never
 * uses more than about a fifth of one of loadgen's CPUs. */
#ifndef LOADGEN_SAMPLER_H
#define LOADGEN_SAMPLER_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#define SAMPLER_PERIOD_MS 100

struct sampler {
    pid_t pgid;
    long peak_kb; /* -1 until a sweep read something */
    bool done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid;
    bool running;
};

/* Start sampling group pgid (one sweep at once, then periodically).
 * 0, or -1 (no thread: sampler_stop() still takes one last sweep). */
int sampler_start(struct sampler *s, pid_t pgid);
/* One last sweep, stop the thread. The peak PSS in KiB, or -1 when no
 * sweep could read the group. */
long sampler_stop(struct sampler *s);

#endif
