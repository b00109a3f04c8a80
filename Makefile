# twin — the two commands the README promises, on a fresh machine with only Python 3.11
# (Debian, root: `make test` installs Chromium with apt for the browser tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall only when the project's dependencies change.
STAMP_APP  := $(VENV)/.installed-app
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test check lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_APP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_APP)

demo: $(STAMP_APP)
	@for scenario in scenarios/*.yaml scenarios/*/*.yaml; do \
		$(BIN)/twin run "$$scenario" || exit $$?; \
	done
	$(BIN)/twin ui --port 8050

lint: $(STAMP_TEST)
	$(BIN)/ruff check twin web tests benchmarks
	$(BIN)/ruff format --check twin web tests benchmarks

# The browser tests drive Debian's Chromium (never a downloaded browser build).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium

# Test files run side by side on one worker process per core (a file's tests stay together,
# so that its module fixtures are made once).
PYTEST := $(BIN)/python -m pytest -n auto --dist loadfile

test: lint $(CHROMIUM)
	$(PYTEST)

# The fast tests only (no physics runs, whole scenarios or subprocesses): for every small change.
check: lint
	$(PYTEST) -m "not slow"

bench: $(STAMP_APP)
	$(BIN)/python benchmarks/line_engine.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache twin-runs
