/* main.c - loadgen's command line and the run's orchestration.
 *
 *   loadgen run SCENARIO.ini --target HOST:PORT [options]
 *   loadgen fixtures DIR
 *   loadgen bench --server PATH/refserver [options]   (bench.c)
 *   loadgen compare A.csv B.csv [options]             (compare.c)
 *
 * run: parse -> scenario_load -> check_prepare -> verify_run (libcurl, every
 * distinct step once) -> the timed run on one engine -> summary on stdout ->
 * CSV row. Exit 0 when every answer was checked good, 1 on any error,
 * timeout or check failure (or a failed verify), 2 on a usage or scenario
 * error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "compare.h"
#include "csv.h"
#include "fixtures.h"
#include "loadgen.h"
#include "scenario.h"

#define EXIT_USAGE 2

/* The run SIGINT / SIGTERM stop (set only while the timed run is going). */
static struct lg_run *volatile g_run;
/* SIGINT / SIGTERM arrived (bench stops between runs). */
static volatile sig_atomic_t g_stop_requested;

static const char RUN_USAGE[] =
    "usage: loadgen run SCENARIO.ini --target HOST:PORT [options]\n"
    "\n"
    "Replays the scenario against HOST:PORT ([v6addr]:port for IPv6), checks\n"
    "every answer, prints a summary and optionally appends a CSV row.\n"
    "Command-line values override the scenario's.\n"
    "\n"
    "  --target HOST:PORT   server to load (required)\n"
    "  --fixtures DIR       fixture tree the answers are checked against\n"
    "                       (required when a step expects a file)\n"
    "  --threads N          client threads (default 1)\n"
    "  --connections N      concurrent connections over all threads (default 10)\n"
    "  --duration SECONDS   measured run time (default 10; '10s' and '500ms' work)\n"
    "  --requests N         stop after N measured requests instead of a duration\n"
    "  --rate PER_SECOND    open loop: fixed request rate over all connections;\n"
    "                       latency counts from the scheduled start\n"
    "  --timeout SECONDS    per request (default 5)\n"
    "  --warmup SECONDS     load before the measured window, not counted\n"
    "  --csv FILE           append one result row (header written when new)\n"
    "  --label NAME         the CSV's model column (default '-')\n"
    "  --engine raw|curl    raw (default for http, echo) or libcurl (default, and\n"
    "                       the only one, for ftp)\n"
    "  --progress           live progress line on stderr even when not a terminal\n"
    "\n"
    "Exit status: 0 every answer checked good, 1 errors, timeouts or check\n"
    "failures (or the verify pass failed), 2 usage or scenario error.\n";

static const char FIXTURES_USAGE[] =
    "usage: loadgen fixtures DIR\n"
    "\n"
    "Creates (or refreshes) the deterministic fixture tree the scenarios are\n"
    "checked against under DIR. Idempotent.\n";

static const char MAIN_USAGE[] =
    "usage: loadgen COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run SCENARIO.ini --target HOST:PORT [options]   load a server, check every answer\n"
    "  fixtures DIR                                    create the fixture tree\n"
    "  bench --server PATH [options]                   every model x scenario: start, load, record\n"
    "  compare A.csv B.csv [options]                   two result files side by side, regressions\n"
    "\n"
    "'loadgen COMMAND --help' describes each command.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error of 'loadgen run': the message, a hint, exit status 2. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs("try 'loadgen run --help'\n", stderr);
    return EXIT_USAGE;
}

/* ---- values ----------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A number of seconds: "1.5", "10s", "250ms". */
static int parse_seconds(const char *s, double min, double max, bool min_open, double *out)
{
    if (!s || !*s || *s == ' ' || *s == '+')
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno)
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        ;
    else
        return -1;
    if (!isfinite(v) || v < min || v > max || (min_open && v <= min))
        return -1;
    *out = v;
    return 0;
}

