/* cpuset.h - CPU sets for pinning: the server's process group and loadgen
 * on disjoint CPUs, so a single-loop server does not fight the load
 * generator for a core (DESIGN.md section 6).
 *
 *   list   "0", "0-3", "0,2,4-5"          (Linux's cpuset list syntax)
 *   pair   "SERVER:LOADGEN", e.g. "0:1", "0-3:4-7"; or "none"
 *
 * Every CPU named must be one this process may run on (sched_getaffinity
 * at the time of parsing): a CPU that is absent, offline or outside the
 * container's cpuset is refused with a message naming the CPUs there are. */
#ifndef LOADGEN_CPUSET_H
#define LOADGEN_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUS_MAX 1024

/* A set of CPUs; n == 0 is "not pinned". */
struct cpus {
    unsigned char on[CPUS_MAX];
    unsigned n;
};

/* The server's and loadgen's sets; both empty = no pinning. */
struct cpu_pair {
    struct cpus server, loadgen;
};

/* The CPUs this process may run on. 0, or -1 (errno). */
int cpus_available(struct cpus *out);

/* A list ("0-3,5") of available CPUs. 0, or -1 with the reason in msg
 * ("CPU 5 is not available (this machine offers 0-1)", "5-2 is a backward
 * range", "empty set"). */
int cpus_parse(const char *list, struct cpus *out, char *msg, size_t msglen);

/* "SERVER:LOADGEN" (two disjoint non-empty lists) or "none". 0, or -1 with
 * the reason in msg. */
int cpus_parse_pair(const char *spec, struct cpu_pair *out, char *msg, size_t msglen);

/* The default: with >= 2 available CPUs the first half for the server,
 * the second half for loadgen; with one, no pinning. */
void cpus_default_pair(struct cpu_pair *out);

/* "0-3,5"; "" for an empty set. */
void cpus_format(const struct cpus *s, char *buf, size_t len);

/* Pin every thread of this process (those there are now; threads made
 * later inherit the set) to s. 0, or -1 with the reason in msg. */
int cpus_pin_self(const struct cpus *s, char *msg, size_t msglen);

/* sched_setaffinity(0, s) for the calling thread only: async-signal-safe,
 * for a child between fork and exec. 0, or -1. */
int cpus_pin_thread(const struct cpus *s);

/* The number of CPUs the calling thread may run on (>= 1). */
unsigned cpus_count_self(void);

/* How long the CPUs of s were busy, from /proc/stat's text (its "cpuN"
 * lines): user + nice + system + irq + softirq, in clock ticks (USER_HZ).
 * Softirq is the network stack's work done on those CPUs; idle, iowait and
 * steal (a hypervisor's other guests) are not busy. 0, or -1 with a reason
 * (a CPU of s without a line, a line that is not numbers). */
int cpus_parse_busy(const char *procstat, const struct cpus *s, uint64_t *ticks, char *err,
                    size_t errlen);
/* The same, read from /proc/stat now, in seconds. 0, or -1 (no /proc/stat:
 * the portable build). */
int cpus_busy_s(const struct cpus *s, double *secs);

#endif
