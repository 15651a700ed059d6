/* bench.c - the model x scenario matrix: start the server, run, record, stop.
 *
 * Reads top to bottom as the bench does its work:
 *   1. options, the model list (SERVER --list-models), the scenario files;
 *   2. child processes and 3. the server's resources, from /proc, over its
 *      whole process group: child.c;
 *   4. one (model, scenario) run: start, wait for "listening on", the run
 *      (main.c's code, through hooks->run), stop, check, record;
 *   5. the ranked tables and the CSV files.
 * See bench.h and results/README.md. */
#define _XOPEN_SOURCE 700 /* nftw() and its flags */
#include "bench.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "child.h"
#include "fixtures.h"
#include "scenario.h"

#define EXIT_USAGE 2
#define MAX_NAMES 256

static const char BENCH_USAGE[] =
    "usage: loadgen bench --server PATH/refserver [options]\n"
    "\n"
    "For every model and every scenario whose protocol the server speaks: start\n"
    "the server on an ephemeral loopback port, wait for its 'listening on' line,\n"
    "run the scenario (verify pass, then the timed run, as 'loadgen run' does),\n"
    "record the server's CPU and peak RSS, stop it with SIGTERM, check that it\n"
    "exited 0 with no process left, write CSV rows, print a ranked table.\n"
    "\n"
    "  --server PATH          the refserver binary (required)\n"
    "  --models a,b,...|all   models to run (default all: SERVER --list-models)\n"
    "  --scenarios F.ini,...|DIR  scenario files, or every *.ini of DIR\n"
    "                         (default ./scenarios)\n"
    "  --fixtures DIR         an existing fixture tree (default: a temporary one,\n"
    "                         made with 'loadgen fixtures' and removed after)\n"
    "  --duration SECONDS     measured time per run (default 5)\n"
    "  --connections N        override the scenarios' connections\n"
    "  --threads N            override the scenarios' threads\n"
    "  --repeat N             runs per (model, scenario), each recorded; the table\n"
    "                         shows medians (default 1)\n"
    "  --csv FILE             append the rows to FILE (instead of --out-dir)\n"
    "  --out-dir DIR          append to DIR/YYYY-MM-DD-REV.csv and replace\n"
    "                         DIR/latest.csv with this bench's rows (default results)\n"
    "  --label-suffix X       the CSV's model column is MODEL + X\n"
    "  --server-arg ARG       one more argument for the server (repeatable)\n"
    "  --ready-timeout S      wait for the readiness line (default 10)\n"
    "  --stop-timeout S       wait for the exit after SIGTERM (default 10)\n"
    "\n"
    "A model that fails to start, crashes, hangs or fails its verify pass is\n"
    "recorded as a failed row (requests 0, errors >= 1) and the bench goes on.\n"
    "Exit status: 0 every run clean, 1 any failure, error or check failure,\n"
    "2 usage error.\n";

/* ---- 1. options ------------------------------------------------------- */

struct bench_opts {
    const char *server;
    const char *models;    /* NULL = all */
    const char *scenarios; /* NULL = ./scenarios */
    const char *fixtures;
    const char *csv;
    const char *out_dir;
    const char *label_suffix;
    const char *server_args[64];
    size_t nserver_args;
    double duration, ready_timeout, stop_timeout;
    unsigned connections, threads, repeat;
};

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\ntry 'loadgen bench --help'\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    if (!s || !isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = (unsigned)v;
    return 0;
}

/* Seconds in (0, max]: "2", "1.5", "3s", "500ms". */
static int parse_secs(const char *s, double max, double *out)
{
    if (!s || !(isdigit((unsigned char)*s) || *s == '.')) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s) return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    if (!isfinite(v) || v <= 0 || v > max) return -1;
    *out = v;
    return 0;
}

