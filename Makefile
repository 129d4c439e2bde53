# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
MANAGE := $(BIN)/python manage.py

.PHONY: run test install migrate seed lint typecheck messages totp check-deploy bench-pages clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## migrate: as DATABASE_OWNER_URL when set, which then grants DATABASE_URL's role what it needs (EVD-1).
migrate: $(STAMP)
	@mkdir -p var
	$(MANAGE) migrate --noinput

seed: migrate
	$(MANAGE) seed_demo

## run: the web server on 127.0.0.1:$${PORT:-8000}, a Celery worker and Celery beat; Ctrl-C stops all three.
run: seed
	@bin/run-dev

## test: the whole suite (PostgreSQL when one answers, else SQLite with a banner of what was skipped),
## in parallel (pytest-xdist, one test database per worker) when the machine has more than one core.
## Serial: `make test JOBS=1`, or PYTEST_ARGS="-n 0" or PYTEST_ARGS="-p no:xdist".
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 8 ] && n=8; echo $$n)
## The e2e suite (tests/e2e, one app server per worker that runs it) stays on one worker: --dist loadgroup.
XDIST = $(if $(or $(findstring no:xdist,$(PYTEST_ARGS)),$(filter 0 1,$(JOBS))),,-n $(JOBS) --dist loadgroup)
test: $(STAMP)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy .

## messages: extract and compile the translation catalogs (needs GNU gettext; the .mo files are committed).
messages: $(STAMP)
	$(MANAGE) makemessages --all --no-obsolete --ignore=.venv --ignore=var --ignore=tests
	$(MANAGE) compilemessages --ignore=.venv

## totp: the demo staff user's current second-factor code.
totp: $(STAMP)
	@$(MANAGE) demo_totp

## bench-pages: the ten most used pages under load (docs/performance.md), on PostgreSQL (DATABASE_URL):
## a throw-away database with the seed_load Organization, gunicorn on 127.0.0.1, locust headless.
bench-pages: $(STAMP)
	$(MANAGE) bench_pages $(BENCH_ARGS)

check-deploy: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	DJANGO_ALLOWED_HOSTS=portal.example DATABASE_URL=sqlite:///var/check.sqlite3 REDIS_URL=redis://127.0.0.1:6379/0 \
	EVIDENCE_SEAL_KEY=$$(head -c 48 /dev/urandom | base64) \
	PAYMENT_GATEWAY=stripe STRIPE_SECRET_KEY=sk_test_check STRIPE_WEBHOOK_SECRET=whsec_check \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/celery var/celerybeat-schedule*
