# GridLedger: every target bootstraps what it needs (venv, pip, npm ci) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GL := $(VENV)/bin/gridledger
PY_STAMP := $(VENV)/.installed
NODE_STAMP := hardhat-local/node_modules/.installed
PYTEST_ARGS ?=

.PHONY: bootstrap compile demo test lint bench clean slither invariants security

$(PY_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): hardhat-local/package.json hardhat-local/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20+ and npm"; exit 1; }
	cd hardhat-local && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bootstrap: $(PY_STAMP) $(NODE_STAMP)

compile: bootstrap
	$(GL) contracts build

demo: compile
	$(GL) demo $(DEMO_ARGS)

test: compile
	$(PY) -m pytest $(PYTEST_ARGS)

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Static analysis and invariant fuzzing (docs/security.md); both run in CI.
slither: compile
	bash scripts/security/slither.sh

invariants: bootstrap
	bash scripts/security/invariants.sh

security: slither invariants

bench: compile
	$(PY) -m scripts.bench.run $(if $(QUICK),--quick,)

clean:
	rm -rf artifacts hardhat-local/cache .gridledger build/forge build/slither.json build/slither.txt
