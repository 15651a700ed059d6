/* child.c - child processes and what they use, for the bench (child.h).
 *
 *   1. spawn with a pipe on stdout, wait with a deadline (pidfd where there
 *      is one, else a polled waitpid), kill the process group;
 *   2. what a process group used, from /proc: CPU seconds, peak RSS. */
#include "bsd_ext.h" /* wait4: BSD, not POSIX 2008 */
#include "child.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform.h"
#if SM_LINUX
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "cpuset.h"
#include "loadgen.h"

/* ---- 1. child processes ----------------------------------------------- */

static double now_s(void)
{
    return (double)lg_now_ns() / 1e9;
}

int child_set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(char *const argv[], int in, const struct child_how *how, pid_t parent,
                       int errpipe)
{
    int stage[2] = {0, 0}; /* what failed (0 exec, 1 pinning), errno */
    if (how->group) setpgid(0, 0);
    for (size_t i = 0; i < how->njoin; i++) {
        ssize_t j = write(how->join_fds[i], "0", 1);
        (void)j;
    }
#if SM_LINUX
    /* If loadgen dies (SIGKILL, a second ^C), the server goes too. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
#else
    (void)parent;
#endif
    /* Pinned before exec: the server's first thread and every process or
     * thread it makes later inherit the set. */
    if (how->cpus && how->cpus->n && cpus_pin_thread(how->cpus) < 0) {
        stage[0] = 1;
        goto fail;
    }
    if (dup2(in, 0) < 0 || dup2(how->out, 1) < 0 || dup2(how->err, 2) < 0) goto fail;
    /* loadgen ignores SIGPIPE; an ignored signal stays ignored across exec. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (how->search_path)
        execvp(argv[0], argv);
    else
        execv(argv[0], argv);
fail:
    stage[1] = errno;
    ssize_t w = write(errpipe, stage, sizeof stage);
    (void)w;
    _exit(127);
}

/* fork + exec argv with stdin from /dev/null and the given stdout/stderr.
 * 0, or -1 with a message (exec failures included). */
int child_spawn(struct child *c, char *const argv[], const struct child_how *how, char *msg,
                size_t msglen)
{
    *c = (struct child){.pidfd = -1, .group = how->group};
    int ep[2];
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || pipe(ep) < 0) {
        snprintf(msg, msglen, "cannot start %s: %s", argv[0], strerror(errno));
        if (in >= 0) close(in);
        return -1;
    }
    child_set_cloexec(ep[0]);
    child_set_cloexec(ep[1]);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child_exec(argv, in, how, parent, ep[1]);
    int saved = errno;
    close(in);
    close(ep[1]);
    if (pid < 0) {
        close(ep[0]);
        snprintf(msg, msglen, "cannot start %s: fork: %s", argv[0], strerror(saved));
        return -1;
    }
    if (how->group) setpgid(pid, pid); /* both sides: no race with our first killpg */
    c->pid = pid;
#if SM_LINUX && defined(SYS_pidfd_open)
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (c->pidfd >= 0) child_set_cloexec(c->pidfd);
#endif
    int e[2] = {0, 0};
    ssize_t n;
    do
        n = read(ep[0], e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == (ssize_t)sizeof e) { /* pinning or exec failed */
        waitpid(pid, NULL, 0);
        if (c->pidfd >= 0) close(c->pidfd);
        *c = (struct child){.pidfd = -1};
        snprintf(msg, msglen, "cannot start %s: %s%s", argv[0], e[0] ? "pinning to its CPUs: " : "",
                 strerror(e[1]));
        return -1;
    }
    return 0;
}

/* Reap c if it exited. true once reaped. */
bool child_reap(struct child *c)
{
    if (c->pid <= 0) return true;
    pid_t r;
    do
        r = wait4(c->pid, &c->status, WNOHANG, &c->ru);
    while (r < 0 && errno == EINTR);
    if (r == c->pid || (r < 0 && errno == ECHILD)) {
        if (r < 0) c->status = 0;
        if (c->pidfd >= 0) close(c->pidfd);
        c->pidfd = -1;
        c->pid = -c->pid; /* keep the pid (negated) for the group checks */
        return true;
    }
    return false;
}

