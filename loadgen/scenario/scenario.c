/* scenario.c - scenario files: parse with libinih, then validate.
 *
 * Debian's libinih is built without INI_HANDLER_LINENO, so lines are counted
 * by our own reader (ini_parse_stream). The reader also:
 * - strips leading whitespace, so keys may be indented (inih would otherwise
 *   take an indented line for a multi-line continuation);
 * - opens sections itself at their header line, so a [step] with no keys
 *   still exists (inih only reports keys) and every step knows its line;
 * - rejects lines inih would mangle or reject (too long, NUL bytes, missing
 *   ']' or '='), so the first error is always ours, with its line.
 * The first error stops the parse (the reader then reports end of file).
 *
 * Numbers go through common/units.h, as on the command line: durations
 * ("5", "2.5s", "250ms", "2m"), counts ("10k"), rates ("2.5k", "1000/s"),
 * sizes ("64k", "1M"). A bad value is reported as
 * "FILE:LINE: key: bad value 'V' (expected syntax, range)". */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "http/reqheader.h"
#include "stepbody.h"
#include "values.h"
#include "units.h"

#define MAX_STEPS 1024
#define MAX_BODY_SIZE (1ULL << 30)
#define MAX_WEIGHT 1000000u

enum skey {
    SK_NAME,
    SK_PROTOCOL,
    SK_CONNECTIONS,
    SK_THREADS,
    SK_DURATION,
    SK_REQUESTS,
    SK_RATE,
    SK_KEEPALIVE,
    SK_TIMEOUT,
    SK_WARMUP,
    SK_USER,
    SK_PASSWORD,
    SK__COUNT
};
static const char *const skey_names[SK__COUNT] = {
    "name", "protocol",  "connections", "threads", "duration", "requests",
    "rate", "keepalive", "timeout",     "warmup",  "user",     "password",
};

enum tkey {
    TK_METHOD,
    TK_PATH,
    TK_BODY_SIZE,
    TK_WEIGHT,
    TK_EXPECT_STATUS,
    TK_EXPECT,
    TK_EXPECT_BODY,
    TK_EXPECT_LENGTH,
    TK_EXPECT_HASH,
    TK_EXPECT_NAMES,
    TK_HOST,
    TK_HEADER, /* repeatable */
    TK_EXPECT_SHA256,
    TK_BODY_FILE,
    TK__COUNT
};
static const char *const tkey_names[TK__COUNT] = {
    "method", "path",        "body_size",     "weight",      "expect_status",
    "expect", "expect_body", "expect_length", "expect_hash", "expect_names",
    "host",   "header",      "expect_sha256", "body_file",
};

/* Where each key of a section was set (0 = not set), for duplicates and messages. */
struct step_meta {
    int key_line[TK__COUNT];
};

enum section { SEC_NONE, SEC_SCENARIO, SEC_STEP };

struct pctx {
    struct lg_scenario *sc;
    FILE *f;
    int line; /* line of the text the reader returned last */
    bool failed;
    char *err;
    size_t errlen;
    enum section cur;
    int scenario_line; /* 0 = no [scenario] section */
    int skey_line[SK__COUNT];
    struct step_meta *meta; /* [cap], parallel to sc->steps */
    size_t cap;
};

