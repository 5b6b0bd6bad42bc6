# pykeepalived: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Every program the tests run: keepalived (peer, -t verdicts, sample configs, genhash), nft,
# ip/ss, ping, tcpdump, sysctl, openssl (test certificates), curl and ipvsadm (the IPVS VM
# guest runs the host's binaries through an overlay; tests/ipvs_vm/setup.sh adds qemu),
# prometheus (promtool checks the metrics text; a test's Prometheus scrapes the daemon).
SYSPKGS := keepalived nftables iproute2 iputils-ping tcpdump procps psmisc openssl curl ipvsadm gcc prometheus
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: venv sysdeps run test test-unit test-ipvs-vm test-netns bench lint format typecheck wheel clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# the filter hides setuptools' notice that every editable install with a package-dir prints
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

# As root on Debian, install the system packages the tests and the demo use (when missing).
sysdeps:
ifeq ($(IS_ROOT),yes)
	@missing=""; for p in $(SYSPKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
		echo "installing:$$missing"; log=$$(mktemp); \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; } >"$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; \
		rm -f "$$log"; \
	fi
else
	@echo "not root: system packages not checked; namespace and interop tests will be skipped"
endif

# The demo: the daemon in the foreground, in network namespaces it creates; Ctrl-C cleans up.
run: $(STAMP) sysdeps
	$(PY) -m pykeepalived.demo

# The unit tests (no root, virtual clock, no shared state) run on every core; the rest,
# which build namespaces and time real packets, one at a time.
test: $(STAMP) sysdeps
	$(PY) -m pytest tests/unit -n auto -p no:cacheprovider
	$(PY) -m pytest -m 'not bench' --ignore=tests/unit -p no:cacheprovider

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit -n auto -p no:cacheprovider

# Real kernel IPVS in a throw-away QEMU VM (root; fetches qemu and Debian's cloud kernel once).
# `make test` runs the same test as part of the suite; this target runs it alone.
test-ipvs-vm: $(STAMP) sysdeps
	$(PY) -m pytest -m ipvs -p no:cacheprovider tests/ipvs_vm

bench: $(STAMP) sysdeps
	$(PY) -m pytest -m bench -p no:cacheprovider -s tests/bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# mypy cannot see through setuptools' editable import hook: type-check a regular install.
typecheck: $(STAMP)
	rm -rf build/typecheck && $(PY) -m pip install -q --no-deps --target build/typecheck .
	cd build/typecheck && ../../$(VENV)/bin/mypy -p pykeepalived

wheel: $(STAMP)
	$(PY) -m pip wheel -q --no-deps -w dist .

clean:
	rm -rf build dist *.egg-info .pytest_cache
