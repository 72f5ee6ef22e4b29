# The two commands of the README are `make run` and `make test`; everything else is a helper.
PY ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup ui ui-api run test test-full lint bench kafka-up kafka-down clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# durable-rules (the reference rule engine) is a C extension built from source; its
	# benchmark figures must come from an optimised build, so the flags are explicit.
	CPPFLAGS="-O2 -DNDEBUG" $(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP) ui
	$(BIN)/headwater kafka fetch

# The web UI (ui/, React + Vite) builds into projections/ui when its sources changed.
ui:
	ui/scripts/build.sh

# After an API or definition-model change: regenerate the UI's API types, JSON Schemas and templates.
ui-api: $(STAMP)
	ui/scripts/gen-api.sh $(abspath $(BIN))/python

run: setup
	$(BIN)/headwater up

test: setup
	$(BIN)/pytest

test-full: setup
	HEADWATER_FULL=1 $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python -m bench.kafka_baseline

kafka-up: setup
	$(BIN)/headwater kafka up

kafka-down: $(STAMP)
	$(BIN)/headwater kafka down

clean:
	rm -rf $(VENV) .headwater .pytest_cache .mypy_cache .ruff_cache ui/node_modules projections/ui
