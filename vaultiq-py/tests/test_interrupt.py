"""Ctrl-C stops a long sync promptly and cleanly; the next sync resumes."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import List

import pytest

import vaultiq
from conftest import write_corpus

FILES = 40


class SlowEmbedder:
    """Takes 0.1 s per call (sleeping, so without the GIL), like a remote model."""

    dimension = 4

    def embed(self, texts: List[str]) -> List[List[float]]:
        time.sleep(0.1)
        return [[1.0, float(len(t) % 7), 0.0, 1.0] for t in texts]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals go to the main thread")
def test_ctrl_c_interrupts_a_long_sync(tmp_path: Path) -> None:
    docs = write_corpus(
        tmp_path / "docs", {f"note-{i:02}.md": f"# Note {i}\n\nNumber {i} of {FILES}.\n" for i in range(FILES)}
    )
    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=SlowEmbedder())
    # One file per batch: 40 batches of >= 0.1 s, so the sync takes >= 4 s.
    kb.add_source(vaultiq.sources.Files("notes", docs, batch_size=1))
    seen: List[vaultiq.SyncProgress] = []
    timer = threading.Timer(0.8, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            kb.sync(progress=seen.append)
    finally:
        timer.cancel()
    stopped_after = time.monotonic() - started
    assert stopped_after < 3.0, f"took {stopped_after:.1f}s to stop"
    done_before = kb.sources().get("files", 0)
    assert 0 < done_before < FILES
    # Resumes from the committed checkpoint: nothing lost, nothing twice.
    report = kb.sync()
    assert kb.sources() == {"files": FILES}
    assert report.indexed + report.sources[0].unchanged <= FILES
    assert len(kb.search("Number of", top_k=100)) == FILES
