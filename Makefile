# Two commands get a newcomer going: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATABASE_URL ?= postgresql://localhost:5432/wcsync
TEST_DATABASE_URL ?= postgresql://localhost:5432/wcsync_test
LOAD_DATABASE_URL ?= postgresql://localhost:5432/wcsync_load
BENCH_DATABASE_URL ?= postgresql://localhost:5432/wcsync_bench
export DATABASE_URL TEST_DATABASE_URL LOAD_DATABASE_URL BENCH_DATABASE_URL

.PHONY: run migrate test load bench clean

# The venv is rebuilt when setup.py changes. pytest-tornado imports
# pkg_resources, which setuptools 82 removed: hence the pin.
$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'setuptools<82' wheel
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

migrate: $(VENV)/.installed
	$(PY) -m service migrate

run: migrate
	$(PY) -m service serve

# tests/conftest.py recreates $(TEST_DATABASE_URL) and applies the migrations.
test: $(VENV)/.installed
	$(PY) -m pytest

# Many stores at once against a real server; checks every row afterwards.
load: $(VENV)/.installed
	$(PY) -m load

# Records/second of each write path, as a Markdown table; recreates $(BENCH_DATABASE_URL).
bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) *.egg-info .coverage .pytest_cache .hypothesis
