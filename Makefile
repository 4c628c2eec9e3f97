# tcpspec: `make check` proves the spec's properties on every preset; `make test` runs the tests.
# Both bootstrap what they need: a .venv with the packages, and Graphviz's `dot`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: check test lint bench diagrams bootstrap clean

check: bootstrap
	$(BIN)/tcpspec check --junit build/check-junit.xml
	$(BIN)/tcpspec check --engine all --config checks/configs/handshake-capacity-2.toml --depth 8 --junit build/check-engines-junit.xml
	$(BIN)/tcpspec check --engine all --config lifecycle --junit build/check-lifecycle-junit.xml
	$(BIN)/tcpspec check --engine smt --symbolic-iss --config checks/configs/handshake-capacity-1.toml --depth 6 \
	  -p handshake-sync -p stream-integrity --junit build/check-any-iss-junit.xml
	$(BIN)/tcpspec derive time-wait > build/time-wait.txt || { cat build/time-wait.txt; exit 1; }
	@sed -n '1,/^smallest TIME-WAIT/p' build/time-wait.txt
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

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

build/.dir:
	mkdir -p build && touch $@

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
