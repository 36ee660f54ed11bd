# Customer Success Copilot: `make demo` runs the product on the sandbox company, `make test` checks it.
# Every target installs what it needs first, so both work on a fresh machine.

SHELL := /bin/bash
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN = $(UV) run --frozen

SIZE ?= M
SEED ?= 42
DATA_DIR ?= data/sandbox
PORT ?= 8765
TLS_PORT ?= 8766

# Telemetry off everywhere (see README): dlt, dbt; Dagster via dagster.yaml.
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PYTHONPATH := $(CURDIR)
export DAGSTER_HOME := $(CURDIR)

# The developer targets run on the sandbox company: its emulators' URLs and published credentials
# (.dlt/sandbox.toml). A deployment sets COPILOT_ENV=production itself (core/config.py: no default).
demo test test-unit bench dagster emulators api dbt-parse: export COPILOT_ENV ?= sandbox

.PHONY: install spark-env demo test test-unit lint bench dbt-parse dagster sandbox emulators reports-install reports reports-serve api clean

install: .venv/.synced

# --compile-bytecode: Python then never compiles a library at import time, even where writing
# bytecode is switched off (PYTHONDONTWRITEBYTECODE): each dbt, Dagster or test process starts ~1-3 s sooner.
.venv/.synced: pyproject.toml uv.lock Makefile
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		(echo "installing uv..." && python3 -m pip install --quiet --disable-pip-version-check uv)
	@echo "installing the Python environment from uv.lock (the first time ~2 min, most of it compiling bytecode)..."
	$(UV) sync --frozen --compile-bytecode
	@touch $@

# The dbt project on Apache Spark runs from its own environment (the lock's `spark` group: dbt-spark,
# pyspark, and XGBoost for its Spark estimator; ~1 GB): no process of the product needs it, and a
# deployment without Spark never installs it. Java 17 comes from the system.
spark-env: .venv-spark/.synced

.venv-spark/.synced: pyproject.toml uv.lock Makefile
	@command -v java >/dev/null 2>&1 || (echo "installing Java 17 for Spark..." && apt-get update -qq && \
		apt-get install -y -qq openjdk-17-jre-headless) || (echo "the Spark target needs Java 17: apt-get install openjdk-17-jre-headless" && exit 1)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-spark $(UV) sync --frozen --only-group spark --compile-bytecode
	@touch $@

lint: install
	$(RUN) ruff check .

test: install spark-env lint reports-install dbt-parse
	$(RUN) pytest

# The unit tier: pure logic (settings, warehouse helpers, auth, import layering, ...), no world,
# no emulator, a few seconds.
test-unit: install
	$(RUN) pytest tests/unit

# The dbt manifest the Dagster definitions read (they never parse the project themselves, except
# under `dagster dev`): `dbt parse` when it is missing or older than a file of dbt_project/. Run it
# after editing the dbt project; demo, test, dagster and bench run it first.
dbt-parse: install
	$(RUN) python -m devtools.prepare_dbt

# The Dagster UI on the code location, nothing run (`make demo` runs the day first). After editing a
# dbt model, "Reload definitions" in the UI: under `dagster dev` a changed dbt project is parsed again.
UI_PORT ?= 3000
dagster: dbt-parse
	$(RUN) dagster dev -m orchestration.definitions -h 127.0.0.1 -p $(UI_PORT)

# The sandbox company (generated once; `make sandbox SIZE=S` for a small one) and its APIs.
# CRM=hubspot makes it a HubSpot shop, and the product reads and writes HubSpot (`crm` setting).
sandbox: install
	@if [ -f $(DATA_DIR)/world.sqlite ]; then \
		echo "sandbox world already in $(DATA_DIR) (to start over with a new company: make clean, then make demo)"; \
	else \
		$(RUN) python -m sandbox --data-dir $(DATA_DIR) generate --size $(SIZE) --seed $(SEED) $(if $(CRM),--crm $(CRM)); \
	fi

emulators: sandbox
	$(RUN) python -m sandbox --data-dir $(DATA_DIR) serve --port $(PORT) --tls-port $(TLS_PORT)

# The demo: the sandbox company, its APIs, the daily run through Dagster (ingest, dbt, scores, alerts,
# gate, sync to Salesforce and Slack, reports), then the Dagster UI and the Copilot API (which serves the
# reports behind sign-in) until Ctrl-C.
# AS_OF_DATE=YYYY-MM-DD rebuilds that past day instead of the latest.
demo: sandbox
	reports/scripts/install.sh --no-browser
	@$(RUN) python -m sandbox --data-dir $(DATA_DIR) info
	$(RUN) python -m devtools.demo --data-dir $(DATA_DIR) --port $(PORT) --tls-port $(TLS_PORT) \
		--ui-port $(UI_PORT) --reports-port $(REPORTS_PORT) --api-port $(API_PORT) $(if $(AS_OF_DATE),--as-of-date $(AS_OF_DATE))

# The Evidence reports: Debian chromium for the browser tests (only if missing), npm ci (only when the
# lock file or the offline patch changed), then a build from a read copy of the warehouse's marts.
REPORTS_PORT ?= 3001

reports-install:
	reports/scripts/install.sh

reports: reports-install
	reports/scripts/build.sh

# A developer's local preview of a build, WITHOUT sign-in (loopback only): users get the site through
# the Copilot API, behind the sign-in (make demo, make api).
reports-serve:
	reports/scripts/serve.sh $(REPORTS_PORT)

# The Copilot API (api/) on the serving snapshot the last daily run published: http://127.0.0.1:8770/docs.
# A sandbox user's token, from the sandbox's OIDC issuer (the emulators): python -m api token --user <e-mail>
API_PORT ?= 8770
api: install
	$(RUN) python -m api serve --port $(API_PORT)

# Benchmarks: `make bench` (M world), `make bench SIZES="M L"` for the scale run, BENCH_FLAGS=--reuse-worlds
# to measure worlds generated before. Writes BENCHMARKS.md.
SIZES ?= M
bench: install
	$(RUN) python -m benchmarks --sizes $(SIZES) $(BENCH_FLAGS)

# Everything generated: the sandbox company, the warehouse and its load state, models, Dagster's
# run history, the report site.
clean:
	find data -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache reports/build reports/.evidence reports/sources/warehouse/warehouse.duckdb
