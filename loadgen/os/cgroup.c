/* cgroup.c - the server's group in the kernel's accounting (cgroup.h):
 *   1. parsing cpu.stat, single numbers, /proc/self/cgroup, mountinfo
 *      (every platform: the unit tests run them in the portable build too);
 *   2. finding, making, reading and removing the groups (Linux). */
#include "platform.h"
#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if SM_LINUX
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loadgen.h"
#endif

/* ---- 1. parsing ---------------------------------------------------------- */

/* Digits at *p up to the end of the line: the value, *p past the line. 0,
 * or -1 (no digits, something else on the line, out of range). */
static int line_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    if (*s < '0' || *s > '9') return -1;
    uint64_t n = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return -1;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '\n')
        s++;
    else if (*s != '\0')
        return -1;
    *v = n;
    *p = s;
    return 0;
}

int cgroup_parse_u64(const char *text, uint64_t *v, char *err, size_t errlen)
{
    const char *p = text;
    if (line_u64(&p, v) < 0 || *p != '\0') {
        snprintf(err, errlen, "'%.40s' is not one number", text);
        return -1;
    }
    return 0;
}

int cgroup_parse_cpu_stat(const char *text, uint64_t *usage_usec, char *err, size_t errlen)
{
    static const char key[] = "usage_usec ";
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        if (strncmp(line, key, sizeof key - 1) == 0) {
            const char *p = line + sizeof key - 1;
            if (line_u64(&p, usage_usec) < 0) {
                int len = nl ? (int)(nl - line) : (int)strlen(line);
                snprintf(err, errlen, "cpu.stat: '%.*s' is not 'usage_usec N'", len > 60 ? 60 : len,
                         line);
                return -1;
            }
            return 0;
        }
        if (!nl) break;
        line = nl + 1;
    }
    snprintf(err, errlen, "cpu.stat has no usage_usec line");
    return -1;
}

/* s (of length n) is one of the comma-separated words of list. */
static bool has_word(const char *list, size_t listlen, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < listlen;) {
        size_t w = 0;
        while (i + w < listlen && list[i + w] != ',')
            w++;
        if (w == n && memcmp(list + i, s, n) == 0) return true;
        i += w + 1;
    }
    return false;
}

int cgroup_parse_self(const char *text, const char *controller, char *path, size_t len)
{
    bool v2 = !controller || !*controller;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        const char *c1 = memchr(line, ':', ll);
        const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;
        if (c2) {
            size_t ctl = (size_t)(c2 - c1 - 1), plen = ll - (size_t)(c2 + 1 - line);
            bool match = v2 ? (c1 - line == 1 && line[0] == '0' && ctl == 0)
                            : (ctl > 0 && has_word(c1 + 1, ctl, controller));
            if (match && plen > 0 && c2[1] == '/' && plen < len) {
                memcpy(path, c2 + 1, plen);
                path[plen] = '\0';
                return 0;
            }
        }
        if (!nl) break;
        line = nl + 1;
    }
    return -1;
}

/* The next space-separated field of *p into out (cap bytes). 0, or -1. */
static int next_field(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    while (*s == ' ')
        s++;
    size_t n = strcspn(s, " \n");
    if (n == 0 || n >= cap) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = s + n;
    return 0;
}

int cgroup_parse_mount(const char *line, const char *controller, char *mnt, size_t mntlen,
                       char *root, size_t rootlen)
{
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
    char f[5][512];
    const char *p = line;
    for (int i = 0; i < 5; i++)
        if (next_field(&p, f[i], sizeof f[i]) < 0) return -1;
    const char *dash = strstr(p, " - ");
    if (!dash) return -1;
    p = dash + 3;
    char type[32], source[256], opts[1024];
    if (next_field(&p, type, sizeof type) < 0 || next_field(&p, source, sizeof source) < 0 ||
        next_field(&p, opts, sizeof opts) < 0)
        return -1;
    bool v2 = !controller || !*controller;
    if (v2 ? strcmp(type, "cgroup2") != 0
           : strcmp(type, "cgroup") != 0 || !has_word(opts, strlen(opts), controller))
        return -1;
    /* mountinfo escapes spaces and the like (\040): such paths are not ours */
    if (strchr(f[3], '\\') || strchr(f[4], '\\') || f[3][0] != '/' || f[4][0] != '/') return -1;
    if (strlen(f[4]) >= mntlen || strlen(f[3]) >= rootlen) return -1;
    strcpy(mnt, f[4]);
    strcpy(root, f[3]);
    return 0;
}

