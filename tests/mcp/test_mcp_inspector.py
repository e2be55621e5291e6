"""The official MCP Inspector CLI (npm `@modelcontextprotocol/inspector`, `--cli` mode) lists the
tools of `cairn mcp serve` and calls `current_step`, with the server registered exactly as
`cairn mcp config --client cursor` prints it. Needs Node (npx); CI installs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MINI
from workflow.mcp.registration import snippet
from workflow.session import create_project

# 0.15.0 is the newest release that runs on Node 20 (2.x needs Node >= 22.19).
INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"
NPX = shutil.which("npx")

pytestmark = pytest.mark.skipif(NPX is None, reason="npx (Node.js) is not installed; CI installs Node 20+")


def inspector(tmp: Path, *method: str) -> Any:
    config = tmp / "mcp.json"
    config.write_text(snippet("cursor", tmp / "output"), encoding="utf-8")
    # The server starts in `tmp`, whose config.yaml turns the knowledge server off for speed.
    (tmp / "config.yaml").write_text("knowledge: {enabled: false}\n", encoding="utf-8")
    env = dict(os.environ, npm_config_yes="true", npm_config_update_notifier="false")
    assert NPX is not None
    result = subprocess.run([NPX, "-y", INSPECTOR, "--cli", "--config", str(config), "--server", "cairn", *method],
                            cwd=tmp, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_the_inspector_lists_the_workflow_tools(tmp_path: Path) -> None:
    listed = inspector(tmp_path, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"current_step", "submit_answers", "save_document", "record_decision", "add_stories", "choose",
            "progress", "query_knowledge", "list_projects", "create_project", "open_project"} <= names
    assert all(tool.get("outputSchema") for tool in listed["tools"])


def test_the_inspector_calls_current_step(tmp_path: Path) -> None:
    create_project(tmp_path / "output", "demo", user="inspector", pack_ref=str(MINI))
    called = inspector(tmp_path, "--method", "tools/call", "--tool-name", "current_step", "--tool-arg", "project=demo")
    assert called.get("isError") is not True, called
    view = called["structuredContent"]
    assert view["step"] == {"id": "1", "title": "Scope", "phase": "phase-0-scoping"}
    assert view["question"]["field"] == "use_case"
