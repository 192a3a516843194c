# Tessera: `make run` serves the embedded default; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FLASK := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export HOST ?= 127.0.0.1
export PORT ?= 8000

.PHONY: venv tools browsers run test test-postgres check-reliability db-check demo bench bench-profile clean

# The tests drive the service with the desktop client, its own distribution in
# clients/python. It is installed here rather than named in the `test` extra:
# pip cannot reliably resolve a relative path inside pyproject's extras (a
# `file:` URL must be absolute), and editable keeps it in step with the source.
$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet -e clients/python
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) keys init
	$(FLASK) first-steps
	exec $(BIN)/gunicorn -c config/gunicorn.conf.py wsgi:app

# Debian packages the tests drive (installed when missing; needs root, as in CI):
# nginx in front of two instances for the proxy tests.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
tools:
	@[ -x /usr/sbin/nginx ] || $(APT_INSTALL) nginx >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && $(APT_INSTALL) nginx >/dev/null 2>&1; } || \
		echo "nginx could not be installed: the proxy tests will be skipped" >&2

# Headless Chromium for the browser tests (tests/e2e), from Debian's packages: the
# tests drive /usr/bin/chromium and never download a browser. Without root or apt the
# browser tests skip and say why; in CI a failed install fails the run.
browsers:
	@test -x /usr/bin/chromium || apt-get install -y -qq chromium || \
		{ apt-get update -qq && apt-get install -y -qq chromium; } || \
		{ echo "chromium could not be installed: the browser tests will skip" >&2; test -z "$$CI"; }

test: $(STAMP) tools browsers
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP) tools browsers
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

# Load benchmark against a floor app, written to docs/benchmarks.md (BENCH_QUICK=1: smoke run).
# Needs the machine's PostgreSQL (BENCH_PG_URL); installs wrk, a compiled load generator.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk || \
		{ apt-get update -qq && apt-get install -y -qq wrk; }
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
		pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start
	$(BIN)/python -m bench.run

# Where a refresh's time goes: py-spy samples every gunicorn worker under load.
bench-profile: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.profile postgresql 15

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
