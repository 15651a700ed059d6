/* policy.c - the rules of a timed run, shared by both engines (see policy.h). */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "results/ival.h"
#include "results/stats.h"

#define NS_PER_S 1000000000ULL
#define P99_EVERY_NS 500000000ULL

/* ---- step choice ------------------------------------------------------ */

int policy_steps_init(struct policy_steps *ps, const struct lg_scenario *sc, char *err,
                      size_t errlen)
{
    *ps = (struct policy_steps){.nsteps = sc->nsteps};
    if (sc->nsteps == 0) {
        snprintf(err, errlen, "the scenario has no steps");
        return -1;
    }
    if (!sc->weighted) return 0;
    ps->cumw = calloc(sc->nsteps, sizeof *ps->cumw);
    if (!ps->cumw) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < sc->nsteps; i++) {
        if (sc->steps[i].weight == 0) {
            snprintf(err, errlen, "weighted scenario: step %s has no weight", sc->steps[i].name);
            policy_steps_free(ps);
            return -1;
        }
        ps->totalw += sc->steps[i].weight; /* <= 1024 steps x 1e6: no overflow */
        ps->cumw[i] = ps->totalw;
    }
    return 0;
}

void policy_steps_free(struct policy_steps *ps)
{
    free(ps->cumw);
    ps->cumw = NULL;
}

/* splitmix64 of the thread number: well-spread, never 0 in practice. */
uint64_t policy_seed(unsigned thread)
{
    uint64_t z = (uint64_t)thread * 0x9E3779B97F4A7C15ULL + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 1;
}

