/* main.c - loadgen's command line: which command, and `loadgen run`'s options.
 *
 *   loadgen run SCENARIO.ini --target HOST:PORT [options]   (run.c)
 *   loadgen fixtures DIR                                    (fixtures.c)
 *   loadgen bench --server PATH/refserver [options]         (bench.c)
 *   loadgen compare A.csv B.csv [options]                   (compare.c)
 *   loadgen merge A.csv B.csv ... --hdr-logs A.hlog,...     (merge.c)
 *   loadgen scenario-from-log ACCESS.log [options]          (accesslog.c)
 *
 * Exit 0 when every answer was checked good, 1 on any error, timeout or
 * check failure (or a failed verify), 2 on a usage or scenario error. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "scenario/accesslog.h"
#include "bench/bench.h"
#include "results/compare.h"
#include "os/cpuset.h"
#include "http/fixtures.h"
#include "loadgen.h"
#include "results/merge.h"
#include "optval.h"
#include "run.h"
#include "scenario/scenario.h"
#include "os/wallclock.h"

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
    "  --cpus LIST          pin loadgen to these CPUs (e.g. 1, 2-3, 0,2); the CSV\n"
    "                       row records them (loadgen_cpus)\n"
    "  --hdr-log FILE       write the measured window's latency as an HdrHistogram\n"
    "                       interval log (format 1.3), for `loadgen merge`\n"
    "  --hdr-interval S     its interval (default 1 s)\n"
    "  --start-at UNIX_S    after the verify pass, start the timed run at this\n"
    "                       wall-clock second (several hosts, one window)\n"
    "\n"
    "Numbers take suffixes: counts k, M, G ('10k'); durations us, ms, s, m, h\n"
    "('250ms', '2m'); rates k, M and an optional '/s' ('2.5k').\n"
    "\n"
    "Exit status: 0 every answer checked good, 1 errors, timeouts or check\n"
    "failures (or the verify pass failed), 2 usage or scenario error.\n";

static const char FIXTURES_USAGE[] =
    "usage: loadgen fixtures DIR\n"
    "\n"
    "Creates (or refreshes) the deterministic fixture tree the scenarios are\n"
    "checked against under DIR. Idempotent.\n";

/* One line of help per line of source. */
/* clang-format off */
static const char MAIN_USAGE[] =
    "usage: loadgen COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run SCENARIO.ini --target HOST:PORT [options]   load a server, check every answer\n"
    "  fixtures DIR                                    create the fixture tree\n"
    "  bench --server PATH [options]                   every model x scenario: start, load, record\n"
    "  compare A.csv B.csv [options]                   two result files side by side, regressions\n"
    "  merge A.csv B.csv ... --hdr-logs A.hlog,...     one row for runs on several hosts\n"
    "  scenario-from-log ACCESS.log [options]          a weighted scenario from an access log\n"
    "\n"
    "'loadgen COMMAND --help' describes each command.\n";
/* clang-format on */

/* ---- run: the command line -------------------------------------------- */

enum run_option {
    O_TARGET = 256,
    O_FIXTURES,
    O_THREADS,
    O_CONNECTIONS,
    O_DURATION,
    O_REQUESTS,
    O_RATE,
    O_TIMEOUT,
    O_WARMUP,
    O_CSV,
    O_LABEL,
    O_ENGINE,
    O_PROGRESS,
    O_CPUS,
    O_HDR_LOG,
    O_HDR_INTERVAL,
    O_START_AT,
};

