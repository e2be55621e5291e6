"""The workflow MCP server (DESIGN 7): tools, resources and prompts over one Workspace, served
on stdio (stdout carries the protocol only; logs go to stderr) or streamable HTTP bound to
127.0.0.1 unless told otherwise, optionally behind a bearer token."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from workflow.errors import CairnError
from workflow.mcp.prompts import register_prompts
from workflow.mcp.resources import register_resources
from workflow.mcp.tools import register_tools
from workflow.mcp.workspace import Workspace
from workflow.pack_model import Pack

INSTRUCTIONS = (
    "Cairn guides an AI architect step by step from business requirements to a production plan for an LLM "
    "system. The server owns the workflow: call current_step to see the step in progress, ask the user its "
    "questions (never invent answers), send them with submit_answers, and call choose only with the menu "
    "option the user picks. Continue is refused until the step's answers, documents, decisions and stories "
    "exist; the refusal lists what is missing. Use the prompt `facilitate` (or `step-ID`) for the rules."
)


def build_server(ws: Workspace, *, pack: Pack | None = None) -> MCPServer:
    """An MCPServer over the projects of `ws`. `pack` (default: the shipped pack) names the
    per-step prompts; projects on other packs use `facilitate`."""
    server = MCPServer("cairn", instructions=INSTRUCTIONS, log_level="WARNING")
    register_tools(server, ws)
    register_resources(server, ws)
    if pack is None:
        try:
            from workflow.packs import load_pack

            pack = load_pack(None)
        except CairnError:
            pack = None  # a broken shipped pack still leaves `facilitate` and every tool working
    register_prompts(server, ws, pack)
    return server
