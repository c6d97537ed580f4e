# Two commands matter: `make run` (everything, in the foreground) and `make test` (lint + the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint install migrate bench clean

run: migrate
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho start -f Procfile

test: install lint
	DJANGO_SETTINGS_MODULE=settings.test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(INSTALLED)

$(INSTALLED): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

migrate: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

bench: install
	$(BIN)/python -m benchmarks.emulator_list
	DJANGO_SETTINGS_MODULE=settings.test $(BIN)/python -m benchmarks.droplet_list

clean:
	rm -rf $(VENV) var
