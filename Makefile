# Two entry points for a newcomer: `make demo` and `make test`. Each makes its own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hpo optimize --study demo
	$(BIN)/hpo best --study demo

test: $(STAMP)
	$(BIN)/ruff check hpo tests benchmarks
	$(BIN)/ruff format --check hpo tests benchmarks
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check hpo tests benchmarks
	$(BIN)/ruff format --check hpo tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format hpo tests benchmarks
	$(BIN)/ruff check --fix hpo tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
