# Two commands on a fresh machine: `make demo` and `make test`. Everything else is for development.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint types docs sysdeps bench bench-extra clean release-check other-pythons

$(STAMP): pyproject.toml examples/dbsnap-plugin-example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,testing]' --group dev
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
	$(PY) scripts/contract_reference.py --check || (echo "docs/contract.md is stale: run $(PY) scripts/contract_reference.py" && false)

types: $(STAMP)
	$(PY) -m mypy

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs build/docs

# The suite runs on two workers, a test file per worker (module fixtures stay whole); the other
# Pythons' part of it runs alongside, from the start (their virtualenvs take a while to build).
test: sysdeps $(STAMP)
	rm -f .other-pythons.rc
	(bash scripts/other-pythons.sh > .other-pythons.log 2>&1; echo $$? > .other-pythons.rc) &
	$(MAKE) lint types docs release-check
	$(PY) -m pytest -n 2 --dist loadfile
	@echo "== other Pythons (scripts/other-pythons.sh):"
	@while [ ! -e .other-pythons.rc ]; do sleep 1; done
	@cat .other-pythons.log
	@exit $$(cat .other-pythons.rc)

# Build, check and smoke-test the distributions in a fresh virtualenv; uploads nothing.
release-check: $(STAMP)
	bash scripts/release-check.sh $(PY)

# A representative part of the fast suite on every other supported Python the machine has, at once.
other-pythons: $(STAMP)
	bash scripts/other-pythons.sh

test-fast: $(STAMP)
	$(PY) -m pytest -x -q -m "not slow"

bench: sysdeps $(STAMP)
	$(PY) benchmarks/suite.py $(BENCH_ARGS)

bench-extra: sysdeps $(STAMP)
	$(PY) benchmarks/sftp.py
	$(PY) benchmarks/retention_plan.py

clean:
	rm -rf $(VENV) .venv-3.* build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
