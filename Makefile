# SocialOmega: every entry point. `make demo` and `make test` install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON313 ?= $(shell PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null || command -v python3.13)
VENV      := .venv
PY        := $(VENV)/bin/python
BUILD     := .build
LS_VENV   := $(BUILD)/localstack-venv
PYTEST    := $(PY) -m pytest -c tests/pytest.ini

.PHONY: help venv localstack-venv localstack-up down demo test lint test-unit test-security test-integration tf-test test-faults bench bench-pipeline dlq redrive clean \
        docker images up test-containers chromium test-browser

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## the project's Python 3.13 virtualenv
$(VENV)/.installed: services/pyproject.toml
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found (pyenv install 3.13.0)"; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e 'services[dev]'
	@touch $@

localstack-venv: $(LS_VENV)/.installed ## LocalStack 4.14.0 in its own virtualenv (native mode)
$(LS_VENV)/.installed: tests/localstack/requirements.lock
	@mkdir -p $(BUILD)
	$(PYTHON313) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q -r tests/localstack/requirements.lock
	@touch $@

localstack-up: venv localstack-venv ## start LocalStack (docker compose if Docker answers, else native)
	$(PY) -m socialomega.local.localstack start

down: venv ## stop what `make demo` / `make up` started (native LocalStack and the compose stack)
	$(PY) -m socialomega.local.localstack stop

demo: localstack-up ## one real pipeline run over the sandbox, then a result table
	$(PY) -m socialomega.local demo

test: lint test-unit test-browser tf-test test-integration plan-preview test-faults test-containers ## everything CI runs (test-integration includes test-security)

RUFF := $(PY) -m ruff --config services/pyproject.toml
lint: venv ## ruff (lint and format check) and mypy (strict on core and the contracts): zero findings
	$(RUFF) check services/socialomega tests
	$(RUFF) format --check services/socialomega tests
	cd services && ../$(PY) -m mypy

test-unit: venv ## unit tests (no network)
	$(PYTEST) tests/unit

test-security: localstack-up ## attack suites: SSRF, webhooks, hostile inputs, secrets on LocalStack (figures printed at the end)
	$(PYTEST) tests/security

# One session for both: the secrets suite uses the integration suite's stack (one Terraform apply).
test-integration: localstack-up ## the pipeline on LocalStack, deployed by Terraform, then the attack suites
	$(PYTEST) tests/integration tests/security

# The fault suite starts its own LocalStack (port 4577), sandbox and runtime processes.
test-faults: venv localstack-venv ## 50 photos x 5 targets under 20 % faults, a 3-min outage, an expired token, poison images, SIGKILL and a LocalStack restart: accounting table in .build/fault-suite.json
	$(PYTEST) -m faults tests/faults

chromium: ## Debian's Chromium for the browser test (installed with apt-get when /usr/bin/chromium is missing)
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium"; \
	  as_root() { if [ "$$(id -u)" = 0 ]; then "$$@"; else sudo "$$@"; fi; }; \
	  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@/usr/bin/chromium --version

test-browser: venv chromium ## the HTML analytics report in headless Chromium: every chart drawn, no console error, no network; screenshot in .build/
	$(PYTEST) -m browser tests/browser

docker: ## a Docker engine and Compose v2 (installs docker.io, starts dockerd, pinned compose plugin)
	images/bin/docker-up

images: docker ## build and check every image (OFFLINE=1: base and LocalStack from Debian/PyPI, no registry)
	images/bin/build-images

# The compose stack's apply job runs the host's Terraform with the offline provider mirror.
up test-containers: export TERRAFORM_BIN ?= $(shell command -v terraform)
up test-containers: export TF_PLUGIN_MIRROR ?= $(shell dirname "$$(dirname "$$(dirname "$$(find / -maxdepth 5 -type d -path '*/registry.terraform.io/hashicorp/aws' -not -path '/proc/*' 2>/dev/null | head -n1)")")")

up: images ## the whole stack in containers (docker-compose.yml); `make down` stops it
	docker compose up -d
	docker compose ps -a --format 'table {{.Service}}\t{{.Image}}\t{{.Status}}'

test-containers: venv images ## the pipeline end to end against the compose stack (own ports)
	$(PYTEST) -m containers tests/containers

tf-test: ## terraform fmt, validate, `terraform test` (mock provider), checkov, and the deploy's stub tests (no AWS, no Docker)
	terraform/bin/tf-check
	images/tests/lambda-only

bench: venv ## variant building vs Pillow and the libjpeg-turbo floor
	$(PY) tests/bench/bench_variants.py

bench-cold: venv images ## cold import of each handler inside its image, bytecode vs none (publisher <= 300 ms, processor <= 500 ms)
	$(PY) tests/bench/bench_cold_import.py

PHOTOS ?= 40
bench-pipeline: localstack-up ## PHOTOS (40) camera-like 24 MP photos through the whole local pipeline: posts/min, p50/p95, CPU per photo
	$(PY) tests/bench/bench_pipeline.py --photos $(PHOTOS)

bench-analytics: localstack-up ## 10,000 engagement events from 4 concurrent writers through the analytics consumer on LocalStack S3: events/s, requests per event, CAS conflicts, exact counts
	$(PY) tests/bench/bench_analytics_writer.py

ENVIRONMENT ?= local
dlq: venv ## what is in the dead-letter queues, with reasons (ENVIRONMENT=local; any other: socialomega --env NAME dlq list)
	$(VENV)/bin/socialomega --env $(ENVIRONMENT) dlq list

redrive: venv ## move a DLQ's messages back to its queue: make redrive QUEUE=processor (or publisher-<target>, analytics)
	@test -n "$(QUEUE)" || { echo "usage: make redrive QUEUE=<queue> (make dlq lists them)"; exit 2; }
	$(VENV)/bin/socialomega --env $(ENVIRONMENT) dlq redrive $(QUEUE)

.PHONY: plan deploy plan-preview preflight bootstrap-state account-setup bench-cold bench-analytics

preflight: venv ## the deploy's checks alone: credentials, region, tfvars, Lambda quotas, API Gateway's CloudWatch role, secrets (creates nothing)
	terraform/bin/deploy preflight

bootstrap-state: ## remote Terraform state: an S3 bucket (versioned, encrypted, TLS only) with locking, once per account and region
	terraform/bin/bootstrap-state

account-setup: venv ## API Gateway's CloudWatch Logs role (account-wide, once per account and region): terraform/envs/aws-account
	terraform/bin/deploy account-setup

plan-preview: localstack-up ## `make plan` of terraform.tfvars.example with LocalStack standing in for the account (no AWS needed)
	terraform/bin/plan-localstack
plan: venv ## what `make deploy` would change in AWS (needs AWS credentials, AWS_REGION, terraform/envs/aws/terraform.tfvars)
	terraform/bin/deploy plan

deploy: venv ## preflight, then build the images, push them to ECR and apply terraform/envs/aws pinned by digest (README: Deploying to a real AWS account)
	terraform/bin/deploy apply

clean: down
	rm -rf $(BUILD) $(VENV)
