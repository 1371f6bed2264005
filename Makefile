# The two commands: `make run` and `make test`. Both set everything up from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := app

.PHONY: run test install install-dev migrate bench conformance clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# A stamp per requirements file so a changed pin reinstalls and an unchanged one costs nothing.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/flask db upgrade

run: migrate
	$(BIN)/gunicorn --worker-class gthread --workers 1 --threads 32 --no-control-socket \
		--bind 127.0.0.1:$(PORT) --access-logfile - 'app:create_app()'

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

conformance: install
	@if [ -d ../shared/conformance ]; then $(BIN)/python ../shared/conformance/run.py; \
	else echo "../shared/conformance not found: nothing to run"; fi

clean:
	rm -rf $(VENV) .pytest_cache
