"""Hybrid retrieval: BM25 fused with the bundled all-MiniLM-L6-v2 embeddings (the `dense` extra).

These run on the small fixture base so the model encodes a handful of entries; the shipped
base's retrieval quality with and without the extra is measured by benchmarks/knowledge.py."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from workflow.knowledge import dense
from workflow.knowledge.client import InProcessKnowledgeClient
from workflow.knowledge.index import KnowledgeIndex, open_index
from workflow.knowledge.loader import KnowledgeError
from workflow.knowledge.tools import KnowledgeTools
from workflow.resources import knowledge_dir

from .helpers import BASE

needs_model = pytest.mark.skipif(not dense.installed(), reason="the dense extra is not installed (make install-dev)")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dense-cache")


@pytest.fixture(scope="module")
def hybrid(cache: Path) -> KnowledgeIndex:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAIRN_KNOWLEDGE_RETRIEVAL", "hybrid")
        return open_index(BASE, None, cache)


def test_bm25_mode_opens_an_index_without_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_KNOWLEDGE_RETRIEVAL", "bm25")
    index = open_index(knowledge_dir(), None, tmp_path)
    assert index.dense is None
    assert KnowledgeTools(index).search("chunk size").metadata.search_type == "bm25"


def test_hybrid_mode_without_the_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_KNOWLEDGE_RETRIEVAL", "hybrid")
    monkeypatch.setattr(dense, "installed", lambda: False)
    with pytest.raises(KnowledgeError, match=r"fix: pip install 'cairn\[dense\]'"):
        dense.wanted()


def test_an_unknown_retrieval_mode_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_KNOWLEDGE_RETRIEVAL", "semantic")
    with pytest.raises(KnowledgeError, match="CAIRN_KNOWLEDGE_RETRIEVAL=semantic: unknown mode; fix: use one of"):
        dense.wanted()


def test_reciprocal_rank_fusion_favours_documents_both_rankings_place_high() -> None:
    fused = dense.fuse([[1, 2, 3], [3, 1, 4]])
    assert sorted(fused, key=lambda position: -fused[position])[:2] == [1, 3]
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)


@needs_model
def test_hybrid_search_finds_an_entry_that_shares_almost_no_words_with_the_question(
    hybrid: KnowledgeIndex, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "segmenting documents into sections"
    monkeypatch.setenv("CAIRN_KNOWLEDGE_RETRIEVAL", "bm25")
    assert KnowledgeTools(open_index(BASE, None, cache)).search(question).results == []
    response = KnowledgeTools(hybrid).search(question, limit=3)
    assert response.metadata.search_type == "hybrid"
    assert [result.id for result in response.results][:1] == ["pat-semantic-chunking"]


@needs_model
def test_hybrid_search_still_says_when_no_entry_covers_the_question(hybrid: KnowledgeIndex) -> None:
    response = InProcessKnowledgeClient(KnowledgeTools(hybrid)).call(
        "search_knowledge", {"query": "best pizza in naples"})
    assert response["results"] == []
    assert response["metadata"]["answered"] is False
    assert "No entry" in response["metadata"]["note"]


@needs_model
def test_document_vectors_are_cached_beside_the_index_and_reused(
    hybrid: KnowledgeIndex, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = cache / "knowledge-index" / hybrid.key / f"dense-{dense.MODEL_NAME}.npy"
    assert stored.is_file()
    monkeypatch.setenv("CAIRN_KNOWLEDGE_RETRIEVAL", "hybrid")

    def no_encoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("document vectors were computed again instead of read from the cache")

    monkeypatch.setattr(dense.Encoder, "encode", no_encoding)
    reopened = open_index(BASE, None, cache)
    assert reopened.dense is not None
    assert reopened.dense.vectors.shape == (len(reopened.docs), 384)


def test_a_server_answers_with_bm25_while_the_vectors_load_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    class Fake:
        def encode(self, texts: list[str], threads: int | None = None) -> np.ndarray:
            return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)

    def slow_vectors(texts: list[str], cache: Path | None) -> np.ndarray:
        release.wait(10)
        return Fake().encode(texts)

    monkeypatch.setenv("CAIRN_KNOWLEDGE_RETRIEVAL", "hybrid")
    monkeypatch.setattr(dense, "installed", lambda: True)
    monkeypatch.setattr(dense, "_vectors", slow_vectors)
    monkeypatch.setattr(dense, "encoder", Fake)
    index = open_index(BASE, None, tmp_path, dense_vectors="background")
    tools = KnowledgeTools(index)
    assert index.dense is not None and not index.dense.ready()
    assert tools.search("hybrid search").metadata.search_type == "bm25"
    release.set()
    assert index.dense.wait(10)
    assert tools.search("hybrid search").metadata.search_type == "hybrid"
