# The project's commands. Run as root on Debian 12; see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOPOLOGY ?= single
TOPOLOGIES ?= single split ha
INVENTORY ?= inventories/lab.py
PLAN ?= plan.md
# pytest processes for the read-only testinfra suites (verify, acceptance): they wait on SSH.
TEST_WORKERS ?= 4
# Debian packages: the venv and the linters' helpers; the lab's LXC, apt cache and ssh client.
SYSTEM_PACKAGES := python3-venv shellcheck openssh-client
LAB_PACKAGES := lxc debootstrap apt-cacher-ng openssl
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help deps dev-deps lab-deps lab lab-down lab-status test lint actionlint unit templates \
	acceptance bench docs lock plan plan-comment apply restore verify verify-summary ssh-key \
	zabbix-register

help:
	@echo "make lab        bring the lab up ($(TOPOLOGY)) and converge it with deploys/all.py"
	@echo "make test       ruff, then converge + idempotence gate + acceptance on each topology"
	@echo "                in '$(TOPOLOGIES)', the unit tests meanwhile"
	@echo "make lab-down   remove the lab's containers, bridge and apt cache"
	@echo "make bench      converge timings on the lab (medians), a benchmark, not a test"
	@echo "make docs       regenerate docs/settings.md's settings table and the Zabbix template"
	@echo "make plan       dry-run INVENTORY ($(INVENTORY)) and render the plan to $(PLAN)"
	@echo "make apply      converge INVENTORY; make verify: its read-only testinfra suite"
	@echo "make zabbix-register  register INVENTORY's hosts on its Zabbix server (API)"

# Installs the Debian packages named in $(1) that are missing.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	  | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $$missing >/dev/null; \
	fi
	mkdir -p $(VENV) && touch $@
endef

$(VENV)/.system-packages:
	$(call apt_install,$(SYSTEM_PACKAGES))

$(VENV)/.lab-packages:
	$(call apt_install,$(LAB_PACKAGES))

# Runtime dependencies only (plan, apply, verify: the jobs that hold production's secrets),
# or with the development tools (lint, unit tests, the lab); every file checked by its hash.
PIP_INSTALL := $(VENV)/bin/pip install -q --disable-pip-version-check --require-hashes
$(VENV)/.installed: $(VENV)/.system-packages pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.lock
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(PIP_INSTALL) -r requirements-dev.lock
	touch $@

deps: $(VENV)/.installed

dev-deps: $(VENV)/.installed-dev

lab-deps: dev-deps $(VENV)/.lab-packages

lab: lab-deps
	$(PY) -m tests.fixtures.build
	$(PY) -m lab up --topology $(TOPOLOGY)
	$(PY) -m tools.apply inventories/lab.py
	$(PY) -m lab status

lab-down:
	$(PYTHON) -m lab down

lab-status:
	$(PYTHON) -m lab status

lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows

actionlint: dev-deps
	$(VENV)/bin/actionlint -color=false

unit: dev-deps
	$(PY) -m pytest tests/unit -q -n 2 --ignore=tests/unit/test_templates.py

# Every template rendered with the example settings (no host needed).
templates: dev-deps
	$(PY) -m pytest tests/unit/test_templates.py -q

# One topology: converge, converge again (must change nothing), then testinfra: the read-only
# tests in parallel, the journeys (tests marked `journey`, which change the lab) one at a time,
# and a last converge that must change nothing either (the journeys put the lab back).
# Every step's output is kept in .lab/logs/ and searched for the lab's secrets at the end.
LOGS := .lab/logs
# ha: PostgreSQL on data-1 alone first, a marker written; the converge after it is the growth
# to a Patroni cluster (tests/acceptance/growth.py), which must keep the marker.
define GROW_FROM_ONE_DB_HOST
rm -f .lab/growth.json
	AKTIENANALYSE_LAB_EXCLUDE=data-2 $(PY) -m tools.apply inventories/lab.py 2>&1 \
	  | tee $(LOGS)/$(TOPOLOGY)-before-growth.log
	$(PY) -m tests.acceptance.growth
endef
acceptance: lab-deps
	$(PY) -m tests.fixtures.build
	$(PY) -m lab up --topology $(TOPOLOGY)
	mkdir -p $(LOGS)
	$(if $(filter ha,$(TOPOLOGY)),$(GROW_FROM_ONE_DB_HOST))
	$(PY) -m tools.apply inventories/lab.py 2>&1 | tee $(LOGS)/$(TOPOLOGY)-converge.log
	$(PY) -m tools.apply inventories/lab.py --expect-no-change 2>&1 \
	  | tee $(LOGS)/$(TOPOLOGY)-gate.log
	$(MAKE) --no-print-directory verify INVENTORY=inventories/lab.py 2>&1 \
	  | tee $(LOGS)/$(TOPOLOGY)-verify.log
	$(PY) -m pytest tests/acceptance -m "not journey" -n $(TEST_WORKERS) --dist loadgroup \
	  -q -rA --durations=10 2>&1 | tee $(LOGS)/$(TOPOLOGY)-acceptance.log
	$(PY) -m pytest tests/acceptance -m journey -q -rA --durations=15 2>&1 \
	  | tee $(LOGS)/$(TOPOLOGY)-journeys.log
	$(PY) -m tools.apply inventories/lab.py --expect-no-change 2>&1 \
	  | tee $(LOGS)/$(TOPOLOGY)-after-journeys.log
	$(PY) -m tests.leak_check $(LOGS)/$(TOPOLOGY)-*.log

