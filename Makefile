# mailroom: every target does its own set-up from nothing (a virtual environment in .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: help venv demo test test-fast lint format package bench infra-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[cli,local,dev]'
	@touch $@

venv: $(STAMP) ## create .venv and install mailroom with its CLI, local mode and dev tools

demo: $(STAMP) ## run the whole pipeline locally on the sample mail and show the result
	$(BIN)/mailroom demo --mail events/mail

test: $(STAMP) package ## the whole suite: unit, integration, e2e, and the slow tier (infra, corpus)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=10

test-fast: $(STAMP) ## everything but the slow tier, for the inner loop
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not slow"

lint: $(STAMP) ## ruff, mypy and terraform fmt
	$(BIN)/ruff check functions tests tools bench
	$(BIN)/ruff format --check functions tests tools bench
	$(BIN)/mypy
	terraform fmt -check -recursive infra

format: $(STAMP) ## apply ruff and terraform formatting
	$(BIN)/ruff check --fix functions tests tools bench
	$(BIN)/ruff format functions tests tools bench
	terraform fmt -recursive infra

package: $(STAMP) ## build/lambda/function.zip and layer.zip, pinned to the tested versions
	$(BIN)/python tools/package.py

bench: $(STAMP) ## extraction speed and peak memory against the stdlib, same run
	$(BIN)/python bench/run.py

infra-check: $(STAMP) package ## terraform fmt/validate, checkov, and apply to the emulator
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests/infra

clean: ## remove build output, caches and the virtual environment
	rm -rf build .venv .pytest_cache .mypy_cache .ruff_cache .hypothesis
