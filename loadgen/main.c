/* main.c - loadgen's command line: which command, and `loadgen run`'s options.
 *
 *   loadgen run SCENARIO.ini --target HOST:PORT [options]   (run.c)
 *   loadgen run URL [options]      wrk's options too         (urlscenario.c)
 *   loadgen fixtures DIR                                    (fixtures.c)
 *   loadgen bench --server PATH/refserver [options]         (bench.c)
 *   loadgen compare A.csv B.csv [options]                   (compare.c)
 *   loadgen merge A.csv B.csv ... --hdr-logs A.hlog,...     (merge.c)
 *   loadgen verdicts RESULTS.csv [options]                  (verdict_table.c)
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
#include "results/verdict_table.h"
#include "optval.h"
#include "run.h"
#include "scenario/scenario.h"
#include "scenario/scenario_save.h"
#include "scenario/urlscenario.h"
#include "os/wallclock.h"

static const char RUN_USAGE[] =
    "usage: loadgen run SCENARIO.ini --target HOST:PORT [options]\n"
    "       loadgen run URL [options]\n"
    "\n"
    "Replays the scenario against HOST:PORT ([v6addr]:port for IPv6), checks\n"
    "every answer, prints a summary and optionally appends a CSV row.\n"
    "Command-line values override the scenario's.\n"
    "\n"
    "A URL is a one-step scenario: http://HOST[:PORT]/PATH (a GET),\n"
    "ftp://[USER[:PASS]@]HOST[:PORT]/PATH (a RETR; a PATH ending in '/' a LIST),\n"
    "HOST a name, an IPv4 address or [an IPv6 address]. wrk's and wrk2's options\n"
    "work as there: loadgen run http://127.0.0.1:8080/ -c 64 -t 2 -d 10s\n"
    "\n"
    "  --target HOST:PORT   server to load (required with a scenario file)\n"
    "  --fixtures DIR       fixture tree the answers are checked against\n"
    "                       (required when a step expects a file)\n"
    "  -t, --threads N      client threads (default 1)\n"
    "  -c, --connections N  concurrent connections over all threads (default 10)\n"
    "  -d, --duration SECONDS  measured run time (default 10; '10s' and '500ms' work)\n"
    "  --requests N         stop after N measured requests instead of a duration\n"
    "  -R, --rate PER_SECOND  open loop: fixed request rate over all connections;\n"
    "                       latency counts from the scheduled start (wrk2)\n"
    "  --timeout SECONDS    per request (default 5)\n"
    "  --latency            print the latency percentile table (wrk's --latency)\n"
    "  --warmup SECONDS     load before the measured window, not counted\n"
    "  --csv FILE           append one result row (header written when new)\n"
    "  --steps-csv FILE     append one row per step (and setup step: connect,\n"
    "                       FTP login, data connection) with its own figures\n"
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
    "With a URL only:\n"
    "  -H, --header 'NAME: VALUE'  a request header (repeatable); 'Host: NAME'\n"
    "                       replaces the Host header, 'Connection: close' turns\n"
    "                       keep-alive off\n"
    "  -m, --method METHOD  the HTTP method (default GET, POST with --body); ftp://\n"
    "                       takes RETR, LIST or NLST\n"
    "  --body FILE|@-       the request body: a file's bytes, or standard input\n"
    "  --expect-status N    the status every answer must have (default: any 2xx)\n"
    "  --expect-body FILE   every answer's body is this file's bytes\n"
    "  --expect-sha256 HEX  the first answer's body has this SHA-256, and every\n"
    "                       answer is that body\n"
    "  --no-check           check the status only (dynamic pages). Without the three\n"
    "                       above, the consistency check: every answer has the\n"
    "                       length and XXH64 of the first one (the verify pass's)\n"
    "  --save-scenario F.ini  write the equivalent scenario file, then run\n"
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
    "  run URL [-c N] [-t N] [-d TIME] [-R RATE] ...   the same for one URL, wrk's options\n"
    "  fixtures DIR                                    create the fixture tree\n"
    "  bench --server PATH [options]                   every model x scenario: start, load, record\n"
    "  compare A.csv B.csv [options]                   two result files side by side, regressions\n"
    "  merge A.csv B.csv ... --hdr-logs A.hlog,...     one row for runs on several hosts\n"
    "  verdicts RESULTS.csv [options]                  ratios to the reference with intervals, verdicts\n"
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
    O_STEPS_CSV,
    O_LABEL,
    O_ENGINE,
    O_PROGRESS,
    O_CPUS,
    O_HDR_LOG,
    O_HDR_INTERVAL,
    O_START_AT,
    O_LATENCY,
    O_BODY,
    O_EXPECT_STATUS,
    O_EXPECT_BODY,
    O_EXPECT_SHA256,
    O_NO_CHECK,
    O_SAVE_SCENARIO,
};

/* wrk's (and wrk2's -R) short options, and -m. */
#define RUN_SHORT ":hc:t:d:R:H:m:"

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
    {"steps-csv", required_argument, 0, O_STEPS_CSV},
    {"label", required_argument, 0, O_LABEL},
    {"engine", required_argument, 0, O_ENGINE},
    {"progress", no_argument, 0, O_PROGRESS},
    {"cpus", required_argument, 0, O_CPUS},
    {"hdr-log", required_argument, 0, O_HDR_LOG},
    {"hdr-interval", required_argument, 0, O_HDR_INTERVAL},
    {"start-at", required_argument, 0, O_START_AT},
    {"latency", no_argument, 0, O_LATENCY},
    {"header", required_argument, 0, 'H'},
    {"method", required_argument, 0, 'm'},
    {"body", required_argument, 0, O_BODY},
    {"expect-status", required_argument, 0, O_EXPECT_STATUS},
    {"expect-body", required_argument, 0, O_EXPECT_BODY},
    {"expect-sha256", required_argument, 0, O_EXPECT_SHA256},
    {"no-check", no_argument, 0, O_NO_CHECK},
    {"save-scenario", required_argument, 0, O_SAVE_SCENARIO},
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

