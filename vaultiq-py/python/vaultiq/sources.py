"""The sources a knowledge base can sync: pass one to ``KnowledgeBase.add_source``.

Each class builds the Rust connector of the same name: incremental fetches,
pagination, rate limits and bounded retries happen inside the engine.
"""

from __future__ import annotations

from ._native import Confluence, Files, GitHub, Jira, Slack, Source

__all__ = ["Source", "Confluence", "Slack", "Jira", "GitHub", "Files"]
