"""Shared pieces for the workflow MCP server tests. No __init__.py here on purpose: `tests/`
is on sys.path, and a package named `mcp` there would shadow the MCP SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from tests.conftest import FIXTURES, FakeKnowledge
from workflow.config import Config
from workflow.mcp.server import build_server
from workflow.mcp.workspace import Workspace
from workflow.pack_model import Pack
from workflow.packs import load_pack


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def knowledge() -> FakeKnowledge:
    return FakeKnowledge()


@pytest.fixture
def workspace(out: Path, knowledge: FakeKnowledge) -> Any:
    # The fixture packs are offered like a team's own packs listed under `packs:` in config.yaml.
    offered = [str(p) for p in sorted((FIXTURES / "packs").iterdir()) if p.is_dir()]
    ws = Workspace(output_dir=out, config=Config(packs=offered), knowledge=knowledge)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def shipped_pack() -> Pack:
    """Loaded once: the server names its per-step prompts after the shipped pack's steps."""
    return load_pack(None)


@pytest.fixture
async def client(workspace: Workspace, shipped_pack: Pack) -> AsyncIterator[Client]:
    async with Client(build_server(workspace, pack=shipped_pack)) as connected:
        yield connected
