/* engine_raw.c - the fast HTTP/1.1 and echo engine.
 *
 * cfg->threads threads, each with its own event loop over its share of the
 * connections (raw_thread.c, raw_loop.c). Every distinct request is serialised once before
 * the run (raw_plan.c); nothing is allocated per request: answers are parsed
 * as they stream, bodies hashed on the fly and checked (raw_conn.c). Which
 * step goes next, what is counted and when a run is over are the policy's
 * (policy.h), shared with the curl engine.
 *
 * Closed loop: a connection sends its next request as soon as the last one
 * is answered. Open loop (rate > 0): connection c of C starts at
 * t_start + c/R and then every C/R seconds; latency counts from the
 * scheduled start, so a stalled server shows in the percentiles
 * (coordinated omission corrected, like wrk2). A late connection sends its
 * missed slots back to back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "raw_thread.h"
#include "results/stats.h"

/* Connections split as evenly as they go: the first C % T threads get one more. */
static unsigned conns_of_thread(const struct lg_config *cfg, unsigned i)
{
    unsigned nt = cfg->threads;
    return cfg->connections / nt + (i < cfg->connections % nt ? 1 : 0);
}

static int threads_init(struct rthread *ts, const struct rplan *pl, char *err, size_t errlen)
{
    const struct lg_config *cfg = pl->run->cfg;
    for (unsigned i = 0; i < cfg->threads; i++)
        ts[i].loop.ep = -1; /* so a partly set-up array frees cleanly */
    for (unsigned i = 0, first = 0; i < cfg->threads; i++) {
        unsigned n = conns_of_thread(cfg, i);
        if (raw_thread_init(&ts[i], pl, i, first, n) < 0) {
            snprintf(err, errlen, "cannot set up thread %u: %s", i, strerror(errno));
            return -1;
        }
        first += n;
    }
    return 0;
}

int engine_raw_run(struct lg_run *run, struct lg_stats *out, char *err, size_t errlen)
{
    const struct lg_config *cfg = run->cfg;
    struct rplan pl;
    if (raw_plan_init(&pl, run, err, errlen) < 0) {
        raw_plan_free(&pl);
        return -1;
    }
    policy_window_init(run);
    unsigned nt = cfg->threads, started = 0;
    int rc = -1;
    struct rthread *ts = calloc(nt, sizeof *ts);
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (threads_init(ts, &pl, err, errlen) < 0) goto out;
    for (; started < nt; started++) {
        int e = pthread_create(&ts[started].tid, NULL, raw_thread_main, &ts[started]);
        if (e != 0) {
            snprintf(err, errlen, "pthread_create: %s", strerror(e));
            atomic_store(&run->stop, true);
            goto out;
        }
    }
    rc = 0;
out:
    for (unsigned i = 0; i < started; i++) {
        pthread_join(ts[i].tid, NULL);
        lg_stats_merge(out, &ts[i].tally.st);
    }
    for (unsigned i = 0; ts && i < nt; i++)
        raw_thread_free(&ts[i]);
    free(ts);
    raw_plan_free(&pl);
    return rc;
}
