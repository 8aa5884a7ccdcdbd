# Two commands for a newcomer: `make run` (the app with the local demo store) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
MAIL_PORT ?= 2525

# The local demo store's settings; a real deployment sets its own (see README, Configuration).
# DEVSTORE starts only with APP_URL on loopback and signs with its own demo-only secret (README,
# "The demo store"), so no real secret belongs here.
# SQLITE_SYNCHRONOUS=NORMAL: no fsync per commit (WAL stays consistent; a power cut may lose the
# last commits), which makes seeding a year of webhooks several times faster.
DEMO_ENV := DEVSTORE=1 FLASK_SKIP_DOTENV=1 SHOPIFY_API_KEY=demo-api-key \
	APP_URL=http://$(HOST):$(PORT) DATABASE_URL=sqlite:///$(CURDIR)/instance/demo.db \
	SHOPIFY_ADMIN_BASE_URL=http://$(HOST):$(PORT)/devstore/shopify/{shop} SQLITE_SYNCHRONOUS=NORMAL \
	MAIL_URL=smtp+plain://$(HOST):$(MAIL_PORT) MAIL_FROM=rewards@demo-store.example

.PHONY: run test venv node system-packages clean

$(BIN)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

venv: $(BIN)/.installed

system-packages:
	@scripts/ensure-system-packages.sh

# Test tools from npm (theme-check, axe-core, Polaris tokens); versions pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: node_modules/.installed

# The first run installs Tessera on the demo store through OAuth and seeds it (later runs keep
# what is there; `devstore reset` starts over); `devstore seed` prints the URLs. The settings go
# to instance/demo.env for the demo's other commands: `env $$(cat instance/demo.env) .venv/bin/flask ...`
run: venv
	@mkdir -p instance
	@printf '%s\n' $(DEMO_ENV) > instance/demo.env
	$(DEMO_ENV) $(BIN)/flask --app wsgi db upgrade
	@$(DEMO_ENV) LOG_LEVEL=WARNING $(BIN)/flask --app wsgi devstore seed
	@echo "  Tessera is starting on http://$(HOST):$(PORT) (Ctrl+C stops it). More: docs/tour.md"
	@echo "  Emails it sends (demo SMTP server on $(HOST):$(MAIL_PORT)): http://$(HOST):$(PORT)/devstore/mail"
	@echo ""
	$(DEMO_ENV) $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

test: venv system-packages node
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) node_modules instance/demo.db*
