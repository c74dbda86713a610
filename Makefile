# Policy Assistant — see README.md. Everything runs offline once `make setup` is done.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
RASA  := PYTHONPATH=$(CURDIR) .venv-rasa/bin/rasa
MODEL := models/rasa/policy-assistant.tar.gz
RASA_DATA := data/nlu.yml data/rules.yml data/stories.yml
# a Rasa model that does not read to its end (or does not match its .sha256) is removed first,
# so that the train rule trains it again instead of Rasa starting without an agent
CHECK_MODEL := .venv-rasa/bin/python rasa_addons/preflight.py --model-only --model $(MODEL) --remove-damaged
export RASA_TELEMETRY_ENABLED := false
export TOKENIZERS_PARALLELISM := false
export RASA_PORT ?= 5005
export ACTIONS_PORT ?= 5055
export WEB_PORT ?= 8080

.PHONY: setup index train validate eval tune bench test test-fast chaos test-py test-rasa test-browser test-channels channels purge insights load browser office services scale-start scale-stop screenshots web demo start stop status chat clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock requirements-rasa.lock scripts/setup.sh
	scripts/setup.sh

node_modules/.installed: package.json package-lock.json   # socket.io client and rasa-webchat for the page
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "warning: npm not found: the web page will use its REST fallback and /webchat is unavailable" >&2; fi

services:               ## Debian postgresql, redis-server and nginx for the scale-out stack and its tests
	scripts/services.sh

scale-start: setup index train services ## scale-out stack: PostgreSQL, Redis, 2 Rasa + 2 action servers behind nginx (docs/deployment.md)
	scripts/scale.sh start

scale-stop:             ## stop the scale-out stack (conversations stay in its PostgreSQL data)
	scripts/scale.sh stop

browser:                ## Debian chromium + chromium-driver + CJK font for the browser tests
	scripts/browser.sh

office:                 ## Debian LibreOffice Writer (headless) for the document-format tests (tests/test_readers.py)
	scripts/office.sh

index: setup            ## build the search index if documents, model or glossary changed
	$(PY) -m bot index

train: setup            ## train the Rasa model when its training data or config changed, or when it is damaged
	@$(CHECK_MODEL)
	@$(MAKE) --no-print-directory $(MODEL)

$(MODEL): $(VENV)/.installed config.yml domain.yml $(RASA_DATA) $(wildcard rasa_addons/*.py)
	$(RASA) train --data $(RASA_DATA) --domain domain.yml --config config.yml \
		--out models/rasa --fixed-model-name policy-assistant
	@touch $(MODEL)

validate: setup         ## rasa data validate
	$(RASA) data validate --data $(RASA_DATA) --domain domain.yml --config config.yml --fail-on-warnings

eval: index train       ## retrieval quality (document-worded and everyday sets), conversations, NLU cross-validation, safety guard (docs/)
	mkdir -p bench/out && $(PY) -m bot eval --out bench/out/eval.json
	$(PY) -m bot everyday --out bench/out/everyday.json
	$(PY) -m bot conversations --out bench/out/conversations.json
	$(PY) bench/nlu_eval.py
	$(PY) -m bot safety --out bench/out/safety.json

tune: index             ## retrain the fusion ranker and confidence model (data/ranker.json)
	$(PY) -m bot tune

bench: index train browser services office ## latency per stage, REST, load at 20 sessions, cold start, memory; each figure next to the last run's (docs/performance.md)
	mkdir -p bench/out && $(PY) bench/report.py keep
	$(PY) bench/search_bench.py
	$(PY) bench/guard_bench.py
	$(PY) bench/rasa_bench.py
	$(PY) bench/load.py --start --sessions 20 --messages 50 --label single --out bench/out/load-single.json
	$(PY) bench/startup.py
	$(PY) bench/browser_bench.py
	$(PY) bench/add_bench.py
	@$(PY) bench/report.py

test: setup index train browser office services ## the whole test suite: Python tests, Rasa data and test stories, end to end, scale-out, browser
	$(MAKE) validate
	$(PY) -m pytest -q
	$(MAKE) test-rasa

test-fast: setup         ## the tests that need no server, browser or real model (pytest markers; under 2 minutes)
	$(PY) -m pytest -q -m "not slow and not e2e and not browser and not scale"

chaos: setup index train ## the fault suite on loopback: hostile input, killed processes, damaged files, the web server (docs/deployment.md)
	$(PY) -m pytest -v -m chaos

test-browser: setup index train browser ## only the real-browser tests (tests/test_browser.py)
	$(PY) -m pytest -q tests/test_browser.py

test-channels: setup index train ## messaging channels end to end against a fake platform API; one line per channel
	$(PY) -m pytest -q tests/test_render.py tests/test_channels.py

channels: setup         ## which messaging channels the environment (or .env) enables (docs/channels.md)
	@. scripts/env.sh; $(PY) -m bot channels

purge:                  ## delete conversations idle for more than DAYS days (default 30) from run/tracker.db
	$(PY) -m bot purge --days $${DAYS:-30}

insights:               ## what was asked and how it was answered (tracker store of make start): SINCE (7d), FORMAT (table|json|csv)
	@. scripts/env.sh; $(PY) -m bot insights --since $${SINCE:-7d} --format $${FORMAT:-table}

load:                   ## bounded load run against the running stack (make start first): LOAD_URL, SESSIONS, MESSAGES
	@. scripts/env.sh; mkdir -p bench/out; \
	$(PY) bench/load.py --url $${LOAD_URL:-http://127.0.0.1:$(RASA_PORT)} --sessions $${SESSIONS:-20} \
		--messages $${MESSAGES:-50} --token "$${RASA_TOKEN:-}" --label $${LOAD_LABEL:-single} --out bench/out/load-$${LOAD_LABEL:-single}.json

test-rasa: train        ## Rasa test stories against the running action server
	scripts/test_stories.sh

demo: setup index train ## start everything in the foreground; Ctrl-C stops it
	scripts/stack.sh demo


start: setup index      ## start the action server, Rasa and the web page in the background (docs/deployment.md)
	@$(MAKE) --no-print-directory train
	scripts/stack.sh start

stop:                   ## stop them, with every process they started (process groups)
	scripts/stack.sh stop

status:                 ## each component: running and healthy / not answering / unhealthy / stopped
	@scripts/stack.sh status || true

.PHONY: restart
restart: setup index    ## restart everything, or one component: make restart C=actions|rasa|web
	@$(MAKE) --no-print-directory train
	scripts/stack.sh restart $(C)

screenshots: setup index train browser ## refresh docs/screenshots/ from the browser tests
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q tests/test_browser.py

web: setup index        ## only the web page and JSON API (Rasa must run elsewhere)
	$(PY) -m bot web

chat: setup             ## talk to the running assistant in the terminal (make start first)
	@. scripts/env.sh; $(PY) -m bot chat --rasa http://127.0.0.1:$(RASA_PORT)

clean:
	rm -rf models/index models/index-cache models/rasa bench/out run .pytest_cache
