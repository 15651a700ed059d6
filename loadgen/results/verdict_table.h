/* verdict_table.h - a run's verdicts: every (scenario, point, metric, model)
 * of a result file's rounds as a ratio to the reference model with its
 * interval, a verdict and a tier (verdict.h has the statistics).
 *
 *   loadgen verdicts RESULTS.csv [--reference MODEL] [--csv OUT.csv]
 *
 * Pairs: a model's row of round r at a point, over the reference's own
 * (aa_twin 0) row of the same point and round (the nearest one in the file,
 * when several benches were appended to one file). The A/A control's row
 * (model = reference) is the reference's twin run (aa_twin 1) over its own
 * run. Tiers: per (scenario, point, metric), best ratio first; a model
 * whose interval overlaps its tier's first model's shares its rank (1, 1, 3).
 * The CSV's columns: scenario, connections, rate, metric, model, reference,
 * ratio, ci_low, ci_high, verdict, then rounds, rank, value (the model's own
 * median of the metric) and note. */
#ifndef LOADGEN_VERDICT_TABLE_H
#define LOADGEN_VERDICT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "csv.h"
#include "loadgen.h"
#include "verdict.h"

/* A run whose server used less than this share of its own CPUs' busy time
 * (server_cpuset_busy_s) shared them with other work: its req/s and p99
 * measure that sharing more than the model. */
#define VD_SHARED 0.5

struct vd_row {
    char scenario[LG_NAME_MAX];
    unsigned connections;
    double rate;
    enum vd_metric metric;
    char model[64]; /* = the reference on the A/A control's row */
    bool aa;        /* the A/A control's row */
    struct vd_interval iv;
    enum vd_verdict verdict;
    int rank;           /* the tier, from 1 */
    double value;       /* the model's own median of the metric (NAN: none) */
    bool loadgen_bound; /* in at least half of the pairs, a run was loadgen-bound */
    bool unclean;       /* a run of the model had errors, timeouts or clients with no answer */
    bool shared;        /* in at least half of the pairs, other work had half or more of the
                           server's CPUs (server CPU < VD_SHARED x their busy time) */
};

struct vd_table {
    char reference[64];
    struct vd_row *v;
    size_t n;
    size_t rounds;  /* the most rounds any point had */
    bool no_rounds; /* the rows have no round (an older file, `loadgen run`) */
};

/* The verdicts of rows[0..n). reference: NULL picks the model that has A/A
 * twin rows, else epoll, else poll. 0; -1 with a message (no reference
 * model in the rows, out of memory). A file without rounds gives an empty
 * table with no_rounds set, and 0. */
int vd_compute(const struct csv_row *rows, size_t n, const char *reference, struct vd_table *out,
               char *err, size_t errlen);
void vd_table_free(struct vd_table *t);

/* The row of (scenario, connections, rate, metric, model); NULL if none. */
const struct vd_row *vd_find(const struct vd_table *t, const char *scenario, unsigned connections,
                             double rate, enum vd_metric m, const char *model, bool aa);

/* The CSV, replacing path atomically. 0, or -1 with a message. */
int vd_write_csv(const struct vd_table *t, const char *path, char *err, size_t errlen);

/* The tier tables: one per (scenario, point), ranked by server CPU per
 * request, then req/s per server core, req/s, p99 and KiB per connection. */
void vd_print(const struct vd_table *t, FILE *out);

/* Read a result CSV's rows (csvread.c). 0, or -1 with "FILE:LINE: reason". */
int vd_read_rows(const char *path, struct csv_row **rows, size_t *n, char *err, size_t errlen);

/* `loadgen verdicts ARGS`: 0, or 2 on a usage error or an unreadable CSV. */
int verdicts_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