#define MAX_CLI_HEADERS 64

/* `loadgen run`'s options: run.c's, the CPUs loadgen pins itself to, and
 * the URL form's request and checks. */
struct run_cli {
    struct run_opts o;
    struct cpus cpus; /* n == 0: not pinned */
    char cpus_text[128];
    struct url_request ur;
    const char *headers[MAX_CLI_HEADERS];
    const char *save;     /* --save-scenario */
    const char *url_only; /* the first option given that only a URL takes */
    int nchecks;          /* --expect-body, --expect-sha256, --no-check given */
};

/* The options only the URL form takes: -H, -m, --body, the checks,
 * --save-scenario. 0, or EXIT_USAGE after a message. */
static int set_url_option(struct run_cli *cli, int opt, const char *val)
{
    struct url_request *ur = &cli->ur;
    uint64_t status;
    char msg[256];
    switch (opt) {
    case 'H':
        if (ur->nheaders == MAX_CLI_HEADERS)
            return run_usage_error("-H: at most %d headers", MAX_CLI_HEADERS);
        cli->headers[ur->nheaders++] = val;
        cli->url_only = "-H";
        return 0;
    case 'm':
        ur->method = val;
        cli->url_only = "-m";
        return 0;
    case O_BODY:
        ur->body = val;
        cli->url_only = "--body";
        return 0;
    case O_EXPECT_STATUS:
        if (optval_count("--expect-status", val, 100, 599, &status, msg, sizeof msg))
            return run_usage_error("%s", msg);
        ur->expect_status = (int)status;
        cli->url_only = "--expect-status";
        return 0;
    case O_SAVE_SCENARIO:
        if (!*val) return run_usage_error("--save-scenario: empty file name");
        cli->save = val;
        cli->url_only = "--save-scenario";
        return 0;
    default: /* the body checks: one of them */
        cli->nchecks++;
        ur->check = opt == O_NO_CHECK      ? URL_CHECK_NONE
                    : opt == O_EXPECT_BODY ? URL_CHECK_BODY
                                           : URL_CHECK_SHA256;
        if (opt == O_EXPECT_BODY) ur->expect_body = val;
        if (opt == O_EXPECT_SHA256) ur->expect_sha256 = val;
        cli->url_only = opt == O_NO_CHECK      ? "--no-check"
                        : opt == O_EXPECT_BODY ? "--expect-body"
                                               : "--expect-sha256";
        return 0;
    }
}

/* One option's value into cli (name: as it was spelled, for messages).
 * 0, or EXIT_USAGE after a message. */
