/* bench.c - the model x scenario matrix: start the server, run, record, stop.
 *
 * Reads top to bottom as the bench does its work:
 *   1. options; the models and scenario files (bench_plan.c);
 *   2. one (model, scenario) run: start the server (bench_server.c), the
 *      run itself (run_scenario, as `loadgen run` does it), stop, record;
 *   3. the matrix, then the ranked tables and the CSV files (bench_report.c).
 * See bench.h and results/README.md. */
#define _XOPEN_SOURCE 700 /* nftw() and its flags */
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_plan.h"
#include "bench_report.h"
#include "bench_server.h"
#include "os/child.h"
#include "os/cpuset.h"
#include "http/fixtures.h"
#include "optval.h"
#include "platform.h"
#include "run.h"
#include "scenario/scenario.h"
#include "sweep.h"

static const char BENCH_USAGE[] =
    "usage: loadgen bench --server PATH/refserver [options]\n"
    "\n"
    "For every model and every scenario whose protocol the server speaks: start\n"
    "the server on an ephemeral loopback port, wait for its 'listening on' line,\n"
    "run the scenario (verify pass, then the timed run, as 'loadgen run' does),\n"
    "record the server's CPU and peak memory over the measured window, stop it\n"
    "with SIGTERM, check that it exited 0 with no process left, write CSV rows,\n"
    "print a ranked table. The server runs in a cgroup of its own where one can\n"
    "be made (its CPU and memory from the kernel's accounting, exited processes\n"
    "included; LOADGEN_NO_CGROUP=1 turns that off), else /proc is read; the\n"
    "row's server_accounting says which.\n"
    "\n"
    "  --server PATH          the refserver binary (required)\n"
    "  --models a,b,...|all   models to run (default all: SERVER --list-models)\n"
    "  --scenarios F.ini,...|DIR  scenario files, or every *.ini of DIR\n"
    "                         (default ./scenarios)\n"
    "  --fixtures DIR         an existing fixture tree (default: a temporary one,\n"
    "                         made with 'loadgen fixtures' and removed after)\n"
    "  --duration SECONDS     measured time per run (default 5)\n"
    "  --connections N[,N..]  override the scenarios' connections; a list is a\n"
    "                         sweep: one run (and row) per point\n"
    "  --rate R[,R..]|auto    open loop at R requests/s (a list: one run per\n"
    "                         point); auto: per model, the highest rate whose p99\n"
    "                         stays within --slo with no error (a closed-loop run,\n"
    "                         then up to 5 bisection steps)\n"
    "  --slo DURATION         the p99 --rate auto must keep (default 10ms)\n"
    "  --threads N            override the scenarios' threads (at most the\n"
    "                         connections of each point)\n"
    "  --rounds N             rounds per point (--repeat N is the same): a round\n"
    "                         runs every model once, the order rotated each\n"
    "                         round, and round 1 runs at every point before\n"
    "                         round 2 at any; the tables show medians and\n"
    "                         min-max, and with 3 or more, verdicts (default 1)\n"
    "  --reference MODEL|none the A/A control: with 2 or more rounds this model\n"
    "                         runs twice a round (the second run's row has\n"
    "                         aa_twin 1), and the verdicts are ratios to it\n"
    "                         (default epoll, else poll, if run)\n"
    "  --cpus S:L|none        pin the server's process group to CPUs S and\n"
    "                         loadgen to CPUs L, disjoint lists like 0 or 0-3,6\n"
    "                         (default with >= 2 CPUs: the first half for the\n"
    "                         server, the second for loadgen)\n"
    "  --csv FILE             append the rows to FILE (instead of --out-dir)\n"
    "  --out-dir DIR          append to DIR/YYYY-MM-DD-REV.csv and replace\n"
    "                         DIR/latest.csv with this bench's rows (default results)\n"
    "  --label-suffix X       the CSV's model column is MODEL + X\n"
    "  --server-arg ARG       one more argument for the server (repeatable)\n"
    "  --ready-timeout S      wait for the readiness line (default 10)\n"
    "  --stop-timeout S       wait for the exit after SIGTERM (default 10)\n"
    "\n"
    "Numbers take suffixes as in 'loadgen run': '1k' connections, '2m', '500ms'.\n"
    "The table marks a run where loadgen used ~90 % of its CPUs ('bound'):\n"
    "it measures the client too; and one where the server's CPU and its own\n"
    "CPUs' busy time (/proc/stat) differ by more than 25 % ('cpu?').\n"
    "Descriptor limits are raised for the largest point (with a note when the\n"
    "hard limit is too low).\n"
    "A model that fails to start, crashes, hangs or fails its verify pass is\n"
    "recorded as a failed row (requests 0, errors >= 1) and the bench goes on.\n"
    "Exit status: 0 every run clean, 1 any failure, error or check failure,\n"
    "2 usage error.\n";

