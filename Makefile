# Everyday commands. `make demo` and `make test` set up everything they need from scratch.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install demo serve test test-sqlite test-postgres lint format typecheck clean schema chromium

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

# Browser tests drive Debian's Chromium; install it when missing and we may (root, apt).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's chromium for the browser tests"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
			|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
		else echo "chromium is missing: install Debian's chromium package (browser tests will be skipped)"; fi; }

test-sqlite: install chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# PostgreSQL is required in CI; on a laptop without it the run says so and skips it.
test-postgres: install chromium
	@if $(PY) scripts/pg_available.py "$(PG_TEST_URL)"; then \
		TANDEM_TEST_DATABASE_URL="$(PG_TEST_URL)" $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "PostgreSQL at $(PG_TEST_URL) is not reachable (required in CI)"; exit 1; \
	else echo "SKIPPED: PostgreSQL at $(PG_TEST_URL) is not reachable; set PG_TEST_URL to test it"; fi

test: lint typecheck test-sqlite test-postgres  ## Lint, type-check, and run the suite on SQLite and PostgreSQL

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data

schema: install  ## Regenerate the initial migration from the models (pre-release only)
	$(PY) scripts/regen_schema.py
