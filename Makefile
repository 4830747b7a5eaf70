# make demo | make test | make soak | make bench | make lint | make schema — each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test soak lint bench schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dask,numexpr,workflows]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/python examples/demo.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

soak: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m soak

bench: $(VENV)/.installed-test
	mkdir -p benchmarks/results
	$(BIN)/python -m pytest benchmarks -o addopts="--import-mode=importlib" --benchmark-only \
		--benchmark-columns=min,median,rounds --benchmark-group-by=group \
		--benchmark-json=benchmarks/results/latest.json
	$(BIN)/python benchmarks/report.py benchmarks/results/latest.json
	$(BIN)/python benchmarks/memory.py

# the JSON Schema of graph documents, generated from the op rows (a test checks it is fresh)
schema: $(VENV)/.installed
	$(BIN)/python -m lazyarray.serialize schema

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
