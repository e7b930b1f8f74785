# opsbook — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
UV    := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
# the port of `make run`: make run PORT=9000, or OPSBOOK_PORT=9000 make run
PORT  ?= $(or $(OPSBOOK_PORT),8080)

.PHONY: setup run test test-deps lint typecheck check bench bench-scale soak clean

$(UV):
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@echo "setup: installing opsbook and its dependencies into $(VENV) (pinned by uv.lock)"
	@$$(command -v uv || echo $(HOME)/.local/bin/uv) sync --frozen --quiet --compile-bytecode
	@touch $@

setup: $(VENV)/.synced  ## install the venv at .venv from the lock

opsbook.yaml:  # the example, with its self-check pointed at $(PORT)
	@sed 's/127\.0\.0\.1:8080/127.0.0.1:$(PORT)/g' opsbook.example.yaml > opsbook.yaml
	@echo "run: wrote opsbook.yaml from opsbook.example.yaml (edit it, then reload with SIGHUP)"

run: setup opsbook.yaml  ## start opsbook on http://127.0.0.1:$(PORT) with SQLite at ./opsbook.db
	$(VENV)/bin/opsbook serve --config opsbook.yaml --port $(PORT)

test-deps:  ## install Redis, PostgreSQL 15, Prometheus, Alertmanager and Chromium (Debian packages)
	@bash scripts/install-test-deps.sh

test: setup test-deps  ## install what the tests need and run the whole suite
	@$(PY) -m compileall -q src >/dev/null  # bytecode once: PYTHONDONTWRITEBYTECODE would recompile every process
	$(VENV)/bin/pytest -n 2 --dist loadgroup -q --durations=25

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: setup
	$(VENV)/bin/mypy src

check: lint typecheck

bench: setup test-deps  ## intake throughput side by side with Alertmanager
	$(PY) bench/intake.py

bench-scale: setup test-deps  ## pages at 1M alerts / 100k incidents next to 1k (SQLite; ~5 min)
	$(PY) bench/scale.py --json bench/results/scale-sqlite.json

soak: setup test-deps  ## the ack-vs-escalation race for 40 s per database (thousands of races)
	OPSBOOK_FENCE_RACE_SECONDS=40 $(VENV)/bin/pytest -q -n0 -p no:cacheprovider \
		tests/integration/test_escalation_fence.py -k cpu_stress -s

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