/* HOST:PORT, [V6]:PORT. */
static int parse_target(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
        if (hl == 0 || memchr(h, ':', hl) == NULL)
            return -1; /* brackets are for IPv6 addresses */
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return -1; /* none, or a bare IPv6 address */
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    for (size_t i = 0; i < hl; i++)
        if (h[i] <= ' ' || h[i] == '/' || h[i] == '[' || h[i] == ']' || (unsigned char)h[i] >= 127)
            return -1;
    uint64_t p;
    if (parse_u64(colon + 1, 1, 65535, &p) < 0 || strlen(colon + 1) > 5)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%u", (unsigned)p);
    return 0;
}

/* ---- run: the command line -------------------------------------------- */

struct run_args {
    const char *scenario;
    const char *target;
    const char *fixtures;
    const char *csv;
    const char *label;
    const char *engine;
    bool progress;
    uint64_t threads, connections, requests; /* 0 = not given */
    double duration, rate, timeout, warmup;  /* < 0 = not given */
};

/* Returns 0, 1 for --help (printed), or EXIT_USAGE after a message. */
static int parse_run_args(int argc, char **argv, struct run_args *a)
{
    *a = (struct run_args){.duration = -1, .rate = -1, .timeout = -1, .warmup = -1};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(RUN_USAGE, stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (arg[0] == '-' && arg[1] != '\0')
                return usage_error("unknown option '%s'", arg);
            if (a->scenario)
                return usage_error("unexpected argument '%s'", arg);
            a->scenario = arg;
            continue;
        }
        char name[32];
        const char *val = NULL;
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nl >= sizeof name)
            return usage_error("unknown option '%s'", arg);
        memcpy(name, arg, nl);
        name[nl] = '\0';
        if (strcmp(name, "--progress") == 0) {
            if (eq)
                return usage_error("--progress takes no value");
            a->progress = true;
            continue;
        }
        static const char *const with_value[] = {
            "--target", "--fixtures", "--threads", "--connections", "--duration", "--requests",
            "--rate", "--timeout", "--warmup", "--csv", "--label", "--engine", NULL};
        bool known = false;
        for (int k = 0; with_value[k]; k++)
            known |= strcmp(name, with_value[k]) == 0;
        if (!known)
            return usage_error("unknown option '%s'", name);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error("%s needs a value", name);

        if (strcmp(name, "--target") == 0)
            a->target = val;
        else if (strcmp(name, "--fixtures") == 0)
            a->fixtures = val;
        else if (strcmp(name, "--csv") == 0)
            a->csv = val;
        else if (strcmp(name, "--label") == 0)
            a->label = val;
        else if (strcmp(name, "--engine") == 0)
            a->engine = val;
        else if (strcmp(name, "--threads") == 0) {
            if (parse_u64(val, 1, 1024, &a->threads) < 0)
                return usage_error("--threads: '%s' is not an integer in 1..1024", val);
        } else if (strcmp(name, "--connections") == 0) {
            if (parse_u64(val, 1, 100000, &a->connections) < 0)
                return usage_error(
                                   "--connections: '%s' is not an integer in 1..100000", val);
        } else if (strcmp(name, "--requests") == 0) {
            if (parse_u64(val, 1, UINT64_C(1000000000000), &a->requests) < 0)
                return usage_error("--requests: '%s' is not an integer in 1..10^12",
                                   val);
        } else if (strcmp(name, "--duration") == 0) {
            if (parse_seconds(val, 0, 86400 * 7, true, &a->duration) < 0)
                return usage_error(
                                   "--duration: '%s' is not a number of seconds in (0, 604800]",
                                   val);
        } else if (strcmp(name, "--rate") == 0) {
            if (parse_seconds(val, 0, 1e8, true, &a->rate) < 0 || strpbrk(val, "ms"))
                return usage_error("--rate: '%s' is not a rate in (0, 1e8] per second",
                                   val);
        } else if (strcmp(name, "--timeout") == 0) {
            if (parse_seconds(val, 0, 3600, true, &a->timeout) < 0)
                return usage_error(
                                   "--timeout: '%s' is not a number of seconds in (0, 3600]", val);
        } else if (strcmp(name, "--warmup") == 0) {
            if (parse_seconds(val, 0, 3600, false, &a->warmup) < 0)
                return usage_error(
                                   "--warmup: '%s' is not a number of seconds in [0, 3600]", val);
        }
    }
    if (!a->scenario)
        return usage_error("missing the scenario file");
    if (!a->target)
        return usage_error("missing --target HOST:PORT");
    if (a->duration >= 0 && a->requests)
        return usage_error("--duration and --requests exclude each other");
    if (a->engine && strcmp(a->engine, "raw") != 0 && strcmp(a->engine, "curl") != 0)
        return usage_error("--engine: '%s' is neither raw nor curl", a->engine);
    if (a->label && (strlen(a->label) == 0 || strlen(a->label) >= 64))
        return usage_error("--label: 1 to 63 characters");
    if (a->csv && !*a->csv)
        return usage_error("--csv: empty file name");
    if (a->fixtures && !*a->fixtures)
        return usage_error("--fixtures: empty directory name");
    return 0;
}

