"""The seed's HTTP API served by FastAPI on top of the ``vaultiq`` package.

Run with: VAULTIQ_DATA_DIR=./kb uvicorn fastapi_app:app --port 8080
(index first: ``python -c "import vaultiq; vaultiq.KnowledgeBase('./kb').ingest('examples/data')"``,
or set VAULTIQ_CONFIG=vaultiq.toml to open a configured knowledge base).

Endpoints, exactly the seed's contract:

- ``POST /api/query`` ``{query, top_k=5, source_filter?}`` ->
  ``{answer, sources[{title, url, source_type, relevance_score, snippet}], query, timestamp}``
- ``GET /api/sources`` -> ``{sources: {confluence: n, ...}, total_documents, timestamp}``
- ``GET /health`` -> ``{status: "healthy", timestamp}``

Bad input gets a 400 with ``{"error": {"code": "invalid_request", "message": ...}}``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import vaultiq

# The HTTP contract's bound on top_k (the library accepts more).
MAX_TOP_K = 50


class QueryRequest(BaseModel):
    """Body of ``POST /api/query``."""

    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K)
    source_filter: Optional[List[str]] = None


def now() -> str:
    """RFC 3339 UTC with a ``Z``, second precision."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, code: str, message: str) -> JSONResponse:
    """The contract's JSON error body."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def open_knowledge_base() -> vaultiq.KnowledgeBase:
    """The knowledge base of VAULTIQ_CONFIG, else of VAULTIQ_DATA_DIR (default ``.vaultiq``)."""
    config = os.environ.get("VAULTIQ_CONFIG")
    if config:
        return vaultiq.KnowledgeBase.from_config(config)
    return vaultiq.KnowledgeBase(os.environ.get("VAULTIQ_DATA_DIR", ".vaultiq"))


def create_app(kb: Optional[vaultiq.KnowledgeBase] = None) -> FastAPI:
    """The API over ``kb`` (opened from the environment at startup when None)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.kb = kb if kb is not None else open_knowledge_base()
        yield

    app = FastAPI(title="VaultIQ", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return error(400, "invalid_request", problems or "invalid request body")

    @app.exception_handler(vaultiq.InvalidInputError)
    async def invalid_input(_: Request, exc: vaultiq.InvalidInputError) -> JSONResponse:
        return error(400, "invalid_request", str(exc))

    @app.exception_handler(vaultiq.VaultIQError)
    async def engine_error(_: Request, exc: vaultiq.VaultIQError) -> JSONResponse:
        if exc.retryable:
            return error(503, "unavailable", str(exc))
        return error(500, "internal", str(exc))

    @app.post("/api/query")
    async def query(request: QueryRequest, http: Request) -> Dict[str, Any]:
        answer = await http.app.state.kb.ask_async(
            request.query, top_k=request.top_k, source_filter=request.source_filter
        )
        result: Dict[str, Any] = answer.to_dict()
        return result

    @app.get("/api/sources")
    async def sources(http: Request) -> Dict[str, Any]:
        counts = await http.app.state.kb.sources_async()
        return {"sources": counts, "total_documents": sum(counts.values()), "timestamp": now()}

    @app.get("/health")
    async def health() -> Dict[str, Any]:
        return {"status": "healthy", "timestamp": now()}

    return app


app = create_app()
