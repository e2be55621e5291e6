"""The engine's view of the knowledge base: one small protocol, one real client
(the Knowledge MCP server over stdio or HTTP), and fakes for tests."""

from __future__ import annotations

from typing import Any, Protocol

# Tool names the Knowledge MCP server exposes (DESIGN 6); step files call these.
KNOWLEDGE_TOOLS = (
    "search_knowledge",
    "get_decisions",
    "get_patterns",
    "get_warnings",
    "get_methodologies",
    "list_sources",
    "compare_sources",
)


class KnowledgeUnavailable(Exception):
    """The knowledge server could not be reached or timed out. The engine shows one
    warning line, records `ok: false` in the knowledge log and goes on."""


class KnowledgeToolError(KnowledgeUnavailable):
    """The server answered, but rejected the call (unknown tool, bad arguments such as an
    unknown source id). A subclass so the engine's handling of KnowledgeUnavailable covers it;
    the message is the server's, naming the argument and the fix."""


class KnowledgeClient(Protocol):
    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run one knowledge tool; returns `{results: [...], metadata: {...}}`.

        Raises KnowledgeUnavailable when the server is down or too slow.
        """
        ...

    def close(self) -> None: ...


class NullKnowledgeClient:
    """Used when knowledge is disabled: every call is unavailable."""

    def __init__(self, reason: str = "knowledge is not configured") -> None:
        self.reason = reason

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        raise KnowledgeUnavailable(self.reason)

    def close(self) -> None:
        return None