/* Command line over scenario over defaults. */
static int make_config(const struct run_args *a, const struct lg_scenario *sc,
                       struct lg_config *cfg)
{
    *cfg = (struct lg_config){.sc = sc};
    if (parse_target(a->target, cfg->host, sizeof cfg->host, cfg->port, sizeof cfg->port) < 0)
        return usage_error("--target: '%s' is not HOST:PORT or [IPv6]:PORT",
                           a->target);
    cfg->fixtures = a->fixtures;
    cfg->threads = a->threads ? (unsigned)a->threads : sc->threads ? sc->threads : 1;
    cfg->connections =
        a->connections ? (unsigned)a->connections : sc->connections ? sc->connections : 10;
    if (a->duration > 0 || a->requests) {
        cfg->duration_s = a->duration > 0 ? a->duration : 0;
        cfg->requests = a->requests;
    } else if (sc->requests) {
        cfg->requests = sc->requests;
    } else {
        cfg->duration_s = sc->duration_s > 0 ? sc->duration_s : 10;
    }
    cfg->rate = a->rate > 0 ? a->rate : sc->rate;
    cfg->timeout_s = a->timeout > 0 ? a->timeout : sc->timeout_s > 0 ? sc->timeout_s : 5;
    cfg->warmup_s = a->warmup >= 0 ? a->warmup : sc->warmup_s;
    cfg->keepalive = sc->keepalive;
    cfg->progress = a->progress;
    cfg->csv_path = a->csv;
    cfg->label = a->label;
    if (cfg->threads > cfg->connections)
        return usage_error("%u threads for %u connections: need threads <= connections",
                           cfg->threads, cfg->connections);
    if (!a->engine)
        cfg->engine = sc->proto == LG_PROTO_FTP ? LG_ENGINE_CURL : LG_ENGINE_RAW;
    else
        cfg->engine = strcmp(a->engine, "raw") == 0 ? LG_ENGINE_RAW : LG_ENGINE_CURL;
    if (cfg->engine == LG_ENGINE_RAW && sc->proto == LG_PROTO_FTP)
        return usage_error("the raw engine does not speak FTP (use --engine curl)");
    bool need_fixtures = false;
    for (size_t i = 0; i < sc->nsteps; i++)
        need_fixtures |= sc->steps[i].expect == LG_EXPECT_FILE;
    if (need_fixtures && !cfg->fixtures)
        return usage_error("%s: steps check files: --fixtures DIR is required",
                           sc->file[0] ? sc->file : a->scenario);
    return 0;
}

/* ---- progress line ---------------------------------------------------- */

struct progress {
    struct lg_run *run;
    unsigned nlive;
    bool tty;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    pthread_t tid;
};

