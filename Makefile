# One command to run, one to test. `make install` is the step both share.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
SQLITE_URL ?= sqlite:///$(CURDIR)/.test.sqlite3
HOST ?= 127.0.0.1
PORT ?= 8000
# The browser tests drive Debian's chromium with Playwright (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test test-postgres test-sqlite

install: $(VENV)/.installed node_modules/.installed $(CHROMIUM)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(PY) manage.py migrate --no-input
	@$(PY) manage.py uploadkit_demo > .demo-key.txt
	@KEY=$$(tail -n 1 .demo-key.txt); rm -f .demo-key.txt; \
	echo ""; echo "UploadKit is serving on http://$(HOST):$(PORT)"; \
	echo "API key: $$KEY"; echo "Try:"; \
	echo "  curl -X POST http://$(HOST):$(PORT)/api/v1/upload/request -H \"x-api-key: $$KEY\" -H \"Content-Type: application/json\" -d '{\"fileName\": \"profile.jpg\", \"fileSize\": 204800, \"contentType\": \"image/jpeg\", \"routeSlug\": \"imageUploader\"}'"; \
	echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite on PostgreSQL (as in production), then again on SQLite (the embedded default).
test: install test-postgres test-sqlite

test-postgres: install
	DATABASE_URL=$(PG_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: install
	DATABASE_URL=$(SQLITE_URL) $(PY) -m pytest -q $(PYTEST_ARGS)

# -- Benchmarks (BENCHMARKS.md): their own venv, with the peer (django-s3-file-field) only there ---
BENCH_VENV ?= bench/.venv
BENCH_PY := $(BENCH_VENV)/bin/python

.PHONY: bench bench-quick bench-install bench-instructions

$(BENCH_VENV)/.installed: pyproject.toml
	test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --upgrade pip
	$(BENCH_PY) -m pip install --quiet -e '.[bench]'
	touch $@

/usr/bin/wrk:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q wrk

/usr/bin/valgrind:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q valgrind

bench-install: $(BENCH_VENV)/.installed node_modules/.installed /usr/bin/wrk

# Everything, at full size (about 15 minutes): writes bench/results.json and BENCHMARKS.md.
bench: bench-install
	$(BENCH_PY) -m bench.run

# The same, smaller and shorter (under two minutes): writes bench/results-quick.json.
bench-quick: bench-install
	$(BENCH_PY) -m bench.run --quick

# Instructions per request and per webhook attempt, counted by callgrind (under a minute):
# steady on a shared machine, where throughput is not. Writes bench/instructions.json.
bench-instructions: bench-install /usr/bin/valgrind
	$(BENCH_PY) -m bench.instructions
