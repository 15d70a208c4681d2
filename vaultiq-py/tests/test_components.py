"""Python objects used where the engine expects Rust components."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import pytest

import vaultiq
from conftest import write_corpus

CORPUS = {
    "vpn.md": "# VPN\n\nThe VPN gateway uses WireGuard on port 51820.\n\nRotate the VPN keys every 90 days.\n",
    "backup.md": "# Backups\n\nNightly backups run with pgBackRest at 02:00 UTC.\n\nRestores need the on-call DBA.\n",
    "coffee.md": "# Coffee\n\nThe espresso machine is on the third floor.\n",
}


class HashingEmbedder:
    """Bag of words hashed into 64 buckets, L2-normalised: deterministic and tiny."""

    dimension = 64
    model_id = "test-hashing-64"

    def __init__(self) -> None:
        self.calls = 0
        self.query_calls = 0

    def _vector(self, text: str) -> List[float]:
        vector = [0.0] * self.dimension
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            bucket = int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dimension
            vector[bucket] += 1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]

    def embed(self, texts: List[str]) -> List[List[float]]:
        self.calls += 1
        return [self._vector(t) for t in texts]

    def embed_query(self, texts: List[str]) -> List[List[float]]:
        self.query_calls += 1
        return self.embed(texts)


class TopHitAnswerer:
    """Answers with the title of the best hit and cites only it."""

    def __init__(self) -> None:
        self.questions: List[str] = []

    def answer(self, question: str, hits: List[vaultiq.Hit]) -> vaultiq.Answer:
        self.questions.append(question)
        if not hits:
            return vaultiq.Answer("nothing found", grounded=False)
        return vaultiq.Answer(f"See {hits[0].title}", sources=[vaultiq.Citation.from_hit(hits[0])])


class ParagraphChunker:
    """One chunk per paragraph, offsets found by the binding."""

    fingerprint = "paragraphs-v1"

    def chunk(self, document: vaultiq.Document) -> Sequence[Union[str, Tuple[str, int]]]:
        return [p.strip() for p in document.body.split("\n\n") if p.strip()]


def test_python_embedder_and_answerer(tmp_path: Path) -> None:
    embedder, answerer = HashingEmbedder(), TopHitAnswerer()
    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=embedder, answerer=answerer)
    report = kb.ingest(write_corpus(tmp_path / "docs", CORPUS), name="docs")
    assert report.indexed == 3 and embedder.calls >= 1
    answer = kb.ask("which port does the wireguard vpn gateway use")
    assert answer.answer == "See VPN"
    assert [c.title for c in answer.sources] == ["VPN"]
    assert answer.query == "which port does the wireguard vpn gateway use"
    assert answerer.questions == ["which port does the wireguard vpn gateway use"]
    assert embedder.query_calls == 1
    vector_hits = kb.search("pgbackrest nightly backups", mode="vector", top_k=1)
    assert vector_hits[0].title == "Backups"


def test_answerer_returning_text_cites_every_hit(tmp_path: Path) -> None:
    class Plain:
        def answer(self, question: str, hits: List[vaultiq.Hit]) -> str:
            return f"{len(hits)} passages about {question}"

    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=HashingEmbedder(), answerer=Plain())
    kb.ingest(write_corpus(tmp_path / "docs", CORPUS), name="docs")
    answer = kb.ask("vpn keys", top_k=2)
    assert answer.answer == "2 passages about vpn keys"
    assert len(answer.sources) == 2


def test_answerer_citing_foreign_passage_is_rejected(tmp_path: Path) -> None:
    other = vaultiq.KnowledgeBase(tmp_path / "other", embedder=HashingEmbedder())
    other.ingest(write_corpus(tmp_path / "coffee", {"c.md": CORPUS["coffee.md"]}), name="coffee")
    foreign = vaultiq.Citation.from_hit(other.search("espresso")[0])

    class Liar:
        def answer(self, question: str, hits: List[vaultiq.Hit]) -> vaultiq.Answer:
            return vaultiq.Answer("made up", sources=[foreign])

    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=HashingEmbedder(), answerer=Liar())
    kb.ingest(write_corpus(tmp_path / "docs", CORPUS), name="docs")
    with pytest.raises(vaultiq.ModelError, match="not one of the hits"):
        kb.ask("vpn")


def test_python_chunker(tmp_path: Path) -> None:
    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=HashingEmbedder(), chunker=ParagraphChunker())
    kb.ingest(write_corpus(tmp_path / "docs", CORPUS), name="docs")
    hits = kb.search("rotate the vpn keys every 90 days", top_k=10)
    texts = {h.text for h in hits}
    assert "Rotate the VPN keys every 90 days." in texts
    assert any(h.chunk_id.endswith("#1") for h in hits)


def test_embedder_without_dimension_is_probed(tmp_path: Path) -> None:
    class Probed:
        def embed(self, texts: List[str]) -> List[List[float]]:
            return [[1.0, float(len(t)), 0.5] for t in texts]

    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=Probed())
    assert kb.ingest(write_corpus(tmp_path / "docs", CORPUS), name="docs").indexed == 3


def test_objects_without_the_method_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="embed"):
        vaultiq.KnowledgeBase(tmp_path / "kb", embedder=object())
    with pytest.raises(TypeError, match="answer"):
        vaultiq.KnowledgeBase(tmp_path / "kb", embedder=HashingEmbedder(), answerer=object())
