# lmcoinc: `make demo` runs the coincidence on simulated data, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
REF_VENV ?= .venv-ref
BIN := $(VENV)/bin

.PHONY: install demo test reference lint bench docs clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,simulate,report,docs]"
	$(BIN)/python -m compileall -q lmcoinc
	touch $@

# The reference (magic-cta-pipe 0.6.2) in its own venv: the differential-test oracle.
reference: $(REF_VENV)/.installed

$(REF_VENV)/.installed:
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/pip install -q --upgrade pip
	$(REF_VENV)/bin/pip install -q magic-cta-pipe==0.6.2
	touch $@

demo: install
	$(BIN)/lmcoinc demo demo_output

test: install
	-$(MAKE) reference || echo "reference venv unavailable: live differential tests will be skipped"
	LMCOINC_REFERENCE_PYTHON=$(abspath $(REF_VENV))/bin/python $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check lmcoinc tests scripts
	$(BIN)/lint-imports

# The documentation site, warnings as errors: docs/_build/html/index.html
docs: install
	rm -rf docs/_build docs/generated
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: install
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) $(REF_VENV) demo_output docs/_build docs/generated
