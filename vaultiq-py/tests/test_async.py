"""The awaitable twins under asyncio, on the shared runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List, Tuple

import pytest

import vaultiq
from conftest import indexable

KB = Tuple[vaultiq.KnowledgeBase, Path, vaultiq.SyncReport]


def test_async_calls_match_the_blocking_ones(indexed: KB) -> None:
    kb, _, _ = indexed
    questions = ["How do I rotate the TLS certificates?", "How do I deploy to production?"]

    async def main() -> None:
        answers = await asyncio.gather(*(kb.ask_async(q, top_k=3) for q in questions * 2))
        for question, answer in zip(questions * 2, answers):
            assert answer.answer == kb.ask(question, top_k=3).answer
        hits = await kb.search_async("pgBackRest", top_k=4)
        assert [h.chunk_id for h in hits] == [h.chunk_id for h in kb.search("pgBackRest", top_k=4)]
        assert await kb.sources_async() == kb.sources()
        # The event loop keeps running while an ask is in flight.
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await kb.ask_async("What is our password policy?")
        task.cancel()
        assert ticks > 0

    asyncio.run(main())


def test_async_errors_are_vaultiq_errors(indexed: KB) -> None:
    kb, _, _ = indexed

    async def main() -> None:
        with pytest.raises(vaultiq.InvalidInputError):
            await kb.ask_async("   ")

    asyncio.run(main())


class LengthEmbedder:
    """A tiny stand-in model: the sync path is under test, not the vectors."""

    dimension = 2

    def embed(self, texts: List[str]) -> List[List[float]]:
        return [[1.0, float(len(t))] for t in texts]


def test_sync_async_and_ingest_async(tmp_path: Path, corpus: Path) -> None:
    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=LengthEmbedder())
    kb.add_source(vaultiq.sources.Files("faq", corpus / "faq"))
    seen: list[vaultiq.SyncProgress] = []

    async def main() -> None:
        report = await kb.sync_async(progress=seen.append)
        assert report.indexed == indexable(corpus / "faq") > 0
        again = await kb.ingest_async(corpus / "howto", name="howto")
        assert again.indexed == indexable(corpus / "howto") > 0

    asyncio.run(main())
    assert seen and seen[-1].finished
    assert kb.sources()["files"] == indexable(corpus / "faq") + indexable(corpus / "howto")
