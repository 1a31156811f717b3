# DreamSeed: `make run` starts everything, `make test` runs every test. Nothing to install by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test reset lint format messages compilemessages bench bench-load stop

run: $(STAMP) compilemessages
	$(PY) -m dreamseed.devstack run

# Coverage: a report printed after the tests (files below 100 %), no threshold; `make test COV=` skips it.
COV ?= --cov --cov-report=term
test: $(STAMP) compilemessages
	$(PY) -m dreamseed.devstack test $(COV) $(ARGS)

stop:
	-$(PY) -m dreamseed.devstack down

reset:
	-$(PY) -m dreamseed.devstack reset
	rm -rf .dev

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements/dev.txt
	touch $@

$(BENCH_STAMP): $(STAMP) requirements/bench.txt
	$(PY) -m pip install --disable-pip-version-check -q -r requirements/bench.txt
	touch $@

compilemessages: $(MO_FILES)

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po
	msgfmt --check-format -o $@ $<

# Refresh the catalogues after changing user-visible strings, then translate the new entries.
messages: $(STAMP)
	$(PY) manage.py makemessages --all --no-location --no-obsolete --ignore=.venv --ignore=.dev --ignore=bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint templates dreamseed --lint

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(BENCH_STAMP)
	$(PY) bench/engine_vs_peers.py --quick
	$(PY) bench/poly_engine.py --quick

# Load test: locust against gunicorn + PostgreSQL on this machine (needs the dev stack up).
bench-load: $(BENCH_STAMP) compilemessages
	$(PY) -m dreamseed.devstack up
	$(PY) bench/load_test.py --users 12 --duration 60
	$(PY) bench/load_test.py --users 12 --duration 60 --kill-at 30
