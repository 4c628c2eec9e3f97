# tcpspec: `make check` proves the spec's properties on every preset; `make test` runs the tests.
# Both bootstrap what they need: a .venv with the packages, Graphviz's `dot`, and SPIN with gcc.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# make check runs these two at a time (one per core), longest first; each one's output is printed
# whole when it ends.  Each can also be run alone (make check-lifecycle).
CHECKS := check-any-iss check-diagrams check-lifecycle check-presets check-engines check-claims check-time-wait \
  check-replay

.PHONY: check $(CHECKS) test lint bench diagrams bootstrap clean

check: bootstrap
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(CHECKS)

# Every preset, every property, explicit engine.
check-presets: bootstrap
	$(BIN)/tcpspec check --junit build/check-junit.xml

# The engines cross-checked (explicit, BMC, induction, SPIN) on the bounded handshake, and on the lifecycle.
check-engines: bootstrap
	$(BIN)/tcpspec check --engine all --config checks/configs/handshake-capacity-2.toml --depth 8 --junit build/check-engines-junit.xml

check-lifecycle: bootstrap
	$(BIN)/tcpspec check --engine all --config lifecycle --junit build/check-lifecycle-junit.xml

# The handshake proved for every 32-bit ISS: the seven safety properties and no-deadlock.
check-any-iss: bootstrap
	$(BIN)/tcpspec check --engine smt --symbolic-iss --config checks/configs/handshake-capacity-1.toml --depth 6 \
	  --junit build/check-any-iss-junit.xml

# TIME-WAIT derived: the explicit sweep at MSL = 1 tick, then Z3 for every MSL from 1 to 16 ticks.
check-time-wait: bootstrap
	$(BIN)/tcpspec derive time-wait --engine smt > build/time-wait.txt || { cat build/time-wait.txt; exit 1; }
	@cat build/time-wait.txt

# What textbooks say about the handshakes, and what the blog post the project started from gets wrong.
check-claims: bootstrap
	$(BIN)/tcpspec claims

# Every committed capture of this machine's kernel is a behaviour the spec admits: on a network that may
# lose and reorder any segment, with a host that may crash once; late-fin also against Linux's TIME-WAIT clock.
REPLAY = $(BIN)/tcpspec replay
check-replay: bootstrap
	@for f in tests/captures/*.pcap tests/captures/rfc9293-figure-10.txt; do \
	  out=$$($(REPLAY) $$f --config tests/captures/crash.toml) || { echo "$$out"; exit 1; }; echo "$$out" | head -2; done
	@out=$$($(REPLAY) tests/captures/late-fin.pcap --config tests/captures/linux.toml) \
	  || { echo "$$out"; exit 1; }; echo "$$out" | head -3
	@for f in tests/captures/rfc9293-figure-8.txt tests/captures/rfc9293-figure-11.txt; do \
	  out=$$($(REPLAY) $$f --old-duplicates 1) || { echo "$$out"; exit 1; }; echo "$$out" | head -2; done

# diagrams/ is what the spec draws now (with the catalogue of broken variants in diagrams/why.md).
check-diagrams: bootstrap
	$(BIN)/tcpspec diagrams --check

test: bootstrap
	$(BIN)/ruff check spec checks tests
	$(BIN)/mypy
	$(BIN)/pytest

lint: bootstrap
	$(BIN)/ruff check spec checks tests
	$(BIN)/ruff format --check spec checks tests
	$(BIN)/mypy

# Regenerate diagrams/ from the spec (byte for byte the same on a second run); commit the result.
diagrams: bootstrap
	$(BIN)/tcpspec diagrams

bench: bootstrap
	$(BIN)/python -m checks.bench --out BENCH.md

bootstrap: $(STAMP) build/.dir
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Graphviz (dot) from Debian's packages"; \
	  apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; }
	@{ command -v spin && command -v gcc; } >/dev/null 2>&1 || { \
	  echo "installing SPIN and gcc (the spin engine) from Debian's packages"; \
	  apt-get update -qq && apt-get install -y -qq spin gcc >/dev/null; }

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

build/.dir:
	mkdir -p build && touch $@

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
