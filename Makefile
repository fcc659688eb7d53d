# Two entry points: `make run` and `make test`. Both build .venv from pyproject's pins.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint chromium clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/autoinvoice serve --host 127.0.0.1 --port 8000 --demo-data

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@command -v pdftoppm >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null || true)

test: $(STAMP) chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2  # two workers (pytest-xdist); each has its own PostgreSQL database

bench: $(STAMP)
	$(BIN)/python bench/monthly_run.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/email_delivery.py && $(BIN)/python bench/portal_page.py
	$(BIN)/python bench/webhook_intake.py && $(BIN)/python bench/webhook_latency.py
	$(BIN)/python bench/bank_import.py
	$(BIN)/python bench/reminder_scan.py
	$(BIN)/python bench/aging.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache
