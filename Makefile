# The two commands of the README are `make run` and `make test`; everything else is what they use.
SHELL := /bin/bash
# The venv and Rasa's training cache live outside the project: plain `rasa test` reads every
# story/NLU file under the project root, so a venv inside it would add Rasa's own example stories
# (rasa/cli/initial_project), and ./.rasa/cache holds files it cannot parse (a bare JSON number).
VENV ?= $(HOME)/.venvs/whatsapp-assistant
BIN := $(VENV)/bin
PY := $(BIN)/python
export RASA_CACHE_DIRECTORY ?= $(HOME)/.cache/whatsapp-assistant/rasa-cache
# Rasa telemetry unpacks the model a second time at every start just to read its fingerprint.
export RASA_TELEMETRY_ENABLED ?= false

.PHONY: setup model run test test-rasa validate migrate lint bench nlu-report venv-path clean

# The virtualenv, rebuilt when requirements.lock changes. Every package is pinned in the lock file;
# --no-deps keeps pip from resolving anything else, and `pip check` proves the set is consistent.
$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $$(.ci/find-python) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==24.2
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(PY) -m pip check
	@grep -q RASA_CACHE_DIRECTORY $(BIN)/activate || \
		echo 'export RASA_CACHE_DIRECTORY="$(RASA_CACHE_DIRECTORY)"' >> $(BIN)/activate
	@touch $@

venv-path:
	@echo $(VENV)

setup: $(VENV)/.installed
	$(PY) -m rasa_project migrate

model: setup
	$(PY) -m rasa_project model

run: model
	$(PY) -m rasa_project run-local

validate: setup
	$(PY) -m rasa_project validate

migrate: setup
	$(PY) -m rasa_project migrate

# ruff on everything; mypy on the code that runs (its settings, and the checked `# type: ignore`s, in pyproject.toml).
lint: setup
	$(BIN)/ruff check actions connectors rasa_project tests bench
	$(PY) -m mypy

# Every test: data validation, the pytest suites (unit, contract, end-to-end through real
# processes, Postgres and Redis), Rasa's test stories, and the held-out NLU accuracy check.
test: model validate
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-rasa

# The held-out gate is the target (last measured, fallback kept: 0.957 accuracy, 0.034 out-of-scope false accepts, on
# 929 fresh messages; see tests/nlu/heldout/README.md).
test-rasa: model
	$(PY) -m rasa_project serve test core --stories tests/stories --out results/core --fail-on-prediction-errors
	$(PY) -m rasa_project nlu-check --nlu tests/nlu/heldout --min-accuracy 0.95 --max-oos-accepts 0.05

# Rasa's 5-fold cross-validation report under results/nlu (slow: trains 5 models).
nlu-report: setup
	$(BIN)/rasa test nlu --cross-validation --folds 5 --out results/nlu

bench: model
	$(PY) -m bench

clean:
	rm -rf results var/logs .pytest_cache
