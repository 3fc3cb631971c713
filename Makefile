# `make run` and `make test` work on a fresh machine with only Python 3.11+ and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: run test test-pg lint migrate clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Maisie needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamp files re-run pip only when a requirements file changes.
$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

migrate: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin

# The web server and a background worker (webhook deliveries, docs/webhooks.md) in one command;
# Ctrl-C stops both (the worker lets its attempts in flight finish, a few seconds at most).
run: migrate
	@trap 'kill $$worker 2>/dev/null; wait $$worker' INT TERM EXIT; \
	$(BIN)/python manage.py maisie_worker & worker=$$!; \
	$(BIN)/python manage.py runserver $(HOST)

$(VENV)/.client-deps: client/pyproject.toml client/constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c client/constraints.txt -e ./client
	touch $@

# The server's suite, the client's (which starts its own live server over HTTP), and the
# browser tests (skipped, saying why, where Debian's chromium is not installed).
test: $(VENV)/.dev-deps $(VENV)/.client-deps
	$(BIN)/pytest $(PYTEST_ARGS)
	$(BIN)/pytest client/tests $(PYTEST_ARGS)
	$(BIN)/pytest tests/e2e -m e2e $(PYTEST_ARGS)

# The server's suite on this machine's PostgreSQL. Its PostgreSQL-only tests guard the fast
# paths of the read side (list pages written as JSON by PostgreSQL, the counts, the search
# indexes), which SQLite never runs: run it before pushing a change to any read path.
# pytest-django creates and drops test_<name> beside the database named here.
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/maisie
test-pg: $(VENV)/.dev-deps
	DATABASE_URL=$(DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var
