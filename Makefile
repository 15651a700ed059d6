# Thin wrapper around CMake; the real build is CMakeLists.txt.
BUILD    ?= build
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    ?= cmake
CTEST    ?= ctest

.PHONY: all build test test-fast test-sanitizers clean setup

all: build

build:
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build $(BUILD) -j $(JOBS)

setup:
	@bash ci/setup

# make test: install what is missing, build, run every suite; then the same
# suites again under AddressSanitizer + UndefinedBehaviorSanitizer.
test: setup test-fast test-sanitizers

test-fast: build
	@cd $(BUILD) && $(CTEST) --output-on-failure -j $(JOBS)

test-sanitizers:
	@$(CMAKE) -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DWITH_SANITIZERS=asan,ubsan >/dev/null
	@$(CMAKE) --build $(BUILD)-asan -j $(JOBS)
	@cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan
