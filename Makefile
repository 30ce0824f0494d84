# Weir's entry points. `make run` and `make test` work on a fresh machine: both install
# what they need into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf

.PHONY: install run test lint protos protos-check bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "Installing Weir and its dependencies into $(VENV) (the first time takes a minute)..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: install
	$(VENV)/bin/weir up --port 5115 --grpc-port 5116 --data-dir .weir --workers 2 --demo

test: install
	$(PY) -m pytest

protos: install
	scripts/gen-protos
	scripts/build-descriptor-set
	scripts/gen-openapi

protos-check: install
	scripts/gen-protos --check
	scripts/build-descriptor-set --check
	scripts/gen-openapi --check

$(BUF):
	npm install --silent --prefix .tools @bufbuild/buf@$(BUF_VERSION)

lint: install $(BUF)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	scripts/buf-lint $(BUF)

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .tools build *.egg-info
