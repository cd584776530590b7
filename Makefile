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
CHROMIUM = /usr/bin/chromium
CJK_FONT = /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

# The gettext catalogues (docs/translations.md): .po committed, .mo compiled here, never committed.
CATALOGUES = web/translations
PO_FILES = $(wildcard $(CATALOGUES)/*/LC_MESSAGES/messages.po)
MO_FILES = $(PO_FILES:.po=.mo)

# The key that seals the audit trail (docs/audit.md). Unless one is configured, a random one
# is made for this checkout in var/ (never committed); a live site keeps its own outside the database.
AUDIT_KEY_FILE = var/audit.key
ifeq ($(ESTATEDESK_AUDIT_KEY)$(ESTATEDESK_AUDIT_KEY_FILE),)
export ESTATEDESK_AUDIT_KEY_FILE = $(abspath $(AUDIT_KEY_FILE))
endif

.PHONY: install assets browser nginx run test test-postgres lint bench clean translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) $(ASSETS_STAMP) $(MO_FILES)

# Flask-Babel reads the compiled catalogue; without it English pages would show the Chinese msgids.
$(CATALOGUES)/%/LC_MESSAGES/messages.mo: $(CATALOGUES)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

# After adding or changing a UI string: extract the strings again and merge them into each
# catalogue, then write the English of every new or fuzzy entry (tests/web/test_i18n.py lists gaps).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --add-location=file -o $(CATALOGUES)/messages.pot web
	$(BIN)/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --ignore-obsolete --ignore-pot-creation-date

# Front-end libraries (bpmn-js, ECharts) from npm, copied where Flask serves them; never committed.
$(ASSETS_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && \
		rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bpmn-js && \
		cp -r node_modules/bpmn-js/dist/assets node_modules/bpmn-js/dist/*.production.min.js $(VENDOR)/bpmn-js/ && \
		mkdir -p $(VENDOR)/echarts && cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/ && \
		touch $(ASSETS_STAMP); \
	else \
		echo "npm not found: the diagram and statistics pages will say bpmn-js / ECharts is missing (install Node.js and rerun)"; \
	fi

assets: $(ASSETS_STAMP)

# The browser tests drive Debian's Chromium (Playwright never downloads one) and need a
# Chinese font for readable screenshots. Install both with apt-get when missing and
# possible (root); otherwise say why the browser tests will be skipped.
browser:
	@if [ -x $(CHROMIUM) ] && [ -f $(CJK_FONT) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and fonts-wqy-zenhei for the browser tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; } \
	    || echo "apt-get could not install chromium; browser tests will be skipped"; \
	elif [ ! -x $(CHROMIUM) ]; then \
	  echo "browser tests will be skipped: $(CHROMIUM) is missing (as root: apt-get install chromium fonts-wqy-zenhei)"; \
	else \
	  echo "no Chinese font found: screenshots will show boxes (as root: apt-get install fonts-wqy-zenhei)"; \
	fi

# The cluster benchmark and fault test put Debian's nginx in front of the app processes
# (deploy/nginx.conf). Install it with apt-get when missing and possible (root).
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing nginx for the cluster tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; } \
	    || echo "apt-get could not install nginx; the cluster tests will be skipped"; \
	else \
	  echo "the cluster tests will be skipped: nginx is missing (as root: apt-get install nginx)"; \
	fi

# Initialise the SQLite database (var/estatedesk.db) with the demo staff and the
# process library, then serve the web app with the timer worker beside it. The demo
# accounts (password "demo") are for trying it out: a live site runs `estatedesk init`.
run: install $(AUDIT_KEY_FILE)
	$(BIN)/estatedesk init --demo
	$(BIN)/estatedesk serve --host $(HOST) --port $(PORT)

# All tests, on SQLite unless DATABASE_URL points at PostgreSQL.
test: install browser nginx
	$(BIN)/pytest

test-postgres: install browser nginx
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test $(BIN)/pytest

lint: install
	$(BIN)/estatedesk lint
	$(BIN)/ruff check engine web tests benchmarks cli

# Every benchmark, full runs (several minutes); each prints its figures and targets.
bench: install $(AUDIT_KEY_FILE)
	$(BIN)/python benchmarks/engine_bench.py
	$(BIN)/python benchmarks/timer_bench.py
	$(BIN)/python benchmarks/http_bench.py
	$(BIN)/python benchmarks/stats_bench.py

$(AUDIT_KEY_FILE):
	mkdir -p $(dir $@)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@

clean:
	rm -rf $(VENV) var .pytest_cache node_modules $(VENDOR) $(MO_FILES)
