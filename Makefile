PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint typecheck pytest fuzz install install-dev install-training test-training bench bench-compare worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

$(VENV)/.training: requirements-training.txt $(VENV)/.dev
	$(BIN)/pip install --quiet -r requirements-training.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev
install-training: $(VENV)/.training

# A local development configuration, written once: DEBUG on and a random SECRET_KEY.
.env: | $(BIN)/python
	printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
	@echo "Wrote .env (DEBUG=1 and a random SECRET_KEY) for local development."

## make run: migrate the SQLite default, ensure an admin login, serve on HOST:PORT (default 127.0.0.1:8000; e.g. make run PORT=9101)
run: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin --url http://$(HOST):$(PORT)
	$(BIN)/python manage.py load_demo_data
	@echo "Serving http://$(HOST):$(PORT)/ (admin: /admin/, API docs: /api/docs). In another terminal: export PORT=$(PORT)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## make serve: production settings or nothing (the environment, no .env; DEBUG off; a 50+ character SECRET_KEY), migrate, then gunicorn (WEB_CONCURRENCY workers, default 2) on HOST:PORT
serve: export TUNIX_RT_ENV_FILE ?=
serve: install
	$(BIN)/python -m tunix_rt.production
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT)

## make test: ruff, mypy, then pytest under coverage (fails below 90% of lines)
test: lint typecheck pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The project root goes first on the path: the training stack installs Hugging Face's
# `datasets`, which must not shadow the `datasets` app when mypy's Django plugin loads it.
typecheck: install-dev
	PYTHONPATH=. $(BIN)/mypy .

pytest: install-dev
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report

## make fuzz: schemathesis (coverage, fuzzing, stateful; >= 10,000 requests) against gunicorn with DEBUG off
fuzz: install-dev
	bash scripts/fuzz

## make test-training: install the optional Tunix/JAX stack into .venv, run the training tests
test-training: install-training
	$(BIN)/coverage run --rcfile=.coveragerc-training -m pytest -m training -p no:cacheprovider
	$(BIN)/coverage report --rcfile=.coveragerc-training

## make bench: the hot paths over HTTP (gunicorn, 1 worker) against raw PostgreSQL, as ratios (DATABASE_URL=postgres://…)
bench: install
	$(BIN)/python bench/run.py --rounds $(or $(ROUNDS),2)

## make bench-compare: the same work side by side with the replaced backend (OLD_BACKEND=…/backend OLD_PYTHON=…/python)
bench-compare: install
	$(BIN)/python bench/compare.py --old-backend "$(OLD_BACKEND)" --old-python "$(OLD_PYTHON)" --rounds $(or $(ROUNDS),3)

## make worker: the background worker that runs queued training and evaluation jobs
worker: install .env
	$(BIN)/python manage.py db_worker --no-reload

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache
