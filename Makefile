# Two commands from a fresh clone:
#   make run    set up and serve the app with demo data on SQLite (http://127.0.0.1:8000)
#   make test   run the whole test suite against PostgreSQL and Redis (with branch coverage
#               and its floor), then the SQLite-marked tests on SQLite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# Services used by the tests (trust auth on a local PostgreSQL; a local Redis).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/oversight
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
# The embedded default of `make run`; pytest-django keeps its test database in memory.
TEST_SQLITE_URL ?= sqlite:///$(CURDIR)/.test-sqlite.sqlite3

NHSUK_FRONTEND_VERSION := 10.6.1

.PHONY: run setup demo test test-fast lint format bench check-deploy vendor clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py load_demo

# The web server and a worker on the embedded filesystem broker (.queue/): uploads and
# runs happen in the background, as in production, with nothing to install.
run: demo
	DEBUG=1 CELERY_BROKER_URL=filesystem:// $(BIN)/python manage.py run_embedded $(HOST):$(PORT)

test: $(STAMP)
	DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report
	DEBUG=1 DATABASE_URL=$(TEST_SQLITE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/python -m pytest -m sqlite -q

# Some tests, no coverage: make test-fast PYTEST_ARGS="tests/engine -q"
test-fast: $(STAMP)
	DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

# The house rules: style, the import contracts (docs/adr/0013), sizes and hidden imports,
# types. `pre-commit install` runs the same before each commit.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python .ci/house_rules.py
	DEBUG=1 $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	DEBUG=1 $(BIN)/python bench/run.py

vendor:
	rm -rf /tmp/nhsuk-frontend && mkdir -p /tmp/nhsuk-frontend
	cd /tmp/nhsuk-frontend && npm pack --silent nhsuk-frontend@$(NHSUK_FRONTEND_VERSION) && tar xzf nhsuk-frontend-*.tgz
	$(PYTHON) static/vendor/rewrite_nhsuk_css.py /tmp/nhsuk-frontend/package/dist/nhsuk static/vendor/nhsuk-frontend

clean:
	rm -rf $(VENV) db.sqlite3 .test-sqlite.sqlite3 .coverage staticfiles .pytest_cache
