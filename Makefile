# The two commands of the README:
#   make up     install what is missing, then run `dockyard up`
#   make test   install what is missing, then run the whole test suite (CI runs this)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test venv system-deps test-deps lint bench clean

up: system-deps venv
	$(BIN)/dockyard up

test: test-deps venv
	$(BIN)/pytest -q

system-deps:
	@scripts/system-deps.sh

test-deps:
	@scripts/system-deps.sh --test

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: system-deps venv
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
