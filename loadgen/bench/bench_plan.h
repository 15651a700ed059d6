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

#endif
