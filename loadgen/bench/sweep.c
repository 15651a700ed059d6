/* sweep.c - sweep lists and the sustainable-rate search (sweep.h). */
#include "sweep.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "optval.h"

/* Split val at commas; parse each element with one(); reject empty
 * elements, duplicates, too many points. */
static int parse_list(const char *opt, const char *val, struct sweep *out, char *msg, size_t msglen,
                      int (*one)(const char *, const char *, const void *, double *, char *,
                                 size_t),
                      const void *arg)
{
    memset(out, 0, sizeof *out);
    const char *p = val;
    for (;;) {
        size_t len = strcspn(p, ",");
        char item[64];
        if (len == 0 || len >= sizeof item) {
            snprintf(msg, msglen, "%s: '%s' has an empty or overlong element (a list is 1,16,256)",
                     opt, val);
            return -1;
        }
        if (out->n == SWEEP_MAX) {
            snprintf(msg, msglen, "%s: more than %d points", opt, SWEEP_MAX);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        double v;
        if (one(opt, item, arg, &v, msg, msglen) < 0) return -1;
        for (size_t i = 0; i < out->n; i++)
            if (out->v[i] == v) {
                snprintf(msg, msglen, "%s: '%s' appears twice in '%s'", opt, item, val);
                return -1;
            }
        out->v[out->n++] = v;
        if (!p[len]) return 0;
        p += len + 1;
    }
}

struct count_range {
    uint64_t min, max;
};

static int one_count(const char *opt, const char *item, const void *arg, double *v, char *msg,
                     size_t msglen)
{
    const struct count_range *r = arg;
    uint64_t n;
    if (optval_count(opt, item, r->min, r->max, &n, msg, msglen) < 0) return -1;
    *v = (double)n;
    return 0;
}

static int one_rate(const char *opt, const char *item, const void *arg, double *v, char *msg,
                    size_t msglen)
{
    return optval_rate(opt, item, *(const double *)arg, v, msg, msglen);
}

int sweep_parse_counts(const char *opt, const char *val, uint64_t min, uint64_t max,
                       struct sweep *out, char *msg, size_t msglen)
{
    struct count_range r = {min, max};
    return parse_list(opt, val, out, msg, msglen, one_count, &r);
}

int sweep_parse_rates(const char *opt, const char *val, double max, struct sweep *out, char *msg,
                      size_t msglen)
{
    return parse_list(opt, val, out, msg, msglen, one_rate, &max);
}

/* ---- the sustainable-rate search ---------------------------------------- */

void rate_search_init(struct rate_search *s, double closed_rps, unsigned max_steps)
{
    *s = (struct rate_search){.max_steps = max_steps};
    if (closed_rps <= 0) return;
    s->next = round(closed_rps * 0.7);
    if (s->next < 1) s->next = 1;
}

void rate_search_record(struct rate_search *s, bool passed)
{
    if (s->next <= 0) return;
    if (passed)
        s->floor = s->next;
    else
        s->ceiling = s->next;
    s->steps++;
    bool failed_once = s->ceiling > 0;
    bool close = s->floor > 0 && failed_once && s->ceiling <= s->floor * 1.08;
    if (s->steps >= s->max_steps || close || (failed_once && s->ceiling < 1)) {
        s->next = 0;
        return;
    }
    if (!failed_once)
        s->next = s->floor * 2; /* nothing failed yet: go on upward */
    else
        s->next = round(s->floor > 0 ? (s->floor + s->ceiling) / 2 : s->ceiling / 3);
}

bool rate_search_capped(const struct rate_search *s)
{
    return s->next == 0 && s->floor > 0 && s->ceiling <= 0;
}

bool rate_search_passes(double rate, double req_per_s, uint64_t lat_p99_us, uint64_t failures,
                        double slo_us)
{
    return failures == 0 && req_per_s > 0 && (double)lat_p99_us <= slo_us &&
           req_per_s >= 0.95 * rate;
}
