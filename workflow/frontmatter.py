"""Splitting a markdown file into its YAML frontmatter and its body. A module of its own, below
both pack loaders (`packs` and `bmad`), so neither has to import the other to read a file."""

from __future__ import annotations

import re

_FRONTMATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)


def split_frontmatter(text: str) -> tuple[str, str] | None:
    """(frontmatter, body) when `text` starts with a `---` block, else None."""
    match = _FRONTMATTER.match(text)
    if match is None:
        return None
    return match.group(1), match.group(2)
