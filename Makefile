# The two commands of the README: `make run` and `make test`. Both build .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
# A CPU build of torch lies on local disk; pick another build here (a CUDA machine wants its own).
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

DATA_DIR ?= data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint unit bench screenshots clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: setup
	$(BIN)/layerlab serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

lint: setup
	$(BIN)/ruff check backend tests bench
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

test: setup lint
	$(BIN)/pytest $(PYTEST_ARGS)

unit: setup
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench.stats
	$(BIN)/python -m bench.files

# The browser tests take screenshots of the main views; these are the ones the README shows.
screenshots: setup
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)
	mkdir -p docs
	cp test-results/screenshots/{assemble,tensor,histograms,run,files}.png docs/

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