static void fail_at(struct pctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_at(struct pctx *c, int line, const char *fmt, ...)
{
    if (c->failed) return;
    c->failed = true;
    int n = snprintf(c->err, c->errlen, "%s:%d: ", c->sc->file, line);
    if (n < 0 || (size_t)n >= c->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- values ---- */

/* A duration in seconds (common/units.h: "1.5", "250ms", "5s", "2m"), in
 * [lo, hi]; with positive, 0 is refused too. */
static int parse_seconds(const char *s, double lo, double hi, bool positive, double *out)
{
    double v;
    if (units_duration(s, lo, hi, &v) || (positive && v <= 0)) return -1;
    *out = v;
    return 0;
}

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
    return false;
}

/* Copy a string value into a fixed field; -1 if empty, too long or with control bytes. */
static int copy_str(struct pctx *c, char *dst, size_t cap, const char *key, const char *v)
{
    if (!*v) {
        fail_at(c, c->line, "%s: empty value", key);
        return -1;
    }
    if (strlen(v) >= cap) {
        fail_at(c, c->line, "%s: too long (at most %zu characters)", key, cap - 1);
        return -1;
    }
    if (has_ctl(v)) {
        fail_at(c, c->line, "%s: control characters are not allowed", key);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int find_key(const char *const *names, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], key) == 0) return i;
    return -1;
}

/* ---- [scenario] keys ---- */

static int bad_value(struct pctx *c, const char *key, const char *v, const char *want)
{
    fail_at(c, c->line, "%s: bad value '%s' (%s)", key, v, want);
    return -1;
}

static int set_protocol(struct pctx *c, const char *v)
{
    if (strcmp(v, "http") == 0)
        c->sc->proto = LG_PROTO_HTTP;
    else if (strcmp(v, "ftp") == 0)
        c->sc->proto = LG_PROTO_FTP;
    else if (strcmp(v, "echo") == 0)
        c->sc->proto = LG_PROTO_ECHO;
    else
        return bad_value(c, "protocol", v, "http, ftp or echo");
    return 0;
}

static int scenario_key(struct pctx *c, enum skey k, const char *v)
{
    struct lg_scenario *sc = c->sc;
    uint64_t u;
    switch (k) {
    case SK_NAME:
        return copy_str(c, sc->name, sizeof sc->name, "name", v);
    case SK_PROTOCOL:
        return set_protocol(c, v);
    case SK_CONNECTIONS:
        if (units_count(v, 1, 100000, &u))
            return bad_value(c, "connections", v, UNITS_COUNT ", in 1..100000");
        sc->connections = (unsigned)u;
        return 0;
    case SK_THREADS:
        if (units_count(v, 1, 1024, &u))
            return bad_value(c, "threads", v, UNITS_COUNT ", in 1..1024");
        sc->threads = (unsigned)u;
        return 0;
    case SK_DURATION:
        if (parse_seconds(v, 0, 1e7, true, &sc->duration_s))
            return bad_value(c, "duration", v, UNITS_DURATION ", > 0");
        return 0;
    case SK_REQUESTS:
        if (units_count(v, 1, UINT64_MAX / 2, &sc->requests))
            return bad_value(c, "requests", v, UNITS_COUNT ", >= 1");
        return 0;
    case SK_RATE:
        if (units_rate(v, 0, 1e9, &sc->rate))
            return bad_value(c, "rate", v, UNITS_RATE ", >= 0 (0 = closed loop)");
        return 0;
    case SK_KEEPALIVE:
        if (value_bool(v, &sc->keepalive)) return bad_value(c, "keepalive", v, "yes or no");
        return 0;
    case SK_TIMEOUT:
        if (parse_seconds(v, 0, 1e6, true, &sc->timeout_s))
            return bad_value(c, "timeout", v, UNITS_DURATION ", > 0");
        return 0;
    case SK_WARMUP:
        if (parse_seconds(v, 0, 1e6, false, &sc->warmup_s))
            return bad_value(c, "warmup", v, UNITS_DURATION ", >= 0");
        return 0;
    case SK_USER:
        return copy_str(c, sc->user, sizeof sc->user, "user", v);
    case SK_PASSWORD:
        return copy_str(c, sc->password, sizeof sc->password, "password", v);
    case SK__COUNT:
        break;
    }
    return -1;
}

/* ---- [step NAME] keys ---- */

static int set_expect(struct pctx *c, struct lg_step *st, const char *v)
{
    static const char *const names[] = {"none",    "file", "hash", "time",
                                        "listing", "echo", "same", "sha256"};
    static const enum lg_expect vals[] = {LG_EXPECT_NONE, LG_EXPECT_FILE,    LG_EXPECT_HASH,
                                          LG_EXPECT_TIME, LG_EXPECT_LISTING, LG_EXPECT_ECHO,
                                          LG_EXPECT_SAME, LG_EXPECT_SHA256};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(v, names[i]) == 0) {
            st->expect = vals[i];
            return 0;
        }
    }
    return bad_value(c, "expect", v, "none, file, hash, time, listing, echo, same or sha256");
}

