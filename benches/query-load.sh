#!/usr/bin/env bash
# Queries/s and p50/p99 of `POST /api/query` at concurrency 1, 16 and 64:
# indexes the sample corpus into a temporary data dir, starts the release
# `vaultiq serve` (extractive answerer) on a free loopback port, runs the
# `query-load` generator against it, and stops the server.
#
# Usage: benches/query-load.sh [query-load options, e.g. --concurrency 1,16,64]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin vaultiq -p vaultiq-examples
cargo build --release --quiet --bin query-load -p vaultiq-benches
target="${CARGO_TARGET_DIR:-target}/release"

dir="$(mktemp -d)"
server=""
cleanup() {
    if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

"$target/vaultiq" --quiet --data-dir "$dir/kb" ingest --name samples examples/data
"$target/vaultiq" --data-dir "$dir/kb" serve --addr 127.0.0.1:0 2>"$dir/server.log" &
server=$!

# The server logs its address as JSON once it listens.
addr=""
for _ in $(seq 1 600); do
    addr="$(grep -o '"addr":"[^"]*"' "$dir/server.log" | head -n1 | cut -d'"' -f4 || true)"
    [[ -n "$addr" ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$addr" ]] || { echo "server did not start" >&2; exit 1; }

echo "vaultiq serve on $addr, $(nproc) cores, $(uname -m)"
"$target/query-load" --url "http://$addr" "$@"
