/* run.h - one run of a loaded scenario against a server, as `loadgen run`
 * and `loadgen bench` both do it:
 *
 *   options over scenario over defaults -> check_prepare (fixtures) ->
 *   verify pass (libcurl, every distinct step once; a step with expect =
 *   same or sha256 takes its first answer's length + XXH64 from it, so
 *   every engine checks the later ones) -> the timed run on one
 *   engine, with a progress line on a terminal -> summary on stdout ->
 *   the CSV row (appended to opts->csv when given, returned in any case).
 *
 * SIGINT / SIGTERM during the timed run stop it early; it still reports. */
#ifndef LOADGEN_RUN_H
#define LOADGEN_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "results/csv.h"
#include "loadgen.h"

struct cgroup;
struct cpus;

#define EXIT_USAGE 2

/* What the caller asks for; a value not given (NULL, 0, < 0, as RUN_OPTS_INIT
 * leaves it) is the scenario's, else the default. */
struct run_opts {
    const char *target;   /* HOST:PORT or [IPv6]:PORT (required) */
    const char *fixtures; /* required when a step checks a file */
    const char *csv;      /* append the row here */
    /* append the per-step rows here (results/steptable.h): --steps-csv, and
     * for the bench its dated file and latest-steps.csv; NULL = none */
    const char *steps_csv[2];
    const char *label; /* the CSV's model column */
    enum lg_engine engine;
    bool progress;                           /* progress line even when not a terminal */
    uint64_t threads, connections, requests; /* 0 = not given */
    double duration, rate, timeout, warmup;  /* < 0 = not given */
    /* > 0 (bench): the server's process group; the row's server_cpu_s is
     * the CPU it used over the measured window (os/sampler.h), from its
     * cgroup when server_cg is set, else from /proc. */
    pid_t server_pgid;
    struct cgroup *server_cg;
    /* The CPUs the server has to itself (NULL or empty: none): their busy
     * time over the window is the row's server_cpuset_busy_s. */
    const struct cpus *server_cpuset;
    /* The CPU lists the row records ("" or NULL = not pinned); pinning
     * itself is the caller's (cpuset.h). */
    const char *server_cpus, *loadgen_cpus;
    /* Several load generators, one result (docs/fleet.md). */
    double start_at;     /* --start-at: wall-clock second, > 0; 0 = start right away */
    const char *hdr_log; /* --hdr-log FILE */
    double hdr_interval; /* --hdr-interval, s; <= 0 = 1 s */
    bool latency;        /* --latency: the percentile table, as wrk prints it */
};

#define RUN_OPTS_INIT                                                                              \
    {                                                                                              \
        .duration = -1, .rate = -1, .timeout = -1, .warmup = -1                                    \
    }

struct run_result {
    bool ran;         /* the timed run happened: row is filled */
    bool interrupted; /* SIGINT / SIGTERM cut it short */
    struct csv_row row;
    char why[512]; /* when !ran: what stopped it (verify failure, ...) */
};

/* The whole run of sc (loaded with scenario_load; check_prepare fills in
 * what each step must answer). Returns the exit status:
 * 0 every answer checked good, 1 errors, timeouts, check failures or a
 * failed verify pass, EXIT_USAGE a bad option or fixture tree (a message
 * is printed in every failing case). res is always filled. */
int run_scenario(const struct run_opts *opts, struct lg_scenario *sc, struct run_result *res);

/* From now on SIGINT / SIGTERM stop the timed run under way (a second one
 * ends loadgen at once) and are remembered for run_stop_requested(). */
void run_catch_signals(void);
bool run_stop_requested(void);

/* RLIMIT_NOFILE enough for this many connections (soft up to hard, past
 * it when allowed), with a note on stderr when it cannot be. */
void run_raise_fd_limit(unsigned connections);

/* A usage error of 'loadgen run': "loadgen: MESSAGE (try ...)", one line; EXIT_USAGE. */
int run_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
