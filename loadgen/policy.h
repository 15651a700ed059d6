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
 * its origin is at or after t_measure and it ended at or before t_end
 * (no t_end with --requests). Nothing else is counted at all: a warm-up
 * request is no request, no latency, no bytes, and its error, timeout or
 * check failure is no error either; a request still in flight at t_end is
 * aborted and dropped. This is wrk2's rule. Warm-up is the part of the load
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
 * its error class.
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

/* One engine thread's results and its share of the progress line. */
struct policy_tally {
    struct lg_stats st;
    const struct lg_run *run;
    struct lg_live *live; /* may be NULL */
    uint64_t requests, failures;
    uint64_t next_p99;
    struct ival_slot *ival; /* live->ival: interval histograms (ival.h), or NULL */
    uint64_t ival_next;     /* its next boundary; UINT64_MAX without one */
};

/* 0, or -1 on allocation failure. live may be NULL. */
int policy_tally_init(struct policy_tally *t, const struct lg_run *run, struct lg_live *live);
void policy_tally_free(struct policy_tally *t);
/* An answer arrived at now for the request of origin: e is its check
 * failure or LG_ERR__COUNT when it passed. */
void policy_answer(struct policy_tally *t, uint64_t origin, uint64_t now, uint64_t bytes,
                   enum lg_error e);
/* The request failed without an answer. */
void policy_failure(struct policy_tally *t, uint64_t origin, uint64_t now, enum lg_error e);
/* Refresh the progress counters (p99 at most every half second, or now
 * with force) and, past an interval boundary, the interval slot. Called
 * at every tick of the thread's loop, busy or idle. */
void policy_publish(struct policy_tally *t, uint64_t now, bool force);
/* The thread is done: the last publish (forced), the interval slot final. */
void policy_finish(struct policy_tally *t, uint64_t now);

#endif
