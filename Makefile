# `make run` and `make test` each set up what they need; `make install` does only that.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8080
STORE  ?= ./runlake-data

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	RUNLAKE_STORE="$(STORE)" $(BIN)/runlake demo --if-empty
	@echo
	@echo "runlake is starting on http://$(HOST):$(PORT) (store: $(STORE)). Try, in another shell:"
	@echo "  curl -s http://$(HOST):$(PORT)/v1/sql -H 'content-type: application/json' -d '{\"sql\": \"SELECT status, count(*) AS n FROM runs GROUP BY 1\"}'"
	@echo "  curl -s -X POST http://$(HOST):$(PORT)/ -H 'ce-specversion: 1.0' -H 'ce-id: demo-1' \\"
	@echo "       -H 'ce-source: /demo' -H 'ce-type: dev.tekton.event.taskrun.successful.v1' \\"
	@echo "       -H 'content-type: application/json' --data @../shared/fixtures/tekton/017_CloudEventBody_events-md-taskrun-pending.json"
	@echo "  RUNLAKE_STORE=$(STORE) $(BIN)/runlake sql \"SELECT pipeline, status, count(*) FROM runs GROUP BY ALL ORDER BY 1, 2\""
	@echo
	RUNLAKE_STORE="$(STORE)" $(BIN)/runlake serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	@# The web page's end-to-end test drives Debian's headless chromium.
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# `make bench RUNS=100000` for one size, `make bench QUICK=1` for a smoke run; needs root the
# first time, to install Debian's PostgreSQL and wrk.
bench: $(STAMP)
	@command -v wrk >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| (apt-get update && apt-get install -y postgresql wrk)
	$(BIN)/python -m bench $(if $(RUNS),--runs $(RUNS)) $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) runlake-data .pytest_cache
