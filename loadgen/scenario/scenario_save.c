/* scenario_save.c - a scenario written out as a scenario file (see
 * scenario_save.h). */
#include "scenario_save.h"

#include <inttypes.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reqheader.h"
#include "os/atomicfile.h"

/* The longest line scenario.c's reader takes (it keeps room for "\n\0"). */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)

struct out {
    FILE *f;
    char *err;
    size_t errlen;
    bool failed;
};

/* One line, when it is one scenario_load reads back as written. */
static void line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(struct out *o, const char *fmt, ...)
{
    char buf[LG_PATH_MAX + LG_HEADERS_BYTES + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (o->failed) return;
    if (n < 0 || n > LINE_MAX_CHARS) {
        o->failed = true;
        snprintf(o->err, o->errlen,
                 "'%.60s...' is longer than a scenario file's line (%d characters)", buf,
                 LINE_MAX_CHARS);
        return;
    }
    fprintf(o->f, "%s\n", buf);
}

/* key = value, when the parser reads value back as it is: not empty, no
 * blanks around it (trimmed), no inline comment (" ;"). */
static void kv(struct out *o, const char *key, const char *value)
{
    size_t n = strlen(value);
    const char *semi = strchr(value, ';');
    bool comment = false;
    for (; semi; semi = strchr(semi + 1, ';'))
        comment |= semi > value && (semi[-1] == ' ' || semi[-1] == '\t');
    if (!o->failed && (n == 0 || value[0] == ' ' || value[0] == '\t' || value[n - 1] == ' ' ||
                       value[n - 1] == '\t' || comment)) {
        o->failed = true;
        snprintf(o->err, o->errlen, "%s '%.80s' cannot be written to a scenario file (%s)", key,
                 value, comment ? "' ;' starts a comment there" : "empty, or blanks around it");
        return;
    }
    line(o, "%s = %s", key, value);
}

/* A number as the shortest text that reads back as the same double. */
static void num(struct out *o, const char *key, double v)
{
    char buf[40];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    line(o, "%s = %s", key, buf);
}

static void scenario_section(struct out *o, const struct lg_scenario *sc)
{
    static const char *const protos[] = {"http", "ftp", "echo"};
    line(o, "[scenario]");
    if (sc->name[0]) kv(o, "name", sc->name);
    kv(o, "protocol", protos[sc->proto]);
    if (sc->threads) line(o, "threads = %u", sc->threads);
    if (sc->connections) line(o, "connections = %u", sc->connections);
    if (sc->duration_s > 0) num(o, "duration", sc->duration_s);
    if (sc->requests) line(o, "requests = %" PRIu64, sc->requests);
    if (sc->rate > 0) num(o, "rate", sc->rate);
    if (!sc->keepalive) line(o, "keepalive = no");
    if (sc->timeout_s > 0) num(o, "timeout", sc->timeout_s);
    if (sc->warmup_s > 0) num(o, "warmup", sc->warmup_s);
    if (sc->proto == LG_PROTO_FTP && sc->user[0]) kv(o, "user", sc->user);
    if (sc->proto == LG_PROTO_FTP && sc->password[0]) kv(o, "password", sc->password);
}

static void expect_keys(struct out *o, const struct lg_step *st)
{
    static const char *const kinds[] = {"none",    "file", "hash", "time",
                                        "listing", "echo", "same", "sha256"};
    if (st->expect != LG_EXPECT_NONE) kv(o, "expect", kinds[st->expect]);
    switch (st->expect) {
    case LG_EXPECT_FILE:
        kv(o, "expect_body", st->expect_body);
        break;
    case LG_EXPECT_HASH:
        line(o, "expect_length = %" PRId64, st->expect_length);
        line(o, "expect_hash = %016" PRIx64, st->expect_hash);
        break;
    case LG_EXPECT_LISTING:
        kv(o, "expect_names", st->expect_names);
        break;
    case LG_EXPECT_SHA256: {
        char hex[65];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", st->expect_sha256[i]);
        kv(o, "expect_sha256", hex);
        break;
    }
    default:
        break;
    }
}

static void step_section(struct out *o, const struct lg_scenario *sc, const struct lg_step *st)
{
    line(o, "%s", "");
    line(o, "[step %s]", st->name);
    kv(o, "method", st->method);
    if (sc->proto != LG_PROTO_ECHO) kv(o, "path", st->path);
    if (st->host[0]) kv(o, "host", st->host);
    for (const char *h = reqheader_first(st); h; h = reqheader_next(st, h))
        kv(o, "header", h);
    if (st->body && !st->body_file[0] && !o->failed) {
        o->failed = true;
        snprintf(o->err, o->errlen,
                 "a body read from standard input cannot be saved: give --body FILE");
    }
    if (st->body_file[0])
        kv(o, "body_file", st->body_file);
    else if (st->body_size)
        line(o, "body_size = %" PRIu64, st->body_size);
    if (sc->weighted) line(o, "weight = %u", st->weight);
    if (sc->proto != LG_PROTO_ECHO && st->expect_status == 0 && sc->proto == LG_PROTO_HTTP)
        line(o, "expect_status = 2xx");
    else if (sc->proto != LG_PROTO_ECHO && st->expect_status > 0)
        line(o, "expect_status = %d", st->expect_status);
    expect_keys(o, st);
}

int scenario_save(const struct lg_scenario *sc, const char *path, const char *comment, char *err,
                  size_t errlen)
{
    struct atomic_file a;
    if (atomic_open(&a, path, err, errlen) < 0) return -1;
    struct out o = {.f = a.f, .err = err, .errlen = errlen};
    for (const char *c = comment; c && *c;) {
        size_t n = strcspn(c, "\n");
        line(&o, "; %.*s", (int)n, c);
        c += n + (c[n] == '\n');
    }
    scenario_section(&o, sc);
    for (size_t i = 0; i < sc->nsteps; i++)
        step_section(&o, sc, &sc->steps[i]);
    if (o.failed) {
        atomic_abort(&a);
        return -1;
    }
    return atomic_commit(&a, err, errlen);
}
