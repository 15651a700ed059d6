/* bench_report.h - what the bench records and how it reports it: one
 * record per (model, scenario) run, a ranked table per scenario (medians
 * over the clean runs), and the CSV files the rows go to. */
#ifndef LOADGEN_BENCH_REPORT_H
#define LOADGEN_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "results/csv.h"
#include "loadgen.h"

/* What a record is. */
enum record_kind {
    REC_POINT,  /* a run at a sweep point (a --rate auto search's closed-loop run too) */
    REC_STEP,   /* a --rate auto search's open-loop try (in the CSV, not in a table) */
    REC_SEARCH, /* a search's outcome: row is the best passing try's (not in the CSV) */
};

/* What one (model, scenario, point) run left, or one search. */
struct bench_record {
    size_t model, scen; /* indexes into the bench's models and scenarios */
    unsigned conns;     /* the point's connections (the row's) */
    double rate;        /* the point's rate, 0 = closed loop; REC_SEARCH: the best, 0 = none */
    enum record_kind kind;
    bool failed, skipped;
    bool at_least;  /* REC_SEARCH: no rate failed before the steps ran out: rate is a lower bound */
    unsigned round; /* from 1 */
    bool aa_twin;   /* the reference's second run of the round (the A/A control) */
    char why[256];  /* when failed: the first reason */
    struct csv_row row;
};

/* Every record of the bench, in run order. */
struct bench_log {
    char *const *models; /* [nmodels], the table's names */
    size_t nmodels;
    unsigned repeat; /* rounds: runs per (model, scenario, point) */
    long reference;  /* the A/A control's model index, -1 = none */
    double slo_us;   /* --rate auto's p99 limit */
    struct bench_record *recs;
    size_t nrecs, cap;
};

/* 0, or -1 when out of memory (the record is lost). */
int bench_log_add(struct bench_log *log, const struct bench_record *r);
void bench_log_free(struct bench_log *log);

/* Scenario sc's ranked tables on stdout (si: its index in the records):
 * one per (connections, rate) point, then the sustainable rates of a
 * --rate auto search. */
void report_tables(const struct bench_log *log, const struct lg_scenario *sc, size_t si);

/* Where the rows go: --csv FILE, or OUT_DIR/DATE-REV.csv plus
 * OUT_DIR/latest.csv. */
struct report_files {
    char csv[1200];    /* rows appended as they come */
    char latest[1200]; /* "" with --csv; else replaced by this bench's rows */
    /* Per-step rows (results/steptable.h), beside them: the csv's name with
     * "-steps" before ".csv", appended as they come; latest-steps.csv, ""
     * with --csv, emptied at the start and holding this bench's rows. */
    char steps[1210];
    char latest_steps[1210];
    /* The verdicts (results/verdict_table.h): the csv's name with
     * "-verdicts" before ".csv" (with --csv), or latest-verdicts.csv;
     * replaced by this bench's. */
    char verdicts[1220];
};

/* Decide the files (creating out_dir, and the CSV file empty when new).
 * 0, or -1 after a message. */
int report_pick_files(struct report_files *f, const char *csv, const char *out_dir,
                      const char *rev);
/* latest.csv: the log's rows (runs only), replaced atomically. 0, or -1 with err set. */
int report_write_latest(const char *latest, const struct bench_log *log, char *err, size_t errlen);
/* The verdicts of the log's rounds: the tier tables on stdout and the
 * verdicts file (replaced). 0, or -1 with err set. */
int report_verdicts(const struct bench_log *log, const char *path, char *err, size_t errlen);
/* git rev-parse --short HEAD in the current directory, else $GIT_REV, else
 * "unknown". */
void report_git_rev(char *buf, size_t len);

#endif
