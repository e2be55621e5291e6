"""The Knowledge MCP server (DESIGN 6): seven tools over the index, on stdio by default
or streamable HTTP bound to 127.0.0.1, optionally behind a bearer token."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field, ValidationError

from workflow.errors import CairnError
from workflow.knowledge.response import EntryResponse, PingResponse, SourceResponse
from workflow.knowledge.tools import (
    DocType,
    KnowledgeTools,
    Limit,
    Offset,
    Query,
    Topic,
    argument_problem,
    unknown_arguments_problem,
)

INSTRUCTIONS = (
    "Curated, cited AI-engineering knowledge: decisions, patterns, warnings, methodologies and "
    "checklists, plus the team's own ingested notes. Use search_knowledge for a question; "
    "get_* for entries of one type about a topic; list_sources and compare_sources to see what "
    "each cited source says."
)


class KnowledgeServer(MCPServer):
    """An MCPServer that checks tool arguments itself before the SDK does, so an unknown
    argument is refused rather than ignored, and a bad one comes back as the project's
    one-line "argument 'x': problem; fix: ..." instead of pydantic's multi-line report."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            allowed = tool.parameters.get("properties", {})
            unknown = sorted(set(arguments) - set(allowed))
            if unknown:
                raise ToolError(unknown_arguments_problem(name, unknown))
            try:
                tool.fn_metadata.validate_arguments(arguments)
            except ValidationError as exc:
                raise ToolError(argument_problem(name, exc)) from None
        return await super().call_tool(name, arguments, context)


def build_server(tools: KnowledgeTools) -> MCPServer:
    """An MCPServer exposing `tools`; bad arguments come back as tool errors (`is_error`)."""
    server = KnowledgeServer("cairn-knowledge", instructions=INSTRUCTIONS, log_level="WARNING")

    def run(fn: Callable[[], BaseModel]) -> CallToolResult:
        try:
            response = fn()
        except CairnError as exc:
            raise ToolError(str(exc)) from None
        # Built here rather than left to the SDK, whose text copy of the result is indented
        # JSON: the compact copy halves what crosses the pipe on every call.
        data = response.model_dump(mode="json")
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)

    # Tools are async so a call runs on the event loop: the index answers in well under a
    # millisecond, less than a worker-thread hand-off would cost.
    @server.tool()
    async def search_knowledge(
        query: Query, limit: Limit = 10, type: DocType | None = None
    ) -> Annotated[CallToolResult, EntryResponse]:
        """Search every entry and ingested note for a question or keywords, best match first,
        optionally only one type. An empty result with metadata.answered false means no entry
        covers the question."""
        return run(lambda: tools.search_knowledge(query, limit, type))

    @server.tool()
    async def get_decisions(topic: Topic = "", limit: Limit = 100) -> Annotated[CallToolResult, EntryResponse]:
        """Decision guides (question, options with trade-offs, recommended approach) about a topic."""
        return run(lambda: tools.get_decisions(topic, limit))

    @server.tool()
    async def get_patterns(topic: Topic = "", limit: Limit = 100) -> Annotated[CallToolResult, EntryResponse]:
        """Proven patterns (problem, solution, when to use, trade-offs) about a topic."""
        return run(lambda: tools.get_patterns(topic, limit))

    @server.tool()
    async def get_warnings(topic: Topic = "", limit: Limit = 100) -> Annotated[CallToolResult, EntryResponse]:
        """Known pitfalls (description, prevention, severity) about a topic."""
        return run(lambda: tools.get_warnings(topic, limit))

    @server.tool()
    async def get_methodologies(topic: Topic = "", limit: Limit = 100) -> Annotated[CallToolResult, EntryResponse]:
        """Step-by-step methodologies and checklists about a topic."""
        return run(lambda: tools.get_methodologies(topic, limit))

    @server.tool()
    async def list_sources(limit: Limit = 100, offset: Offset = 0) -> Annotated[CallToolResult, SourceResponse]:
        """The papers, documentation and ingested files the entries cite, with their ids, a page
        at a time (metadata.next_offset gives the next page)."""
        return run(lambda: tools.list_sources(limit, offset))

    @server.tool()
    async def compare_sources(
        topic: Query,
        source_ids: Annotated[list[str], Field(min_length=1, max_length=50)],
        limit_per_source: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> Annotated[CallToolResult, EntryResponse]:
        """What each of the given sources (ids from list_sources) says about a topic."""
        return run(lambda: tools.compare_sources(topic, source_ids, limit_per_source))

    @server.tool()
    async def ping() -> Annotated[CallToolResult, PingResponse]:
        """Liveness check that does no work (used as the latency baseline)."""
        return run(lambda: PingResponse(ok=True))

    for registered in server._tool_manager.list_tools():  # publish what call_tool enforces
        registered.parameters["additionalProperties"] = False

    return server


def parse_http(value: str) -> tuple[str, int]:
    """'HOST:PORT', ':PORT' or 'PORT' -> (host, port); the host defaults to 127.0.0.1.

    Raises CairnError when the port is not a number in 1-65535.
    """
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CairnError(f"--http {value}: expected HOST:PORT such as 127.0.0.1:8765")
    return host, int(port)


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def require_bearer(app: ASGIApp, token: str) -> ASGIApp:
    """Wrap an ASGI app so every HTTP request must carry `Authorization: Bearer <token>` (the
    scheme matched case-insensitively, as RFC 9110 says; the token compared in constant time)."""
    expected = token.encode()

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            scheme, _, given = headers.get(b"authorization", b"").strip().partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), expected):
                body = b'{"error": "missing or wrong bearer token"}'
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


def serve_stdio(server: MCPServer) -> None:
    """Serve on stdin/stdout until the client closes stdin."""
    server.run("stdio")


def serve_http(server: MCPServer, host: str, port: int, token: str | None) -> None:
    """Serve streamable HTTP at http://HOST:PORT/mcp, requiring `token` when given, under the
    request size and time limits of `workflow.knowledge.limits`."""
    from workflow.knowledge.limits import http_server

    if token is not None and not token.strip():
        # An empty --token (or an empty environment variable) would otherwise serve without auth.
        raise CairnError("the bearer token is empty: give a real one with --token (or its environment variable), "
                         "or unset it to serve without a token on 127.0.0.1")
    app: Any = server.streamable_http_app(host=host)
    if token:
        app = require_bearer(app, token)
    http_server(app, host, port).run()
