# `make run` sets everything up and starts the app; `make test` sets everything up and runs the
# whole suite. Both create .venv when missing and refresh it when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench clean package

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

run:
	@bash scripts/system-deps.sh run
	@$(MAKE) --no-print-directory $(STAMP)
	$(VENV)/bin/raison-garder

# In CI (CI=true) missing system packages stop here; locally the run goes on and lists the skips.
test:
	@bash scripts/system-deps.sh test || [ "$${CI:-}" != true ]
	@bash scripts/diffusers-test-env.sh
	@$(MAKE) --no-print-directory $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m mypy
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

# Everything but the end-to-end tests marked slow (seconds instead of minutes).
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m "not slow"

# ruff on everything; mypy on the Qt-free core (tray_app minus tray_app/ui, see pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m mypy

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_monitor.py

# A one-folder PyInstaller bundle + tar.gz in dist/, built in its own fresh environment.
package:
	@bash scripts/system-deps.sh package
	bash scripts/package.sh

clean:
	rm -rf $(VENV) build dist *.egg-info
