# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
Q ?= How do I rotate the TLS certificates?

.PHONY: demo test lint unit fixtures model bench python

## Index the sample corpus into a temporary data dir and answer $(Q).
demo: model
	$(CARGO) build --release --bin vaultiq
	dir="$$(mktemp -d)"; trap 'rm -rf "$$dir"' EXIT; \
	$(CARGO) run --quiet --release --bin vaultiq -- --data-dir "$$dir" ingest examples/data; \
	echo; \
	$(CARGO) run --quiet --release --bin vaultiq -- --data-dir "$$dir" ask "$(Q)"

## Every test: formatting, lints, unit + integration + end-to-end tests, fixture parity.
test: model lint unit fixtures test-stores python test-deploy

model:
	@scripts/fetch-model >/dev/null

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

# One build profile (dev, with the numeric crates optimised) for all tests.
unit: model
	$(CARGO) test --workspace --all-features

fixtures:
	scripts/check-fixtures

# The Python bindings: builds them into a venv, runs pytest and mypy --strict.
python: model
	scripts/test-python

.PHONY: test-stores
## Store conformance on a throw-away PostgreSQL + pgvector (started and
## stopped here); the embedded and OpenSearch-emulator runs are in `unit`.
test-stores:
	pg_env="$$(scripts/start-postgres)"; eval "$$pg_env"; \
	trap 'scripts/stop-postgres "$$VAULTIQ_PG_DATA"' EXIT; \
	$(CARGO) test --workspace --all-features --test store_conformance -- pgvector::

.PHONY: test-deploy
## The AWS CDK app in deploy/: offline `cdk synth`, cfn-lint and the template
## tests (installs its npm packages, a cfn-lint venv, and Node.js if missing).
test-deploy:
	scripts/test-deploy

## Benchmarks (not part of `make test`).
bench: model bench-scale
	$(CARGO) bench -p vaultiq-benches
	benches/peer/run.sh

## Vector index at 1M chunks (recall, latency, RSS, build time) and `ask` at 100k chunks.
.PHONY: bench-scale
bench-scale: model
	$(CARGO) run --release -p vaultiq-benches --bin ann-scale -- --chunks 1000000 --rebuild
	$(CARGO) run --release -p vaultiq-benches --bin ask-latency -- --chunks 100000