/* ---- 1. options ------------------------------------------------------- */

struct bench_opts {
    struct server_spec server; /* --server, --server-arg, --*-timeout */
    const char *models;        /* NULL = all */
    const char *scenarios;     /* NULL = ./scenarios */
    const char *fixtures;
    const char *csv;
    const char *out_dir;
    const char *label_suffix;
    const char *reference; /* --reference: NULL = epoll, else poll */
    double duration;
    uint64_t threads;     /* 0 = the scenarios' */
    struct sweep conns;   /* n == 0: the scenarios' */
    struct sweep rates;   /* n == 0: the scenarios' (closed loop unless set) */
    bool rate_auto;       /* --rate auto */
    double slo_s;         /* --slo: -1 = not given (10 ms) */
    struct cpu_pair cpus; /* both empty: not pinned */
    char server_cpus[128], loadgen_cpus[128];
    unsigned repeat;
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

enum bench_option {
    O_SERVER = 256,
    O_MODELS,
    O_SCENARIOS,
    O_FIXTURES,
    O_CSV,
    O_OUT_DIR,
    O_LABEL_SUFFIX,
    O_SERVER_ARG,
    O_DURATION,
    O_READY_TIMEOUT,
    O_STOP_TIMEOUT,
    O_CONNECTIONS,
    O_THREADS,
    O_REPEAT,
    O_REFERENCE,
    O_RATE,
    O_SLO,
    O_CPUS,
};

static const struct option BENCH_OPTIONS[] = {
    {"server", required_argument, 0, O_SERVER},
    {"models", required_argument, 0, O_MODELS},
    {"scenarios", required_argument, 0, O_SCENARIOS},
    {"fixtures", required_argument, 0, O_FIXTURES},
    {"csv", required_argument, 0, O_CSV},
    {"out-dir", required_argument, 0, O_OUT_DIR},
    {"label-suffix", required_argument, 0, O_LABEL_SUFFIX},
    {"server-arg", required_argument, 0, O_SERVER_ARG},
    {"duration", required_argument, 0, O_DURATION},
    {"ready-timeout", required_argument, 0, O_READY_TIMEOUT},
    {"stop-timeout", required_argument, 0, O_STOP_TIMEOUT},
    {"connections", required_argument, 0, O_CONNECTIONS},
    {"threads", required_argument, 0, O_THREADS},
    {"repeat", required_argument, 0, O_REPEAT},
    {"rounds", required_argument, 0, O_REPEAT},
    {"reference", required_argument, 0, O_REFERENCE},
    {"rate", required_argument, 0, O_RATE},
    {"slo", required_argument, 0, O_SLO},
    {"cpus", required_argument, 0, O_CPUS},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* A numeric option's value. 0, or EXIT_USAGE after a message. */
static int set_number(struct bench_opts *o, int opt, const char *name, const char *val)
{
    char msg[512];
    int rc = 0;
    switch (opt) {
    case O_DURATION:
        rc = optval_seconds(name, val, 0, 86400, true, &o->duration, msg, sizeof msg);
        break;
    case O_READY_TIMEOUT:
        rc = optval_seconds(name, val, 0, 3600, true, &o->server.ready_timeout_s, msg, sizeof msg);
        break;
    case O_STOP_TIMEOUT:
        rc = optval_seconds(name, val, 0, 3600, true, &o->server.stop_timeout_s, msg, sizeof msg);
        break;
    case O_CONNECTIONS:
        rc = sweep_parse_counts(name, val, 1, 100000, &o->conns, msg, sizeof msg);
        break;
    case O_RATE:
        o->rate_auto = strcmp(val, "auto") == 0;
        if (!o->rate_auto) rc = sweep_parse_rates(name, val, 1e8, &o->rates, msg, sizeof msg);
        break;
    case O_SLO:
        rc = optval_seconds(name, val, 0, 60, true, &o->slo_s, msg, sizeof msg);
        break;
    case O_THREADS:
        rc = optval_count(name, val, 1, 1024, &o->threads, msg, sizeof msg);
        break;
    case O_REPEAT:
        rc = optval_uint(name, val, 1, 1000, &o->repeat, msg, sizeof msg);
        break;
    }
    return rc ? usage("%s", msg) : 0;
}

/* One option's value into o. 0, or EXIT_USAGE after a message. */
static int set_opt(struct bench_opts *o, int opt, const char *name, const char *val)
{
    if (!*val && opt != O_LABEL_SUFFIX && opt != O_SERVER_ARG)
        return usage("%s: empty value", name);
    switch (opt) {
    case O_SERVER:
        o->server.path = val;
        break;
    case O_MODELS:
        o->models = val;
        break;
    case O_SCENARIOS:
        o->scenarios = val;
        break;
    case O_FIXTURES:
        o->fixtures = val;
        break;
    case O_CSV:
        o->csv = val;
        break;
    case O_OUT_DIR:
        o->out_dir = val;
        break;
    case O_LABEL_SUFFIX:
        o->label_suffix = val;
        break;
    case O_REFERENCE:
        o->reference = val;
        break;
    case O_SERVER_ARG:
        if (o->server.nargs == SERVER_MAX_ARGS) return usage("too many --server-arg");
        o->server.args[o->server.nargs++] = val;
        break;
    case O_CPUS: {
        char msg[512];
        if (cpus_parse_pair(val, &o->cpus, msg, sizeof msg) < 0)
            return usage("--cpus %s: %s", val, msg);
        break;
    }
    default:
        return set_number(o, opt, name, val);
    }
    return 0;
}

/* The checks once every option is read. 0, or EXIT_USAGE after a message. */
static int check_opts(const struct bench_opts *o)
{
    if (!o->server.path) return usage("missing --server PATH/refserver");
    if (access(o->server.path, X_OK) != 0)
        return usage("--server %s: %s", o->server.path, strerror(errno));
    struct stat sb;
    if (o->fixtures && (stat(o->fixtures, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return usage("--fixtures %s: not a directory (make one with 'loadgen fixtures DIR')",
                     o->fixtures);
    if (strlen(o->label_suffix) > 31) return usage("--label-suffix: at most 31 characters");
    if (o->slo_s >= 0 && !o->rate_auto) return usage("--slo applies to --rate auto only");
    return 0;
}

/* argv[0] is "bench". 0, 1 after --help, or EXIT_USAGE after a message. */
static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
    *o = (struct bench_opts){.server = {.ready_timeout_s = 10, .stop_timeout_s = 10},
                             .duration = 5,
                             .repeat = 1,
                             .slo_s = -1,
                             .out_dir = "results",
                             .label_suffix = ""};
    opterr = 0;
    bool cpus_given = false;
    int c, index = -1;
    while ((c = getopt_long(argc, argv, ":h", BENCH_OPTIONS, &index)) != -1) {
        if (c == 'h') {
            fputs(BENCH_USAGE, stdout);
            return 1;
        }
        if (c == ':') return usage("%s needs a value", argv[optind - 1]);
        if (c == '?') {
            char msg[128];
            optval_refused(BENCH_OPTIONS, argv, msg, sizeof msg);
            return usage("%s", msg);
        }
        char name[32];
        snprintf(name, sizeof name, "--%s", BENCH_OPTIONS[index].name);
        int rc = set_opt(o, c, name, optarg);
        if (rc) return rc;
        cpus_given |= c == O_CPUS;
    }
    if (optind < argc) return usage("unexpected argument '%s'", argv[optind]);
    if (!cpus_given) cpus_default_pair(&o->cpus);
    cpus_format(&o->cpus.server, o->server_cpus, sizeof o->server_cpus);
    cpus_format(&o->cpus.loadgen, o->loadgen_cpus, sizeof o->loadgen_cpus);
    o->server.cpus = &o->cpus.server;
    return check_opts(o);
}

/* ---- 2. one run --------------------------------------------------------- */

/* The bench, as it goes. */
struct bench {
    const struct bench_opts *o;
    struct names models;
    struct names scen_files;
    struct lg_scenario *scens; /* [scen_files.n] */
    struct names unsupported;  /* "model/proto" pairs the server refused */
    const char *fixtures;
    char fixtures_tmp[1100]; /* the temporary tree, when bench made one */
    char rev[64];
    struct report_files files;
    struct bench_log log;
    bool interrupted;
    bool cg_noted;                    /* the note on the server's cgroup was printed */
    long ref;                         /* the A/A control's model, -1 = none */
    uint64_t t0;                      /* the first run's start (progress) */
    unsigned runs_done, runs_planned; /* (progress) */
};

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

/* A failed run's row: what is known, requests 0, errors >= 1. */
static void failed_row(const struct bench *b, struct bench_record *r, const char *label)
{
    const struct lg_scenario *sc = &b->scens[r->scen];
    struct csv_row *row = &r->row;
    double cpu = row->server_cpu_s, busy = row->server_cpuset_busy_s;
    int64_t rss = row->server_rss_kb, pss = row->server_pss_kb;
    uint64_t errors = row->errors + row->check_failures + row->timeouts;
    char accounting[sizeof row->server_accounting];
    lg_copy(accounting, sizeof accounting, row->server_accounting);
    *row = (struct csv_row){.server_cpu_s = cpu,
                            .server_rss_kb = rss,
                            .server_pss_kb = pss,
                            .loadgen_cpu_s = -1,
                            .loadgen_bound = -1,
                            .server_cpuset_busy_s = busy};
    lg_copy(row->server_accounting, sizeof row->server_accounting, accounting);
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(row->started_at, sizeof row->started_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (gethostname(row->host, sizeof row->host) != 0)
        snprintf(row->host, sizeof row->host, "unknown");
    row->host[sizeof row->host - 1] = '\0';
    lg_copy(row->model, sizeof row->model, label);
    lg_copy(row->protocol, sizeof row->protocol, lg_proto_name(sc->proto));
    lg_copy(row->scenario, sizeof row->scenario, sc->name);
    lg_copy(row->engine, sizeof row->engine, sc->proto == LG_PROTO_FTP ? "curl" : "raw");
    row->threads = b->o->threads ? (unsigned)b->o->threads : sc->threads ? sc->threads : 1;
    if (row->threads > r->conns) row->threads = r->conns;
    row->connections = r->conns;
    row->rate = r->rate;
    row->errors = errors ? errors : 1;
    lg_copy(row->server_cpus, sizeof row->server_cpus, b->o->server_cpus);
    lg_copy(row->loadgen_cpus, sizeof row->loadgen_cpus, b->o->loadgen_cpus);
}

/* The run itself on a ready server, as `loadgen run` does it; then the
 * server's peak RSS, and whether it survived. */
static void measure(struct bench *b, struct server *s, struct bench_record *r, const char *label)
{
    const struct lg_scenario *sc = &b->scens[r->scen];
    pid_t pgid = s->c.pid;
    struct run_opts ro = RUN_OPTS_INIT;
    ro.target = s->target;
    ro.fixtures = b->fixtures;
    ro.label = label;
    ro.duration = b->o->duration;
    ro.connections = r->conns;
    ro.threads = b->o->threads ? b->o->threads : sc->threads ? sc->threads : 1;
    if (ro.threads > r->conns) ro.threads = r->conns; /* the 1-connection point */
    ro.rate = r->rate > 0 ? r->rate : -1;
    ro.server_pgid = pgid;
    ro.server_cg = s->cg.cpu_kind != CG_NONE ? &s->cg : NULL;
    ro.server_cpuset = &b->o->cpus.server;
    ro.server_cpus = b->o->server_cpus;
    ro.loadgen_cpus = b->o->loadgen_cpus;
    ro.steps_csv[0] = b->files.steps;
    ro.steps_csv[1] = b->files.latest_steps[0] ? b->files.latest_steps : NULL;
    struct run_result res;
    run_scenario(&ro, &b->scens[r->scen], &res);
    long hwm = proc_group_hwm_kb(pgid);
    r->row = res.row; /* on failure: zero, but for the server's CPU */
    if (!res.ran) {
        r->failed = true;
        lg_copy(r->why, sizeof r->why, res.why[0] ? res.why : "the run failed");
    }
    if (s->cg.mem_kind == CG_NONE) /* else the cgroup's peak over the window */
        r->row.server_rss_kb = hwm > 0 ? hwm : -1;
    if (res.interrupted || run_stop_requested()) {
        b->interrupted = true;
        if (!r->failed) {
            r->failed = true;
            snprintf(r->why, sizeof r->why, "interrupted");
        }
    }
    if (!child_reap(&s->c)) return; /* still running, as it should be */
    r->failed = true;
    server_explain_exit(s, "died during the run:", r->why, sizeof r->why);
}

/* The server up, the run, the server stopped. 1 when the server does not
 * speak proto (r->skipped); else 0, r->failed set on any failure. */
static int start_run_stop(struct bench *b, struct bench_record *r, const char *model,
                          const char *proto, const char *label)
{
    struct server s;
    int rc = server_start(&s, &b->o->server, model, proto, b->fixtures, r->why, sizeof r->why);
    if (s.cg_note[0] && !b->cg_noted) { /* once a bench: it is the machine's */
        fprintf(stderr, "loadgen bench: note: %s\n", s.cg_note);
        b->cg_noted = true;
    }
    if (rc == 0) {
        measure(b, &s, r, label);
        char why[256] = "";
        if (server_stop(&s, b->o->server.stop_timeout_s, why, sizeof why) < 0 && !r->failed) {
            r->failed = true;
            lg_copy(r->why, sizeof r->why, why);
        }
        if (s.c.pid < 0 && s.cg.mem_kind == CG_NONE && s.c.ru.ru_maxrss > r->row.server_rss_kb)
            r->row.server_rss_kb = s.c.ru.ru_maxrss; /* the largest reaped child's peak */
    } else if (rc < 0) {
        r->failed = true;
    }
    server_close(&s);
    return rc > 0 ? 1 : 0;
}

/* "[12/96, 3m10s left]": where the bench is, from the runs so far. */
static void progress_note(const struct bench *b, char *buf, size_t len)
{
    double spent = (double)(lg_now_ns() - b->t0) / 1e9;
    unsigned done = b->runs_done, total = b->runs_planned > done ? b->runs_planned : done + 1;
    if (done == 0) {
        snprintf(buf, len, "[%u/%u]", done + 1, total);
        return;
    }
    double left = spent / done * (total - done);
    snprintf(buf, len, "[%u/%u, ~%.0fm%02.0fs left]", done + 1, total, floor(left / 60),
             fmod(left, 60));
}

/* One run of model mi over scenario si at point (r->conns, r->rate):
 * start, measure, stop, record. r->skipped when the server does not speak
 * the protocol. */
static void run_one(struct bench *b, struct bench_record *r)
{
    const char *model = b->models.v[r->model];
    const struct lg_scenario *sc = &b->scens[r->scen];
    const char *proto = lg_proto_name(sc->proto);
    char label[64];
    snprintf(label, sizeof label, "%s%s", model, b->o->label_suffix);
    r->row.server_cpu_s = -1;
    r->row.server_rss_kb = -1;
    r->row.server_pss_kb = -1;

    char pair[96];
    snprintf(pair, sizeof pair, "%s/%s", model, proto);
    if (names_has(&b->unsupported, pair)) {
        r->skipped = true;
        bench_log_add(&b->log, r);
        return;
    }
    char where[64], rate[48] = "closed loop";
    progress_note(b, where, sizeof where);
    if (r->rate > 0) snprintf(rate, sizeof rate, "%.0f req/s", r->rate);
    char rnd[48] = "";
    if (b->o->repeat > 1)
        snprintf(rnd, sizeof rnd, ", round %u%s", r->round, r->aa_twin ? ", A/A twin" : "");
    printf("\n== bench %s: %s x %s, %u connections, %s%s ==\n", where, model, sc->name, r->conns,
           rate, rnd);
    fflush(stdout);
    int rc = start_run_stop(b, r, model, proto, label);
    b->runs_done++;
    if (rc == 1) {
        fprintf(stderr, "loadgen bench: note: %s does not speak %s (model %s): skipped\n",
                b->o->server.path, proto, model);
        names_add(&b->unsupported, pair, strlen(pair));
        r->skipped = true;
        bench_log_add(&b->log, r);
        return;
    }
    if (r->failed) {
        failed_row(b, r, label);
        fprintf(stderr, "loadgen bench: %s x %s FAILED: %s\n", model, sc->name, r->why);
    }
    lg_copy(r->row.git_rev, sizeof r->row.git_rev, b->rev);
    r->row.round = r->round;
    r->row.aa_twin = r->aa_twin;
    char err[1024];
    if (csv_append(b->files.csv, &r->row, err, sizeof err) < 0)
        fprintf(stderr, "loadgen bench: %s\n", err);
    if (bench_log_add(&b->log, r) < 0)
        fprintf(stderr, "loadgen bench: out of memory: a row is missing from the table\n");
}

/* Did this try of a search pass (clean, p99 within the SLO, the rate kept)? */
static bool step_passed(const struct bench *b, const struct bench_record *r)
{
    const struct csv_row *w = &r->row;
    uint64_t failures =
        w->errors + w->check_failures + w->timeouts + w->unanswered + w->starved_connections;
    return !r->failed && !r->skipped &&
           rate_search_passes(r->rate, w->req_per_s, w->lat_p99_us, failures, b->log.slo_us);
}

/* --rate auto for model mi, scenario si, conns connections: the closed-loop
 * run, then the bisection (sweep.h); its outcome is a REC_SEARCH record. */
static void search_rate(struct bench *b, size_t mi, size_t si, unsigned conns, unsigned round)
{
    struct bench_record r = {
        .model = mi, .scen = si, .conns = conns, .kind = REC_POINT, .round = round};
    run_one(b, &r);
    if (r.skipped) return;
    struct rate_search s;
    rate_search_init(&s, r.failed ? 0 : r.row.req_per_s, RATE_SEARCH_STEPS);
    struct bench_record best = {
        .model = mi, .scen = si, .conns = conns, .kind = REC_SEARCH, .round = round};
    while (s.next > 0 && !b->interrupted) {
        r = (struct bench_record){.model = mi,
                                  .scen = si,
                                  .conns = conns,
                                  .rate = s.next,
                                  .kind = REC_STEP,
                                  .round = round};
        run_one(b, &r);
        bool passed = step_passed(b, &r);
        if (passed && r.rate > best.rate) {
            best.rate = r.rate;
            best.row = r.row;
        }
        rate_search_record(&s, passed);
        b->interrupted |= run_stop_requested();
    }
    b->runs_planned -= RATE_SEARCH_STEPS - s.steps; /* the steps it did not need */
    best.at_least = rate_search_capped(&s);
    if (best.rate <= 0) {
        best.failed = true;
        snprintf(best.why, sizeof best.why, "no rate kept p99 within %.0f us without errors",
                 b->log.slo_us);
    }
    bench_log_add(&b->log, &best);
}

/* ---- 3. the matrix ------------------------------------------------------ */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p) < 0 && errno != ENOENT ? -1 : 0;
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

static void bench_free(struct bench *b, char *tmpdir)
{
    if (b->scens)
        for (size_t i = 0; i < b->scen_files.n; i++)
            scenario_free(&b->scens[i]);
    free(b->scens);
    bench_log_free(&b->log);
    names_free(&b->models);
    names_free(&b->scen_files);
    names_free(&b->unsupported);
    if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The exit status once every run is done. */
static int verdict(const struct bench *b)
{
    size_t ran = 0;
    bool bad = b->interrupted;
    for (size_t i = 0; i < b->log.nrecs; i++) {
        const struct bench_record *r = &b->log.recs[i];
        /* A search's overloaded tries fail by design; its outcome is no run. */
        if (r->skipped || r->kind != REC_POINT) continue;
        ran++;
        bad |= r->failed || r->row.errors || r->row.check_failures || r->row.timeouts ||
               r->row.unanswered || r->row.starved_connections || r->row.requests == 0;
    }
    if (ran == 0) fprintf(stderr, "loadgen bench: nothing ran\n");
    return bad || ran == 0 ? 1 : 0;
}

/* A scenario's connection points: --connections, or its own. */
static void conn_points(const struct bench *b, const struct lg_scenario *sc, struct sweep *out)
{
    *out = b->o->conns;
    if (out->n == 0) {
        out->v[0] = sc->connections ? sc->connections : 10;
        out->n = 1;
    }
}

/* The runs the matrix will make (searches counted at their most). */
static unsigned plan_runs(const struct bench *b)
{
    unsigned per_point =
        b->o->rate_auto ? 1 + RATE_SEARCH_STEPS : (unsigned)(b->o->rates.n ? b->o->rates.n : 1);
    unsigned runs = 0;
    for (size_t si = 0; si < b->scen_files.n; si++) {
        struct sweep cp;
        conn_points(b, &b->scens[si], &cp);
        runs += (unsigned)cp.n * per_point;
    }
    return runs * b->o->repeat * (unsigned)(b->models.n + (b->ref >= 0));
}

/* Round k of one (scenario, connections) point: at every rate point (or
 * the searches), every model once and the reference's A/A twin, the order
 * rotated, so a noisy moment of the machine does not land on one model's
 * runs only, and every model has a same-round pair with the reference
 * (bench_plan.h). */
static void run_round(struct bench *b, size_t si, unsigned conns, unsigned k)
{
    const struct lg_scenario *sc = &b->scens[si];
    size_t nrates = b->o->rates.n ? b->o->rates.n : 1;
    size_t slots[NAMES_MAX + 1];
    for (size_t ri = 0; ri < nrates && !b->interrupted; ri++) {
        size_t len = plan_round(b->models.n, b->ref, k, slots);
        for (size_t i = 0; i < len && !b->interrupted; i++) {
            bool twin = slots[i] == b->models.n;
            size_t mi = twin ? (size_t)b->ref : slots[i];
            if (b->o->rate_auto) {
                search_rate(b, mi, si, conns, k + 1);
            } else {
                double rate = b->o->rates.n ? b->o->rates.v[ri] : sc->rate;
                struct bench_record r = {.model = mi,
                                         .scen = si,
                                         .conns = conns,
                                         .rate = rate,
                                         .round = k + 1,
                                         .aa_twin = twin};
                run_one(b, &r);
            }
            b->interrupted |= run_stop_requested();
        }
    }
}

/* Round 1 at every point, then round 2 at every point, ...: a point's
 * rounds are spread over the whole bench, not run back to back, so the
 * drift of a shared machine over minutes (other guests, the host's own
 * work) shows in a point's rounds, and so in its intervals, instead of
 * moving every round of that point together (which a rerun then does not
 * repeat: issue 17's verdicts that did not reproduce). */
static void run_matrix(struct bench *b)
{
    for (unsigned k = 0; k < b->o->repeat && !b->interrupted; k++)
        for (size_t si = 0; si < b->scen_files.n && !b->interrupted; si++) {
            struct sweep cp;
            conn_points(b, &b->scens[si], &cp);
            for (size_t ci = 0; ci < cp.n && !b->interrupted; ci++)
                run_round(b, si, (unsigned)cp.v[ci], k);
        }
}

/* Pin loadgen (the server is pinned as it starts), raise the descriptor
 * limit for the largest point (the server inherits it), say both. */
static int prepare_machine(const struct bench *b)
{
    const struct bench_opts *o = b->o;
    if (o->cpus.loadgen.n) {
        char err[512];
        if (cpus_pin_self(&o->cpus.loadgen, err, sizeof err) < 0) {
            fprintf(stderr, "loadgen bench: %s\n", err);
            return -1;
        }
        printf("bench: server on CPU %s, loadgen on CPU %s (--cpus none: no pinning)\n",
               o->server_cpus, o->loadgen_cpus);
    } else {
        printf("bench: server and loadgen share the CPUs (no pinning)\n");
    }
    if (!SM_LINUX)
        printf("bench: note: this build reads no /proc (portable): the server's CPU and memory "
               "columns are -1\n");
    unsigned most = 0;
    for (size_t si = 0; si < b->scen_files.n; si++) {
        struct sweep cp;
        conn_points(b, &b->scens[si], &cp);
        for (size_t i = 0; i < cp.n; i++)
            most = cp.v[i] > most ? (unsigned)cp.v[i] : most;
    }
    run_raise_fd_limit(most);
    return 0;
}

/* The tables, latest.csv, where the rows are. */
static void report(struct bench *b)
{
    printf("\n");
    for (size_t si = 0; si < b->scen_files.n; si++)
        report_tables(&b->log, &b->scens[si], si);
    char err[1300];
    const char *latest = b->files.latest;
    if (latest[0] && report_write_latest(latest, &b->log, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen bench: %s\n", err);
        b->interrupted = true; /* the files are incomplete: not a clean bench */
    }
    if (report_verdicts(&b->log, b->files.verdicts, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen bench: %s\n", err);
        b->interrupted = true;
    }
    printf("\nrows: %s%s%s\n", b->files.csv, latest[0] ? " and " : "", latest);
    printf("per-step rows: %s%s%s\n", b->files.steps, latest[0] ? " and " : "",
           b->files.latest_steps);
    printf("verdicts: %s\n", b->files.verdicts);
    if (b->interrupted) fprintf(stderr, "loadgen bench: interrupted\n");
}

int bench_main(int argc, char **argv)
{
    run_catch_signals(); /* ^C stops the bench between runs, and the run under way */
    struct bench_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    struct bench b = {.o = &o, .fixtures = o.fixtures};
    char tmpdir[1024] = "";
    rc = EXIT_USAGE;
    if (plan_models(o.server.path, o.models, &b.models) < 0 ||
        plan_scenarios(o.scenarios, &b.scen_files) < 0 || load_scenarios(&b) < 0)
        goto out;
    b.log = (struct bench_log){.models = b.models.v,
                               .nmodels = b.models.n,
                               .repeat = o.repeat,
                               .slo_us = (o.slo_s > 0 ? o.slo_s : 0.010) * 1e6};
    if (o.reference && strcmp(o.reference, "none") != 0 &&
        plan_reference(&b.models, o.reference) < 0) {
        fprintf(stderr, "loadgen bench: --reference %s: not among the models run\n", o.reference);
        goto out;
    }
    /* The A/A twin needs rounds to pair with, and a search's rate is no point. */
    b.ref = o.repeat > 1 && !o.rate_auto ? plan_reference(&b.models, o.reference) : -1;
    b.log.reference = b.ref;
    report_git_rev(b.rev, sizeof b.rev);
    if (report_pick_files(&b.files, o.csv, o.out_dir, b.rev) < 0) goto out;
    rc = 1;
    if (!b.fixtures && make_fixtures(&b, tmpdir, sizeof tmpdir) < 0) goto out;
    signal(SIGPIPE, SIG_IGN);
    if (prepare_machine(&b) < 0) goto out;
    b.runs_planned = plan_runs(&b);
    b.t0 = lg_now_ns();
    run_matrix(&b);
    report(&b);
    rc = verdict(&b);
out:
    fflush(stdout);
    bench_free(&b, tmpdir);
    return rc;
}
