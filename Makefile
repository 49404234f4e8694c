# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mesh
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: run test lint bench bench-venv install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The platform alone (make run): no test, lint or benchmark tools.
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

install: $(STAMP)

# The platform on its embedded default (SQLite, filesystem broker, lake under var/), demo loaded.
run: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py mesh demo
	$(BIN)/python bin/run-embedded

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Everything, against PostgreSQL and Redis (DATABASE_URL / CELERY_BROKER_URL, or local ones).
test: $(STAMP) lint
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	$(BIN)/python bin/check-services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	DJANGO_ALLOW_ASYNC_UNSAFE=true \
	$(BIN)/pytest

# The peer libraries (pandera, Great Expectations, pandas) live in their own venv, so their
# pins never touch the project's.
$(BENCH_STAMP): pyproject.toml benchmarks/enforcement/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e . -r benchmarks/enforcement/requirements.txt
	touch $(BENCH_STAMP)

bench-venv: $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python benchmarks/catalog_api.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python benchmarks/policy_sweep.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} $(BIN)/python benchmarks/run_latency.py
	$(BENCH_VENV)/bin/python benchmarks/contract_engine.py
	$(BENCH_VENV)/bin/python benchmarks/pipeline_run.py

clean:
	rm -rf var $(VENV) $(BENCH_VENV)