/* host, header (reqheader.h checks them). */
static int header_key(struct pctx *c, struct lg_step *st, enum tkey k, const char *v)
{
    char why[300];
    int rc = k == TK_HOST ? reqheader_set_host(st, v, why, sizeof why)
                          : reqheader_add(st, v, why, sizeof why);
    if (rc < 0) fail_at(c, c->line, "%s: %s", tkey_names[k], why);
    return rc;
}

static int step_key(struct pctx *c, struct lg_step *st, enum tkey k, const char *v)
{
    uint64_t u;
    switch (k) {
    case TK_METHOD:
        return copy_str(c, st->method, sizeof st->method, "method", v);
    case TK_PATH:
        return copy_str(c, st->path, sizeof st->path, "path", v);
    case TK_BODY_SIZE:
        if (units_size(v, 0, MAX_BODY_SIZE, &st->body_size))
            return bad_value(c, "body_size", v, UNITS_SIZE ", in 0..1G");
        return 0;
    case TK_WEIGHT:
        if (units_count(v, 1, MAX_WEIGHT, &u))
            return bad_value(c, "weight", v, UNITS_COUNT ", in 1..1000000");
        st->weight = (unsigned)u;
        return 0;
    case TK_EXPECT_STATUS:
        if (strcasecmp(v, "2xx") == 0) /* any 2xx, HTTP too: -2 until check_body_and_status */
            return st->expect_status = -2, 0;
        if (value_u64(v, 0, 599, &u) || (u != 0 && u < 100))
            return bad_value(c, "expect_status", v, "0 or 100..599");
        st->expect_status = (int)u;
        return 0;
    case TK_EXPECT:
        return set_expect(c, st, v);
    case TK_EXPECT_BODY:
        return copy_str(c, st->expect_body, sizeof st->expect_body, "expect_body", v);
    case TK_EXPECT_LENGTH:
        if (value_u64(v, 0, INT64_MAX, &u)) return bad_value(c, "expect_length", v, "bytes >= 0");
        st->expect_length = (int64_t)u;
        return 0;
    case TK_EXPECT_HASH:
        if (value_hex64(v, &st->expect_hash))
            return bad_value(c, "expect_hash", v, "XXH64 as 1-16 hex digits");
        return 0;
    case TK_EXPECT_NAMES:
        return copy_str(c, st->expect_names, sizeof st->expect_names, "expect_names", v);
    case TK_HOST:
    case TK_HEADER:
        return header_key(c, st, k, v);
    case TK_EXPECT_SHA256:
        if (value_sha256(v, st->expect_sha256))
            return bad_value(c, "expect_sha256", v, "SHA-256 as 64 hex digits");
        return 0;
    case TK_BODY_FILE:
        return copy_str(c, st->body_file, sizeof st->body_file, "body_file", v);
    case TK__COUNT:
        break;
    }
    return -1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    (void)section; /* ours is c->cur: inih truncates long section names */
    struct pctx *c = user;
    if (c->failed) return 0;
    if (c->cur == SEC_NONE) {
        fail_at(c, c->line, "'%s' outside a section ([scenario] or [step NAME])", key);
        return 0;
    }
    int *lines;
    int k;
    if (c->cur == SEC_SCENARIO) {
        k = find_key(skey_names, SK__COUNT, key);
        lines = c->skey_line;
    } else {
        k = find_key(tkey_names, TK__COUNT, key);
        lines = c->meta[c->sc->nsteps - 1].key_line;
    }
    if (k < 0) {
        fail_at(c, c->line, "unknown key '%s' in [%s]", key,
                c->cur == SEC_SCENARIO ? "scenario" : "step");
        return 0;
    }
    if (lines[k] && !(c->cur == SEC_STEP && k == TK_HEADER)) {
        fail_at(c, c->line, "duplicate key '%s' (first set on line %d)", key, lines[k]);
        return 0;
    }
    if (!lines[k]) lines[k] = c->line; /* a repeated header: its first line */
    if (c->cur == SEC_SCENARIO) {
        if ((k == SK_DURATION && c->skey_line[SK_REQUESTS]) ||
            (k == SK_REQUESTS && c->skey_line[SK_DURATION])) {
            fail_at(c, c->line, "duration and requests are exclusive: set one of them");
            return 0;
        }
        return scenario_key(c, (enum skey)k, value) == 0;
    }
    return step_key(c, &c->sc->steps[c->sc->nsteps - 1], (enum tkey)k, value) == 0;
}

