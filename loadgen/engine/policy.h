/* policy.h - the rules of a timed run, shared by both engines, so that one
 * scenario means the same thing on engine_raw.c and engine_curl.c.
 *
 * Step choice. Unweighted scenarios replay their steps in file order, each
 * connection on its own cursor. Weighted ones pick every request's step at
 * random with probability weight / total weight: one generator (xorshift64*,
 * one state per engine thread, seeded from the thread's number so a run is
 * reproducible) and one search (binary, over cumulative weights).
 *
 * The measured window. A request's origin is its scheduled slot (open loop,
 * --rate) or the moment it was started (closed loop). It is counted when
 * its origin is at or after t_measure and it ended at or before the close
 * (t_end, or a stop; none with --requests). Nothing else is counted: a warm-up
 * request is no request, no latency, no bytes, and its error, timeout or
 * check failure is no error either; a request still in flight at t_end is
 * no request either, but may be an unanswered one (the close, below). This
 * is wrk2's rule. Warm-up is the part of the load
 * the user asked not to look at; the verify pass before it already checked
 * every distinct step once, and a failure counted without its request would
 * make the failure ratio meaningless. The progress line counts the same.
 *
 * --requests N: every request whose origin is in the window takes a ticket
 * first; warm-up requests take none. When the N tickets are gone, the
 * connection retires, so exactly N requests are measured.
 *
 * Open loop: connection g of C (numbered over all threads) has its first
 * slot at t_start + g/R and then one every C/R seconds; a late connection
 * sends its missed slots back to back, each measured from its slot.
 *
 * Counting. An answer (right or wrong) is a request with its latency
 * (at least 1 us) and bytes; a wrong one also counts its check failure. A
 * failure without an answer (connect, reset, timeout, ...) counts only as
 * its error class, at the moment it happened: a timeout at its deadline.
 *
 * Latency origin. Open loop: the scheduled slot. Closed loop: the moment
 * the connection was ready to send the request, before any connect(); so a
 * connection waiting in the server's listen backlog (the kernel completed
 * the handshake, no worker accepts it) has that wait in its first
 * request's latency. One exception to the window rule above: a
 * connection's first request (the connection has had no answer yet) that
 * began in the warm-up and ends inside the window is measured, from
 * t_measure: the queue it waited in shows in the latency, the warm-up part
 * of the wait does not (--requests: it takes its ticket then; with none
 * left it stays a warm-up request).
 *
 * The close. The window closes at t_end, or earlier when the run is
 * stopped (a signal): policy_close(). What is owed then, is owed an answer:
 * every request started and not resolved (connecting, sending, waiting for
 * its answer), whatever its origin -- one begun in the warm-up was sent and
 * the whole window went by without its answer -- and, in open loop, every
 * slot in [t_measure, close] that was not started yet. The engine keeps
 * going for a grace (the drain: 500 ms plus twice the slowest answer of the
 * thread's window, at most the timeout) so that ordinary requests in flight
 * at the close get their answers; it starts no request, except open-loop
 * slots due before the close, and ends as soon as nothing is owed. An
 * answer in the drain counts nothing (it ended after the window: wrk2's
 * rule); a failure in the drain, or anything still owed when the drain
 * ends, counts one `unanswered` request. So a request is never both a
 * timeout and unanswered: its deadline at or before the close makes it a
 * timeout (by the window rule), after the close unanswered. A connection
 * is starved when it asked in the window (a request of it resolved at or
 * after t_measure, or is still owed at the end) and got no answer, right
 * or wrong, that arrived in [t_measure, close]: it waited in the backlog,
 * was accepted and never served, or only failed. --requests has no t_end:
 * only a stop closes its window. Both engines follow these rules; the
 * curl engine's FTP transfers too.
 *
 * Interval histograms (--hdr-log): when the thread's live counters carry an
 * interval slot (ival.h), the tally copies its histogram into it when its
 * clock passes a boundary: before recording the first answer past it, or
 * at the next tick. One comparison per answer; nothing at all without. */
#ifndef LOADGEN_POLICY_H
#define LOADGEN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loadgen.h"

#define POLICY_TIMEOUT_DEFAULT_S 5.0

/* ---- step choice ---- */

/* Built once per run from the scenario; read-only while threads run. */
struct policy_steps {
    size_t nsteps;
    uint64_t *cumw; /* weighted: cumulative weights; NULL = replay in order */
    uint64_t totalw;
};

/* 0, or -1 with a reason in err (no steps, a weighted step without a
 * weight, total weight 0, out of memory). */
int policy_steps_init(struct policy_steps *ps, const struct lg_scenario *sc, char *err,
                      size_t errlen);
void policy_steps_free(struct policy_steps *ps);

/* The generator state for engine thread `thread`: never 0. */
uint64_t policy_seed(unsigned thread);
/* The next step's index: weighted, drawn with *rng; else *cursor, advanced. */
size_t policy_pick(const struct policy_steps *ps, uint64_t *rng, size_t *cursor);

/* ---- the window and the schedule ---- */

