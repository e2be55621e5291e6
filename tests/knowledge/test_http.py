"""The server over streamable HTTP: loopback by default, bearer token enforced."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import httpx2
import pytest

from tests.net import free_port, wait_until_listening
from workflow.config import Config, KnowledgeConfig
from workflow.knowledge.client import McpKnowledgeClient, open_knowledge_client, server_command
from workflow.knowledge.protocol import KnowledgeUnavailable
from workflow.knowledge.server import parse_http

from .helpers import BASE

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("http")
    port = free_port()
    env = dict(os.environ, CAIRN_CACHE_DIR=str(tmp / "cache"), CAIRN_OUTPUT=str(tmp / "output"),
               CAIRN_KNOWLEDGE_TOKEN=TOKEN)
    process = subprocess.Popen(
        [*server_command(), "--http", f":{port}", "--knowledge-dir", str(BASE)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8")
    wait_until_listening(process)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_client_with_the_token_gets_answers(url: str) -> None:
    with McpKnowledgeClient(url=url, token=TOKEN, timeout_s=20) as client:
        response = client.call("get_decisions", {"topic": "RAG vs fine-tuning"})
    assert response["results"][0]["id"] == "dec-rag-vs-fine-tuning"


def test_the_session_client_takes_the_url_from_config_and_the_token_from_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_KNOWLEDGE_TOKEN", TOKEN)
    client = open_knowledge_client(Config(knowledge=KnowledgeConfig(url=url, timeout_s=20)))
    try:
        assert client.call("ping", {})["ok"] is True
    finally:
        client.close()


def test_a_client_with_a_wrong_token_is_refused(url: str) -> None:
    with McpKnowledgeClient(url=url, token="wrong", timeout_s=20) as client:
        with pytest.raises(KnowledgeUnavailable, match="could not start"):
            client.call("search_knowledge", {"query": "rag"})


def test_a_request_without_a_token_gets_401(url: str) -> None:
    reply = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert reply.status_code == 401


@pytest.mark.parametrize(
    ("value", "address"),
    [("8765", ("127.0.0.1", 8765)), (":8765", ("127.0.0.1", 8765)), ("0.0.0.0:80", ("0.0.0.0", 80)),
     ("[::1]:9000", ("::1", 9000))],
)
def test_the_http_address_defaults_to_loopback(value: str, address: tuple[str, int]) -> None:
    assert parse_http(value) == address


@pytest.mark.parametrize("value", ["host:", "host:port", "127.0.0.1:70000"])
def test_a_malformed_http_address_is_a_user_error(value: str) -> None:
    from workflow.errors import CairnError

    with pytest.raises(CairnError, match="expected HOST:PORT"):
        parse_http(value)
