# Two commands: `make run` (demo on SQLite) and `make test` (the whole suite with real services).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run prod test bench docs install install-prod install-test system-deps pdf-deps translations lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-prod: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[prod]'

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

translations: $(BIN)/python
	$(BIN)/pybabel compile -d translations --use-fuzzy --statistics

run: pdf-deps install translations
	APP_ENV=development $(BIN)/flask db upgrade
	@echo "Demo accounts (again any time: flask demo-accounts):"
	@APP_ENV=development $(BIN)/flask seed-demo
	@echo "Demo mail is shown at http://localhost:5000/dev/mail; the periodic jobs run inside flask run"
	APP_ENV=development $(BIN)/flask run --host 127.0.0.1 --port 5000

# Production on one machine (docs/operations.md "Production on one machine"): the environment must name PostgreSQL
# (DATABASE_URL), Redis (REDIS_URL), SECRET_KEY, MAIL_URL and BASE_URL. Migrates, then runs the Procfile.
prod: pdf-deps install-prod translations
	@for var in SECRET_KEY DATABASE_URL REDIS_URL BASE_URL; do \
	  [ -n "$${!var:-}" ] || { echo "set $$var first (docs/operations.md: Production on one machine)"; exit 1; }; \
	done
	APP_ENV=production $(BIN)/flask db upgrade
	APP_ENV=production PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

# WeasyPrint (the self-check PDF report) needs Pango and a font; `make run` needs them too.
pdf-deps:
	@need=""; \
	for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; do \
	  dpkg -s $$pkg >/dev/null 2>&1 || need="$$need $$pkg"; \
	done; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$need; \
	fi

# PostgreSQL, Redis and Chromium (and the PDF libraries above) come from Debian when missing.
system-deps: pdf-deps
	@need=""; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need="$$need postgresql"; \
	command -v redis-server >/dev/null || need="$$need redis-server"; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$need; \
	fi

test: system-deps install-test translations
	bash scripts/run-tests.sh

# Benchmark (README "Benchmark"): a throwaway PostgreSQL seeded at BENCH_SCALE (default 1 = full size) and at
# 1% of it, the app under gunicorn -w 2 with the production config next to a bare Flask baseline; not in `make test`.
bench: pdf-deps install translations
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql; }
	$(BIN)/python -m scripts.bench.run $(if $(BENCH_SCALE),--scale $(BENCH_SCALE)) $(if $(BENCH_DURATION),--duration $(BENCH_DURATION))

# The role guides' screenshots (docs/guides, README "Documentation"): the demo data in a throwaway SQLite database,
# each role signed in through Chromium, each page saved as docs/guides/img/<role>-<page>.png with the templates it
# shows in docs/guides/img/manifest.json. Run it after changing a template a guide shows (tests/test_docs_guides.py
# fails until then) and commit the images.
docs: pdf-deps install-test translations
	@[ -x /usr/bin/chromium ] || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }
	dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	  TEST_DATABASE_URL="sqlite:///$$dir/docs.db" $(BIN)/pytest -q -p no:cacheprovider -m docs tests/browser/test_docs_screenshots.py

lint: install-test
	$(BIN)/ruff check app tests scripts config.py

clean:
	rm -rf $(VENV) instance *.egg-info
