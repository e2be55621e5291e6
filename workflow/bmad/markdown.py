"""Reading BMAD markdown: code fences, headings, `{variable}` placeholders and slugs.

BMAD step bodies embed whole document templates in code fences (with their own `##`
headings), so every scan here skips fenced lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][\w.-]*)\}(?!\})")
_NUMBERING = re.compile(r"^\s*(?:step\s+)?\d+[a-z]?\s*[.):-]\s*", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Line:
    number: int  # 0-based, in the body
    text: str
    fenced: bool  # inside a code fence (or a fence marker itself)


def scan(body: str) -> list[Line]:
    """The body's lines, each marked as fenced or not."""
    out: list[Line] = []
    fenced = False
    for number, text in enumerate(body.splitlines()):
        if _FENCE.match(text):
            out.append(Line(number=number, text=text, fenced=True))
            fenced = not fenced
            continue
        out.append(Line(number=number, text=text, fenced=fenced))
    return out


def heading(line: Line) -> tuple[int, str] | None:
    """(level, text) when the line is a markdown heading outside a fence."""
    if line.fenced:
        return None
    match = _HEADING.match(line.text)
    if match is None:
        return None
    return len(match.group(1)), clean(match.group(2))


def clean(text: str) -> str:
    """Text without markdown emphasis, backticks, a trailing colon or surrounding quotes."""
    text = re.sub(r"(\*\*|__|`)", "", text).strip()
    text = text.strip("*_ ").rstrip(":").strip()
    if len(text) >= 2 and text[0] in "\"'“" and text[-1] in "\"'”":
        text = text[1:-1].strip()
    return text


def without_numbering(text: str) -> str:
    """`3. Chunking Strategy` -> `Chunking Strategy`; `Step 4: Embeddings` -> `Embeddings`."""
    return _NUMBERING.sub("", text, count=1).strip() or text


def key(name: str) -> str:
    """Placeholder names match whatever their spelling: `project-root` == `project_root`."""
    return name.strip().lower().replace("-", "_")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` placeholders whose value is known; leave the others as written."""

    def replace(match: re.Match[str]) -> str:
        value = values.get(key(match.group(1)))
        return match.group(0) if value is None else value

    return _PLACEHOLDER.sub(replace, text)


def placeholders(text: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(text)]


def slug(text: str, limit: int = 32) -> str:
    """A field-name-safe slug: `3. Chunking Strategy Design` -> `chunking_strategy_design`."""
    value = re.sub(r"[^a-z0-9]+", "_", without_numbering(text).lower()).strip("_")
    value = value[:limit].strip("_")
    if not value or not value[0].isalpha():
        value = f"s_{value}".strip("_")
    return value
