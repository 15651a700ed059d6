/* stats.c - one thread's results, merged at the end (see stats.h). */
#include "stats.h"

#include <stdlib.h>

#include "hist.h"

int lg_stats_init(struct lg_stats *s)
{
    *s = (struct lg_stats){0};
    s->lat = hist_new();
    return s->lat ? 0 : -1;
}

static void steps_free(struct lg_stats *s)
{
    for (size_t i = 0; s->step && i < s->nstep; i++)
        hist_free(s->step[i].lat);
    free(s->step);
    s->step = NULL;
    s->nstep = 0;
}

int lg_stats_init_steps(struct lg_stats *s, size_t nsteps)
{
    steps_free(s);
    size_t n = nsteps + LG_SETUP__COUNT;
    s->step = calloc(n, sizeof *s->step);
    if (!s->step) return -1;
    s->nstep = n;
    for (size_t i = 0; i < n; i++)
        if (!(s->step[i].lat = hist_new())) {
            steps_free(s);
            return -1;
        }
    return 0;
}

size_t lg_stats_setup_index(const struct lg_stats *s, enum lg_setup which)
{
    return s->nstep - LG_SETUP__COUNT + (size_t)which;
}

const char *lg_setup_name(enum lg_setup which)
{
    static const char *const names[LG_SETUP__COUNT] = {"connect", "login", "data_connection"};
    return (unsigned)which < LG_SETUP__COUNT ? names[which] : "setup";
}

const struct hist *lg_stats_step_lat(const struct lg_stats *s, size_t i)
{
    bool one = s->nstep == 1 + LG_SETUP__COUNT;
    return one && i == 0 ? s->lat : s->step[i].lat;
}

void lg_stats_step_error(struct lg_stats *s, size_t i, enum lg_error e)
{
    if (i >= s->nstep) return;
    if (e == LG_ERR_REFUSED)
        s->step[i].refused++;
    else if (e != LG_ERR__COUNT)
        s->step[i].failures++;
}

void lg_stats_step(struct lg_stats *s, size_t i, uint64_t us, enum lg_error e)
{
    if (i >= s->nstep) return;
    hist_record(s->step[i].lat, us ? us : 1);
    s->step[i].count++;
    lg_stats_step_error(s, i, e);
}

void lg_stats_step_failure(struct lg_stats *s, size_t i, enum lg_error e)
{
    if (i >= s->nstep || e == LG_ERR__COUNT) return;
    s->step[i].count++;
    if (e == LG_ERR_REFUSED)
        s->step[i].refused++;
    else
        s->step[i].failures++;
}

static void step_merge(struct lg_step_stats *dst, const struct lg_step_stats *src)
{
    dst->count += src->count;
    dst->failures += src->failures;
    dst->refused += src->refused;
    hist_merge(dst->lat, src->lat);
}

void lg_stats_merge(struct lg_stats *dst, const struct lg_stats *src)
{
    if (src->nstep && !dst->nstep) lg_stats_init_steps(dst, src->nstep - LG_SETUP__COUNT);
    for (size_t i = 0; i < src->nstep && i < dst->nstep; i++)
        step_merge(&dst->step[i], &src->step[i]);
    dst->requests += src->requests;
    dst->bytes += src->bytes;
    dst->unanswered += src->unanswered;
    dst->starved_connections += src->starved_connections;
    for (int i = 0; i < LG_ERR__COUNT; i++)
        dst->err[i] += src->err[i];
    if (dst->lat && src->lat) hist_merge(dst->lat, src->lat);
}

void lg_stats_free(struct lg_stats *s)
{
    hist_free(s->lat);
    s->lat = NULL;
    steps_free(s);
}

uint64_t lg_stats_refused(const struct lg_stats *s)
{
    return s->err[LG_ERR_REFUSED];
}

uint64_t lg_stats_timeouts(const struct lg_stats *s)
{
    return s->err[LG_ERR_TIMEOUT];
}

uint64_t lg_stats_check_failures(const struct lg_stats *s)
{
    return s->err[LG_ERR_BAD_STATUS] + s->err[LG_ERR_WRONG_LENGTH] + s->err[LG_ERR_WRONG_BODY] +
           s->err[LG_ERR_BAD_LISTING];
}

uint64_t lg_stats_errors(const struct lg_stats *s)
{
    uint64_t all = 0;
    for (int i = 0; i < LG_ERR__COUNT; i++)
        all += s->err[i];
    return all - lg_stats_timeouts(s) - lg_stats_check_failures(s) - lg_stats_refused(s);
}
