# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench chaos lint typecheck fmt clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tidegate server --data .tidegate --deploy examples

test: $(STAMP)
	scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

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

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) .venvs .pytest_cache .mypy_cache .ruff_cache
