PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install browsers clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python dependencies into $(VENV)…"
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(PY) manage.py up

# Lint first, then the whole suite: what CI runs (.ci/run) and what the README promises.
test: $(STAMP) browsers lint
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy .

# loop_cases.py is the labelled set loop_threshold.py and vector_bench.py import, not a benchmark.
BENCHMARKS := $(filter-out bench/harness.py bench/loop_cases.py,$(wildcard bench/*.py))

bench: $(STAMP)
	@for b in $(BENCHMARKS); do echo "== $$b"; $(PY) $$b || exit 1; done

# Browser tests drive Debian's chromium (never a browser download).
browsers:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
