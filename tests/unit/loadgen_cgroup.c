/* Unit tests for loadgen/os/cgroup.c (cpu.stat, single numbers,
 * /proc/self/cgroup, mountinfo, the accounting's name; a live group where
 * this machine lets us make one) and cpuset.c's busy time from /proc/stat.
 * Malformed input is a clear reason, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os/cgroup.h"
#include "os/child.h"
#include "os/cpuset.h"
#include "platform.h"

static char err[256];

static void expect_error(int rc, const char *want)
{
    assert_int_equal(rc, -1);
    if (!strstr(err, want)) fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_cpu_stat(void **state)
{
    (void)state;
    uint64_t v = 0;
    const char *v2 = "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n"
                     "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n";
    assert_int_equal(cgroup_parse_cpu_stat(v2, &v, err, sizeof err), 0);
    assert_int_equal(v, 1234567);
    /* another order, no final newline */
    assert_int_equal(cgroup_parse_cpu_stat("user_usec 5\nusage_usec 42", &v, err, sizeof err), 0);
    assert_int_equal(v, 42);
    /* usage_usec as part of another key is not it */
    expect_error(cgroup_parse_cpu_stat("xusage_usec 5\n", &v, err, sizeof err),
                 "no usage_usec line");
    expect_error(cgroup_parse_cpu_stat("", &v, err, sizeof err), "no usage_usec line");
    static const char *const bad[] = {"usage_usec abc\n",
                                      "usage_usec -5\n",
                                      "usage_usec 12x\n",
                                      "usage_usec \n",
                                      "usage_usec 99999999999999999999999\n",
                                      "usage_usec 1 2\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(cgroup_parse_cpu_stat(bad[i], &v, err, sizeof err), "is not 'usage_usec N'");
}

