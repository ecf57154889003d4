# Xiangzhu — two commands: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PEERS := tests/peers
WEB_ASSETS := bot/web/assets
PG_VERSION ?= 15

.PHONY: run test chat venv venv-test db demo postgres peers chromium web-assets bench clean test-rasa fuzz editor-assets

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

db: venv
	mkdir -p data
	$(BIN)/xiangzhu db upgrade
	$(BIN)/xiangzhu seed --demo

run: db web-assets editor-assets
	@echo "Xiangzhu: REST http://$(HOST):$(PORT)/webhooks/rest/webhook  web http://$(HOST):$(PORT)/  (database ./data/xiangzhu.db)"
	$(BIN)/xiangzhu serve --host $(HOST) --port $(PORT)

chat: db
	$(BIN)/xiangzhu chat

# The local PostgreSQL server the storage tests run against (trust auth on 127.0.0.1:5432).
postgres:
	@if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start || true; \
	  for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; \
	fi
	@pg_isready -h 127.0.0.1 -p 5432

# Protocol peers the tests talk to: the Telegram Bot API emulator (npm).
peers: $(PEERS)/node_modules/.installed
$(PEERS)/node_modules/.installed: $(PEERS)/package.json
	cd $(PEERS) && npm install --no-audit --no-fund --silent
	touch $@

# The flow editor's front-end libraries (CodeMirror, Mermaid) from npm, served by the app.
EDITOR_ASSETS := bot/flow_editor_assets
# src/*.js are bundled by esbuild (npm) into dist/, so the pages need no inline import map and
# run under the staff web's strict Content-Security-Policy.
editor-assets: $(EDITOR_ASSETS)/dist/editor.js
$(EDITOR_ASSETS)/node_modules/.installed: $(EDITOR_ASSETS)/package.json $(EDITOR_ASSETS)/package-lock.json
	cd $(EDITOR_ASSETS) && npm ci --no-audit --no-fund --silent
	touch $@
$(EDITOR_ASSETS)/dist/editor.js: $(EDITOR_ASSETS)/node_modules/.installed $(wildcard $(EDITOR_ASSETS)/src/*.js)
	cd $(EDITOR_ASSETS) && npm run --silent build

# The staff web's front-end libraries (htmx and its SSE extension) from the npm registry, served
# by the app under /static/vendor: nothing is loaded from the internet at run time.
web-assets: $(WEB_ASSETS)/node_modules/.installed
$(WEB_ASSETS)/node_modules/.installed: $(WEB_ASSETS)/package.json $(WEB_ASSETS)/package-lock.json
	cd $(WEB_ASSETS) && npm ci --no-audit --no-fund --silent
	touch $@

# Debian's Chromium for the browser tests (Playwright drives it; no browser download), with a
# Chinese font so pages and screenshots show the characters.
chromium:
	@{ command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "wenquanyi micro hei"; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

test: venv-test postgres peers chromium web-assets editor-assets
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 tests

# The conversation fuzzer (tests/fuzz): FUZZ_WALKS villagers per database, seeded; prints turns,
# flows and steps reached and violations; FUZZ_SAVE=dir writes each distinct failing walk there.
FUZZ_SEED ?= 1
FUZZ_WALKS ?= 2000
FUZZ_DB ?= sqlite postgres
FUZZ_SAVE ?=
fuzz: venv-test postgres
	$(BIN)/python -m tests.fuzz --seed $(FUZZ_SEED) --walks $(FUZZ_WALKS) $(foreach d,$(FUZZ_DB),--db $(d)) $(if $(FUZZ_SAVE),--save $(FUZZ_SAVE))

bench: venv
	$(BIN)/xiangzhu bench nlu
	$(BIN)/xiangzhu bench pipeline --db sqlite+aiosqlite:///./data/bench.db

clean:
	rm -rf $(VENV) data .pytest_cache
