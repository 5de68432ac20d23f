# invbench: `make demo` sets everything up and runs a small benchmark with its page; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= constraints-cpu.txt
PY := $(VENV)/bin/python
STAMP := $(VENV)/.invbench-installed
PIP_C := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)

.PHONY: setup demo test test-all bench lint clean browser

# Debian's chromium + chromedriver for the leaderboard page's browser test (skipped when absent).
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
	  ( (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	    || echo "chromium could not be installed: the browser test will skip" )

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(if $(CONSTRAINTS),$(PY) -m pip install $(PIP_C) torch,)
	$(PY) -m pip install $(PIP_C) -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/invbench demo

test: setup browser
	$(PY) -m pytest -q

test-all: setup browser
	$(PY) -m pytest -q -m "slow or not slow"

bench: setup
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-only -m "slow or not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
