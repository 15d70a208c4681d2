"""Shared fixtures: the sample corpus indexed once, the `vaultiq` CLI, a
loopback HTTP server for source failures."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Tuple

import pytest

import vaultiq

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "examples" / "data"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The sample IT knowledge corpus of the repository."""
    assert CORPUS.is_dir(), f"sample corpus missing: {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Tuple[vaultiq.KnowledgeBase, Path, vaultiq.SyncReport]:
    """A knowledge base with the sample corpus ingested from Python."""
    data_dir = tmp_path_factory.mktemp("kb")
    kb = vaultiq.KnowledgeBase(data_dir)
    report = kb.ingest(corpus)
    return kb, data_dir, report


@pytest.fixture(scope="session")
def vaultiq_cli() -> Path:
    """The `vaultiq` binary cargo built (VAULTIQ_BIN overrides the search)."""
    candidates = []
    if os.environ.get("VAULTIQ_BIN"):
        candidates.append(Path(os.environ["VAULTIQ_BIN"]))
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    candidates += [target / "debug" / "vaultiq", target / "release" / "vaultiq"]
    on_path = shutil.which("vaultiq")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "the vaultiq CLI is not built; run `cargo build -p vaultiq-examples --bin vaultiq` "
        f"or set VAULTIQ_BIN (looked at {[str(c) for c in candidates]})"
    )


class StatusServer:
    """A loopback HTTP server answering every request with one status."""

    def __init__(self, status: int) -> None:
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                server.requests += 1
                body = b'{"ok": false, "error": "status"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def status_server() -> Iterator[Callable[[int], StatusServer]]:
    """Starts loopback servers answering with a fixed status; stops them after the test."""
    started: list[StatusServer] = []

    def start(status: int) -> StatusServer:
        server = StatusServer(status)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def write_corpus(root: Path, files: dict[str, str]) -> Path:
    """Writes a small markdown corpus under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


INDEXED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".json"}


def indexable(root: Path) -> int:
    """How many files under `root` the files source indexes by default."""
    return sum(1 for p in root.rglob("*") if p.is_file() and p.suffix in INDEXED_SUFFIXES)
