/* csvread.c - reading result CSVs (see csvread.h). */
#include "csvread.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 128
#define RECORD_MAX 16384

struct reader {
    FILE *f;
    int line; /* physical line being read, 1-based */
    char buf[RECORD_MAX];
    char *field[MAX_FIELDS];
    int nfields;
    int start; /* line of the record's first byte */
};

/* One field into r->buf at *len. 0 more fields follow, 1 record ends,
 * 2 end of file, -1 with a reason in err. */
static int read_field(struct reader *r, size_t *len, char *err, size_t errlen)
{
    int c = getc(r->f);
    bool quoted = c == '"';
    if (quoted) c = getc(r->f);
    for (;;) {
        if (c == EOF) {
            if (quoted) {
                snprintf(err, errlen, "unterminated quoted field");
                return -1;
            }
            return 2;
        }
        if (c == '\0') {
            snprintf(err, errlen, "NUL byte");
            return -1;
        }
        if (quoted && c == '"') {
            c = getc(r->f);
            if (c != '"') { /* the closing quote */
                quoted = false;
                if (c != ',' && c != '\n' && c != '\r' && c != EOF) {
                    snprintf(err, errlen, "text after a closing quote");
                    return -1;
                }
                continue;
            }
        } else if (!quoted) {
            if (c == ',') return 0;
            if (c == '\r') {
                c = getc(r->f);
                if (c != '\n') {
                    snprintf(err, errlen, "carriage return without a line feed");
                    return -1;
                }
            }
            if (c == '\n') {
                r->line++;
                return 1;
            }
            if (c == '"') {
                snprintf(err, errlen, "quote inside an unquoted field");
                return -1;
            }
        }
        if (c == '\n') r->line++;
        if (*len + 2 >= sizeof r->buf) {
            snprintf(err, errlen, "record longer than %d bytes", RECORD_MAX);
            return -1;
        }
        r->buf[(*len)++] = (char)c;
        c = getc(r->f);
    }
}

/* The next record into r->field. 1 read, 0 end of file, -1 with err. */
static int read_record(struct reader *r, char *err, size_t errlen)
{
    int c = getc(r->f);
    if (c == EOF) return 0;
    ungetc(c, r->f);
    r->start = r->line;
    r->nfields = 0;
    size_t len = 0;
    for (;;) {
        if (r->nfields == MAX_FIELDS) {
            snprintf(err, errlen, "more than %d fields", MAX_FIELDS);
            return -1;
        }
        r->field[r->nfields++] = r->buf + len;
        int rc = read_field(r, &len, err, errlen);
        if (rc < 0) return -1;
        r->buf[len++] = '\0';
        if (rc > 0) return 1;
    }
}

int csv_schema_columns(char names[][32], int max)
{
    const char *h = csv_header();
    int n = 0;
    while (*h && n < max) {
        size_t len = strcspn(h, ",");
        snprintf(names[n++], 32, "%.*s", (int)len, h);
        h += len;
        if (*h == ',') h++;
    }
    return n;
}

/* The columns of the first schema (through loadgen_cpu_s): files written
 * before the study's columns were appended are still read. */
#define FIRST_SCHEMA_COLUMNS 28

static int check_header(struct reader *r, char *err, size_t errlen)
{
    char names[64][32];
    int n = csv_schema_columns(names, 64);
    if (r->nfields >= FIRST_SCHEMA_COLUMNS && r->nfields < n) n = r->nfields;
    if (r->nfields < n) {
        snprintf(err, errlen, "header has %d columns, the schema %d (first: %s)", r->nfields, n,
                 names[0]);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(r->field[i], names[i]) != 0) {
            snprintf(err, errlen, "header column %d is '%.40s', expected '%.31s'", i + 1,
                     r->field[i], names[i]);
            return -1;
        }
    return 0;
}

int csv_parse_count(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int csv_parse_value(const char *s, bool allow_empty, double *out)
{
    if (!*s && allow_empty) {
        *out = NAN;
        return 0;
    }
    if (!((*s >= '0' && *s <= '9') || *s == '.')) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < 0) return -1;
    *out = v;
    return 0;
}