static void *progress_main(void *arg)
{
    struct progress *p = arg;
    uint64_t last_req = 0, t0 = lg_now_ns(), last_t = t0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        while (!p->done && pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
            ;
        if (p->done)
            break;
        uint64_t req = 0, fail = 0, p99 = 0, now = lg_now_ns();
        for (unsigned i = 0; i < p->nlive; i++) {
            req += atomic_load_explicit(&p->run->live[i].requests, memory_order_relaxed);
            fail += atomic_load_explicit(&p->run->live[i].failures, memory_order_relaxed);
            uint64_t q = atomic_load_explicit(&p->run->live[i].p99_us, memory_order_relaxed);
            p99 = q > p99 ? q : p99;
        }
        double dt = (double)(now - last_t) / 1e9;
        fprintf(stderr, "%s[%6.1fs] %10.0f req/s  %" PRIu64 " errors  p99 %.3f ms%s",
                p->tty ? "\r" : "", (double)(now - t0) / 1e9,
                dt > 0 ? (double)(req - last_req) / dt : 0.0, fail, (double)p99 / 1000.0,
                p->tty ? "   " : "\n");
        fflush(stderr);
        last_req = req;
        last_t = now;
    }
    pthread_mutex_unlock(&p->mu);
    if (p->tty)
        fputs("\r\033[K", stderr);
    return NULL;
}

static bool progress_start(struct progress *p, struct lg_run *run, unsigned nlive, bool forced)
{
    p->tty = isatty(STDERR_FILENO);
    if (!p->tty && !forced)
        return false;
    p->run = run;
    p->nlive = nlive;
    p->done = false;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->tid, NULL, progress_main, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        return false;
    }
    return true;
}

