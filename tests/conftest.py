from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from workflow.config import Config
from workflow.knowledge.protocol import KnowledgeUnavailable, NullKnowledgeClient
from workflow.session import Session, create_project

# The suite searches the knowledge base with BM25 unless a test asks for hybrid retrieval:
# with the dense extra installed, every index opened (and every server subprocess, which
# inherits this) would otherwise load an embedding model. tests/knowledge/test_dense.py
# covers hybrid retrieval.
os.environ.setdefault("CAIRN_KNOWLEDGE_RETRIEVAL", "bm25")

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "packs" / "mini"


class FakeKnowledge:
    """Returns one canned result per call and records what was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((tool, arguments))
        if self.fail:
            raise KnowledgeUnavailable("timed out after 5s")
        topic = arguments.get("topic") or arguments.get("query")
        return {"results": [{"id": f"dec-{len(self.calls)}", "type": "decision", "title": f"About {topic}",
                             "summary": "s", "source": {"title": "Paper", "url": "https://arxiv.org/abs/1"}}],
                "metadata": {"query": topic, "result_count": 1}}

    def close(self) -> None:
        pass


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "output"


@pytest.fixture
def mini_project(out: Path) -> str:
    create_project(out, "p", user="tester", pack_ref=str(MINI))
    return "p"


def open_session(out: Path, name: str, knowledge: Any = None) -> Session:
    session = Session(output_dir=out, name=name, config=Config(),
                      knowledge=knowledge if knowledge is not None else NullKnowledgeClient())
    session.open()
    return session


def quiet_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=100, color_system=None, highlight=False), buffer