/* ---- sections, opened by the reader ---- */

static int open_step(struct pctx *c, const char *name)
{
    struct lg_scenario *sc = c->sc;
    if (!*name) {
        fail_at(c, c->line, "step without a name: use [step NAME]");
        return -1;
    }
    if (strlen(name) >= LG_NAME_MAX || has_ctl(name)) {
        fail_at(c, c->line, "bad step name (at most %d printable characters)", LG_NAME_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < sc->nsteps; i++) {
        if (strcmp(sc->steps[i].name, name) == 0) {
            fail_at(c, c->line, "duplicate step '%s' (first on line %d)", name, sc->steps[i].line);
            return -1;
        }
    }
    if (sc->nsteps == MAX_STEPS) {
        fail_at(c, c->line, "too many steps (at most %d)", MAX_STEPS);
        return -1;
    }
    if (sc->nsteps == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        struct lg_step *steps = realloc(sc->steps, cap * sizeof *steps);
        if (steps) sc->steps = steps;
        struct step_meta *meta = realloc(c->meta, cap * sizeof *meta);
        if (meta) c->meta = meta;
        if (!steps || !meta) {
            fail_at(c, c->line, "out of memory");
            return -1;
        }
        c->cap = cap;
    }
    struct lg_step *st = &sc->steps[sc->nsteps];
    *st = (struct lg_step){
        .expect = LG_EXPECT_NONE, .expect_length = -1, .line = c->line, .expect_status = -1};
    memcpy(st->name, name, strlen(name) + 1);
    c->meta[sc->nsteps] = (struct step_meta){{0}};
    sc->nsteps++;
    c->cur = SEC_STEP;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A section header line "[...]" (already left-trimmed). */
static int open_section(struct pctx *c, const char *line)
{
    const char *close = strchr(line, ']');
    if (!close) {
        fail_at(c, c->line, "section header without ']'");
        return -1;
    }
    char buf[256];
    size_t n = (size_t)(close - line - 1);
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, line + 1, n);
    buf[n] = '\0';
    char *name = trim(buf);
    if (strcmp(name, "scenario") == 0) {
        if (c->scenario_line) {
            fail_at(c, c->line, "duplicate [scenario] section (first on line %d)",
                    c->scenario_line);
            return -1;
        }
        c->scenario_line = c->line;
        c->cur = SEC_SCENARIO;
        return 0;
    }
    if (strncmp(name, "step", 4) == 0 && (name[4] == '\0' || isspace((unsigned char)name[4])))
        return open_step(c, trim(name + 4));
    fail_at(c, c->line, "unknown section [%s] (expected [scenario] or [step NAME])", name);
    return -1;
}

/* ini_reader: one line per call, counted; see the top of the file. */
static char *reader(char *str, int num, void *stream)
{
    struct pctx *c = stream;
    if (c->failed || num < 4) return NULL;
    size_t n = 0, max = (size_t)num - 2; /* room for '\n' and '\0' */
    int ch;
    bool any = false;
    while ((ch = getc(c->f)) != EOF) {
        any = true;
        if (ch == '\n') break;
        if (ch == '\0') {
            fail_at(c, c->line + 1, "NUL byte in line");
            return NULL;
        }
        if (n == max) {
            fail_at(c, c->line + 1, "line too long (at most %zu characters)", max);
            return NULL;
        }
        str[n++] = (char)ch;
    }
    if (!any) return NULL;
    c->line++;
    str[n] = '\0';
    char *s = str;
    if (c->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;
    s = trim(s);
    memmove(str, s, strlen(s) + 1);
    if (str[0] == '[') {
        if (open_section(c, str)) return NULL;
    } else if (str[0] && str[0] != ';' && str[0] != '#' && !strpbrk(str, "=:")) {
        fail_at(c, c->line, "expected 'key = value', a [section] or a comment");
        return NULL;
    }
    n = strlen(str);
    str[n] = '\n';
    str[n + 1] = '\0';
    return str;
}

/* ---- validation after the parse ---- */

static bool is_token(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s)) return false;
    return true;
}

