"""The HTTP servers under oversized and slow requests, over real sockets: a body over the limit is
refused with 413 without being read, a client that trickles its headers or body in gets 408 and is
disconnected, and meanwhile other clients are served at once. The knowledge server runs in a
thread with short limits; `cairn mcp serve --http` runs as a subprocess with the shipped ones."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net import free_port, wait_until_listening
from workflow.knowledge.client import McpKnowledgeClient
from workflow.knowledge.index import open_index
from workflow.knowledge.limits import HttpLimits, http_server
from workflow.knowledge.server import build_server
from workflow.knowledge.tools import KnowledgeTools

from .helpers import BASE

LIMITS = HttpLimits(max_body_bytes=4096, header_timeout_s=3.0, body_timeout_s=3.0)
INITIALIZE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}).encode()


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tools = KnowledgeTools(open_index(BASE, None, tmp_path_factory.mktemp("cache")))
    number = free_port()
    server = http_server(build_server(tools).streamable_http_app(host="127.0.0.1"), "127.0.0.1", number, LIMITS)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # uvicorn sets it once the socket listens
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield number
    server.should_exit = True
    thread.join(timeout=10)


def connect(port: int, data: bytes) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(data)
    return client


def reply(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket timeout fails a hang)."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    client.close()
    return received


def post(port: int, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\n{size}{extra}\r\n").encode()


def test_a_declared_body_over_the_limit_gets_413_before_any_of_it_is_sent(port: int) -> None:
    answer = reply(connect(port, post(port, 50_000_000)))
    assert answer.startswith(b"HTTP/1.1 413 ") and b"over 4,096 bytes" in answer


def test_a_chunked_body_is_refused_with_413_once_it_passes_the_limit(port: int) -> None:
    chunk = b"1000\r\n" + b"x" * 4096 + b"\r\n"
    answer = reply(connect(port, post(port, None, "Transfer-Encoding: chunked\r\n") + chunk + chunk))
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_slow_headers_and_slow_bodies_get_408_while_other_clients_are_served(port: int) -> None:
    trickling = [connect(port, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") for _ in range(20)]
    stalled = [connect(port, post(port, len(INITIALIZE)) + INITIALIZE[:10]) for _ in range(20)]
    started = time.monotonic()
    with McpKnowledgeClient(url=f"http://127.0.0.1:{port}/mcp", timeout_s=20) as client:
        assert client.call("search_knowledge", {"query": "RAG vs fine-tuning"})["results"]
    served_in = time.monotonic() - started
    assert served_in < LIMITS.header_timeout_s, "the other client waited for the slow ones"
    for slow in trickling:
        assert reply(slow).startswith(b"HTTP/1.1 408 ")
    for slow in stalled:
        answer = reply(slow)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"did not arrive within 3 s" in answer


def test_a_request_within_the_limits_reaches_the_server_whole(port: int) -> None:
    client = connect(port, post(port, len(INITIALIZE), "Connection: close\r\n") + INITIALIZE)
    answer = reply(client)
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"serverInfo"' in answer


@pytest.fixture
def mcp_serve(tmp_path: Path) -> Iterator[int]:
    number = free_port()
    env = dict(os.environ, CAIRN_OUTPUT=str(tmp_path / "output"), CAIRN_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("CAIRN_MCP_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "workflow", "mcp", "serve", "--http", f":{number}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True,
                               encoding="utf-8", cwd=Path(__file__).resolve().parents[2])
    wait_until_listening(process)
    try:
        yield number
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_workflow_server_refuses_a_body_over_1_mib_and_keeps_serving(mcp_serve: int) -> None:
    answer = reply(connect(mcp_serve, post(mcp_serve, 2 * 1024 * 1024)))
    assert answer.startswith(b"HTTP/1.1 413 ") and b"over 1,048,576 bytes" in answer
    answer = reply(connect(mcp_serve, post(mcp_serve, len(INITIALIZE), "Connection: close\r\n") + INITIALIZE))
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"serverInfo"' in answer
