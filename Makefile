# comboplan: two commands for a fresh machine.
#   make demo   create .venv, install comboplan, run the main job (report in demo_output/)
#   make test   create .venv, install comboplan with test extras, run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
export MPLBACKEND := Agg

.PHONY: demo test test-fast bench install install-test clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/activate pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/activate pyproject.toml
	$(PIP) install --quiet -e ".[test,bench,dask]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(VENV)/bin/comboplan demo --output demo_output

test: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 tests

test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 -m "not slow" tests

bench: $(VENV)/.installed-test
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache .hypothesis
