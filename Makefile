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
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml services/*/pyproject.toml libs/*/pyproject.toml)
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## Create .venv from the lock file (uv.lock), installing uv first if needed

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

.PHONY: lint
lint: install ## ruff (lint + format check) and mypy --strict on our own code
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/common/src services/*/src cli/src tools/src emulator/src

.PHONY: fmt
fmt: install ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: test
test: install ## Run the whole test suite (set TEST_DATABASE_URL to use PostgreSQL)
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest -m "not bench" $(PYTEST_ARGS)

.PHONY: run
run: install ## Start all four services on the embedded defaults (SQLite under var/); Ctrl-C stops
	$(BIN)/alooba-devstack --var var

.PHONY: demo
demo: install ## Play the seed's flow end to end (SMTP server, Greenhouse emulator with Harvest v3), step by step
	$(BIN)/alooba-demo

# `make bench` / `make faults`: figures and fault injection on the real processes and a
# real PostgreSQL (an admin URL; fresh databases are created there and dropped after).
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_ARGS ?=
FAULTS_ARGS ?=

.PHONY: bench
bench: install ## Benchmark the real services on PostgreSQL (BENCH_ARGS="--only harvest": the Harvest section alone); prints a table, writes bench/results/latest.json
	$(BIN)/python -m alooba_dev.bench --database-url "$(BENCH_DATABASE_URL)" $(BENCH_ARGS)

.PHONY: faults
faults: install ## Inject faults (SIGKILLs, PostgreSQL restart, SMTP, callback and Harvest outages) into a bulk flow; fails if anything is lost or duplicated
	$(BIN)/python -m alooba_dev.faults --database-url "$(BENCH_DATABASE_URL)" $(FAULTS_ARGS)

.PHONY: ci
ci: lint proto-check k8s-validate test ## What .ci/run runs

# Container images and Kubernetes manifests (deploy/k8s/README.md).
IMAGE_SERVICES := gateway assessments candidates harvest-sync
IMAGE_REGISTRY ?= alooba
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
KUBE_VERSION ?= 1.30.0

.PHONY: images
images: ## Build the four service images (needs a Docker engine; IMAGE_REGISTRY, IMAGE_TAG)
	@docker info >/dev/null 2>&1 || \
	  { echo "images: no Docker engine answers ('docker info' failed): nothing was built" >&2; exit 1; }
	for svc in $(IMAGE_SERVICES); do \
	  docker build -f services/$$svc/Dockerfile \
	    --build-arg REVISION="$$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
	    -t $(IMAGE_REGISTRY)/$$svc:$(IMAGE_TAG) . ; \
	done

.PHONY: k8s-validate
k8s-validate: install ## Render every kustomize overlay and validate it offline (strict schemas)
	KUBE_VERSION=$(KUBE_VERSION) PYTHON=$(BIN)/python deploy/k8s/validate.sh deploy/k8s

.PHONY: clean
clean: ## Remove caches and the local state under var/
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
