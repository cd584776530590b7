# Set-up and everyday commands. `make run` and `make test` each install what they
# need on a fresh machine (a virtualenv in .venv with the project and its tools).

PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

VENDOR = web/static/vendor
ASSETS_STAMP = $(VENDOR)/.installed-stamp

.PHONY: install assets run test test-postgres lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) $(ASSETS_STAMP)

# Front-end libraries (bpmn-js) from npm, copied where Flask serves them; never committed.
$(ASSETS_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && \
		rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bpmn-js && \
		cp -r node_modules/bpmn-js/dist/assets node_modules/bpmn-js/dist/*.production.min.js $(VENDOR)/bpmn-js/ && \
		touch $(ASSETS_STAMP); \
	else \
		echo "npm not found: the diagram pages will say bpmn-js is missing (install Node.js and rerun)"; \
	fi

assets: $(ASSETS_STAMP)

# Initialise the SQLite database (var/estatedesk.db) with the demo staff and the
# process library, then serve the web app with the timer worker beside it.
run: install
	$(BIN)/estatedesk init
	$(BIN)/estatedesk serve --host $(HOST) --port $(PORT)

# All tests, on SQLite unless DATABASE_URL points at PostgreSQL.
test: install
	$(BIN)/pytest

test-postgres: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test $(BIN)/pytest

lint: install
	$(BIN)/estatedesk lint
	$(BIN)/ruff check engine web tests benchmarks

bench: install
	$(BIN)/python benchmarks/engine_bench.py
	$(BIN)/python benchmarks/timer_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache node_modules $(VENDOR)
