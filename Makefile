# The two commands: `make run` (serve with demo data) and `make test` (every test).
# Everything installs into .venv from the pinned requirements files; nothing else is needed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n 2

.PHONY: run test lint serve schema schema-check contract bench migrate clean help

help:
	@echo "make run     start the service with demo data on http://$(HOST):$(PORT)"
	@echo "make test    run every test (SQLite; set DATABASE_URL for PostgreSQL)"
	@echo "make lint    ruff and import-linter"
	@echo "make serve   gunicorn, production-like (settings in ractory/gunicorn_config.py)"
	@echo "make schema  write docs/openapi.yaml"
	@echo "make contract  schemathesis against a live server and its OpenAPI document"
	@echo "make bench   benchmarks against PostgreSQL (DATABASE_URL)"

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

migrate: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --no-input -v 0

run: migrate
	@echo ""
	@$(BIN)/python manage.py seed_demo 2>&1 | sed -e 's/^rfk_/Demo API key: rfk_/' -e 's/^/  /'
	@echo "  Ra Factory is starting on http://$(HOST):$(PORT)"
	@echo "  API docs (Swagger UI)  http://$(HOST):$(PORT)/api/docs/"
	@echo "  API docs (ReDoc)       http://$(HOST):$(PORT)/api/redoc/"
	@echo "  OpenAPI schema         http://$(HOST):$(PORT)/api/schema/"
	@echo "  Django admin           http://$(HOST):$(PORT)/admin/"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

serve: migrate
	$(BIN)/python manage.py collectstatic --no-input -v 0
	$(BIN)/gunicorn -c python:ractory.gunicorn_config ractory.wsgi:application --bind $(HOST):$(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

schema: $(VENV)/.runtime-installed
	$(BIN)/python manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn

schema-check: $(VENV)/.runtime-installed
	$(BIN)/python manage.py spectacular --file $(VENV)/openapi.check.yaml --validate --fail-on-warn
	diff -u docs/openapi.yaml $(VENV)/openapi.check.yaml && echo "docs/openapi.yaml matches the code"

contract: $(VENV)/.dev-installed
	bash .ci/contract

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
