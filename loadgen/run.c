/* run.c - one run of a loaded scenario (run.h), top to bottom:
 *   1. the configuration: options over scenario over defaults;
 *   2. the progress line, a thread that reads the engines' live counters;
 *   3. the summary on stdout;
 *   4. signals, the timed run on one engine;
 *   5. run_scenario: checks, verify pass, timed run, summary, CSV row. */
#include "run.h"

#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "http/check.h"
#include "os/cgroup.h"
#include "os/cpuset.h"
#include "os/sampler.h"
#include "results/hdrrun.h"
#include "results/stats.h"
#include "results/steptable.h"
#include "os/wallclock.h"

/* The run SIGINT / SIGTERM stop (set only while the timed run is going). */
static struct lg_run *volatile g_run;
/* SIGINT / SIGTERM arrived (bench stops between runs). */
static volatile sig_atomic_t g_stop_requested;

int run_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try 'loadgen run --help')\n", stderr); /* one line: the reason first */
    return EXIT_USAGE;
}

/* ---- 1. the configuration --------------------------------------------- */

static bool valid_port(const char *s, unsigned *port)
{
    size_t len = strspn(s, "0123456789");
    if (len == 0 || len > 5 || s[len] != '\0') return false;
    unsigned long p = strtoul(s, NULL, 10);
    *port = (unsigned)p;
    return p >= 1 && p <= 65535;
}

/* HOST:PORT, [V6]:PORT. */
static int parse_target(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
        if (hl == 0 || memchr(h, ':', hl) == NULL) return -1; /* brackets are for IPv6 */
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return -1; /* none, or a bare IPv6 address */
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen) return -1;
    for (size_t i = 0; i < hl; i++)
        if (h[i] <= ' ' || h[i] == '/' || h[i] == '[' || h[i] == ']' || (unsigned char)h[i] >= 127)
            return -1;
    unsigned p;
    if (!valid_port(colon + 1, &p)) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%u", p);
    return 0;
}

static bool needs_fixtures(const struct lg_scenario *sc)
{
    for (size_t i = 0; i < sc->nsteps; i++)
        if (sc->steps[i].expect == LG_EXPECT_FILE) return true;
    return false;
}

/* Options over scenario over defaults. 0, or EXIT_USAGE after a message. */
static int make_config(const struct run_opts *o, const struct lg_scenario *sc,
                       struct lg_config *cfg)
{
    *cfg = (struct lg_config){.sc = sc};
    if (!o->target ||
        parse_target(o->target, cfg->host, sizeof cfg->host, cfg->port, sizeof cfg->port) < 0)
        return run_usage_error("--target: '%s' is not HOST:PORT or [IPv6]:PORT",
                               o->target ? o->target : "");
    cfg->fixtures = o->fixtures;
    cfg->threads = o->threads ? (unsigned)o->threads : sc->threads ? sc->threads : 1;
    cfg->connections = o->connections    ? (unsigned)o->connections
                       : sc->connections ? sc->connections
                                         : 10;
    if (o->duration > 0 || o->requests) {
        cfg->duration_s = o->duration > 0 ? o->duration : 0;
        cfg->requests = o->requests;
    } else if (sc->requests) {
        cfg->requests = sc->requests;
    } else {
        cfg->duration_s = sc->duration_s > 0 ? sc->duration_s : 10;
    }
    cfg->rate = o->rate > 0 ? o->rate : sc->rate;
    cfg->timeout_s = o->timeout > 0 ? o->timeout : sc->timeout_s > 0 ? sc->timeout_s : 5;
    cfg->warmup_s = o->warmup >= 0 ? o->warmup : sc->warmup_s;
    cfg->keepalive = sc->keepalive;
    cfg->progress = o->progress;
    cfg->csv_path = o->csv;
    cfg->label = o->label;
    cfg->start_at = o->start_at;
    cfg->hdr_log = o->hdr_log;
    cfg->hdr_interval_s = o->hdr_interval > 0 ? o->hdr_interval : 1.0;
    if (cfg->threads > cfg->connections)
        return run_usage_error("%u threads for %u connections: need threads <= connections",
                               cfg->threads, cfg->connections);
    cfg->engine = o->engine;
    if (cfg->engine == LG_ENGINE_DEFAULT)
        cfg->engine = sc->proto == LG_PROTO_FTP ? LG_ENGINE_CURL : LG_ENGINE_RAW;
    if (cfg->engine == LG_ENGINE_RAW && sc->proto == LG_PROTO_FTP)
        return run_usage_error("the raw engine does not speak FTP (use --engine curl)");
    if (needs_fixtures(sc) && !cfg->fixtures)
        return run_usage_error("%s: steps check files: --fixtures DIR is required", sc->file);
    return 0;
}

