# The two commands of README.md: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
export PORTAL_PORT := $(PORT)
export PORTAL_HOST := $(HOST)

# Debian packages: for the tests (real servers, the browser, PDF tools and CJK fonts).
TEST_DEBS := postgresql redis-server chromium fonts-noto-cjk poppler-utils gettext

.PHONY: help run test fuzz lint format check messages bench bench-quick bench-day bench-sweep bench-stats bench-profile clean system-test-packages

help:
	@echo "make run    set up and serve the portal with a Celery worker and beat (SQLite, no services)"
	@echo "make test   set up PostgreSQL, Redis and the browser, then run the whole suite"
	@echo "make fuzz   schemathesis against the live test server (part of make test too)"
	@echo "make lint   ruff format --check and ruff check"
	@echo "make check  makemigrations --check and check --deploy under production settings"
	@echo "make bench        every hot path beside its bare floor (1/8/32 clients, 100,000 cases) + growth test"
	@echo "make bench-quick  the same paths at CI size (5,000 cases, 2 s per level, 1 and 8 clients)"
	@echo "make bench-day    locust: a Shanghai day's peak (800 reads/s, 8 submissions/s) and the highest rate held"
	@echo "make bench-sweep  the deadline sweep over 100,000 open cases: time and queries"
	@echo "make bench-profile where each hot path's time goes, by layer (ORM, templates, auth...), beside its floor"
	@echo "make bench-stats  the public statistics over 1,000,000 cases: refresh, /stats/ and the API"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes, so a second `make run` starts fast.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: export DEBUG := 1
run: $(VENV)/.installed
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py createcachetable
	@$(BIN)/python manage.py load_demo
	@$(BIN)/python manage.py make_demo_pki
	@echo ""
	@echo "Portal:  http://$(HOST):$(PORT)/    (admin: http://$(HOST):$(PORT)/admin/, API: http://$(HOST):$(PORT)/api/docs/)"
	@echo "Press Ctrl-C once to stop the web server, the Celery worker and beat."
	@echo ""
	@exec $(BIN)/honcho -f Procfile.dev start

system-test-packages:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null; \
	  else \
	    echo "The tests need these Debian packages:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing   (or run make test as root)"; \
	    exit 1; \
	  fi; \
	fi

# One worker per core (TEST_WORKERS=0 for one process); each file runs whole in one worker, on the
# same throwaway PostgreSQL and Redis (tests/servers.py), each worker in its own test database.
# Files are handed out in the order tests/conftest.py gives them, the slowest first
# (--no-loadscope-reorder: xdist would otherwise put the files with the fewest tests, the
# minutes-long schemathesis runs among them, last).
TEST_WORKERS ?= auto
test: system-test-packages $(VENV)/.installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# schemathesis over the whole OpenAPI schema with a citizen's and a caseworker's token: 0 server errors
# and 0 schema violations (tests/test_fuzz_*.py, one file per token, which `make test` runs too, side by
# side in its two workers). FUZZ_MAX_EXAMPLES=20 for more.
fuzz: system-test-packages $(VENV)/.installed
	$(BIN)/python -m pytest tests/test_fuzz_citizen.py tests/test_fuzz_caseworker.py -s -ra

lint: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Production settings: DEBUG off with throwaway secrets, as docker-compose.yml sets them.
PROD_ENV := DEBUG=0 SECRET_KEY=check-deploy-$$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
	FIELD_ENCRYPTION_KEY=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	ALLOWED_HOSTS=portal.example.gov.cn DATABASE_URL=postgres://portal@localhost/portal REDIS_URL=redis://localhost:6379/0 \
	IDENTITY_PROVIDER=accounts.identity.HttpIdentityProvider IDENTITY_PROVIDER_URL=https://id.example.gov.cn/verify \
	SMS_BACKEND=cases.notifications.sms.HttpSMSBackend SMS_GATEWAY_URL=https://sms.example.gov.cn/send DATA_REGISTRIES= \
	PAYMENT_PROVIDER=

check: $(VENV)/.installed
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(PROD_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

# Every hot path beside its floor (bare template, bare DRF list, bare INSERT) on PostgreSQL behind
# gunicorn, interleaved, at 1, 8 and 32 clients; then the growth test at 10,000 and 1,000,000 cases
# (BENCH_GROWTH=0 skips it). BENCH_CASES, BENCH_SECONDS, BENCH_LEVELS, BENCH_WORKERS to change.
bench: system-test-packages $(VENV)/.installed
	$(BIN)/python bench/run.py

# The same at CI size: a few minutes.
bench-quick: system-test-packages $(VENV)/.installed
	BENCH_QUICK=1 $(BIN)/python bench/run.py

# locust, headless: the peak of a Shanghai day for BENCH_DAY_MINUTES (3), then the step mode
# (BENCH_DAY_STEPS reads/s, BENCH_DAY_STEP_SECONDS each). BENCH_DAY_PROCESSES for more locust processes.
bench-day: system-test-packages $(VENV)/.installed
	$(BIN)/python bench/day.py

# The set-based sweeps (deadline warnings, deemed closures, requeue, statistics) at 100,000 and
# 1,000,000 open cases on PostgreSQL (BENCH_SWEEP_SIZES, BENCH_SWEEP_DEEMED): seconds and queries.
bench-sweep: system-test-packages $(VENV)/.installed
	$(BIN)/python bench/sweep.py

# Each hot path of `make bench` under cProfile in one gunicorn worker: milliseconds by layer
# (database, ORM, templates, auth, DRF, middleware, the portal's code...) beside its floor's.
bench-profile: system-test-packages $(VENV)/.installed
	$(BIN)/python bench/profile.py

# Public statistics over 1,000,000 cases on PostgreSQL: full and incremental refresh, /stats/ and API.
bench-stats: system-test-packages $(VENV)/.installed
	$(BIN)/python bench/stats.py

messages: $(VENV)/.installed
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore '.venv/*' --ignore 'var/*'
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var .pytest_cache
