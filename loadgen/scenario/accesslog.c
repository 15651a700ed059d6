/* accesslog.c - a scenario from an nginx / Apache access log (see accesslog.h).
 *
 * Reads top to bottom: one log line, the table of (method, target) counts,
 * the fixture a target names, the scenario text, the command line. */
#include "accesslog.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "os/atomicfile.h"
#include "units.h"

#define EXIT_USAGE 2
#define DEFAULT_TOP 50
#define MAX_TOP 100000
#define MAX_WEIGHT 1000000 /* scenario.c's limit */
#define STEP_NAME_MAX 63
#define STATUS_SLOTS 6 /* distinct statuses remembered per step; more count as "other" */

const char SCENARIO_FROM_LOG_USAGE[] =
    "usage: loadgen scenario-from-log ACCESS.log [--top N] [--format combined|common]\n"
    "                                 [--fixtures DIR] [--name NAME] [--out FILE]\n"
    "\n"
    "Turns an nginx / Apache access log into an HTTP scenario: one weighted step\n"
    "per (method, target) among the N most frequent, the logged status as\n"
    "expect_status (304 and 206 as 200: the replay is unconditional), and\n"
    "`expect = file` for a GET answered 200 whose path is a file under DIR.\n"
    "Targets are kept as logged (percent-encoded, with their query strings).\n"
    "\n"
    "  --top N          steps for the N most frequent requests (default 50)\n"
    "  --format F       combined (nginx's and Apache's default; the default) or\n"
    "                   common (no referer and user agent)\n"
    "  --fixtures DIR   the server's document root, for `expect = file`\n"
    "  --name NAME      the scenario's name (default: the log's file name)\n"
    "  --out FILE       write the scenario to FILE (atomically) instead of stdout\n"
    "\n"
    "Malformed lines are skipped and counted on stderr; a log without a valid\n"
    "line is an error (exit 2, nothing written).\n";

/* ---- one line -------------------------------------------------------------- */

/* A space-free token at *p, then one space. */
static bool skip_token(const char **p)
{
    const char *s = *p;
    while (*s && *s != ' ' && *s != '\n' && *s != '\r')
        s++;
    if (s == *p || *s != ' ') return false;
    *p = s + 1;
    return true;
}

/* "[...]" then one space. */
static bool skip_bracketed(const char **p)
{
    if (**p != '[') return false;
    const char *close = strchr(*p, ']');
    if (!close || close[1] != ' ') return false;
    *p = close + 2;
    return true;
}

/* A quoted field ("..." with \" and \\ escapes): its inside in *start, *len;
 * *p past the closing quote. */
static bool take_quoted(const char **p, const char **start, size_t *len)
{
    const char *s = *p;
    if (*s++ != '"') return false;
    *start = s;
    for (; *s && *s != '"'; s++)
        if (*s == '\\' && s[1]) s++;
    if (*s != '"') return false;
    *len = (size_t)(s - *start);
    *p = s + 1;
    return true;
}

static bool is_tchar(int c) /* RFC 9110 token characters */
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "METHOD TARGET HTTP/x.y" into out; LOG_LINE_* */
static enum log_line_kind parse_request(const char *req, size_t len, struct log_request *out)
{
    const char *end = req + len, *sp1 = memchr(req, ' ', len);
    if (!sp1 || sp1 == req) return LOG_LINE_MALFORMED;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1 || end - sp2 < 6 || strncmp(sp2 + 1, "HTTP/", 5) != 0 ||
        memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)))
        return LOG_LINE_MALFORMED;
    size_t mlen = (size_t)(sp1 - req);
    if (mlen >= sizeof out->method) return LOG_LINE_MALFORMED;
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)req[i])) return LOG_LINE_MALFORMED;
    memcpy(out->method, req, mlen);
    out->method[mlen] = '\0';
    out->target = sp1 + 1;
    out->target_len = (size_t)(sp2 - sp1 - 1);
    /* Origin-form only, as the client sent it: no escaped bytes, no controls. */
    if (out->target[0] != '/' || out->target_len > LOG_TARGET_MAX) return LOG_LINE_UNREPLAYABLE;
    for (size_t i = 0; i < out->target_len; i++) {
        unsigned char c = (unsigned char)out->target[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"') return LOG_LINE_UNREPLAYABLE;
    }
    return LOG_LINE_OK;
}

