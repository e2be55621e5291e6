"""Knowledge calls written in BMAD bodies as an `Endpoint: get_decisions` line followed by
`Topic: "..."` or `Query: "..."` (and optionally `Limit: 5`), often inside a code fence, or on
one line: `Query: get_patterns with topic: "..."`, `get_warnings(topic="...")`. `{placeholders}`
in a topic stay in the call; the engine fills them from the sidecar and answers when it runs it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workflow.bmad.markdown import Line, clean
from workflow.bmad.report import Report
from workflow.knowledge.protocol import KNOWLEDGE_TOOLS
from workflow.pack_model import KnowledgeQuery

_ENDPOINT = re.compile(r"^[\s>*_`-]*endpoint[*_`\s]*:[*_`\s]*(?:mcp__[\w-]+__)?([A-Za-z_]+)", re.IGNORECASE)
_FIELD = re.compile(r"^[\s>*_`-]*(topic|query|limit)[*_`\s]*:\s*(.+?)\s*$", re.IGNORECASE)
_INLINE = re.compile(r"^[\s>*_`-]*(?:query|call|endpoint|tool|mcp)?[*_`\s]*\d*[*_`\s]*:?[*_`\s]*"
                     r"(?:mcp__[\w-]+__)?(get_[a-z_]+|search_knowledge)`?\s*(?:with\s+|\(\s*)?"
                     r"(topic|query)\s*[:=]\s*[\"“'](.+?)[\"”']", re.IGNORECASE)
_LOOKAHEAD = 4  # lines after an Endpoint line that may hold its Topic/Query/Limit


def parse_queries(lines: list[Line], file: Path, report: Report) -> tuple[list[KnowledgeQuery], frozenset[int]]:
    """Every Endpoint call in the body, in order, without duplicates, and the body lines they
    occupy (the engine runs the calls and shows their results, so the lines are not guidance).
    An unknown endpoint or a call without a topic or query is a warning naming its line."""
    queries: list[KnowledgeQuery] = []
    used: set[int] = set()
    for index, line in enumerate(lines):
        match = _ENDPOINT.match(line.text)
        inline = _INLINE.match(line.text) if match is None else None
        if inline is not None and inline.group(1).lower() in KNOWLEDGE_TOOLS:
            used.add(line.number)
            field_name, text = inline.group(2).lower(), clean(inline.group(3))
            query = KnowledgeQuery(tool=inline.group(1).lower(), topic=text if field_name == "topic" else None,
                                   query=text if field_name == "query" else None)
            if query not in queries:
                queries.append(query)
            continue
        if match is None:
            continue
        tool = match.group(1).lower()
        where = f"line {line.number + 1}"
        used.add(line.number)
        fields: dict[str, str] = {}
        for follow in lines[index + 1: index + 1 + _LOOKAHEAD]:
            if not follow.text.strip() or follow.text.strip() in ("```", "~~~"):
                continue
            found = _FIELD.match(follow.text)
            if found is None:
                break
            used.add(follow.number)
            fields.setdefault(found.group(1).lower(), clean(found.group(2)))
        if tool not in KNOWLEDGE_TOOLS:
            report.warn(file, where, f"Endpoint '{tool}' is not a knowledge tool ({', '.join(KNOWLEDGE_TOOLS)}); "
                        "the call is left out")
            continue
        if tool == "compare_sources":
            report.warn(file, where, "Endpoint 'compare_sources' needs source ids, which a step file cannot "
                        "give; the call is left out")
            continue
        if tool != "list_sources" and not (fields.get("topic") or fields.get("query")):
            report.warn(file, where, f"Endpoint '{tool}' has no Topic: or Query: line after it; the call is left out")
            continue
        limit = fields.get("limit")
        try:
            query = KnowledgeQuery(tool=tool, topic=fields.get("topic"), query=fields.get("query"),
                                   limit=int(limit) if limit and limit.isdigit() else None)
        except ValidationError as exc:
            report.warn(file, where, f"cannot use this knowledge call: {exc.errors()[0]['msg']}")
            continue
        if query not in queries:
            queries.append(query)
    return queries, frozenset(used)


_SLOT = re.compile(r"\{\{?\s*([A-Za-z_][\w-]*)\s*\}?\}")


def fill_arguments(arguments: dict[str, Any], env: Mapping[str, Any]) -> dict[str, Any]:
    """A call's topic or query with `{architecture}`-style placeholders filled from the sidecar
    and the answers so far (`env`); a placeholder nothing fills is dropped, so the knowledge base
    never searches for a literal `{data_volume}`."""

    def replace(match: re.Match[str]) -> str:
        value = env.get(match.group(1)) or env.get(match.group(1).replace("-", "_"))
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        return str(value) if value not in (None, "", []) else ""

    out = dict(arguments)
    for name in ("topic", "query"):
        if isinstance(out.get(name), str) and "{" in out[name]:
            out[name] = re.sub(r"\s{2,}", " ", _SLOT.sub(replace, out[name])).strip()
    return out
