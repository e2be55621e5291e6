"""`cairn mcp config`: how to register the server with Claude Code, Cursor and Codex."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

CLIENTS = ("claude", "cursor", "codex")


def server_command() -> list[str]:
    """`cairn mcp serve` as an IDE should launch it: the `cairn` script when it is on PATH,
    else this interpreter with `-m workflow`."""
    script = shutil.which("cairn")
    if script:  # absolute: an IDE rarely starts servers with the virtual environment on PATH
        return [script, "mcp", "serve"]
    return [sys.executable, "-m", "workflow", "mcp", "serve"]


def snippet(client: str, output_dir: Path) -> str:
    """The registration text for `client` (claude: a shell command; cursor: .cursor/mcp.json;
    codex: ~/.codex/config.toml). The output folder is pinned so the IDE's working folder
    does not matter."""
    command = server_command()
    env = {"CAIRN_OUTPUT": str(output_dir.resolve())}
    if client == "claude":
        args = ["claude", "mcp", "add", "cairn", "--env", f"CAIRN_OUTPUT={env['CAIRN_OUTPUT']}", "--", *command]
        return " ".join(shlex.quote(a) for a in args)
    if client == "cursor":
        return json.dumps({"mcpServers": {"cairn": {"command": command[0], "args": command[1:], "env": env}}},
                          indent=2)
    if client == "codex":
        return "\n".join([
            "[mcp_servers.cairn]",
            f"command = {json.dumps(command[0])}",
            f"args = {json.dumps(command[1:])}",
            f"env = {{ CAIRN_OUTPUT = {json.dumps(env['CAIRN_OUTPUT'])} }}",
        ])
    raise ValueError(f"unknown client {client}")


def where(client: str) -> str:
    return {"claude": "Run in your project folder:",
            "cursor": "Put this in .cursor/mcp.json (project) or ~/.cursor/mcp.json (global):",
            "codex": "Add this to ~/.codex/config.toml:"}[client]
