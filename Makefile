# Markets Operations pipelines: one command for each thing a developer does.
#   make demo    install, start the stack, run the nightly pipeline for one business date, print a summary
#   make test    install, start the stack and the local cluster, run every test against the real services
#   make k8s-up | k8s-down | k8s-status   the local Kubernetes cluster the model pods run on
#   make up | down | status | lint | bench | lock | clean
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
UV := var/cache/uv/bin/uv
export PYTHONPATH := $(CURDIR):$(CURDIR)/model_pod
export NO_PROXY := 127.0.0.1,localhost

.PHONY: help install install-k8s up down status demo test test-unit lint lock lock-check bench clean \
	k8s-up k8s-down k8s-status

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

install:  ## Debian packages, .venv from the lock, Kafka jars (cached; skipped when unchanged)
	@scripts/bootstrap.sh

up: install  ## start PostgreSQL, S3, Kafka, MLflow, Airflow and wait for their health checks
	@$(PY) -m devstack up

down:  ## stop the stack's and the cluster's processes (by their recorded pids)
	@if [ -x $(PY) ]; then $(PY) -m devstack.k8s down && $(PY) -m devstack down; else echo "nothing installed"; fi

status:
	@$(PY) -m devstack status

install-k8s: install  ## Debian's containerd, runc, buildah, debootstrap (the cluster's build is in make k8s-up)
	@scripts/bootstrap.sh --kubernetes

k8s-up: install-k8s  ## a single-node Kubernetes on 127.0.0.1, the model image, deploy/kubernetes applied
	@$(PY) -m devstack.k8s up

k8s-down:  ## stop the cluster's processes (by their recorded pids) and remove its cgroups
	@if [ -x $(PY) ]; then $(PY) -m devstack.k8s down; else echo "nothing installed"; fi

k8s-status:
	@$(PY) -m devstack.k8s status

demo: up  ## the nightly pipeline for one business date, end to end, and what it produced
	@$(PY) -m devstack.demo

test: up install-k8s  ## every test; the cluster is built beside the first tests, started before its own (scripts/test.sh)
	@scripts/test.sh

test-unit: install
	@$(PY) -m pytest -m "not integration"

lint: install lock-check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m bandit -q -c pyproject.toml -r include plugins dags model_pod/settlement_model devstack
	git ls-files -z | xargs -0 $(PY) -m detect_secrets.pre_commit_hook --baseline .secrets.baseline
	.venv/bin/hadolint Dockerfile model_pod/Dockerfile
	@# squawk: every warehouse revision's upgrade as offline SQL, one file each, so a table an earlier
	@# revision made counts as existing (rules switched off, and why: .squawk.toml)
	$(PY) -m include.markets_ops.warehouse sql var/lint/migrations >/dev/null
	.venv/bin/squawk --config .squawk.toml var/lint/migrations/*.sql

LOCK_ARGS := --python-version 3.11 --quiet --no-header
lock: install  ## regenerate the pinned lock files from their .in inputs
	$(UV) pip compile $(LOCK_ARGS) requirements.in -o requirements.txt
	$(UV) pip compile $(LOCK_ARGS) requirements-dev.in -c requirements.txt -o requirements-dev.txt
	$(UV) pip compile $(LOCK_ARGS) model_pod/requirements.in -c requirements.txt -o model_pod/requirements.txt

lock-check:  ## fail when a lock file drifts from its inputs
	@scripts/lock_check.sh

bench: up k8s-up  ## throughput and latency measurements (prints a table; see the README, Performance)
	@$(PY) -m benchmarks

clean: down  ## remove the stack's state (keeps the downloaded caches)
	rm -rf var/airflow var/kafka var/s3 var/postgres var/log var/run var/stack.env var/secrets.json var/k8s var/s3-pki
