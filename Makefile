# The two commands: `make run` brings the stack up, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.sha1(open('requirements.txt','rb').read()).hexdigest()[:12])")

.PHONY: run test lint bench clean-data

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m stack run

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The end-to-end tests run again against Synapse on PostgreSQL, and on PostgreSQL with a
# generic worker and Redis replication, wherever those services answer (always in CI).
E2E := tests/test_bot_e2e.py tests/test_assistant_e2e.py tests/test_reliability_e2e.py \
       tests/test_encryption_e2e.py tests/test_worker_mode.py tests/test_portal_chat.py

test: lint
	$(PY) -m pytest
	@if $(PY) -m tests.services postgres redis; then \
	  echo "== end-to-end tests with Synapse on PostgreSQL =="; \
	  TEST_SYNAPSE_MODE=postgres $(PY) -m pytest -q $(E2E) && \
	  echo "== end-to-end tests with Synapse workers (generic_worker + Redis + PostgreSQL) ==" && \
	  TEST_SYNAPSE_MODE=workers $(PY) -m pytest -q $(E2E); \
	elif [ -n "$$CI" ]; then echo "CI needs PostgreSQL and Redis"; exit 1; \
	else echo "PostgreSQL or Redis unreachable: skipping the PostgreSQL and worker reruns"; fi

bench: $(STAMP)
	$(PY) -m bench

clean-data:
	rm -rf var
