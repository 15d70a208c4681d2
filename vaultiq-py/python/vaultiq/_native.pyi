"""Type stubs of the native module; import everything from ``vaultiq``."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, Optional, Protocol, Union

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_SearchMode = Literal["hybrid", "keyword", "vector"]

class _Embedder(Protocol):
    """Anything with ``embed(texts)``; ``dimension``, ``model_id`` and
    ``embed_query(texts)`` are optional."""

    def embed(self, texts: list[str], /) -> Sequence[Sequence[float]]: ...

class _Answerer(Protocol):
    """Anything with ``answer(question, hits)``."""

    def answer(self, question: str, hits: list[Hit], /) -> Union[Answer, str]: ...

class _Chunker(Protocol):
    """Anything with ``chunk(document)``."""

    def chunk(
        self, document: Document, /
    ) -> Sequence[Union[str, tuple[str, int], tuple[str, int, list[str]]]]: ...

class Citation:
    """One cited source of an answer (the seed's ``sources[]`` entry)."""

    @staticmethod
    def from_hit(hit: Hit) -> Citation:
        """The citation of a search hit."""
    @property
    def title(self) -> str:
        """Document title."""
    @property
    def url(self) -> str:
        """Link to the original."""
    @property
    def source_type(self) -> str:
        """``confluence``, ``slack``, ``jira``, ``github``, ``files`` or ``custom``."""
    @property
    def relevance_score(self) -> float:
        """Cosine similarity of question and passage, 0..1."""
    @property
    def snippet(self) -> str:
        """The supporting passage."""
    @property
    def document_id(self) -> str:
        """Id of the cited document."""
    @property
    def chunk_id(self) -> str:
        """Id of the cited chunk."""

class Answer:
    """An answer with its cited sources."""

    def __init__(
        self,
        answer: str,
        sources: Sequence[Citation] = ...,
        query: str = ...,
        grounded: bool = ...,
    ) -> None:
        """An answer built by a Python answerer; cite only the hits it was given."""
    @property
    def answer(self) -> str:
        """The answer text."""
    @property
    def sources(self) -> list[Citation]:
        """The cited sources, in citation order."""
    @property
    def query(self) -> str:
        """The question as asked."""
    @property
    def timestamp(self) -> str:
        """When the answer was produced, RFC 3339 UTC."""
    @property
    def grounded(self) -> bool:
        """False when nothing relevant was found and the answer says so."""
    @property
    def timings(self) -> dict[str, float]:
        """Milliseconds per stage: embed_ms, search_ms, answer_ms, total_ms."""
    def to_dict(self) -> dict[str, Any]:
        """The ``POST /api/query`` response body."""

class Hit:
    """One ranked search hit."""

    @property
    def title(self) -> str:
        """Document title."""
    @property
    def url(self) -> str:
        """Link to the original."""
    @property
    def source_type(self) -> str:
        """Kind of source."""
    @property
    def relevance_score(self) -> float:
        """Cosine similarity of query and passage, 0..1."""
    @property
    def fused_score(self) -> float:
        """Reciprocal-rank-fusion score that orders the hits."""
    @property
    def snippet(self) -> str:
        """The passage, whitespace collapsed, at most 300 characters."""
    @property
    def text(self) -> str:
        """The whole chunk text."""
    @property
    def heading_path(self) -> list[str]:
        """Headings above the chunk, outermost first."""
    @property
    def document_id(self) -> str:
        """Document id."""
    @property
    def chunk_id(self) -> str:
        """Chunk id."""
    @property
    def source_name(self) -> str:
        """The configured source instance."""
    @property
    def metadata(self) -> dict[str, str]:
        """Document metadata."""
    @property
    def retrievers(self) -> list[str]:
        """``keyword`` and/or ``vector``."""
    def to_dict(self) -> dict[str, Any]:
        """The ``sources[]`` fields plus document_id, chunk_id, retrievers."""

class Document:
    """A normalised document, as a Python chunker receives it."""

    @property
    def id(self) -> str:
        """Stable id ``{source type}:{source name}:{native id}``."""
    @property
    def source_type(self) -> str:
        """Kind of source."""
    @property
    def source_name(self) -> str:
        """The configured source instance."""
    @property
    def title(self) -> str:
        """Title."""
    @property
    def url(self) -> str:
        """Link to the original."""
    @property
    def body(self) -> str:
        """Plain text body with its structure kept."""
    @property
    def author(self) -> Optional[str]:
        """Author, when the source names one."""
    @property
    def metadata(self) -> dict[str, str]:
        """Source metadata."""

class SyncProgress:
    """Progress of one source's sync."""

    @property
    def source_name(self) -> str:
        """The source being synced."""
    @property
    def fetched(self) -> int:
        """Documents fetched so far."""
    @property
    def indexed(self) -> int:
        """Documents (re)indexed so far."""
    @property
    def unchanged(self) -> int:
        """Documents skipped as unchanged."""
    @property
    def chunks(self) -> int:
        """Chunks written so far."""
    @property
    def deleted(self) -> int:
        """Documents removed because they vanished."""
    @property
    def elapsed(self) -> float:
        """Seconds since the source's sync started."""
    @property
    def rate(self) -> float:
        """Documents fetched per second."""
    @property
    def finished(self) -> bool:
        """True on the last report of the source."""

class SyncReport:
    """What a sync or ingest did, per source."""

    @property
    def sources(self) -> list[SyncProgress]:
        """The final progress of each source synced."""
    @property
    def indexed(self) -> int:
        """Documents (re)indexed over all sources."""
    @property
    def deleted(self) -> int:
        """Documents deleted over all sources."""
    @property
    def warnings(self) -> list[str]:
        """Things that need a person's attention."""

class Source:
    """Base class of every source."""

    @property
    def name(self) -> str:
        """The instance name, part of every document id."""
    @property
    def source_type(self) -> str:
        """``confluence``, ``slack``, ``jira``, ``github`` or ``files``."""

class Confluence(Source):
    """Confluence Cloud (username + API token) or Data Center (token alone)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        spaces: Optional[Sequence[str]] = None,
        include_blogposts: bool = False,
        deployment: Literal["cloud", "datacenter"] = "cloud",
        username: Optional[str] = None,
        token: Optional[str] = None,
        max_attempts: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> None: ...

class Slack(Source):
    """Slack channels with their threads."""

    def __init__(
        self,
        name: str,
        *,
        token: Optional[str] = None,
        channels: Optional[Sequence[str]] = None,
        base_url: Optional[str] = None,
        lookback_days: Optional[int] = None,
        max_attempts: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> None: ...

class Jira(Source):
    """Jira issues with comments, by projects or a JQL query."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        projects: Optional[Sequence[str]] = None,
        jql: Optional[str] = None,
        deployment: Literal["cloud", "datacenter"] = "cloud",
        username: Optional[str] = None,
        token: Optional[str] = None,
        max_attempts: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> None: ...

class GitHub(Source):
    """GitHub issues, pull requests and markdown docs of ``owner/name`` repos."""

    def __init__(
        self,
        name: str,
        repos: Sequence[str],
        *,
        token: Optional[str] = None,
        base_url: Optional[str] = None,
        include: Optional[Sequence[Literal["issues", "pulls", "docs"]]] = None,
        docs_paths: Optional[Sequence[str]] = None,
        max_attempts: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> None: ...

class Files(Source):
    """A directory of markdown, text, HTML and JSON files."""

    def __init__(
        self,
        name: str,
        path: _Path,
        *,
        include: Optional[Sequence[str]] = None,
        batch_size: Optional[int] = None,
    ) -> None: ...

class KnowledgeBase:
    """Sources, an index and a question answerer in one data directory."""

    def __init__(
        self,
        data_dir: _Path = ".vaultiq",
        *,
        embedder: Union[Literal["local"], _Embedder, None] = None,
        store: Optional[Literal["embedded"]] = None,
        answerer: Union[Literal["extractive"], _Answerer, None] = None,
        chunker: Optional[_Chunker] = None,
    ) -> None:
        """Opens (or creates) the knowledge base in ``data_dir``."""
    @staticmethod
    def from_config(path: _Path) -> KnowledgeBase:
        """Opens the knowledge base a ``vaultiq.toml`` describes, with its sources."""
    def add_source(self, source: Source) -> None:
        """Adds a source for ``sync``; names must be unique."""
    @property
    def source_names(self) -> list[str]:
        """Names of the sources added so far."""
    def ingest(
        self,
        path: _Path,
        *,
        name: Optional[str] = None,
        progress: Optional[Callable[[SyncProgress], object]] = None,
    ) -> SyncReport:
        """Indexes a directory of files (incremental)."""
    def ingest_async(
        self,
        path: _Path,
        *,
        name: Optional[str] = None,
        progress: Optional[Callable[[SyncProgress], object]] = None,
    ) -> Awaitable[SyncReport]:
        """Awaitable ``ingest``."""
    def sync(
        self,
        *,
        progress: Optional[Callable[[SyncProgress], object]] = None,
        source: Optional[str] = None,
    ) -> SyncReport:
        """Syncs every added source (or only ``source``).

        Ctrl-C stops the sync once the batch in progress is stored and
        checkpointed, then raises ``KeyboardInterrupt``; the next sync
        resumes from there.
        """
    def sync_async(
        self,
        *,
        progress: Optional[Callable[[SyncProgress], object]] = None,
        source: Optional[str] = None,
    ) -> Awaitable[SyncReport]:
        """Awaitable ``sync``."""
    def ask(
        self,
        query: str,
        top_k: int = 5,
        source_filter: Optional[Sequence[str]] = None,
    ) -> Answer:
        """Answers ``query`` with cited sources."""
    def ask_async(
        self,
        query: str,
        top_k: int = 5,
        source_filter: Optional[Sequence[str]] = None,
    ) -> Awaitable[Answer]:
        """Awaitable ``ask``."""
    def search(
        self,
        query: str,
        top_k: int = 5,
        source_filter: Optional[Sequence[str]] = None,
        mode: _SearchMode = "hybrid",
    ) -> list[Hit]:
        """The ``top_k`` best passages for ``query``."""
    def search_async(
        self,
        query: str,
        top_k: int = 5,
        source_filter: Optional[Sequence[str]] = None,
        mode: _SearchMode = "hybrid",
    ) -> Awaitable[list[Hit]]:
        """Awaitable ``search``."""
    def sources(self) -> dict[str, int]:
        """Indexed documents per source type."""
    def sources_async(self) -> Awaitable[dict[str, int]]:
        """Awaitable ``sources``."""
    def _rust_ask_timings(self, query: str, calls: int, top_k: int = 5) -> list[float]:
        """Benchmark support: milliseconds of ``calls`` asks made inside Rust."""
