# `make run` and `make test` each set up what they need; `make install` does only that.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8080
STORE  ?= ./runlake-data
# checkov (Terraform checks in tests/terraform) pins boto3 1.35, older than ours: its own venv.
CHECKOV_VERSION := 3.3.30
CHECKOV := .venv-checkov/bin/checkov
LAMBDA_DIR   ?= build/lambda
LAMBDA_IMAGE ?= runlake-lambda:dev

.PHONY: install run test lint bench clean lambda

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	RUNLAKE_STORE="$(STORE)" $(BIN)/runlake demo --if-empty
	@RUNLAKE_STORE="$(STORE)" $(BIN)/runlake serve --host $(HOST) --port $(PORT) --check \
		|| { echo "runlake: make run PORT=$$(($(PORT) + 1)) picks another port" >&2; exit 1; }
	@echo
	@echo "runlake is starting on http://$(HOST):$(PORT) (store: $(STORE)). Try, in another shell:"
	@echo "  curl -s http://$(HOST):$(PORT)/v1/sql -H 'content-type: application/json' -d '{\"sql\": \"SELECT status, count(*) AS n FROM runs GROUP BY 1\"}'"
	@echo "  curl -s -X POST http://$(HOST):$(PORT)/ -H 'ce-specversion: 1.0' -H 'ce-id: demo-1' \\"
	@echo "       -H 'ce-source: /demo' -H 'ce-type: dev.tekton.event.taskrun.unknown.v1' \\"
	@echo "       -H 'content-type: application/json' --data @../shared/fixtures/tekton/017_CloudEventBody_events-md-taskrun-pending.json"
	@echo "  RUNLAKE_STORE=$(STORE) $(BIN)/runlake sql \"SELECT pipeline, status, count(*) FROM runs GROUP BY ALL ORDER BY 1, 2\""
	@echo
	RUNLAKE_STORE="$(STORE)" $(BIN)/runlake serve --host $(HOST) --port $(PORT)

$(CHECKOV):
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)

test: $(STAMP) $(CHECKOV)
	@# The web page's end-to-end test drives Debian's headless chromium; the Results import's
	@# tests start Debian's PostgreSQL.
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
		&& ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver postgresql)
	@# The benchmark's smoke test loads ingest with wrk and sets the query server's clock.
	@command -v wrk >/dev/null && ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq wrk libfaketime)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# ruff's rules and formatting, then the rooms' import contracts (pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

# `make bench RUNS=100000` for one size, `make bench QUICK=1` for a smoke run; needs root the
# first time, to install Debian's PostgreSQL, wrk and libfaketime (the query server's clock is
# set to the benchmark history's end).
bench: $(STAMP)
	@command -v wrk >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		&& ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 \
		|| (apt-get update && apt-get install -y postgresql wrk libfaketime)
	$(BIN)/python -m bench $(if $(RUNS),--runs $(RUNS)) $(if $(QUICK),--quick)

# The Lambda image's build context (Dockerfile, pinned requirements, sources); built too when
# a Docker engine answers. Push it to terraform's ecr_repository_url as var.image_tag.
lambda:
	rm -rf $(LAMBDA_DIR)
	mkdir -p $(LAMBDA_DIR)
	cp Dockerfile requirements.txt $(LAMBDA_DIR)/
	cp -R layout webhooks service ingest query runlake $(LAMBDA_DIR)/
	find $(LAMBDA_DIR) -name __pycache__ -prune -exec rm -rf {} +
	@if docker info >/dev/null 2>&1; then \
		docker build --platform linux/amd64 -t $(LAMBDA_IMAGE) $(LAMBDA_DIR); \
	else \
		echo "$(LAMBDA_DIR) is ready; no Docker engine here, so build it elsewhere:"; \
		echo "  docker build --platform linux/amd64 -t <ecr_repository_url>:<image_tag> $(LAMBDA_DIR)"; \
	fi

clean:
	rm -rf $(VENV) .venv-checkov build runlake-data .pytest_cache