void cgroup_describe(const struct cgroup *cg, char *buf, size_t len)
{
    static const char *const names[] = {"proc", "cgroup1", "cgroup2"};
    const char *cpu = names[cg ? cg->cpu_kind : CG_NONE], *mem = names[cg ? cg->mem_kind : CG_NONE];
    if (cpu == mem)
        snprintf(buf, len, "%s", cpu);
    else
        snprintf(buf, len, "%s/%s", cpu, mem);
}

/* ---- 2. the groups ------------------------------------------------------- */

#if SM_LINUX

/* path into buf (NUL-terminated, what fits). The length, or -1. */
static ssize_t read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len == cap - 1) break;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* dir/file into buf. 0, or -1. */
static int read_in(const char *dir, const char *file, char *buf, size_t cap)
{
    char path[640];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return read_text(path, buf, cap) > 0 ? 0 : -1;
}

/* The directory of this process's group in a hierarchy (v1 holding
 * controller, or v2 for NULL). 0, or -1. */
static int own_dir(const char *controller, char *dir, size_t len)
{
    char self[8192], path[512];
    if (read_text("/proc/self/cgroup", self, sizeof self) <= 0 ||
        cgroup_parse_self(self, controller, path, sizeof path) < 0)
        return -1;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return -1;
    char line[2048], mnt[512], root[512];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, f)) {
        if (cgroup_parse_mount(line, controller, mnt, sizeof mnt, root, sizeof root) < 0) continue;
        size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
        if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0')) continue;
        const char *rest = strcmp(path + rl, "/") == 0 ? "" : path + rl;
        if ((size_t)snprintf(dir, len, "%s%s", mnt, rest) < len) rc = 0;
    }
    fclose(f);
    return rc;
}

/* Groups loadgen-PID-N under parent whose loadgen is gone: removed (an
 * empty group; one with a process left is left alone). */
static void sweep_stale(const char *parent)
{
    DIR *d = opendir(parent);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int pid;
        unsigned n;
        char end;
        if (sscanf(e->d_name, "loadgen-%d-%u%c", &pid, &n, &end) != 2 || pid <= 0 ||
            pid == (int)getpid())
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        rmdir(path);
    }
    closedir(d);
}

static unsigned g_seq; /* N of loadgen-PID-N */

/* A group under our own in a hierarchy, with probe (a file only that
 * hierarchy's group has). 0 (out set), or -1 with why. */