static int set_run_option(struct run_cli *cli, int opt, const char *name, const char *val)
{
    char msg[512];
    int rc = 0;
    struct run_opts *o = &cli->o;
    switch (opt) {
    case 'H':
    case 'm':
    case O_BODY:
    case O_EXPECT_STATUS:
    case O_EXPECT_BODY:
    case O_EXPECT_SHA256:
    case O_NO_CHECK:
    case O_SAVE_SCENARIO:
        return set_url_option(cli, opt, val);
    case O_LATENCY:
        o->latency = true;
        break;
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
    case O_STEPS_CSV:
        o->steps_csv[0] = val;
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
        rc = optval_count(name, val, 1, 1024, &o->threads, msg, sizeof msg);
        break;
    case O_CONNECTIONS:
        rc = optval_count(name, val, 1, 100000, &o->connections, msg, sizeof msg);
        break;
    case O_REQUESTS:
        rc = optval_count("--requests", val, 1, UINT64_C(1000000000000), &o->requests, msg,
                          sizeof msg);
        break;
    case O_DURATION:
        rc = optval_seconds(name, val, 0, 86400 * 7, true, &o->duration, msg, sizeof msg);
        break;
    case O_RATE:
        rc = optval_rate(name, val, 1e8, &o->rate, msg, sizeof msg);
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
static int check_run_options(const struct run_cli *cli, bool url)
{
    const struct run_opts *o = &cli->o;
    if (url && o->target) return run_usage_error("--target: the URL names the server");
    if (url && o->fixtures)
        return run_usage_error("--fixtures is for scenario files (a URL checks without them)");
    if (!url && cli->url_only)
        return run_usage_error("%s is for the URL form (loadgen run URL ...)", cli->url_only);
    if (cli->nchecks > 1)
        return run_usage_error("--expect-body, --expect-sha256 and --no-check exclude each other");
    if (!url && !o->target) return run_usage_error("missing --target HOST:PORT");
    if (o->duration >= 0 && o->requests)
        return run_usage_error("--duration and --requests exclude each other");
    if (o->label && (strlen(o->label) == 0 || strlen(o->label) >= 64))
        return run_usage_error("--label: 1 to 63 characters");
    if (o->csv && !*o->csv) return run_usage_error("--csv: empty file name");
    if (o->steps_csv[0] && !*o->steps_csv[0])
        return run_usage_error("--steps-csv: empty file name");
    if (o->fixtures && !*o->fixtures) return run_usage_error("--fixtures: empty directory name");
    return 0;
}

/* argv[0] is "run". Returns 0, 1 for --help (printed), or EXIT_USAGE after
 * a message. */
static int parse_run_args(int argc, char **argv, const char **scenario, struct run_cli *cli)
{
    cli->o = (struct run_opts)RUN_OPTS_INIT;
    cli->cpus.n = 0;
    cli->ur = (struct url_request){.headers = cli->headers};
    cli->save = cli->url_only = NULL;
    cli->nchecks = 0;
    *scenario = NULL;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, RUN_SHORT, RUN_OPTIONS, NULL)) != -1) {
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
        static const struct {
            int ch, opt;
            const char *name;
        } shorts[] = {{'c', O_CONNECTIONS, "-c"},
                      {'t', O_THREADS, "-t"},
                      {'d', O_DURATION, "-d"},
                      {'R', O_RATE, "-R"}};
        char name[64] = ""; /* as spelled, for messages: "-c" or "--connections" */
        for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++)
            if (c == shorts[i].ch)
                c = shorts[i].opt, snprintf(name, sizeof name, "%s", shorts[i].name);
        for (const struct option *lo = RUN_OPTIONS; !name[0] && lo->name; lo++)
            if (lo->val == c) snprintf(name, sizeof name, "--%s", lo->name);
        int rc = set_run_option(cli, c, name, optarg);
        if (rc) return rc;
    }
    if (optind < argc) *scenario = argv[optind++];
    if (optind < argc) return run_usage_error("unexpected argument '%s'", argv[optind]);
    if (!*scenario) return run_usage_error("missing the scenario file or URL");
    return check_run_options(cli, strstr(*scenario, "://") != NULL);
}

/* The URL form: the one-step scenario, with the command line's numbers in
 * it (what --save-scenario writes; run.c takes them from the options all
 * the same), and the target. 0, or the exit status after a message. */
static int load_url(const char *url, struct run_cli *cli, struct lg_scenario *sc, char *target,
                    size_t targetlen)
{
    char err[1024];
    if (url_scenario(url, &cli->ur, sc, target, targetlen, err, sizeof err) < 0)
        return run_usage_error("%s", err);
    const struct run_opts *o = &cli->o;
    sc->threads = (unsigned)o->threads;
    sc->connections = (unsigned)o->connections;
    sc->requests = o->requests;
    sc->duration_s = o->duration > 0 ? o->duration : 0;
    sc->rate = o->rate > 0 ? o->rate : 0;
    sc->timeout_s = o->timeout > 0 ? o->timeout : 0;
    sc->warmup_s = o->warmup > 0 ? o->warmup : 0;
    cli->o.target = target;
    if (!cli->save) return 0;
    char comment[800];
    snprintf(comment, sizeof comment,
             "written by loadgen run %.120s --save-scenario\nrun it: loadgen run %.100s --target "
             "%s",
             url, cli->save, target);
    if (scenario_save(sc, cli->save, comment, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: --save-scenario %s: %s\n", cli->save, err);
        return EXIT_USAGE;
    }
    fprintf(stderr, "loadgen: scenario written to %s\n", cli->save);
    return 0;
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
    char target[LG_HOST_MAX + 16];
    if (strstr(path, "://")) {
        rc = load_url(path, &cli, &sc, target, sizeof target);
        if (rc) {
            scenario_free(&sc);
            return rc;
        }
    } else if (scenario_load(path, &sc, err, sizeof err) < 0) {
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
    if (strcmp(cmd, "verdicts") == 0) return verdicts_main(argc - 2, argv + 2, stdout, stderr);
    if (strcmp(cmd, "scenario-from-log") == 0)
        return scenario_from_log_main(argc - 2, argv + 2, stdout, stderr);
    fprintf(stderr, "loadgen: unknown command '%s'\n%s", cmd, MAIN_USAGE);
    return EXIT_USAGE;
}