/* Wait up to timeout_s for c to exit. true once reaped. */
bool child_wait(struct child *c, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        if (child_reap(c)) return true;
        double left = deadline - now_s();
        if (left <= 0) return false;
        int ms = left > 0.01 ? 10 : (int)(left * 1000) + 1;
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        if (c->pidfd >= 0) /* readable when the process exits */
            ms = (int)(left * 1000) + 1;
        poll(&p, c->pidfd >= 0 ? 1 : 0, ms);
    }
}

/* SIGKILL (the whole group when it has one) and reap. */
void child_kill(struct child *c)
{
    if (c->pid > 0) {
        if (c->group)
            kill(-c->pid, SIGKILL);
        else
            kill(c->pid, SIGKILL);
        child_wait(c, 5);
    }
}

void child_describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "wait status 0x%x", (unsigned)status);
}

/* Read fd until EOF, at most cap-1 bytes kept, within timeout_s. The length
 * read, or -1 on timeout. */
static ssize_t read_all(int fd, char *buf, size_t cap, double timeout_s)
{
    size_t len = 0;
    double deadline = now_s() + timeout_s;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) continue;
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_t keep = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
        memcpy(buf + len, tmp, keep);
        len += keep;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

/* Run argv, capture its stdout (at most cap-1 bytes) within timeout_s.
 * The exit status (0..255), or -1 with a message. */
int child_capture(char *const argv[], bool search_path, char *buf, size_t cap, double timeout_s,
                  char *msg, size_t msglen)
{
    int p[2];
    if (pipe(p) < 0) {
        snprintf(msg, msglen, "pipe: %s", strerror(errno));
        return -1;
    }
    child_set_cloexec(p[0]);
    child_set_cloexec(p[1]);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct child c;
    struct child_how how = {
        .out = p[1], .err = devnull >= 0 ? devnull : 2, .group = true, .search_path = search_path};
    int rc = child_spawn(&c, argv, &how, msg, msglen);
    close(p[1]);
    if (devnull >= 0) close(devnull);
    if (rc < 0) {
        close(p[0]);
        return -1;
    }
    ssize_t n = read_all(p[0], buf, cap, timeout_s);
    close(p[0]);
    if (n < 0 || !child_wait(&c, 2)) {
        child_kill(&c);
        snprintf(msg, msglen, "%s did not finish within %.0f s", argv[0], timeout_s);
        return -1;
    }
    if (!WIFEXITED(c.status)) {
        char st[96];
        child_describe(c.status, st, sizeof st);
        snprintf(msg, msglen, "%s: %s", argv[0], st);
        return -1;
    }
    return WEXITSTATUS(c.status);
}

/* ---- 2. the server's resources ---------------------------------------- */

/* /proc/PID/FILE into buf, NUL-terminated (what fits). 0, or -1. */
static int read_proc(pid_t pid, const char *file, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    return 0;
}

/* Fields of /proc/PID/stat after "(comm)": state ppid pgrp ... utime is
 * field 14, so index 11 counting from state (field 3). t[0..3]: utime,
 * stime, cutime, cstime; t[6]: num_threads (field 20). */
static int proc_stat(pid_t pid, pid_t *pgrp, unsigned long long t[7])
{
    char buf[1024];
    if (read_proc(pid, "stat", buf, sizeof buf) < 0) return -1;
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!p) return -1;
    p++;
    for (int field = 3; field <= 20; field++) {
        char *end;
        while (*p == ' ')
            p++;
        if (field == 3) { /* state, a letter */
            p++;
            continue;
        }
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p) return -1;
        p = end;
        if (field == 5)
            *pgrp = (pid_t)v;
        else if (field >= 14)
            t[field - 14] = v;
    }
    return 0;
}

/* The "Key:   N kB" line of /proc/PID/FILE, in KiB; -1 when absent (a
 * zombie has no memory lines). */
static long proc_kb(pid_t pid, const char *file, const char *key)
{
    char buf[4096];
    if (read_proc(pid, file, buf, sizeof buf) < 0) return -1;
    const char *h = strstr(buf, key);
    return h ? strtol(h + strlen(key), NULL, 10) : -1;
}

