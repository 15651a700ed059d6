/* cpuset.c - CPU lists, pairs and pinning (cpuset.h). */
#include "platform.h"
#if SM_LINUX
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#endif
#include "cpuset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "units.h"

#if SM_LINUX
#include <sched.h>

int cpus_available(struct cpus *out)
{
    memset(out, 0, sizeof *out);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) < 0) return -1;
    for (unsigned c = 0; c < CPUS_MAX && c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            out->on[c] = 1;
            out->n++;
        }
    return 0;
}
#else
/* Without sched_getaffinity: the online CPUs; no pinning (below). */
int cpus_available(struct cpus *out)
{
    memset(out, 0, sizeof *out);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < n && c < CPUS_MAX; c++) {
        out->on[c] = 1;
        out->n++;
    }
    return n > 0 ? 0 : -1;
}
#endif

void cpus_format(const struct cpus *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned c = 0; c < CPUS_MAX; c++) {
        if (!s->on[c]) continue;
        unsigned last = c;
        while (last + 1 < CPUS_MAX && s->on[last + 1])
            last++;
        int n = last == c ? snprintf(buf + used, len - used, "%s%u", used ? "," : "", c)
                          : snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "", c, last);
        if (n < 0 || (size_t)n >= len - used) return; /* cut short: the prefix stays */
        used += (size_t)n;
        c = last;
    }
}

/* One CPU number of a list: digits only (units.h counts would take "1k"). */
static int cpu_number(const char *s, size_t len, unsigned *out)
{
    char buf[16];
    if (len == 0 || len >= sizeof buf || strspn(s, "0123456789") < len) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    uint64_t v;
    if (units_count(buf, 0, CPUS_MAX - 1, &v) < 0) return -1;
    *out = (unsigned)v;
    return 0;
}

/* "A" or "A-B" of s[0..len) into out. 0, or -1 with msg. */
static int add_range(const char *s, size_t len, struct cpus *out, char *msg, size_t msglen)
{
    const char *dash = memchr(s, '-', len);
    unsigned lo, hi;
    size_t first = dash ? (size_t)(dash - s) : len;
    if (cpu_number(s, first, &lo) < 0 || (dash && cpu_number(dash + 1, len - first - 1, &hi) < 0)) {
        snprintf(msg, msglen, "'%.*s' is not a CPU number or range (e.g. 0, 2-3)", (int)len, s);
        return -1;
    }
    if (!dash) hi = lo;
    if (hi < lo) {
        snprintf(msg, msglen, "'%.*s' is a backward range", (int)len, s);
        return -1;
    }
    for (unsigned c = lo; c <= hi; c++) {
        if (!out->on[c]) out->n++;
        out->on[c] = 1;
    }
    return 0;
}

/* Every CPU of s is available. 0, or -1 with msg. */
static int check_available(const struct cpus *s, char *msg, size_t msglen)
{
    struct cpus avail;
    if (cpus_available(&avail) < 0) {
        snprintf(msg, msglen, "sched_getaffinity: %s", strerror(errno));
        return -1;
    }
    for (unsigned c = 0; c < CPUS_MAX; c++)
        if (s->on[c] && !avail.on[c]) {
            char have[256];
            cpus_format(&avail, have, sizeof have);
            snprintf(msg, msglen, "CPU %u is not available (this process may use %s)", c, have);
            return -1;
        }
    return 0;
}

int cpus_parse(const char *list, struct cpus *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    const char *p = list;
    if (!*p) {
        snprintf(msg, msglen, "empty CPU set");
        return -1;
    }
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0) {
            snprintf(msg, msglen, "'%s': an empty item in the CPU list", list);
            return -1;
        }
        if (add_range(p, len, out, msg, msglen) < 0) return -1;
        if (!p[len]) break;
        p += len + 1;
    }
    return check_available(out, msg, msglen);
}

int cpus_parse_pair(const char *spec, struct cpu_pair *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    if (strcmp(spec, "none") == 0) return 0;
    const char *colon = strchr(spec, ':');
    if (!colon || strchr(colon + 1, ':')) {
        snprintf(msg, msglen, "'%s' is not SERVER:LOADGEN (e.g. 0:1, 0-3:4-7) or none", spec);
        return -1;
    }
    char server[256], why[300];
    snprintf(server, sizeof server, "%.*s", (int)(colon - spec), spec);
    if (cpus_parse(server, &out->server, why, sizeof why) < 0) {
        snprintf(msg, msglen, "server CPUs: %s", why);
        return -1;
    }
    if (cpus_parse(colon + 1, &out->loadgen, why, sizeof why) < 0) {
        snprintf(msg, msglen, "loadgen CPUs: %s", why);
        return -1;
    }
    for (unsigned c = 0; c < CPUS_MAX; c++)
        if (out->server.on[c] && out->loadgen.on[c]) {
            snprintf(msg, msglen,
                     "CPU %u is in both sets: the server's and loadgen's must be disjoint", c);
            return -1;
        }
    return 0;
}

