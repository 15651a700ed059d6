/* steptable.c - per-step statistics shown and written (see steptable.h). */
#include "steptable.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "stats.h"

static const char header[] =
    "started_at,git_rev,host,model,protocol,scenario,connections,rate,step,kind,count,failures,"
    "refused,lat_p50_us,lat_p90_us,lat_p99_us,lat_max_us";

const char *steptable_csv_header(void)
{
    return header;
}

/* The scenario's steps, then the setup steps that happened. */
static size_t nscenario(const struct lg_stats *st)
{
    return st->nstep >= LG_SETUP__COUNT ? st->nstep - LG_SETUP__COUNT : 0;
}

static bool shown(const struct lg_stats *st, size_t i)
{
    return i < nscenario(st) || st->step[i].count > 0;
}

static const char *name_of(const struct lg_stats *st, const struct lg_scenario *sc, size_t i)
{
    if (i < nscenario(st)) return i < sc->nsteps ? sc->steps[i].name : "?";
    return lg_setup_name((enum lg_setup)(i - nscenario(st)));
}

/* p50, p90, p99 (one pass) and max; zeros when empty. */
static void latencies(const struct hist *h, uint64_t out[4])
{
    static const double p[3] = {50, 90, 99};
    hist_percentiles(h, p, 3, out);
    out[3] = hist_max(h);
}

void steptable_print(FILE *f, const struct lg_stats *st, const struct lg_scenario *sc)
{
    size_t lines = 0;
    for (size_t i = 0; i < st->nstep; i++)
        lines += shown(st, i);
    if (lines < 2) return; /* one step, no setup: the summary said it all */
    fprintf(f, "steps      %-16s %9s %8s %7s %10s %10s %10s %10s\n", "", "count", "failed",
            "refused", "p50", "p90", "p99", "max");
    for (size_t i = 0; i < st->nstep; i++) {
        if (!shown(st, i)) continue;
        const struct lg_step_stats *s = &st->step[i];
        const struct hist *lat = lg_stats_step_lat(st, i);
        char v[4][24];
        uint64_t us[4];
        latencies(lat, us);
        for (int k = 0; k < 4; k++) {
            if (hist_count(lat))
                hist_fmt_us(v[k], sizeof v[k], (double)us[k]);
            else
                snprintf(v[k], sizeof v[k], "-");
        }
        bool setup = i >= nscenario(st);
        char name[40];
        snprintf(name, sizeof name, "%s%.30s", setup ? "(setup) " : "", name_of(st, sc, i));
        fprintf(f, "           %-16s %9" PRIu64 " %8" PRIu64 " %7" PRIu64 " %10s %10s %10s %10s\n",
                name, s->count, s->failures, s->refused, v[0], v[1], v[2], v[3]);
    }
}

/* One step's row; its length, or -1 when it does not fit. */
static int format_row(char *buf, size_t cap, const struct csv_row *row, const char *step,
                      bool setup, const struct lg_step_stats *s, const struct hist *lat)
{
    const char *text[] = {row->started_at, row->git_rev,  row->host,
                          row->model,      row->protocol, row->scenario};
    size_t len = 0;
    for (size_t k = 0; k < sizeof text / sizeof text[0]; k++) {
        int n = csv_quote(buf + len, cap - len, text[k]);
        if (n < 0 || (size_t)n + 1 >= cap - len) return -1;
        len += (size_t)n;
        buf[len++] = ',';
    }
    int n = snprintf(buf + len, cap - len, "%u,%.2f,", row->connections, row->rate);
    if (n < 0 || (size_t)n >= cap - len) return -1;
    len += (size_t)n;
    if ((n = csv_quote(buf + len, cap - len, step)) < 0) return -1;
    len += (size_t)n;
    uint64_t us[4];
    latencies(lat, us);
    n = snprintf(
        buf + len, cap - len,
        ",%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
        setup ? "setup" : "step", s->count, s->failures, s->refused, us[0], us[1], us[2], us[3]);
    if (n < 0 || (size_t)n >= cap - len) return -1;
    return (int)(len + (size_t)n);
}

int steptable_csv_append(const char *path, const struct csv_row *row, const struct lg_stats *st,
                         const struct lg_scenario *sc, char *err, size_t errlen)
{
    size_t cap = (st->nstep + 1) * 2048, len = 0;
    char *text = malloc(cap);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < st->nstep; i++) {
        if (!shown(st, i)) continue;
        int n = format_row(text + len, cap - len, row, name_of(st, sc, i), i >= nscenario(st),
                           &st->step[i], lg_stats_step_lat(st, i));
        if (n < 0) {
            free(text);
            snprintf(err, errlen, "%s: a step's row is too long", path);
            return -1;
        }
        len += (size_t)n;
    }
    int rc = len ? csv_append_text(path, header, text, len, err, errlen) : 0;
    free(text);
    return rc;
}
