# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= Images/raw

.PHONY: setup run test system-deps

# A fresh virtualenv with the pinned dependencies and petclf itself (editable).
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

setup: $(VENV)/.installed

# The main job: clean the photos in $(DATA) (one folder per class), then split them.
run: setup
	$(BIN)/petclf preprocess --src $(DATA) --dst Images/processed --force
	$(BIN)/petclf split --src Images/processed --dst Test_train_sets --force

system-deps:
	bash scripts/install-system-deps.sh

test: setup system-deps
	$(BIN)/python -m pytest
