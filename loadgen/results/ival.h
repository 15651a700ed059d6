/* ival.h - interval histograms of a running load, without a lock per request.
 *
 * Engine threads record latencies into their own cumulative histogram
 * (policy_tally, lock-free). For `loadgen run --hdr-log` a logger needs,
 * at every interval boundary t0 + k * period, what all threads had recorded
 * up to it. Each thread owns one slot: when its clock passes a boundary it
 * copies its cumulative histogram into the slot under the slot set's mutex
 * (once per interval per thread, never per request), and the logger merges
 * the slots and takes the difference from the previous merge:
 *
 *   engine thread                         logger (hdrrun.c)
 *   -------------                         ------------------
 *   before recording an answer, and at    at t0 + k * period:
 *   every tick (an idle thread too):        ival_collect(iv, k, grace, sum)
 *     if (now >= ival_next(slot))             waits until every slot
 *         ival_publish(slot, hist, now)        published boundary k (or
 *   at exit: ival_finish(slot, hist)           finished), at most until
 *                                              the grace deadline
 *
 * A thread that publishes late (busy in a long call) is merged with its
 * last copy: its newer answers land in the next interval, none is lost or
 * counted twice, since every copy is a snapshot of one growing histogram. */
#ifndef LOADGEN_IVAL_H
#define LOADGEN_IVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"

struct ival;
struct ival_slot;

/* Slots for nthreads threads; boundaries at t0_ns + k * period_ns (k >= 1,
 * CLOCK_MONOTONIC ns). NULL when out of memory. */
struct ival *ival_new(unsigned nthreads, uint64_t t0_ns, uint64_t period_ns);
void ival_free(struct ival *iv);
struct ival_slot *ival_slot(struct ival *iv, unsigned thread);

/* ---- the engine thread that owns the slot ---- */

/* The time of the slot's next boundary (UINT64_MAX for a NULL slot). */
uint64_t ival_next(const struct ival_slot *s);
/* Copy cumulative (everything the thread recorded before now) into the
 * slot as of the last boundary at or before now. */
void ival_publish(struct ival_slot *s, const struct hist *cumulative, uint64_t now);
/* The thread records nothing more: its final copy, never waited for again. */
void ival_finish(struct ival_slot *s, const struct hist *cumulative);

/* ---- the logger ---- */

/* Wait (until deadline_ns at most, CLOCK_MONOTONIC) for every slot to have
 * published boundary k or finished, then merge every slot's copy into sum
 * (reset first). Returns how many slots were late (merged with an older copy). */
unsigned ival_collect(struct ival *iv, uint64_t k, uint64_t deadline_ns, struct hist *sum);

#endif
