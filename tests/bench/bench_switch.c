/* bench_switch.c - ns per coroutine switch (make bench-switch).
 *
 * One coroutine yields back in a loop while main resumes it: each round is
 * two switches (there and back). Prints the median of RUNS runs of SWITCHES
 * switches each, in CPU time (the process's own, not the wall clock). Built twice: against the
 * build's switch (assembly on x86-64/aarch64) and against the forced ucontext fallback, for
 * comparison. A benchmark, not a test: its numbers depend on the machine and its load.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "coro.h"

enum { RUNS = 7 };
static const long SWITCHES = 10 * 1000 * 1000;

static void ping(void *arg)
{
    (void)arg;
    for (;;)
        coro_yield();
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

int main(void)
{
    struct coro *c = coro_new(ping, NULL, 0);
    if (!c) {
        perror("coro_new");
        return 1;
    }
    coro_resume(c); /* warm up: the stack's first pages */
    double ns[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = cpu_ns();
        for (long i = 0; i < SWITCHES / 2; i++)
            coro_resume(c);
        ns[r] = (cpu_ns() - t0) / (double)SWITCHES;
    }
    qsort(ns, RUNS, sizeof ns[0], by_value);
    printf("%-8s %6.1f ns of CPU per switch (median of %d runs of %ldM switches; min %.1f, max "
           "%.1f)\n",
           coro_switch_kind(), ns[RUNS / 2], RUNS, SWITCHES / 1000000, ns[0], ns[RUNS - 1]);
    return 0; /* the coroutine is left suspended: it never ends by design */
}
