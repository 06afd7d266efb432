# The one entry point for people and CI. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# Point the tests at a PostgreSQL server (an admin URL; the tests create their own
# databases on it). Unset: testcontainers when Docker answers, else SQLite.
TEST_DATABASE_URL ?=
PYTEST_ARGS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled here, once: with PYTHONDONTWRITEBYTECODE set (as on this machine
# type and in many CI images), Python never caches it, and every process (each service a
# test starts, each alooba-gh call) would compile SQLAlchemy, aiohttp and the rest again
# (a service's imports: 1.7 s of CPU without the cache, 0.7 s with it).
$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml services/*/pyproject.toml libs/*/pyproject.toml)
	$(UV) sync --frozen --all-packages --python $(PYTHON) --compile-bytecode
	@touch $@

# Our own sources too (only what changed since the last time).
OWN_SOURCES := protos/python libs/common/src $(wildcard services/*/src) cli/src tools/src emulator/src

.PHONY: install
install: $(VENV)/.synced ## Create .venv from the lock file (uv.lock), installing uv first if needed
	@$(BIN)/python -m compileall -q -j 0 $(OWN_SOURCES)

.PHONY: lock
lock: $(UV) ## Re-resolve dependencies into uv.lock after editing a pyproject.toml
	$(UV) lock --python $(PYTHON)

.PHONY: proto
proto: install ## Regenerate protos/python (messages, gRPC stubs, typed stubs)
	PATH="$(abspath $(BIN)):$$PATH" scripts/gen-protos.sh

.PHONY: proto-check
proto-check: proto ## Fail if the committed generated code differs from a fresh generation
	@git diff --exit-code --stat -- protos/python || \
	  { echo "protos/python is stale: run 'make proto' and commit the result"; exit 1; }
	@test -z "$$(git status --porcelain -- protos/python)" || \
	  { echo "protos/python has untracked generated files: run 'make proto' and commit them"; exit 1; }

.PHONY: security-doc
security-doc: install ## Regenerate docs/security.md's access tables from the services' access.py
	$(BIN)/python scripts/gen-security-doc.py

# buf (protos' lint and breaking-change check), from npm's @bufbuild/buf into .tools/.
BUF_VERSION := 1.75.0
BUF := .tools/buf/node_modules/.bin/buf
# The branch protos/ must stay wire-compatible with.
BUF_AGAINST ?= main

$(BUF):
	npm install --silent --no-audit --no-fund --prefix .tools/buf @bufbuild/buf@$(BUF_VERSION)

.PHONY: proto-lint
proto-lint: $(BUF) ## buf lint (STANDARD) on protos/, and buf breaking against BUF_AGAINST (main)
	cd protos && ../$(BUF) lint
	scripts/proto-breaking.sh $(BUF) $(BUF_AGAINST)

.PHONY: lint
lint: install proto-lint ## ruff (lint + format check), mypy --strict on our own code, import contracts, buf on the protos
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/common/src services/*/src cli/src tools/src emulator/src
	$(BIN)/lint-imports --no-cache

.PHONY: fmt
fmt: install ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The console's browser tests drive Debian's Chromium with selenium (no browser can be
# downloaded from the test): installed here when missing and we may (root, apt-get).
.PHONY: browser
browser: ## Install Debian's chromium and chromium-driver for the browser tests, if missing
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "browser: apt-get install -y chromium chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
	  echo "browser: no chromium; the browser tests will be skipped (sudo apt-get install -y chromium chromium-driver)" >&2; \
	fi

# The suite's files run in parallel (pytest-xdist). Most of its time is waiting (service
# processes starting, Chromium, PostgreSQL), not CPU, so more workers than cores. A file's
# tests stay on one worker: its module-wide system or stack starts once. Each worker makes
# its own databases. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 4

.PHONY: test
test: install browser ## Run the whole test suite in parallel (TEST_DATABASE_URL: on PostgreSQL; TEST_WORKERS=0: in one process)
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest -m "not bench" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

.PHONY: test-pythons
test-pythons: install container-tools ## Unit tests on every Python here: the host's 3.11 and 3.13 (a Debian trixie container)
	scripts/test-pythons.sh $(PYTEST_ARGS)

RUN_ARGS ?=

.PHONY: run
run: install ## Start the services and the console on the embedded defaults (SQLite and certificates under var/), print the console URL; Ctrl-C stops (RUN_ARGS=--free-ports beside another stack)
	$(BIN)/alooba-devstack --var var $(RUN_ARGS)

.PHONY: demo
demo: install ## Play the seed's flow end to end (SMTP server, Greenhouse emulator with Harvest v3), step by step; print the console pages
	$(BIN)/alooba-demo

# `make bench` / `make faults`: figures and fault injection on the real processes and a
# real PostgreSQL (an admin URL; fresh databases are created there and dropped after).
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_ARGS ?=
FAULTS_ARGS ?=

# The bench's saturation figures also come from wrk (Debian's package), beside its own load
# generator: installed here when missing and we may (root, apt-get); else the run says so.
.PHONY: wrk
wrk: ## Install Debian's wrk for make bench's second load generator, if missing
	@if command -v wrk >/dev/null; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "wrk: apt-get install -y wrk"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else \
	  echo "wrk: not installed; the bench runs without its wrk column (sudo apt-get install -y wrk)" >&2; \
	fi

.PHONY: bench
bench: install wrk ## Benchmark the real services on PostgreSQL (BENCH_ARGS="--only harvest": the Harvest section alone); prints a table, writes bench/results/latest.json
	$(BIN)/python -m alooba_dev.bench --database-url "$(BENCH_DATABASE_URL)" $(BENCH_ARGS)

.PHONY: faults
faults: install ## Inject faults (SIGKILLs, PostgreSQL restart, SMTP, callback and Harvest outages) into a bulk flow; fails if anything is lost or duplicated
	$(BIN)/python -m alooba_dev.faults --database-url "$(BENCH_DATABASE_URL)" $(FAULTS_ARGS)

.PHONY: ci
ci: lint proto-check k8s-validate test images images-smoke ## What .ci/run runs

# Container images and Kubernetes manifests (deploy/images/, deploy/k8s/README.md).
# Images are named $(IMAGE_REGISTRY)/<service>:$(IMAGE_TAG). The engine is docker if it
# answers, else podman (CONTAINER_ENGINE picks one). BASE_IMAGE empty: the Dockerfile's pinned
# public Python image if it can be pulled, else a local base built from Debian packages.
IMAGE_REGISTRY ?= localhost/alooba
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
IMAGE_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
CONTAINER_ENGINE ?=
BASE_IMAGE ?=
DEBIAN_SUITE ?= bookworm
KUBE_VERSION ?= 1.30.0
IMAGE_ENV = IMAGE_REGISTRY="$(IMAGE_REGISTRY)" IMAGE_TAG="$(IMAGE_TAG)" \
  IMAGE_VERSION="$(IMAGE_VERSION)" CONTAINER_ENGINE="$(CONTAINER_ENGINE)" \
  BASE_IMAGE="$(BASE_IMAGE)" DEBIAN_SUITE="$(DEBIAN_SUITE)"

.PHONY: container-tools
container-tools: ## Install podman, runc and mmdebstrap when no container engine answers (Debian, root)
	@if docker info >/dev/null 2>&1 || { command -v podman >/dev/null && command -v mmdebstrap >/dev/null; }; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "container-tools: apt-get install -y podman runc mmdebstrap"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap >/dev/null; \
	else \
	  echo "container-tools: no container engine; install Docker, or podman with runc and mmdebstrap" >&2; \
	  echo "  (Debian/Ubuntu: sudo apt-get install -y podman runc mmdebstrap)" >&2; exit 1; \
	fi

.PHONY: base-image
base-image: container-tools ## Build the local Python base images from Debian packages (mmdebstrap; DEBIAN_SUITE=bookworm|trixie)
	. deploy/images/engine.sh && deploy/images/base-image.sh "$$(pick_engine)" $(DEBIAN_SUITE) localhost/alooba/python

.PHONY: images
images: container-tools ## Build the five service images (docker or podman), check each runs alone; prints sizes and SBOM paths
	$(IMAGE_ENV) deploy/images/build.sh

.PHONY: images-push
images-push: ## Push the five images to IMAGE_REGISTRY (after make images with the same IMAGE_REGISTRY, IMAGE_TAG)
	. deploy/images/engine.sh && engine=$$(pick_engine) && \
	for svc in $(IMAGE_SERVICES); do "$$engine" push "$(IMAGE_REGISTRY)/$$svc:$(IMAGE_TAG)"; done

IMAGE_SERVICES := gateway assessments candidates harvest-sync console

# The smoke's databases are created on this PostgreSQL server (an admin URL) and dropped after.
SMOKE_DATABASE_URL ?= $(BENCH_DATABASE_URL)

.PHONY: images-smoke
images-smoke: install images ## Run the system from its images: migration Jobs, then the dev overlay by podman kube play; the end-to-end path; tear down
	CONTAINERS_CONF="$${CONTAINERS_CONF:-$(abspath deploy/images/containers.conf)}" \
	  $(BIN)/python -m alooba_dev.smoke --database-url "$(SMOKE_DATABASE_URL)" \
	  --registry "$(IMAGE_REGISTRY)" --tag "$(IMAGE_TAG)"

.PHONY: k8s-validate
k8s-validate: install ## Render every kustomize overlay and validate it offline (strict schemas)
	KUBE_VERSION=$(KUBE_VERSION) PYTHON=$(BIN)/python deploy/k8s/validate.sh deploy/k8s

.PHONY: clean
clean: ## Remove caches and the local state under var/
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