/* ---- 2. the progress line --------------------------------------------- */

struct progress {
    struct lg_run *run;
    unsigned nlive;
    bool tty;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    pthread_t tid;
};

/* One line: the rate since the last one, errors and the worst thread's p99. */
static void progress_line(const struct progress *p, uint64_t t0, uint64_t *last_req,
                          uint64_t *last_t)
{
    uint64_t req = 0, fail = 0, p99 = 0, now = lg_now_ns();
    for (unsigned i = 0; i < p->nlive; i++) {
        req += atomic_load_explicit(&p->run->live[i].requests, memory_order_relaxed);
        fail += atomic_load_explicit(&p->run->live[i].failures, memory_order_relaxed);
        uint64_t q = atomic_load_explicit(&p->run->live[i].p99_us, memory_order_relaxed);
        p99 = q > p99 ? q : p99;
    }
    double dt = (double)(now - *last_t) / 1e9;
    fprintf(stderr, "%s[%6.1fs] %10.0f req/s  %" PRIu64 " errors  p99 %.3f ms%s",
            p->tty ? "\r" : "", (double)(now - t0) / 1e9,
            dt > 0 ? (double)(req - *last_req) / dt : 0.0, fail, (double)p99 / 1000.0,
            p->tty ? "   " : "\n");
    fflush(stderr);
    *last_req = req;
    *last_t = now;
}

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
        if (p->done) break;
        progress_line(p, t0, &last_req, &last_t);
    }
    pthread_mutex_unlock(&p->mu);
    if (p->tty) fputs("\r\033[K", stderr);
    return NULL;
}

static bool progress_start(struct progress *p, struct lg_run *run, unsigned nlive, bool forced)
{
    p->tty = isatty(STDERR_FILENO);
    if (!p->tty && !forced) return false;
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

/* ---- 3. the summary --------------------------------------------------- */

static const char *engine_name(enum lg_engine e)
{
    return e == LG_ENGINE_CURL ? "curl" : "raw";
}

static void print_latency(const struct hist *h)
{
    char v[7][32];
    hist_fmt_us(v[0], sizeof v[0], (double)hist_min(h));
    hist_fmt_us(v[1], sizeof v[1], hist_mean(h));
    hist_fmt_us(v[2], sizeof v[2], (double)hist_percentile(h, 50));
    hist_fmt_us(v[3], sizeof v[3], (double)hist_percentile(h, 90));
    hist_fmt_us(v[4], sizeof v[4], (double)hist_percentile(h, 99));
    hist_fmt_us(v[5], sizeof v[5], (double)hist_percentile(h, 99.9));
    hist_fmt_us(v[6], sizeof v[6], (double)hist_max(h));
    printf("latency    min %s  mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", v[0], v[1],
           v[2], v[3], v[4], v[5], v[6]);
}

/* --latency: wrk's "Latency Distribution", with the tail wrk2 prints. */
static void print_latency_table(const struct hist *h)
{
    static const double pct[] = {50, 75, 90, 99, 99.9, 99.99, 99.999, 100};
    printf("latency distribution\n");
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        char v[32];
        hist_fmt_us(v, sizeof v, (double)(pct[i] < 100 ? hist_percentile(h, pct[i]) : hist_max(h)));
        printf("   %8.3f%%  %s\n", pct[i], v);
    }
}

/* Which checks were in force: one step's in words, or the scenario's. */
static void print_checks(const struct lg_scenario *sc)
{
    char what[LG_PATH_MAX + 300];
    if (sc->nsteps == 1)
        check_describe(&sc->steps[0], sc->proto, what, sizeof what);
    else
        snprintf(what, sizeof what, "%zu steps, each as the scenario says", sc->nsteps);
    printf("checks     %s\n", what);
}

