# Set-up and entry points. `make render` and `make test` do all set-up on a
# fresh machine: they create the two virtual environments from the pinned
# requirement files on first use (and again when those files change), through
# .ci/setup-venv, which says what it is doing and stops on pip's error.
PYTHON ?= python3.11
VENV := .venv
AIRFLOW_VENV := .venv-airflow
STACK ?= development
OUT ?= build/$(STACK)

.PHONY: render test lint format bench clean

$(VENV)/.installed: requirements.txt
	@PYTHON=$(PYTHON) bash .ci/setup-venv $(VENV) requirements.txt pulumi pulumi_aws pulumi_kubernetes hypothesis moto
	@touch $@

# Apache Airflow 2.10.3 (what MWAA runs) lives in its own environment: its
# pins do not agree with Pulumi's. Tests reach it through AIRFLOW_PYTHON.
$(AIRFLOW_VENV)/.installed: requirements-airflow.txt
	@PYTHON=$(PYTHON) bash .ci/setup-venv $(AIRFLOW_VENV) requirements-airflow.txt airflow airflow.providers.cncf.kubernetes airflow.providers.slack
	@touch $@

render: $(VENV)/.installed
	$(VENV)/bin/python -m workflows render --stack $(STACK) --out $(OUT)

test: $(VENV)/.installed $(AIRFLOW_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	AIRFLOW_PYTHON=$(CURDIR)/$(AIRFLOW_VENV)/bin/python $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.installed $(AIRFLOW_VENV)/.installed
	$(VENV)/bin/python bench/render.py
	AIRFLOW_PYTHON=$(CURDIR)/$(AIRFLOW_VENV)/bin/python $(VENV)/bin/python bench/dag_parse.py

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
