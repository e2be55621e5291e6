"""`cairn mcp serve` as a real subprocess: the MCP client drives a step over stdio, the server is
SIGKILLed mid-step and started again, and the step goes on with nothing lost."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import MINI
from tests.mcp.mcp_support import ok, refused
from workflow.store import read_sidecar

pytestmark = pytest.mark.anyio


def serve_command(tmp: Path) -> list[str]:
    config = tmp / "config.yaml"
    if not config.exists():
        config.write_text(f"knowledge:\n  enabled: false\npacks: ['{MINI}']\n", encoding="utf-8")
    return [sys.executable, "-m", "workflow", "--output", str(tmp / "output"), "--config", str(config),
            "mcp", "serve"]


@asynccontextmanager
async def server(tmp: Path, errlog: Path) -> AsyncIterator[Client]:
    command = serve_command(tmp)
    with errlog.open("w", encoding="utf-8") as err:
        params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ), cwd=tmp)
        async with Client(stdio_client(params, errlog=err)) as client:
            yield client


def server_pid(errlog: Path) -> int:
    match = re.search(r"\(pid (\d+)\) on stdio", errlog.read_text(encoding="utf-8"))
    assert match, errlog.read_text(encoding="utf-8")
    return int(match.group(1))


async def test_a_step_survives_sigkill_of_the_server_and_continues_after_restart(tmp_path: Path) -> None:
    first_log = tmp_path / "first.err"
    async with server(tmp_path, first_log) as client:
        await ok(client, "create_project", {"name": "p", "user_name": "u", "pack": str(MINI)})
        view = await ok(client, "current_step", {"project": "p"})
        assert view["question"]["field"] == "use_case"
        await ok(client, "submit_answers", {"project": "p", "answers": {"use_case": "route tickets",
                                                                         "architecture": "hybrid"}})
        await ok(client, "save_document", {"project": "p", "path": "phase-0-scoping/scope.md",
                                           "content": "# Scope agreed over MCP"})
        before = await ok(client, "current_step", {"project": "p"})
        pid = server_pid(first_log)
        os.kill(pid, signal.SIGKILL)
        # Every later call fails now: the client sees the pipe close.
        with pytest.raises(Exception):  # noqa: B017 - the transport error type depends on timing
            await client.call_tool("ping", {})
    assert read_sidecar(tmp_path / "output" / "p")["currentStep"] == "1", "nothing was committed by the kill"

    async with server(tmp_path, tmp_path / "second.err") as client:
        assert server_pid(tmp_path / "second.err") != pid
        after = await ok(client, "current_step", {"project": "p"})
        assert after["form"]["answers"] == before["form"]["answers"]
        assert after["drafts"] == before["drafts"] and after["kind"] == "menu"
        chosen = await ok(client, "choose", {"project": "p", "option": "C"})
        assert chosen["advanced"] is True and chosen["step"] == "2"
    folder = tmp_path / "output" / "p"
    assert (folder / "phase-0-scoping" / "scope.md").read_text(encoding="utf-8") == "# Scope agreed over MCP\n"
    assert read_sidecar(folder)["answers"]["1"]["use_case"] == "route tickets"


async def test_the_server_lists_its_tools_and_refuses_a_bad_name_over_stdio(tmp_path: Path) -> None:
    async with server(tmp_path, tmp_path / "server.err") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"list_projects", "create_project", "open_project", "current_step", "submit_answers", "save_document",
                "record_decision", "add_stories", "choose", "progress", "query_knowledge"} <= names
        assert "invalid project name" in await refused(client, "open_project", {"name": "../etc"})
        assert (await ok(client, "list_projects", {}))["projects"] == []


def test_stdout_carries_only_json_rpc_messages(tmp_path: Path) -> None:
    requests: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "create_project", "arguments": {"name": "p", "user_name": "u", "pack": str(MINI)}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "current_step",
                                                                       "arguments": {"project": "p"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "current_step",
                                                                       "arguments": {"project": "../p"}}},
    ]
    # stderr goes to a file: a pipe nobody reads could fill up and stall the server.
    errlog = (tmp_path / "server.err").open("w+", encoding="utf-8")
    process = subprocess.Popen(serve_command(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=errlog, text=True, encoding="utf-8", cwd=tmp_path)
    assert process.stdin is not None and process.stdout is not None
    replies = []
    for request in requests:
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        if "id" in request:
            replies.append(json.loads(process.stdout.readline()))
    process.stdin.close()  # end of input: the server exits
    rest = process.stdout.read()
    assert process.wait(timeout=60) == 0
    errlog.close()
    stderr = (tmp_path / "server.err").read_text(encoding="utf-8")
    assert rest == "", f"stdout had more than protocol messages: {rest!r}"
    assert [reply["id"] for reply in replies] == [1, 2, 3, 4]
    assert replies[2]["result"]["structuredContent"]["step"]["id"] == "1"
    assert replies[3]["result"]["isError"] is True
    assert "Cairn workflow MCP server" in stderr, "the start-up line goes to stderr"
