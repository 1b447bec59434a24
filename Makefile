# kdump.fleet developer entry points. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := $(CURDIR)/.venv
BIN         := $(VENV)/bin
PYTHON_SYS  ?= python3
# Python imports and ansible both find the collection through this tree; the
# link keeps one source of truth (the repo root) without copying.
COLL_ROOT   := $(CURDIR)/.tmp/collections
COLL_LINK   := $(COLL_ROOT)/ansible_collections/kdump/fleet
# ansible-test insists on a real ansible_collections/<ns>/<name> directory.
SANITY_ROOT := $(CURDIR)/.tmp/sanity/ansible_collections/kdump/fleet
SCENARIO    ?= debian12
# make test's VM scenarios: `debian` runs a Debian 12 and a Debian 13 VM side by side (one suite,
# so they overlap instead of queueing). debian12, debian13 and network: make molecule SCENARIO=...
SCENARIOS   ?= debian
# The lab images those scenarios boot (the network scenario's dump server is a debian12 VM too).
LAB_DISTROS ?= debian12 debian13
# crash: the debian scenario's first look at a lab dump runs crash(8) on this controller.
APT_PACKAGES := qemu-system-x86 qemu-utils debootstrap debian-archive-keyring fdisk e2fsprogs \
                openssh-client git makedumpfile chromium shellcheck crash

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONPATH := $(COLL_ROOT)

.PHONY: help setup system-deps lint units browser sanity ee molecule molecule-all test demo bench clean build

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON_SYS) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(COLL_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

setup: $(BIN)/.installed $(COLL_LINK) ## Create .venv with the pinned tools (idempotent)

system-deps: ## Install the Debian packages the lab needs (apt, root)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install $$missing"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: setup system-deps ## yamllint, ansible-lint (production profile), ruff, shellcheck
	yamllint -s .
	shellcheck lab/*.sh bench/*.sh .ci/run
	ruff check .
	ruff format --check plugins tests lab bench
	ansible-lint --offline
	antsibull-changelog lint

units: setup ## Unit tests of module_utils, modules and plugins
	pytest tests/unit bench/tests

# pip version ansible-test 2.19 bootstraps in its venvs; see .ci/get_pip_bootstrap.py.
SANITY_GET_PIP := $(HOME)/.ansible/test/cache/get_pip_24_2.py

$(SANITY_GET_PIP): .ci/get_pip_bootstrap.py
	mkdir -p $(dir $@)
	cp $< $@

browser: setup system-deps ## The HTML audit report rendered in headless chromium
	KDUMP_FLEET_REQUIRE_BROWSER=1 pytest tests/browser

# The build context only: building the image needs a container engine and quay.io, neither here.
ee: setup ## The execution environment's build context (ansible-builder create), checked
	rm -rf .tmp/ee && mkdir -p .tmp/ee
	ansible-galaxy collection build --force --output-path .tmp/ee
	cp .tmp/ee/kdump-fleet-*.tar.gz .tmp/ee/kdump-fleet.tar.gz
	ansible-builder create -f execution-environment.yml -c .tmp/ee/context --output-filename Containerfile
	pytest tests/ee

sanity: setup system-deps $(SANITY_GET_PIP) ## ansible-test sanity on the pinned ansible-core
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	# Copy exactly what git would ship (tracked + new, minus .gitignore'd files).
	git ls-files -z -co --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null \
	  | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A && \
	  ansible-test sanity --venv --python 3.11 --color no

# `kdump-lab reap` kills every QEMU the lab recorded, also after a failed or interrupted run.
molecule: setup system-deps ## One VM scenario: make molecule SCENARIO=debian12 (debian, debian13, network)
	trap 'kdump-lab reap' EXIT; trap 'exit 130' INT TERM; molecule test -s $(SCENARIO)

molecule-all: setup system-deps ## make test's VM scenarios (SCENARIOS), one after the other
	trap 'kdump-lab reap' EXIT; trap 'exit 130' INT TERM; \
	  kdump-lab build --jobs 2 $(addprefix --distro ,$(LAB_DISTROS)); \
	  for s in $(SCENARIOS); do molecule test -s $$s; done

# The image build needs no VM of the checks before it, and they need no image:
# run them side by side so an empty image cache does not add its 6-8 minutes.
test: setup system-deps $(SANITY_GET_PIP) ## Everything CI runs
	mkdir -p .tmp
	trap '[ -z "$$build" ] || kill $$build 2>/dev/null || true; kdump-lab reap' EXIT; trap 'exit 130' INT TERM; \
	  kdump-lab build --jobs 2 $(addprefix --distro ,$(LAB_DISTROS)) >.tmp/image-build.log 2>&1 & build=$$!; \
	  checks=0; $(MAKE) --no-print-directory lint sanity units browser ee || checks=$$?; \
	  if [ $$checks != 0 ]; then exit $$checks; fi; \
	  if ! wait $$build; then build=; echo "image build failed:"; cat .tmp/image-build.log; exit 1; fi; \
	  build=; echo "--- image build (beside the checks) ---"; cat .tmp/image-build.log; \
	  $(MAKE) --no-print-directory molecule-all

demo: setup system-deps ## A dump server and two clients: audit, site rollout, crash both, audit (DEMO_HOSTS=1: one VM)
	lab/demo.sh  # destroys its own VMs on exit, and only those

bench: setup system-deps ## Benchmarks that print figures (bench/run.py: fleet, html, crash-batches, which boots the fleet demo lab, core-collector; about 2 h)
	bench/install_sshd.sh
	python bench/run.py

build: setup ## Build the collection tarball
	ansible-galaxy collection build --force --output-path .tmp/dist

clean: ## Remove build and test output (keeps .venv and the image cache)
	rm -rf .tmp tests/output