static int set_opt(struct bench_opts *o, const char *name, const char *val)
{
    if (!*val && strcmp(name, "--label-suffix") != 0 && strcmp(name, "--server-arg") != 0)
        return usage("%s: empty value", name);
    if (strcmp(name, "--server") == 0)
        o->server = val;
    else if (strcmp(name, "--models") == 0)
        o->models = val;
    else if (strcmp(name, "--scenarios") == 0)
        o->scenarios = val;
    else if (strcmp(name, "--fixtures") == 0)
        o->fixtures = val;
    else if (strcmp(name, "--csv") == 0)
        o->csv = val;
    else if (strcmp(name, "--out-dir") == 0)
        o->out_dir = val;
    else if (strcmp(name, "--label-suffix") == 0)
        o->label_suffix = val;
    else if (strcmp(name, "--server-arg") == 0) {
        if (o->nserver_args == sizeof o->server_args / sizeof o->server_args[0])
            return usage("too many --server-arg");
        o->server_args[o->nserver_args++] = val;
    } else if (strcmp(name, "--duration") == 0) {
        if (parse_secs(val, 86400, &o->duration) < 0)
            return usage("--duration: '%s' is not a number of seconds in (0, 86400]", val);
    } else if (strcmp(name, "--ready-timeout") == 0) {
        if (parse_secs(val, 3600, &o->ready_timeout) < 0)
            return usage("--ready-timeout: '%s' is not a number of seconds in (0, 3600]", val);
    } else if (strcmp(name, "--stop-timeout") == 0) {
        if (parse_secs(val, 3600, &o->stop_timeout) < 0)
            return usage("--stop-timeout: '%s' is not a number of seconds in (0, 3600]", val);
    } else if (strcmp(name, "--connections") == 0) {
        if (parse_uint(val, 1, 100000, &o->connections) < 0)
            return usage("--connections: '%s' is not an integer in 1..100000", val);
    } else if (strcmp(name, "--threads") == 0) {
        if (parse_uint(val, 1, 1024, &o->threads) < 0)
            return usage("--threads: '%s' is not an integer in 1..1024", val);
    } else if (strcmp(name, "--repeat") == 0) {
        if (parse_uint(val, 1, 1000, &o->repeat) < 0)
            return usage("--repeat: '%s' is not an integer in 1..1000", val);
    } else {
        return usage("unknown option '%s'", name);
    }
    return 0;
}

/* 0, 1 after --help, or EXIT_USAGE after a message. */
static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
    *o = (struct bench_opts){.duration = 5,
                             .ready_timeout = 10,
                             .stop_timeout = 10,
                             .repeat = 1,
                             .out_dir = "results",
                             .label_suffix = ""};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(BENCH_USAGE, stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return usage("unexpected argument '%s'", arg);
        char name[32];
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nl >= sizeof name) return usage("unknown option '%s'", arg);
        memcpy(name, arg, nl);
        name[nl] = '\0';
        const char *val;
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage("%s needs a value", name);
        int rc = set_opt(o, name, val);
        if (rc) return rc;
    }
    if (!o->server) return usage("missing --server PATH/refserver");
    if (access(o->server, X_OK) != 0) return usage("--server %s: %s", o->server, strerror(errno));
    struct stat sb;
    if (o->fixtures && (stat(o->fixtures, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return usage("--fixtures %s: not a directory (make one with 'loadgen fixtures DIR')",
                     o->fixtures);
    if (strlen(o->label_suffix) > 31) return usage("--label-suffix: at most 31 characters");
    return 0;
}

/* A model name as the CSV and the command line will carry it. */
static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len >= 32 || s[0] == '-') return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

struct names {
    char *v[MAX_NAMES];
    size_t n;
};

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    ns->n = 0;
}

static int names_add(struct names *ns, const char *s, size_t len)
{
    if (ns->n == MAX_NAMES) return -1;
    char *c = strndup(s, len);
    if (!c) return -1;
    ns->v[ns->n++] = c;
    return 0;
}

static bool names_has(const struct names *ns, const char *s)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], s) == 0) return true;
    return false;
}

