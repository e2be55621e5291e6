"""A small OpenAI-compatible HTTP server (stdlib) with canned replies, streaming (SSE) and not,
so a test can drive the real langchain-openai client through `base_url`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 111, "completion_tokens": 7, "total_tokens": 118}


class CannedServer:
    def __init__(self, *, persona: str, proposal: dict[str, Any], document: str) -> None:
        self.persona, self.proposal, self.document = persona, proposal, document
        self.requests: list[dict[str, Any]] = []

    def reply_for(self, body: dict[str, Any]) -> str:
        if body.get("response_format") or body.get("tools"):
            return json.dumps(self.proposal)
        last = str(body["messages"][-1].get("content"))
        return self.document if "Write the document" in last else self.persona


def _handler(server: CannedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            text = server.reply_for(body)
            base = {"id": "chatcmpl-1", "created": 1, "model": body["model"]}
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = text.split(" ")
                for i, word in enumerate(words):
                    delta = {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
                    self._event({**base, "object": "chat.completion.chunk",
                                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                self._event({**base, "object": "chat.completion.chunk",
                             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self._event({**base, "object": "chat.completion.chunk", "choices": [], "usage": USAGE})
                self.wfile.write(b"data: [DONE]\n\n")
                return
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if body.get("tools"):  # function calling: the proposal comes back as the tool's arguments
                name = body["tools"][0]["function"]["name"]
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}]}
            payload = json.dumps({**base, "object": "chat.completion", "usage": USAGE, "choices": [
                {"index": 0, "finish_reason": "stop", "message": message}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _event(self, data: dict[str, Any]) -> None:
            self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

    return Handler


@contextmanager
def serve(canned: CannedServer) -> Iterator[str]:
    """Yields the base_url (http://127.0.0.1:PORT/v1) while the server runs in a thread."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(canned))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
