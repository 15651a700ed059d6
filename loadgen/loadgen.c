/* stats.c - one thread's results, merged at the end (see loadgen.h). */
#include <time.h>

#include "loadgen.h"

static const char *const error_names[LG_ERR__COUNT] = {
    [LG_ERR_CONNECT] = "connect",
    [LG_ERR_ADDRNOTAVAIL] = "addrnotavail",
    [LG_ERR_RESET] = "reset",
    [LG_ERR_PROTOCOL] = "protocol",
    [LG_ERR_TIMEOUT] = "timeout",
    [LG_ERR_BAD_STATUS] = "bad_status",
    [LG_ERR_WRONG_LENGTH] = "wrong_length",
    [LG_ERR_WRONG_BODY] = "wrong_body",
    [LG_ERR_BAD_LISTING] = "bad_listing",
    [LG_ERR_OTHER] = "other",
};

const char *lg_error_name(enum lg_error e)
{
    if ((unsigned)e >= LG_ERR__COUNT) return "unknown";
    return error_names[e];
}

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
    return all - lg_stats_timeouts(s) - lg_stats_check_failures(s);
}

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
