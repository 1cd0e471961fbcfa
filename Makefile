# Two entry points: `make serve` (build and serve the site with live reload) and `make test`.
# Each creates the virtual environment .venv and installs the project on first use.

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: serve test test-lab check-fast build check bench lighthouse

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The site with numpy, which the starters import: an author runs them (`infralens new`, `outputs`).
$(VENV)/.site-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[starters]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.site-installed

# `make serve PORT=8001` when port 8000 is taken.
serve: $(VENV)/.site-installed
	$(BIN)/mkdocs serve --dirty --dev-addr 127.0.0.1:$(PORT)

build: $(VENV)/.site-installed
	$(BIN)/mkdocs build --strict

check: $(VENV)/.site-installed
	$(BIN)/infralens check

# Lint and type checks first: they take seconds and name the line.
test: $(VENV)/.test-installed
	$(BIN)/ruff check hooks tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

# One lab, as its author checks it before pushing: every rule, its planted bugs, its starter on
# the simulated machines and the site-wide page tests (`make test-lab LAB=lab-07-fusion`).
test-lab: $(VENV)/.test-installed
	@test -n "$(LAB)" || { echo "usage: make test-lab LAB=<lab-id>" >&2; exit 2; }
	$(BIN)/infralens check
	$(BIN)/infralens mutate $(LAB)
	$(BIN)/python -m pytest -q tests/test_starters_run.py tests/test_curriculum.py tests/test_site.py \
		-k "$(LAB) or not lab-"

# Lint, types and the tests that need neither a browser, a server, a full build nor the starters
# run: the loop for a change to the package's code.
check-fast: $(VENV)/.test-installed
	$(BIN)/ruff check hooks tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not browser and not serve and not slow and not content"

bench: $(VENV)/.site-installed
	$(BIN)/python bench/run.py

# Lighthouse scores (mobile preset, served with gzip) of the home page and lab pages. Needs
# Chromium and npm; Lighthouse itself is installed on first use under .cache/lighthouse.
lighthouse: $(VENV)/.site-installed
	$(BIN)/python bench/lighthouse.py
