/* Unit tests for loadgen/os/sampler.c: the server's CPU counts the measured
 * window only (a process burning CPU before, during and after it), PSS is
 * sampled, a stop before the window measures nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loadgen.h"
#include "os/sampler.h"
#include "platform.h"

#if SM_LINUX
/* A process of its own group that burns CPU until killed. */
static pid_t burner(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        for (volatile unsigned long n = 0;; n++)
            ;
    }
    setpgid(pid, pid);
    return pid;
}
#endif

static void test_cpu_counts_the_window_only(void **state)
{
    (void)state;
#if SM_LINUX
    pid_t pid = burner();
    uint64_t now = lg_now_ns();
    struct sampler s;
    struct sampler_what what = {.pgid = pid};
    /* it burns 0.2 s before the window, 0.3 s in it, and on after it */
    assert_int_equal(sampler_start(&s, &what, now + 200000000ull, now + 500000000ull), 0);
    usleep(800000);
    struct sampler_result r;
    sampler_stop(&s, &r);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* at most the window (0.3 s; late readings are scaled to it), more than
     * nothing; the burn before and after it is not counted */
    if (!(r.cpu_s > 0 && r.cpu_s <= 0.3 * 1.05))
        fail_msg("a 0.3 s window counted %.3f s of CPU (late %.3f s)", r.cpu_s, r.late_s);
    assert_true(r.pss_peak_kb > 0);
    assert_true(r.mem_peak_kb < 0); /* no cgroup */
    assert_true(r.busy_s < 0);      /* no CPU set */
#else
    skip();
#endif
}

static void test_stop_before_the_window(void **state)
{
    (void)state;
    struct sampler s;
    struct sampler_what what = {.pgid = getpid()};
    uint64_t now = lg_now_ns();
    assert_int_equal(sampler_start(&s, &what, now + 60000000000ull, now + 61000000000ull), 0);
    struct sampler_result r;
    sampler_stop(&s, &r);
    assert_true(r.cpu_s < 0 && r.pss_peak_kb < 0 && r.busy_s < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_counts_the_window_only),
        cmocka_unit_test(test_stop_before_the_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
