/* bench.h - the model x scenario matrix (DESIGN.md section 6).
 *
 *   loadgen bench --server PATH/refserver [--models a,b|all] [--scenarios F.ini,..|DIR] ...
 *
 * For every model and every scenario whose protocol the server speaks:
 * start the server on an ephemeral loopback port, its own process group
 * (bench_server.c), wait for its "listening on HOST:PORT" line, run the
 * scenario exactly as `loadgen run` does (run_scenario, run.c), record the
 * server's CPU and peak RSS, stop it with SIGTERM, check it exited 0 and
 * left no process behind, write the CSV rows and print a ranked table per
 * scenario (bench_report.c). A model that fails to start, crashes, hangs or
 * fails its verify pass is a failed row (requests 0, errors >= 1) and the
 * bench goes on. */
#ifndef LOADGEN_BENCH_H
#define LOADGEN_BENCH_H

/* `loadgen bench ARGS` (argv[0] is "bench"): the exit status (0 every run
 * clean, 1 any failed run, error or check failure, 2 usage). */
int bench_main(int argc, char **argv);

#endif