static void test_single_numbers(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(cgroup_parse_u64("123456789012\n", &v, err, sizeof err), 0);
    assert_true(v == 123456789012ull);
    assert_int_equal(cgroup_parse_u64("0", &v, err, sizeof err), 0);
    assert_int_equal(v, 0);
    static const char *const bad[] = {
        "", "\n", "12 3\n", "abc\n", "-1\n", "1\n2\n", "18446744073709551616\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(cgroup_parse_u64(bad[i], &v, err, sizeof err), "is not one number");
}

static void test_own_group(void **state)
{
    (void)state;
    const char *text = "9:name=systemd:/\n"
                       "4:memory:/process_api/14bd\n"
                       "2:cpu,cpuacct:/jobs/a\n"
                       "garbage line\n"
                       "0::/user.slice/x.scope\n";
    char path[64];
    assert_int_equal(cgroup_parse_self(text, NULL, path, sizeof path), 0);
    assert_string_equal(path, "/user.slice/x.scope");
    assert_int_equal(cgroup_parse_self(text, "memory", path, sizeof path), 0);
    assert_string_equal(path, "/process_api/14bd");
    assert_int_equal(cgroup_parse_self(text, "cpuacct", path, sizeof path), 0);
    assert_string_equal(path, "/jobs/a");
    assert_int_equal(cgroup_parse_self(text, "cpu", path, sizeof path), 0);
    assert_int_equal(cgroup_parse_self(text, "pids", path, sizeof path), -1);
    assert_int_equal(cgroup_parse_self(text, "cpuac", path, sizeof path), -1);
    assert_int_equal(cgroup_parse_self("", NULL, path, sizeof path), -1);
    assert_int_equal(cgroup_parse_self("0::relative\n", NULL, path, sizeof path), -1);
    assert_int_equal(cgroup_parse_self("0::/a\n", NULL, path, 2), -1); /* does not fit */
    assert_int_equal(cgroup_parse_self("::::\n", NULL, path, sizeof path), -1);
}

static void test_mounts(void **state)
{
    (void)state;
    char mnt[128], root[128];
    const char *v1 = "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct";
    const char *both = "33 31 0:30 /a /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup "
                       "rw,cpu,cpuacct\n";
    const char *v2 = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    const char *tmpfs = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n";
    assert_int_equal(cgroup_parse_mount(v1, "cpuacct", mnt, sizeof mnt, root, sizeof root), 0);
    assert_string_equal(mnt, "/sys/fs/cgroup/cpuacct");
    assert_string_equal(root, "/");
    assert_int_equal(cgroup_parse_mount(v1, "memory", mnt, sizeof mnt, root, sizeof root), -1);
    assert_int_equal(cgroup_parse_mount(v1, NULL, mnt, sizeof mnt, root, sizeof root), -1);
    assert_int_equal(cgroup_parse_mount(both, "cpuacct", mnt, sizeof mnt, root, sizeof root), 0);
    assert_string_equal(mnt, "/sys/fs/cgroup/cpu,cpuacct");
    assert_string_equal(root, "/a");
    assert_int_equal(cgroup_parse_mount(v2, NULL, mnt, sizeof mnt, root, sizeof root), 0);
    assert_string_equal(mnt, "/sys/fs/cgroup/unified");
    assert_int_equal(cgroup_parse_mount(v2, "cpuacct", mnt, sizeof mnt, root, sizeof root), -1);
    assert_int_equal(cgroup_parse_mount(tmpfs, NULL, mnt, sizeof mnt, root, sizeof root), -1);
    static const char *const bad[] = {
        "",
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime",           /* no " - " */
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2", /* cut short */
        "41 31 0:38 / /my\\040dir rw - cgroup2 cgroup2 rw",          /* escaped */
        "41 31",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cgroup_parse_mount(bad[i], NULL, mnt, sizeof mnt, root, sizeof root), -1);
    assert_int_equal(cgroup_parse_mount(v2, NULL, mnt, 8, root, sizeof root), -1);
}

static void test_describe(void **state)
{
    (void)state;
    char buf[24];
    cgroup_describe(NULL, buf, sizeof buf);
    assert_string_equal(buf, "proc");
    struct cgroup cg = {.cpu_kind = CG_V1, .mem_kind = CG_V1};
    cgroup_describe(&cg, buf, sizeof buf);
    assert_string_equal(buf, "cgroup1");
    cg = (struct cgroup){.cpu_kind = CG_V2, .mem_kind = CG_V2};
    cgroup_describe(&cg, buf, sizeof buf);
    assert_string_equal(buf, "cgroup2");
    cg = (struct cgroup){.cpu_kind = CG_V2, .mem_kind = CG_NONE};
    cgroup_describe(&cg, buf, sizeof buf);
    assert_string_equal(buf, "cgroup2/proc");
    cg = (struct cgroup){.cpu_kind = CG_V2, .mem_kind = CG_V1};
    cgroup_describe(&cg, buf, sizeof buf);
    assert_string_equal(buf, "cgroup2/cgroup1");
}

static const char PROC_STAT[] = "cpu  100 0 50 1000 5 0 7 3 0 0\n"
                                "cpu0 60 1 30 400 2 2 5 1 9 0\n"
                                "cpu1 40 0 20 600 3 0 2 2 0 0\n"
                                "intr 12345 0 0\n"
                                "ctxt 999\n";

static void test_busy(void **state)
{
    (void)state;
    struct cpus s = {0};
    s.on[0] = 1;
    s.n = 1;
    uint64_t t = 0;
    assert_int_equal(cpus_parse_busy(PROC_STAT, &s, &t, err, sizeof err), 0);
    assert_int_equal(t, 60 + 1 + 30 + 2 + 5); /* user nice system irq softirq */
    s.on[1] = 1;
    s.n = 2;
    assert_int_equal(cpus_parse_busy(PROC_STAT, &s, &t, err, sizeof err), 0);
    assert_int_equal(t, 98 + 40 + 20 + 2);
    /* old kernels: 7 numbers only */
    assert_int_equal(
        cpus_parse_busy("cpu0 1 2 3 4 5 6 7\ncpu1 1 1 1 1 1 1 1", &s, &t, err, sizeof err), 0);
    assert_int_equal(t, 1 + 2 + 3 + 6 + 7 + 5);
    s.on[5] = 1;
    s.n = 3;
    expect_error(cpus_parse_busy(PROC_STAT, &s, &t, err, sizeof err), "2 of the 3 CPUs");
    s = (struct cpus){0};
    s.on[0] = 1;
    s.n = 1;
    static const char *const bad[] = {
        "cpu0 1 2 x 4 5 6 7\n",  "cpu0 1 2 3\n", "cpu0 1 2 3\ncpu1 4 5 6 7\n",
        "cpu0 1 2 -3 4 5 6 7\n", "cpu0 \n",      "cpu0 99999999999999999999999 0 0 0 0 0 0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(cpus_parse_busy(bad[i], &s, &t, err, sizeof err), "not 7 numbers after cpu0");
    expect_error(cpus_parse_busy("", &s, &t, err, sizeof err), "0 of the 1 CPUs");
    expect_error(cpus_parse_busy("cpu00x 1 2 3 4 5 6 7\n", &s, &t, err, sizeof err),
                 "0 of the 1 CPUs");
#if SM_LINUX
    double secs = -1;
    assert_int_equal(cpus_busy_s(&s, &secs), 0);
    assert_true(secs >= 0);
#endif
}

static void test_switched_off(void **state)
{
    (void)state;
    struct cgroup cg;
    char note[400];
    setenv("LOADGEN_NO_CGROUP", "1", 1);
    assert_int_equal(cgroup_make(&cg, note, sizeof note), -1);
#if SM_LINUX
    assert_non_null(strstr(note, "LOADGEN_NO_CGROUP is set"));
    assert_non_null(strstr(note, "/proc"));
#else
    assert_non_null(strstr(note, "no cgroups on this system"));
#endif
    assert_null(strchr(note, '\n'));
    unsetenv("LOADGEN_NO_CGROUP");
    cgroup_describe(NULL, note, sizeof note);
    assert_string_equal(note, "proc");
}

/* Where this machine lets us (root, a writable hierarchy): a group is made,
 * read, and removed; a dead loadgen's empty group goes with the next make. */
static void test_live_group(void **state)
{
    (void)state;
    struct cgroup cg;
    char note[400];
    if (cgroup_make(&cg, note, sizeof note) < 0) {
        assert_null(strchr(note, '\n')); /* one line */
        skip();
    }
    assert_true(cg.cpu_kind != CG_NONE);
    assert_true(cg.njoin >= 1);
    uint64_t ns = 1;
    assert_int_equal(cgroup_cpu_ns(&cg, &ns), 0);
    assert_int_equal(ns, 0); /* nothing ran in it */
    assert_true(cgroup_has(&cg, getpid()) == false);
    if (cg.mem_kind != CG_NONE) {
        cgroup_peak_reset(&cg);
        assert_true(cgroup_peak_kb(&cg) >= 0);
    }
    char dir[512], stale[640];
    snprintf(dir, sizeof dir, "%s", cg.cpu_dir);
    int dead = 0;
    for (int pid = 4000000; pid > 3000000 && !dead; pid -= 7919)
        if (kill(pid, 0) < 0 && errno == ESRCH) dead = pid;
    char parent[512];
    snprintf(parent, sizeof parent, "%s", dir);
    snprintf(stale, sizeof stale, "%s/loadgen-%d-1", dirname(parent), dead);
    assert_int_equal(cgroup_remove(&cg, 1, note, sizeof note), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);
    if (!dead || mkdir(stale, 0755) < 0) return;
    assert_int_equal(cgroup_make(&cg, note, sizeof note), 0);
    assert_int_equal(stat(stale, &st), -1); /* swept */
    assert_int_equal(cgroup_remove(&cg, 1, note, sizeof note), 0);
}

/* The /proc fallback: 20 processes of one group, 5 ms of CPU each, all
 * alive: 100 ms in all. In clock ticks (10 ms) each one rounds down to
 * nothing; the sum must still be there. */
#if SM_LINUX
/* Whether process pid reached the state 'S' (asleep) within 10 s: read from
 * /proc, the condition itself, not a guess at how long it takes. */
static bool wait_asleep(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 10000; i++) {
        char buf[512] = "";
        FILE *f = fopen(path, "r");
        if (!f) return false;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close_paren = strrchr(buf, ')');
        if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'S') return true;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return false;
}
#endif

static void test_proc_group_cpu_counts_small_processes(void **state)
{
    (void)state;
#if SM_LINUX
    enum { N = 20 };
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            close(go[1]); /* the parent's close is their EOF */
            close(done[0]);
            setpgid(0, i == 0 ? 0 : kids[0]);
            struct timespec t;
            do
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
            while (t.tv_sec == 0 && t.tv_nsec < 5000000);
            char c = 0;
            ssize_t w = write(done[1], &c, 1);
            (void)w;
            ssize_t r = read(go[0], &c, 1); /* sleep until told */
            _exit(r == 0 ? 0 : 1);
        }
        setpgid(kids[i], kids[0]);
    }
    close(go[0]);
    close(done[1]);
    char c;
    for (int i = 0; i < N; i++)
        assert_int_equal(read(done[0], &c, 1), 1);
    for (int i = 0; i < N; i++) /* its CPU time is final once it sleeps */
        if (!wait_asleep(kids[i])) fail_msg("process %d never slept on the pipe", (int)kids[i]);
    double cpu = proc_group_cpu_s(kids[0]);
    close(go[1]); /* EOF: they exit */
    for (int i = 0; i < N; i++)
        waitpid(kids[i], NULL, 0);
    close(done[0]);
    if (cpu < 0.09) fail_msg("%d x 5 ms of CPU counted as %.3f s", N, cpu);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_stat),
        cmocka_unit_test(test_single_numbers),
        cmocka_unit_test(test_own_group),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_switched_off),
        cmocka_unit_test(test_live_group),
        cmocka_unit_test(test_proc_group_cpu_counts_small_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
