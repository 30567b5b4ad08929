# Parley: `make run` starts the local stack, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Two layers in one virtualenv: what running and deploying need (requirements-local.txt),
# and on top of it the test, lint, benchmark and packaging toolchain (requirements-dev.txt).
LOCAL_STAMP := $(VENV)/.installed-local
DEV_STAMP := $(VENV)/.installed-dev
STAGE ?= dev
CHROMIUM ?= /usr/bin/chromium
TURNSERVER ?= /usr/bin/turnserver

.PHONY: install install-local run test lint bench package deploy destroy stream-failures screenshot chromium coturn clean

install: $(DEV_STAMP)

install-local: $(LOCAL_STAMP)

$(LOCAL_STAMP): requirements.txt requirements-local.txt requirements-bots.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet "pip==26.2.1"  # chalice 1.34 asks for pip<26.3
	$(PY) -m pip install --quiet -r requirements-local.txt
	touch $(LOCAL_STAMP)

$(DEV_STAMP): $(LOCAL_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@command -v $(CHROMIUM) >/dev/null || { \
	  echo "installing Debian chromium"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's coturn, the TURN server `make run` starts on localhost (docs/LOCAL.md, "TURN").
coturn:
	@command -v $(TURNSERVER) >/dev/null || { \
	  echo "installing Debian coturn"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq coturn >/dev/null; }

# TURN=off: no coturn. Without one (not installable here) the stack says so and runs without TURN.
run: install-local
	@[ "$(TURN)" = off ] || $(MAKE) --no-print-directory coturn || true
	$(PY) -m devserver

test: install chromium coturn
	$(PY) -m pytest

# Every benchmark on this machine (localhost only); writes docs/BENCHMARKS.md.
bench: install chromium
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check .

# One SAM/CloudFormation template with everything, checked by cfn-lint; no AWS account.
package: install
	$(PY) -m scripts.package --stage $(STAGE) --out build/package
	$(VENV)/bin/cfn-lint infra/parley.yaml infra/turn.yaml build/package/sam.json

# Real AWS account: credentials and region from AWS_PROFILE / AWS_REGION (docs/DEPLOY.md).
# TURN=coturn: the stage's own TURN relay; TURN=external with PARLEY_TURN_URLS and
# PARLEY_TURN_SECRET: a provider's (docs/DEPLOY.md, "TURN").
deploy: install-local
	$(PY) -m scripts.deploy --stage $(STAGE)

destroy: install-local
	$(PY) -m scripts.destroy --stage $(STAGE)

# Stream batches the push Lambda gave up on, with the changes they held (docs/DEPLOY.md);
# ARGS=--delete removes what was shown.
stream-failures: install-local
	$(PY) -m scripts.stream_failures --stage $(STAGE) $(ARGS)

# Refresh the README's picture on purpose (tests only write test-artifacts/): the
# four-person browser test, then its screenshot copied to docs/img/room.png.
SCREENSHOT_TEST := tests/browser/test_meeting_room.py::test_four_people_each_see_three_remote_videos_playing
screenshot: install chromium
	rm -f test-artifacts/room-4-people.png
	$(PY) -m pytest -q $(SCREENSHOT_TEST)
	cp test-artifacts/room-4-people.png docs/img/room.png

clean:
	rm -rf $(VENV) .pytest_cache
