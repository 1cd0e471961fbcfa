# Two entry points: `make serve` (build and serve the site with live reload) and `make test`.
# Each creates the virtual environment .venv and installs the project on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: serve test build check bench lighthouse

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.site-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.site-installed

serve: $(VENV)/.site-installed
	$(BIN)/mkdocs serve --dirty

build: $(VENV)/.site-installed
	$(BIN)/mkdocs build --strict

check: $(VENV)/.site-installed
	$(BIN)/infralens check

# Lint and type checks first: they take seconds and name the line.
test: $(VENV)/.test-installed
	$(BIN)/ruff check hooks tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(VENV)/.site-installed
	$(BIN)/python bench/run.py

# Lighthouse scores (mobile preset, served with gzip) of the home page and lab pages. Needs
# Chromium and npm; Lighthouse itself is installed on first use under .cache/lighthouse.
lighthouse: $(VENV)/.site-installed
	$(BIN)/python bench/lighthouse.py
