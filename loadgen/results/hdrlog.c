/* hdrlog.c - HdrHistogram interval logs, format 1.3 (see hdrlog.h). */
#include "hdrlog.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hdrcodec.h"
#include "os/atomicfile.h"

#define LEGEND                                                                                     \
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
#define START_TIME "#[StartTime: "
#define BASE_TIME "#[BaseTime: "
#define SCENARIO "#[Scenario: "
#define TARGET "#[Target: "
#define TAG_PREFIX "Tag="
/* Interval_Max in milliseconds for values in microseconds. */
#define MAX_VALUE_RATIO 1000.0
/* Timestamps this far below the StartTime are relative to it (HdrHistogram's rule). */
#define ONE_YEAR_S (365 * 24 * 3600.0)

/* ---- writing --------------------------------------------------------------- */

struct hdrlog_writer {
    struct atomic_file out;
    bool failed;
};

/* A value for a "#[Name: value]" line: printable, no ']' or line breaks. */
static void put_meta(FILE *f, const char *name, const char *value)
{
    if (!value) return;
    fprintf(f, "#[%s: ", name);
    for (const char *p = value; *p; p++)
        fputc(*p == ']' || (unsigned char)*p < 0x20 ? '_' : *p, f);
    fputs("]\n", f);
}

static void put_header(FILE *f, double start, const struct hdrlog_meta *meta)
{
    char date[64] = "";
    time_t t = (time_t)start;
    struct tm tm;
    /* Java's Date.toString() shape, in UTC. */
    if (gmtime_r(&t, &tm)) strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
    fprintf(f, "#[Histogram log format version 1.3]\n");
    fprintf(f, START_TIME "%.3f (seconds since epoch), %s]\n", start, date);
    fprintf(f, BASE_TIME "%.3f (seconds since epoch)]\n", start);
    if (meta) {
        put_meta(f, "Scenario", meta->scenario);
        put_meta(f, "Target", meta->target);
    }
    fprintf(f, "#[Values: microseconds; Interval_Max in milliseconds]\n");
    fprintf(f, LEGEND "\n");
}

