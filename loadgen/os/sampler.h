/* sampler.h - the server's resources over the measured window, as the
 * requests count (policy.h). Two threads:
 *
 *   - the edges: at t_measure it reads the server's CPU (its cgroup's, else
 *     its process group's from /proc), its CPUs' busy time (/proc/stat) and
 *     starts the cgroup's memory peak afresh; at t_end it reads them again,
 *     while every connection is still open (the drain comes after): no
 *     process of the server is exiting because loadgen closed its
 *     connections. It sleeps in between, so nothing delays its readings
 *     but the scheduler; where they came late anyway (a busy machine), the
 *     CPU figures are scaled to the window (late_s says by how much).
 *   - PSS: inside the window it sums PSS over the server's process group
 *     (child.c, /proc/PID/smaps_rollup) every SAMPLER_PERIOD_MS, and once
 *     more at t_end, keeping the largest sum: an idle keep-alive client
 *     costs the server memory only while it is connected. Reading
 *     smaps_rollup walks the process's page tables; with thousands of
 *     processes (fork at 10,000 connections) one sweep takes a while, so the
 *     period stretches to 4 times the last sweep's duration: it never uses
 *     more than about a fifth of one of loadgen's CPUs.
 *
 * A run stopped early (a signal), or one without t_end (--requests), takes
 * the end readings in sampler_stop(). */
#ifndef LOADGEN_SAMPLER_H
#define LOADGEN_SAMPLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SAMPLER_PERIOD_MS 100

struct cgroup;
struct cpus;

/* What to read. */
struct sampler_what {
    pid_t pgid;              /* the server's process group (> 0) */
    struct cgroup *cg;       /* its cgroup, or NULL: CPU from /proc */
    const struct cpus *cpus; /* the CPUs it has to itself, or NULL / empty */
};

/* What the window saw; -1 where unknown. */
struct sampler_result {
    double cpu_s;     /* the server's CPU */
    long mem_peak_kb; /* its cgroup's memory peak (-1: no cgroup memory) */
    long pss_peak_kb; /* the largest PSS sum */
    double busy_s;    /* its CPUs' busy time */
    double late_s;    /* how much longer than the window the readings spanned */
};

struct sampler {
    struct sampler_what what;
    uint64_t t_measure, t_end; /* t_end 0: the window ends at sampler_stop() */
    bool started, ended;       /* the edges were read */
    uint64_t at0, at1;         /* when */
    double cpu0, cpu1, busy0, busy1;
    long peak_kb, pss_kb;
    bool done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t edges, pss;
    bool edges_running, pss_running;
};

/* Start the threads (lg_now_ns() times). 0, or -1 (no edge thread: nothing
 * is measured). */
int sampler_start(struct sampler *s, const struct sampler_what *what, uint64_t t_measure,
                  uint64_t t_end);
/* Stop the threads (the end readings now, when the window did not reach
 * t_end); the window's figures into out. */
void sampler_stop(struct sampler *s, struct sampler_result *out);

#endif