int csv_read_file(const char *path, csv_record_fn fn, void *ctx, char *err, size_t errlen)
{
    struct reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    r->line = 1;
    r->f = fopen(path, "r");
    char why[512] = "";
    int rc = -1;
    if (!r->f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(r);
        return -1;
    }
    int got = read_record(r, why, sizeof why);
    if (got == 0) snprintf(why, sizeof why, "empty file, expected the CSV header");
    if (got <= 0 || check_header(r, why, sizeof why) < 0) goto out;
    int ncols = r->nfields;
    while ((got = read_record(r, why, sizeof why)) > 0) {
        if (r->nfields == 1 && r->field[0][0] == '\0') continue; /* a blank line */
        if (r->nfields != ncols) {
            snprintf(why, sizeof why, "%d fields, the header has %d", r->nfields, ncols);
            goto out;
        }
        struct csv_record rec = {r->field, r->nfields, r->start};
        if (fn(&rec, ctx, why, sizeof why) < 0) goto out;
    }
    if (got == 0 && ferror(r->f))
        snprintf(why, sizeof why, "read error: %s", strerror(errno));
    else if (got == 0)
        rc = 0;
out:
    if (rc < 0) snprintf(err, errlen, "%s:%d: %s", path, r->start ? r->start : r->line, why);
    fclose(r->f);
    free(r);
    return rc;
}

/* ---- whole rows ------------------------------------------------------------ */