static int make_one(const char *controller, const char *probe, char *out, size_t len, char *why,
                    size_t whylen)
{
    char parent[512];
    if (own_dir(controller, parent, sizeof parent) < 0) {
        snprintf(why, whylen, "not mounted");
        return -1;
    }
    sweep_stale(parent);
    if ((size_t)snprintf(out, len, "%s/loadgen-%d-%u", parent, (int)getpid(), g_seq) >= len) {
        snprintf(why, whylen, "path too long");
        return -1;
    }
    if (mkdir(out, 0755) < 0) {
        snprintf(why, whylen, "mkdir %.200s: %s", out, strerror(errno));
        out[0] = '\0';
        return -1;
    }
    char path[640];
    snprintf(path, sizeof path, "%s/%s", out, probe);
    if (access(path, R_OK) < 0) {
        snprintf(why, whylen, "%.200s: %s", path, strerror(errno));
        rmdir(out);
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* Remove dir if it is set and none of keep[0..1]. */
static void drop(char *dir, const char *keep1, const char *keep2)
{
    if (*dir && strcmp(dir, keep1) != 0 && strcmp(dir, keep2) != 0) rmdir(dir);
}

/* The open cgroup.procs of each group, for the child to join. 0, or -1. */
static int open_joins(struct cgroup *cg)
{
    const char *dirs[2] = {cg->cpu_dir, cg->mem_dir};
    for (int i = 0; i < 2; i++) {
        if (!*dirs[i] || (i == 1 && strcmp(dirs[1], dirs[0]) == 0)) continue;
        char path[640];
        snprintf(path, sizeof path, "%s/cgroup.procs", dirs[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        cg->join_fd[cg->njoin++] = fd;
    }
    return 0;
}

static bool disabled(void)
{
    const char *off = getenv("LOADGEN_NO_CGROUP");
    return off && *off && strcmp(off, "0") != 0;
}

int cgroup_make(struct cgroup *cg, char *note, size_t notelen)
{
    *cg = (struct cgroup){.join_fd = {-1, -1}, .peak_fd = -1};
    note[0] = '\0';
    if (disabled()) {
        snprintf(note, notelen, "LOADGEN_NO_CGROUP is set: the server's CPU and memory from /proc");
        return -1;
    }
    g_seq++;
    char v2[512] = "", v1c[512] = "", v1m[512] = "", w2[256] = "", w1c[256] = "", w1m[256] = "";
    bool v2mem = false;
    if (make_one(NULL, "cpu.stat", v2, sizeof v2, w2, sizeof w2) == 0) {
        char peak[640];
        snprintf(peak, sizeof peak, "%s/memory.peak", v2);
        v2mem = access(peak, R_OK) == 0;
        snprintf(w2, sizeof w2, "no memory controller");
    }
    if (!v2mem) {
        make_one("cpuacct", "cpuacct.usage", v1c, sizeof v1c, w1c, sizeof w1c);
        make_one("memory", "memory.max_usage_in_bytes", v1m, sizeof v1m, w1m, sizeof w1m);
    }
    /* One hierarchy for both (v2, then v1); else the best of each. */
    const char *cpu = "", *mem = "";
    if (v2mem) {
        cpu = mem = v2;
        cg->cpu_kind = cg->mem_kind = CG_V2;
    } else if (*v1c && *v1m) {
        cpu = v1c;
        mem = v1m;
        cg->cpu_kind = cg->mem_kind = CG_V1;
    } else {
        cpu = *v2 ? v2 : v1c;
        cg->cpu_kind = *v2 ? CG_V2 : *v1c ? CG_V1 : CG_NONE;
        mem = v1m;
        cg->mem_kind = *v1m ? CG_V1 : CG_NONE;
    }
    lg_copy(cg->cpu_dir, sizeof cg->cpu_dir, cpu);
    lg_copy(cg->mem_dir, sizeof cg->mem_dir, mem);
    drop(v2, cg->cpu_dir, cg->mem_dir);
    drop(v1c, cg->cpu_dir, cg->mem_dir);
    drop(v1m, cg->cpu_dir, cg->mem_dir);
    if (cg->cpu_kind == CG_NONE || open_joins(cg) < 0) {
        int e = errno;
        char st[64] = "";
        if (cg->cpu_kind != CG_NONE) snprintf(st, sizeof st, "cgroup.procs: %s; ", strerror(e));
        cgroup_remove(cg, 1, NULL, 0);
        snprintf(note, notelen,
                 "no cgroup for the server (%scgroup2: %.160s; cgroup1 cpuacct: %.160s): its CPU "
                 "and memory from /proc",
                 st, w2, w1c);
        return -1;
    }
    if (cg->mem_kind == CG_NONE)
        snprintf(note, notelen,
                 "the server's memory from /proc: no cgroup memory controller here (cgroup2: "
                 "%.160s; cgroup1 memory: %.160s)",
                 w2, w1m);
    return 0;
}

void cgroup_joined(struct cgroup *cg)
{
    for (size_t i = 0; i < cg->njoin; i++)
        close(cg->join_fd[i]);
    cg->join_fd[0] = cg->join_fd[1] = -1;
    cg->njoin = 0;
}

/* pid is a line of dir/cgroup.procs. */
static bool lists(const char *dir, pid_t pid)
{
    static char buf[1 << 16];
    if (read_in(dir, "cgroup.procs", buf, sizeof buf) < 0) return false;
    char want[24];
    int n = snprintf(want, sizeof want, "%d\n", (int)pid);
    for (const char *p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, want, (size_t)n) == 0) return true;
    return false;
}

bool cgroup_has(const struct cgroup *cg, pid_t pid)
{
    return cg->cpu_kind != CG_NONE && lists(cg->cpu_dir, pid) &&
           (cg->mem_kind == CG_NONE || lists(cg->mem_dir, pid));
}

int cgroup_cpu_ns(const struct cgroup *cg, uint64_t *ns)
{
    char buf[4096], err[128];
    uint64_t v;
    if (cg->cpu_kind == CG_V2) {
        if (read_in(cg->cpu_dir, "cpu.stat", buf, sizeof buf) < 0 ||
            cgroup_parse_cpu_stat(buf, &v, err, sizeof err) < 0)
            return -1;
        *ns = v * 1000;
        return 0;
    }
    if (cg->cpu_kind == CG_V1 && read_in(cg->cpu_dir, "cpuacct.usage", buf, sizeof buf) == 0 &&
        cgroup_parse_u64(buf, &v, err, sizeof err) == 0) {
        *ns = v;
        return 0;
    }
    return -1;
}

int cgroup_peak_reset(struct cgroup *cg)
{
    char path[640];
    if (cg->mem_kind == CG_V1) {
        snprintf(path, sizeof path, "%s/memory.max_usage_in_bytes", cg->mem_dir);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        int rc = fd >= 0 && write(fd, "0", 1) == 1 ? 0 : -1;
        if (fd >= 0) close(fd);
        return rc;
    }
    if (cg->mem_kind != CG_V2) return -1;
    /* Linux 6.12: a write resets the peak that file descriptor reads */
    snprintf(path, sizeof path, "%s/memory.peak", cg->mem_dir);
    if (cg->peak_fd >= 0) close(cg->peak_fd);
    cg->peak_fd = open(path, O_RDWR | O_CLOEXEC);
    if (cg->peak_fd >= 0 && write(cg->peak_fd, "reset\n", 6) == 6) return 0;
    if (cg->peak_fd >= 0) close(cg->peak_fd);
    cg->peak_fd = -1;
    return -1;
}

long cgroup_peak_kb(const struct cgroup *cg)
{
    char buf[64], err[128];
    uint64_t v;
    if (cg->mem_kind == CG_NONE) return -1;
    if (cg->peak_fd >= 0) {
        ssize_t n = pread(cg->peak_fd, buf, sizeof buf - 1, 0);
        if (n <= 0) return -1;
        buf[n] = '\0';
    } else if (read_in(cg->mem_dir,
                       cg->mem_kind == CG_V2 ? "memory.peak" : "memory.max_usage_in_bytes", buf,
                       sizeof buf) < 0) {
        return -1;
    }
    return cgroup_parse_u64(buf, &v, err, sizeof err) < 0 ? -1 : (long)(v / 1024);
}

void cgroup_kill(const struct cgroup *cg)
{
    static char buf[1 << 16];
    const char *dirs[2] = {cg->cpu_dir, cg->mem_dir};
    for (int i = 0; i < 2; i++) {
        if (!*dirs[i] || read_in(dirs[i], "cgroup.procs", buf, sizeof buf) < 0) continue;
        for (const char *p = buf; *p;) {
            long pid = strtol(p, NULL, 10);
            if (pid > 1 && pid != (long)getpid()) kill((pid_t)pid, SIGKILL);
            const char *nl = strchr(p, '\n');
            if (!nl) break;
            p = nl + 1;
        }
    }
}

/* rmdir dir, retried while the kernel still counts a process in it. */
static int remove_dir(const char *dir, double timeout_s)
{
    uint64_t deadline = lg_now_ns() + (uint64_t)(timeout_s * 1e9);
    for (;;) {
        if (rmdir(dir) == 0 || errno == ENOENT) return 0;
        if (errno != EBUSY || lg_now_ns() >= deadline) return -1;
        poll(NULL, 0, 10);
    }
}

int cgroup_remove(struct cgroup *cg, double timeout_s, char *note, size_t notelen)
{
    cgroup_joined(cg);
    if (cg->peak_fd >= 0) close(cg->peak_fd);
    cg->peak_fd = -1;
    int rc = 0;
    char *dirs[2] = {cg->cpu_dir, cg->mem_dir};
    for (int i = 0; i < 2; i++) {
        if (!*dirs[i]) continue;
        if (remove_dir(dirs[i], timeout_s) < 0) {
            if (note && rc == 0)
                snprintf(note, notelen, "cannot remove the server's cgroup %.300s: %s", dirs[i],
                         strerror(errno));
            rc = -1;
        }
        if (i == 0 && strcmp(dirs[1], dirs[0]) == 0) dirs[1][0] = '\0';
        dirs[i][0] = '\0';
    }
    cg->cpu_kind = cg->mem_kind = CG_NONE;
    return rc;
}

#else /* !SM_LINUX: no control groups; the bench reads what it can */

int cgroup_make(struct cgroup *cg, char *note, size_t notelen)
{
    *cg = (struct cgroup){.join_fd = {-1, -1}, .peak_fd = -1};
    snprintf(note, notelen, "no cgroups on this system: the server's CPU and memory from the OS");
    return -1;
}

void cgroup_joined(struct cgroup *cg)
{
    cg->njoin = 0;
}

bool cgroup_has(const struct cgroup *cg, pid_t pid)
{
    (void)cg;
    (void)pid;
    return false;
}

int cgroup_cpu_ns(const struct cgroup *cg, uint64_t *ns)
{
    (void)cg;
    (void)ns;
    return -1;
}

int cgroup_peak_reset(struct cgroup *cg)
{
    (void)cg;
    return -1;
}

long cgroup_peak_kb(const struct cgroup *cg)
{
    (void)cg;
    return -1;
}

void cgroup_kill(const struct cgroup *cg)
{
    (void)cg;
}

int cgroup_remove(struct cgroup *cg, double timeout_s, char *note, size_t notelen)
{
    (void)timeout_s;
    (void)note;
    (void)notelen;
    cg->cpu_kind = cg->mem_kind = CG_NONE;
    return 0;
}

#endif
