# The project's commands. Run as root on Debian 12; see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOPOLOGY ?= single
TOPOLOGIES ?= single split
# Debian packages the control machine needs: LXC lab, apt cache, venv, ssh client.
SYSTEM_PACKAGES := lxc debootstrap apt-cacher-ng python3-venv openssh-client openssl

.PHONY: help deps lab lab-down lab-status test lint unit acceptance bench docs lock

help:
	@echo "make lab        bring the lab up ($(TOPOLOGY)) and converge it with deploys/all.py"
	@echo "make test       ruff, unit tests, then converge + idempotence gate + acceptance"
	@echo "                on each topology in '$(TOPOLOGIES)'"
	@echo "make lab-down   remove the lab's containers, bridge and apt cache"
	@echo "make bench      converge timings on the lab (medians), a benchmark, not a test"
	@echo "make docs       regenerate the README's settings table from the models"

$(VENV)/.system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	  | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	mkdir -p $(VENV) && touch $@

$(VENV)/.installed: $(VENV)/.system-packages pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	touch $@

deps: $(VENV)/.installed

lab: deps
	$(PY) -m tests.fixtures.build
	$(PY) -m lab up --topology $(TOPOLOGY)
	$(PY) -m tests.converge inventories/lab.py
	$(PY) -m lab status

lab-down:
	$(PYTHON) -m lab down

lab-status:
	$(PYTHON) -m lab status

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: deps
	$(PY) -m pytest tests/unit -q

# One topology: converge, converge again (must change nothing), then testinfra.
acceptance: deps
	$(PY) -m tests.fixtures.build
	$(PY) -m lab up --topology $(TOPOLOGY)
	$(PY) -m tests.converge inventories/lab.py
	$(PY) -m tests.converge inventories/lab.py --expect-no-change
	$(PY) -m pytest tests/acceptance -q

test: lint unit
	for topology in $(TOPOLOGIES); do $(MAKE) --no-print-directory acceptance TOPOLOGY=$$topology; done

bench: deps
	$(PY) -m tests.bench $(TOPOLOGIES)

docs: deps
	$(PY) -m deploys.settings_doc --write README.md

# Re-pin every transitive dependency after changing the pins in pyproject.toml.
lock: deps
	$(VENV)/bin/pip install -q $$($(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(" ".join(p["dependencies"] + p["optional-dependencies"]["dev"]))')
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^pip==' > requirements.lock