/* Calls fn(pid, arg) for every process of group pgid. -1 when /proc is unreadable. */
static int for_group(pid_t pgid, void (*fn)(pid_t, const unsigned long long *, void *), void *arg)
{
#if !SM_LINUX
    /* the portable build does not read Linux's /proc: the bench's CPU and
     * memory columns are -1 (unknown) there */
    (void)pgid;
    (void)fn;
    (void)arg;
    return -1;
#endif
    DIR *d = opendir("/proc");
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        pid_t pg = 0;
        unsigned long long t[7];
        if (proc_stat(pid, &pg, t) == 0 && pg == pgid) fn(pid, t, arg);
    }
    closedir(d);
    return 0;
}

/* The CPU a process used, s. /proc/PID/stat counts in clock ticks (10 ms
 * at USER_HZ 100), each process's utime and stime rounded down: summed
 * over fork's hundreds of children, whole seconds went missing. A
 * single-threaded process's run time in ns is the first field of
 * /proc/PID/schedstat, a multi-threaded one's the sum over its tasks (its
 * children reaped still in ticks, summed once). */
struct cpu_sum {
    double s;
    double hz;
};

/* The run time in ns of pid's live threads: each task's schedstat, summed
 * (a sanitizer's or an emulator's own thread makes a process multi-threaded).
 * 0 when it cannot be read. */
static unsigned long long tasks_ns(pid_t pid)
{
    char dir[64], buf[128];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d) return 0;
    unsigned long long total = 0, ns;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char file[96];
        snprintf(file, sizeof file, "task/%.20s/schedstat", e->d_name);
        if (read_proc(pid, file, buf, sizeof buf) == 0 && sscanf(buf, "%llu", &ns) == 1)
            total += ns;
    }
    closedir(d);
    return total;
}

static void add_cpu(pid_t pid, const unsigned long long *t, void *arg)
{
    struct cpu_sum *sum = arg;
    char buf[128];
    unsigned long long ns = 0;
    double ticks = (double)(t[0] + t[1]) / sum->hz, reaped = (double)(t[2] + t[3]) / sum->hz;
    if (t[6] == 1 && read_proc(pid, "schedstat", buf, sizeof buf) == 0 &&
        sscanf(buf, "%llu", &ns) == 1 && ns > 0) {
        sum->s += (double)ns / 1e9 + reaped;
        return;
    }
    /* Several threads: their ns, unless threads that exited made the
     * process's own (tick-rounded) total larger. */
    if (t[6] > 1) ns = tasks_ns(pid);
    double live = (double)ns / 1e9;
    sum->s += (live > ticks ? live : ticks) + reaped;
}

double proc_group_cpu_s(pid_t pgid)
{
    long hz = sysconf(_SC_CLK_TCK);
    struct cpu_sum sum = {0, (double)hz};
    if (hz <= 0 || for_group(pgid, add_cpu, &sum) < 0) return -1;
    return sum.s;
}

/* What sum_group_kb adds up, and the sum. */
struct kb_sum {
    const char *file, *key;
    long kb;
};

static void add_kb(pid_t pid, const unsigned long long *t, void *arg)
{
    (void)t;
    struct kb_sum *sum = arg;
    long kb = proc_kb(pid, sum->file, sum->key);
    if (kb > 0) sum->kb += kb;
}

static long sum_group_kb(pid_t pgid, const char *file, const char *key)
{
    struct kb_sum sum = {file, key, 0};
    return for_group(pgid, add_kb, &sum) < 0 ? -1 : sum.kb;
}

long proc_group_hwm_kb(pid_t pgid)
{
    return sum_group_kb(pgid, "status", "\nVmHWM:");
}

/* smaps_rollup: one line for the whole address space, each shared page
 * counted once over all its sharers (absent before Linux 4.14). */
long proc_group_pss_kb(pid_t pgid)
{
    return sum_group_kb(pgid, "smaps_rollup", "\nPss:");
}

/* Some process of group pgid is still alive (zombies still count until
 * their parent reaps them). */
bool child_group_alive(pid_t pgid)
{
    return kill(-pgid, 0) == 0 || errno == EPERM;
}
