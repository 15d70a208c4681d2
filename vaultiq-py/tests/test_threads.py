"""Blocking calls release the GIL: threads query in parallel, Python keeps running."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Tuple

import vaultiq

KB = Tuple[vaultiq.KnowledgeBase, Path, vaultiq.SyncReport]

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


def test_eight_threads_query_at_once(indexed: KB) -> None:
    kb, _, _ = indexed
    expected = {q: kb.ask(q).answer for q in QUESTIONS}

    def work(question: str) -> list[str]:
        return [kb.ask(question).answer for _ in range(3)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {q: pool.submit(work, q) for q in QUESTIONS}
        for question, future in futures.items():
            # Bounded: a deadlock fails the test instead of hanging it.
            assert future.result(timeout=300) == [expected[question]] * 3


def test_python_thread_runs_while_ask_runs(indexed: KB) -> None:
    kb, _, _ = indexed
    ticks: list[float] = []
    stop = threading.Event()

    def ticker() -> None:
        # Pure Python: it can only run while nobody holds the GIL.
        while not stop.is_set():
            ticks.append(time.perf_counter())

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        windows = []
        for _ in range(15):
            start = time.perf_counter()
            kb.ask("How do I restore Postgres from a backup?", top_k=20)
            windows.append((start, time.perf_counter()))
    finally:
        stop.set()
        thread.join(timeout=30)
    # Ticks that happened strictly inside each ask call. With the GIL held
    # for the whole call there would be none; released, the ticker runs on.
    inside = [sum(1 for t in ticks if a < t < b) for a, b in windows]
    assert statistics.median(inside) > 50, inside
