"""The engine's knowledge clients.

`McpKnowledgeClient` starts `python -m workflow knowledge serve` once (or connects to a
running server over streamable HTTP) and keeps one MCP session open for its lifetime.
The MCP SDK is async; the engine is not, so the session lives on an event loop in a
background thread and `call()` waits on it with the configured timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from workflow.knowledge.protocol import (
    KnowledgeClient,
    KnowledgeToolError,
    KnowledgeUnavailable,
    NullKnowledgeClient,
)

if TYPE_CHECKING:
    from mcp.client import Client

    from workflow.config import Config
    from workflow.knowledge.tools import KnowledgeTools

TOKEN_ENV = "CAIRN_KNOWLEDGE_TOKEN"
# Starting the server imports the MCP SDK and, on a cold cache, indexes every entry:
# allow more than a call's timeout, but not so much that a broken server stalls a step.
START_TIMEOUT_S = 30.0


def server_command() -> list[str]:
    """The command that runs the stdio server with this interpreter."""
    return [sys.executable, "-m", "workflow", "knowledge", "serve"]


class McpKnowledgeClient:
    """A KnowledgeClient backed by the Knowledge MCP server.

    With `url`, connects to a running server over streamable HTTP (sending `token` as a
    bearer token); otherwise starts `command` (default: `server_command()`) as a stdio
    subprocess. The connection is opened in the background as soon as the client is made;
    the first `call()` waits for it up to `start_timeout_s`.

    `call()` raises KnowledgeUnavailable when the server cannot start, has died or does
    not answer within `timeout_s`, and KnowledgeToolError (a subclass) when it rejects the
    call. Call `close()` to stop the subprocess; the client is also a context manager.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        token: str | None = None,
        timeout_s: float = 5.0,
        start_timeout_s: float = START_TIMEOUT_S,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._token = token
        self.command = list(command or server_command())
        self.env = dict(os.environ if env is None else env)
        self._cwd = cwd
        self._client: Client | None = None
        self._failure: str | None = None
        self._errlog: IO[str] | None = None
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._done = threading.Event()
        self._closed = False
        # A daemon thread: an engine that forgets close() still exits, and the server then
        # sees its stdin close and exits too.
        self._thread = threading.Thread(target=self._loop.run_forever, name="cairn-knowledge", daemon=True)
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._hold_session(), self._loop)

    def __enter__(self) -> McpKnowledgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run one tool and return its structured `{results, metadata}`.

        Raises KnowledgeUnavailable (server down, failed to start, or slower than timeout_s)
        or KnowledgeToolError (the server rejected the arguments).
        """
        client = self._session()
        future = asyncio.run_coroutine_threadsafe(client.call_tool(tool, arguments), self._loop)
        try:
            result = future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise KnowledgeUnavailable(f"knowledge tool {tool} did not answer within {self.timeout_s:g}s") from None
        except Exception as exc:  # the session's transport failed: treat as the server being gone
            raise KnowledgeUnavailable(f"knowledge server failed during {tool}: {_describe(exc)}") from None
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content).strip()
            raise KnowledgeToolError(text or f"knowledge tool {tool} failed")
        if not isinstance(result.structured_content, dict):
            raise KnowledgeToolError(f"knowledge tool {tool} returned no structured result")
        return result.structured_content

    def close(self) -> None:
        """End the session and the subprocess (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._ready.done():
            self._loop.call_soon_threadsafe(self._stop.set)
        else:  # still starting: the handshake may never finish, so stop waiting for it
            self._main.cancel()
        self._done.wait(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
        if self._errlog is not None:
            self._errlog.close()

    def _session(self) -> Client:
        if self._closed:
            raise KnowledgeUnavailable("knowledge client is closed")
        try:
            self._ready.result(timeout=self.start_timeout_s)
        except concurrent.futures.TimeoutError:
            self._failure = self._failure or f"knowledge server did not start within {self.start_timeout_s:g}s"
        except Exception:  # recorded in _failure by _hold_session
            pass
        if self._failure is not None or self._client is None:
            raise KnowledgeUnavailable(self._failure or "knowledge server is not connected")
        return self._client

    async def _hold_session(self) -> None:
        """Open the session, publish it, and keep it open until close(): anyio requires the
        task that enters the transport's context to be the one that leaves it."""
        from mcp.client import Client

        try:
            async with AsyncExitStack() as stack:
                transport = await self._transport(stack)
                self._client = await stack.enter_async_context(Client(transport))
                self._ready.set_result(None)
                await self._stop.wait()
        except Exception as exc:
            self._failure = self._start_failure(exc) if not self._ready.done() else (
                f"knowledge server connection lost: {_describe(exc)}")
            if not self._ready.done():
                self._ready.set_exception(KnowledgeUnavailable(self._failure))
        finally:
            self._client = None
            if not self._ready.done():
                self._ready.set_exception(KnowledgeUnavailable("knowledge client closed while starting"))
            self._done.set()

    async def _transport(self, stack: AsyncExitStack) -> Any:
        if self.url:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
            )
            return streamable_http_client(self.url, http_client=http)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        # The server's stderr goes to a file, not the user's terminal; its last lines
        # explain a failed start (for example a broken knowledge entry).
        self._errlog = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed in close()
        params = StdioServerParameters(
            command=self.command[0], args=self.command[1:], env=self.env, cwd=self._cwd
        )
        return stdio_client(params, errlog=self._errlog)

    def _start_failure(self, exc: BaseException) -> str:
        where = self.url or " ".join(self.command)
        detail = self._stderr_tail() or _describe(exc)
        return f"knowledge server could not start ({where}): {detail}"

    def _stderr_tail(self) -> str:
        if self._errlog is None:
            return ""
        try:
            self._errlog.seek(0)
            lines = [line.strip() for line in self._errlog.read().splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        errors = [line for line in lines if line.startswith("error:")]
        return (errors or lines or [""])[-1]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class InProcessKnowledgeClient:
    """A KnowledgeClient that calls the tools directly, without MCP: the same responses
    (except `latency_ms`) for fast engine tests. Raises KnowledgeToolError on bad arguments."""

    def __init__(self, tools: KnowledgeTools | None = None, *, knowledge_dir: Path | None = None,
                 ingested_dir: Path | None = None, cache_dir: Path | None = None) -> None:
        if tools is None:
            from workflow.knowledge.index import open_index
            from workflow.knowledge.tools import KnowledgeTools
            from workflow.resources import knowledge_dir as shipped

            tools = KnowledgeTools(open_index(knowledge_dir or shipped(), ingested_dir, cache_dir))
        self.tools = tools

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        from workflow.errors import CairnError

        try:
            return self.tools.call(tool, arguments)
        except CairnError as exc:
            raise KnowledgeToolError(str(exc)) from None

    def close(self) -> None:
        return None


def open_knowledge_client(config: Config, *, output_dir: Path | None = None) -> KnowledgeClient:
    """The client a session uses: NullKnowledgeClient when knowledge is disabled, an HTTP
    client when `knowledge.url` is set, else a stdio server subprocess that sees the notes
    ingested under `output_dir` (default: the current settings' output folder).

    Never raises for an unreachable server: the client's calls raise KnowledgeUnavailable.
    """
    settings = config.knowledge
    if not settings.enabled:
        return NullKnowledgeClient("knowledge is disabled in config.yaml (knowledge.enabled: false)")
    if settings.url:
        token = settings.token or os.environ.get(TOKEN_ENV)
        return McpKnowledgeClient(url=settings.url, token=token, timeout_s=settings.timeout_s)
    if output_dir is None:
        from workflow.context import current_settings

        output_dir = current_settings().output_dir
    env = dict(os.environ)
    env["CAIRN_OUTPUT"] = str(Path(output_dir).resolve())
    return McpKnowledgeClient(timeout_s=settings.timeout_s, env=env)
