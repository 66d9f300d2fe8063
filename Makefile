# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.toilbot-installed

.PHONY: run test test-fast lint pytest check bench bench-full bench-startup bench-toil bench-request clean

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap
	scripts/bootstrap $(PYTHON) $(VENV)
	touch $(STAMP)

## make run: the local console on embedded defaults (no Slack, no Redis server needed)
run: $(STAMP)
	$(BIN)/toilbot console

## make test: lint, types, import contracts and the whole test suite (real Redis, real Ansible)
test: lint pytest

## make test-fast: the pipeline on a real Redis with a fake playbook runner (no Ansible), in seconds
test-fast: $(STAMP)
	$(BIN)/pytest -q tests/fast

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest --durations=25

## make check: validate toilbot.yaml, command specs, policy, inventory and playbooks
check: $(STAMP)
	$(BIN)/toilbot check

## make faults: every fault of tests/faults (Slack 429/500/late/down, Redis SIGKILL + restart,
## horse/parent/both SIGKILLed, two workers on one host) against real parts; prints the table
.PHONY: faults
faults: $(STAMP)
	$(BIN)/python -m tests.faults

## make bench: the bot's overhead over plain ansible-playbook with a trivial playbook (one ping
## per host) at 1 and 100 hosts, and worker memory; a few minutes on 2 cores
BENCH_ARGS ?= --repeat 1
bench: $(STAMP)
	$(BIN)/python bench/overhead.py --playbook trivial $(BENCH_ARGS)

## make bench-full: the same with the real status playbook (apt-get -s per host): ~10 minutes
bench-full: $(STAMP)
	$(BIN)/python bench/overhead.py --playbook status $(BENCH_ARGS)

## make bench-startup: `toilbot exec --json help` and `import bot.frontends.cli` against
## `python -c pass` and `python -c "import redis"`, medians of fresh processes
STARTUP_ARGS ?= --repeat 10 --imports
bench-startup: $(STAMP)
	$(BIN)/python bench/startup.py $(STARTUP_ARGS)

## make bench-toil: the weekly toil report for 200 people against a year of history
bench-toil: $(STAMP)
	$(BIN)/python bench/toil_report.py

## make bench-scheduler: one scheduler pass at 10 to 100k schedules stored, none and 10 due
.PHONY: bench-scheduler
bench-scheduler: $(STAMP)
	$(BIN)/python bench/scheduler_tick.py

## make bench-request: Redis round trips and time per queued command, empty and with a backlog
bench-request: $(STAMP)
	$(BIN)/python bench/request_path.py

## make bench-ack: slash-command acks/s, p50/p99 and CPU per request of `toilbot serve` against
## a bare Bolt app on the same gunicorn (help, refusal, enqueue; c=1/8/32; empty queue and
## 10,000 jobs queued); about 2.5 minutes on 2 cores. bench/ack_profile.py: where the time goes
ACK_ARGS ?=
.PHONY: bench-ack
bench-ack: $(STAMP)
	$(BIN)/python bench/ack.py $(ACK_ARGS)

## make lock: rewrite constraints.txt from pyproject.toml and the versions installed in .venv
## (after adding a dependency: .venv/bin/pip install it, then make lock)
.PHONY: lock
lock:
	scripts/lock

## make screenshots: real scenarios (job running, succeeded, failed, large; approval; help; App
## Home; weekly summary) through the local Slack, drawn as Slack shows them by headless chromium
## at phone width (390 px; some at 1000 px too): PNGs in docs/screenshots/, about 3 minutes
.PHONY: screenshots
screenshots: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/screens/scenarios.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