static void upcase(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0) return true;
    return false;
}

static int line_of(const struct lg_step *st, const struct step_meta *m, enum tkey k)
{
    return m->key_line[k] ? m->key_line[k] : st->line;
}

static int check_method(struct pctx *c, struct lg_step *st, const struct step_meta *m)
{
    static const char *const ftp[] = {"RETR", "STOR", "LIST", "NLST",
                                      "SIZE", "MDTM", "DELE", "MKD"};
    enum lg_proto p = c->sc->proto;
    if (!m->key_line[TK_METHOD])
        strcpy(st->method, p == LG_PROTO_HTTP ? "GET" : p == LG_PROTO_FTP ? "RETR" : "LINE");
    int line = line_of(st, m, TK_METHOD);
    if (p == LG_PROTO_HTTP && !is_token(st->method)) {
        fail_at(c, line, "method '%s' is not an HTTP token", st->method);
        return -1;
    }
    if (p != LG_PROTO_HTTP) upcase(st->method);
    if (p == LG_PROTO_FTP && !in_list(st->method, ftp, sizeof ftp / sizeof ftp[0])) {
        fail_at(c, line, "FTP method '%s' not supported (RETR STOR LIST NLST SIZE MDTM DELE MKD)",
                st->method);
        return -1;
    }
    if (p == LG_PROTO_ECHO && strcmp(st->method, "LINE") != 0) {
        fail_at(c, line, "echo method must be LINE, not '%s'", st->method);
        return -1;
    }
    return 0;
}

static int check_path(struct pctx *c, const struct lg_step *st, const struct step_meta *m)
{
    enum lg_proto p = c->sc->proto;
    if (p == LG_PROTO_ECHO) {
        if (m->key_line[TK_PATH]) {
            fail_at(c, m->key_line[TK_PATH], "echo steps take no path");
            return -1;
        }
        return 0;
    }
    if (!m->key_line[TK_PATH]) {
        fail_at(c, st->line, "step '%s': path is required", st->name);
        return -1;
    }
    if (p == LG_PROTO_HTTP && (st->path[0] != '/' || strchr(st->path, ' '))) {
        fail_at(c, m->key_line[TK_PATH], "HTTP path must start with '/' and contain no spaces");
        return -1;
    }
    return 0;
}

static int check_body_and_status(struct pctx *c, struct lg_step *st, const struct step_meta *m)
{
    enum lg_proto p = c->sc->proto;
    if (m->key_line[TK_BODY_SIZE] && p == LG_PROTO_FTP && strcmp(st->method, "STOR") != 0 &&
        !(strcmp(st->method, "RETR") == 0 && st->expect == LG_EXPECT_ECHO)) {
        fail_at(c, m->key_line[TK_BODY_SIZE],
                "body_size is only used by STOR (and RETR with expect = echo)");
        return -1;
    }
    if (p == LG_PROTO_ECHO && m->key_line[TK_EXPECT_STATUS]) {
        fail_at(c, m->key_line[TK_EXPECT_STATUS], "echo answers have no status");
        return -1;
    }
    if (p == LG_PROTO_HTTP && m->key_line[TK_EXPECT_STATUS] && st->expect_status == 0) {
        fail_at(c, m->key_line[TK_EXPECT_STATUS], "HTTP expect_status must be 100..599");
        return -1;
    }
    if (!m->key_line[TK_EXPECT_STATUS]) st->expect_status = p == LG_PROTO_HTTP ? 200 : 0;
    if (st->expect_status == -2) st->expect_status = 0; /* 2xx */
    if (m->key_line[TK_BODY_FILE] && (m->key_line[TK_BODY_SIZE] || p == LG_PROTO_ECHO ||
                                      (p == LG_PROTO_FTP && strcmp(st->method, "STOR") != 0))) {
        fail_at(c, m->key_line[TK_BODY_FILE], "body_file is for HTTP and STOR, without body_size");
        return -1;
    }
    char why[LG_PATH_MAX + 64];
    if (st->body_file[0] && stepbody_load(st, st->body_file, c->sc->file, why, sizeof why) < 0) {
        fail_at(c, m->key_line[TK_BODY_FILE], "body_file: %s", why);
        return -1;
    }
    return 0;
}

