/* stats.c - one thread's results, merged at the end (see stats.h). */
#include "stats.h"

#include "hist.h"

int lg_stats_init(struct lg_stats *s)
{
    *s = (struct lg_stats){0};
    s->lat = hist_new();
    return s->lat ? 0 : -1;
}

void lg_stats_merge(struct lg_stats *dst, const struct lg_stats *src)
{
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
