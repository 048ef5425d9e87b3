# Everyday commands. `make demo` and `make test` set up everything they need from scratch.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install demo serve test test-sqlite test-postgres lint format typecheck clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

demo: install  ## Seed the demo workspace (once) and serve it on http://127.0.0.1:8000
	$(VENV)/bin/tandem demo

serve: install
	$(VENV)/bin/tandem serve

lint: install
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts

typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix src tests scripts
	$(VENV)/bin/ruff format src tests scripts

test-sqlite: install
	$(PY) -m pytest $(PYTEST_ARGS)

# PostgreSQL is required in CI; on a laptop without it the run says so and skips it.
test-postgres: install
	@if $(PY) scripts/pg_available.py "$(PG_TEST_URL)"; then \
		TANDEM_TEST_DATABASE_URL="$(PG_TEST_URL)" $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "PostgreSQL at $(PG_TEST_URL) is not reachable (required in CI)"; exit 1; \
	else echo "SKIPPED: PostgreSQL at $(PG_TEST_URL) is not reachable; set PG_TEST_URL to test it"; fi

test: lint typecheck test-sqlite test-postgres  ## Lint, type-check, and run the suite on SQLite and PostgreSQL

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data