/* The keys that belong to one expect kind, refused with any other. */
static int check_expect_keys(struct pctx *c, const struct lg_step *st, const struct step_meta *m)
{
    static const struct {
        enum tkey key;
        enum lg_expect kind;
        const char *needs;
    } own[] = {
        {TK_EXPECT_BODY, LG_EXPECT_FILE, "file"},
        {TK_EXPECT_LENGTH, LG_EXPECT_HASH, "hash"},
        {TK_EXPECT_HASH, LG_EXPECT_HASH, "hash"},
        {TK_EXPECT_NAMES, LG_EXPECT_LISTING, "listing"},
        {TK_EXPECT_SHA256, LG_EXPECT_SHA256, "sha256"},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        bool set = m->key_line[own[i].key] != 0;
        if (set && st->expect != own[i].kind) {
            fail_at(c, m->key_line[own[i].key], "%s is only used with expect = %s",
                    tkey_names[own[i].key], own[i].needs);
            return -1;
        }
        if (!set && st->expect == own[i].kind) {
            fail_at(c, line_of(st, m, TK_EXPECT), "expect = %s requires %s", own[i].needs,
                    tkey_names[own[i].key]);
            return -1;
        }
    }
    return 0;
}

/* Which expect kinds make sense for this protocol and method. */
static int check_expect_fits(struct pctx *c, const struct lg_step *st, const struct step_meta *m)
{
    enum lg_proto p = c->sc->proto;
    const char *meth = st->method;
    const char *why = NULL;
    bool body_expect = st->expect != LG_EXPECT_NONE && st->expect != LG_EXPECT_LISTING;
    bool learnt = st->expect == LG_EXPECT_SAME || st->expect == LG_EXPECT_SHA256; /* a LIST too */
    bool ftp_list = strcmp(meth, "LIST") == 0 || strcmp(meth, "NLST") == 0;
    if (p == LG_PROTO_HTTP && strcmp(meth, "HEAD") == 0 && body_expect)
        why = "HEAD answers have no body: use expect = none";
    else if (st->expect == LG_EXPECT_TIME && p != LG_PROTO_HTTP)
        why = "expect = time is for HTTP (/time)";
    else if (st->expect == LG_EXPECT_LISTING &&
             !(p == LG_PROTO_FTP && (strcmp(meth, "LIST") == 0 || strcmp(meth, "NLST") == 0)))
        why = "expect = listing is for FTP LIST and NLST";
    else if (p == LG_PROTO_FTP && body_expect && strcmp(meth, "RETR") != 0 &&
             !(learnt && ftp_list) && !(strcmp(meth, "STOR") == 0 && st->expect == LG_EXPECT_ECHO))
        why = strcmp(meth, "STOR") == 0
                  ? "an upload is checked with expect = echo (read back and compared)"
                  : "FTP body checks are for RETR (and expect = echo for STOR)";
    else if (p == LG_PROTO_ECHO && st->expect != LG_EXPECT_NONE && st->expect != LG_EXPECT_ECHO)
        why = "echo steps take expect = echo or none";
    if (why) {
        fail_at(c, line_of(st, m, TK_EXPECT), "%s", why);
        return -1;
    }
    return 0;
}

