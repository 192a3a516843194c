# Tessera: `make run` serves the embedded default; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FLASK := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export HOST ?= 127.0.0.1
export PORT ?= 8000

.PHONY: venv run test test-postgres check-reliability db-check demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) keys init
	$(FLASK) first-steps
	exec $(BIN)/gunicorn -c config/gunicorn.conf.py wsgi:app

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	TESSERA_TEST_DATABASE_URL=$${TESSERA_TEST_DATABASE_URL:-$(PG_TEST_URL)} $(BIN)/pytest $(PYTEST_ARGS)

# The reliability and security suite on PostgreSQL: fuzzing, races between two
# instances, rate limits, token attacks, a database outage, hostile input, secrets.
check-reliability: $(STAMP)
	TESSERA_TEST_DATABASE_URL=$${TESSERA_TEST_DATABASE_URL:-$(PG_TEST_URL)} \
		$(BIN)/pytest -m reliability tests/reliability $(PYTEST_ARGS)

# With `make run` serving in another terminal: the desktop client end to end.
demo: $(STAMP)
	scripts/demo.sh

# Upgrade a database to head, then fail if the models and migrations differ.
db-check: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) db check

clean:
	rm -rf $(VENV) .pytest_cache
