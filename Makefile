# Policy Assistant — see README.md. Everything runs offline once `make setup` is done.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
export RASA_TELEMETRY_ENABLED := false
export TOKENIZERS_PARALLELISM := false

.PHONY: setup index eval tune bench test demo clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock scripts/setup.sh
	scripts/setup.sh

index: setup            ## build the search index if documents, model or glossary changed
	$(PY) -m bot index

eval: index             ## retrieval quality on the dev question set
	mkdir -p bench/out && $(PY) -m bot eval --out bench/out/eval.json

tune: index             ## retrain the fusion ranker and confidence model (data/ranker.json)
	$(PY) -m bot tune

bench: index            ## latency, memory and scale benchmark (figures in docs/performance.md)
	$(PY) bench/search_bench.py

test: setup             ## the test suite (builds the index on first run)
	$(PY) -m pytest -q

demo: index             ## interactive search in the terminal
	$(PY) -m bot chat

clean:
	rm -rf models/index bench/out .pytest_cache
