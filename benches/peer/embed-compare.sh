#!/usr/bin/env bash
# Local embedder against sentence-transformers, back to back in one run:
# the 1,000 synthetic benchmark passages, then the first 1,000 SciFact
# abstracts (mixed real lengths) when ../shared/data/scifact is there.
# Each side reports the median of 3 timed passes after a warm-up pass.
set -euo pipefail
cd "$(dirname "$0")/../.."

beir="${1:-../shared/data/scifact}"
cargo build --quiet --release -p vaultiq-benches --bin embed-speed
bin="${CARGO_TARGET_DIR:-target}/release/embed-speed"

beir_args=()
if [ -f "$beir/corpus.jsonl" ]; then
    beir_args=(--beir "$beir")
fi

ours=$("$bin" 1000 150 32 3)
echo "vaultiq: $ours"
if [ ${#beir_args[@]} -gt 0 ]; then
    ours_beir=$("$bin" 1000 150 32 3 "${beir_args[@]}")
    echo "vaultiq: $ours_beir"
fi
peer=$(benches/peer/run.sh --embedding-only "${beir_args[@]}")
echo "peer: $peer"

rate() { sed -E 's/.*median ([0-9.]+) texts\/s.*/\1/' <<<"$1"; }
python3 - "$(rate "$ours")" "${ours_beir:+$(rate "$ours_beir")}" "$peer" <<'PY'
import json, sys
ours, ours_beir, peer = float(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
print(f"passages: {ours:.1f} vs {peer['embedding_texts_per_s']:.1f} texts/s = {ours / peer['embedding_texts_per_s']:.2f}x")
if ours_beir and "beir_embedding_texts_per_s" in peer:
    theirs = peer["beir_embedding_texts_per_s"]
    print(f"beir: {float(ours_beir):.1f} vs {theirs:.1f} texts/s = {float(ours_beir) / theirs:.2f}x")
PY
