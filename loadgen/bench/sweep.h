/* sweep.h - the points of a bench sweep, and the search for a model's
 * highest sustainable rate (DESIGN.md section 6).
 *
 *   --connections 1,16,256,1024,4096,10000     one run per point
 *   --rate 1000,5000,20k                        one open-loop run per point
 *   --rate auto [--slo 10ms]                    search, per model
 *
 * Each element of a list goes through common/units.h, as a single value
 * would ("10k", "2.5k/s"). An empty element, a zero, a duplicate or a
 * non-number is a usage error. */
#ifndef LOADGEN_SWEEP_H
#define LOADGEN_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWEEP_MAX 64

/* A list of points, in the order given. n == 0: none given. */
struct sweep {
    double v[SWEEP_MAX];
    size_t n;
};

/* "1,16,256": whole numbers in [min, max]. 0, or -1 with msg. */
int sweep_parse_counts(const char *opt, const char *val, uint64_t min, uint64_t max,
                       struct sweep *out, char *msg, size_t msglen);
/* "1000,5k,20k/s": rates in (0, max]. 0, or -1 with msg. */
int sweep_parse_rates(const char *opt, const char *val, double max, struct sweep *out, char *msg,
                      size_t msglen);

/* --rate auto: the highest open-loop rate at which a model keeps its p99
 * at or under the SLO with no error, timeout or unanswered request, and
 * answers at least 95 % of the rate offered.
 *
 * It starts from the model's closed-loop throughput C (a first run with no
 * rate: what the model does flat out with these connections): the first
 * try is 0.7 C. Until a rate fails, each pass doubles the next try, so the
 * maximum is found, not capped by a guess (open loop can keep more than a
 * closed loop's few connections did); once one has failed, bisection: each
 * pass raises the floor, each failure lowers the ceiling (a failure with
 * no pass yet divides the ceiling by 3), until the two are within 8 % of
 * each other or the steps run out. A search that ran out of steps before
 * any rate failed found a lower bound: rate_search_capped() says so, and
 * the tables print ">= floor". */
struct rate_search {
    double floor;   /* the highest rate that passed; 0 = none yet */
    double ceiling; /* the lowest rate that failed; 0 = none yet */
    double next;    /* the rate to try; 0 = the search is over */
    unsigned steps, max_steps;
};

#define RATE_SEARCH_STEPS 5

/* After the closed-loop run that measured closed_rps (0: it failed, and
 * there is nothing to search). */
void rate_search_init(struct rate_search *s, double closed_rps, unsigned max_steps);
/* The run at s->next passed or not; s->next becomes the next try or 0. */
void rate_search_record(struct rate_search *s, bool passed);
/* Over, with a passing rate but none that failed: floor is only a lower
 * bound of the maximum ("at least"). */
bool rate_search_capped(const struct rate_search *s);
/* Did the run at rate pass: clean, p99 within slo_us, >= 95 % answered. */
bool rate_search_passes(double rate, double req_per_s, uint64_t lat_p99_us, uint64_t failures,
                        double slo_us);

#endif
