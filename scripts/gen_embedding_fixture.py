#!/usr/bin/env python3
"""Writes the reference embeddings the local embedder is checked against.

Encodes 20 varied sentences with sentence-transformers (the reference
implementation of all-MiniLM-L6-v2) from the local model folder and writes
vaultiq-core/tests/fixtures/minilm_reference.json. The Rust test requires a
cosine similarity of at least 0.999 for every sentence.

Usage: python scripts/gen_embedding_fixture.py MODEL_DIR
(needs `pip install sentence-transformers`; MODEL_DIR from scripts/fetch-model)
"""
import json
import pathlib
import sys

from sentence_transformers import SentenceTransformer

SENTENCES = [
    "How do I rotate the TLS certificates on the load balancer?",
    "Restore the PostgreSQL primary from last night's backup.",
    "The on-call engineer acknowledges the page within 5 minutes.",
    "VPN",
    "a",
    "Disk usage on build-agent-07 reached 98% at 03:12 UTC; the job cache was purged.",
    "kubectl scale deployment/checkout --replicas=12 -n prod",
    "fn main() { println!(\"hello, {}\", name); }",
    "Zürich office: Wi-Fi password rotates every Monday — ask IT Helpdesk.",
    "東京のデータセンターでネットワーク障害が発生しました。",
    "Emoji in status updates 🚀🔥 should not break the tokenizer ✅",
    "   leading and trailing whitespace   ",
    "UPPERCASE TEXT IS LOWERED BY THE UNCASED TOKENIZER",
    "Postmortem: the DNS record for api.internal was deleted by a Terraform apply with a stale state file.",
    "Access requests go through the #it-access Slack channel and need manager approval.",
    "SELECT * FROM orders WHERE created_at > now() - interval '1 day';",
    "The quick brown fox jumps over the lazy dog. " * 4,
    # Longer than 256 word pieces: checks truncation at 256, not 128.
    " ".join(f"step{i} restart service{i} and verify health check endpoint{i};" for i in range(90)),
    "Multi-factor authentication resets require a video call with the service desk.",
    "Feature flags are created in LaunchDarkly with an owner, an expiry date and a JIRA ticket.",
]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model_dir = sys.argv[1]
    model = SentenceTransformer(model_dir, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    vectors = model.encode(SENTENCES, batch_size=8, normalize_embeddings=False)
    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "embeddings": [[round(float(x), 7) for x in v] for v in vectors],
    }
    target = pathlib.Path(__file__).resolve().parent.parent / "vaultiq-core/tests/fixtures/minilm_reference.json"
    target.write_text(json.dumps(out, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(SENTENCES)} reference vectors to {target}")


if __name__ == "__main__":
    main()
