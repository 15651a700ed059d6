/* raw_thread.c - one raw engine thread (raw_thread.h): its share of the
 * connections on its own event loop (raw_loop.c), driven by the connection
 * machine (raw_conn.c).
 *
 * One turn: start the connections whose time has come (their timers), every
 * tick sweep the deadlines and refresh the progress counters, then wait for
 * readiness until the next timer, tick or the end of the run. When the
 * window closes, the thread goes on for the drain (policy.h: the close)
 * until nothing is owed or its grace is over, then counts what is still
 * owed. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "raw_thread.h"

/* ---- what the loop calls back ----------------------------------------- */

/* A connection's timer: its open-loop slot or its reconnect backoff is due. */
static void on_timer(void *ctx, struct raw_timer *tm, uint64_t now)
{
    struct rconn *c = (struct rconn *)((char *)tm - offsetof(struct rconn, timer));
    if (c->state == C_IDLE) raw_start_request(ctx, c, now);
}

/* The poll() backend's question: the socket, and whether it waits to write. */
static int watch(void *ctx, uint32_t idx, uint32_t *gen, bool *want_out)
{
    const struct rconn *c = &((struct rthread *)ctx)->conns[idx];
    *gen = c->gen;
    *want_out = c->state == C_CONNECTING || c->state == C_SENDING;
    return c->fd;
}

/* ---- the run ---------------------------------------------------------- */

static void start_conns(struct rthread *t)
{
    uint64_t now = lg_now_ns();
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        if (t->plan->interval_ns) {
            c->due = policy_first_slot(t->run, t->first + i);
            raw_schedule_next(t, c, now, now);
        } else {
            raw_start_request(t, c, now);
        }
    }
}

static uint64_t next_wakeup(const struct rthread *t, uint64_t now)
{
    uint64_t when = t->next_tick;
    uint64_t until = t->closing ? t->drain_end : t->run->t_end;
    uint64_t timer = raw_loop_next_timer(&t->loop);
    if (timer < when) when = timer;
    if (until && until < when) when = until;
    return when > now ? when - now : 0;
}

/* ---- the close and the drain (policy.h) ------------------------------- */

static bool in_flight(const struct rconn *c)
{
    return c->state == C_CONNECTING || c->state == C_SENDING || c->state == C_RECEIVING;
}

/* An open-loop connection's slots from c->due on that fell in the window. */
static uint64_t slots_due(const struct rthread *t, const struct rconn *c)
{
    if (c->state == C_DONE) return 0;
    return policy_slots_due(&t->tally, c->due, t->plan->interval_ns);
}

/* The window closed: timeouts already due are timeouts; open-loop slots
 * due before the close that nobody scheduled (their connection was done
 * just after t_end) get their turn in the drain. */
static void close_window(struct rthread *t, uint64_t now)
{
    t->closing = true;
    t->drain_end = policy_close(&t->tally, now);
    raw_sweep_timeouts(t, now);
    for (unsigned i = 0; t->plan->interval_ns && i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        if (c->state == C_IDLE && !c->timer.armed && slots_due(t, c))
            raw_schedule_next(t, c, now, now);
    }
}

/* Whether the drain may still bring an answer something is owed. */
static bool anything_owed(const struct rthread *t)
{
    for (unsigned i = 0; i < t->nconns; i++) {
        const struct rconn *c = &t->conns[i];
        if (in_flight(c) || (c->timer.armed && slots_due(t, c))) return true;
    }
    return false;
}

/* The drain is over: count what is still owed, connection by connection. */
static void end_conns(struct rthread *t)
{
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        policy_conn_end(&t->tally, &c->pc, (in_flight(c) ? 1 : 0) + slots_due(t, c));
        raw_conn_close(c);
    }
}

void *raw_thread_main(void *arg)
{
    struct rthread *t = arg;
    t->next_tick = lg_now_ns() + t->plan->tick_ns;
    start_conns(t);
    for (;;) {
        uint64_t now = lg_now_ns();
        if (!t->closing && policy_run_over(t->run, now)) close_window(t, now);
        if (t->closing && (now >= t->drain_end || !anything_owed(t))) break;
        if (t->active == 0) break;
        raw_loop_fire_timers(&t->loop, now);
        if (now >= t->next_tick) {
            raw_sweep_timeouts(t, now);
            policy_publish(&t->tally, now, false);
            t->next_tick = now + t->plan->tick_ns;
        }
        raw_loop_poll(&t->loop, next_wakeup(t, now));
    }
    end_conns(t);
    policy_finish(&t->tally, lg_now_ns());
    return NULL;
}

/* ---- life cycle ------------------------------------------------------- */

void raw_thread_free(struct rthread *t)
{
    raw_loop_free(&t->loop);
    free(t->conns);
    free(t->rbuf);
    policy_tally_free(&t->tally);
}

int raw_thread_init(struct rthread *t, const struct rplan *pl, unsigned i, unsigned first,
                    unsigned nconns)
{
    memset(t, 0, sizeof *t);
    t->loop.ep = -1;
    t->plan = pl;
    t->run = pl->run;
    t->first = first;
    t->nconns = nconns;
    t->active = nconns;
    t->rng = policy_seed(i);
    struct lg_live *live = pl->run->live ? &pl->run->live[i] : NULL;
    if (policy_tally_init(&t->tally, pl->run, live) < 0) return -1;
    t->conns = calloc(nconns, sizeof *t->conns);
    t->rbuf = malloc(RAW_RBUF_SIZE);
    if (!t->conns || !t->rbuf) return -1;
    for (unsigned k = 0; k < nconns; k++) {
        t->conns[k].fd = -1;
        t->conns[k].idx = k;
    }
    struct raw_loop_proc proc = {
        .ctx = t, .on_event = raw_on_event, .on_timer = on_timer, .watch = watch};
    return raw_loop_init(&t->loop, nconns, &proc);
}