struct hdrlog_writer *hdrlog_create(const char *path, double start_time_s,
                                    const struct hdrlog_meta *meta, char *err, size_t errlen)
{
    struct hdrlog_writer *w = calloc(1, sizeof *w);
    if (!w) {
        errf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (atomic_open(&w->out, path, err, errlen) < 0) {
        free(w);
        return NULL;
    }
    put_header(w->out.f, start_time_s, meta);
    return w;
}

static int write_line(struct hdrlog_writer *w, const char *tag, double offset_s, double length_s,
                      const struct hist *h, char *err, size_t errlen)
{
    char *b64 = hdr_encode_base64(h, err, errlen);
    if (!b64) {
        w->failed = true;
        return -1;
    }
    if (tag) fprintf(w->out.f, TAG_PREFIX "%s,", tag);
    int rc = fprintf(w->out.f, "%.3f,%.3f,%.3f,%s\n", offset_s, length_s,
                     (double)hist_max(h) / MAX_VALUE_RATIO, b64);
    free(b64);
    if (rc < 0 || ferror(w->out.f)) {
        w->failed = true;
        return errf(err, errlen, "%s: %s", w->out.tmp, strerror(errno));
    }
    return 0;
}

int hdrlog_write_interval(struct hdrlog_writer *w, double offset_s, double length_s,
                          const struct hist *h, char *err, size_t errlen)
{
    return write_line(w, NULL, offset_s, length_s, h, err, errlen);
}

int hdrlog_write_run(struct hdrlog_writer *w, double offset_s, double length_s,
                     const struct hist *h, char *err, size_t errlen)
{
    return write_line(w, HDRLOG_RUN_TAG, offset_s, length_s, h, err, errlen);
}

int hdrlog_commit(struct hdrlog_writer *w, char *err, size_t errlen)
{
    int rc;
    if (w->failed) {
        rc = errf(err, errlen, "%s: an earlier write failed", w->out.path);
        atomic_abort(&w->out);
    } else {
        rc = atomic_commit(&w->out, err, errlen);
    }
    free(w);
    return rc;
}

void hdrlog_discard(struct hdrlog_writer *w)
{
    if (!w) return;
    atomic_abort(&w->out);
    free(w);
}

/* ---- reading --------------------------------------------------------------- */

struct parse {
    struct hdrlog *log;
    size_t cap;
    int line;
    char why[512];
};

/* A finite number at *p, followed by sep (or the end when sep is 0); *p
 * moves past the separator. */
static int take_number(const char **p, char sep, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(*p, &end);
    if (end == *p || errno || !isfinite(v) || *end != sep) return -1;
    *out = v;
    *p = sep ? end + 1 : end;
    return 0;
}

/* "#[Name: value]" -> value into dst. */
static void take_meta(const char *line, size_t skip, char *dst, size_t cap)
{
    const char *v = line + skip;
    size_t n = strcspn(v, "]");
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int comment_line(struct parse *ps, const char *line)
{
    struct hdrlog *log = ps->log;
    double *dst = NULL;
    const char *p = line;
    if (strncmp(line, START_TIME, strlen(START_TIME)) == 0) {
        dst = &log->start_time_s;
        p += strlen(START_TIME);
    } else if (strncmp(line, BASE_TIME, strlen(BASE_TIME)) == 0) {
        dst = &log->base_time_s;
        p += strlen(BASE_TIME);
    } else if (strncmp(line, SCENARIO, strlen(SCENARIO)) == 0) {
        take_meta(line, strlen(SCENARIO), log->scenario, sizeof log->scenario);
    } else if (strncmp(line, TARGET, strlen(TARGET)) == 0) {
        take_meta(line, strlen(TARGET), log->target, sizeof log->target);
    }
    if (dst && take_number(&p, ' ', dst) < 0) {
        snprintf(ps->why, sizeof ps->why, "bad time in '%.60s'", line);
        return -1;
    }
    return 0;
}

/* Absolute seconds for a timestamp of the log (HistogramLogReader's rules). */
static double absolute_time(const struct hdrlog *log, double t)
{
    if (!isnan(log->base_time_s)) return log->base_time_s + t;
    if (!isnan(log->start_time_s) && t < log->start_time_s - ONE_YEAR_S)
        return log->start_time_s + t;
    return t;
}

static int add_interval(struct parse *ps, const struct hdrlog_interval *iv)
{
    struct hdrlog *log = ps->log;
    if (log->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        struct hdrlog_interval *n = realloc(log->iv, cap * sizeof *n);
        if (!n) {
            snprintf(ps->why, sizeof ps->why, "out of memory");
            return -1;
        }
        log->iv = n;
        ps->cap = cap;
    }
    log->iv[log->n++] = *iv;
    return 0;
}

/* [Tag=T,]start,length,max,base64 */
static int interval_line(struct parse *ps, const char *line)
{
    struct hdrlog *log = ps->log;
    const char *p = line;
    char tag[64] = "";
    if (strncmp(p, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
        p += strlen(TAG_PREFIX);
        size_t n = strcspn(p, ",");
        if (!p[n] || n >= sizeof tag) {
            snprintf(ps->why, sizeof ps->why, "bad tag");
            return -1;
        }
        memcpy(tag, p, n);
        p += n + 1;
    }
    double start, length, max;
    if (take_number(&p, ',', &start) < 0 || take_number(&p, ',', &length) < 0 ||
        take_number(&p, ',', &max) < 0 || length < 0) {
        snprintf(ps->why, sizeof ps->why,
                 "expected [Tag=T,]StartTimestamp,Interval_Length,Interval_Max,base64");
        return -1;
    }
    bool is_run = strcmp(tag, HDRLOG_RUN_TAG) == 0;
    if (*tag && !is_run) {
        log->other_tags++;
        return 0;
    }
    if (is_run && log->run) {
        snprintf(ps->why, sizeof ps->why, "a second Tag=%s line", HDRLOG_RUN_TAG);
        return -1;
    }
    struct hist *h = hist_new();
    char why[256];
    if (!h || hdr_decode_base64(p, strlen(p), h, why, sizeof why) < 0) {
        snprintf(ps->why, sizeof ps->why, "%s", h ? why : "out of memory");
        hist_free(h);
        return -1;
    }
    struct hdrlog_interval iv = {absolute_time(log, start), length, hist_count(h), ps->line};
    if (is_run) {
        log->run = h;
        log->run_iv = iv;
        return 0;
    }
    hist_merge(log->intervals, h);
    hist_free(h);
    return add_interval(ps, &iv);
}

static int parse_line(struct parse *ps, char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n == 0 || strcmp(line, LEGEND) == 0) return 0;
    if (line[0] == '#') return comment_line(ps, line);
    return interval_line(ps, line);
}

static int read_lines(FILE *f, struct parse *ps)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        ps->line++;
        if (memchr(line, '\0', (size_t)got)) {
            snprintf(ps->why, sizeof ps->why, "NUL byte");
            rc = -1;
        } else {
            rc = parse_line(ps, line);
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(ps->why, sizeof ps->why, "read error: %s", strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

int hdrlog_read(const char *path, struct hdrlog *out, char *err, size_t errlen)
{
    *out = (struct hdrlog){.start_time_s = NAN, .base_time_s = NAN};
    FILE *f = fopen(path, "r");
    if (!f) return errf(err, errlen, "%s: %s", path, strerror(errno));
    out->intervals = hist_new();
    struct parse ps = {.log = out};
    int rc = out->intervals ? read_lines(f, &ps) : -1;
    if (!out->intervals) snprintf(ps.why, sizeof ps.why, "out of memory");
    fclose(f);
    if (rc == 0 && out->n == 0 && !out->run) {
        ps.line = 0;
        snprintf(ps.why, sizeof ps.why,
                 "no histogram in the log (empty or not an HdrHistogram log)");
        rc = -1;
    }
    if (rc < 0) {
        if (ps.line)
            errf(err, errlen, "%s:%d: %s", path, ps.line, ps.why);
        else
            errf(err, errlen, "%s: %s", path, ps.why);
        hdrlog_free(out);
    }
    return rc;
}

void hdrlog_free(struct hdrlog *log)
{
    hist_free(log->intervals);
    hist_free(log->run);
    free(log->iv);
    *log = (struct hdrlog){.start_time_s = NAN, .base_time_s = NAN};
}

const struct hist *hdrlog_total(const struct hdrlog *log)
{
    return log->run ? log->run : log->intervals;
}

void hdrlog_window(const struct hdrlog *log, double *start, double *end)
{
    if (log->run) {
        *start = log->run_iv.start_s;
        *end = log->run_iv.start_s + log->run_iv.length_s;
        return;
    }
    *start = *end = 0;
    if (log->n == 0) return;
    *start = log->iv[0].start_s;
    *end = log->iv[0].start_s + log->iv[0].length_s;
    for (size_t i = 1; i < log->n; i++) {
        if (log->iv[i].start_s < *start) *start = log->iv[i].start_s;
        if (log->iv[i].start_s + log->iv[i].length_s > *end)
            *end = log->iv[i].start_s + log->iv[i].length_s;
    }
}
