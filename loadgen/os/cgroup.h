/* cgroup.h - the server's resources from the kernel's accounting of its
 * whole group, as systemd-cgtop, docker stats and `perf stat -G` read them:
 * a control group of its own, which every process the server ever runs is
 * in, exited or not.
 *
 *   CPU     cgroup v2 cpu.stat usage_usec, or v1 cpuacct.usage (ns)
 *   memory  cgroup v2 memory.peak, or v1 memory.max_usage_in_bytes; both
 *           reset at the measured window's start (v2: per open file, since
 *           Linux 6.12; where that fails, the peak since the server started)
 *
 * What a machine offers is found in /proc/self/mountinfo and
 * /proc/self/cgroup: the group is made under loadgen's own group in each
 * hierarchy (so the limits loadgen runs under still hold), named
 * loadgen-PID-N. One hierarchy that offers both is taken first (v2, then
 * v1); else the best of each. Nothing is enabled or changed outside the new
 * groups. Groups left by a loadgen that died (PID gone) are removed when
 * the next one makes its own.
 *
 * The child joins before exec (child.h's join_fds: it writes "0" to each
 * group's cgroup.procs), so no process of the server escapes. Where no
 * group can be made (not root and no delegation, read-only, the portable
 * build, LOADGEN_NO_CGROUP set), cgroup_make says why in one line and the
 * caller falls back to /proc. */
#ifndef LOADGEN_CGROUP_H
#define LOADGEN_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_kind { CG_NONE, CG_V1, CG_V2 };

struct cgroup {
    enum cg_kind cpu_kind, mem_kind; /* CG_NONE: that resource from /proc */
    char cpu_dir[512], mem_dir[512]; /* the groups ("" when none) */
    int join_fd[2];                  /* their cgroup.procs, open until cgroup_joined() */
    size_t njoin;
    int peak_fd; /* v2 memory.peak, open from the window's start; -1 */
};

/* Make the server's group(s). 0 with CPU accounted by a group (memory may
 * still be /proc's: note then says so); -1 when none could be made, with
 * the reason in note (one line) and nothing left behind. */
int cgroup_make(struct cgroup *cg, char *note, size_t notelen);
/* The parent's copies of the cgroup.procs files are no longer needed (the
 * child has them). */
void cgroup_joined(struct cgroup *cg);
/* pid is in every group of cg. */
bool cgroup_has(const struct cgroup *cg, pid_t pid);
/* CPU time of every process that ever ran in the group, ns. 0, or -1. */
int cgroup_cpu_ns(const struct cgroup *cg, uint64_t *ns);
/* Start the memory peak afresh (the window's start). 0, or -1 (the peak
 * is then the one since the group was made). */
int cgroup_peak_reset(struct cgroup *cg);
/* The memory peak in KiB; -1 when there is none (memory from /proc). */
long cgroup_peak_kb(const struct cgroup *cg);
/* SIGKILL every process left in the groups (the server was stopped). */
void cgroup_kill(const struct cgroup *cg);
/* Remove the groups (their processes have exited): retried for up to
 * timeout_s while the kernel still counts a process in them. 0, or -1
 * with a note (a group is left; the next loadgen removes it). */
int cgroup_remove(struct cgroup *cg, double timeout_s, char *note, size_t notelen);

/* The accounting that gave the server's figures, the CSV's
 * server_accounting: "cgroup2", "cgroup1" or "proc" when CPU and memory
 * came from the same place, else "CPU/MEMORY" (e.g. "cgroup2/proc").
 * cg NULL: "proc". */
void cgroup_describe(const struct cgroup *cg, char *buf, size_t len);

/* ---- parsing, exposed for the unit tests ---- */

/* usage_usec of a cgroup v2 cpu.stat text. 0, or -1 with a reason. */
int cgroup_parse_cpu_stat(const char *text, uint64_t *usage_usec, char *err, size_t errlen);
/* A file of one number and a newline (cpuacct.usage, memory.peak,
 * memory.max_usage_in_bytes). 0, or -1 with a reason. */
int cgroup_parse_u64(const char *text, uint64_t *v, char *err, size_t errlen);
/* The path of this process's group from /proc/self/cgroup's text: in the
 * v1 hierarchy holding controller, or the v2 one (controller NULL or "").
 * 0, or -1 when absent. */
int cgroup_parse_self(const char *text, const char *controller, char *path, size_t len);
/* One /proc/self/mountinfo line: its mount point and root when it mounts
 * the v1 hierarchy holding controller (or v2, controller NULL or ""). 0,
 * or -1 when it does not. */
int cgroup_parse_mount(const char *line, const char *controller, char *mnt, size_t mntlen,
                       char *root, size_t rootlen);

#endif