static void print_summary(const struct lg_config *cfg, const struct lg_stats *st, double elapsed,
                          double cpu, bool interrupted)
{
    const struct lg_scenario *sc = cfg->sc;
    printf("scenario   %s (%s, %s engine)%s\n", sc->name[0] ? sc->name : sc->file,
           lg_proto_name(sc->proto), engine_name(cfg->engine), interrupted ? "  INTERRUPTED" : "");
    bool v6 = strchr(cfg->host, ':') != NULL;
    printf("target     %s%s%s:%s, %u threads, %u connections, ", v6 ? "[" : "", cfg->host,
           v6 ? "]" : "", cfg->port, cfg->threads, cfg->connections);
    if (cfg->rate > 0)
        printf("open loop at %.0f req/s\n", cfg->rate);
    else
        printf("closed loop\n");
    double rps = elapsed > 0 ? (double)st->requests / elapsed : 0;
    double mbs = elapsed > 0 ? (double)st->bytes / elapsed / 1e6 : 0;
    print_checks(sc);
    printf("requests   %" PRIu64 " in %.2f s: %.1f req/s, %.2f MB/s\n", st->requests, elapsed, rps,
           mbs);
    print_latency(st->lat);
    printf("errors     %" PRIu64 "  check failures %" PRIu64 "  timeouts %" PRIu64
           "  refused %" PRIu64 "\n",
           lg_stats_errors(st), lg_stats_check_failures(st), lg_stats_timeouts(st),
           lg_stats_refused(st));
    printf("unanswered %" PRIu64 "  starved connections %" PRIu64 "\n", st->unanswered,
           st->starved_connections);
    for (int e = 0; e < LG_ERR__COUNT; e++)
        if (st->err[e])
            printf("           %-13s %" PRIu64 "\n", lg_error_name((enum lg_error)e), st->err[e]);
    printf("loadgen    %.2f s CPU", cpu);
    if (st->requests) printf(", %.2f us per request", cpu * 1e6 / (double)st->requests);
    printf("\n");
    fflush(stdout);
}

/* ---- 4. signals and the timed run ------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    g_stop_requested = 1;
    struct lg_run *run = g_run;
    if (run) atomic_store(&run->stop, true);
}

void run_catch_signals(void)
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

bool run_stop_requested(void)
{
    return g_stop_requested != 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Enough descriptors for every connection (the soft limit is often 1024):
 * the soft limit up to the hard one, and past it when loadgen may (root);
 * a note when even that is not enough. */
void run_raise_fd_limit(unsigned connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return;
    rlim_t want = (rlim_t)connections * 2 + 64; /* FTP: a data connection each */
    if (rl.rlim_cur >= want) return;
    struct rlimit more = {want,
                          rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? rl.rlim_max : want};
    if (setrlimit(RLIMIT_NOFILE, &more) == 0) return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    fprintf(stderr,
            "loadgen: note: %u connections want %llu file descriptors, the hard limit is %llu "
            "(raise it: ulimit -Hn, or run as root); connections past it fail\n",
            connections, (unsigned long long)want, (unsigned long long)rl.rlim_max);
}

/* What the timed run measured besides the stats. */
struct timed {
    double elapsed;               /* the measured window, s */
    double wall;                  /* the whole timed run, warmup included, s */
    double cpu;                   /* loadgen's CPU over the run, s */
    struct sampler_result server; /* the server over the window; -1s = unknown */
    bool interrupted;
    struct hdrrun *hdr; /* --hdr-log: written up to the end, to commit or discard */
};

/* --hdr-log: the log of the measured window, which starts at --start-at
 * plus the warm-up exactly when given. 0, or -1 with err. */
static int start_hdr_log(const struct lg_config *cfg, struct lg_run *run, struct timed *t,
                         char *err, size_t errlen)
{
    double start =
        cfg->start_at > 0 ? cfg->start_at + cfg->warmup_s : wallclock_from_mono_ns(run->t_measure);
    t->hdr = hdrrun_start(cfg, run, start, err, errlen);
    return t->hdr ? 0 : -1;
}

/* The timed run on cfg's engine into st. 0, or -1 with err set. */
static int timed_run(const struct lg_config *cfg, const struct run_opts *opts, struct lg_stats *st,
                     struct timed *t, char *err, size_t errlen)
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
    run.t_start = cfg->start_at > 0 ? wallclock_to_mono_ns(cfg->start_at) : lg_now_ns();
    run.t_measure = run.t_start + (uint64_t)(cfg->warmup_s * 1e9);
    run.t_end = cfg->requests ? 0 : run.t_measure + (uint64_t)(cfg->duration_s * 1e9);
    /* The server over the measured window only, as the requests count. */
    struct sampler server;
    struct sampler_what what = {opts->server_pgid, opts->server_cg, opts->server_cpuset};
    bool sampling =
        opts->server_pgid > 0 && sampler_start(&server, &what, run.t_measure, run.t_end) == 0;
    if (cfg->hdr_log && start_hdr_log(cfg, &run, t, err, errlen) < 0) {
        if (sampling) sampler_stop(&server, &t->server);
        if (show) progress_stop(&prog);
        free(run.live);
        return -1;
    }
    g_run = &run;
    if (g_stop_requested) /* a signal before g_run was set (bench) */
        atomic_store(&run.stop, true);
    int rc = cfg->engine == LG_ENGINE_CURL ? engine_curl_run(&run, st, err, errlen)
                                           : engine_raw_run(&run, st, err, errlen);
    g_run = NULL;
    hdrrun_stop(t->hdr);
    uint64_t end = lg_now_ns();
    t->cpu = cpu_seconds() - cpu0;
    if (sampling) sampler_stop(&server, &t->server);
    t->wall = (double)(end - run.t_start) / 1e9;
    if (show) progress_stop(&prog);
    t->interrupted = atomic_load(&run.stop);
    if (run.t_end && end > run.t_end) end = run.t_end;
    t->elapsed = end > run.t_measure ? (double)(end - run.t_measure) / 1e9 : 0;
    free(run.live);
    return rc;
}

