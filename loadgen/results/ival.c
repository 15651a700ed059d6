/* ival.c - interval histograms of a running load (see ival.h). */
#include "ival.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct ival_slot {
    struct ival *iv;
    uint64_t next;     /* the owning thread's next boundary (only it reads and writes it) */
    struct hist *copy; /* the thread's cumulative histogram at boundary `upto` (under iv->mu) */
    uint64_t upto;     /* boundaries published (under iv->mu) */
    bool finished;     /* the thread ended (under iv->mu) */
};

struct ival {
    pthread_mutex_t mu;
    pthread_cond_t published; /* CLOCK_MONOTONIC */
    uint64_t t0, period;
    unsigned n;
    struct ival_slot *slots;
};

struct ival *ival_new(unsigned nthreads, uint64_t t0_ns, uint64_t period_ns)
{
    struct ival *iv = calloc(1, sizeof *iv);
    if (!iv) return NULL;
    iv->t0 = t0_ns;
    iv->period = period_ns ? period_ns : 1;
    iv->n = nthreads;
    iv->slots = calloc(nthreads ? nthreads : 1, sizeof *iv->slots);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&iv->published, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&iv->mu, NULL);
    bool ok = iv->slots != NULL;
    for (unsigned i = 0; ok && i < nthreads; i++) {
        struct ival_slot *s = &iv->slots[i];
        s->iv = iv;
        s->next = iv->t0 + iv->period;
        ok = (s->copy = hist_new()) != NULL;
    }
    if (!ok) {
        ival_free(iv);
        return NULL;
    }
    return iv;
}

void ival_free(struct ival *iv)
{
    if (!iv) return;
    for (unsigned i = 0; iv->slots && i < iv->n; i++)
        hist_free(iv->slots[i].copy);
    free(iv->slots);
    pthread_cond_destroy(&iv->published);
    pthread_mutex_destroy(&iv->mu);
    free(iv);
}

struct ival_slot *ival_slot(struct ival *iv, unsigned thread)
{
    return iv && thread < iv->n ? &iv->slots[thread] : NULL;
}

uint64_t ival_next(const struct ival_slot *s)
{
    return s ? s->next : UINT64_MAX;
}

void ival_publish(struct ival_slot *s, const struct hist *cumulative, uint64_t now)
{
    struct ival *iv = s->iv;
    if (now < s->next) return;
    uint64_t k = (now - iv->t0) / iv->period; /* >= 1: s->next starts at t0 + period */
    pthread_mutex_lock(&iv->mu);
    hist_copy(s->copy, cumulative);
    s->upto = k;
    pthread_cond_broadcast(&iv->published);
    pthread_mutex_unlock(&iv->mu);
    s->next = iv->t0 + (k + 1) * iv->period;
}

void ival_finish(struct ival_slot *s, const struct hist *cumulative)
{
    struct ival *iv = s->iv;
    pthread_mutex_lock(&iv->mu);
    hist_copy(s->copy, cumulative);
    s->finished = true;
    pthread_cond_broadcast(&iv->published);
    pthread_mutex_unlock(&iv->mu);
    s->next = UINT64_MAX;
}

/* Slots that have neither published boundary k nor finished (under mu). */
static unsigned late_slots(const struct ival *iv, uint64_t k)
{
    unsigned late = 0;
    for (unsigned i = 0; i < iv->n; i++)
        late += !iv->slots[i].finished && iv->slots[i].upto < k;
    return late;
}

unsigned ival_collect(struct ival *iv, uint64_t k, uint64_t deadline_ns, struct hist *sum)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                          .tv_nsec = (long)(deadline_ns % 1000000000u)};
    pthread_mutex_lock(&iv->mu);
    unsigned late;
    while ((late = late_slots(iv, k)) > 0 &&
           pthread_cond_timedwait(&iv->published, &iv->mu, &ts) != ETIMEDOUT)
        ;
    hist_reset(sum);
    for (unsigned i = 0; i < iv->n; i++)
        hist_merge(sum, iv->slots[i].copy);
    pthread_mutex_unlock(&iv->mu);
    return late;
}