enum log_line_kind accesslog_parse_line(const char *line, enum log_format fmt,
                                        struct log_request *out)
{
    const char *p = line, *req, *ignored;
    size_t req_len, ignored_len;
    /* host ident user [date] "request" status bytes */
    if (!skip_token(&p) || !skip_token(&p) || !skip_token(&p) || !skip_bracketed(&p) ||
        !take_quoted(&p, &req, &req_len) || *p++ != ' ')
        return LOG_LINE_MALFORMED;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2]) || p[3] != ' ')
        return LOG_LINE_MALFORMED;
    int status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    p += 4;
    if (*p == '-')
        p++;
    else if (!isdigit((unsigned char)*p))
        return LOG_LINE_MALFORMED;
    while (isdigit((unsigned char)*p))
        p++;
    if (fmt == LOG_COMBINED) { /* then "referer" "user-agent" */
        if (*p++ != ' ' || !take_quoted(&p, &ignored, &ignored_len) || *p++ != ' ' ||
            !take_quoted(&p, &ignored, &ignored_len))
            return LOG_LINE_MALFORMED;
    }
    /* Anything after is allowed (logs often append fields), after a space. */
    if (*p && *p != ' ' && *p != '\n' && *p != '\r') return LOG_LINE_MALFORMED;
    if (status < 100 || status > 599) return LOG_LINE_MALFORMED;
    enum log_line_kind kind = parse_request(req, req_len, out);
    out->status = status;
    return kind;
}

/* ---- the table: counts per (method, target) ------------------------------------ */

struct entry {
    char *key; /* "METHOD TARGET" */
    size_t method_len;
    uint64_t count;
    size_t first; /* order of first appearance, for stable ties */
    int status[STATUS_SLOTS];
    uint64_t status_count[STATUS_SLOTS];
    uint64_t other_status;
};

struct table {
    struct entry **slot; /* open addressing; NULL = free */
    size_t cap, n;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static struct entry **find_slot(struct entry **slot, size_t cap, const char *key)
{
    size_t i = (size_t)fnv1a(key) & (cap - 1);
    while (slot[i] && strcmp(slot[i]->key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slot[i];
}

static int grow(struct table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    struct entry **slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i]) *find_slot(slot, cap, t->slot[i]->key) = t->slot[i];
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return 0;
}

static void count_status(struct entry *e, int status)
{
    for (int i = 0; i < STATUS_SLOTS; i++) {
        if (e->status[i] == status || e->status[i] == 0) {
            e->status[i] = status;
            e->status_count[i]++;
            return;
        }
    }
    e->other_status++;
}

static int table_add(struct table *t, const struct log_request *r)
{
    if ((t->n + 1) * 10 > t->cap * 7 && grow(t) < 0) return -1;
    size_t mlen = strlen(r->method);
    char key[sizeof r->method + 1 + LOG_TARGET_MAX + 1];
    snprintf(key, sizeof key, "%s %.*s", r->method, (int)r->target_len, r->target);
    struct entry **s = find_slot(t->slot, t->cap, key);
    if (!*s) {
        struct entry *e = calloc(1, sizeof *e);
        if (!e || !(e->key = strdup(key))) {
            free(e);
            return -1;
        }
        e->method_len = mlen;
        e->first = t->n++;
        *s = e;
    }
    (*s)->count++;
    count_status(*s, r->status);
    return 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i]) {
            free(t->slot[i]->key);
            free(t->slot[i]);
        }
    free(t->slot);
}

static int by_count(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The entries, most frequent first (a new array of t->n pointers). */
static struct entry **table_sorted(const struct table *t)
{
    struct entry **v = malloc((t->n ? t->n : 1) * sizeof *v);
    if (!v) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i]) v[k++] = t->slot[i];
    qsort(v, k, sizeof *v, by_count);
    return v;
}

/* The status a replay should see: the most frequent, 304 and 206 as 200. */
static int expected_status(const struct entry *e)
{
    uint64_t best = 0;
    int status = 200;
    for (int i = 0; i < STATUS_SLOTS && e->status[i]; i++) {
        int s = e->status[i] == 304 || e->status[i] == 206 ? 200 : e->status[i];
        uint64_t n = 0;
        for (int j = 0; j < STATUS_SLOTS && e->status[j]; j++) {
            int sj = e->status[j] == 304 || e->status[j] == 206 ? 200 : e->status[j];
            if (sj == s) n += e->status_count[j];
        }
        if (n > best || (n == best && s < status)) {
            best = n;
            status = s;
        }
    }
    return status;
}

