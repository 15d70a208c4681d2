#!/usr/bin/env bash
# Times the Python peer (langchain-text-splitters + sentence-transformers)
# on the benchmark inputs, in a venv of its own. Used by `make bench`.
# Extra arguments go to peer.py (e.g. --embedding-only, --beir DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${VAULTIQ_PEER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/vaultiq/peer-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sentence_transformers, langchain_text_splitters" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        langchain-text-splitters==1.1.3 sentence-transformers numpy
fi
model_dir="$(scripts/fetch-model)"
data_dir="$(cargo run --quiet --release -p vaultiq-benches --bin bench-data -- target/bench-data)"
HF_HUB_OFFLINE=1 "$venv/bin/python" benches/peer/peer.py "$data_dir" "$model_dir" "$@"
