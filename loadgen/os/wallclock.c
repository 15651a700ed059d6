/* wallclock.c - wall-clock seconds next to the monotonic clock (see wallclock.h). */
#include "wallclock.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#include "loadgen.h"

#define NS_PER_S 1000000000.0
#define POLL_NS 100000000L /* how often a sleep looks at stopped() */

double wallclock_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_S;
}

/* The two clocks read back to back: the wall clock between two monotonic
 * readings, paired with their middle. */
static void read_both(double *wall_s, uint64_t *mono_ns)
{
    uint64_t a = lg_now_ns();
    *wall_s = wallclock_now_s();
    uint64_t b = lg_now_ns();
    *mono_ns = a + (b - a) / 2;
}

uint64_t wallclock_to_mono_ns(double wall_s)
{
    double now_wall;
    uint64_t now_mono;
    read_both(&now_wall, &now_mono);
    double delta_ns = (wall_s - now_wall) * NS_PER_S;
    if (delta_ns < 0 && -delta_ns >= (double)now_mono) return 1; /* before the clock began */
    return (uint64_t)((double)now_mono + delta_ns);
}

double wallclock_from_mono_ns(uint64_t mono_ns)
{
    double now_wall;
    uint64_t now_mono;
    read_both(&now_wall, &now_mono);
    return now_wall - ((double)now_mono - (double)mono_ns) / NS_PER_S;
}

int wallclock_sleep_until(double wall_s, bool (*stopped)(void))
{
    struct timespec until = {.tv_sec = (time_t)floor(wall_s)};
    until.tv_nsec = (long)((wall_s - floor(wall_s)) * NS_PER_S);
    if (until.tv_nsec >= (long)NS_PER_S) until.tv_nsec = (long)NS_PER_S - 1;
    for (;;) {
        if (stopped && stopped()) return -1;
        struct timespec now, step;
        clock_gettime(CLOCK_REALTIME, &now);
        if (now.tv_sec > until.tv_sec ||
            (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
            return 0;
        /* At most POLL_NS at a time, so stopped() is looked at. */
        step = now;
        step.tv_nsec += POLL_NS;
        if (step.tv_nsec >= (long)NS_PER_S) {
            step.tv_sec++;
            step.tv_nsec -= (long)NS_PER_S;
        }
        if (step.tv_sec > until.tv_sec ||
            (step.tv_sec == until.tv_sec && step.tv_nsec > until.tv_nsec))
            step = until;
        int e = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &step, NULL);
        if (e != 0 && e != EINTR) return 0; /* cannot sleep: start now rather than never */
    }
}
