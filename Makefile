# Two commands: `make start` runs the app under devhost, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 7071

.PHONY: start test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

local.settings.json:
	cp local.settings.json.example local.settings.json

start: $(STAMP) local.settings.json
	$(PY) -m devhost start --app . --port $(PORT)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: $(STAMP) lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/devhost.py

clean:
	rm -rf $(VENV) .devhost .pytest_cache
