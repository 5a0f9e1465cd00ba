# Everything installs from nothing: `make test` on a fresh clone is enough.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_DIR := tools/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
PYTEST_ARGS ?=
# Two workers, one test file each at a time: the act modules share a world per file,
# and most of a run waits on act, git and the registries rather than on a core.
PYTEST_WORKERS ?= 2

.PHONY: setup test unit lint demo bench sandbox clean lock system-tools

setup: $(STAMP) $(NODE_STAMP) system-tools

# The sandbox's container registries come from Debian: docker-registry (the CNCF
# distribution server) and skopeo (the client the docker target runs). A fresh
# Debian machine where we are root gets them from apt; elsewhere the message says
# what to install (macOS: `brew install skopeo distribution`).
SYSTEM_TOOLS := skopeo docker-registry
system-tools:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing$$missing (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
		echo "missing$$missing: install them (Debian/Ubuntu: sudo apt-get install$$missing) for the docker target's sandbox tests"; \
	fi

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
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests scripts bench
	$(VENV)/bin/mypy
	$(VENV)/bin/zizmor --offline action-*/action.yml action-*/*/action.yml examples/ .github/

demo: setup
	$(PY) -m valet demo

bench: setup
	$(PY) bench/run.py

# make sandbox SANDBOX_ARGS="--all" (or --with crates,trusted-publishing, ...)
SANDBOX_ARGS ?=
sandbox: setup
	$(PY) -m valet sandbox $(SANDBOX_ARGS)

# Regenerate the hash-pinned locks after editing requirements/*.in. One universal
# lock per file (Python 3.10-3.13, Linux and macOS: markers pick the pins), from the
# default index only: no uv/pip configuration or index variable of this machine
# may reach the result.
UV_COMPILE := env -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_INDEX -u UV_DEFAULT_INDEX \
	-u UV_FIND_LINKS -u UV_CONSTRAINT -u UV_OVERRIDE -u UV_PYTHON \
	$(CURDIR)/$(VENV)/bin/uv pip compile --no-config --universal --python-version 3.10 \
	--generate-hashes --custom-compile-command "make lock" -q

lock: $(STAMP)
	cd requirements && $(UV_COMPILE) -o runtime.lock runtime.in
	cd requirements && $(UV_COMPILE) -o dev.lock dev.in

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache build *.egg-info src/*.egg-info