/* ---- 5. the whole run -------------------------------------------------- */

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

static void note_why(struct run_result *res, const char *what, const char *err)
{
    snprintf(res->why, sizeof res->why, "%.40s%s%.400s", what, err && *err ? ": " : "",
             err ? err : "");
}

/* --start-at: the verify pass is over; sleep until the start. 0, or 1 after
 * a message when the start is already past (the fleet's window is missed)
 * or a signal came first. */
static int wait_start_at(const struct lg_config *cfg, struct run_result *res)
{
    double now = wallclock_now_s();
    if (now > cfg->start_at) {
        fprintf(stderr,
                "loadgen: --start-at %.3f: the verify pass ended %.3f s after it, no timed run "
                "(start later)\n",
                cfg->start_at, now - cfg->start_at);
        note_why(res, "verify pass ended after --start-at", NULL);
        return 1;
    }
    if (wallclock_sleep_until(cfg->start_at, run_stop_requested) < 0) {
        note_why(res, "interrupted before --start-at", NULL);
        return 1;
    }
    return 0;
}

/* The verify pass; then every step still to learn (expect = same or
 * sha256) takes its first answer's length and XXH64 as what every answer
 * of the timed run must have, so both engines check it as a given hash.
 * 0, or -1 with err. */
static int verify_and_learn(const struct lg_config *cfg, struct lg_scenario *sc, char *err,
                            size_t errlen)
{
    struct verify_body *first = calloc(sc->nsteps ? sc->nsteps : 1, sizeof *first);
    if (!first) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < sc->nsteps; i++) /* learnt anew every run (bench runs it again) */
        if (sc->steps[i].expect == LG_EXPECT_SAME || sc->steps[i].expect == LG_EXPECT_SHA256)
            sc->steps[i].expect_length = -1;
    int rc = verify_run(cfg, first, err, errlen);
    for (size_t i = 0; rc == 0 && i < sc->nsteps; i++) {
        struct lg_step *st = &sc->steps[i];
        if ((st->expect != LG_EXPECT_SAME && st->expect != LG_EXPECT_SHA256) ||
            st->expect_length >= 0)
            continue;
        /* none: the step expects a negative FTP reply (550), which has no body */
        bool none = first[i].length < 0;
        st->expect_length = none ? 0 : first[i].length;
        st->expect_hash = none ? XXH64("", 0, 0) : first[i].hash;
    }
    free(first);
    return rc;
}

/* Everything before the timed run: the configuration, the checks, the
 * verify pass, the CSV file, the --start-at wait. 0, or the exit status
 * after a message. */