/* ---- the fixture a target names ------------------------------------------------- */

static int hex(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* The target's path, percent-decoded, relative to the root ("" for "/").
 * -1 when it cannot name a fixture safely (NUL, "..", "." segments, an
 * INI-unsafe byte). */
static int decoded_path(const char *target, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    size_t end = strcspn(target, "?#");
    if (end > len) end = len;
    for (size_t i = 1; i < end; i++) { /* skip the leading '/' */
        int c = (unsigned char)target[i];
        if (c == '%') {
            int hi = i + 2 < end ? hex((unsigned char)target[i + 1]) : -1;
            int lo = i + 2 < end ? hex((unsigned char)target[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == ';' || c == '#' || n + 1 >= cap) return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    /* No "." or ".." segment, no empty segment but a trailing one. */
    for (const char *seg = out; *seg;) {
        size_t sl = strcspn(seg, "/");
        if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.') ||
            (sl == 0 && seg[sl]))
            return -1;
        seg += sl + (seg[sl] == '/');
    }
    if (n && (out[0] == ' ' || out[n - 1] == ' ')) return -1; /* the INI reader trims */
    return 0;
}

/* The fixture file the target names (a directory names its index.html),
 * relative to dir, into rel; false when there is none. */
static bool fixture_for(const char *dir, const char *target, size_t len, char *rel, size_t cap)
{
    char decoded[LOG_TARGET_MAX + 16], full[4096];
    if (!dir || decoded_path(target, len, decoded, sizeof decoded - 11) < 0) return false;
    struct stat sb;
    snprintf(full, sizeof full, "%s/%s", dir, decoded);
    if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        size_t n = strlen(decoded);
        if (n && decoded[n - 1] != '/') strcat(decoded, "/");
        strcat(decoded, "index.html");
        snprintf(full, sizeof full, "%s/%s", dir, decoded);
    }
    if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
    snprintf(rel, cap, "%s", decoded);
    return true;
}

/* ---- the scenario text ------------------------------------------------------------- */

struct totals {
    uint64_t lines, requests, malformed, unreplayable;
};

struct options {
    const char *log, *fixtures, *name, *out;
    enum log_format format;
    uint64_t top;
};

static void no_brackets(char *s)
{
    for (; *s; s++)
        if (*s == '[' || *s == ']') *s = '_';
}

/* A step name from "METHOD TARGET": no brackets, at most 63 bytes, unlike
 * the names before it (names[0 .. done)); "~N" ends it on a clash. */
static void step_name(char *name, const char *key, char names[][STEP_NAME_MAX + 1], size_t done)
{
    snprintf(name, STEP_NAME_MAX + 1, "%s", key);
    no_brackets(name);
    for (unsigned suffix = 2;; suffix++) {
        bool clash = false;
        for (size_t i = 0; i < done && !clash; i++)
            clash = strcmp(names[i], name) == 0;
        if (!clash) return;
        char tail[16];
        int keep = STEP_NAME_MAX - snprintf(tail, sizeof tail, "~%u", suffix);
        snprintf(name, STEP_NAME_MAX + 1, "%.*s%s", keep, key, tail);
        no_brackets(name);
    }
}

static void status_comment(FILE *f, const struct entry *e, uint64_t total)
{
    fprintf(f, "; %llu requests (%.1f %%), logged", (unsigned long long)e->count,
            100.0 * (double)e->count / (double)total);
    for (int i = 0; i < STATUS_SLOTS && e->status[i]; i++)
        fprintf(f, " %d x%llu", e->status[i], (unsigned long long)e->status_count[i]);
    if (e->other_status) fprintf(f, " other x%llu", (unsigned long long)e->other_status);
    bool conditional = false;
    for (int i = 0; i < STATUS_SLOTS; i++)
        conditional |= e->status[i] == 304 || e->status[i] == 206;
    fputs(conditional ? " (304/206 count as 200: the replay is unconditional)\n" : "\n", f);
}

static void write_step(FILE *f, const struct entry *e, const char *name, uint64_t weight,
                       const struct options *o, uint64_t total)
{
    const char *target = e->key + e->method_len + 1;
    int status = expected_status(e);
    char rel[LOG_TARGET_MAX + 16];
    bool file = status == 200 && strncmp(e->key, "GET ", 4) == 0 &&
                fixture_for(o->fixtures, target, strlen(target), rel, sizeof rel);
    fputc('\n', f);
    status_comment(f, e, total);
    fprintf(f, "[step %s]\nmethod = %.*s\npath = %s\nweight = %llu\nexpect_status = %d\n", name,
            (int)e->method_len, e->key, target, (unsigned long long)weight, status);
    if (file) fprintf(f, "expect = file\nexpect_body = %s\n", rel);
}

/* The scenario name: --name, else the log's base name up to its first '.',
 * reduced to [A-Za-z0-9_.-]. */
static void scenario_name(char *dst, size_t cap, const struct options *o)
{
    const char *base = o->name ? o->name : strrchr(o->log, '/') ? strrchr(o->log, '/') + 1 : o->log;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < cap && n < STEP_NAME_MAX; p++) {
        if (!o->name && *p == '.' && n) break;
        dst[n++] = isalnum((unsigned char)*p) || strchr("_.-", *p) ? *p : '-';
    }
    dst[n] = '\0';
    if (!n) snprintf(dst, cap, "access-log");
}

static int write_scenario(FILE *f, struct entry **sorted, size_t n, const struct totals *t,
                          const struct options *o)
{
    size_t steps = n < o->top ? n : (size_t)o->top;
    uint64_t covered = 0, max = steps ? sorted[0]->count : 1;
    for (size_t i = 0; i < steps; i++)
        covered += sorted[i]->count;
    char name[STEP_NAME_MAX + 1];
    scenario_name(name, sizeof name, o);
    fprintf(f, "; made by loadgen scenario-from-log from %s (%s format)\n",
            strrchr(o->log, '/') ? strrchr(o->log, '/') + 1 : o->log,
            o->format == LOG_COMBINED ? "combined" : "common");
    fprintf(f, "; %llu lines: %llu requests, %llu malformed, %llu not replayable\n",
            (unsigned long long)t->lines, (unsigned long long)t->requests,
            (unsigned long long)t->malformed, (unsigned long long)t->unreplayable);
    fprintf(f, "; %zu distinct (method, target); the top %zu cover %llu requests (%.1f %%)\n", n,
            steps, (unsigned long long)covered, 100.0 * (double)covered / (double)t->requests);
    fprintf(f, "[scenario]\nname = %s\nprotocol = http\n", name);
    char(*names)[STEP_NAME_MAX + 1] = calloc(steps ? steps : 1, sizeof *names);
    if (!names) return -1;
    for (size_t i = 0; i < steps; i++) {
        const struct entry *e = sorted[i];
        /* Weights are at most MAX_WEIGHT: scale down, never to 0. */
        uint64_t w =
            max <= MAX_WEIGHT ? e->count : (uint64_t)((double)e->count * MAX_WEIGHT / (double)max);
        step_name(names[i], e->key, names, i);
        write_step(f, e, names[i], w ? w : 1, o, t->requests);
    }
    free(names);
    return ferror(f) ? -1 : 0;
}

/* ---- reading the log ----------------------------------------------------------------- */

static int read_log(FILE *in, enum log_format fmt, struct table *tab, struct totals *t)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, in)) >= 0) {
        t->lines++;
        struct log_request r;
        enum log_line_kind k = memchr(line, '\0', (size_t)got)
                                   ? LOG_LINE_MALFORMED
                                   : accesslog_parse_line(line, fmt, &r);
        if (k == LOG_LINE_MALFORMED)
            t->malformed++;
        else if (k == LOG_LINE_UNREPLAYABLE)
            t->unreplayable++;
        else if (table_add(tab, &r) < 0)
            rc = -1;
        else
            t->requests++;
    }
    if (ferror(in)) rc = -1;
    free(line);
    return rc;
}

