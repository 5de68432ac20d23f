# invbench: `make demo` sets everything up and runs an inversion; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= constraints-cpu.txt
PY := $(VENV)/bin/python
STAMP := $(VENV)/.invbench-installed
PIP_C := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)

.PHONY: setup demo test test-all bench lint clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(if $(CONSTRAINTS),$(PY) -m pip install $(PIP_C) torch,)
	$(PY) -m pip install $(PIP_C) -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/invbench run

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q -m "slow or not slow"

bench: setup
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-only -m "slow or not slow"

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
