# The README's two commands: `make demo` and `make test`. Both create the virtualenv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	@./scripts/bootstrap.sh "$(PYTHON)" "$(VENV)"
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/python scripts/demo.py

test: $(STAMP)
	@$(BIN)/python -m pytest -q -n auto --dist loadfile; rc=$$?; if [ $$rc = 5 ]; then echo "pytest collected no tests: that is a failure"; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check airflow_lineage_provider tests benchmarks dags scripts
	$(BIN)/ruff format --check airflow_lineage_provider tests benchmarks dags scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .demo
