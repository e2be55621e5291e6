"""The server in memory: a real MCP `Client(server)`, no subprocess."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from workflow.knowledge.client import InProcessKnowledgeClient
from workflow.knowledge.protocol import KNOWLEDGE_TOOLS, KnowledgeToolError
from workflow.knowledge.server import build_server
from workflow.knowledge.tools import KnowledgeTools

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def call(tools: KnowledgeTools, name: str, arguments: dict[str, Any]) -> Any:
    async with Client(build_server(tools)) as client:
        return await client.call_tool(name, arguments)


async def ok(tools: KnowledgeTools, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await call(tools, name, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_the_server_lists_the_knowledge_tools_and_a_ping(tools: KnowledgeTools) -> None:
    async with Client(build_server(tools)) as client:
        listed = await client.list_tools()
    names = {tool.name for tool in listed.tools}
    assert names == {*KNOWLEDGE_TOOLS, "ping"}
    assert all(tool.output_schema for tool in listed.tools)


async def test_search_knowledge_returns_typed_results_with_metadata(tools: KnowledgeTools) -> None:
    response = await ok(tools, "search_knowledge", {"query": "RAG vs fine-tuning", "limit": 3})
    top = response["results"][0]
    assert top["id"] == "dec-rag-vs-fine-tuning"
    assert top["type"] == "decision"
    assert {"question", "options", "considerations", "recommended_approach", "topics", "score"} <= set(top)
    assert top["source"] == {"id": "arxiv-org-abs-2005-11401", "url": "https://arxiv.org/abs/2005.11401",
                             "title": "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks",
                             "path": None}
    metadata = response["metadata"]
    assert metadata["query"] == "RAG vs fine-tuning"
    assert metadata["result_count"] == len(response["results"]) <= 3
    assert metadata["search_type"] == "bm25"
    assert metadata["latency_ms"] >= 0
    assert metadata["sources_cited"][0] == "arxiv-org-abs-2005-11401"


async def test_search_also_finds_ingested_notes_with_their_path(tools: KnowledgeTools) -> None:
    response = await ok(tools, "search_knowledge", {"query": "golden set tickets before release"})
    top = response["results"][0]
    assert top["type"] == "note"
    assert top["source"]["title"] == "notes/glossary.txt" and top["source"]["id"].startswith("file:notes/glossary.txt@")
    assert top["source"]["path"].endswith("glossary.txt")


@pytest.mark.parametrize(
    ("tool", "topic", "expected_id", "types"),
    [
        ("get_decisions", "RAG vs fine-tuning", "dec-rag-vs-fine-tuning", {"decision"}),
        ("get_patterns", "hybrid search", "pat-hybrid-search", {"pattern"}),
        ("get_warnings", "LLM-as-judge bias", "warn-llm-judge-position-bias", {"warning"}),
        ("get_methodologies", "LoRA rank and alpha", "meth-lora-hyperparameters", {"methodology", "checklist"}),
    ],
)
async def test_get_tools_rank_entries_of_their_type_by_topic(
    tools: KnowledgeTools, tool: str, topic: str, expected_id: str, types: set[str]
) -> None:
    response = await ok(tools, tool, {"topic": topic})
    assert response["results"][0]["id"] == expected_id
    assert {result["type"] for result in response["results"]} <= types


async def test_an_empty_topic_lists_every_entry_of_the_type(tools: KnowledgeTools) -> None:
    response = await ok(tools, "get_decisions", {})
    assert {r["id"] for r in response["results"]} == {"dec-rag-vs-fine-tuning", "dec-build-vs-buy"}
    assert response["metadata"]["search_type"] == "list"


async def test_checklists_come_with_methodologies(tools: KnowledgeTools) -> None:
    response = await ok(tools, "get_methodologies", {"topic": "scoping questions"})
    assert response["results"][0]["id"] == "chk-scoping-questions"


async def test_list_sources_gives_ids_that_compare_sources_accepts(tools: KnowledgeTools) -> None:
    sources = await ok(tools, "list_sources", {})
    ids = {source["id"] for source in sources["results"]}
    assert "arxiv-org-abs-2307-03172" in ids
    assert any(source_id.startswith("file:notes/runbook.md@") for source_id in ids)
    compared = await ok(tools, "compare_sources", {
        "topic": "rag", "source_ids": ["arxiv-org-abs-2307-03172", "arxiv-org-abs-2005-11401"]})
    assert [r["id"] for r in compared["results"]] == ["warn-lost-in-the-middle", "dec-rag-vs-fine-tuning"]
    assert compared["metadata"]["sources_cited"] == ["arxiv-org-abs-2307-03172", "arxiv-org-abs-2005-11401"]


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search_knowledge", {"query": ""}, "query"),
        ("search_knowledge", {"query": "rag", "limit": 0}, "limit"),
        ("search_knowledge", {"query": "rag", "limit": "many"}, "limit"),
        ("search_knowledge", {}, "query"),
        ("get_decisions", {"topic": "rag", "limit": 100000}, "limit"),
        ("list_sources", {"limit": -1}, "limit"),
        ("compare_sources", {"topic": "rag", "source_ids": []}, "source_ids"),
        ("compare_sources", {"topic": "rag", "source_ids": ["no-such-source"]}, "no-such-source"),
        ("compare_sources", {"topic": "rag", "source_ids": "arxiv"}, "source_ids"),
        ("no_such_tool", {}, "no_such_tool"),
    ],
)
async def test_bad_arguments_are_tool_errors_and_the_server_keeps_answering(
    tools: KnowledgeTools, tool: str, arguments: dict[str, Any], message: str
) -> None:
    async with Client(build_server(tools)) as client:
        bad = await client.call_tool(tool, arguments)
        good = await client.call_tool("search_knowledge", {"query": "chunking"})
    assert bad.is_error
    assert message in bad.content[0].text
    assert not good.is_error and good.structured_content["results"]


async def test_the_in_process_client_answers_like_the_server(tools: KnowledgeTools) -> None:
    arguments = {"topic": "rag", "limit": 5}
    served = await ok(tools, "get_warnings", arguments)
    direct = InProcessKnowledgeClient(tools).call("get_warnings", arguments)
    served["metadata"].pop("latency_ms")
    direct["metadata"].pop("latency_ms")
    assert direct == served


def test_the_in_process_client_raises_a_tool_error_for_bad_arguments(tools: KnowledgeTools) -> None:
    client = InProcessKnowledgeClient(tools)
    with pytest.raises(KnowledgeToolError, match="limit"):
        client.call("get_patterns", {"limit": 0})
    with pytest.raises(KnowledgeToolError, match="unknown knowledge tool"):
        client.call("ping_the_moon", {})


async def test_an_unknown_argument_is_refused_with_the_accepted_names(tools: KnowledgeTools) -> None:
    result = await call(tools, "search_knowledge", {"query": "rag", "typ": "decision"})
    assert result.is_error
    assert "search_knowledge: unknown argument 'typ'; fix: use only query, limit, type" in result.content[0].text


async def test_tool_input_schemas_forbid_unknown_arguments(tools: KnowledgeTools) -> None:
    async with Client(build_server(tools)) as client:
        listed = await client.list_tools()
    assert all(tool.input_schema.get("additionalProperties") is False for tool in listed.tools)


async def test_a_bad_argument_comes_back_as_one_line_with_a_fix(tools: KnowledgeTools) -> None:
    result = await call(tools, "search_knowledge", {"query": "rag", "limit": 0})
    assert result.is_error
    text = result.content[0].text
    assert "argument 'limit'" in text and "fix: use a number of at least 1" in text
    assert "\n" not in text and "pydantic" not in text


async def test_search_knowledge_can_be_limited_to_one_type(tools: KnowledgeTools) -> None:
    everything = await ok(tools, "search_knowledge", {"query": "rag fine-tuning retrieval"})
    assert len({result["type"] for result in everything["results"]}) > 1
    patterns = await ok(tools, "search_knowledge", {"query": "rag fine-tuning retrieval", "type": "pattern"})
    assert patterns["results"] and {result["type"] for result in patterns["results"]} == {"pattern"}


async def test_a_question_no_entry_covers_gets_an_explicit_no_answer(tools: KnowledgeTools) -> None:
    response = await ok(tools, "search_knowledge", {"query": "best pizza in naples"})
    assert response["results"] == []
    assert response["metadata"]["answered"] is False
    assert response["metadata"]["note"].startswith("No entry in the knowledge base covers this")


async def test_list_sources_pages_through_every_source_once(tools: KnowledgeTools) -> None:
    everything = (await ok(tools, "list_sources", {}))["results"]
    first = await ok(tools, "list_sources", {"limit": 2})
    second = await ok(tools, "list_sources", {"limit": 500, "offset": first["metadata"]["next_offset"]})
    assert [r["id"] for r in first["results"] + second["results"]] == [r["id"] for r in everything]
    assert second["metadata"]["next_offset"] is None
