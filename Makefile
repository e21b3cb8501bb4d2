# Day-to-day commands for the evpipe stack. `make` (or `make help`) lists them.
# Needs Docker with Compose v2 for the stack and the tests; Python 3.11+ only for *-native/lint.

SHELL        := /bin/bash
COMPOSE      ?= docker compose
TEST_IMAGE   ?= evpipe-test:local
VENV         ?= .venv
PY           := $(VENV)/bin/python
SHARED_DIR   ?= $(abspath $(CURDIR)/../shared)
PYTEST_ARGS  ?=
BENCH_ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install up up-replica down reload logs ps status test test-image test-unit test-e2e \
        test-native bench bench-native lint lock clean backup

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

install: ## Create .venv with the package (editable) and dev tools, for *-native and lint
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -c services/requirements.lock -c services/requirements-dev.lock -e '.[dev]'

up: ## Build and start the stack (db, worker loads data/incoming once, dashboard on :8050)
	$(COMPOSE) up -d --build
	@echo "dashboard: http://127.0.0.1:$${DASHBOARD_PORT:-8050}  (worker: make logs / make status)"

up-replica: ## Like up, plus db-replica, a read replica the dashboard reads (docs/replica.md)
	$(COMPOSE) --profile replica up -d --build
	@echo "dashboard: http://127.0.0.1:$${DASHBOARD_PORT:-8050}  (reads db-replica once it is seeded)"

down: ## Stop the stack, with the replica if any (data is kept in the volumes)
	$(COMPOSE) --profile replica down

reload: ## Re-run the worker against the running stack; loads only new data; exits with its code
	$(COMPOSE) run --rm worker

logs: ## Follow the logs of all services
	$(COMPOSE) logs -f --tail=200

ps: ## Show the stack's containers
	$(COMPOSE) ps -a

status: ## Show pipeline state (`evpipe status` in a worker container)
	$(COMPOSE) run --rm worker evpipe status

test: ## Full test suite in Docker: pytest in a container, then the stack end to end (both always run)
	@rc=0; \
	$(MAKE) --no-print-directory test-unit || rc=1; \
	$(MAKE) --no-print-directory test-e2e || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (see above)" >&2; else echo "make test: all passed"; fi; \
	exit $$rc

test-image: ## Build the test image (mariadb-server, chromium, runtime + dev deps)
	docker build -f tests/Dockerfile --build-arg PYTHON_IMAGE=$${PYTHON_IMAGE:-python:3.12-slim} -t $(TEST_IMAGE) .

test-unit: test-image ## pytest in the test image, repo mounted; screenshots go to ./artifacts
	mkdir -p artifacts
	docker run --rm --init --user "$$(id -u):$$(id -g)" \
	  -v "$(CURDIR):/src" -w /src \
	  $$( [ -d "$(SHARED_DIR)" ] && echo "-v $(SHARED_DIR):/shared:ro -e EVPIPE_SHARED_DIR=/shared" ) \
	  $(if $(CI),-e CI=$(CI)) \
	  $(TEST_IMAGE) pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; fi; exit $$rc

test-e2e: ## End-to-end test of the Docker stack (tests/e2e/test_stack.sh)
	bash tests/e2e/test_stack.sh

test-native: ## pytest with .venv and local mariadb binaries (quick loop; run `make install` first)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: test-image ## Benchmark (issue 5) in the test image; e.g. make bench BENCH_ARGS='--quick'
	mkdir -p bench/results
	docker run --rm --init --user "$$(id -u):$$(id -g)" -v "$(CURDIR):/src" -w /src \
	  $(TEST_IMAGE) python -m bench.run $(BENCH_ARGS)

bench-native: ## Benchmark with .venv and a local mariadbd (make install first)
	$(PY) -m bench.run $(BENCH_ARGS)

lint: ## ruff check, ruff format --check, mypy (via .venv)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

lock: ## Re-resolve services/requirements*.lock from pyproject.toml (needs python3 and PyPI)
	rm -rf .lockvenv && python3 -m venv .lockvenv
	.lockvenv/bin/pip install -q . 'setuptools>=68'
	{ echo "# Runtime dependencies (+ build backend), exact versions. Regenerate: make lock"; \
	  .lockvenv/bin/pip freeze --all --exclude evpipe --exclude pip; } > services/requirements.lock
	.lockvenv/bin/pip install -q -c services/requirements.lock '.[dev]'
	.lockvenv/bin/pip freeze --all --exclude evpipe --exclude pip > .lockvenv/all.txt
	{ echo "# Dev/test tools on top of requirements.lock, exact versions. Regenerate: make lock"; \
	  grep -vxFf <(grep -v '^#' services/requirements.lock) .lockvenv/all.txt; } > services/requirements-dev.lock
	rm -rf .lockvenv

clean: ## Stop the stack and delete its volumes (all loaded data) and test artifacts
	$(COMPOSE) --profile replica down -v --remove-orphans
	rm -rf artifacts

backup: ## Dump the database with mysqldump to backups/evpipe-<timestamp>.sql
	@mkdir -p backups
	@f=backups/evpipe-$$(date +%Y%m%d-%H%M%S).sql; \
	$(COMPOSE) exec -T db sh -c 'd=$$(command -v mysqldump || command -v mariadb-dump); \
	  gtid=--set-gtid-purged=OFF; "$$d" --version | grep -qi mariadb && gtid=; \
	  export MYSQL_PWD="$$MYSQL_ROOT_PASSWORD"; exec "$$d" -uroot $$gtid --single-transaction \
	  --databases "$$MYSQL_DATABASE"' > $$f \
	  && echo "wrote $$f" || { rm -f $$f; exit 1; }
