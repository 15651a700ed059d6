/* sampler.c - the server's CPU, memory and CPUs' busy time over the
 * measured window (sampler.h). */
#include "sampler.h"

#include <errno.h>
#include <time.h>

#include "cgroup.h"
#include "child.h"
#include "cpuset.h"
#include "loadgen.h"

/* The server's CPU seconds so far: its cgroup's, else its group's live
 * processes' (their reaped children counted). -1 when unreadable. */
static double server_cpu(const struct sampler_what *w)
{
    uint64_t ns;
    if (w->cg && w->cg->cpu_kind != CG_NONE) return cgroup_cpu_ns(w->cg, &ns) == 0 ? ns / 1e9 : -1;
    return proc_group_cpu_s(w->pgid);
}

static double cpus_busy(const struct sampler_what *w)
{
    double s;
    return w->cpus && w->cpus->n && cpus_busy_s(w->cpus, &s) == 0 ? s : -1;
}

/* One PSS sweep over the group; the peak kept (the PSS thread's, or the
 * caller's once it is joined). Its duration in ns. */
static uint64_t sweep(struct sampler *s)
{
    uint64_t t0 = lg_now_ns();
    long kb = proc_group_pss_kb(s->what.pgid);
    if (kb > s->pss_kb) s->pss_kb = kb;
    return lg_now_ns() - t0;
}

/* The window opens: CPU and busy time first (the edge), then the memory
 * peak afresh. */
static void edge_start(struct sampler *s)
{
    s->at0 = lg_now_ns();
    s->cpu0 = server_cpu(&s->what);
    s->busy0 = cpus_busy(&s->what);
    if (s->what.cg) cgroup_peak_reset(s->what.cg);
}

static void edge_end(struct sampler *s)
{
    s->at1 = lg_now_ns();
    s->cpu1 = server_cpu(&s->what);
    s->busy1 = cpus_busy(&s->what);
    if (s->what.cg) s->peak_kb = cgroup_peak_kb(s->what.cg);
}

/* Wait (mu held) until lg_now_ns() reaches mono_ns, or a signal of cv. */
static void wait_until(struct sampler *s, uint64_t mono_ns)
{
    uint64_t now = lg_now_ns();
    if (mono_ns <= now) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (mono_ns - now);
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* Wait (mu held) for t (0: for ever) or the stop. true when t came first. */
static bool reach(struct sampler *s, uint64_t t)
{
    while (!s->done && (t == 0 || lg_now_ns() < t))
        wait_until(s, t ? t : lg_now_ns() + 3600 * 1000000000ull);
    return !s->done;
}

static void *edges_main(void *arg)
{
    struct sampler *s = arg;
    pthread_mutex_lock(&s->mu);
    if (reach(s, s->t_measure)) {
        pthread_mutex_unlock(&s->mu);
        edge_start(s);
        pthread_mutex_lock(&s->mu);
        s->started = true;
        if (s->t_end && reach(s, s->t_end)) {
            pthread_mutex_unlock(&s->mu);
            edge_end(s);
            pthread_mutex_lock(&s->mu);
            s->ended = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *pss_main(void *arg)
{
    struct sampler *s = arg;
    uint64_t period = SAMPLER_PERIOD_MS * 1000000ull;
    pthread_mutex_lock(&s->mu);
    if (!reach(s, s->t_measure)) {
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    while (!s->done) {
        pthread_mutex_unlock(&s->mu);
        uint64_t took = sweep(s);
        pthread_mutex_lock(&s->mu);
        uint64_t now = lg_now_ns(), next = now + (took * 4 > period ? took * 4 : period);
        if (s->t_end && now >= s->t_end) break; /* that was the sweep at the end */
        reach(s, s->t_end && next > s->t_end ? s->t_end : next);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sampler_start(struct sampler *s, const struct sampler_what *what, uint64_t t_measure,
                  uint64_t t_end)
{
    *s = (struct sampler){.what = *what,
                          .t_measure = t_measure,
                          .t_end = t_end,
                          .cpu0 = -1,
                          .cpu1 = -1,
                          .busy0 = -1,
                          .busy1 = -1,
                          .peak_kb = -1,
                          .pss_kb = -1};
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->edges_running = pthread_create(&s->edges, NULL, edges_main, s) == 0;
    s->pss_running = s->edges_running && pthread_create(&s->pss, NULL, pss_main, s) == 0;
    return s->edges_running ? 0 : -1;
}

static double since(double a, double b)
{
    return a >= 0 && b >= a ? b - a : -1;
}

void sampler_stop(struct sampler *s, struct sampler_result *out)
{
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->edges_running) pthread_join(s->edges, NULL);
    if (s->pss_running) pthread_join(s->pss, NULL);
    bool early = s->started && !s->ended; /* stopped, or no t_end */
    if (early) {
        edge_end(s);
        sweep(s);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    *out = (struct sampler_result){.cpu_s = since(s->cpu0, s->cpu1),
                                   .mem_peak_kb = s->peak_kb,
                                   .pss_peak_kb = s->pss_kb,
                                   .busy_s = since(s->busy0, s->busy1)};
    if (!s->started) return;
    /* Readings that came late (a busy machine) spanned more than the
     * window: the CPU figures scaled to it (the same rate assumed). */
    double window = (double)((early ? s->at1 : s->t_end) - s->t_measure) / 1e9;
    double span = (double)(s->at1 - s->at0) / 1e9;
    if (span > window && window > 0) {
        out->late_s = span - window;
        if (out->cpu_s > 0) out->cpu_s *= window / span;
        if (out->busy_s > 0) out->busy_s *= window / span;
    }
}