void cpus_default_pair(struct cpu_pair *out)
{
    memset(out, 0, sizeof *out);
    if (!SM_LINUX) return; /* no pinning to default to */
    struct cpus avail;
    if (cpus_available(&avail) < 0 || avail.n < 2) return;
    unsigned half = avail.n / 2, seen = 0;
    for (unsigned c = 0; c < CPUS_MAX; c++) {
        if (!avail.on[c]) continue;
        struct cpus *to = seen++ < half ? &out->server : &out->loadgen;
        to->on[c] = 1;
        to->n++;
    }
}

#if SM_LINUX
static void to_cpu_set(const struct cpus *s, cpu_set_t *set)
{
    CPU_ZERO(set);
    for (unsigned c = 0; c < CPUS_MAX && c < CPU_SETSIZE; c++)
        if (s->on[c]) CPU_SET(c, set);
}

int cpus_pin_thread(const struct cpus *s)
{
    cpu_set_t set;
    to_cpu_set(s, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int cpus_pin_self(const struct cpus *s, char *msg, size_t msglen)
{
    cpu_set_t set;
    to_cpu_set(s, &set);
    /* sched_setaffinity on a pid is per thread: every task of this process. */
    DIR *d = opendir("/proc/self/task");
    int rc = d ? 0 : sched_setaffinity(0, sizeof set, &set);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
        if (sched_setaffinity(tid, sizeof set, &set) < 0 && errno != ESRCH) rc = -1;
    }
    if (d) closedir(d);
    if (rc < 0) {
        char list[256];
        cpus_format(s, list, sizeof list);
        snprintf(msg, msglen, "cannot pin loadgen to CPUs %s: %s", list, strerror(errno));
    }
    return rc;
}

unsigned cpus_count_self(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) < 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? (unsigned)n : 1;
}
#else
/* No portable way to pin: an explicit --cpus fails with this reason. */
int cpus_pin_thread(const struct cpus *s)
{
    (void)s;
    errno = ENOTSUP;
    return -1;
}

int cpus_pin_self(const struct cpus *s, char *msg, size_t msglen)
{
    char list[256];
    cpus_format(s, list, sizeof list);
    snprintf(msg, msglen,
             "cannot pin loadgen to CPUs %s: pinning needs Linux (this build is portable)", list);
    errno = ENOTSUP;
    return -1;
}

unsigned cpus_count_self(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
#endif

/* ---- busy time ---------------------------------------------------------- */

int cpus_parse_busy(const char *procstat, const struct cpus *s, uint64_t *ticks, char *err,
                    size_t errlen)
{
    unsigned seen = 0;
    uint64_t sum = 0;
    for (const char *line = procstat; *line;) {
        const char *nl = strchr(line, '\n');
        unsigned cpu;
        int at = 0;
        if (sscanf(line, "cpu%u%n", &cpu, &at) == 1 && cpu < CPUS_MAX && s->on[cpu] &&
            line[at] == ' ') {
            /* user nice system idle iowait irq softirq [steal guest guest_nice] */
            const char *p = line + at;
            uint64_t v[7];
            for (int i = 0; i < 7; i++) {
                while (*p == ' ')
                    p++;
                char *end;
                errno = 0;
                v[i] = strtoull(p, &end, 10);
                if (*p < '0' || *p > '9' || end == p || errno) { /* not across lines */
                    int len = nl ? (int)(nl - line) : (int)strlen(line);
                    snprintf(err, errlen, "/proc/stat: '%.*s': not 7 numbers after cpu%u",
                             len > 80 ? 80 : len, line, cpu);
                    return -1;
                }
                p = end;
            }
            sum += v[0] + v[1] + v[2] + v[5] + v[6];
            seen++;
        }
        if (!nl) break;
        line = nl + 1;
    }
    if (seen != s->n) {
        snprintf(err, errlen, "/proc/stat: %u of the %u CPUs have a line", seen, s->n);
        return -1;
    }
    *ticks = sum;
    return 0;
}

int cpus_busy_s(const struct cpus *s, double *secs)
{
#if SM_LINUX
    enum { CAP = 1 << 16 }; /* the cpuN lines come first: 1,024 CPUs fit */
    char *buf = malloc(CAP);
    FILE *f = buf ? fopen("/proc/stat", "re") : NULL;
    size_t n = f ? fread(buf, 1, CAP - 1, f) : 0;
    if (f) fclose(f);
    uint64_t ticks;
    char err[160];
    long hz = sysconf(_SC_CLK_TCK);
    int rc = -1;
    if (n > 0 && hz > 0) {
        buf[n] = '\0';
        rc = cpus_parse_busy(buf, s, &ticks, err, sizeof err);
    }
    free(buf);
    if (rc == 0) *secs = (double)ticks / (double)hz;
    return rc;
#else
    (void)s;
    (void)secs;
    return -1;
#endif
}
