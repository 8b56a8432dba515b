# mailroom: every target does its own set-up from nothing (a virtual environment in .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The tests run on the Lambda runtime's Python (infra/lambda.tf: python3.12) when the machine has
# it (on PATH, or installed by pyenv without being selected); otherwise on python3.
LAMBDA_PYTHON := 3.12
RUNTIME_PYTHON := $(shell for p in python$(LAMBDA_PYTHON) $$HOME/.pyenv/versions/$(LAMBDA_PYTHON)*/bin/python$(LAMBDA_PYTHON); do "$$p" -c '' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
PYTHON ?= $(or $(RUNTIME_PYTHON),python3)
VENV   ?= .venv
# The development and test environment is installed from a lock (hashed pins, every platform),
# so a run does not depend on the day it was installed. `make lock` renews it on purpose;
# `make test-latest` runs the tests on the newest versions pyproject.toml allows.
LOCK   := requirements/dev.txt
INSTALL ?= lock
UV_VENV := build/uv-venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
# Three workers on two cores: the slow tier spends much of its time waiting (on a stack's
# worker processes, an idle minute, terraform's polling), so a third keeps the CPUs busy.
PYTEST_WORKERS ?= 3
# Tests sharing one applied stack live in one file: loadfile keeps them on one worker.
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile
TERRAFORM := $(BIN)/python tools/terraform.py
CHECKOV_VENV := build/checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp

# The browser tests drive the system's Chromium: Playwright must never fetch its own browsers.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help venv tools demo test test-fast test-latest lock lint format package bench infra-check clean chromium

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# A .venv made by another Python than $(PYTHON) is made again.
PY_VERSION = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifneq ($(call PY_VERSION,$(BIN)/python),$(call PY_VERSION,$(PYTHON)))
$(STAMP): FORCE
endif
FORCE:

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
ifeq ($(INSTALL),latest)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade -e '.[cli,local,dev]'
else
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
endif
	@touch $@

venv: $(STAMP) ## create .venv and install mailroom with its CLI, local mode and dev tools

# checkov pins an old boto3: a tool environment of its own, never the project's .venv.
$(CHECKOV_STAMP): tools/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	@touch $@ $(CHECKOV_VENV)/.checkov-$$(sed -n 's/^checkov==//p' $<)

demo: $(STAMP) ## run the whole pipeline locally on the sample mail and show the result
	$(BIN)/mailroom demo --mail events/mail

# Debian's Chromium for tests/browser, installed when missing (as root, with apt-get); otherwise
# those tests skip with the reason, and fail under CI=true.
chromium: ## install Chromium for the browser tests if it is missing (needs root and apt-get)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium for the browser tests (apt-get)"; \
	    apt-get install -y --no-install-recommends chromium \
	      || { apt-get update && apt-get install -y --no-install-recommends chromium; } \
	      || echo "chromium could not be installed: the browser tests will skip (fail under CI=true)" >&2; \
	  else \
	    echo "chromium is missing and cannot be installed here (needs root and apt-get):" \
	      "the browser tests will skip (fail under CI=true)" >&2; \
	  fi; }

# The environments and Chromium are set up side by side (each mostly waits on its downloads).
tools: ## set up .venv, checkov's environment and Chromium at once
	$(MAKE) -j3 $(STAMP) $(CHECKOV_STAMP) chromium

test: tools ## everything: unit, integration, cli, e2e, and the slow tier
	$(MAKE) package
	$(PYTEST) --durations=10

# A venv of its own, so the locked .venv is left as it is.
test-latest: ## every test on the newest versions pyproject.toml allows (drift, on purpose)
	$(MAKE) test VENV=build/venv-latest INSTALL=latest

# LOCK_UPGRADE=1: every pin to the newest allowed version; otherwise pins move only as far as a
# change of pyproject.toml needs.
lock: ## renew requirements/dev.txt (hashed pins, every platform) after pyproject.toml changed
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(UV_VENV)/bin/uv pip compile pyproject.toml --extra cli --extra local --extra dev \
	  --universal --python-version 3.11 --generate-hashes $(if $(LOCK_UPGRADE),--upgrade) \
	  --custom-compile-command "make lock" -o $(LOCK)

test-fast: $(STAMP) ## everything but the slow tier (infra apply, corpus), for the inner loop
	$(PYTEST) -m "not slow"

lint: $(STAMP) ## ruff, mypy and terraform fmt
	$(BIN)/ruff check functions tests tools bench
	$(BIN)/ruff format --check functions tests tools bench
	$(BIN)/mypy
	$(TERRAFORM) fmt -check -recursive infra

format: $(STAMP) ## apply ruff and terraform formatting
	$(BIN)/ruff check --fix functions tests tools bench
	$(BIN)/ruff format functions tests tools bench
	$(TERRAFORM) fmt -recursive infra

package: $(STAMP) ## build/lambda/function.zip and layer.zip, pinned to the tested versions
	$(BIN)/python tools/package.py

# The benchmark's peer parser is an extra of its own: nothing else installs it.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	@touch $@

bench: $(BENCH_STAMP) ## extraction, hostile bodies, cold start, import, the local stack end to end, case export
	$(BIN)/python bench/run.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/export.py

infra-check: $(STAMP) $(CHECKOV_STAMP) package ## terraform fmt/validate, checkov, apply to the emulator
	$(PYTEST) tests/infra

clean: ## remove build output, caches and the virtual environment
	rm -rf build .venv .pytest_cache .mypy_cache .ruff_cache .hypothesis
