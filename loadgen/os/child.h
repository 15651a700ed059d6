/* child.h - child processes for the bench: spawn with pipes, wait with a
 * deadline, kill the whole process group; and what a process group uses
 * (CPU, peak RSS) read from /proc. */
#ifndef LOADGEN_CHILD_H
#define LOADGEN_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

struct child {
    pid_t pid;  /* 0 = none (or reaped) */
    int pidfd;  /* -1 when the platform has none */
    bool group; /* leads its own process group (pgid == pid) */
    int status; /* wait status once reaped */
    struct rusage ru;
};

struct cpus;

/* How to start a child: stdin is /dev/null. */
struct child_how {
    int out, err;            /* its stdout and stderr */
    bool group;              /* a process group of its own */
    bool search_path;        /* execvp rather than execv */
    const struct cpus *cpus; /* non-NULL, non-empty: pinned there before exec */
    /* Open cgroup.procs files (cgroup.h) the child joins before exec, by
     * writing "0" to each: no process it makes escapes the group. A failed
     * write is no error here; the caller checks membership (cgroup_has). */
    const int *join_fds;
    size_t njoin;
};

int child_spawn(struct child *c, char *const argv[], const struct child_how *how, char *msg,
                size_t msglen);
bool child_reap(struct child *c);
bool child_wait(struct child *c, double timeout_s);
void child_kill(struct child *c);
void child_describe(int status, char *buf, size_t len);
int child_capture(char *const argv[], bool search_path, char *buf, size_t cap, double timeout_s,
                  char *msg, size_t msglen);
bool child_group_alive(pid_t pgid);
int child_set_cloexec(int fd);

/* CPU seconds (user + system, counting reaped children) summed over every
 * live process of process group pgid, from /proc/PID/stat, or in ns from
 * /proc/PID/schedstat for a single-threaded one (ticks rounded down per
 * process lose up to 10 ms each); -1 if unreadable. */
double proc_group_cpu_s(pid_t pgid);
/* Peak RSS (VmHWM, KiB) summed over every live process of process group
 * pgid; -1 if unreadable. */
long proc_group_hwm_kb(pid_t pgid);
/* Proportional set size (KiB) summed over every live process of group
 * pgid, from /proc/PID/smaps_rollup: pages shared by forked children count
 * once in all, not once per child. -1 if unreadable. */
long proc_group_pss_kb(pid_t pgid);

#endif
