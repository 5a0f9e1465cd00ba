# Everything installs from nothing: `make test` on a fresh clone is enough.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_DIR := tools/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
PYTEST_ARGS ?=

.PHONY: setup test unit lint demo bench sandbox clean lock

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements/runtime.lock requirements/dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes \
		-r requirements/runtime.lock -r requirements/dev.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# verdaccio (npm registry) and GitHub's OpenAPI description / webhook payloads.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests scripts bench
	$(VENV)/bin/mypy
	$(VENV)/bin/zizmor --offline action-*/action.yml examples/ .github/

demo: setup
	$(PY) -m valet demo

bench: setup
	$(PY) bench/run.py

sandbox: setup
	$(PY) -m valet sandbox

# Regenerate the hash-pinned locks after editing requirements/*.in.
lock:
	cd requirements && $(PY) -m piptools compile -q --generate-hashes --allow-unsafe --strip-extras -o runtime.lock runtime.in
	cd requirements && $(PY) -m piptools compile -q --generate-hashes --allow-unsafe --strip-extras -o dev.lock dev.in

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache build *.egg-info src/*.egg-info
