/* bench_switch.c - ns per coroutine switch (make bench-switch).
 *
 * One coroutine yields back in a loop while main resumes it: each round is
 * two switches (there and back). Prints the median of RUNS runs of SWITCHES
 * switches each, in CPU time (the process's own, not the wall clock). Built twice: against the
 * build's switch (assembly on x86-64/aarch64) and against the forced ucontext fallback, for
 * comparison. A benchmark, not a test: its numbers depend on the machine and its load.
 * It does check that the switch works: the coroutine ran once per resume.
 *
 *   bench_switch [SWITCHES]   switches per run (a count, e.g. 1M; default 10M): make
 *                             test-cross runs it under qemu, where ucontext's signal-mask
 *                             system calls make the default take over a minute
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "coro.h"
#include "units.h"

enum { RUNS = 7 };
static long switches = 10 * 1000 * 1000;
static long rounds; /* times the coroutine ran: one per resume */

static void ping(void *arg)
{
    (void)arg;
    for (;;) {
        rounds++;
        coro_yield();
    }
}

/* This thread's CPU time: on a shared machine the wall clock also counts
 * the time other processes ran; CPU time counts only ours. */
static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint64_t n;
    if (argc > 2 || (argc == 2 && units_count(argv[1], 2, 1000000000000, &n) < 0)) {
        fprintf(stderr, "usage: bench_switch [SWITCHES] (%s, at least 2)\n", UNITS_COUNT);
        return 2;
    }
    if (argc == 2) switches = (long)n;
    struct coro *c = coro_new(ping, NULL, 0);
    if (!c) {
        perror("coro_new");
        return 1;
    }
    coro_resume(c); /* warm up: the stack's first pages */
    double ns[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = cpu_ns();
        for (long i = 0; i < switches / 2; i++)
            coro_resume(c);
        ns[r] = (cpu_ns() - t0) / (double)(switches / 2 * 2);
    }
    long want = 1 + RUNS * (switches / 2);
    if (rounds != want) {
        fprintf(stderr, "%s: the coroutine ran %ld times for %ld resumes: the switch is broken\n",
                coro_switch_kind(), rounds, want);
        return 1;
    }
    qsort(ns, RUNS, sizeof ns[0], by_value);
    printf("%-8s %6.1f ns of CPU per switch (median of %d runs of %ld switches; min %.1f, max "
           "%.1f)\n",
           coro_switch_kind(), ns[RUNS / 2], RUNS, switches / 2 * 2, ns[0], ns[RUNS - 1]);
    return 0; /* the coroutine is left suspended: it never ends by design */
}
