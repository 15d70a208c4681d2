"""Type-checked with `mypy --strict` against the stubs (see test_typing.py); not run."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import vaultiq
from vaultiq.sources import Confluence, Files, GitHub, Jira, Slack


class Embedder:
    dimension = 8

    def embed(self, texts: List[str]) -> List[List[float]]:
        return [[0.0] * 8 for _ in texts]


class Answerer:
    def answer(self, question: str, hits: List[vaultiq.Hit]) -> vaultiq.Answer:
        return vaultiq.Answer(question, sources=[vaultiq.Citation.from_hit(h) for h in hits[:1]])


def report(progress: vaultiq.SyncProgress) -> None:
    print(progress.source_name, progress.fetched, progress.rate, progress.finished)


def main() -> None:
    kb = vaultiq.KnowledgeBase(".vaultiq", embedder=Embedder(), answerer=Answerer())
    default = vaultiq.KnowledgeBase("other", embedder="local", store="embedded", answerer="extractive")
    configured = vaultiq.KnowledgeBase.from_config("vaultiq.toml")
    kb.add_source(Confluence("wiki", "https://acme.atlassian.net", spaces=["OPS"], username="me", token="t"))
    kb.add_source(Slack("chat", token="xoxb-1", channels=["#ops"], lookback_days=7))
    kb.add_source(Jira("issues", "https://acme.atlassian.net", projects=["OPS"], deployment="cloud"))
    kb.add_source(GitHub("code", ["acme/api"], include=["issues", "docs"]))
    kb.add_source(Files("docs", "docs/", include=["**/*.md"]))
    sync_report: vaultiq.SyncReport = kb.sync(progress=report)
    indexed: int = sync_report.indexed + kb.ingest("runbooks/").indexed
    answer = kb.ask("How do I deploy?", top_k=3, source_filter=["confluence", "github"])
    text: str = answer.answer
    for citation in answer.sources:
        score: float = citation.relevance_score
        print(citation.title, citation.url, citation.source_type, score, citation.snippet)
    body: Dict[str, Any] = answer.to_dict()
    hits: List[vaultiq.Hit] = kb.search("vpn", mode="keyword")
    counts: Dict[str, int] = kb.sources()
    print(text, body, hits, counts, indexed, default, configured)
    try:
        kb.ask("")
    except vaultiq.SourceError as err:
        retry: bool = err.retryable
        print(retry, err.source_name)
    except vaultiq.VaultIQError as err:
        print(err.message)


async def serve(kb: vaultiq.KnowledgeBase) -> List[str]:
    answers = await asyncio.gather(kb.ask_async("a"), kb.ask_async("b", top_k=2))
    synced: vaultiq.SyncReport = await kb.sync_async()
    print(synced.warnings, await kb.sources_async(), await kb.search_async("c"))
    return [a.answer for a in answers]
