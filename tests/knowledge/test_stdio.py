"""The real server as a subprocess, driven over stdio by the MCP client (one server start
for the session tests), plus the failure modes the engine relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflow.knowledge.client import McpKnowledgeClient, server_command
from workflow.knowledge.ingest import ingest_folder, ingested_dir
from workflow.knowledge.protocol import KNOWLEDGE_TOOLS, KnowledgeToolError, KnowledgeUnavailable

from .helpers import BASE, ENTRY, FIXTURES, NOTES, write

ARGUMENTS = {
    "search_knowledge": {"query": "RAG vs fine-tuning"},
    "get_decisions": {"topic": "RAG vs fine-tuning"},
    "get_patterns": {"topic": "chunking"},
    "get_warnings": {"topic": "lost in the middle"},
    "get_methodologies": {"topic": "LoRA rank"},
    "list_sources": {},
    "compare_sources": {"topic": "rag", "source_ids": ["arxiv-org-abs-2005-11401"]},
}


def server_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CAIRN_CACHE_DIR"] = str(tmp / "cache")
    env["CAIRN_OUTPUT"] = str(tmp / "output")
    return env


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpKnowledgeClient]:
    tmp = tmp_path_factory.mktemp("stdio")
    ingest_folder(NOTES, ingested_dir(tmp / "output"))
    command = [*server_command(), "--knowledge-dir", str(BASE)]
    with McpKnowledgeClient(command=command, env=server_env(tmp), timeout_s=20) as client:
        yield client


@pytest.mark.parametrize("tool", KNOWLEDGE_TOOLS)
def test_every_tool_answers_over_one_stdio_session(client: McpKnowledgeClient, tool: str) -> None:
    response = client.call(tool, ARGUMENTS[tool])
    assert response["results"], f"{tool} returned nothing"
    assert response["metadata"]["result_count"] == len(response["results"])


def test_the_subprocess_sees_notes_ingested_under_the_output_folder(client: McpKnowledgeClient) -> None:
    response = client.call("search_knowledge", {"query": "roll back the gateway alias"})
    assert response["results"][0]["source"]["title"] == "notes/runbook.md"


def test_a_rejected_call_raises_a_tool_error_and_the_session_survives(client: McpKnowledgeClient) -> None:
    with pytest.raises(KnowledgeToolError, match="no-such-source"):
        client.call("compare_sources", {"topic": "rag", "source_ids": ["no-such-source"]})
    assert client.call("ping", {})["ok"] is True


def test_stdout_carries_only_json_rpc_messages(tmp_path: Path) -> None:
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search_knowledge", "arguments": {"query": "rag", "limit": 1}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search_knowledge",
                                                                       "arguments": {"query": ""}}},
    ]
    process = subprocess.Popen(
        [*server_command(), "--knowledge-dir", str(BASE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=server_env(tmp_path), text=True, encoding="utf-8")
    assert process.stdin is not None and process.stdout is not None
    replies = []
    for request in requests:
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        replies.append(json.loads(process.stdout.readline()))
        if request["id"] == 1:
            process.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
    process.stdin.close()
    rest = process.stdout.read()
    process.wait(timeout=30)
    assert [reply["id"] for reply in replies] == [1, 2, 3]
    assert all(reply["jsonrpc"] == "2.0" for reply in replies)
    assert replies[1]["result"]["structuredContent"]["results"][0]["id"] == "dec-rag-vs-fine-tuning"
    assert replies[2]["result"]["isError"] is True
    assert rest.strip() == ""


def test_a_server_that_cannot_load_its_entries_is_reported_unavailable(tmp_path: Path) -> None:
    write(tmp_path / "kb" / "bad.yaml", ENTRY.replace("type: pattern", "type: recipe"))
    command = [*server_command(), "--knowledge-dir", str(tmp_path / "kb")]
    with McpKnowledgeClient(command=command, env=server_env(tmp_path)) as client:
        with pytest.raises(KnowledgeUnavailable, match="could not start.*must be one of decision"):
            client.call("search_knowledge", {"query": "rag"})
        with pytest.raises(KnowledgeUnavailable, match="could not start"):
            client.call("search_knowledge", {"query": "rag"})


def test_a_server_that_never_finishes_starting_times_out() -> None:
    silent = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    with McpKnowledgeClient(command=silent, start_timeout_s=1) as client:
        with pytest.raises(KnowledgeUnavailable, match="did not start within 1s"):
            client.call("search_knowledge", {"query": "rag"})


def test_a_call_slower_than_the_timeout_is_unavailable_and_the_client_still_closes() -> None:
    command = [sys.executable, str(FIXTURES / "never_answers_server.py")]
    client = McpKnowledgeClient(command=command, timeout_s=0.5)
    try:
        assert client.call("ping", {})["ok"] is True
        with pytest.raises(KnowledgeUnavailable, match="did not answer within 0.5s"):
            client.call("search_knowledge", {"query": "rag"})
    finally:
        client.close()
    with pytest.raises(KnowledgeUnavailable, match="closed"):
        client.call("ping", {})
