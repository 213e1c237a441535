# The two commands: `make run` brings the stack up, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.sha1(open('requirements.txt','rb').read()).hexdigest()[:12])")

.PHONY: run test lint bench chaos clean-data invite backup restore

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m stack run

# A one-use invitation code (SIGNUP_MODE=token), printed; the stack must be running.
invite: $(STAMP)
	$(PY) -m stack invite

# A consistent archive of DATA_DIR (databases, media, secrets, the bot's keys), taken while
# the stack runs; `make restore FROM=archive` unpacks one into an empty DATA_DIR.
backup: $(STAMP)
	$(PY) -m stack backup $(if $(TO),--to $(TO))

restore: $(STAMP)
	$(PY) -m stack restore $(FROM)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The end-to-end tests run again against Synapse on PostgreSQL, and on PostgreSQL with a
# generic worker and Redis replication, wherever those services answer (always in CI).
# The app database (memory, ledger, portal logins) is on PostgreSQL in those runs too.
# The worker rerun takes the core of them; the PostgreSQL rerun adds the features that
# write the most to the app database (summaries' usage, a room's knowledge).
E2E := tests/test_bot_e2e.py tests/test_assistant_e2e.py tests/test_reliability_e2e.py \
       tests/test_encryption_e2e.py tests/test_worker_mode.py tests/test_portal_chat.py \
       tests/test_malformed_events_e2e.py
E2E_PG := $(E2E) tests/test_summary_e2e.py tests/test_knowledge_e2e.py

# The accessibility tests inject axe-core into the pages, installed with npm from
# tests/browser/package-lock.json; without npm they skip and say why (CI has npm).
AXE := tests/browser/node_modules/axe-core/axe.min.js

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm is missing: the accessibility tests will be skipped"; fi

test: lint $(AXE)
	$(PY) -m pytest
	@if $(PY) -m tests.services postgres redis; then \
	  echo "== end-to-end tests with Synapse on PostgreSQL =="; \
	  TEST_SYNAPSE_MODE=postgres $(PY) -m pytest -q $(E2E_PG) && \
	  echo "== end-to-end tests with Synapse workers (generic_worker + Redis + PostgreSQL) ==" && \
	  TEST_SYNAPSE_MODE=workers $(PY) -m pytest -q $(E2E); \
	elif [ -n "$$CI" ]; then echo "CI needs PostgreSQL and Redis"; exit 1; \
	else echo "PostgreSQL or Redis unreachable: skipping the PostgreSQL and worker reruns"; fi

bench: $(STAMP)
	$(PY) -m bench

# SIGKILLs at random moments: 200 questions from 5 people, 10 bot kills, 3 whole-stack
# kills (a few minutes). `make chaos SEED=n` replays a run.
chaos: $(STAMP)
	$(PY) -m tests.chaos $(if $(SEED),--seed $(SEED))

clean-data:
	rm -rf var
