# Rampart top-level Makefile: thin wrapper around meson/ninja and the tests.
#   make deps       install missing Debian packages (apt-get; sudo when not root)
#   make            build (./build)
#   make test       deps + build + every test (unit, fuzz corpora, integration)
#   make test-asan  the same under AddressSanitizer + UBSan (./build-asan)
#   make demo       deps + build + the end-to-end demo
#   make bench      run the benchmarks in bench/
BUILD ?= build
ASAN_BUILD ?= build-asan
PYTHON ?= /usr/bin/python3

.PHONY: all deps build test test-asan demo bench clean install

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: build
	@tools/run-tests.sh $(BUILD)

$(ASAN_BUILD)/build.ninja:
	CC=clang meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# UBSan only prints by default and meson 1.0 sets no sanitizer options: make
# every report (in unit tests and in the binaries the integration tests
# start) end the process with an error, so a finding fails its test.
ASAN_ENV = ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:print_summary=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1

test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	@$(ASAN_ENV) tools/run-tests.sh $(ASAN_BUILD)

demo: build
	@$(PYTHON) tools/demo.py --build $(BUILD)

bench: build
	@for b in bench/*.sh; do echo "== $$b"; sh $$b $(BUILD) || exit 1; done
	@echo "== bench/failures_ingest.py"; $(PYTHON) bench/failures_ingest.py $(BUILD)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
