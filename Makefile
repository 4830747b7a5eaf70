# make demo | make test | make soak | make bench | make lint | make schema — each creates .venv when missing.
# make browser installs Chromium (Debian's package) for the web page's test; make test runs it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test soak lint bench schema clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dask,numexpr,workflows,server,io]"
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

test: lint browser
	$(BIN)/python -m pytest --durations=15

# one test at a time: soak runs measure time and memory
soak: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m soak -n 0

bench: $(VENV)/.installed-test
	mkdir -p benchmarks/results
	$(BIN)/python -m pytest benchmarks -o addopts="--import-mode=importlib" --benchmark-only \
		--benchmark-columns=min,median,rounds --benchmark-group-by=group \
		--benchmark-json=benchmarks/results/latest.json
	$(BIN)/python benchmarks/report.py benchmarks/results/latest.json
	$(BIN)/python benchmarks/memory.py

# Chromium for tests/test_server_page.py (the web page in a real headless browser), from the
# distribution's packages when apt-get can run (as root, or through passwordless sudo).
# Never fails: where it cannot be installed, the test skips and says why.
BROWSERS := chromium chromium-browser google-chrome
browser:
	@for name in $(BROWSERS); do command -v $$name >/dev/null 2>&1 && exit 0; done; \
	apt=; if command -v apt-get >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then apt=apt-get; elif sudo -n true 2>/dev/null; then apt="sudo -n apt-get"; fi; \
	fi; \
	if [ -z "$$apt" ]; then \
		echo "make browser: no Chromium, and apt-get cannot run here: the web page's browser test will skip"; \
	else \
		{ $$apt update -qq && DEBIAN_FRONTEND=noninteractive $$apt install -y -qq chromium; } \
		|| echo "make browser: installing chromium failed: the web page's browser test will skip"; \
	fi

# the JSON Schema of graph documents, generated from the op rows (a test checks it is fresh)
schema: $(VENV)/.installed
	$(BIN)/python -m lazyarray.serialize schema

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
