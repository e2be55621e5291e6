"""Helpers for the workflow MCP server tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.client import Client

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


async def ok(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured result."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool}: {result.content}"
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def refused(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """Call a tool that must fail with a tool error; return the error text."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} should have failed: {result.structured_content}"
    return " ".join(getattr(block, "text", "") for block in result.content)
