# Two commands: `make start` runs the app under devhost, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 7071

BROWSER := /usr/bin/chromium /usr/bin/chromedriver
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: start test lint bench histories clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The console's browser tests drive Debian's Chromium; a clean machine (CI) gets it from apt.
$(BROWSER):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium chromium-driver

local.settings.json:
	cp local.settings.json.example local.settings.json

start: $(STAMP) local.settings.json
	$(PY) -m devhost start --app . --port $(PORT) --watch

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The test run caches bytecode even where the environment turns that off
# (PYTHONDONTWRITEBYTECODE): every host the suite starts would otherwise compile devhost and
# the app from source again, and pytest its rewritten test modules.
test: $(STAMP) $(BROWSER) lint
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/devhost.py --write docs/benchmarks.md

# Re-record tests/histories/ from the e2e stories (after an intended, versioned change).
histories: $(STAMP)
	RECORD_HISTORIES=1 $(PY) -m pytest -q \
		"tests/e2e/test_claims.py::test_an_adjuster_approves_a_large_claim_and_is_recorded_from_the_principal" \
		"tests/e2e/test_claims.py::test_an_undecided_claim_escalates_after_two_days_and_expires_after_ten" \
		"tests/e2e/test_shipments.py::test_happy_path_books_the_cheapest_carrier_then_pickup_and_delivery" \
		"tests/e2e/test_maintenance.py::test_missing_parts_are_ordered_once_even_when_retried_and_received_per_task"
	$(PY) -m devhost replay-check tests/histories

clean:
	rm -rf $(VENV) .devhost .pytest_cache