static int prepare(const struct run_opts *opts, struct lg_scenario *sc, struct lg_config *cfg,
                   struct run_result *res)
{
    char err[1024];
    if (make_config(opts, sc, cfg)) {
        note_why(res, "bad configuration (see above)", NULL);
        return EXIT_USAGE;
    }
    if (check_prepare(sc, cfg->fixtures, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        note_why(res, "fixtures", err);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    run_raise_fd_limit(cfg->connections);
    if (verify_and_learn(cfg, sc, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: verify pass failed, no timed run: %s\n", err);
        note_why(res, "verify failed", err);
        return 1;
    }
    if (cfg->csv_path && csv_writable(cfg->csv_path) < 0)
        return EXIT_USAGE; /* say so now, not after the whole run */
    if (cfg->hdr_log && hdrrun_check_path(cfg->hdr_log, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: --hdr-log %s\n", err);
        return EXIT_USAGE;
    }
    return cfg->start_at > 0 ? wait_start_at(cfg, res) : 0;
}

/* The CPUs loadgen's engine threads can keep busy: one per thread, at
 * most the CPUs it may run on. */
static double loadgen_capacity(const struct lg_config *cfg)
{
    unsigned ncpu = cpus_count_self();
    return cfg->threads < ncpu ? cfg->threads : ncpu;
}

/* Loadgen used ~90 % or more of what its CPUs could give it: the numbers
 * measure the client as much as the server. */
static bool loadgen_bound(const struct lg_config *cfg, const struct timed *t)
{
    return t->wall > 0 && t->cpu >= 0.9 * t->wall * loadgen_capacity(cfg);
}

/* The columns the bench adds: the server's CPU, memory peak (from its
 * cgroup; bench fills it from /proc otherwise) and peak PSS, where they
 * came from, its CPUs' busy time, the bound flag, the CPU lists. */
static void fill_study_columns(struct csv_row *row, const struct run_opts *opts,
                               const struct timed *t, bool bound)
{
    row->server_cpu_s = t->server.cpu_s;
    row->server_pss_kb = t->server.pss_peak_kb;
    row->server_rss_kb = t->server.mem_peak_kb;
    if (opts->server_pgid > 0)
        cgroup_describe(opts->server_cg, row->server_accounting, sizeof row->server_accounting);
    row->server_cpuset_busy_s = t->server.busy_s;
    row->loadgen_bound = bound ? 1 : 0;
    snprintf(row->server_cpus, sizeof row->server_cpus, "%s",
             opts->server_cpus ? opts->server_cpus : "");
    snprintf(row->loadgen_cpus, sizeof row->loadgen_cpus, "%s",
             opts->loadgen_cpus ? opts->loadgen_cpus : "");
}

int run_scenario(const struct run_opts *opts, struct lg_scenario *sc, struct run_result *res)
{
    memset(res, 0, sizeof *res);
    res->row.server_cpu_s = -1;
    res->row.server_rss_kb = -1;
    res->row.server_pss_kb = -1;
    res->row.loadgen_bound = -1;
    res->row.server_cpuset_busy_s = -1;
    struct lg_config cfg;
    int rc = prepare(opts, sc, &cfg, res);
    if (rc) return rc;
    run_catch_signals(); /* from now on ^C stops the run and still reports */
    struct lg_stats st = {0};
    if (lg_stats_init(&st) < 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        note_why(res, "out of memory", NULL);
        return 1;
    }
    char err[1024];
    struct timed t = {.server = {-1, -1, -1, -1, 0}};
    if (timed_run(&cfg, opts, &st, &t, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: run failed: %s\n", err);
        note_why(res, "run failed", err);
        res->row.server_cpu_s = t.server.cpu_s;
        hdrrun_discard(t.hdr);
        lg_stats_free(&st);
        return 1;
    }
    bool bound = loadgen_bound(&cfg, &t);
    print_summary(&cfg, &st, t.elapsed, t.cpu, t.interrupted);
    steptable_print(stdout, &st, cfg.sc);
    if (opts->latency) print_latency_table(st.lat);
    if (bound)
        printf("           loadgen used %.0f %% of its CPUs: this run measures the client too\n",
               t.cpu * 100 / (t.wall * loadgen_capacity(&cfg)));
    if (t.server.late_s >= 0.05)
        fprintf(stderr,
                "loadgen: note: the server's CPU readings spanned %.2f s more than the window (a "
                "busy machine): scaled to the window\n",
                t.server.late_s);
    csv_row_from_stats(&res->row, &cfg, &st, t.elapsed, t.cpu);
    fill_study_columns(&res->row, opts, &t, bound);
    res->ran = true;
    res->interrupted = t.interrupted;
    /* Unanswered requests and starved connections count like timeouts. A
     * refusal at a documented limit (503, 421) is the server's capacity,
     * not a wrong answer: counted and shown, it fails no run (as wrk's
     * non-2xx count). */
    uint64_t bad = lg_stats_errors(&st) + lg_stats_check_failures(&st) + lg_stats_timeouts(&st) +
                   st.unanswered + st.starved_connections;
    rc = bad || st.requests == 0 ? 1 : 0;
    if (cfg.csv_path && csv_append(cfg.csv_path, &res->row, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        rc = 1;
    } else if (st.requests == 0) {
        fprintf(stderr, "loadgen: no answer in the measured window\n");
    }
    for (int i = 0; i < 2; i++)
        if (opts->steps_csv[i] &&
            steptable_csv_append(opts->steps_csv[i], &res->row, &st, cfg.sc, err, sizeof err) < 0) {
            fprintf(stderr, "loadgen: %s\n", err);
            rc = 1;
        }
    if (t.hdr && hdrrun_commit(t.hdr, st.lat, t.elapsed, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: --hdr-log: %s\n", err);
        rc = 1;
    }
    lg_stats_free(&st);
    return rc;
}