static void take_text(char *dst, size_t cap, const char *s, bool *too_long)
{
    size_t n = strlen(s);
    if (n >= cap) {
        *too_long = true;
        n = cap - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* The appended counts a file written by an older loadgen may lack (0 then). */
static int parse_appended_counts(const struct csv_record *rec, char names[][32], int ncols,
                                 struct csv_row *row, char *why, size_t whylen)
{
    struct {
        const char *name;
        uint64_t *dst;
    } counts[] = {{"unanswered", &row->unanswered},
                  {"starved_connections", &row->starved_connections},
                  {"refused", &row->refused}};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
        for (int i = FIRST_SCHEMA_COLUMNS; i < ncols && i < rec->nfields; i++)
            if (strcmp(names[i], counts[k].name) == 0 &&
                csv_parse_count(rec->field[i], counts[k].dst) < 0) {
                snprintf(why, whylen, "%s: '%.40s' is not a count", names[i], rec->field[i]);
                return -1;
            }
    return 0;
}

/* The column named name in the schema: its index, or -1. */
static int schema_index(char names[][32], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* The columns appended for the kernel's accounting (issue 16), found by
 * name; a file written before them has none: empty, as not measured. */
static int parse_accounting(const struct csv_record *rec, char names[][32], int ncols,
                            struct csv_row *row, char *why, size_t whylen)
{
    row->server_cpuset_busy_s = -1;
    int ia = schema_index(names, ncols, "server_accounting");
    bool too_long = false;
    if (ia >= 0 && ia < rec->nfields)
        take_text(row->server_accounting, sizeof row->server_accounting, rec->field[ia], &too_long);
    if (too_long) {
        snprintf(why, whylen, "server_accounting: '%.40s' is too long", rec->field[ia]);
        return -1;
    }
    int ib = schema_index(names, ncols, "server_cpuset_busy_s");
    if (ib < 0 || ib >= rec->nfields) return 0;
    double busy;
    if (csv_parse_value(rec->field[ib], true, &busy) < 0) {
        snprintf(why, whylen, "server_cpuset_busy_s: '%.40s' is not a number", rec->field[ib]);
        return -1;
    }
    row->server_cpuset_busy_s = isnan(busy) ? -1 : busy;
    return 0;
}

/* An appended whole number that may be empty (-1) or absent (an older file). */
static int parse_opt_int(const struct csv_record *rec, char names[][32], int ncols,
                         const char *name, int64_t *out, char *why, size_t whylen)
{
    *out = -1;
    int i = schema_index(names, ncols, name);
    if (i < 0 || i >= rec->nfields || !rec->field[i][0]) return 0;
    uint64_t v;
    if (csv_parse_count(rec->field[i], &v) < 0 || v > INT64_MAX) {
        snprintf(why, whylen, "%s: '%.40s' is not a count", name, rec->field[i]);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* The study's columns (issue 7: server_pss_kb, loadgen_bound) and those
 * appended for rounds (issue 17): empty in a file written before them, or
 * by `loadgen run`: round 0, the others -1. */
static int parse_round(const struct csv_record *rec, char names[][32], int ncols,
                       struct csv_row *row, char *why, size_t whylen)
{
    int64_t bound;
    if (parse_opt_int(rec, names, ncols, "server_pss_kb", &row->server_pss_kb, why, whylen) < 0 ||
        parse_opt_int(rec, names, ncols, "loadgen_bound", &bound, why, whylen) < 0)
        return -1;
    row->loadgen_bound = bound > 1 ? 1 : (int)bound;
    row->aa_twin = -1;
    int ir = schema_index(names, ncols, "round"), it = schema_index(names, ncols, "aa_twin");
    uint64_t v;
    if (ir >= 0 && ir < rec->nfields && rec->field[ir][0]) {
        if (csv_parse_count(rec->field[ir], &v) < 0 || v > 1000000) {
            snprintf(why, whylen, "round: '%.40s' is not a round number", rec->field[ir]);
            return -1;
        }
        row->round = (unsigned)v;
    }
    if (it >= 0 && it < rec->nfields && rec->field[it][0]) {
        if (csv_parse_count(rec->field[it], &v) < 0 || v > 1) {
            snprintf(why, whylen, "aa_twin: '%.40s' is not 0 or 1", rec->field[it]);
            return -1;
        }
        row->aa_twin = (int)v;
    }
    return 0;
}

int csv_parse_row(const struct csv_record *rec, struct csv_row *row, char *why, size_t whylen)
{
    char names[64][32];
    int ncols = csv_schema_columns(names, 64);
    if (rec->nfields < FIRST_SCHEMA_COLUMNS) { /* columns appended later may be absent */
        snprintf(why, whylen, "%d fields, the schema has %d", rec->nfields, ncols);
        return -1;
    }
    char *const *f = rec->field;
    *row = (struct csv_row){0};
    bool too_long = false;
    take_text(row->started_at, sizeof row->started_at, f[0], &too_long);
    take_text(row->git_rev, sizeof row->git_rev, f[1], &too_long);
    take_text(row->host, sizeof row->host, f[2], &too_long);
    take_text(row->model, sizeof row->model, f[3], &too_long);
    take_text(row->protocol, sizeof row->protocol, f[4], &too_long);
    take_text(row->scenario, sizeof row->scenario, f[5], &too_long);
    take_text(row->engine, sizeof row->engine, f[6], &too_long);
    if (too_long) {
        snprintf(why, whylen, "a text field (started_at .. engine) is too long");
        return -1;
    }
    uint64_t threads, conns;
    uint64_t *counts[] = {
        &threads,       &conns,     NULL, NULL, &row->requests, &row->errors, &row->check_failures,
        &row->timeouts, &row->bytes};
    for (int i = 7; i <= 15; i++) {
        if (!counts[i - 7]) continue; /* rate, duration_s: numbers */
        if (csv_parse_count(f[i], counts[i - 7]) < 0 || (i <= 8 && *counts[i - 7] > UINT32_MAX)) {
            snprintf(why, whylen, "%s: '%.40s' is not a count", names[i], f[i]);
            return -1;
        }
    }
    row->threads = (unsigned)threads;
    row->connections = (unsigned)conns;
    uint64_t *lat[] = {&row->lat_min_us, &row->lat_mean_us, &row->lat_p50_us, &row->lat_p90_us,
                       &row->lat_p99_us, &row->lat_p999_us, &row->lat_max_us};
    for (int i = 18; i <= 24; i++)
        if (csv_parse_count(f[i], lat[i - 18]) < 0) {
            snprintf(why, whylen, "%s: '%.40s' is not a count", names[i], f[i]);
            return -1;
        }
    struct {
        int col;
        double *dst;
        bool optional;
    } values[] = {{9, &row->rate, false},         {10, &row->duration_s, false},
                  {16, &row->req_per_s, false},   {17, &row->mb_per_s, false},
                  {25, &row->server_cpu_s, true}, {27, &row->loadgen_cpu_s, true}};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        if (csv_parse_value(f[values[i].col], values[i].optional, values[i].dst) < 0) {
            snprintf(why, whylen, "%s: '%.40s' is not a number", names[values[i].col],
                     f[values[i].col]);
            return -1;
        }
        if (isnan(*values[i].dst)) *values[i].dst = -1; /* empty: not measured */
    }
    double rss;
    if (csv_parse_value(f[26], true, &rss) < 0 || (!isnan(rss) && rss != floor(rss))) {
        snprintf(why, whylen, "%s: '%.40s' is not a count", names[26], f[26]);
        return -1;
    }
    row->server_rss_kb = isnan(rss) ? -1 : (int64_t)rss;
    if (parse_appended_counts(rec, names, ncols, row, why, whylen) < 0 ||
        parse_accounting(rec, names, ncols, row, why, whylen) < 0)
        return -1;
    return parse_round(rec, names, ncols, row, why, whylen);
}