/* ---- the command line ------------------------------------------------------------------- */

static int usage(FILE *errout, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage(FILE *errout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen scenario-from-log: ", errout);
    vfprintf(errout, fmt, ap);
    fputs("\ntry 'loadgen scenario-from-log --help'\n", errout);
    va_end(ap);
    return EXIT_USAGE;
}

/* 0 parsed, 1 --help shown, EXIT_USAGE. */
static int parse_args(int argc, char **argv, struct options *o, FILE *out, FILE *errout)
{
    *o = (struct options){.format = LOG_COMBINED, .top = DEFAULT_TOP};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--top") || !strcmp(a, "--format") || !strcmp(a, "--fixtures") ||
                     !strcmp(a, "--name") || !strcmp(a, "--out");
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(SCENARIO_FROM_LOG_USAGE, out);
            return 1;
        }
        if (takes && (!v || !*v)) return usage(errout, "%s needs a value", a);
        if (!strcmp(a, "--top")) {
            if (units_count(v, 1, MAX_TOP, &o->top) < 0)
                return usage(errout, "--top '%s': expected 1..%d, %s", v, MAX_TOP, UNITS_COUNT);
        } else if (!strcmp(a, "--format")) {
            if (strcmp(v, "combined") && strcmp(v, "common"))
                return usage(errout, "--format '%s': unknown log format (combined or common)", v);
            o->format = strcmp(v, "common") == 0 ? LOG_COMMON : LOG_COMBINED;
        } else if (takes) {
            *(!strcmp(a, "--fixtures") ? &o->fixtures
              : !strcmp(a, "--name")   ? &o->name
                                       : &o->out) = v;
        } else if (a[0] == '-' && a[1]) {
            return usage(errout, "unknown option '%s'", a);
        } else if (o->log) {
            return usage(errout, "one access log at a time ('%s' and '%s')", o->log, a);
        } else {
            o->log = a;
        }
        i += takes;
    }
    if (!o->log) return usage(errout, "no access log given");
    struct stat sb;
    if (o->fixtures && (stat(o->fixtures, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return usage(errout, "--fixtures %s: not a directory", o->fixtures);
    return 0;
}

/* text to path through a temporary file and a rename. */
static int write_atomically(const char *path, const char *text, size_t len, FILE *errout)
{
    char err[1024];
    struct atomic_file out;
    int rc = atomic_open(&out, path, err, sizeof err);
    if (rc == 0) {
        fwrite(text, 1, len, out.f);
        rc = atomic_commit(&out, err, sizeof err);
    }
    if (rc < 0) fprintf(errout, "loadgen scenario-from-log: %s\n", err);
    return rc;
}

static void report(FILE *errout, const struct options *o, const struct totals *t)
{
    fprintf(errout,
            "loadgen scenario-from-log: %s: %llu lines, %llu requests, %llu malformed lines "
            "skipped, %llu requests not replayable (absolute-form, escaped bytes, targets over "
            "%d bytes)\n",
            o->log, (unsigned long long)t->lines, (unsigned long long)t->requests,
            (unsigned long long)t->malformed, (unsigned long long)t->unreplayable, LOG_TARGET_MAX);
}

static int convert(const struct options *o, FILE *out, FILE *errout)
{
    FILE *in = fopen(o->log, "r");
    if (!in) {
        fprintf(errout, "loadgen scenario-from-log: %s: %s\n", o->log, strerror(errno));
        return EXIT_USAGE;
    }
    struct table tab = {0};
    struct totals t = {0};
    int rc = read_log(in, o->format, &tab, &t);
    fclose(in);
    if (rc < 0) {
        fprintf(errout, "loadgen scenario-from-log: %s: read error or out of memory\n", o->log);
        table_free(&tab);
        return EXIT_USAGE;
    }
    report(errout, o, &t);
    if (t.requests == 0) {
        fprintf(errout,
                "loadgen scenario-from-log: %s: no valid %s-format line: not an access log in "
                "that format (see --format)\n",
                o->log, o->format == LOG_COMBINED ? "combined" : "common");
        table_free(&tab);
        return EXIT_USAGE;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    struct entry **sorted = table_sorted(&tab);
    rc = mem && sorted ? write_scenario(mem, sorted, tab.n, &t, o) : -1;
    if (mem && fclose(mem) != 0) rc = -1;
    if (rc == 0 && o->out)
        rc = write_atomically(o->out, text, len, errout);
    else if (rc == 0 && (fwrite(text, 1, len, out) != len || fflush(out) != 0))
        rc = -1;
    else if (rc < 0)
        fprintf(errout, "loadgen scenario-from-log: out of memory\n");
    free(text);
    free(sorted);
    table_free(&tab);
    return rc == 0 ? 0 : EXIT_USAGE;
}

int scenario_from_log_main(int argc, char **argv, FILE *out, FILE *errout)
{
    struct options o;
    int rc = parse_args(argc, argv, &o, out, errout);
    if (rc) return rc == 1 ? 0 : rc;
    return convert(&o, out, errout);
}
