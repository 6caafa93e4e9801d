# mlops-scaffold developer Makefile. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DEMO ?= demo
export PATH := $(abspath $(BIN)):$(PATH)
export NO_MKDOCS_2_WARNING := 1

.PHONY: help install demo test e2e check lint format typecheck docs bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e '.[dev,docs]'
	$(BIN)/python -m compileall -q src/scaffold  # an editable install gets no .pyc otherwise
	@touch $@

install: $(VENV)/.installed ## Create .venv and install scaffold with its dev tools (idempotent)

demo: install ## Stamp out ./demo with the defaults, then run its tests, pipeline and verification
	rm -rf $(DEMO)
	$(BIN)/scaffold new $(DEMO) --defaults
	$(MAKE) -C $(DEMO) install test repro verify

test: install ## Fast tests (render tier)
	$(BIN)/pytest

e2e: install ## Slow end-to-end tests: install and run generated projects, update across versions
	$(BIN)/pytest -m e2e

check: install lint typecheck ## Everything CI runs: lint, types, all tests, docs
	$(BIN)/pytest -m "e2e or not e2e" --cov=scaffold --cov-report=term-missing:skip-covered
	$(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site

lint: install ## ruff check and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install ## Format the code
	$(BIN)/ruff check --fix --select I src tests bench
	$(BIN)/ruff format src tests bench

typecheck: install ## mypy --strict on src/
	$(BIN)/mypy

docs: install ## Build the docs into site/
	$(BIN)/mkdocs build --strict

bench: install ## Print the benchmark figures (bench/)
	$(BIN)/python bench/generate
	$(BIN)/python bench/time_to_green
	$(BIN)/python bench/pipeline

clean: ## Remove caches and build outputs (keeps .venv)
	rm -rf build dist site .pytest_cache .ruff_cache .mypy_cache .coverage htmlcov
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
