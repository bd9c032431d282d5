# The README's commands. Each target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev
BENCH  := .venv-bench/.installed
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

.PHONY: demo serve eval test docs bench lint typecheck unit mutation services sandbox-image postgres chromium mcp-servers clean

$(DEV): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# peers live in their own virtualenv: they may pull versions the test environment must not see
$(BENCH): $(DEV) pyproject.toml
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q --upgrade pip
	.venv-bench/bin/pip install -q -e '.[bench]'
	touch $@

## the example copilot; offline against the scripted model unless XAI_API_KEY is set
demo: $(DEV) sandbox-image
	$(BIN)/python -m examples.ops_copilot

## the ops copilot over HTTP on loopback (offline unless XAI_API_KEY is set); prints curl lines
serve: $(DEV) sandbox-image
	$(BIN)/python -m examples.copilot_service

## the ops copilot's evaluation dataset, offline; reports (Markdown, HTML, JSON) into build/eval/
eval: $(DEV)
	$(BIN)/python -m agentkit eval examples/evals/ops_copilot.yaml --agent examples.ops_copilot.agent:OpsCopilot --offline --report build/eval/

## the whole suite: lint, types, the import contract, the docs site, unit and integration tests
test: $(DEV) services
	$(BIN)/ruff check agentkit tests tools examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(MKDOCS) build --strict --quiet --site-dir build/docs-site
	$(BIN)/pytest -q -p no:cacheprovider tools/docs/test_reference.py
	AGENTKIT_REQUIRE_SERVICES=1 $(BIN)/pytest -q

## the documentation site (MkDocs), into site/; strict: a broken link or docstring fails it
docs: $(DEV)
	$(MKDOCS) build --strict --site-dir site

lint: $(DEV)
	$(BIN)/ruff check agentkit tests tools examples
	$(BIN)/lint-imports

typecheck: $(DEV)
	$(BIN)/mypy

unit: $(DEV)
	$(BIN)/pytest -q tests/unit

## mutation testing of the safety-critical modules against the unit tests (see tools/mutation/)
mutation: $(DEV)
	$(BIN)/python -m tools.mutation.run

services: sandbox-image postgres chromium mcp-servers

## builds the sandbox image locally (no registry needed) when it is missing
sandbox-image: $(DEV)
	tools/ci/sandbox-image.sh

## installs Debian's Chromium and chromedriver when missing (the approval page's browser test)
chromium:
	tools/ci/install-chromium.sh

## installs the published MCP server the MCP tests start, into .venv-mcp (from PyPI)
mcp-servers:
	PYTHON=$(PYTHON) tools/ci/install-mcp-servers.sh

## installs Debian's PostgreSQL server when missing (tests start their own on loopback)
postgres:
	tools/ci/install-postgres.sh

bench: $(BENCH) sandbox-image postgres
	.venv-bench/bin/python -m tools.bench.run_all

clean:
	rm -rf $(VENV) .venv-bench .venv-mcp .mypy_cache .ruff_cache .pytest_cache .agentkit mutants site
