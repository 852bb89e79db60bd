# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= Images/raw

.PHONY: setup run test lint audit system-deps data model

# A fresh virtualenv with the pinned dependencies and petclf itself (editable).
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

setup: $(VENV)/.installed

# The main job: the upload page and JSON API on the shipped model, at http://127.0.0.1:8000
# (PETCLF_MODEL, PETCLF_BIND, PETCLF_WORKERS and PETCLF_MAX_UPLOAD_MB change it), and one worker
# for the queued jobs; both as the Procfile says. Stored state goes to var/ (PETCLF_HOME).
run: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --procfile Procfile

# Clean the photos in $(DATA) (one folder per class), then split them into train and test.
data: setup
	$(BIN)/petclf preprocess --src $(DATA) --dst Images/processed --force
	$(BIN)/petclf split --src Images/processed --dst Test_train_sets --force

# Rebuild the shipped default model from the shared photo sets.
model: setup
	bash training/reproduce_default_model.sh

system-deps:
	bash scripts/install-system-deps.sh

test: setup system-deps
	$(BIN)/python -m pytest

# Lint, format and type checks, as pyproject.toml configures them; CI runs them.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Known vulnerabilities in the pinned dependencies (it needs the PyPI advisory service; without
# it, the report lists each package as not audited).
audit: setup
	$(BIN)/pip-audit --requirement requirements.txt --no-deps --disable-pip --progress-spinner off
