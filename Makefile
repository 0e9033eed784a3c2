# Two commands from a fresh clone:
#   make run    set up and serve the app with demo data on SQLite (http://127.0.0.1:8000)
#   make test   run the whole test suite against PostgreSQL and Redis
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# Services used by the tests (trust auth on a local PostgreSQL; a local Redis).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/oversight
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

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
	DEBUG=1 $(BIN)/python manage.py load_reference_data
	DEBUG=1 $(BIN)/python manage.py load_methodologies
	DEBUG=1 $(BIN)/python manage.py load_autonomy_policy
	DEBUG=1 $(BIN)/python manage.py load_delegation_data
	DEBUG=1 $(BIN)/python manage.py load_demo_data
	DEBUG=1 $(BIN)/python manage.py load_demo_delegation
	DEBUG=1 $(BIN)/python manage.py load_demo_users

run: demo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
