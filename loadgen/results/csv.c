/* csv.c - result rows (DESIGN.md section 7). */
#include "csv.h"

#include "hist.h"
#include "stats.h"
#include "os/atomicfile.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CSV_LINE_MAX 4096

static const char header[] =
    "started_at,git_rev,host,model,protocol,scenario,engine,threads,connections,"
    "rate,duration_s,requests,errors,check_failures,timeouts,bytes,req_per_s,"
    "mb_per_s,lat_min_us,lat_mean_us,lat_p50_us,lat_p90_us,lat_p99_us,lat_p999_us,"
    "lat_max_us,server_cpu_s,server_rss_kb,loadgen_cpu_s,"
    "unanswered,starved_connections,server_pss_kb,loadgen_bound,server_cpus,loadgen_cpus,"
    "refused,server_accounting,server_cpuset_busy_s,round,aa_twin";

const char *csv_header(void)
{
    return header;
}

/* Appends to a bounded buffer; remembers overflow. */
struct out {
    char *buf;
    size_t cap, len;
    int fields;
    bool overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    if (o->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->overflow = true;
    else
        o->len += (size_t)n;
}

/* A text field, quoted (RFC 4180) when it holds a comma, quote or line break. */
static void put_str(struct out *o, const char *s)
{
    if (o->fields++) put(o, ",");
    if (!strpbrk(s, ",\"\r\n")) {
        put(o, "%s", s);
        return;
    }
    put(o, "\"");
    for (; *s; s++) {
        if (*s == '"')
            put(o, "\"\"");
        else
            put(o, "%c", *s);
    }
    put(o, "\"");
}

static void put_u64(struct out *o, uint64_t v)
{
    put(o, ",%" PRIu64, v);
}

/* A negative value is an empty field (not measured). */
static void put_i64(struct out *o, int64_t v)
{
    if (v < 0)
        put(o, ",");
    else
        put(o, ",%" PRId64, v);
}

/* decimals digits; a negative value is an empty field (not measured). */
static void put_dbl(struct out *o, double v, int decimals)
{
    if (v < 0)
        put(o, ",");
    else
        put(o, ",%.*f", decimals, v);
}

int csv_quote(char *dst, size_t cap, const char *s)
{
    struct out o = {.buf = dst, .cap = cap};
    if (cap == 0) return -1;
    dst[0] = '\0';
    put_str(&o, s);
    return o.overflow ? -1 : (int)o.len;
}

int csv_format_row(const struct csv_row *r, char *buf, size_t buflen)
{
    struct out o = {.buf = buf, .cap = buflen};
    if (buflen == 0) return -1;
    buf[0] = '\0';
    put_str(&o, r->started_at);
    put_str(&o, r->git_rev);
    put_str(&o, r->host);
    put_str(&o, r->model);
    put_str(&o, r->protocol);
    put_str(&o, r->scenario);
    put_str(&o, r->engine);
    put_u64(&o, r->threads);
    put_u64(&o, r->connections);
    put_dbl(&o, r->rate, r->rate == (double)(uint64_t)r->rate ? 0 : 2);
    put_dbl(&o, r->duration_s, 3);
    put_u64(&o, r->requests);
    put_u64(&o, r->errors);
    put_u64(&o, r->check_failures);
    put_u64(&o, r->timeouts);
    put_u64(&o, r->bytes);
    put_dbl(&o, r->req_per_s, 2);
    put_dbl(&o, r->mb_per_s, 2);
    put_u64(&o, r->lat_min_us);
    put_u64(&o, r->lat_mean_us);
    put_u64(&o, r->lat_p50_us);
    put_u64(&o, r->lat_p90_us);
    put_u64(&o, r->lat_p99_us);
    put_u64(&o, r->lat_p999_us);
    put_u64(&o, r->lat_max_us);
    put_dbl(&o, r->server_cpu_s, 3);
    put_i64(&o, r->server_rss_kb);
    put_dbl(&o, r->loadgen_cpu_s, 3);
    put_u64(&o, r->unanswered);
    put_u64(&o, r->starved_connections);
    put_i64(&o, r->server_pss_kb);
    put_i64(&o, r->loadgen_bound);
    put_str(&o, r->server_cpus);
    put_str(&o, r->loadgen_cpus);
    put_u64(&o, r->refused);
    put_str(&o, r->server_accounting);
    put_dbl(&o, r->server_cpuset_busy_s, 3);
    if (r->round)
        put_u64(&o, r->round);
    else
        put(&o, ",");
    put_i64(&o, r->aa_twin);
    return o.overflow ? -1 : (int)o.len;
}

/* v as "%.*f" prints it, read back; negatives (empty fields) stay. */
static void as_written(double *v, int decimals)
{
    if (*v < 0) return;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", decimals, *v);
    *v = strtod(buf, NULL);
}

void csv_row_as_written(struct csv_row *r)
{
    as_written(&r->rate, r->rate == (double)(uint64_t)r->rate ? 0 : 2);
    as_written(&r->duration_s, 3);
    as_written(&r->req_per_s, 2);
    as_written(&r->mb_per_s, 2);
    as_written(&r->server_cpu_s, 3);
    as_written(&r->loadgen_cpu_s, 3);
    as_written(&r->server_cpuset_busy_s, 3);
}

int csv_append(const char *path, const struct csv_row *row, char *err, size_t errlen)
{
    char line[CSV_LINE_MAX];
    int n = csv_format_row(row, line, CSV_LINE_MAX - 1);
    if (n < 0) {
        snprintf(err, errlen, "%s: row too long", path);
        return -1;
    }
    line[n] = '\n';
    return csv_append_text(path, header, line, (size_t)n + 1, err, errlen);
}

int csv_append_text(const char *path, const char *head, const char *text, size_t len, char *err,
                    size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* The lock keeps two writers from both seeing an empty file. */
    (void)flock(fd, LOCK_EX);
    struct stat sb;
    int rc = fstat(fd, &sb);
    if (rc == 0 && !S_ISREG(sb.st_mode)) {
        errno = EINVAL;
        rc = -1;
    }
    if (rc == 0 && sb.st_size == 0) { /* a new file: its header first */
        size_t hl = strlen(head);
        char *all = malloc(hl + 1 + len);
        if (!all) {
            errno = ENOMEM;
            rc = -1;
        } else {
            memcpy(all, head, hl);
            all[hl] = '\n';
            memcpy(all + hl + 1, text, len);
            rc = write_all(fd, all, hl + 1 + len); /* one write: readers never see half */
            free(all);
        }
    } else if (rc == 0) {
        rc = write_all(fd, text, len);
    }
    int saved = errno;
    close(fd);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* The engine that actually ran: the default is raw, curl for FTP. */
static const char *engine_name(const struct lg_config *cfg)
{
    if (cfg->engine == LG_ENGINE_CURL) return "curl";
    if (cfg->engine == LG_ENGINE_RAW) return "raw";
    return cfg->sc && cfg->sc->proto == LG_PROTO_FTP ? "curl" : "raw";
}

static void fill_latency(struct csv_row *row, const struct hist *h)
{
    if (!h || hist_count(h) == 0) return;
    row->lat_min_us = hist_min(h);
    row->lat_mean_us = (uint64_t)(hist_mean(h) + 0.5);
    row->lat_p50_us = hist_percentile(h, 50);
    row->lat_p90_us = hist_percentile(h, 90);
    row->lat_p99_us = hist_percentile(h, 99);
    row->lat_p999_us = hist_percentile(h, 99.9);
    row->lat_max_us = hist_max(h);
}

void csv_row_from_stats(struct csv_row *row, const struct lg_config *cfg, const struct lg_stats *st,
                        double elapsed_s, double loadgen_cpu_s)
{
    *row = (struct csv_row){.server_cpu_s = -1,
                            .server_rss_kb = -1,
                            .server_pss_kb = -1,
                            .loadgen_bound = -1,
                            .server_cpuset_busy_s = -1,
                            .aa_twin = -1};
    time_t start = time(NULL) - (time_t)(elapsed_s + cfg->warmup_s + 0.5);
    struct tm tm;
    if (gmtime_r(&start, &tm))
        strftime(row->started_at, sizeof row->started_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *rev = getenv("GIT_REV");
    lg_copy(row->git_rev, sizeof row->git_rev, rev && *rev ? rev : "unknown");
    if (gethostname(row->host, sizeof row->host) != 0)
        lg_copy(row->host, sizeof row->host, "unknown");
    row->host[sizeof row->host - 1] = '\0';
    lg_copy(row->model, sizeof row->model, cfg->label && *cfg->label ? cfg->label : "-");
    if (cfg->sc) {
        lg_copy(row->protocol, sizeof row->protocol, lg_proto_name(cfg->sc->proto));
        lg_copy(row->scenario, sizeof row->scenario, cfg->sc->name);
    }
    lg_copy(row->engine, sizeof row->engine, engine_name(cfg));
    row->threads = cfg->threads;
    row->connections = cfg->connections;
    row->rate = cfg->rate;
    row->duration_s = elapsed_s;
    row->requests = st->requests;
    row->errors = lg_stats_errors(st);
    row->check_failures = lg_stats_check_failures(st);
    row->timeouts = lg_stats_timeouts(st);
    row->refused = lg_stats_refused(st);
    row->bytes = st->bytes;
    if (elapsed_s > 0) {
        row->req_per_s = (double)st->requests / elapsed_s;
        row->mb_per_s = (double)st->bytes / 1e6 / elapsed_s;
    }
    fill_latency(row, st->lat);
    row->unanswered = st->unanswered;
    row->starved_connections = st->starved_connections;
    row->loadgen_cpu_s = loadgen_cpu_s;
}
