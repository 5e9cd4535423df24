# skid-tui: `make demo` and `make test` work on a fresh Debian machine (as root, offline but for package
# registries). Both use a private engine under ENGINE_DIR (scripts/engine.sh), never the system's: Docker
# Engine by default, Podman with ENGINE=podman (`make demo ENGINE=podman`). `make test` runs the engine tests on
# both, one after the other (`make test-docker`, `make test-podman` alone).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
ENGINE ?= docker
export ENGINE
ENGINE_DIR ?= $(if $(filter podman,$(ENGINE)),/tmp/skid-podman,/tmp/skid-engine)
export ENGINE_DIR
ENGINE_HOST = unix://$(ENGINE_DIR)/$(ENGINE).sock
DEMO := compose/demo.yml
PYTEST_ARGS ?=
# A quick stats run (BENCH_ARGS=--quick) makes `make bench` a quick log run too: one run per path, printed only.
LOG_BENCH_ARGS ?= $(if $(findstring --quick,$(BENCH_ARGS)),--runs 1 --no-write)

# The stats benchmark and the shell test draw in a real terminal: tmux.
NEED_TMUX = command -v tmux >/dev/null 2>&1 || { echo "installing tmux (apt-get)"; apt-get update -qq >/dev/null && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux >/dev/null; }

.PHONY: install lint test test-docker test-podman test-engine bench bench-check bench-stats bench-logs demo demo-down run screenshots engine-up engine-down clean

$(VENV)/.installed: pyproject.toml scripts/install-compose.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	@PYTHON=$(BIN)/python scripts/install-compose.sh $(BIN)
	@touch $@

## install: a .venv with skid (and the test tools, and a compose v2 binary) in it
install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## test: lint, every test on Docker (starting and stopping its private engine), then the engine tests on
## Podman (the same); a failure on either fails it
test: lint
	$(MAKE) --no-print-directory test-engine ENGINE=docker ENGINE_DIR=/tmp/skid-engine
	$(MAKE) --no-print-directory test-engine ENGINE=podman ENGINE_DIR=/tmp/skid-podman PYTEST_ARGS='-m engine $(PYTEST_ARGS)'

## test-docker, test-podman: the same on one engine (every test on Docker; the engine tests on Podman)
test-docker: lint
	$(MAKE) --no-print-directory test-engine ENGINE=docker ENGINE_DIR=/tmp/skid-engine
test-podman: lint
	$(MAKE) --no-print-directory test-engine ENGINE=podman ENGINE_DIR=/tmp/skid-podman PYTEST_ARGS='-m engine $(PYTEST_ARGS)'

# The private engine ENGINE up, the tests against it, the engine down again (also when tests fail) unless
# it was up before.
test-engine: install
	@$(NEED_TMUX)
	@set -o pipefail; already_up=0; scripts/engine.sh status >/dev/null 2>&1 && already_up=1; \
	if [ $$already_up = 0 ]; then trap 'scripts/engine.sh down' EXIT; fi; \
	scripts/engine.sh up && \
	DOCKER_HOST=$(ENGINE_HOST) PATH=$(BIN):$$PATH $(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmarks below, into docs/performance.md (the stats one first: it rewrites the whole file,
## the log one then puts its own section back). Stops the engine afterwards only if it started it.
bench: install
	@already_up=0; scripts/engine.sh status >/dev/null 2>&1 && already_up=1; \
	if [ $$already_up = 0 ]; then trap 'scripts/engine.sh down' EXIT; fi; \
	$(NEED_TMUX) && scripts/engine.sh up && \
	DOCKER_HOST=$(ENGINE_HOST) $(BIN)/python benchmarks/stats_bench.py $(BENCH_ARGS) && \
	DOCKER_HOST=$(ENGINE_HOST) $(BIN)/python benchmarks/log_bench.py $(LOG_BENCH_ARGS) && \
	$(BIN)/python benchmarks/check_bench.py $(if $(findstring --quick,$(BENCH_ARGS)),--runs 3 --no-write) && \
	$(BIN)/python benchmarks/history_bench.py $(if $(findstring --quick,$(BENCH_ARGS)),--runs 3 --no-write)

## bench-check: what loading a stack costs (`skid check`, beside `docker-compose config`); no engine needed
bench-check: install
	$(BIN)/python benchmarks/check_bench.py

## bench-stats: the dashboard against `docker stats` on the private engine (N = 8 and 50);
## BENCH_ARGS=--quick for a short run.
bench-stats: install
	@already_up=0; scripts/engine.sh status >/dev/null 2>&1 && already_up=1; \
	if [ $$already_up = 0 ]; then trap 'scripts/engine.sh down' EXIT; fi; \
	$(NEED_TMUX) && scripts/engine.sh up && \
	DOCKER_HOST=$(ENGINE_HOST) $(BIN)/python benchmarks/stats_bench.py $(BENCH_ARGS)

## bench-logs: a million log lines into a dashboard pane, end to end (LOG_BENCH_ARGS='--runs 1 --no-write'
## for a short run that only prints).
bench-logs: install
	@already_up=0; scripts/engine.sh status >/dev/null 2>&1 && already_up=1; \
	if [ $$already_up = 0 ]; then trap 'scripts/engine.sh down' EXIT; fi; \
	scripts/engine.sh up && \
	DOCKER_HOST=$(ENGINE_HOST) $(BIN)/python benchmarks/log_bench.py $(LOG_BENCH_ARGS)

## demo: private engine, the offline demo stack's `minimal` profile, then the dashboard
demo: install
	scripts/engine.sh up
	@services=$$($(BIN)/skid --compose $(DEMO) check --json | $(BIN)/python -c \
	    'import json,sys; print(" ".join(json.load(sys.stdin)["profiles"]["minimal"]["services"]))'); \
	echo "demo: starting $$services"; \
	DOCKER_HOST=$(ENGINE_HOST) $(BIN)/docker-compose -f $(DEMO) up -d --wait $$services
	DOCKER_HOST=$(ENGINE_HOST) $(BIN)/skid --compose $(DEMO) --profile minimal

## demo-down: stop the demo stack and the private engine (removes the engine's directory)
demo-down:
	scripts/engine.sh down

## run: the dashboard against your own engine and the real Skidbladnir stack
run: install
	$(BIN)/skid

## screenshots: SVGs of the dashboard on the demo stack, into screenshots/
screenshots: install
	@already_up=0; scripts/engine.sh status >/dev/null 2>&1 && already_up=1; \
	if [ $$already_up = 0 ]; then trap 'scripts/engine.sh down' EXIT; fi; \
	scripts/engine.sh up && \
	DOCKER_HOST=$(ENGINE_HOST) PATH=$(BIN):$$PATH $(BIN)/python scripts/screenshots.py

engine-up:
	scripts/engine.sh up
engine-down:
	scripts/engine.sh down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