/* Copy src into dst[cap], cut short if need be (messages, names). */
static void copy_trunc(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static double now_s(void)
{
    return (double)lg_now_ns() / 1e9;
}

/* ---- 4. one run --------------------------------------------------------- */

/* What one (model, scenario) run left. */
struct record {
    size_t model, scen;
    bool failed, skipped;
    char why[256];
    struct csv_row row;
};

struct server {
    struct child c;
    int out;  /* stdout pipe, read end; -1 once ready */
    int errf; /* stderr: an unlinked temporary file */
    char target[300];
};

static int tmpfile_fd(void)
{
    const char *dir = getenv("TMPDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/loadgen-bench-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path);
    child_set_cloexec(fd);
    return fd;
}

/* The last non-empty line of what the server wrote on stderr. */
static void stderr_tail(int fd, char *buf, size_t len)
{
    buf[0] = '\0';
    if (fd < 0) return;
    char tmp[512];
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof tmp - 1 ? size - (off_t)sizeof tmp + 1 : 0;
    ssize_t n = size > 0 ? pread(fd, tmp, (size_t)(size - from), from) : 0;
    if (n <= 0) return;
    tmp[n] = '\0';
    while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r'))
        tmp[--n] = '\0';
    char *line = strrchr(tmp, '\n');
    copy_trunc(buf, len, line ? line + 1 : tmp);
}

/* The readiness line "listening on HOST:PORT" on the server's stdout,
 * within timeout_s. 0 (s->target set), or -1 (EOF or deadline; why set). */
static int wait_ready(struct server *s, double timeout_s, char *why, size_t whylen)
{
    char buf[4096];
    size_t len = 0;
    double deadline = now_s() + timeout_s;
    for (;;) {
        char *nl;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            *nl = '\0';
            static const char ready[] = "listening on ";
            if (strncmp(buf, ready, sizeof ready - 1) == 0) {
                char *addr = buf + sizeof ready - 1;
                addr[strcspn(addr, "\r")] = '\0';
                copy_trunc(s->target, sizeof s->target, addr);
                return 0;
            }
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len);
        }
        if (len == sizeof buf) {
            snprintf(why, whylen, "a line of 4 KiB on stdout, no 'listening on'");
            return -1;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            snprintf(why, whylen, "not ready within %g s (no 'listening on' line)", timeout_s);
            return -1;
        }
        struct pollfd p = {.fd = s->out, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t n = read(s->out, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(why, whylen, "closed its stdout without a 'listening on' line");
            return -1;
        }
        len += (size_t)n;
    }
}

/* After a failure before or during the run: why the server is gone, if it is. */
static void explain_exit(struct server *s, const char *when, char *why, size_t whylen)
{
    if (!child_wait(&s->c, 1)) return; /* still running: keep the first reason */
    char st[96], tail[200];
    child_describe(s->c.status, st, sizeof st);
    stderr_tail(s->errf, tail, sizeof tail);
    snprintf(why, whylen, "%.60s %.60s%s%.120s", when, st, tail[0] ? ": " : "", tail);
}

/* Whatever happened, nothing of the server survives this. */
static void server_close(struct server *s)
{
    if (s->c.pid > 0) child_kill(&s->c);
    pid_t pgid = -s->c.pid; /* reaped: child_reap negated the pid */
    if (pgid > 0 && s->c.group && child_group_alive(pgid)) kill(-pgid, SIGKILL);
    if (s->out >= 0) close(s->out);
    if (s->errf >= 0) close(s->errf);
    s->out = s->errf = -1;
}

/* Start the server for model m and protocol proto. 0 ready; -1 failed
 * (why set); 1 the server does not speak proto (exit 2, "unknown protocol"). */
static int server_start(struct server *s, const struct bench_opts *o, const char *model,
                        const char *proto, const char *fixtures, char *why, size_t whylen)
{
    *s = (struct server){.out = -1, .errf = -1};
    char *argv[16 + sizeof o->server_args / sizeof o->server_args[0]];
    size_t n = 0;
    argv[n++] = (char *)o->server;
    argv[n++] = "--model";
    argv[n++] = (char *)model;
    argv[n++] = "--proto";
    argv[n++] = (char *)proto;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--root";
    argv[n++] = (char *)fixtures;
    argv[n++] = "--quiet";
    for (size_t i = 0; i < o->nserver_args; i++)
        argv[n++] = (char *)o->server_args[i];
    argv[n] = NULL;

    int p[2];
    s->errf = tmpfile_fd();
    if (s->errf < 0 || pipe(p) < 0) {
        snprintf(why, whylen, "cannot start: %s", strerror(errno));
        return -1;
    }
    child_set_cloexec(p[0]);
    child_set_cloexec(p[1]);
    s->out = p[0];
    int rc = child_spawn(&s->c, argv, p[1], s->errf, true, false, why, whylen);
    close(p[1]);
    if (rc < 0) return -1;
    if (wait_ready(s, o->ready_timeout, why, whylen) == 0) {
        /* Nothing more is read from stdout: a later write gets EPIPE
         * instead of blocking on a full pipe. */
        close(s->out);
        s->out = -1;
        return 0;
    }
    explain_exit(s, "exited before listening:", why, whylen);
    if (s->c.pid < 0 && WIFEXITED(s->c.status) && WEXITSTATUS(s->c.status) == 2) {
        char tail[200];
        stderr_tail(s->errf, tail, sizeof tail);
        if (strstr(tail, "unknown protocol")) return 1;
    }
    return -1;
}

/* SIGTERM, wait, check the exit status and that the group is empty.
 * 0 clean; -1 with why set (the group is killed in any case). */
static int server_stop(struct server *s, double timeout_s, char *why, size_t whylen)
{
    pid_t pgid = s->c.pid > 0 ? s->c.pid : -s->c.pid;
    int rc = 0;
    if (s->c.pid > 0) {
        kill(s->c.pid, SIGTERM);
        if (!child_wait(&s->c, timeout_s)) {
            snprintf(why, whylen, "did not exit within %g s of SIGTERM (killed)", timeout_s);
            child_kill(&s->c);
            rc = -1;
        }
    }
    if (rc == 0 && !(WIFEXITED(s->c.status) && WEXITSTATUS(s->c.status) == 0)) {
        char st[96], tail[200];
        child_describe(s->c.status, st, sizeof st);
        stderr_tail(s->errf, tail, sizeof tail);
        snprintf(why, whylen, "%.60s after SIGTERM%s%.120s", st, tail[0] ? ": " : "", tail);
        rc = -1;
    }
    /* Descendants that outlived it. A clean server reaped its children
     * before exiting; orphans' zombies may need a moment for init. */
    double deadline = now_s() + 1;
    while (child_group_alive(pgid) && now_s() < deadline)
        poll(NULL, 0, 10);
    if (child_group_alive(pgid)) {
        kill(-pgid, SIGKILL);
        if (rc == 0) snprintf(why, whylen, "left processes behind in its group (killed)");
        rc = -1;
    }
    return rc;
}

/* The CPU sample at the start of the timed run (bench_run.timed_start). */
struct cpu_mark {
    pid_t pgid;
    double cpu0;
};

static void mark_cpu(void *arg)
{
    struct cpu_mark *m = arg;
    m->cpu0 = bench_group_cpu_s(m->pgid);
}

/* The bench, as it goes. */
struct bench {
    const struct bench_opts *o;
    const struct bench_hooks *hooks;
    struct names models;
    struct names scen_files;
    struct lg_scenario *scens;
    struct names unsupported; /* "model/proto" pairs the server refused */
    const char *fixtures;
    char fixtures_tmp[1100]; /* the temporary tree, when bench made one */
    char rev[64];
    char csv_path[1200]; /* where rows are appended as they come */
    char latest[1200];   /* "" with --csv */
    struct record *recs;
    size_t nrecs, caprecs;
    bool interrupted;
};

static const char *proto_str(enum lg_proto p)
{
    return p == LG_PROTO_FTP ? "ftp" : p == LG_PROTO_ECHO ? "echo" : "http";
}

/* A failed run's row: what is known, requests 0, errors >= 1. */
static void failed_row(const struct bench *b, struct record *r, const char *label)
{
    const struct lg_scenario *sc = &b->scens[r->scen];
    struct csv_row *row = &r->row;
    double cpu = row->server_cpu_s;
    int64_t rss = row->server_rss_kb;
    uint64_t errors = row->errors + row->check_failures + row->timeouts;
    *row = (struct csv_row){.server_cpu_s = cpu, .server_rss_kb = rss, .loadgen_cpu_s = -1};
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(row->started_at, sizeof row->started_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (gethostname(row->host, sizeof row->host) != 0)
        snprintf(row->host, sizeof row->host, "unknown");
    row->host[sizeof row->host - 1] = '\0';
    copy_trunc(row->model, sizeof row->model, label);
    copy_trunc(row->protocol, sizeof row->protocol, proto_str(sc->proto));
    copy_trunc(row->scenario, sizeof row->scenario, sc->name);
    copy_trunc(row->engine, sizeof row->engine, sc->proto == LG_PROTO_FTP ? "curl" : "raw");
    row->threads = b->o->threads ? b->o->threads : sc->threads ? sc->threads : 1;
    row->connections = b->o->connections ? b->o->connections
                       : sc->connections ? sc->connections
                                         : 10;
    row->rate = sc->rate;
    row->errors = errors ? errors : 1;
}

static int add_record(struct bench *b, const struct record *r)
{
    if (b->nrecs == b->caprecs) {
        size_t cap = b->caprecs ? b->caprecs * 2 : 32;
        struct record *n = realloc(b->recs, cap * sizeof *n);
        if (!n) return -1;
        b->recs = n;
        b->caprecs = cap;
    }
    b->recs[b->nrecs++] = *r;
    return 0;
}

/* The run itself, on a ready server: hooks->run, then the resources. */
static void measure(struct bench *b, struct server *s, struct record *r, const char *label)
{
    struct cpu_mark mark = {.pgid = s->c.pid, .cpu0 = -1};
    struct bench_run br = {.sc = &b->scens[r->scen],
                           .target = s->target,
                           .fixtures = b->fixtures,
                           .label = label,
                           .duration_s = b->o->duration,
                           .threads = b->o->threads,
                           .connections = b->o->connections,
                           .timed_start = mark_cpu,
                           .arg = &mark};
    struct bench_result res;
    memset(&res, 0, sizeof res);
    b->hooks->run(&br, &res);
    /* The window: from the start of the timed run to its end. */
    double cpu1 = bench_group_cpu_s(mark.pgid);
    long hwm = bench_group_hwm_kb(mark.pgid);
    if (res.ran) {
        r->row = res.row;
    } else {
        r->failed = true;
        copy_trunc(r->why, sizeof r->why, res.why[0] ? res.why : "the run failed");
        r->row = (struct csv_row){.server_cpu_s = -1, .server_rss_kb = -1};
    }
    r->row.server_cpu_s = mark.cpu0 >= 0 && cpu1 >= mark.cpu0 ? cpu1 - mark.cpu0 : -1;
    r->row.server_rss_kb = hwm > 0 ? hwm : -1;
    if (res.interrupted || b->hooks->stop_requested()) {
        b->interrupted = true;
        if (!r->failed) {
            r->failed = true;
            snprintf(r->why, sizeof r->why, "interrupted");
        }
    }
    if (!child_reap(&s->c)) return; /* still running, as it should be */
    if (!r->failed) r->failed = true;
    explain_exit(s, "died during the run:", r->why, sizeof r->why);
}

/* One (model, scenario) run: start, measure, stop, record. */
static void run_one(struct bench *b, size_t mi, size_t si)
{
    const char *model = b->models.v[mi];
    const struct lg_scenario *sc = &b->scens[si];
    const char *proto = proto_str(sc->proto);
    char label[64];
    snprintf(label, sizeof label, "%s%s", model, b->o->label_suffix);
    struct record r = {.model = mi, .scen = si};
    r.row.server_cpu_s = -1;
    r.row.server_rss_kb = -1;

    char pair[96];
    snprintf(pair, sizeof pair, "%s/%s", model, proto);
    if (names_has(&b->unsupported, pair)) {
        r.skipped = true;
        add_record(b, &r);
        return;
    }
    printf("\n== bench: %s x %s ==\n", model, sc->name);
    fflush(stdout);
    struct server s;
    int rc = server_start(&s, b->o, model, proto, b->fixtures, r.why, sizeof r.why);
    if (rc == 1) {
        fprintf(stderr, "loadgen bench: note: %s does not speak %s (model %s): skipped\n",
                b->o->server, proto, model);
        names_add(&b->unsupported, pair, strlen(pair));
        r.skipped = true;
        server_close(&s);
        add_record(b, &r);
        return;
    }
    if (rc == 0) {
        measure(b, &s, &r, label);
        char why[256] = "";
        if (server_stop(&s, b->o->stop_timeout, why, sizeof why) < 0 && !r.failed) {
            r.failed = true;
            copy_trunc(r.why, sizeof r.why, why);
        }
        if (s.c.pid < 0 && s.c.ru.ru_maxrss > r.row.server_rss_kb)
            r.row.server_rss_kb = s.c.ru.ru_maxrss; /* the largest reaped child's peak */
    } else {
        r.failed = true;
    }
    server_close(&s);
    if (r.failed) {
        failed_row(b, &r, label);
        fprintf(stderr, "loadgen bench: %s x %s FAILED: %s\n", model, sc->name, r.why);
    }
    copy_trunc(r.row.git_rev, sizeof r.row.git_rev, b->rev);
    char err[1024];
    if (csv_append(b->csv_path, &r.row, err, sizeof err) < 0)
        fprintf(stderr, "loadgen bench: %s\n", err);
    if (add_record(b, &r) < 0)
        fprintf(stderr, "loadgen bench: out of memory: a row is missing from the table\n");
}

/* ---- 5. tables and files ------------------------------------------------ */

struct line {
    const char *model;
    size_t ok, runs;
    bool skipped;
    const char *why; /* the first failure */
    double rps, mbs, p50, p99, cpu, cpu_req, rss;
    uint64_t errors;
};

static int by_rps(const void *x, const void *y)
{
    const struct line *a = x, *b = y;
    if ((a->ok > 0) != (b->ok > 0)) return a->ok > 0 ? -1 : 1;
    return a->rps < b->rps ? 1 : a->rps > b->rps ? -1 : 0;
}

/* Medians over the clean runs of one model in one scenario. */
static void summarise(const struct bench *b, size_t mi, size_t si, struct line *l)
{
    *l = (struct line){.model = b->models.v[mi]};
    size_t cap = b->o->repeat;
    double *v = calloc(7 * cap, sizeof *v);
    if (!v) return;
    double *rps = v, *mbs = v + cap, *p50 = v + 2 * cap, *p99 = v + 3 * cap;
    double *cpu = v + 4 * cap, *cpr = v + 5 * cap, *rss = v + 6 * cap;
    size_t ncpu = 0, nrss = 0;
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct record *r = &b->recs[i];
        if (r->model != mi || r->scen != si) continue;
        if (r->skipped) {
            l->skipped = true;
            continue;
        }
        l->runs++;
        l->errors += r->row.errors + r->row.check_failures + r->row.timeouts;
        if (r->failed) {
            if (!l->why) l->why = r->why;
            continue;
        }
        if (l->ok == cap) continue;
        rps[l->ok] = r->row.req_per_s;
        mbs[l->ok] = r->row.mb_per_s;
        p50[l->ok] = (double)r->row.lat_p50_us;
        p99[l->ok] = (double)r->row.lat_p99_us;
        if (r->row.server_cpu_s >= 0) {
            cpu[ncpu] = r->row.server_cpu_s;
            cpr[ncpu++] = r->row.requests ? r->row.server_cpu_s * 1e6 / (double)r->row.requests : 0;
        }
        if (r->row.server_rss_kb >= 0) rss[nrss++] = (double)r->row.server_rss_kb;
        l->ok++;
    }
    l->rps = bench_median(rps, l->ok);
    l->mbs = bench_median(mbs, l->ok);
    l->p50 = bench_median(p50, l->ok);
    l->p99 = bench_median(p99, l->ok);
    l->cpu = ncpu ? bench_median(cpu, ncpu) : -1;
    l->cpu_req = ncpu ? bench_median(cpr, ncpu) : -1;
    l->rss = nrss ? bench_median(rss, nrss) : -1;
    free(v);
}

static void print_table(const struct bench *b, size_t si)
{
    const struct lg_scenario *sc = &b->scens[si];
    size_t n = b->models.n;
    struct line *lines = calloc(n ? n : 1, sizeof *lines);
    if (!lines) return;
    size_t shown = 0;
    for (size_t mi = 0; mi < n; mi++) {
        summarise(b, mi, si, &lines[shown]);
        if (lines[shown].runs || lines[shown].skipped) shown++;
    }
    qsort(lines, shown, sizeof *lines, by_rps);
    printf("\n%s (%s)%s\n", sc->name, proto_str(sc->proto),
           b->o->repeat > 1 ? ", medians of the clean runs" : "");
    printf("  %-2s %-12s %12s %9s %9s %9s %7s %8s %10s %9s\n", "#", "model", "req/s", "MB/s",
           "p50 us", "p99 us", "errors", "cpu s", "cpu/req us", "rss KiB");
    int rank = 0;
    for (size_t i = 0; i < shown; i++) {
        const struct line *l = &lines[i];
        if (l->ok == 0) {
            if (l->runs == 0)
                printf("  %-2s %-12s skipped: the server does not speak %s\n", "-", l->model,
                       proto_str(sc->proto));
            else
                printf("  %-2s %-12s FAILED: %s\n", "-", l->model, l->why ? l->why : "?");
            continue;
        }
        char cpu[32] = "-", cpr[32] = "-", rss[32] = "-";
        if (l->cpu >= 0) {
            snprintf(cpu, sizeof cpu, "%.2f", l->cpu);
            snprintf(cpr, sizeof cpr, "%.1f", l->cpu_req);
        }
        if (l->rss >= 0) snprintf(rss, sizeof rss, "%.0f", l->rss);
        printf("  %-2d %-12s %12.0f %9.2f %9.0f %9.0f %7" PRIu64 " %8s %10s %9s", ++rank, l->model,
               l->rps, l->mbs, l->p50, l->p99, l->errors, cpu, cpr, rss);
        if (l->ok < l->runs)
            printf("  (%zu of %zu runs failed: %s)", l->runs - l->ok, l->runs, l->why);
        printf("\n");
    }
    free(lines);
}

/* latest.csv: this bench's rows, replaced atomically. */
static int write_latest(const struct bench *b, char *err, size_t errlen)
{
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", b->latest, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%.1100s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", csv_header());
    for (size_t i = 0; i < b->nrecs; i++) {
        char line[4096];
        if (b->recs[i].skipped) continue;
        if (csv_format_row(&b->recs[i].row, line, sizeof line) >= 0) fprintf(f, "%s\n", line);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad || rename(tmp, b->latest) != 0) {
        snprintf(err, errlen, "%s: %s", b->latest, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* git rev-parse --short HEAD in the current directory, else $GIT_REV, else "unknown". */
static void git_rev(char *buf, size_t len)
{
    char out[128], msg[256];
    char *argv[] = {"git", "rev-parse", "--short", "HEAD", NULL};
    if (child_capture(argv, true, out, sizeof out, 5, msg, sizeof msg) == 0) {
        out[strcspn(out, "\r\n")] = '\0';
        bool hex = out[0] != '\0';
        for (const char *p = out; *p; p++)
            hex &= isxdigit((unsigned char)*p) != 0;
        if (hex) {
            copy_trunc(buf, len, out);
            return;
        }
    }
    const char *env = getenv("GIT_REV");
    copy_trunc(buf, len, env && *env && !strpbrk(env, "/\n\r") ? env : "unknown");
}

/* ---- setup ------------------------------------------------------------ */

/* SERVER --list-models, first word of each line. */
static int list_models(const struct bench_opts *o, struct names *out)
{
    char buf[16384], msg[512];
    char *argv[] = {(char *)o->server, "--list-models", NULL};
    int rc = child_capture(argv, false, buf, sizeof buf, 10, msg, sizeof msg);
    if (rc != 0) {
        if (rc > 0) snprintf(msg, sizeof msg, "%s --list-models: exit status %d", o->server, rc);
        fprintf(stderr, "loadgen bench: %s\n", msg);
        return -1;
    }
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        size_t len = strcspn(line, " \t\r");
        if (len == 0) continue;
        if (!valid_name(line, len) || names_add(out, line, len) < 0) {
            fprintf(stderr, "loadgen bench: %s --list-models: bad model name '%.*s'\n", o->server,
                    (int)(len > 40 ? 40 : len), line);
            return -1;
        }
    }
    if (out->n == 0) {
        fprintf(stderr, "loadgen bench: %s --list-models printed no model\n", o->server);
        return -1;
    }
    return 0;
}

/* --models a,b (each must be one the server offers) or all. */
static int pick_models(const struct bench_opts *o, struct names *out)
{
    struct names all = {0};
    if (list_models(o, &all) < 0) return -1;
    if (!o->models || strcmp(o->models, "all") == 0) {
        *out = all;
        return 0;
    }
    int rc = 0;
    for (const char *p = o->models; *p && rc == 0;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        if (len == 0 || len > 63 || !names_has(&all, name)) {
            fprintf(stderr, "loadgen bench: --models: '%s' is not a model of %s (it has:", name,
                    o->server);
            for (size_t i = 0; i < all.n; i++)
                fprintf(stderr, " %s", all.v[i]);
            fprintf(stderr, ")\n");
            rc = -1;
        } else if (!names_has(out, name) && names_add(out, name, len) < 0) {
            rc = -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    names_free(&all);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --scenarios F.ini,G.ini or DIR (its *.ini, sorted). */
static int pick_scenarios(const struct bench_opts *o, struct names *out)
{
    const char *spec = o->scenarios ? o->scenarios : "scenarios";
    struct stat sb;
    if (!strchr(spec, ',') && stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(spec);
        if (!d) {
            fprintf(stderr, "loadgen bench: %s: %s\n", spec, strerror(errno));
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".ini") != 0)
                continue;
            char path[2048];
            int n = snprintf(path, sizeof path, "%s/%s", spec, e->d_name);
            if (n < 0 || (size_t)n >= sizeof path || names_add(out, path, (size_t)n) < 0) {
                closedir(d);
                fprintf(stderr, "loadgen bench: %s: too many scenario files\n", spec);
                return -1;
            }
        }
        closedir(d);
        qsort(out->v, out->n, sizeof out->v[0], cmp_str);
        if (out->n == 0) {
            fprintf(stderr, "loadgen bench: %s: no *.ini scenario file\n", spec);
            return -1;
        }
        return 0;
    }
    if (!o->scenarios && stat(spec, &sb) != 0) {
        fprintf(stderr, "loadgen bench: no --scenarios given and ./scenarios not found\n");
        return -1;
    }
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || names_add(out, p, len) < 0) {
            fprintf(stderr, "loadgen bench: --scenarios: empty or too many file names\n");
            return -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

static int load_scenarios(struct bench *b)
{
    b->scens = calloc(b->scen_files.n, sizeof *b->scens);
    if (!b->scens) return -1;
    for (size_t i = 0; i < b->scen_files.n; i++) {
        char err[1024];
        if (scenario_load(b->scen_files.v[i], &b->scens[i], err, sizeof err) < 0) {
            fprintf(stderr, "loadgen bench: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

/* mkdir DIR (one level at a time). */
static int mkdirs(const char *dir)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Where the rows go: --csv, or out-dir/DATE-REV.csv (+ latest.csv). */
static int pick_outputs(struct bench *b)
{
    const struct bench_opts *o = b->o;
    const char *path;
    if (o->csv) {
        copy_trunc(b->csv_path, sizeof b->csv_path, o->csv);
        path = o->csv;
    } else {
        if (strlen(o->out_dir) > 1000 || mkdirs(o->out_dir) < 0) {
            fprintf(stderr, "loadgen bench: --out-dir %s: %s\n", o->out_dir,
                    strlen(o->out_dir) > 1000 ? "too long" : strerror(errno));
            return -1;
        }
        char date[16] = "unknown";
        time_t t = time(NULL);
        struct tm tm;
        if (gmtime_r(&t, &tm)) strftime(date, sizeof date, "%Y-%m-%d", &tm);
        snprintf(b->csv_path, sizeof b->csv_path, "%s/%s-%s.csv", o->out_dir, date, b->rev);
        snprintf(b->latest, sizeof b->latest, "%s/latest.csv", o->out_dir);
        path = b->csv_path;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "loadgen bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static void bench_free(struct bench *b, char *tmpdir)
{
    if (b->scens)
        for (size_t i = 0; i < b->scen_files.n; i++)
            scenario_free(&b->scens[i]);
    free(b->scens);
    free(b->recs);
    names_free(&b->models);
    names_free(&b->scen_files);
    names_free(&b->unsupported);
    if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A temporary fixture tree (removed by bench_free). */
static int make_fixtures(struct bench *b, char *tmpdir, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(tmpdir, len, "%s/loadgen-bench-XXXXXX", dir && *dir ? dir : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "loadgen bench: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        tmpdir[0] = '\0';
        return -1;
    }
    snprintf(b->fixtures_tmp, sizeof b->fixtures_tmp, "%s/fixtures", tmpdir);
    char err[1024];
    if (fixtures_create(b->fixtures_tmp, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen bench: %s\n", err);
        return -1;
    }
    b->fixtures = b->fixtures_tmp;
    return 0;
}

/* The exit status once every run is done. */
static int verdict(const struct bench *b)
{
    size_t ran = 0;
    bool bad = b->interrupted;
    for (size_t i = 0; i < b->nrecs; i++) {
        const struct record *r = &b->recs[i];
        if (r->skipped) continue;
        ran++;
        bad |= r->failed || r->row.errors || r->row.check_failures || r->row.timeouts ||
               r->row.requests == 0;
    }
    if (ran == 0) fprintf(stderr, "loadgen bench: nothing ran\n");
    return bad || ran == 0 ? 1 : 0;
}

int bench_main(int argc, char **argv, const struct bench_hooks *hooks)
{
    struct bench_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    struct bench b = {.o = &o, .hooks = hooks, .fixtures = o.fixtures};
    char tmpdir[1024] = "";
    rc = EXIT_USAGE;
    if (pick_models(&o, &b.models) < 0 || pick_scenarios(&o, &b.scen_files) < 0 ||
        load_scenarios(&b) < 0)
        goto out;
    git_rev(b.rev, sizeof b.rev);
    if (pick_outputs(&b) < 0) goto out;
    rc = 1;
    if (!b.fixtures && make_fixtures(&b, tmpdir, sizeof tmpdir) < 0) goto out;
    signal(SIGPIPE, SIG_IGN);
    /* Scenario by scenario; the repeats interleave the models, so a noisy
     * moment of the machine does not land on one model's runs only. */
    for (size_t si = 0; si < b.scen_files.n && !b.interrupted; si++)
        for (unsigned k = 0; k < o.repeat && !b.interrupted; k++)
            for (size_t mi = 0; mi < b.models.n && !b.interrupted; mi++) {
                run_one(&b, mi, si);
                b.interrupted |= hooks->stop_requested();
            }
    printf("\n");
    for (size_t si = 0; si < b.scen_files.n; si++)
        print_table(&b, si);
    char err[1300];
    if (b.latest[0] && write_latest(&b, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen bench: %s\n", err);
        b.interrupted = true; /* the files are incomplete: not a clean bench */
    }
    printf("\nrows: %s%s%s\n", b.csv_path, b.latest[0] ? " and " : "", b.latest);
    if (b.interrupted) fprintf(stderr, "loadgen bench: interrupted\n");
    rc = verdict(&b);
out:
    fflush(stdout);
    bench_free(&b, tmpdir);
    return rc;
}
