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
test: model lint unit fixtures test-stores test-aws python test-deploy

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
## Then TLS (sslmode, CA checks, hostssl-only) against a TLS-only server.
test-stores:
	pg_env="$$(scripts/start-postgres)"; eval "$$pg_env"; \
	trap 'scripts/stop-postgres "$$VAULTIQ_PG_DATA"; scripts/stop-postgres "$${VAULTIQ_PG_TLS_DATA:-/nonexistent}"' EXIT; \
	tls_env="$$(scripts/start-postgres --tls)"; eval "$$tls_env"; \
	$(CARGO) test --workspace --all-features --test store_conformance -- pgvector::; \
	$(CARGO) test --workspace --all-features --test pgvector_tls

.PHONY: test-deploy
## The AWS CDK app in deploy/: offline `cdk synth`, cfn-lint and the template
## tests (installs its npm packages, a cfn-lint venv, and Node.js if missing).
test-deploy:
	scripts/test-deploy

.PHONY: test-aws
## S3 lake, DynamoDB state and Secrets Manager through the real AWS SDK
## clients against a throw-away moto server (started and stopped here,
## with fixed dummy credentials). VAULTIQ_TEST_AWS=1 runs the same tests
## against real AWS instead (AWS_REGION, VAULTIQ_TEST_S3_BUCKET,
## VAULTIQ_TEST_DYNAMODB_TABLE and your own credentials).
AWS_TESTS := --test aws_s3_lake --test aws_dynamodb_state --test aws_secrets --test aws_config_sync \
    --test aws_sync_requests --test aws_end_to_end --test cli_aws --test lambda_handlers \
    --test lambda_cold_start
test-aws: model
	if [ "$${VAULTIQ_TEST_AWS:-}" = "1" ]; then \
	    $(CARGO) test --workspace --all-features $(AWS_TESTS); \
	else \
	    moto_env="$$(scripts/start-moto)"; eval "$$moto_env"; \
	    trap 'scripts/stop-moto "$$VAULTIQ_MOTO_PID"' EXIT; \
	    export AWS_ACCESS_KEY_ID=vaultiq-test AWS_SECRET_ACCESS_KEY=vaultiq-test AWS_REGION=us-east-1; \
	    export AWS_EC2_METADATA_DISABLED=true; unset AWS_PROFILE AWS_SESSION_TOKEN; \
	    $(CARGO) test --workspace --all-features $(AWS_TESTS); \
	fi

## Benchmarks (not part of `make test`).
bench: model bench-scale
	$(CARGO) bench -p vaultiq-benches
	benches/peer/run.sh

## Vector index at 1M chunks (recall, latency, RSS, build time) and `ask` at 100k chunks.
.PHONY: bench-scale
bench-scale: model
	$(CARGO) run --release -p vaultiq-benches --bin ann-scale -- --chunks 1000000 --rebuild
	$(CARGO) run --release -p vaultiq-benches --bin ask-latency -- --chunks 100000
