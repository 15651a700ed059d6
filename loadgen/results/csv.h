/* csv.h - result rows (DESIGN.md section 7; columns only ever added at the end). */
#ifndef LOADGEN_CSV_H
#define LOADGEN_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "loadgen.h"

/* One field per CSV column, in column order. Empty-able numbers use -1. */
struct csv_row {
    char started_at[32]; /* ISO-8601 UTC, "2024-01-31T12:00:00Z" */
    char git_rev[64];
    char host[256];
    char model[64];
    char protocol[8]; /* http | ftp | echo */
    char scenario[LG_NAME_MAX];
    char engine[8]; /* raw | curl */
    unsigned threads;
    unsigned connections;
    double rate;       /* 0 = closed loop */
    double duration_s; /* measured seconds */
    uint64_t requests;
    uint64_t errors;
    uint64_t check_failures;
    uint64_t timeouts;
    uint64_t bytes;
    double req_per_s;
    double mb_per_s; /* 1 MB = 1e6 bytes */
    uint64_t lat_min_us;
    uint64_t lat_mean_us; /* rounded */
    uint64_t lat_p50_us;
    uint64_t lat_p90_us;
    uint64_t lat_p99_us;
    uint64_t lat_p999_us;
    uint64_t lat_max_us;
    double server_cpu_s;   /* < 0 = empty (filled by bench) */
    int64_t server_rss_kb; /* < 0 = empty (filled by bench) */
    double loadgen_cpu_s;  /* < 0 = empty */
    /* Appended columns (the study, issue 7): */
    uint64_t unanswered;          /* requests sent or due with no answer in the window */
    uint64_t starved_connections; /* connections that got no answer at all */
    int64_t server_pss_kb;        /* peak PSS of the server's group; < 0 = empty (bench) */
    int loadgen_bound;            /* 1: loadgen used ~90 % of its CPUs; < 0 = empty */
    char server_cpus[128];        /* the server's CPU list, "" = not pinned */
    char loadgen_cpus[128];       /* loadgen's CPU list, "" = not pinned */
    /* Appended (issue 16): answers that were a refusal at a documented
     * limit (HTTP 503 + Connection: close, FTP 421, echo "server busy"),
     * counted apart from check_failures (wrong answers). */
    uint64_t refused;
    /* Appended columns (the kernel's accounting, issue 16): */
    char server_accounting[24];  /* where server_cpu_s and server_rss_kb came from:
                                    cgroup2, cgroup1, proc, or CPU/MEMORY when they
                                    differ (e.g. cgroup2/proc); "" = no server (run) */
    double server_cpuset_busy_s; /* the server's own CPUs busy over the window
                                    (/proc/stat, softirq included); < 0 = empty */
    /* Appended columns (rounds and the A/A control, issue 17): */
    unsigned round; /* the bench round, from 1; 0 = not in a round (empty) */
    int aa_twin;    /* 1: the reference model's second run of the round (the
                       A/A control), 0: a model's own run; < 0 = empty */
};

/* The header line, without the trailing newline. */
const char *csv_header(void);

/* Format one row (no trailing newline) into buf. Returns the length, or -1
 * when it does not fit. */
int csv_format_row(const struct csv_row *row, char *buf, size_t buflen);

/* The row's numbers as csv_format_row writes them and a reader gets them
 * back (each rounded to its column's decimals), so that what is computed
 * from rows in memory (bench's verdicts) is what a rerun on the CSV gives. */
void csv_row_as_written(struct csv_row *row);

/* Append one row to path (O_APPEND, one write() per row), writing the
 * header line first when the file is new or empty. 0, or -1 with a message. */
int csv_append(const char *path, const struct csv_row *row, char *err, size_t errlen);

/* s as one CSV field (quoted per RFC 4180 when it must be) into dst[cap];
 * its length, or -1 when it does not fit. */
int csv_quote(char *dst, size_t cap, const char *s);

/* Append len bytes of text (whole lines) to path, the head line first when
 * the file is new or empty, under an exclusive lock, in one write(). 0, or
 * -1 with a message. */
int csv_append_text(const char *path, const char *head, const char *text, size_t len, char *err,
                    size_t errlen);

/* Fill everything known from the config and the merged stats: started_at
 * (now, UTC), git_rev (env GIT_REV or "unknown"), host (gethostname),
 * model (cfg->label or "-"), protocol, scenario name, engine, counters,
 * rates, latencies, unanswered, starved_connections. server_cpu_s,
 * server_rss_kb, server_pss_kb, loadgen_bound, server_cpuset_busy_s and aa_twin
 * are set to -1 (round to 0), the CPU lists and server_accounting to "". */
void csv_row_from_stats(struct csv_row *row, const struct lg_config *cfg, const struct lg_stats *st,
                        double elapsed_s, double loadgen_cpu_s);

#endif
