/* compare.h - two result files side by side; regressions (DESIGN.md section 6).
 *
 *   loadgen compare A.csv B.csv [--threshold PCT] [--metric a,b,...] [--reference MODEL]
 *
 * Rows are matched by (model, scenario, connections, rate) - a sweep's
 * points are keys of their own; columns compare does not know (appended
 * later) are ignored. Several rows for one key (bench
 * --repeat, or several benches appended to one file) count as their median.
 * B regresses when a throughput metric falls below (1 - threshold) x A, a
 * latency/CPU/memory metric rises above (1 + threshold) x A, any
 * errors/check_failures/timeouts are > 0 in B, or a key of A is missing
 * from B. With --reference MODEL every metric is first divided by the
 * reference model's in the same file and scenario: ratios survive a noisy
 * machine, raw numbers do not. When both files have rounds (bench
 * --rounds), every metric also gets B's median over A's with a seeded 95 %
 * bootstrap interval and a verdict, benchstat-style ("~" for same); then B
 * regresses on a metric only when the verdict is worse and the change is
 * past the threshold. Files without rounds compare as before, with a note.
 * Exit 0 no regression, 1 regression, 2 usage
 * or unreadable CSV ("FILE:LINE: reason"). */
#ifndef LOADGEN_COMPARE_H
#define LOADGEN_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loadgen.h"

enum cmp_metric {
    CMP_REQ_PER_S,
    CMP_MB_PER_S,
    CMP_LAT_MEAN_US,
    CMP_LAT_P50_US,
    CMP_LAT_P90_US,
    CMP_LAT_P99_US,
    CMP_LAT_P999_US,
    CMP_LAT_MAX_US,
    CMP_CPU_PER_REQ_US, /* server_cpu_s * 1e6 / requests */
    CMP_SERVER_CPU_S,
    CMP_SERVER_RSS_KB,
    CMP__COUNT
};

#define CMP_BIT(m) (1u << (m))
/* req/s, MB/s, p50, p99, server CPU per request. */
#define CMP_DEFAULT_METRICS                                                                        \
    (CMP_BIT(CMP_REQ_PER_S) | CMP_BIT(CMP_MB_PER_S) | CMP_BIT(CMP_LAT_P50_US) |                    \
     CMP_BIT(CMP_LAT_P99_US) | CMP_BIT(CMP_CPU_PER_REQ_US))

const char *cmp_metric_name(enum cmp_metric m); /* "req_per_s", the --metric name */
bool cmp_metric_higher_is_better(enum cmp_metric m);

/* One CSV row, as compare needs it. Missing values (empty fields, no
 * requests for CPU per request) are NAN. */
struct cmp_row {
    char model[64];
    char scenario[LG_NAME_MAX];
    unsigned connections;
    double rate; /* 0 = closed loop */
    int line;
    uint64_t requests, errors, check_failures, timeouts;
    double v[CMP__COUNT];
    unsigned round; /* the bench round, from 1; 0 = none (an older file, loadgen run) */
    bool aa_twin;   /* the reference's A/A twin run */
};

struct cmp_file {
    char path[1024];
    struct cmp_row *rows;
    size_t n;
};

/* Read a result CSV: the header must begin with DESIGN.md section 7's
 * columns, in order (columns added later at the end are allowed); every
 * row has the header's field count. 0, or -1 with "FILE:LINE: reason". */
int cmp_load(const char *path, struct cmp_file *f, char *err, size_t errlen);
/* The file's highest round (0: no rounds, an older file or loadgen run's). */
unsigned cmp_rounds(const struct cmp_file *f);
void cmp_file_free(struct cmp_file *f);

/* The rows of one (model, scenario, connections, rate): medians per
 * metric, summed failures. */
struct cmp_group {
    char model[64];
    char scenario[LG_NAME_MAX];
    unsigned connections;
    double rate;
    size_t nrows;
    uint64_t requests, errors, check_failures, timeouts; /* sums */
    double v[CMP__COUNT]; /* medians over the rows that have the value; NAN if none */
    bool no_reference;    /* --reference: the scenario has no reference row */
};

struct cmp_set {
    struct cmp_group *g;
    size_t n;
};

/* Group f's rows by (model, scenario, connections, rate), in order of first
 * appearance.
 * 0, or -1 (out of memory). */
int cmp_group_rows(const struct cmp_file *f, struct cmp_set *out);
void cmp_set_free(struct cmp_set *s);
const struct cmp_group *cmp_find(const struct cmp_set *s, const char *model, const char *scenario,
                                 unsigned connections, double rate);
/* Divide every metric by the reference model's in the same scenario (the
 * reference's own values become 1), at the same connections and rate.
 * Groups of a point without the
 * reference get NAN and no_reference. */
void cmp_apply_reference(struct cmp_set *s, const char *reference);

/* The median of v[0..n) ignoring NANs (v is reordered); NAN when none. */
double cmp_median(double *v, size_t n);

struct cmp_opts {
    double threshold;      /* fraction: 0.10 = 10 % */
    unsigned metrics;      /* CMP_BIT() mask */
    const char *reference; /* NULL = raw numbers */
    bool verdicts;         /* both files have rounds: intervals and verdicts (compare_verdict.c) */
};

struct cmp_summary {
    size_t matched;             /* keys in both */
    size_t missing;             /* keys of A not in B (each a regression) */
    size_t added;               /* keys of B not in A (reported only) */
    size_t regressions;         /* keys with at least one regression, missing ones included */
    size_t better, worse, same; /* verdicts (both files with rounds) */
};

/* Compare B against A, printing the table to out. 0 no regression, 1
 * regression, -1 out of memory (message in err). */
int cmp_compare(const struct cmp_file *a, const struct cmp_file *b, const struct cmp_opts *o,
                FILE *out, struct cmp_summary *sum, char *err, size_t errlen);

/* "req_per_s,lat_p99_us" -> mask. 0, or -1 with a message. */
int cmp_parse_metrics(const char *list, unsigned *mask, char *err, size_t errlen);

/* `loadgen compare ARGS`: the exit status (0, 1, 2). */
int compare_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
