# Two commands matter: `make run` (everything, in the foreground) and `make test` (lint + the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# `make run PORT=8123 EMULATOR_PORT=8124` when the default ports are taken.
PORT ?= 8000
EMULATOR_PORT ?= 8808

.PHONY: run token test lint install migrate bench fuzz clean

# honcho hands every process a PORT of its own, so the ports travel to the Procfile as API_PORT and
# EMULATOR_PORT, which it leaves alone.
run: migrate
	@$(BIN)/python manage.py check_ports $(PORT) $(EMULATOR_PORT)
	@rm -rf var/metrics  # the counters of an earlier run's processes
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/python manage.py seed_demo --emulator-url http://127.0.0.1:$(EMULATOR_PORT)/v2/
	API_PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) $(BIN)/honcho start -f Procfile

# The URL, the admin login and the API token of the demo, again.
token: migrate
	@$(BIN)/python manage.py demo_info --port $(PORT)

test: install lint
	DJANGO_SETTINGS_MODULE=settings.test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(INSTALLED)

$(INSTALLED): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	@echo "== Creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "== Installing the project and its tested dependencies (about a minute the first time)"
	$(BIN)/pip install --progress-bar off -c constraints.txt -e ".[dev]"
	touch $@

migrate: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v 0

# Schemathesis for longer than in `make test`, with a new seed each time (README.md, "Development").
FUZZ_EXAMPLES ?= 100
FUZZ_SEED ?= $(shell date +%s)
fuzz: install
	@echo "== schemathesis: $(FUZZ_EXAMPLES) examples per operation, seed $(FUZZ_SEED) (make fuzz FUZZ_SEED=$(FUZZ_SEED) replays it)"
	WDO_FUZZ_MAX_EXAMPLES=$(FUZZ_EXAMPLES) WDO_FUZZ_SEED=$(FUZZ_SEED) WDO_FUZZ_TIMEOUT=3600 \
		$(BIN)/pytest tests/api/test_fuzz.py tests/emulator/test_fuzz.py $(PYTEST_ARGS)

# The load benchmarks (BENCHMARKS.md) drive gunicorn with wrk, a Debian package, and measure PostgreSQL at
# BENCH_DATABASE_URL (the database is dropped and created again) and SQLite in a temporary folder.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wdo_bench
# The scale benchmark (benchmarks/scale.py) also needs Redis, as the broker and the shared request budget.
BENCH_BROKER_URL ?= redis://127.0.0.1:6379/12
bench: install
	@command -v wrk >/dev/null || { echo "make bench needs wrk, the HTTP load generator:" \
		"apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)"; exit 1; }
	$(BIN)/python -m benchmarks.emulator_list
	DJANGO_SETTINGS_MODULE=settings.test $(BIN)/python -m benchmarks.droplet_list
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m benchmarks.api_load
	$(BIN)/python -m benchmarks.sqlite_reads
	DATABASE_URL=$(BENCH_DATABASE_URL) CELERY_BROKER_URL=$(BENCH_BROKER_URL) $(BIN)/python -m benchmarks.scale

clean:
	rm -rf $(VENV) var