/* Set t_start (now), t_measure and t_end from cfg, unless already set. */
void policy_window_init(struct lg_run *run);
bool policy_in_window(const struct lg_run *run, uint64_t origin, uint64_t now);
/* Stopped (signal, or every thread retired) or past t_end. */
bool policy_run_over(const struct lg_run *run, uint64_t now);
/* --requests: true when this request may go (it takes a ticket when it is
 * in the window); false when the count is used up and the connection retires. */
bool policy_take_ticket(struct lg_run *run, uint64_t origin);
/* Open loop: the period of one connection (C/R), 0 in a closed loop. */
uint64_t policy_interval_ns(const struct lg_config *cfg);
/* Open loop: the first slot of connection gidx (over all threads). */
uint64_t policy_first_slot(const struct lg_run *run, unsigned gidx);
uint64_t policy_timeout_ns(const struct lg_config *cfg);

/* ---- counting ---- */

/* The error class of a socket errno (connect, send, recv). */
enum lg_error policy_errno_error(int e);

/* What the policy keeps per connection (virtual client, across its
 * sockets); zeroed with the connection. */
struct policy_conn {
    bool answered; /* an answer arrived, at any time: later requests are not first */
    bool asked;    /* a request of it resolved at or after t_measure, or is owed */
    bool served;   /* an answer arrived in [t_measure, close] */
};

/* One engine thread's results and its share of the progress line. */
struct policy_tally {
    struct lg_stats st;
    struct lg_run *run;   /* --requests: tickets are taken when a first request is measured */
    uint64_t t_close;     /* set by policy_close(); 0 = the window closes at t_end */
    struct lg_live *live; /* may be NULL */
    uint64_t requests, failures;
    uint64_t next_p99;
    struct ival_slot *ival; /* live->ival: interval histograms (ival.h), or NULL */
    uint64_t ival_next;     /* its next boundary; UINT64_MAX without one */
    size_t step;            /* policy_at_step() */
    bool one_step;          /* the scenario has one step: its latencies are st.lat's */
};

/* 0, or -1 on allocation failure. live may be NULL. */
int policy_tally_init(struct policy_tally *t, struct lg_run *run, struct lg_live *live);
void policy_tally_free(struct policy_tally *t);
/* An answer arrived at now for a request of pc (origin as above): e is its
 * check failure or LG_ERR__COUNT when it passed. */
void policy_conn_answer(struct policy_tally *t, struct policy_conn *pc, uint64_t origin,
                        uint64_t now, uint64_t bytes, enum lg_error e);
/* A request of pc failed without an answer at `when` (a timeout: its deadline). */
void policy_conn_failure(struct policy_tally *t, struct policy_conn *pc, uint64_t origin,
                         uint64_t when, enum lg_error e);
/* Which step the next answer or failure of this tally belongs to: a
 * scenario step's index, or policy_setup_step() for a failure in the
 * session's setup (a connect that failed). Set before the calls above. */
static inline void policy_at_step(struct policy_tally *t, size_t step)
{
    t->step = step;
}
size_t policy_setup_step(const struct policy_tally *t, enum lg_setup which);
/* A setup step (connect, login, data connection) from start to end, done
 * (e = LG_ERR__COUNT) or failed: counted in the per-step statistics when it
 * ended in the measured window; never in the requests or their latency. */
void policy_setup(struct policy_tally *t, enum lg_setup which, uint64_t start, uint64_t end,
                  enum lg_error e);
/* The same for a request of no particular connection (never a first one). */
void policy_answer(struct policy_tally *t, uint64_t origin, uint64_t now, uint64_t bytes,
                   enum lg_error e);
void policy_failure(struct policy_tally *t, uint64_t origin, uint64_t when, enum lg_error e);

/* ---- the close and the drain ---- */

#define POLICY_DRAIN_MIN_NS 500000000ULL /* 500 ms: a busy or sanitized machine still delivers */

/* When the thread's window closes (or closed): UINT64_MAX while unknown
 * (--requests, not stopped). */
uint64_t policy_close_time(const struct policy_tally *t);
/* The thread saw the run over (past t_end, or stopped) at now: the window
 * is closed (at now when that is before t_end). Returns when its drain ends. */
uint64_t policy_close(struct policy_tally *t, uint64_t now);
/* Open loop: how many slots next, next + interval, ... fall in
 * [t_measure, close] (those not started are owed). */
uint64_t policy_slots_due(const struct policy_tally *t, uint64_t next, uint64_t interval);
/* The drain is over: pc still owes `pending` requests (in flight, and the
 * open-loop slots due and never started). They are unanswered, and pc is
 * counted starved when it asked in the window and got no answer in it. */
void policy_conn_end(struct policy_tally *t, struct policy_conn *pc, uint64_t pending);
/* Refresh the progress counters (p99 at most every half second, or now
 * with force) and, past an interval boundary, the interval slot. Called
 * at every tick of the thread's loop, busy or idle. */
void policy_publish(struct policy_tally *t, uint64_t now, bool force);
/* The thread is done: the last publish (forced), the interval slot final. */
void policy_finish(struct policy_tally *t, uint64_t now);

#endif
