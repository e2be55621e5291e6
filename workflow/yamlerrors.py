"""Where a YAML parse failed, for one-line messages that name the file and line."""

from __future__ import annotations

import yaml


def yaml_problem(exc: yaml.YAMLError, *, first_line: int = 1) -> tuple[int | None, str]:
    """The 1-based line of the error (the text began on line `first_line` of its file, e.g. 2
    for frontmatter after `---`) and the parser's description of the problem."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + first_line if mark is not None else None
    return line, str(getattr(exc, "problem", None) or exc)
