/* sampler.c - the server group's peak PSS during the run (sampler.h). */
#include "sampler.h"

#include <errno.h>
#include <time.h>

#include "child.h"
#include "loadgen.h"

/* One sweep over the group; the peak kept. Its duration in ns. */
static uint64_t sweep(struct sampler *s)
{
    uint64_t t0 = lg_now_ns();
    long kb = proc_group_pss_kb(s->pgid);
    if (kb > s->peak_kb) s->peak_kb = kb;
    return lg_now_ns() - t0;
}

static void *sampler_main(void *arg)
{
    struct sampler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->done) {
        pthread_mutex_unlock(&s->mu);
        uint64_t took = sweep(s);
        pthread_mutex_lock(&s->mu);
        uint64_t wait =
            took * 4 > SAMPLER_PERIOD_MS * 1000000ull ? took * 4 : SAMPLER_PERIOD_MS * 1000000ull;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + wait;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        while (!s->done && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sampler_start(struct sampler *s, pid_t pgid)
{
    *s = (struct sampler){.pgid = pgid, .peak_kb = -1};
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->running = pthread_create(&s->tid, NULL, sampler_main, s) == 0;
    return s->running ? 0 : -1;
}

long sampler_stop(struct sampler *s)
{
    if (s->running) {
        pthread_mutex_lock(&s->mu);
        s->done = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->tid, NULL);
        s->running = false;
    }
    sweep(s); /* the end of the run: every connection may still be open */
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    return s->peak_kb;
}
