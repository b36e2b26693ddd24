# `make test` and `make demo` work on a fresh machine with Python 3.11+: they create .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-installed
TOOLS := .tools
SAM := $(TOOLS)/sam/bin/sam
SAM_CLI_VERSION := 1.170.0

.PHONY: test lint typecheck unit template-lint bench explain clean

$(DEPS_STAMP): requirements-dev.txt layers/jira_connect/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# aws-sam-cli lives in its own environment: it pins packages that would slow the app's imports.
$(SAM):
	$(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/sam/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)

## test: lint, type-check, validate template.yaml, then run every test: the unit tests with the pure
## core's coverage gate (pyproject.toml [tool.coverage.report]), then the integration and e2e tests
test: lint typecheck template-lint
	$(VENV)/bin/pytest -m unit --cov
	$(VENV)/bin/pytest -m "not unit"

lint: $(DEPS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(DEPS_STAMP)
	$(VENV)/bin/mypy

template-lint: $(DEPS_STAMP) $(SAM)
	$(VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --template-file template.yaml

unit: $(DEPS_STAMP)
	$(VENV)/bin/pytest -m unit

# The layer is on the path as Lambda puts it under /opt/python.
RUN := PYTHONPATH=layers/jira_connect:. $(PY)

## bench: the benchmarks in bench/, each with its baseline measured in the same run
bench: $(DEPS_STAMP)
	$(RUN) -m bench.signing

## explain: `make explain ARGS="--method GET --url /rest/api/3/project --token 'JWT ...'"`
explain: $(DEPS_STAMP)
	@$(RUN) -m jira_connect explain $(ARGS)

## demo: the service doing its job on the local stack (moto server + the Jira emulator); DEMO_MESSAGES=300
DEMO_MESSAGES ?= 300
.PHONY: demo
demo: $(DEPS_STAMP)
	$(RUN) -m devstack demo --messages $(DEMO_MESSAGES)

## invoke: run one function of template.yaml without Docker, like `sam local invoke`:
##   `make invoke FUNCTION=IssueWorkerFunction EVENT=events/sqs_create_issue.json [ENV_VARS=env.json]`
.PHONY: invoke package
invoke: $(DEPS_STAMP)
	@$(PY) -m devstack invoke $(FUNCTION) $(if $(EVENT),--event $(EVENT)) $(if $(ENV_VARS),--env-vars $(ENV_VARS))

## package: build/jira-connect-layer.zip for python3.13 on arm64, bytecode precompiled; prints its size
package: $(DEPS_STAMP)
	$(PY) -m devstack package

## openapi: regenerate docs/openapi.json from the API function's route types (a test fails when it is stale)
.PHONY: openapi
openapi: $(DEPS_STAMP)
	$(RUN) -m functions.api.openapi

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis
