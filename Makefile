# Two commands matter: `make demo` and `make test` (see README.md, Quick start).
SHELL := /bin/bash
CACHE ?= $(or $(IDENTITY_LORA_CACHE),$(HOME)/.cache/flux-identity-lora)
VENV := $(CACHE)/venv
PY := $(VENV)/bin/python
export IDENTITY_LORA_CACHE := $(CACHE)

.PHONY: test demo setup lint format

setup:
	bash scripts/setup_test_env.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(PY) -m demo
