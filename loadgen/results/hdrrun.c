/* hdrrun.c - the HdrHistogram log of one run (see hdrrun.h). */
#include "hdrrun.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os/atomicfile.h"
#include "hdrlog.h"
#include "ival.h"

#define NS_PER_S 1e9
/* How long past a boundary the logger waits for a thread that has not
 * published it yet (threads tick every 50 ms at most); half an interval
 * when that is shorter. */
#define GRACE_NS 250000000ULL

struct hdrrun {
    struct hdrlog_writer *w;
    struct ival *iv;
    uint64_t t0, period, t_end;
    struct hist *prev, *now, *interval; /* logger: merged at the last boundary, at this one */
    uint64_t written;                   /* boundaries whose interval is written */
    pthread_t tid;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* CLOCK_MONOTONIC; hdrrun_stop signals it */
    bool stop;
    int rc; /* the logger's first failure */
    char err[512];
};

int hdrrun_check_path(const char *path, char *err, size_t errlen)
{
    struct hdrlog_writer *w = hdrlog_create(path, 0, NULL, err, errlen);
    if (!w) return -1;
    hdrlog_discard(w);
    return 0;
}

/* ---- the logger ------------------------------------------------------- */

/* Wait until mono ns `until` unless stopped first; true when reached. */
static bool sleep_until(struct hdrrun *hr, uint64_t until)
{
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u),
                          .tv_nsec = (long)(until % 1000000000u)};
    pthread_mutex_lock(&hr->mu);
    while (!hr->stop && pthread_cond_timedwait(&hr->wake, &hr->mu, &ts) != ETIMEDOUT)
        ;
    bool reached = !hr->stop;
    pthread_mutex_unlock(&hr->mu);
    return reached;
}

/* The interval ending at boundary k: what the slots hold now minus what
 * they held at k - 1. */
static void write_interval(struct hdrrun *hr, uint64_t k)
{
    uint64_t boundary = hr->t0 + k * hr->period;
    uint64_t grace = hr->period / 2 < GRACE_NS ? hr->period / 2 : GRACE_NS;
    ival_collect(hr->iv, k, boundary + grace, hr->now);
    hist_diff(hr->interval, hr->now, hr->prev);
    double len = (double)hr->period / NS_PER_S;
    if (hr->rc == 0)
        hr->rc = hdrlog_write_interval(hr->w, (double)(k - 1) * len, len, hr->interval, hr->err,
                                       sizeof hr->err);
    struct hist *t = hr->prev;
    hr->prev = hr->now;
    hr->now = t;
    hr->written = k;
}

static void *logger_main(void *arg)
{
    struct hdrrun *hr = arg;
    for (uint64_t k = 1;; k++) {
        uint64_t boundary = hr->t0 + k * hr->period;
        if (hr->t_end && boundary >= hr->t_end) break; /* the last interval is hdrrun_commit's */
        if (!sleep_until(hr, boundary)) break;
        write_interval(hr, k);
    }
    return NULL;
}

/* ---- start, stop, commit ---------------------------------------------- */

static void free_run(struct hdrrun *hr)
{
    ival_free(hr->iv);
    hist_free(hr->prev);
    hist_free(hr->now);
    hist_free(hr->interval);
    pthread_cond_destroy(&hr->wake);
    pthread_mutex_destroy(&hr->mu);
    free(hr);
}

static struct hdrrun *new_run(const struct lg_config *cfg, const struct lg_run *run)
{
    struct hdrrun *hr = calloc(1, sizeof *hr);
    if (!hr) return NULL;
    hr->t0 = run->t_measure;
    hr->period = (uint64_t)(cfg->hdr_interval_s * NS_PER_S);
    if (hr->period == 0) hr->period = 1;
    hr->t_end = run->t_end;
    pthread_mutex_init(&hr->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hr->wake, &ca);
    pthread_condattr_destroy(&ca);
    hr->iv = ival_new(cfg->threads, hr->t0, hr->period);
    hr->prev = hist_new();
    hr->now = hist_new();
    hr->interval = hist_new();
    if (!hr->iv || !hr->prev || !hr->now || !hr->interval) {
        free_run(hr);
        return NULL;
    }
    return hr;
}

struct hdrrun *hdrrun_start(const struct lg_config *cfg, struct lg_run *run, double start_wall_s,
                            char *err, size_t errlen)
{
    struct hdrrun *hr = new_run(cfg, run);
    if (!hr) {
        errf(err, errlen, "--hdr-log: out of memory");
        return NULL;
    }
    char target[300];
    snprintf(target, sizeof target, strchr(cfg->host, ':') ? "[%s]:%s" : "%s:%s", cfg->host,
             cfg->port);
    struct hdrlog_meta meta = {.scenario = cfg->sc->name, .target = target};
    hr->w = hdrlog_create(cfg->hdr_log, start_wall_s, &meta, err, errlen);
    if (!hr->w) {
        free_run(hr);
        return NULL;
    }
    for (unsigned i = 0; i < cfg->threads; i++)
        run->live[i].ival = ival_slot(hr->iv, i);
    int e = pthread_create(&hr->tid, NULL, logger_main, hr);
    if (e != 0) {
        errf(err, errlen, "--hdr-log: pthread_create: %s", strerror(e));
        for (unsigned i = 0; i < cfg->threads; i++)
            run->live[i].ival = NULL;
        hdrrun_discard(hr);
        return NULL;
    }
    hr->running = true;
    return hr;
}

void hdrrun_stop(struct hdrrun *hr)
{
    if (!hr || !hr->running) return;
    pthread_mutex_lock(&hr->mu);
    hr->stop = true;
    pthread_cond_signal(&hr->wake);
    pthread_mutex_unlock(&hr->mu);
    pthread_join(hr->tid, NULL);
    hr->running = false;
}

int hdrrun_commit(struct hdrrun *hr, const struct hist *merged, double elapsed_s, char *err,
                  size_t errlen)
{
    hdrrun_stop(hr);
    int rc = hr->rc;
    if (rc) errf(err, errlen, "%s", hr->err);
    /* The last interval: from the last boundary written to the end. */
    double from = (double)hr->written * (double)hr->period / NS_PER_S;
    double len = elapsed_s > from ? elapsed_s - from : 0;
    hist_diff(hr->interval, merged, hr->prev);
    if (rc == 0 && (len > 0 || hist_count(hr->interval) > 0))
        rc = hdrlog_write_interval(hr->w, from, len, hr->interval, err, errlen);
    if (rc == 0) rc = hdrlog_write_run(hr->w, 0, elapsed_s, merged, err, errlen);
    if (rc == 0)
        rc = hdrlog_commit(hr->w, err, errlen);
    else
        hdrlog_discard(hr->w);
    hr->w = NULL;
    free_run(hr);
    return rc;
}

void hdrrun_discard(struct hdrrun *hr)
{
    if (!hr) return;
    hdrrun_stop(hr);
    hdrlog_discard(hr->w);
    free_run(hr);
}
