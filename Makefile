# Inference Workbench: two commands on a fresh machine.
#   make demo   set up everything (venv, deps, local model) and run the demo experiment
#   make test   run every test tier (unit, local model, notebooks, browser)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= traces.duckdb

.PHONY: setup demo test test-fast lint lab browser-deps sandbox-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[local-model,notebook,dev]'
	$(BIN)/workbench local weights
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/workbench demo --db $(DB)

# Debian's chromium for the real-browser tests (never `playwright install`: no downloads).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq || true) && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# bubblewrap: the OS sandbox the code grader runs model-written code in (it fails closed
# without it). setpriv (util-linux) runs the non-root tier of its escape tests.
sandbox-deps:
	@command -v bwrap >/dev/null 2>&1 || { \
	  (apt-get update -qq || true) && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }

# Several processes: Playwright's sync API and the asyncio-based tests each need the main
# thread's event loop to themselves, and each browser folder starts its own Playwright
# (two sync Playwright instances cannot share a process), so each runs on its own.
BROWSER_DIRS := tests/export tests/widgets tests/browser
test: setup browser-deps sandbox-deps
	$(BIN)/python -m pytest -q -m "not browser" tests
	set -e; for d in $(BROWSER_DIRS); do $(BIN)/python -m pytest -q -m browser $$d; done

test-fast: setup sandbox-deps
	$(BIN)/python -m pytest -q -m "not local_model and not notebook and not browser and not slow" tests

lint: setup
	$(BIN)/ruff check workbench widgets tests bench
	$(BIN)/mypy workbench widgets
	$(BIN)/lint-imports

lab: setup  # the notebooks' Explorer records into (and recomputes from) the demo's file
	WORKBENCH_DB=$${WORKBENCH_DB:-$(abspath $(DB))} $(BIN)/jupyter lab notebooks/

bench: setup
	$(BIN)/python bench/local_parallel.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
