"""Request limits for the HTTP servers (`cairn knowledge serve --http`, `cairn mcp serve --http`).

A request body over `max_body_bytes` is refused with 413 before it is read (from Content-Length,
or as soon as a chunked body passes the limit); a body that does not arrive within
`body_timeout_s` gets 408; a connection whose request line and headers do not arrive within
`header_timeout_s` gets 408 and is closed, so slow clients hold no more than a socket each for a
bounded time and never block the others (the server is one asyncio loop). Headers over
`max_header_bytes` are refused by h11 with 400; idle keep-alive connections close after
`keep_alive_s`. Only the standard library at module level: uvicorn and h11 load in `http_server`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["HttpLimits", "http_server", "limit_requests"]

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class HttpLimits:
    max_body_bytes: int = 1_048_576  # 1 MiB: the largest tool call (a long document) is far smaller
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: int = 5
    max_header_bytes: int = 16_384


def limit_requests(app: ASGIApp, limits: HttpLimits) -> ASGIApp:
    """Wrap an ASGI app so each HTTP request body is read whole, within the size and time limits,
    before the app sees the request (MCP bodies are small JSON-RPC messages)."""

    async def limited(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and not declared.strip().isdigit():
            await _refuse(send, 400, "the Content-Length header is not a number")
            return
        if declared is not None and int(declared) > limits.max_body_bytes:
            await _refuse(send, 413, f"the request body is over {limits.max_body_bytes:,} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        # asyncio.timeout rather than wait_for: no extra task per request
        deadline = asyncio.get_running_loop().time() + limits.body_timeout_s
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await _refuse(send, 408, f"the request body did not arrive within {limits.body_timeout_s:g} s")
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.max_body_bytes:
                await _refuse(send, 413, f"the request body is over {limits.max_body_bytes:,} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: the disconnect, as the app expects

        await app(scope, replay, send)

    return limited


async def _refuse(send: Any, status: int, reason: str) -> None:
    body = json.dumps({"error": reason}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def http_server(app: ASGIApp, host: str, port: int, limits: HttpLimits | None = None) -> Any:
    """A `uvicorn.Server` for `app` (wrapped in `limit_requests`) with the connection limits set;
    call `.run()` on it. uvicorn's start-up lines go to stderr; per-request lines are off."""
    import uvicorn

    limits = limits or HttpLimits()
    config = uvicorn.Config(limit_requests(app, limits), host=host, port=port, log_level="info", access_log=False,
                            http=_header_timeout_protocol(limits.header_timeout_s),
                            timeout_keep_alive=limits.keep_alive_s,
                            h11_max_incomplete_event_size=limits.max_header_bytes)
    return uvicorn.Server(config)


def _header_timeout_protocol(seconds: float) -> type:
    """uvicorn's h11 protocol with a deadline for each request's line and headers: uvicorn times
    out idle keep-alive connections, but not a client that trickles a request in byte by byte."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()  # the headers are in; the body has its own deadline

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                self.transport.close()

    return HeaderTimeoutProtocol
