# Makefile - a thin wrapper over meson for the two commands in README.md.
#
#   make run         set up, build, run ucsd in the foreground on the shipped
#                    defaults with state under ./var (Ctrl-C stops it)
#   make check       set up, build, run the whole test suite; the last line
#                    is "N passed, N failed"
#   make check-asan  the suite under AddressSanitizer + UBSan (leaks included)
#   make bench       the benchmarks (tests/bench); figures go to docs/PERFORMANCE.md
#   make fuzz        each libFuzzer target for FUZZ_SECONDS (clang)
#   make install     meson install (PREFIX=/usr/local)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
MESON_TEST = meson test --print-errorlogs --num-processes $(JOBS)

.PHONY: all deps bench-deps build run check check-asan bench fuzz install clean

all: build

deps:
	@sh tools/install-deps.sh

bench-deps:
	@sh tools/install-deps.sh bench

$(BUILD)/build.ninja:
	@sh tools/install-deps.sh
	meson setup $(BUILD) --prefix=$(PREFIX)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@mkdir -p var $(BUILD)/plugins
	exec ./$(BUILD)/core/ucsd --foreground --plugin-dir $(BUILD)/plugins --state-dir var

check: build
	@$(MESON_TEST) -C $(BUILD) >$(BUILD)/check.log 2>&1; status=$$?; \
	  cat $(BUILD)/check.log; \
	  python3 tools/test-summary.py $(BUILD)/meson-logs/testlog.json && [ $$status -eq 0 ]

$(ASAN_BUILD)/build.ninja:
	@sh tools/install-deps.sh
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dbuildtype=debug

check-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	 $(MESON_TEST) -C $(ASAN_BUILD) --timeout-multiplier 3 >$(ASAN_BUILD)/check.log 2>&1; \
	  status=$$?; cat $(ASAN_BUILD)/check.log; \
	  python3 tools/test-summary.py $(ASAN_BUILD)/meson-logs/testlog.json && [ $$status -eq 0 ]

bench: bench-deps build
	ninja -C $(BUILD) benchmarks
	sh tests/bench/run.sh $(BUILD)

# -fsanitize=fuzzer-no-link for the whole build: the plugin libraries a target
# links (dialplan-core, userdb-common, ...) need coverage instrumentation too,
# or libFuzzer is blind to everything outside the target's own file.
$(FUZZ_BUILD)/build.ninja:
	@sh tools/install-deps.sh fuzz
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dtests=true -Dc_args=-fsanitize=fuzzer-no-link

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
