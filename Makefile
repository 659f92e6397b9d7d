# Two commands for a newcomer: `make run` opens the window, `make test` runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench system-deps test-deps catalogs clean

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch's CPU build first, pinned: a bare `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

system-deps: $(STAMP)
	@sh scripts/system-deps.sh $(BIN)/python

# the same plus what the tests use: xvfb/xauth, rsvg-convert (SVG exports), pdftoppm
test-deps: $(STAMP)
	@sh scripts/system-deps.sh --test $(BIN)/python

# the message catalogs: every gradviz/locale/*/LC_MESSAGES/gradviz.po compiled to .mo (not committed)
catalogs: $(STAMP)
	$(BIN)/python scripts/catalogs.py compile

run: $(STAMP) system-deps catalogs
	$(BIN)/gradviz

# the layering (import-linter contracts in pyproject.toml), lint, types of the core, then the tests
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check gradviz tests benchmarks
	$(BIN)/mypy

# the whole suite over this machine's two cores (pytest-xdist); a crashed worker is a failure,
# never restarted, and a GUI worker that leaves Qt objects for PyQt's exit clean-up fails too
# (tests/gui/conftest.py). scripts/gui-repeat.sh runs the GUI suite in one process, N times.
test: $(STAMP) test-deps lint catalogs
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2 --max-worker-restart=0

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_jacobians.py
	$(BIN)/python benchmarks/bench_live.py

clean:
	rm -rf $(VENV) .pytest_cache