static int check_headers(struct pctx *c, const struct step_meta *m)
{
    if (c->sc->proto == LG_PROTO_HTTP) return 0;
    for (enum tkey k = TK_HOST; k <= TK_HEADER; k++)
        if (m->key_line[k]) {
            fail_at(c, m->key_line[k], "%s is for HTTP steps", tkey_names[k]);
            return -1;
        }
    return 0;
}

static int check_step(struct pctx *c, struct lg_step *st, const struct step_meta *m)
{
    if (check_method(c, st, m) || check_path(c, st, m) || check_expect_keys(c, st, m) ||
        check_expect_fits(c, st, m) || check_body_and_status(c, st, m) || check_headers(c, m))
        return -1;
    return 0;
}

static int check_weights(struct pctx *c)
{
    struct lg_scenario *sc = c->sc;
    size_t with = 0;
    for (size_t i = 0; i < sc->nsteps; i++)
        with += sc->steps[i].weight > 0;
    sc->weighted = with == sc->nsteps;
    if (with == 0 || with == sc->nsteps) return 0;
    for (size_t i = 0; i < sc->nsteps; i++) {
        if (sc->steps[i].weight == 0) {
            fail_at(c, sc->steps[i].line,
                    "step '%s' has no weight but others do: give every step a weight, or none",
                    sc->steps[i].name);
            return -1;
        }
    }
    return 0;
}

static int validate(struct pctx *c)
{
    struct lg_scenario *sc = c->sc;
    if (!c->scenario_line) {
        fail_at(c, 1, "no [scenario] section");
        return -1;
    }
    if (!c->skey_line[SK_PROTOCOL]) {
        fail_at(c, c->scenario_line, "protocol is required (http, ftp or echo)");
        return -1;
    }
    if (sc->nsteps == 0) {
        fail_at(c, c->scenario_line, "no steps: add at least one [step NAME] section");
        return -1;
    }
    for (size_t i = 0; i < sc->nsteps; i++)
        if (check_step(c, &sc->steps[i], &c->meta[i])) return -1;
    return check_weights(c);
}

/* Name defaults to the file's base name without ".ini". */
static void default_names(struct lg_scenario *sc, const struct pctx *c)
{
    if (!c->skey_line[SK_NAME]) {
        const char *base = strrchr(sc->file, '/');
        base = base ? base + 1 : sc->file;
        size_t n = strcspn(base, ".");
        if (n >= sizeof sc->name) n = sizeof sc->name - 1;
        memcpy(sc->name, base, n);
        sc->name[n] = '\0';
        if (!n) strcpy(sc->name, "scenario");
    }
    if (!c->skey_line[SK_USER]) strcpy(sc->user, "anonymous");
    if (!c->skey_line[SK_PASSWORD]) strcpy(sc->password, "anonymous@");
}

static FILE *open_regular(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    return f;
}

int scenario_load(const char *path, struct lg_scenario *out, char *err, size_t errlen)
{
    *out = (struct lg_scenario){.keepalive = true};
    if (strlen(path) >= sizeof out->file) {
        snprintf(err, errlen, "scenario path too long");
        return -1;
    }
    strcpy(out->file, path);
    FILE *f = open_regular(path, err, errlen);
    if (!f) return -1;
    struct pctx c = {.sc = out, .f = f, .err = err, .errlen = errlen};
    int rc = ini_parse_stream(reader, &c, handler, &c);
    if (!c.failed && ferror(f)) fail_at(&c, c.line, "read error");
    if (!c.failed && rc > 0) fail_at(&c, rc, "syntax error");
    if (!c.failed && rc < 0) fail_at(&c, c.line, "parser error %d", rc);
    fclose(f);
    if (!c.failed) validate(&c);
    free(c.meta);
    if (c.failed) {
        scenario_free(out);
        return -1;
    }
    default_names(out, &c);
    return 0;
}

void scenario_free(struct lg_scenario *sc)
{
    for (size_t i = 0; sc->steps && i < sc->nsteps; i++)
        stepbody_free(&sc->steps[i]);
    free(sc->steps);
    sc->steps = NULL;
    sc->nsteps = 0;
}
