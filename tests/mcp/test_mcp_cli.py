"""`cairn mcp serve --http` (loopback, bearer token) and `cairn mcp config` for each client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.cli_runner import run_cairn
from tests.conftest import MINI
from tests.mcp.mcp_support import ok
from tests.net import free_port, wait_until_listening

TOKEN = "mcp-s3cret"


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    tmp = tmp_path_factory.mktemp("http")
    (tmp / "config.yaml").write_text(f"knowledge: {{enabled: false}}\npacks: ['{MINI}']\n", encoding="utf-8")
    port = free_port()
    env = dict(os.environ, CAIRN_OUTPUT=str(tmp / "output"), CAIRN_MCP_TOKEN=TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "workflow", "--config", str(tmp / "config.yaml"), "mcp", "serve", "--http", f":{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8")
    started = wait_until_listening(process)
    try:
        yield f"http://127.0.0.1:{port}/mcp", tmp / "output", started
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_http_binds_to_loopback_by_default(http_server: tuple[str, Path, str]) -> None:
    url, _, startup = http_server
    assert f"Uvicorn running on {url.removesuffix('/mcp')}" in startup


def test_http_without_the_token_gets_401(http_server: tuple[str, Path, str]) -> None:
    url, _, _ = http_server
    assert httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}).status_code == 401
    reply = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                        headers={"Authorization": "Bearer wrong"})
    assert reply.status_code == 401


@pytest.mark.anyio
async def test_http_with_the_token_drives_a_project(http_server: tuple[str, Path, str]) -> None:
    url, output, _ = http_server
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            await ok(client, "create_project", {"name": "web", "user_name": "u", "pack": str(MINI)})
            view = await ok(client, "current_step", {"project": "web"})
    assert view["step"]["id"] == "1"
    assert (output / "web" / "sidecar.yaml").is_file()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cairn(args: list[str], out: Path, capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    return run_cairn(["--output", str(out), *args], capsys, monkeypatch)


def test_config_for_claude_is_a_claude_mcp_add_command_pinning_the_output_folder(
        out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, _ = cairn(["mcp", "config", "--client", "claude"], out, capsys, monkeypatch)
    assert code == 0
    assert stdout.startswith("claude mcp add cairn --env CAIRN_OUTPUT=")
    assert str(out.resolve()) in stdout and stdout.rstrip().endswith("mcp serve")


def test_config_for_cursor_is_mcp_json(out: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = cairn(["mcp", "config", "--client", "cursor"], out, capsys, monkeypatch)
    assert code == 0 and ".cursor/mcp.json" in stderr
    server = json.loads(stdout)["mcpServers"]["cairn"]
    assert server["args"][-2:] == ["mcp", "serve"] and server["env"] == {"CAIRN_OUTPUT": str(out.resolve())}


def test_config_for_codex_is_toml(out: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = cairn(["mcp", "config", "--client", "codex"], out, capsys, monkeypatch)
    assert code == 0 and "config.toml" in stderr
    server = tomllib.loads(stdout)["mcp_servers"]["cairn"]
    assert server["args"][-2:] == ["mcp", "serve"] and server["env"]["CAIRN_OUTPUT"] == str(out.resolve())


def test_config_refuses_an_unknown_client(out: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, stderr = cairn(["mcp", "config", "--client", "vim"], out, capsys, monkeypatch)
    assert code == 2 and "vim" in stderr


def test_mcp_help_does_not_import_the_sdk_or_the_engine() -> None:
    probe = ("import sys; from workflow.cli import app; "
             "print(sorted(m for m in ('mcp', 'langgraph', 'workflow.mcp.server') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
