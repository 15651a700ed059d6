/* bench_plan.h - what the bench's matrix covers: the models (those the
 * server lists with --list-models, or the --models it is asked for) and the
 * scenario files (a list, or every *.ini of a directory). */
#ifndef LOADGEN_BENCH_PLAN_H
#define LOADGEN_BENCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#define NAMES_MAX 256

/* A list of names (models, files), each allocated. */
struct names {
    char *v[NAMES_MAX];
    size_t n;
};

void names_free(struct names *ns);
/* Append s[0..len). 0, or -1 when full or out of memory. */
int names_add(struct names *ns, const char *s, size_t len);
bool names_has(const struct names *ns, const char *s);

/* --models: "a,b" (each must be a model SERVER --list-models prints), or
 * "all" / NULL for all of them. 0, or -1 after a message. */
int plan_models(const char *server, const char *models, struct names *out);
/* --scenarios: "F.ini,G.ini", or a directory (its *.ini, sorted); NULL is
 * ./scenarios. 0, or -1 after a message. */
int plan_scenarios(const char *scenarios, struct names *out);

/* The reference of the A/A control: --reference (NULL = epoll, else poll),
 * its index in models, or -1 (none: "none", or the default not run). */
long plan_reference(const struct names *models, const char *reference);

/* The order of round k (from 0) at a point: every model once and, with
 * ref >= 0, the reference's A/A twin (written as nmodels), placed about
 * half a round from the reference's own run in the list. Round k starts at
 * the list's k-th entry (rotated by one each round, as ci/bench-server's
 * rounds) and steps through it by a stride that changes each round, so no
 * model always runs first, last, or right after the same neighbour (a
 * model that leaves the machine busy, e.g. fork's exiting children, or
 * another bench's rounds running beside this one, would otherwise always
 * disturb the same model, and the A/A control would measure that).
 * Fills slots[0 .. nmodels + 1) and returns how many it filled. */
size_t plan_round(size_t nmodels, long ref, unsigned k, size_t *slots);

#endif