static const struct option RUN_OPTIONS[] = {
    {"target", required_argument, 0, O_TARGET},
    {"fixtures", required_argument, 0, O_FIXTURES},
    {"threads", required_argument, 0, O_THREADS},
    {"connections", required_argument, 0, O_CONNECTIONS},
    {"duration", required_argument, 0, O_DURATION},
    {"requests", required_argument, 0, O_REQUESTS},
    {"rate", required_argument, 0, O_RATE},
    {"timeout", required_argument, 0, O_TIMEOUT},
    {"warmup", required_argument, 0, O_WARMUP},
    {"csv", required_argument, 0, O_CSV},
    {"label", required_argument, 0, O_LABEL},
    {"engine", required_argument, 0, O_ENGINE},
    {"progress", no_argument, 0, O_PROGRESS},
    {"cpus", required_argument, 0, O_CPUS},
    {"hdr-log", required_argument, 0, O_HDR_LOG},
    {"hdr-interval", required_argument, 0, O_HDR_INTERVAL},
    {"start-at", required_argument, 0, O_START_AT},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* --hdr-log, --hdr-interval, --start-at (docs/fleet.md). 0, or EXIT_USAGE
 * after a message. */
static int set_fleet_option(struct run_opts *o, int opt, const char *val)
{
    char msg[256];
    switch (opt) {
    case O_HDR_LOG:
        if (!*val) return run_usage_error("--hdr-log: empty file name");
        o->hdr_log = val;
        return 0;
    case O_HDR_INTERVAL:
        if (optval_seconds("--hdr-interval", val, 0.01, 3600, false, &o->hdr_interval, msg,
                           sizeof msg))
            return run_usage_error("%s", msg);
        return 0;
    default: /* O_START_AT */
        if (optval_start_at("--start-at", val, wallclock_now_s(), &o->start_at, msg, sizeof msg))
            return run_usage_error("%s", msg);
        return 0;
    }
}

/* `loadgen run`'s options: run.c's, and the CPUs loadgen pins itself to. */
struct run_cli {
    struct run_opts o;
    struct cpus cpus; /* n == 0: not pinned */
    char cpus_text[128];
};

/* One option's value into cli. 0, or EXIT_USAGE after a message. */
static int set_run_option(struct run_cli *cli, int opt, const char *val)
{
    char msg[512];
    int rc = 0;
    struct run_opts *o = &cli->o;
    switch (opt) {
    case O_CPUS:
        if (cpus_parse(val, &cli->cpus, msg, sizeof msg) < 0)
            return run_usage_error("--cpus %s: %s", val, msg);
        cpus_format(&cli->cpus, cli->cpus_text, sizeof cli->cpus_text);
        o->loadgen_cpus = cli->cpus_text;
        break;
    case O_TARGET:
        o->target = val;
        break;
    case O_FIXTURES:
        o->fixtures = val;
        break;
    case O_CSV:
        o->csv = val;
        break;
    case O_LABEL:
        o->label = val;
        break;
    case O_PROGRESS:
        o->progress = true;
        break;
    case O_ENGINE:
        if (strcmp(val, "raw") == 0)
            o->engine = LG_ENGINE_RAW;
        else if (strcmp(val, "curl") == 0)
            o->engine = LG_ENGINE_CURL;
        else
            return run_usage_error("--engine: '%s' is neither raw nor curl", val);
        break;
    case O_THREADS:
        rc = optval_count("--threads", val, 1, 1024, &o->threads, msg, sizeof msg);
        break;
    case O_CONNECTIONS:
        rc = optval_count("--connections", val, 1, 100000, &o->connections, msg, sizeof msg);
        break;
    case O_REQUESTS:
        rc = optval_count("--requests", val, 1, UINT64_C(1000000000000), &o->requests, msg,
                          sizeof msg);
        break;
    case O_DURATION:
        rc = optval_seconds("--duration", val, 0, 86400 * 7, true, &o->duration, msg, sizeof msg);
        break;
    case O_RATE:
        rc = optval_rate("--rate", val, 1e8, &o->rate, msg, sizeof msg);
        break;
    case O_TIMEOUT:
        rc = optval_seconds("--timeout", val, 0, 3600, true, &o->timeout, msg, sizeof msg);
        break;
    case O_WARMUP:
        rc = optval_seconds("--warmup", val, 0, 3600, false, &o->warmup, msg, sizeof msg);
        break;
    case O_HDR_LOG:
    case O_HDR_INTERVAL:
    case O_START_AT:
        return set_fleet_option(o, opt, val);
    }
    return rc ? run_usage_error("%s", msg) : 0;
}

/* The checks that span options. 0, or EXIT_USAGE after a message. */
static int check_run_options(const struct run_opts *o)
{
    if (!o->target) return run_usage_error("missing --target HOST:PORT");
    if (o->duration >= 0 && o->requests)
        return run_usage_error("--duration and --requests exclude each other");
    if (o->label && (strlen(o->label) == 0 || strlen(o->label) >= 64))
        return run_usage_error("--label: 1 to 63 characters");
    if (o->csv && !*o->csv) return run_usage_error("--csv: empty file name");
    if (o->fixtures && !*o->fixtures) return run_usage_error("--fixtures: empty directory name");
    return 0;
}

/* argv[0] is "run". Returns 0, 1 for --help (printed), or EXIT_USAGE after
 * a message. */
static int parse_run_args(int argc, char **argv, const char **scenario, struct run_cli *cli)
{
    cli->o = (struct run_opts)RUN_OPTS_INIT;
    cli->cpus.n = 0;
    *scenario = NULL;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", RUN_OPTIONS, NULL)) != -1) {
        if (c == 'h') {
            fputs(RUN_USAGE, stdout);
            return 1;
        }
        if (c == ':') return run_usage_error("%s needs a value", argv[optind - 1]);
        if (c == '?') {
            char msg[128];
            optval_refused(RUN_OPTIONS, argv, msg, sizeof msg);
            return run_usage_error("%s", msg);
        }
        int rc = set_run_option(cli, c, optarg);
        if (rc) return rc;
    }
    if (optind < argc) *scenario = argv[optind++];
    if (optind < argc) return run_usage_error("unexpected argument '%s'", argv[optind]);
    if (!*scenario) return run_usage_error("missing the scenario file");
    return check_run_options(&cli->o);
}

static int cmd_run(int argc, char **argv)
{
    const char *path;
    static struct run_cli cli; /* large (a CPU set): not on the stack */
    int rc = parse_run_args(argc, argv, &path, &cli);
    if (rc) return rc == 1 ? 0 : rc;
    char err[1024];
    if (cli.cpus.n && cpus_pin_self(&cli.cpus, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return 1;
    }
    struct lg_scenario sc;
    if (scenario_load(path, &sc, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return EXIT_USAGE;
    }
    struct run_result res;
    rc = run_scenario(&cli.o, &sc, &res);
    scenario_free(&sc);
    return rc;
}

/* ---- fixtures, and the dispatch ---------------------------------------- */

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
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "fixtures") == 0) return cmd_fixtures(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0) return bench_main(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0) return compare_main(argc - 2, argv + 2, stdout, stderr);
    if (strcmp(cmd, "merge") == 0) return merge_main(argc - 2, argv + 2, stdout, stderr);
    if (strcmp(cmd, "scenario-from-log") == 0)
        return scenario_from_log_main(argc - 2, argv + 2, stdout, stderr);
    fprintf(stderr, "loadgen: unknown command '%s'\n%s", cmd, MAIN_USAGE);
    return EXIT_USAGE;
}
