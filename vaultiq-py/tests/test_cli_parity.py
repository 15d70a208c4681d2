"""The Python API and the Rust CLI give the same answers on the same data dir."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import vaultiq

KB = Tuple[vaultiq.KnowledgeBase, Path, vaultiq.SyncReport]

QUESTIONS = [
    "How do I rotate the TLS certificates?",
    "How do I deploy to production?",
    "What pgBackRest command do I use for a point-in-time restore?",
    "What is our password policy?",
    "What happened during the last database outage?",
]


def cli(binary: Path, data_dir: Path, *args: str) -> Any:
    done = subprocess.run(
        [str(binary), "--quiet", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def without_timestamp(body: Any) -> Any:
    body = dict(body)
    body.pop("timestamp")
    return body


@pytest.mark.parametrize("question", QUESTIONS)
def test_ask_matches_cli(indexed: KB, vaultiq_cli: Path, question: str) -> None:
    kb, data_dir, _ = indexed
    from_cli = cli(vaultiq_cli, data_dir, "ask", question, "--json")
    from_python = kb.ask(question).to_dict()
    assert without_timestamp(from_python) == without_timestamp(from_cli)


def test_filtered_ask_and_search_match_cli(indexed: KB, vaultiq_cli: Path) -> None:
    kb, data_dir, _ = indexed
    question = "vpn handshake fails"
    from_cli = cli(vaultiq_cli, data_dir, "ask", question, "--top-k", "3", "--source-filter", "files", "--json")
    assert without_timestamp(kb.ask(question, top_k=3, source_filter=["files"]).to_dict()) == without_timestamp(from_cli)
    hits: List[Any] = cli(vaultiq_cli, data_dir, "search", question, "--top-k", "7", "--json")["hits"]
    assert [h.to_dict() for h in kb.search(question, top_k=7)] == hits
    keyword = cli(vaultiq_cli, data_dir, "search", question, "--mode", "keyword", "--json")["hits"]
    assert [h.to_dict() for h in kb.search(question, mode="keyword")] == keyword


def test_sources_match_cli(indexed: KB, vaultiq_cli: Path) -> None:
    kb, data_dir, _ = indexed
    from_cli = cli(vaultiq_cli, data_dir, "sources", "--json")
    assert kb.sources() == from_cli["sources"]
