# Two commands on a fresh machine: `make demo` and `make test`. Everything else is for development.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint types docs sysdeps bench bench-extra clean

$(STAMP): pyproject.toml examples/dbsnap-plugin-example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e examples/dbsnap-plugin-example
	touch $@

demo: $(STAMP)
	$(PY) scripts/demo.py

sysdeps:
	bash scripts/ensure-system-packages.sh

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks scripts examples
	$(PY) -m ruff format --check src tests benchmarks scripts examples
	$(PY) scripts/cli_reference.py --check || (echo "docs/cli.md is stale: run $(PY) scripts/cli_reference.py" && false)

types: $(STAMP)
	$(PY) -m mypy

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs build/docs

test: sysdeps $(STAMP) lint types docs
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -x -q -m "not slow"

bench: sysdeps $(STAMP)
	$(PY) benchmarks/suite.py $(BENCH_ARGS)

bench-extra: sysdeps $(STAMP)
	$(PY) benchmarks/sftp.py
	$(PY) benchmarks/retention_plan.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
