"""Ingest the sample corpus and ask it questions, through the Python API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Tuple

import vaultiq
from conftest import indexable

KB = Tuple[vaultiq.KnowledgeBase, Path, vaultiq.SyncReport]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_ingest_indexes_every_file(indexed: KB, corpus: Path) -> None:
    kb, _, report = indexed
    files = indexable(corpus)
    assert report.indexed == files > 10
    assert report.sources[0].source_name == "data"
    assert report.sources[0].finished
    assert kb.sources() == {"files": files}


def test_reingest_is_incremental(indexed: KB, corpus: Path) -> None:
    kb, _, report = indexed
    seen: list[vaultiq.SyncProgress] = []
    again = kb.ingest(corpus, progress=seen.append)
    # The files checkpoint skips unchanged files before they are even read.
    assert again.indexed == 0 and again.deleted == 0
    assert seen and seen[-1].finished and seen[-1].source_name == "data"
    assert kb.sources() == {"files": report.indexed}


def test_ask_cites_the_runbook(indexed: KB) -> None:
    kb, _, _ = indexed
    answer = kb.ask("How do I rotate the TLS certificates?")
    assert answer.answer.strip()
    assert answer.grounded
    assert answer.query == "How do I rotate the TLS certificates?"
    assert 1 <= len(answer.sources) <= 5
    top = answer.sources[0]
    assert top.url.endswith("rotate-tls-certificates.md")
    assert top.source_type == "files"
    assert 0.0 < top.relevance_score <= 1.0
    assert top.snippet and top.title
    assert set(answer.timings) == {"embed_ms", "search_ms", "answer_ms", "total_ms"}


def test_to_dict_is_the_seed_shape(indexed: KB) -> None:
    kb, _, _ = indexed
    body = kb.ask("How do I deploy to production?", top_k=3).to_dict()
    assert set(body) == {"answer", "sources", "query", "timestamp"}
    assert RFC3339.match(body["timestamp"])
    assert body["query"] == "How do I deploy to production?"
    assert 1 <= len(body["sources"]) <= 3
    for source in body["sources"]:
        assert set(source) == {"title", "url", "source_type", "relevance_score", "snippet"}
        assert isinstance(source["relevance_score"], float)


def test_source_filter_and_search(indexed: KB) -> None:
    kb, _, _ = indexed
    assert kb.ask("How do I restore Postgres?", source_filter=["confluence"]).sources == []
    hits = kb.search("pgBackRest point-in-time restore", top_k=4)
    assert 1 <= len(hits) <= 4
    assert hits[0].url.endswith("restore-postgres-from-backup.md")
    assert set(hits[0].retrievers) <= {"keyword", "vector"} and hits[0].retrievers
    keyword = kb.search("pgBackRest", mode="keyword")
    assert keyword and all(h.retrievers == ["keyword"] for h in keyword)
    as_dict = hits[0].to_dict()
    assert set(as_dict) == {
        "title", "url", "source_type", "relevance_score", "snippet",
        "document_id", "chunk_id", "retrievers",
    }
    assert as_dict["chunk_id"] == hits[0].chunk_id and hits[0].chunk_id.startswith(hits[0].document_id)


def test_files_source_through_sync(tmp_path: Path, corpus: Path) -> None:
    kb = vaultiq.KnowledgeBase(tmp_path / "kb")
    kb.add_source(vaultiq.sources.Files("runbooks", corpus / "runbooks"))
    assert kb.source_names == ["runbooks"]
    progress: list[vaultiq.SyncProgress] = []
    report = kb.sync(progress=progress.append)
    runbooks = indexable(corpus / "runbooks")
    assert report.indexed == runbooks and progress[-1].finished
    assert kb.sync(source="runbooks").indexed == 0
    answer = kb.ask("How do I rotate the TLS certificates?")
    assert answer.sources[0].document_id.startswith("files:runbooks:")
