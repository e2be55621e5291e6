from __future__ import annotations

from pathlib import Path

import pytest

from workflow.config import Config, KnowledgeConfig
from workflow.knowledge.client import McpKnowledgeClient, open_knowledge_client, server_command
from workflow.knowledge.protocol import KnowledgeUnavailable, NullKnowledgeClient


def test_disabled_knowledge_gives_a_client_whose_calls_are_unavailable() -> None:
    client = open_knowledge_client(Config(knowledge=KnowledgeConfig(enabled=False)))
    assert isinstance(client, NullKnowledgeClient)
    with pytest.raises(KnowledgeUnavailable, match="disabled"):
        client.call("search_knowledge", {"query": "rag"})


def test_a_configured_url_that_nobody_serves_is_unavailable() -> None:
    config = Config(knowledge=KnowledgeConfig(url="http://127.0.0.1:9/mcp", timeout_s=2))
    client = open_knowledge_client(config)
    try:
        assert isinstance(client, McpKnowledgeClient)
        assert client.url == "http://127.0.0.1:9/mcp"
        assert client.timeout_s == 2
        with pytest.raises(KnowledgeUnavailable, match="could not start"):
            client.call("search_knowledge", {"query": "rag"})
    finally:
        client.close()


def test_without_a_url_the_server_runs_as_a_subprocess_that_sees_the_output_folder(tmp_path: Path) -> None:
    client = open_knowledge_client(Config(), output_dir=tmp_path / "out")
    try:
        assert isinstance(client, McpKnowledgeClient)
        assert client.url is None
        assert client.command == server_command()
        assert client.env["CAIRN_OUTPUT"] == str((tmp_path / "out").resolve())
    finally:
        client.close()


def test_closing_twice_is_harmless() -> None:
    client = McpKnowledgeClient(url="http://127.0.0.1:9/mcp")
    client.close()
    client.close()
    with pytest.raises(KnowledgeUnavailable, match="closed"):
        client.call("ping", {})
