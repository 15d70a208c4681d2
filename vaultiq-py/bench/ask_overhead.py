"""Overhead of the Python layer on `kb.ask`, and thread scaling.

Run with (a release build of the extension in the venv):

    maturin build --release -m vaultiq-py/Cargo.toml -o dist && pip install --force-reinstall dist/vaultiq-*.whl
    python vaultiq-py/bench/ask_overhead.py [--data-dir DIR] [--calls 60] [--rounds 3]

1. Median milliseconds per `ask` made from Python (`kb.ask(...)`) and the
   same call made in Rust (`KnowledgeBase::ask` looped inside the
   extension, `kb._rust_ask_timings`), on the same data dir and knowledge
   base, alternated call by call so machine noise hits both alike.
2. Throughput (asks per second) with 1 thread and with 8 threads.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import vaultiq

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "How do I rotate the TLS certificates?",
    "How do I deploy to production?",
    "What is our password policy?",
    "How do I restore Postgres from a backup?",
    "Who do I page for an incident?",
    "How does the VPN work?",
    "How are secrets stored?",
    "What is the on-call rotation?",
]


def python_timings(kb: vaultiq.KnowledgeBase, question: str, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        kb.ask(question)
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def throughput(kb: vaultiq.KnowledgeBase, threads: int, asks: int) -> float:
    def work(i: int) -> None:
        kb.ask(QUESTIONS[i % len(QUESTIONS)])

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(asks)))
    return asks / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an indexed data dir (default: ingest examples/data into a temp dir)")
    parser.add_argument("--calls", type=int, default=60, help="asks per side per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--asks", type=int, default=160, help="asks per throughput run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        kb = vaultiq.KnowledgeBase(data_dir)
        if args.data_dir is None:
            kb.ingest(REPO / "examples" / "data")
        question = QUESTIONS[0]
        kb._rust_ask_timings(question, 10)  # warm-up: caches, page cache, model
        python_timings(kb, question, 10)
        rust: list[float] = []
        python: list[float] = []
        # Alternate call by call so machine noise (other builds) hits both sides alike.
        for _ in range(args.rounds * args.calls):
            rust += kb._rust_ask_timings(question, 1)
            python += python_timings(kb, question, 1)
        rust_median, python_median = statistics.median(rust), statistics.median(python)
        one = throughput(kb, 1, args.asks)
        eight = throughput(kb, 8, args.asks)
        print(
            json.dumps(
                {
                    "calls_per_side": len(rust),
                    "rust_ask_median_ms": round(rust_median, 3),
                    "python_ask_median_ms": round(python_median, 3),
                    "python_overhead_ms": round(python_median - rust_median, 3),
                    "python_over_rust_ratio": round(python_median / rust_median, 4),
                    "throughput_1_thread_asks_per_s": round(one, 2),
                    "throughput_8_threads_asks_per_s": round(eight, 2),
                    "scaling_8_over_1": round(eight / one, 3),
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