# The unit tests need no host: they run while the first topology's lab comes up and converges
# (mostly waiting on the containers); their output follows the acceptance runs, and a failure
# of either fails make test.
test: lint actionlint templates lab-deps
	mkdir -p $(LOGS)
	$(MAKE) --no-print-directory unit > $(LOGS)/unit.log 2>&1 & unit=$$!; \
	status=0; for topology in $(TOPOLOGIES); do \
	  $(MAKE) --no-print-directory acceptance TOPOLOGY=$$topology || { status=1; break; }; \
	done; \
	wait $$unit || status=1; cat $(LOGS)/unit.log; exit $$status

# Each topology in turn (wide: 16 hosts); BENCH_ARGS e.g. --fresh-runs 1 --runs 3.
BENCH_TOPOLOGIES ?= single split wide
bench: lab-deps
	$(PY) -m tests.fixtures.build
	$(PY) -m tests.bench $(BENCH_TOPOLOGIES) $(BENCH_ARGS)

# docs/settings.md's settings table and the Zabbix template, from the code that declares them.
docs: dev-deps
	$(PY) -m tools.settings_doc --write docs/settings.md
	$(PY) -m tools.zabbix_template

# What deploys/all.py would change on INVENTORY, as markdown (secrets redacted); a failed dry
# run still writes the plan (saying so) and fails.
plan: deps
	$(PY) -m tools.plan $(INVENTORY) --output $(PLAN)

# Restore PostgreSQL on HOST (a db host of INVENTORY) to TIME (ISO 8601 with offset) or to the
# backup set SET; CONFIRM must repeat HOST. The app hosts' services stop meanwhile. The values
# reach the shell as environment variables, never as recipe text.
restore: export RESTORE_HOST = $(HOST)
restore: export RESTORE_CONFIRM = $(CONFIRM)
restore: export RESTORE_TIME = $(TIME)
restore: export RESTORE_SET = $(SET)
restore: deps
	$(PY) -m tools.restore $(INVENTORY) --host "$$RESTORE_HOST" --confirm "$$RESTORE_CONFIRM" \
	  $(if $(TIME),--time "$$RESTORE_TIME") $(if $(SET),--set "$$RESTORE_SET")

# Import the Zabbix template and register INVENTORY's hosts with their PSKs on its monitoring
# host's server, or on URL (then AKTIENANALYSE_ZABBIX_USER/_PASSWORD from the environment).
zabbix-register: export ZABBIX_URL = $(URL)
zabbix-register: deps
	$(PY) -m tools.zabbix_register $(INVENTORY) $(if $(URL),--url "$$ZABBIX_URL") --wait 240

# Posts/updates the plan comment on pull request PR (GitHub Actions: GITHUB_TOKEN, GITHUB_REPOSITORY).
plan-comment: deps
	$(PY) -m tools.plan_comment --pr $(PR) $(PLAN)

# Converge INVENTORY; SUMMARY (if set) gets a markdown summary of what changed or failed.
apply: deps
	$(PY) -m tools.apply $(INVENTORY) $(if $(SUMMARY),--summary $(SUMMARY))

# The read-only testinfra suite (tests/verify) against INVENTORY's hosts.
verify: deps
	AKTIENANALYSE_INVENTORY=$(INVENTORY) $(PY) -m pytest tests/verify -q -n $(TEST_WORKERS) $(if $(JUNIT),--junitxml $(JUNIT))

verify-summary: deps
	$(PY) -m tests.verify.summary $(JUNIT) $(SUMMARY)

# CI: the deploy key from $$AKTIENANALYSE_SSH_PRIVATE_KEY into $$AKTIENANALYSE_SSH_KEY_FILE (0600,
# the job's temporary directory, which the runner empties), where inventories/prod.py reads it;
# never into the runner account's ~/.ssh. Host keys are pinned in inventories/known_hosts.
ssh-key:
	@test -n "$${AKTIENANALYSE_SSH_PRIVATE_KEY:-}" || { echo "AKTIENANALYSE_SSH_PRIVATE_KEY is empty" >&2; exit 1; }
	@test -n "$${AKTIENANALYSE_SSH_KEY_FILE:-}" || { echo "AKTIENANALYSE_SSH_KEY_FILE is empty" >&2; exit 1; }
	umask 077 && printf '%s\n' "$$AKTIENANALYSE_SSH_PRIVATE_KEY" > "$$AKTIENANALYSE_SSH_KEY_FILE"

# Re-pin every transitive dependency, with the hashes of every file PyPI has for it, after
# changing the pins in pyproject.toml (pip-tools, in a venv of its own: never in the jobs).
LOCK_VENV := .venv-lock
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
	  $(LOCK_VENV)/bin/pip install -q pip-tools==7.7.0; }
	for extra in "" dev; do \
	  $(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	    --no-header --no-emit-index-url --no-emit-find-links $${extra:+--extra $$extra} \
	    -o requirements$${extra:+-$$extra}.lock pyproject.toml; \
	done