static uint64_t xorshift64star(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

size_t policy_pick(const struct policy_steps *ps, uint64_t *rng, size_t *cursor)
{
    if (!ps->cumw) {
        size_t i = *cursor;
        *cursor = i + 1 == ps->nsteps ? 0 : i + 1;
        return i;
    }
    /* The modulo's bias is below 2^-34 for any total weight a scenario allows. */
    uint64_t r = xorshift64star(rng) % ps->totalw;
    size_t lo = 0, hi = ps->nsteps - 1;
    while (lo < hi) { /* the first cumulative weight > r */
        size_t mid = lo + (hi - lo) / 2;
        if (ps->cumw[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- the window and the schedule -------------------------------------- */

void policy_window_init(struct lg_run *run)
{
    const struct lg_config *cfg = run->cfg;
    if (run->t_start) return; /* the caller set the clock */
    run->t_start = lg_now_ns();
    run->t_measure = run->t_start + (uint64_t)(cfg->warmup_s * 1e9);
    run->t_end = cfg->requests ? 0 : run->t_measure + (uint64_t)(cfg->duration_s * 1e9);
}

bool policy_in_window(const struct lg_run *run, uint64_t origin, uint64_t now)
{
    return origin >= run->t_measure && (run->t_end == 0 || now <= run->t_end);
}

bool policy_run_over(const struct lg_run *run, uint64_t now)
{
    return atomic_load_explicit(&run->stop, memory_order_relaxed) ||
           (run->t_end && now >= run->t_end);
}

bool policy_take_ticket(struct lg_run *run, uint64_t origin)
{
    uint64_t n = run->cfg->requests;
    if (!n || origin < run->t_measure) return true;
    return atomic_fetch_add_explicit(&run->issued, 1, memory_order_relaxed) < n;
}

uint64_t policy_interval_ns(const struct lg_config *cfg)
{
    if (cfg->rate <= 0) return 0;
    unsigned conns = cfg->connections ? cfg->connections : 1;
    uint64_t ns = (uint64_t)((double)conns * 1e9 / cfg->rate);
    return ns ? ns : 1;
}

uint64_t policy_first_slot(const struct lg_run *run, unsigned gidx)
{
    double rate = run->cfg->rate;
    return run->t_start + (rate > 0 ? (uint64_t)((double)gidx * 1e9 / rate) : 0);
}

uint64_t policy_timeout_ns(const struct lg_config *cfg)
{
    double s = cfg->timeout_s > 0 ? cfg->timeout_s : POLICY_TIMEOUT_DEFAULT_S;
    return (uint64_t)(s * (double)NS_PER_S);
}

/* ---- counting --------------------------------------------------------- */

enum lg_error policy_errno_error(int e)
{
    switch (e) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ETIMEDOUT:
        return LG_ERR_CONNECT;
    case EADDRNOTAVAIL:
        return LG_ERR_ADDRNOTAVAIL;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return LG_ERR_RESET;
    default:
        return LG_ERR_OTHER;
    }
}

int policy_tally_init(struct policy_tally *t, struct lg_run *run, struct lg_live *live)
{
    *t = (struct policy_tally){.run = run, .live = live, .ival = live ? live->ival : NULL};
    t->ival_next = ival_next(t->ival);
    if (lg_stats_init(&t->st) < 0) return -1;
    if (!run || !run->cfg || !run->cfg->sc) return 0;
    t->one_step = run->cfg->sc->nsteps == 1;
    return lg_stats_init_steps(&t->st, run->cfg->sc->nsteps);
}

size_t policy_setup_step(const struct policy_tally *t, enum lg_setup which)
{
    return lg_stats_setup_index(&t->st, which);
}

void policy_setup(struct policy_tally *t, enum lg_setup which, uint64_t start, uint64_t end,
                  enum lg_error e)
{
    if (end > policy_close_time(t) || end < t->run->t_measure) return;
    size_t i = lg_stats_setup_index(&t->st, which);
    if (e == LG_ERR__COUNT)
        lg_stats_step(&t->st, i, end > start ? (end - start) / 1000 : 0, e);
    else
        lg_stats_step_failure(&t->st, i, e);
}

void policy_tally_free(struct policy_tally *t)
{
    lg_stats_free(&t->st);
}

static void publish_interval(struct policy_tally *t, uint64_t now)
{
    ival_publish(t->ival, t->st.lat, now);
    t->ival_next = ival_next(t->ival);
}

uint64_t policy_close_time(const struct policy_tally *t)
{
    if (t->t_close) return t->t_close;
    return t->run->t_end ? t->run->t_end : UINT64_MAX;
}

/* The origin a request of a connection, resolved at `when`, is measured
 * from: its own, or t_measure for a first request begun in the warm-up and
 * resolved in the window (policy.h). */
static uint64_t measured_origin(struct policy_tally *t, bool first, uint64_t origin, uint64_t when)
{
    uint64_t from = t->run->t_measure;
    if (!first || origin >= from || when < from) return origin;
    return policy_take_ticket(t->run, from) ? from : origin;
}

static void count_unanswered(struct policy_tally *t, struct policy_conn *pc, uint64_t n)
{
    t->st.unanswered += n;
    if (pc && n) pc->asked = true;
}

void policy_conn_answer(struct policy_tally *t, struct policy_conn *pc, uint64_t origin,
                        uint64_t now, uint64_t bytes, enum lg_error e)
{
    bool first = pc && !pc->answered;
    if (pc) pc->answered = true;
    if (now > policy_close_time(t)) {
        /* in the drain: owed, answered, not counted; but a connection
         * that got no answer in the window (it waited in the server's
         * backlog and got in only after it) was starved, and its request
         * was unanswered when the window closed */
        if (pc && !pc->served) count_unanswered(t, pc, 1);
        return;
    }
    if (pc && now >= t->run->t_measure) pc->asked = pc->served = true;
    origin = measured_origin(t, first, origin, now);
    if (!policy_in_window(t->run, origin, now)) return;
    if (now >= t->ival_next) publish_interval(t, now); /* the interval before this answer */
    uint64_t us = now > origin ? (now - origin) / 1000 : 0;
    hist_record(t->st.lat, us ? us : 1);
    /* One scenario step: its answers are the requests and its latencies the
     * run's (policy_finish, lg_stats_step_lat), so nothing more per answer. */
    if (!t->one_step) lg_stats_step(&t->st, t->step, us, e);
    t->st.requests++;
    t->st.bytes += bytes;
    t->requests++;
    if (e != LG_ERR__COUNT) {
        t->st.err[e]++;
        t->failures++;
        if (t->one_step) lg_stats_step_error(&t->st, t->step, e);
    }
}

void policy_conn_failure(struct policy_tally *t, struct policy_conn *pc, uint64_t origin,
                         uint64_t when, enum lg_error e)
{
    if (e == LG_ERR__COUNT) return;
    if (when > policy_close_time(t)) { /* owed at the close, failed in the drain */
        count_unanswered(t, pc, 1);
        return;
    }
    if (pc && when >= t->run->t_measure) pc->asked = true;
    origin = measured_origin(t, pc && !pc->answered, origin, when);
    if (!policy_in_window(t->run, origin, when)) return;
    t->st.err[e]++;
    lg_stats_step_failure(&t->st, t->step, e);
    t->failures++;
}

void policy_answer(struct policy_tally *t, uint64_t origin, uint64_t now, uint64_t bytes,
                   enum lg_error e)
{
    policy_conn_answer(t, NULL, origin, now, bytes, e);
}

void policy_failure(struct policy_tally *t, uint64_t origin, uint64_t when, enum lg_error e)
{
    policy_conn_failure(t, NULL, origin, when, e);
}

/* ---- the close and the drain ------------------------------------------ */

uint64_t policy_close(struct policy_tally *t, uint64_t now)
{
    if (now < policy_close_time(t)) t->t_close = now;
    uint64_t slowest = hist_count(t->st.lat) ? hist_max(t->st.lat) * 1000 : 0;
    uint64_t grace = POLICY_DRAIN_MIN_NS + 2 * slowest;
    uint64_t cap = policy_timeout_ns(t->run->cfg);
    return policy_close_time(t) + (grace < cap ? grace : cap);
}

uint64_t policy_slots_due(const struct policy_tally *t, uint64_t next, uint64_t interval)
{
    uint64_t close = policy_close_time(t), from = t->run->t_measure;
    if (interval == 0 || close == UINT64_MAX) return 0;
    if (next < from) next += (from - next + interval - 1) / interval * interval;
    return next > close ? 0 : (close - next) / interval + 1;
}

void policy_conn_end(struct policy_tally *t, struct policy_conn *pc, uint64_t pending)
{
    count_unanswered(t, pc, pending);
    if (pc->asked && !pc->served) t->st.starved_connections++;
}

void policy_publish(struct policy_tally *t, uint64_t now, bool force)
{
    if (now >= t->ival_next) publish_interval(t, now);
    if (!t->live) return;
    atomic_store_explicit(&t->live->requests, t->requests, memory_order_relaxed);
    atomic_store_explicit(&t->live->failures, t->failures, memory_order_relaxed);
    if (force || now >= t->next_p99) {
        t->next_p99 = now + P99_EVERY_NS;
        atomic_store_explicit(&t->live->p99_us, hist_percentile(t->st.lat, 99.0),
                              memory_order_relaxed);
    }
}

void policy_finish(struct policy_tally *t, uint64_t now)
{
    if (t->one_step && t->st.nstep) t->st.step[0].count += t->st.requests; /* its answers */
    policy_publish(t, now, true);
    if (t->ival) ival_finish(t->ival, t->st.lat);
    t->ival_next = UINT64_MAX;
}
