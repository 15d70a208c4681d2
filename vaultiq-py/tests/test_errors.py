"""Every exception class, raised by a real failure, and picklable."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

import vaultiq
from conftest import indexable, StatusServer, write_corpus

KB = Tuple[vaultiq.KnowledgeBase, Path, vaultiq.SyncReport]


def roundtrip(err: vaultiq.VaultIQError) -> vaultiq.VaultIQError:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert str(copy) == str(err) and copy.retryable == err.retryable
    return copy  # type: ignore[no-any-return]


def test_hierarchy() -> None:
    for cls in (
        vaultiq.ConfigError,
        vaultiq.InvalidInputError,
        vaultiq.SourceError,
        vaultiq.StoreError,
        vaultiq.CorruptDataError,
        vaultiq.ModelError,
        vaultiq.VaultIQIOError,
    ):
        assert issubclass(cls, vaultiq.VaultIQError)
        assert cls.__module__ == "vaultiq" and cls.__doc__
    assert issubclass(vaultiq.CorruptDataError, vaultiq.StoreError)


def test_config_error(tmp_path: Path) -> None:
    config = tmp_path / "vaultiq.toml"
    config.write_text('[store]\nkind = "faiss"\n')
    with pytest.raises(vaultiq.ConfigError, match="store.kind") as caught:
        vaultiq.KnowledgeBase.from_config(config)
    assert not caught.value.retryable
    roundtrip(caught.value)
    with pytest.raises(vaultiq.ConfigError, match="faiss"):
        vaultiq.KnowledgeBase(tmp_path / "kb", store="faiss")


def test_config_sources_and_duplicate_names(tmp_path: Path, corpus: Path) -> None:
    config = tmp_path / "vaultiq.toml"
    config.write_text(
        f'data_dir = "kb"\n[[sources]]\ntype = "files"\nname = "faq"\npath = "{corpus / "faq"}"\n'
    )
    kb = vaultiq.KnowledgeBase.from_config(config)
    assert kb.source_names == ["faq"]
    assert kb.sync().indexed == indexable(corpus / "faq")
    assert (tmp_path / "kb" / "store.sqlite").is_file()
    with pytest.raises(vaultiq.ConfigError, match="unique"):
        kb.add_source(vaultiq.sources.Files("faq", corpus / "howto"))


def test_invalid_input_error(indexed: KB) -> None:
    kb, _, _ = indexed
    with pytest.raises(vaultiq.InvalidInputError, match="empty") as caught:
        kb.ask("   ")
    assert isinstance(caught.value, ValueError)
    roundtrip(caught.value)
    with pytest.raises(vaultiq.InvalidInputError, match="top_k"):
        kb.ask("vpn", top_k=0)
    with pytest.raises(vaultiq.InvalidInputError, match="top_k"):
        kb.search("vpn", top_k=-3)
    with pytest.raises(vaultiq.InvalidInputError, match="wiki"):
        kb.ask("vpn", source_filter=["wiki"])
    with pytest.raises(vaultiq.InvalidInputError, match="mode"):
        kb.search("vpn", mode="fuzzy")  # type: ignore[arg-type]


@pytest.mark.parametrize("status,retryable", [(503, True), (401, False)])
def test_source_error(
    tmp_path: Path, status_server: Callable[[int], StatusServer], status: int, retryable: bool
) -> None:
    server = status_server(status)
    kb = vaultiq.KnowledgeBase(tmp_path / "kb")
    kb.add_source(
        vaultiq.sources.Slack("team-chat", token="xoxb-test", base_url=server.url, max_attempts=2)
    )
    with pytest.raises(vaultiq.SourceError) as caught:
        kb.sync()
    err = caught.value
    assert err.retryable is retryable
    assert err.source_name == "team-chat"
    assert server.requests == (2 if retryable else 1)
    copy = roundtrip(err)
    assert isinstance(copy, vaultiq.SourceError) and copy.source_name == "team-chat"
    # Nothing was indexed, and the knowledge base stays usable.
    assert kb.sources() == {}


def test_store_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "kb"
    (data_dir / "store.sqlite").mkdir(parents=True)
    with pytest.raises(vaultiq.StoreError) as caught:
        vaultiq.KnowledgeBase(data_dir, embedder=Fixed())
    roundtrip(caught.value)


def test_corrupt_data_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "kb"
    data_dir.mkdir()
    (data_dir / "store.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(vaultiq.CorruptDataError) as caught:
        vaultiq.KnowledgeBase(data_dir, embedder=Fixed())
    assert isinstance(caught.value, vaultiq.StoreError)
    roundtrip(caught.value)


class Fixed:
    dimension = 3

    def embed(self, texts: List[str]) -> List[List[float]]:
        return [[1.0, 0.0, 0.0] for _ in texts]


def test_model_error(tmp_path: Path) -> None:
    class Broken(Fixed):
        def embed(self, texts: List[str]) -> List[List[float]]:
            if texts == ["why"]:
                raise RuntimeError("the GPU caught fire")
            return super().embed(texts)

    class Short(Fixed):
        def embed(self, texts: List[str]) -> List[List[float]]:
            return [[1.0] for _ in texts]

    docs = write_corpus(tmp_path / "docs", {"a.md": "# A\n\nalpha beta gamma\n"})
    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=Broken())
    kb.ingest(docs, name="docs")
    with pytest.raises(vaultiq.ModelError, match="GPU caught fire") as caught:
        kb.ask("why")
    roundtrip(caught.value)
    short = vaultiq.KnowledgeBase(tmp_path / "kb2", embedder=Short())
    with pytest.raises(vaultiq.ModelError, match="dimension 3"):
        short.ingest(docs, name="docs")
    assert short.sources() == {}


def test_io_error(tmp_path: Path) -> None:
    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=Fixed())
    with pytest.raises(vaultiq.VaultIQIOError, match="no-such-dir") as caught:
        kb.ingest(tmp_path / "no-such-dir")
    assert isinstance(caught.value, OSError)
    roundtrip(caught.value)


def test_progress_callback_exception_is_raised(tmp_path: Path, corpus: Path) -> None:
    kb = vaultiq.KnowledgeBase(tmp_path / "kb", embedder=Fixed())
    kb.add_source(vaultiq.sources.Files("runbooks", corpus / "runbooks", batch_size=2))
    total = indexable(corpus / "runbooks")
    calls: List[int] = []

    def progress(p: vaultiq.SyncProgress) -> None:
        calls.append(p.indexed)
        raise LookupError(f"stop at {p.indexed}")

    with pytest.raises(LookupError, match="stop at 2$"):
        kb.sync(progress=progress)
    # The first exception is the one raised; every batch was committed.
    assert calls[0] == 2 and len(calls) > 1
    assert kb.sources()["files"] == total
    assert kb.sync().indexed == 0
