/* bench_report.h - what the bench records and how it reports it: one
 * record per (model, scenario) run, a ranked table per scenario (medians
 * over the clean runs), and the CSV files the rows go to. */
#ifndef LOADGEN_BENCH_REPORT_H
#define LOADGEN_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "csv.h"
#include "loadgen.h"

/* What one (model, scenario) run left. */
struct bench_record {
    size_t model, scen; /* indexes into the bench's models and scenarios */
    bool failed, skipped;
    char why[256]; /* when failed: the first reason */
    struct csv_row row;
};

/* Every record of the bench, in run order. */
struct bench_log {
    char *const *models; /* [nmodels], the table's names */
    size_t nmodels;
    unsigned repeat; /* runs per (model, scenario) */
    struct bench_record *recs;
    size_t nrecs, cap;
};

/* 0, or -1 when out of memory (the record is lost). */
int bench_log_add(struct bench_log *log, const struct bench_record *r);
void bench_log_free(struct bench_log *log);

/* Scenario sc's ranked table on stdout (si: its index in the records). */
void report_table(const struct bench_log *log, const struct lg_scenario *sc, size_t si);

/* Where the rows go: --csv FILE, or OUT_DIR/DATE-REV.csv plus
 * OUT_DIR/latest.csv. */
struct report_files {
    char csv[1200];    /* rows appended as they come */
    char latest[1200]; /* "" with --csv; else replaced by this bench's rows */
};

/* Decide the files (creating out_dir, and the CSV file empty when new).
 * 0, or -1 after a message. */
int report_pick_files(struct report_files *f, const char *csv, const char *out_dir,
                      const char *rev);
/* latest.csv: the log's rows, replaced atomically. 0, or -1 with err set. */
int report_write_latest(const char *latest, const struct bench_log *log, char *err, size_t errlen);
/* git rev-parse --short HEAD in the current directory, else $GIT_REV, else
 * "unknown". */
void report_git_rev(char *buf, size_t len);

#endif
