# Two set-up commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
DEMO ?= demo

.PHONY: run test install install-dev lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e '.[dev,train,llm,pii]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Creates the venv, installs, and opens (or resumes) the demo project at its current question.
run: install
	@test -f output/$(DEMO)/sidecar.yaml || $(BIN)/cairn new $(DEMO) --user "$${USER:-architect}"
	$(BIN)/cairn chat $(DEMO)

lint: install-dev
	$(BIN)/ruff check workflow tests benchmarks

typecheck: install-dev
	$(BIN)/mypy workflow

pytest: install-dev
	$(BIN)/pytest -n 2

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist
