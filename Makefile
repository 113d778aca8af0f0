# The two commands of the README's quick start: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# Security lint of the application code: any finding of medium severity or above fails.
BANDIT := $(BIN)/bandit -q -r clinic members careteam arcs billing governance -x "*/migrations/*" --severity-level medium

.PHONY: run test bench lint format lock audit assets worker beat backup restore catalogues messages

run: $(VENV)/.runtime assets catalogues
	@$(BIN)/python -c "import weasyprint" 2>/dev/null || { echo "WeasyPrint cannot load its system libraries: install Pango (Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0)." >&2; exit 1; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.dev assets catalogues
	bash tests/with_services.sh bash -c '$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BANDIT) && $(BIN)/python -m pytest $(PYTEST_ARGS)'

# Build a synthetic clinic at 100 and BENCH_SIZE members and measure it (see README,
# "Performance"). Not part of `make test`. `BENCH_SIZE=2000 make bench` is the quick one.
BENCH_SIZE ?= 10000
bench: $(VENV)/.dev assets catalogues
	BENCH_SIZE=$(BENCH_SIZE) bash tests/with_services.sh $(BIN)/python -m bench.run

# The translations (clinic/locale/*/LC_MESSAGES/*.po) compiled to .mo files, with Babel:
# no GNU gettext needed to run the clinic. The .mo files are not committed.
catalogues: $(VENV)/.runtime
	$(BIN)/python manage.py compile_catalogues

# After changing texts: extract them into every catalogue (needs GNU gettext's xgettext),
# then translate the new entries (README, "Languages").
messages: $(VENV)/.runtime
	$(BIN)/python manage.py makemessages --all --no-obsolete --ignore node_modules --ignore tests --ignore bench --ignore static

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BANDIT)

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

worker:
	bin/start-worker

beat:
	bin/start-beat

# One archive of the database and the media in BACKUP_DIR (default var/backups); see
# README, "Backup and restore". Uses the same environment (DATABASE_URL, MEDIA_ROOT) as the site.
backup:
	@test -x $(BIN)/python || { echo "No $(VENV): run make run (or create it) first." >&2; exit 1; }
	$(BIN)/python manage.py backup

# make restore FILE=var/backups/clinic-....tar.gz [FORCE=1]
restore:
	@test -n "$(FILE)" || { echo "Usage: make restore FILE=path/to/clinic-YYYYmmdd-HHMMSS.tar.gz [FORCE=1]" >&2; exit 1; }
	@test -x $(BIN)/python || { echo "No $(VENV): run make run (or create it) first." >&2; exit 1; }
	$(BIN)/python manage.py restore "$(FILE)" $(if $(filter 1 yes true,$(FORCE)),--force)

# Known vulnerabilities in the locked dependencies. It asks an advisory service over the
# network, which a CI machine may not reach, so it is not part of `make test`.
audit: $(VENV)/.dev
	$(BIN)/pip install --quiet --disable-pip-version-check pip-audit
	$(BIN)/pip-audit --strict --disable-pip --no-deps -r requirements.lock -r requirements-dev.lock

# Re-resolve the locked dependencies after editing pyproject.toml.
lock:
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --no-header -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -q -o requirements-dev.lock

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 or newer is needed ($(PYTHON) not found)." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed; $(PYTHON) is older." >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): install the venv module (Debian: apt-get install python3-venv)." >&2; exit 1; }

$(VENV)/.runtime: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

$(VENV)/.dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@touch $@ $(VENV)/.runtime

assets: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed to install the front-end assets from the npm registry: install Node.js 18 or newer." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@
