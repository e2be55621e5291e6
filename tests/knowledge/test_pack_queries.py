"""Every knowledge query the shipped pack declares finds something in the shipped base."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.knowledge.client import InProcessKnowledgeClient
from workflow.knowledge.index import open_index
from workflow.knowledge.tools import KnowledgeTools
from workflow.packs import load_pack
from workflow.resources import knowledge_dir


def test_every_declared_step_query_returns_at_least_one_result(tmp_path: Path) -> None:
    client = InProcessKnowledgeClient(KnowledgeTools(open_index(knowledge_dir(), None, tmp_path)))
    pack = load_pack()
    queries = [(step_id, query) for step_id, step in pack.steps.items() for query in step.meta.knowledge]
    assert queries, "the shipped pack declares no knowledge queries"
    empty = [f"{step_id}: {query.tool}({query.text!r})" for step_id, query in queries
             if not client.call(query.tool, query.arguments())["results"]]
    assert empty == [], "queries with no result (add entries tagged for them, or reword the query)"


@pytest.mark.parametrize("tool", ["get_decisions", "get_patterns", "get_warnings", "get_methodologies"])
def test_an_empty_topic_lists_every_entry_of_the_type(tmp_path: Path, tool: str) -> None:
    client = InProcessKnowledgeClient(KnowledgeTools(open_index(knowledge_dir(), None, tmp_path)))
    assert len(client.call(tool, {})["results"]) >= 20
