"""VaultIQ: an embeddable RAG knowledge engine for IT teams.

Pull documents from Confluence, Slack, Jira, GitHub or files, index them for
hybrid (keyword + vector) search and answer questions with cited sources,
all in process::

    import vaultiq

    kb = vaultiq.KnowledgeBase(".vaultiq")
    kb.ingest("runbooks/")
    answer = kb.ask("How do I rotate the TLS certificates?")
    print(answer.answer)
    for source in answer.sources:
        print(source.title, source.url, source.relevance_score)

The engine is the Rust library vaultiq-core; this package is a thin layer
over it. Blocking methods release the GIL; ``*_async`` methods return
awaitables.
"""

from __future__ import annotations

from . import sources
from ._native import (
    Answer,
    Citation,
    Document,
    Hit,
    KnowledgeBase,
    SyncProgress,
    SyncReport,
    __version__,
)
from .errors import (
    ConfigError,
    CorruptDataError,
    InvalidInputError,
    ModelError,
    SourceError,
    StoreError,
    VaultIQError,
    VaultIQIOError,
)

__all__ = [
    "Answer",
    "Citation",
    "ConfigError",
    "CorruptDataError",
    "Document",
    "Hit",
    "InvalidInputError",
    "KnowledgeBase",
    "ModelError",
    "SourceError",
    "StoreError",
    "SyncProgress",
    "SyncReport",
    "VaultIQError",
    "VaultIQIOError",
    "__version__",
    "sources",
]
