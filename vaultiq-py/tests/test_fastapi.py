"""The FastAPI example through its TestClient."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Tuple

from fastapi.testclient import TestClient

import vaultiq
from conftest import REPO

KB = Tuple[vaultiq.KnowledgeBase, Path, vaultiq.SyncReport]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def load_example() -> ModuleType:
    path = REPO / "examples" / "python" / "fastapi_app.py"
    spec = importlib.util.spec_from_file_location("fastapi_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastapi_app"] = module
    spec.loader.exec_module(module)
    return module


def test_the_three_endpoints(indexed: KB) -> None:
    kb, _, _ = indexed
    app = load_example().create_app(kb)
    with TestClient(app) as client:
        response = client.post(
            "/api/query",
            json={"query": "How do I rotate the TLS certificates?", "top_k": 3, "source_filter": ["files"]},
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"answer", "sources", "query", "timestamp"}
        expected = kb.ask("How do I rotate the TLS certificates?", top_k=3, source_filter=["files"]).to_dict()
        assert body["answer"] == expected["answer"] and body["sources"] == expected["sources"]
        assert RFC3339.match(body["timestamp"])

        sources = client.get("/api/sources").json()
        assert sources["sources"] == kb.sources()
        assert sources["total_documents"] == sum(kb.sources().values())
        assert RFC3339.match(sources["timestamp"])

        health = client.get("/health").json()
        assert health["status"] == "healthy" and RFC3339.match(health["timestamp"])


def test_bad_input_gets_the_error_body(indexed: KB) -> None:
    kb, _, _ = indexed
    with TestClient(load_example().create_app(kb)) as client:
        for body in ({"query": "vpn", "top_k": 0}, {"query": "vpn", "top_k": 51}, {"top_k": 3}, {"query": ""}):
            response = client.post("/api/query", json=body)
            assert response.status_code == 400, body
            assert response.json()["error"]["code"] == "invalid_request"
        response = client.post("/api/query", json={"query": "vpn", "source_filter": ["wiki"]})
        assert response.status_code == 400
        assert "wiki" in response.json()["error"]["message"]
        response = client.post("/api/query", json={"query": "   "})
        assert response.status_code == 400


def test_app_opens_the_data_dir_from_the_environment(indexed: KB, monkeypatch: object) -> None:
    _, data_dir, _ = indexed
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("VAULTIQ_DATA_DIR", str(data_dir))
    monkeypatch.delenv("VAULTIQ_CONFIG", raising=False)
    with TestClient(load_example().app) as client:
        response = client.post("/api/query", json={"query": "How do I deploy to production?"})
        assert response.status_code == 200
        assert response.json()["sources"]
