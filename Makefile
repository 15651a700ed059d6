# Thin wrapper around CMake; the real build is CMakeLists.txt.
BUILD    ?= build
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    ?= cmake
CTEST    ?= ctest

.PHONY: all build test test-fast test-sanitizers test-tsan clean setup bench-loadgen \
        bench-server bench compare plot report format format-check bench-switch regress regress-baseline test-portable \
        test-kqueue build-aarch64 test-cross

all: build

build:
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build $(BUILD) -j $(JOBS)

setup:
	@bash ci/setup

# make test: install what is missing, build, run every suite; the portable
# build's suites (test-portable, below); then the same suites again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the threaded code
# (thread/threadpool/reuseport models, loadgen) under ThreadSanitizer.
test: setup format-check test-fast test-portable test-sanitizers test-tsan

# make format: rewrite the C files to .clang-format; make test checks it
# first and fails with the names of the files that do not follow it.
format:
	@ci/format

format-check:
	@ci/format --check

test-fast: build
	@cd $(BUILD) && $(CTEST) --output-on-failure -j $(JOBS)

# make test-sanitizers: every suite on an ASan+UBSan build but the regress
# gate's self-test, which configures and measures builds of its own without
# sanitizers (valgrind cannot run them): here it only repeated test-fast's run.
SANITIZER_EXCLUDE ?= integration_test_regress_gate
test-sanitizers:
	@$(CMAKE) -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DWITH_SANITIZERS=asan,ubsan >/dev/null
	@$(CMAKE) --build $(BUILD)-asan -j $(JOBS)
	@cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -E '$(SANITIZER_EXCLUDE)'

# make test-portable: the POSIX-only build (-DSERVERMODELS_PORTABLE=ON, see
# docs/portable.md: the paths macOS and FreeBSD take, no epoll, io_uring,
# sendfile, Linux socket calls, /proc or pinning) in $(BUILD)-portable, and its
# suites on the models it builds: every unit test, the kqueue type-checks, the
# fuzz corpus replays and the integration suites but four: loadgen bench, its
# verdicts and study (they pin CPUs and read the server's CPU from /proc) and
# the regress gate (it configures its own Linux builds).
PORTABLE_EXCLUDE ?= integration_test_(loadgen_bench|loadgen_study|loadgen_verdicts|regress_gate)
test-portable:
	@$(CMAKE) -S . -B $(BUILD)-portable -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSERVERMODELS_PORTABLE=ON >/dev/null
	@$(CMAKE) --build $(BUILD)-portable -j $(JOBS)
	@cd $(BUILD)-portable && $(CTEST) --output-on-failure -j $(JOBS) -E '$(PORTABLE_EXCLUDE)'

# make test-kqueue: the test kqueue (tests/shim/kqueue_epoll.c: kqueue() and
# kevent() on epoll, docs/portable.md) in $(BUILD)-kqueue: its own unit test,
# the coroutine runtime on its kqueue backend, and the HTTP, FTP, echo and
# chaos suites on the kqueue and coroutine models of that build.
KQUEUE_MODELS ?= kqueue,coroutine
test-kqueue:
	@$(CMAKE) -S . -B $(BUILD)-kqueue -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSERVERMODELS_KQUEUE_SHIM=ON >/dev/null
	@$(CMAKE) --build $(BUILD)-kqueue -j $(JOBS)
	@cd $(BUILD)-kqueue && SERVERMODELS_MODELS=$(KQUEUE_MODELS) $(CTEST) --output-on-failure \
	  -j $(JOBS) -R 'unit_shim_kqueue|unit_server_coro$$|integration_test_server_(http|ftp|echo|chaos)$$'

# make build-aarch64: the aarch64 (arm64) cross build in $(BUILD)-aarch64, through
# ci/toolchains/aarch64-linux-gnu.cmake (ci/setup --cross installs its packages);
# its programs run under qemu-aarch64-static (docs/portable.md).
build-aarch64:
	@$(CMAKE) -S . -B $(BUILD)-aarch64 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/ci/toolchains/aarch64-linux-gnu.cmake >/dev/null
	@$(CMAKE) --build $(BUILD)-aarch64 -j $(JOBS)

# make test-cross (ci/test-cross): the aarch64 build under qemu's user mode --
# every unit test, bench-switch, every server suite (test_server_*.py) on every
# model offered there -- then the kqueue part. .ci/run runs it after make
# test. Fails with one line when the cross packages are missing and cannot be
# installed (never skipped).
test-cross:
	@BUILD=$(BUILD) JOBS=$(JOBS) CTEST=$(CTEST) ci/test-cross

# ThreadSanitizer: unit tests, the threaded models, loadgen's threads, and the
# coroutine model (its switches are told to TSan as fibers, coro.c).
TSAN_MODELS ?= thread,threadpool,reuseport,coroutine
test-tsan:
	@$(CMAKE) -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=Debug -DWITH_SANITIZERS=tsan >/dev/null
	@$(CMAKE) --build $(BUILD)-tsan -j $(JOBS)
	@cd $(BUILD)-tsan && SERVERMODELS_MODELS=$(TSAN_MODELS) \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -R 'unit_|integration_test_server_(http|echo|ftp|filecache)|integration_test_loadgen_(http|engines|unanswered)'

