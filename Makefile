PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest install install-dev test-training worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# A local development configuration, written once: DEBUG on and a random SECRET_KEY.
.env: | $(BIN)/python
	printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
	@echo "Wrote .env (DEBUG=1 and a random SECRET_KEY) for local development."

## make run: migrate the SQLite default, ensure an admin login, serve on 127.0.0.1:8000
run: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py load_demo_data
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: ruff, mypy, then pytest under coverage (fails below 90% of lines)
test: lint typecheck pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

pytest: install-dev
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache
