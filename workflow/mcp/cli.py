"""`cairn mcp ...`: serve the workflow to IDE assistants, print their registration snippets.
Only typer and the standard library at module level: the MCP SDK and the engine load inside
the commands, so `cairn --help` stays fast."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Literal

import typer

app = typer.Typer(help="The workflow MCP server for IDE assistants (Claude Code, Cursor, Codex).",
                  no_args_is_help=True)


@app.command()
def serve(
    http: Annotated[
        str | None, typer.Option("--http", metavar="HOST:PORT", help="Serve streamable HTTP instead of stdio.")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="CAIRN_MCP_TOKEN", help="Require this bearer token (HTTP only).")
    ] = None,
) -> None:
    """Run the workflow MCP server on the output folder (stdio unless --http is given)."""
    from workflow.context import current_settings
    from workflow.knowledge.server import parse_http, serve_http, serve_stdio
    from workflow.mcp.server import build_server
    from workflow.mcp.workspace import Workspace

    address = parse_http(http) if http else None
    settings = current_settings()
    workspace = Workspace(output_dir=settings.output_dir, config=settings.config)
    try:
        server = build_server(workspace)
        if address is None:
            # stderr only: on stdio, stdout carries the protocol and nothing else.
            print(f"Cairn workflow MCP server (pid {os.getpid()}) on stdio; projects in {workspace.output_dir}",
                  file=sys.stderr, flush=True)
            serve_stdio(server)  # a token means nothing on stdio: the client owns the process
            return
        host, port = address
        if not token and host not in ("127.0.0.1", "localhost", "::1"):
            print(f"warning: serving on {host} without --token: anyone who can reach it can drive your projects",
                  file=sys.stderr)
        print(f"Cairn workflow MCP server on http://{host}:{port}/mcp (projects in {workspace.output_dir})",
              file=sys.stderr)
        serve_http(server, host, port, token)
    finally:
        workspace.close()


@app.command()
def config(
    client: Annotated[
        Literal["claude", "cursor", "codex"], typer.Option("--client", help="Which IDE assistant.")
    ] = "claude",
) -> None:
    """Print how to register `cairn mcp serve` with an IDE assistant."""
    from workflow.context import current_settings
    from workflow.mcp.registration import snippet, where

    print(where(client), file=sys.stderr)
    print(snippet(client, current_settings().output_dir))