# make bench: the study (ci/study): install what is missing, build, then every
# model swept over connections (1..10,000, http-hello and echo) and offered
# rates (http-hello, http-mixed, FTP) on disjoint CPUs for server and loadgen,
# progress shown, in 5 rounds with epoll twice a round (the A/A control); about
# 21 min on 2 cores. make bench QUICK=1: http-hello at 64 and 1,024 connections,
# echo at 1,024, 10 rounds of 0.4 s, under 5 min. ROUNDS=N changes the rounds. Rows to results/latest.csv and
# results/<date>-<rev>.csv, verdicts to results/latest-verdicts.csv, charts to
# results/*.svg, results/report.html.
# BENCH_ARGS go to every loadgen bench, e.g. BENCH_ARGS='--models epoll,thread'
BENCH_ARGS ?=
QUICK ?=
ROUNDS ?=
bench: setup build
	@BUILD=$(BUILD) QUICK=$(QUICK) ROUNDS=$(ROUNDS) ci/study $(BENCH_ARGS)

# make regress: the performance gate (ci/regress): every model's instructions per
# request under callgrind against results/baseline-regress.csv; fails when one
# grew by more than REGRESS_THRESHOLD percent (default 3) or a run failed.
# make regress-baseline rewrites that file (a deliberate performance change:
# commit it with the change). E.g. REGRESS_ARGS='--models epoll --scenarios echo'
REGRESS_ARGS ?=
regress: build
	@ci/regress --build $(BUILD) $(if $(REGRESS_THRESHOLD),--threshold $(REGRESS_THRESHOLD)) $(REGRESS_ARGS)

regress-baseline: build
	@ci/regress --build $(BUILD) --write-baseline --repeat 3 $(REGRESS_ARGS)

# make compare [A=newest results/baseline-*.csv] [B=results/latest.csv] [COMPARE_ARGS='--reference epoll']
A ?= $(lastword $(sort $(filter-out results/baseline-regress.csv,$(wildcard results/baseline-*.csv))))
B ?= results/latest.csv
COMPARE_ARGS ?=
compare: build
	@$(BUILD)/loadgen/loadgen compare $(A) $(B) $(COMPARE_ARGS)

# make plot [CSV=results/latest.csv]: SVG charts into results/
CSV ?= results/latest.csv
plot:
	@ci/plot $(CSV) results

# make report [CSV=results/latest.csv]: results/report.html, one self-contained
# page (tables, inlined charts, machine, settings, what each chart shows)
report:
	@ci/report $(CSV) results/report.html

# The loadgen vs wrk benchmark (not a test): see ci/bench-loadgen.
bench-loadgen: build
	@BUILD=$(BUILD) ci/bench-loadgen

# The refserver vs nginx benchmark (not a test): see ci/bench-server. Models
# (epoll, uring, reuseport, coroutine), a 1-worker nginx, the floor
# (tests/bench/floor.c) and its io_uring twin (floor_uring.c) take turns
# serving a 36-byte file to wrk -t1 -c64,
# server on CPU 0, wrk on CPU 1; req/s and server CPU per request, ratios to
# nginx and to the floor, medians of 3 alternating rounds.
# E.g. BENCH_SERVER_ARGS='--models epoll --rounds 5 --strict'
BENCH_SERVER_ARGS ?=
bench-server: build
	@BUILD=$(BUILD) ci/bench-server $(BENCH_SERVER_ARGS)

# The coroutine switch (not a test): ns per switch, the build's switch
# (assembly on x86-64/aarch64) against the ucontext fallback; each fails if
# the coroutine did not run once per resume. SWITCHES per run (default 10M);
# EMULATOR runs them (make test-cross: BUILD=build-aarch64
# EMULATOR=qemu-aarch64-static SWITCHES=1M).
SWITCHES ?=
EMULATOR ?=
bench-switch: build
	@$(CMAKE) --build $(BUILD) --target bench_switch bench_switch_fallback -j $(JOBS)
	@$(EMULATOR) $(BUILD)/servers/bench_switch $(SWITCHES)
	@$(EMULATOR) $(BUILD)/servers/bench_switch_fallback $(SWITCHES)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz $(BUILD)-portable $(BUILD)-aarch64

# make fuzz: libFuzzer (clang) builds of tests/fuzz, each target run for
# FUZZ_SECONDS on its seed corpus; new inputs go to $(BUILD)-fuzz/corpus/,
# crashes to $(BUILD)-fuzz/crash-<target>-*. Stops at the first crash.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= http fsroot echo scenario httpparse ftp

.PHONY: fuzz
fuzz:
	@$(CMAKE) -S . -B $(BUILD)-fuzz -DCMAKE_C_COMPILER=clang -DWITH_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build $(BUILD)-fuzz -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)-fuzz/corpus/$$t; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  log=$(BUILD)-fuzz/fuzz-$$t.log; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS)s (log: $$log)"; \
	  if ! $(BUILD)-fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	      -print_final_stats=1 -print_funcs=0 -artifact_prefix=$(BUILD)-fuzz/crash-$$t- $$dict \
	      $(BUILD)-fuzz/corpus/$$t tests/fuzz/corpus/$$t >$$log 2>&1; then \
	    tail -n 40 $$log; echo "fuzz_$$t: FAILED (input saved as $(BUILD)-fuzz/crash-$$t-*)"; \
	    exit 1; \
	  fi; \
	  grep -E '^#[0-9]+[[:space:]]+DONE' $$log || true; \
	done