static void progress_stop(struct progress *p)
{
    pthread_mutex_lock(&p->mu);
    p->done = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->tid, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* ---- summary ---------------------------------------------------------- */

static void fmt_us(char *buf, size_t len, double us)
{
    if (us < 1000)
        snprintf(buf, len, "%.0f us", us);
    else if (us < 1e6)
        snprintf(buf, len, "%.2f ms", us / 1000);
    else
        snprintf(buf, len, "%.3f s", us / 1e6);
}

static const char *engine_name(enum lg_engine e)
{
    return e == LG_ENGINE_CURL ? "curl" : "raw";
}

static const char *proto_name(enum lg_proto p)
{
    return p == LG_PROTO_FTP ? "ftp" : p == LG_PROTO_ECHO ? "echo" : "http";
}

static void print_summary(const struct lg_config *cfg, const struct lg_stats *st, double elapsed,
                          double cpu, bool interrupted)
{
    const struct lg_scenario *sc = cfg->sc;
    const struct hist *h = st->lat;
    printf("scenario   %s (%s, %s engine)%s\n", sc->name[0] ? sc->name : sc->file,
           proto_name(sc->proto), engine_name(cfg->engine), interrupted ? "  INTERRUPTED" : "");
    printf("target     %s%s%s:%s, %u threads, %u connections, ", strchr(cfg->host, ':') ? "[" : "",
           cfg->host, strchr(cfg->host, ':') ? "]" : "", cfg->port, cfg->threads,
           cfg->connections);
    if (cfg->rate > 0)
        printf("open loop at %.0f req/s\n", cfg->rate);
    else
        printf("closed loop\n");
    double rps = elapsed > 0 ? (double)st->requests / elapsed : 0;
    double mbs = elapsed > 0 ? (double)st->bytes / elapsed / 1e6 : 0;
    printf("requests   %" PRIu64 " in %.2f s: %.1f req/s, %.2f MB/s\n", st->requests, elapsed, rps,
           mbs);
    char v[7][32];
    fmt_us(v[0], sizeof v[0], (double)hist_min(h));
    fmt_us(v[1], sizeof v[1], hist_mean(h));
    fmt_us(v[2], sizeof v[2], (double)hist_percentile(h, 50));
    fmt_us(v[3], sizeof v[3], (double)hist_percentile(h, 90));
    fmt_us(v[4], sizeof v[4], (double)hist_percentile(h, 99));
    fmt_us(v[5], sizeof v[5], (double)hist_percentile(h, 99.9));
    fmt_us(v[6], sizeof v[6], (double)hist_max(h));
    printf("latency    min %s  mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", v[0], v[1],
           v[2], v[3], v[4], v[5], v[6]);
    printf("errors     %" PRIu64 "  check failures %" PRIu64 "  timeouts %" PRIu64 "\n",
           lg_stats_errors(st), lg_stats_check_failures(st), lg_stats_timeouts(st));
    for (int e = 0; e < LG_ERR__COUNT; e++)
        if (st->err[e])
            printf("           %-13s %" PRIu64 "\n", lg_error_name((enum lg_error)e), st->err[e]);
    printf("loadgen    %.2f s CPU", cpu);
    if (st->requests)
        printf(", %.2f us per request", cpu * 1e6 / (double)st->requests);
    printf("\n");
    fflush(stdout);
}

/* ---- run -------------------------------------------------------------- */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop_requested = 1;
    struct lg_run *run = g_run;
    if (run)
        atomic_store(&run->stop, true);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second ^C ends loadgen at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Enough descriptors for every connection (the soft limit is often 1024). */
static void raise_fd_limit(unsigned connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = (rlim_t)connections * 2 + 64;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* The timed run; fills st, elapsed and cpu. 0, or -1 with err set. */
static int timed_run(const struct lg_config *cfg, struct lg_stats *st, double *elapsed,
                     double *cpu, bool *interrupted, char *err, size_t errlen)
{
    struct lg_run run;
    memset(&run, 0, sizeof run);
    run.cfg = cfg;
    atomic_init(&run.stop, false);
    atomic_init(&run.issued, 0);
    run.live = calloc(cfg->threads, sizeof *run.live);
    if (!run.live) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct progress prog;
    bool show = progress_start(&prog, &run, cfg->threads, cfg->progress);
    double cpu0 = cpu_seconds();
    run.t_start = lg_now_ns();
    run.t_measure = run.t_start + (uint64_t)(cfg->warmup_s * 1e9);
    run.t_end = cfg->requests ? 0 : run.t_measure + (uint64_t)(cfg->duration_s * 1e9);
    g_run = &run;
    if (g_stop_requested) /* a signal before g_run was set (bench) */
        atomic_store(&run.stop, true);
    int rc = cfg->engine == LG_ENGINE_CURL ? engine_curl_run(&run, st, err, errlen)
                                           : engine_raw_run(&run, st, err, errlen);
    g_run = NULL;
    uint64_t end = lg_now_ns();
    *cpu = cpu_seconds() - cpu0;
    if (show)
        progress_stop(&prog);
    *interrupted = atomic_load(&run.stop);
    if (run.t_end && end > run.t_end)
        end = run.t_end;
    *elapsed = end > run.t_measure ? (double)(end - run.t_measure) / 1e9 : 0;
    free(run.live);
    return rc;
}

/* The CSV file can be appended to (created empty if missing; csv_append
 * writes the header into an empty file). */
static int csv_writable(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "loadgen: --csv %s: %s\n", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* What one run leaves behind, for bench (run_loaded's optional output). */
struct run_out {
    void (*timed_start)(void *arg); /* called just before the timed run (may be NULL) */
    void *arg;
    bool ran;         /* the timed run happened: row is filled */
    bool interrupted; /* SIGINT/SIGTERM cut it short */
    struct csv_row row;
    char why[512];    /* when !ran: what stopped it */
};

static void note_why(struct run_out *out, const char *what, const char *err)
{
    if (out)
        snprintf(out->why, sizeof out->why, "%.40s%s%.400s", what, err && *err ? ": " : "",
                 err ? err : "");
}

/* The part `run` and `bench` share, once the scenario is loaded: the
 * configuration, the checks, the verify pass, the timed run, the summary
 * and the CSV row. Returns the exit status (0, 1, or EXIT_USAGE); out may
 * be NULL. */
static int run_loaded(const struct run_args *a, struct lg_scenario *sc, struct run_out *out)
{
    char err[1024];
    struct lg_config cfg;
    struct lg_stats st = {0};
    int rc = make_config(a, sc, &cfg);
    if (rc) {
        note_why(out, "bad configuration (see above)", NULL);
        goto out;
    }
    if (check_prepare(sc, cfg.fixtures, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        note_why(out, "fixtures", err);
        rc = EXIT_USAGE;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(cfg.connections);
    if (verify_run(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: verify pass failed, no timed run: %s\n", err);
        note_why(out, "verify failed", err);
        rc = 1;
        goto out;
    }
    if (cfg.csv_path && csv_writable(cfg.csv_path) < 0) {
        rc = EXIT_USAGE; /* say so now, not after the whole run */
        goto out;
    }
    install_signals(); /* from now on ^C stops the run and still reports */
    if (lg_stats_init(&st) < 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        note_why(out, "out of memory", NULL);
        rc = 1;
        goto out;
    }
    double elapsed = 0, cpu = 0;
    bool interrupted = false;
    if (out && out->timed_start)
        out->timed_start(out->arg);
    if (timed_run(&cfg, &st, &elapsed, &cpu, &interrupted, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: run failed: %s\n", err);
        note_why(out, "run failed", err);
        rc = 1;
        goto out;
    }
    print_summary(&cfg, &st, elapsed, cpu, interrupted);
    struct csv_row row;
    csv_row_from_stats(&row, &cfg, &st, elapsed, cpu);
    if (out) {
        out->ran = true;
        out->interrupted = interrupted;
        out->row = row;
    }
    if (cfg.csv_path && csv_append(cfg.csv_path, &row, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        rc = 1;
        goto out;
    }
    uint64_t bad = lg_stats_errors(&st) + lg_stats_check_failures(&st) + lg_stats_timeouts(&st);
    if (st.requests == 0)
        fprintf(stderr, "loadgen: no answer in the measured window\n");
    rc = bad || st.requests == 0 ? 1 : 0;
out:
    lg_stats_free(&st);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    struct run_args a;
    int rc = parse_run_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    char err[1024];
    struct lg_scenario sc;
    if (scenario_load(a.scenario, &sc, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return EXIT_USAGE;
    }
    rc = run_loaded(&a, &sc, NULL);
    scenario_free(&sc);
    return rc;
}

/* bench's way into run_loaded: one (model, scenario) run against the
 * server bench started, exactly as `loadgen run` would do it. */
static int bench_run_one(const struct bench_run *br, struct bench_result *res)
{
    struct run_args a = {.duration = -1, .rate = -1, .timeout = -1, .warmup = -1};
    a.scenario = br->sc->file;
    a.target = br->target;
    a.fixtures = br->fixtures;
    a.label = br->label;
    a.duration = br->duration_s > 0 ? br->duration_s : -1;
    a.threads = br->threads;
    a.connections = br->connections;
    struct run_out out = {.timed_start = br->timed_start, .arg = br->arg};
    int rc = run_loaded(&a, br->sc, &out);
    res->ran = out.ran;
    res->interrupted = out.interrupted;
    res->row = out.row;
    memcpy(res->why, out.why, sizeof res->why);
    return rc;
}

static int cmd_fixtures(int argc, char **argv)
{
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(FIXTURES_USAGE, stdout);
        return 0;
    }
    if (argc != 1 || argv[0][0] == '-' || argv[0][0] == '\0') {
        fprintf(stderr, "loadgen: fixtures needs exactly one directory\n%s", FIXTURES_USAGE);
        return EXIT_USAGE;
    }
    char err[1024];
    if (fixtures_create(argv[0], err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return 1;
    }
    return 0;
}

static bool bench_stop_requested(void)
{
    return g_stop_requested != 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(MAIN_USAGE, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(MAIN_USAGE, stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "fixtures") == 0)
        return cmd_fixtures(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0) {
        static const struct bench_hooks hooks = {bench_run_one, bench_stop_requested};
        install_signals(); /* ^C stops the bench between runs, and the run under way */
        return bench_main(argc - 2, argv + 2, &hooks);
    }
    if (strcmp(cmd, "compare") == 0)
        return compare_main(argc - 2, argv + 2, stdout, stderr);
    fprintf(stderr, "loadgen: unknown command '%s'\n%s", cmd, MAIN_USAGE);
    return EXIT_USAGE;
}
