"""Compact plain-text renderings of tool results, for the CLI and the chat."""

from __future__ import annotations

import textwrap
from typing import Any


def result_line(result: dict[str, Any]) -> str:
    """One line: `[type] title (id)`."""
    return f"[{result.get('type', '?')}] {result.get('title', '')} ({result.get('id', '')})"


def result_block(result: dict[str, Any], width: int = 100) -> str:
    """A few lines: the title line, the gist of the content, and the citation."""
    lines = [result_line(result)]
    gist = _gist(result)
    if gist:
        lines.extend(textwrap.wrap(gist, width=width, initial_indent="    ", subsequent_indent="    "))
    source = result.get("source") or {}
    where = source.get("url") or source.get("path") or ""
    lines.append(f"    source: {source.get('title', '')} {where}".rstrip())
    return "\n".join(lines)


def _gist(result: dict[str, Any]) -> str:
    kind = result.get("type")
    if kind == "decision":
        return f"{result['summary']} Recommended: {result['recommended_approach']}"
    if kind == "warning":
        return f"({result['severity']}) {result['summary']} Prevent: {'; '.join(result['prevention'][:3])}"
    if kind == "methodology":
        steps = " ".join(f"{n}. {step}" for n, step in enumerate(result["steps"][:4], start=1))
        return f"{result['summary']} {steps}"
    if kind == "checklist":
        return f"{result['summary']} " + " ".join(f"[ ] {item}" for item in result["items"][:4])
    return str(result.get("summary", ""))
