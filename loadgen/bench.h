/* bench.h - the model x scenario matrix (DESIGN.md section 6).
 *
 *   loadgen bench --server PATH/refserver [--models a,b|all] [--scenarios F.ini,..|DIR] ...
 *
 * For every model and every scenario whose protocol the server speaks:
 * start the server on an ephemeral loopback port (its own process group),
 * wait for its "listening on HOST:PORT" line, run the scenario exactly as
 * `loadgen run` does (main.c hands that code in as a hook, so it is not
 * duplicated here), record the server's CPU and peak RSS, stop it with
 * SIGTERM, check it exited 0 and left no process behind, write the CSV rows
 * and print a ranked table per scenario. A model that fails to start,
 * crashes, hangs or fails its verify pass is a failed row (requests 0,
 * errors >= 1) and the bench goes on. */
#ifndef LOADGEN_BENCH_H
#define LOADGEN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "csv.h"
#include "loadgen.h"

/* One (model, scenario) run, as `loadgen run` would do it. */
struct bench_run {
    struct lg_scenario *sc; /* loaded */
    const char *target;     /* "127.0.0.1:PORT" */
    const char *fixtures;
    const char *label;              /* the CSV's model column */
    double duration_s;              /* > 0 */
    unsigned threads, connections;  /* 0 = the scenario's */
    void (*timed_start)(void *arg); /* called right before the timed run */
    void *arg;
};

struct bench_result {
    bool ran;         /* the timed run happened: row is filled */
    bool interrupted; /* SIGINT/SIGTERM cut it short: the bench stops */
    struct csv_row row;
    char why[512]; /* when !ran: what stopped it (verify failure, ...) */
};

/* What main.c lends the bench: the run itself (returns run's exit status)
 * and whether SIGINT/SIGTERM arrived. */
struct bench_hooks {
    int (*run)(const struct bench_run *br, struct bench_result *res);
    bool (*stop_requested)(void);
};

/* `loadgen bench ARGS`: the exit status (0 every run clean, 1 any failed
 * run, error or check failure, 2 usage). */
int bench_main(int argc, char **argv, const struct bench_hooks *hooks);

/* ---- the server process (exposed for tests) ---------------------------- */

/* CPU seconds (user + system, counting reaped children) summed over every
 * live process of process group pgid, from /proc/PID/stat; -1 if unreadable. */
double bench_group_cpu_s(pid_t pgid);
/* Peak RSS (VmHWM, KiB) summed over every live process of process group
 * pgid; -1 if unreadable. */
long bench_group_hwm_kb(pid_t pgid);

/* The median of v[0..n) (v is sorted in place); 0 when n == 0. */
double bench_median(double *v, size_t n);

#endif
