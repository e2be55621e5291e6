from __future__ import annotations

from pathlib import Path

import pytest

from workflow.knowledge.index import KnowledgeIndex, open_index
from workflow.knowledge.ingest import ingest_folder
from workflow.knowledge.tools import KnowledgeTools

from .helpers import BASE, NOTES


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own index cache, so none reads or pollutes ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Ingested notes from the fixture folder, as `cairn knowledge ingest` stores them."""
    folder = tmp_path / "ingested"
    ingest_folder(NOTES, folder)
    return folder


@pytest.fixture
def index(store: Path, isolated_cache: Path) -> KnowledgeIndex:
    return open_index(BASE, store, isolated_cache)


@pytest.fixture
def tools(index: KnowledgeIndex) -> KnowledgeTools:
    return KnowledgeTools(index)
